/**
 * The health port's pure parts (link subnet choice, names) and midonet-lb-health's argument checks:
 * a /30 overlapping no port of the router, the namespace end of a stored port's address, and a bad
 * option named with its value and exit status 2 before the store is opened.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr, parseIpv6Cidr, type Ipv4Prefix, type Ipv6Prefix } from '../../src/addr.js';
import {
  healthHostIface,
  healthNamespace,
  namespaceEnd,
  namespaceEnd6,
  pickLinkSubnet,
  pickLinkSubnet6,
} from '../../src/lb/health-port.js';
import { lbHealthMain } from '../../src/lb/main.js';

const cidr = (s: string) => parseCidr(s, false) as Ipv4Prefix;

describe('health port: link subnets and names', () => {
  it('takes the first /30 of the block that no port of the router overlaps', () => {
    const block = cidr('169.254.0.0/16');
    assert.deepEqual(pickLinkSubnet(block, []), { router: '169.254.0.1/30', namespace: '169.254.0.2/30' });
    assert.deepEqual(pickLinkSubnet(block, [cidr('192.0.2.1/24'), cidr('169.254.0.1/30')]), {
      router: '169.254.0.5/30',
      namespace: '169.254.0.6/30',
    });
    // A wider port subnet covers many /30s; a port inside a /30 takes it too.
    assert.deepEqual(pickLinkSubnet(block, [cidr('169.254.0.9/29'), cidr('169.254.0.1/24')]), {
      router: '169.254.1.1/30',
      namespace: '169.254.1.2/30',
    });
    assert.equal(pickLinkSubnet(cidr('169.254.7.0/30'), [cidr('169.254.7.2/30')]), undefined);
    assert.equal(pickLinkSubnet(cidr('169.254.7.0/31'), []), undefined);
  });

  it('finds the namespace end of a stored router address', () => {
    assert.deepEqual(namespaceEnd('169.254.0.5/30'), {
      router: '169.254.0.5/30',
      namespace: '169.254.0.6/30',
    });
    assert.deepEqual(namespaceEnd('169.254.0.6/30'), {
      router: '169.254.0.6/30',
      namespace: '169.254.0.5/30',
    });
  });

  it('takes the first IPv6 /64 of the block that no IPv6 port subnet of the router overlaps', () => {
    const c6 = (s: string) => parseIpv6Cidr(s, false) as Ipv6Prefix;
    const block = c6('fd6c:6268::/48');
    assert.deepEqual(pickLinkSubnet6(block, []), {
      router: 'fd6c:6268::1/64',
      namespace: 'fd6c:6268::2/64',
    });
    assert.deepEqual(pickLinkSubnet6(block, [c6('2001:db8:1::1/64'), c6('fd6c:6268::1/64')]), {
      router: 'fd6c:6268:0:1::1/64',
      namespace: 'fd6c:6268:0:1::2/64',
    });
    // A wider port subnet covers several /64s; a longer one takes the /64 it lies in.
    assert.deepEqual(pickLinkSubnet6(block, [c6('fd6c:6268::1/62'), c6('fd6c:6268:0:4::9/120')]), {
      router: 'fd6c:6268:0:5::1/64',
      namespace: 'fd6c:6268:0:5::2/64',
    });
    assert.equal(pickLinkSubnet6(c6('fd6c:6268::/64'), [c6('fd6c:6268::1/64')]), undefined);
    assert.equal(pickLinkSubnet6(c6('fd6c:6268::/96'), []), undefined);
    assert.deepEqual(namespaceEnd6('fd6c:6268:0:5::1/64'), {
      router: 'fd6c:6268:0:5::1/64',
      namespace: 'fd6c:6268:0:5::2/64',
    });
  });

  it('names fit Linux: interface at most 15 characters, namespace from the prefix', () => {
    const id = '0b7c6f1e-2d3a-4e5f-8a9b-0c1d2e3f4a5b';
    assert.equal(healthHostIface(id), 'mlbh0b7c6f1e');
    assert.ok(healthHostIface(id).length <= 15);
    assert.equal(healthNamespace('mlb-', id), 'mlb-0b7c6f1e');
  });
});

describe('midonet-lb-health: bad arguments', () => {
  async function fails(args: string[], re: RegExp): Promise<void> {
    const write = process.stderr.write.bind(process.stderr);
    let err = '';
    process.stderr.write = (s: string) => ((err += s), true);
    let code: number;
    try {
      code = await lbHealthMain(['--store', 'memory:unused', ...args]);
    } finally {
      process.stderr.write = write;
    }
    assert.equal(code, 2, err);
    assert.match(err, re);
    assert.equal(err.trim().split('\n').length, 1, 'one line');
  }

  it('names the option, the value and what is allowed', async () => {
    await fails(
      ['--link-subnet', '169.254.0.0'],
      /--link-subnet: '169\.254\.0\.0' is not valid: expected address\/prefix-length/,
    );
    await fails(['--link-subnet', '169.254.0.0/31'], /--link-subnet: .* 30 or less/);
    await fails(['--link-subnet', '169.254.0.1/16'], /host bits are set/);
    await fails(['--link-subnet6', 'fd6c:6268::/96'], /--link-subnet6: .* 32 to 64/);
    await fails(['--link-subnet6', '10.0.0.0/8'], /--link-subnet6: '10\.0\.0\.0\/8' is not valid/);
    await fails(['--namespace-prefix', 'A/b'], /--namespace-prefix: 'A\/b' is not valid/);
    await fails(['--host-netns', '../x'], /--host-netns: '\.\.\/x' is not valid/);
    await fails(['--netns', 'a\nb'], /--netns: 'a\\nb' is not valid/);
    await fails(['--host=-h'], /--host: '-h' is not valid/);
  });
});

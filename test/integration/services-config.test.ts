/**
 * The pure parts of the services and the distributed backend, without running anything: rendered
 * ZooKeeper and Cassandra configuration, tokens, JVM options, store URLs, log and election naming.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderZooCfg, zkDaemon, zkServers, zkConnectString } from '../../src/services/zookeeper.js';
import { niced } from '../../src/services/process.js';
import { cassandraNodes, parseJvmOptions, renderCassandraYaml } from '../../src/services/cassandra.js';
import { storeUrl } from '../../src/services/main.js';
import { parseCassandraUrl, storeUrlFor } from '../../src/state/cassandra-url.js';
import { bucketOf, BUCKETS } from '../../src/state/cassandra-schema.js';
import { logName, parseLogName } from '../../src/state/distributed-log.js';
import { predecessor } from '../../src/state/distributed-recipes.js';
import { newestPerKey } from '../../src/state/distributed-learned.js';
import { StoreError } from '../../src/state/errors.js';

const services = fileURLToPath(new URL('../../../services/', import.meta.url));

describe('services configuration', () => {
  it('renders a 3-server ensemble with distinct ports and directories', () => {
    const servers = zkServers('/run/s', 3);
    const cfg = renderZooCfg(readFileSync(`${services}zookeeper/zoo.cfg`, 'utf8'), servers[1]!, servers);
    assert.match(cfg, /^clientPort=2182$/m);
    assert.match(cfg, /^dataDir=\/run\/s\/zookeeper-2\/data$/m);
    assert.match(cfg, /^clientPortAddress=127\.0\.0\.1$/m);
    assert.match(cfg, /^server\.3=127\.0\.0\.1:2890:3890$/m);
    assert.doesNotMatch(cfg.replace(/^#.*$/gm, ''), /@@/);
    assert.match(cfg, /^forceSync=yes$/m);
    const lab = renderZooCfg(
      readFileSync(`${services}zookeeper/zoo.cfg`, 'utf8'),
      servers[0]!,
      servers,
      false,
    );
    assert.match(lab, /^forceSync=no$/m);
    assert.doesNotMatch(lab, /^forceSync=yes$/m);
    const spec = zkDaemon(servers[0]!, 256);
    assert.equal(niced(spec, 0), spec);
    const high = niced(spec, -10);
    assert.deepEqual([high.command, ...high.args.slice(0, 3)], ['nice', '-n', '-10', 'java']);
    assert.equal(high.marker, spec.marker);
    assert.throws(() => niced(spec, -21), /-20 to 19/);
    assert.equal(zkConnectString(servers), '127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183');
  });

  it('renders Cassandra nodes on 127.0.0.1-3 with evenly spaced tokens', () => {
    const nodes = cassandraNodes('/run/s', 3);
    assert.deepEqual(
      nodes.map((n) => n.address),
      ['127.0.0.1', '127.0.0.2', '127.0.0.3'],
    );
    assert.equal(nodes[0]!.token, '-9223372036854775808');
    assert.equal(BigInt(nodes[1]!.token) - BigInt(nodes[0]!.token), 2n ** 64n / 3n);
    const yaml = renderCassandraYaml(
      readFileSync(`${services}cassandra/cassandra.yaml`, 'utf8'),
      nodes[2]!,
      nodes,
    );
    assert.match(yaml, /^listen_address: '127\.0\.0\.3'$/m);
    assert.match(yaml, /seeds: '127\.0\.0\.1:7000,127\.0\.0\.2:7000,127\.0\.0\.3:7000'/);
    assert.doesNotMatch(yaml.replace(/^#.*$/gm, ''), /@@/);
    const opts = parseJvmOptions(readFileSync(`${services}cassandra/jvm17.options`, 'utf8'));
    assert.ok(opts.includes('--add-opens=java.base/sun.nio.ch=ALL-UNNAMED'));
    assert.ok(opts.every((o) => o.startsWith('-')));
  });

  it('prints store URLs that the backend parses', () => {
    const u = parseCassandraUrl(storeUrl(3, 3));
    assert.deepEqual(u.contactPoints, ['127.0.0.1:9042', '127.0.0.2:9042', '127.0.0.3:9042']);
    assert.equal(u.zk, '127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183');
    assert.equal(u.rf, 3);
    assert.equal(u.keyspace, 'midonet');
    assert.equal(u.root, '/midonet');
    const t = parseCassandraUrl(storeUrlFor(storeUrl(1, 1), 'ks_1', '/x/y'));
    assert.deepEqual([t.keyspace, t.root, t.rf], ['ks_1', '/x/y', 1]);
    assert.throws(
      () => parseCassandraUrl('cassandra://127.0.0.1:9042'),
      (e: unknown) =>
        e instanceof StoreError && e.code === 'unavailable' && /no zk= parameter/.test(e.message),
    );
    assert.throws(() => parseCassandraUrl('cassandra://h?zk=h:1&rf=0'), /rf '0' must be 1 to 9/);
  });

  it('names log entries by position and orders election nodes by sequence', () => {
    assert.equal(logName(123), 'c-0000000123');
    assert.equal(parseLogName('c-0000000123'), 123);
    assert.equal(parseLogName('x'), undefined);
    const kids = ['n-0000000012', 'n-0000000003', 'n-0000000007'];
    assert.equal(predecessor(kids, 'n-0000000003'), undefined);
    assert.equal(predecessor(kids, 'n-0000000012'), 'n-0000000007');
    for (let i = 0; i < 100; i++) {
      const b = bucketOf(`id-${i}`);
      assert.ok(b >= 0 && b < BUCKETS);
    }
  });

  it('keeps the newest unexpired learned value per key', () => {
    const e = { table: 'mac' as const, scope: 'b', origin: 'h', expiresAt: 100 };
    const got = newestPerKey(
      [
        { ...e, key: 'k1', value: 'a', seq: 1 },
        { ...e, key: 'k1', value: 'b', seq: 2 },
        { ...e, key: 'k2', value: 'c', seq: 3, expiresAt: 10 },
      ],
      50,
    );
    assert.deepEqual(
      got.map((c) => c.value),
      ['b'],
    );
  });
});

/**
 * Every daemon's configuration file refuses what a hostile or careless operator could write: numbers
 * without bounds (`macLifetimeMs: 1e300`), names that reach a command line as options or paths (an OVS
 * bridge `--help`, a namespace `-all` or `../..`), control characters in any string (a host name with
 * a newline). Checked two ways: over the schemas themselves (every number has an integer range, every
 * string key refuses a newline), and on named cases through loadConfig, whose errors name the file,
 * the key, the value (escaped, cut) and what is allowed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { agentConfigSchema } from '../../src/agent/config.js';
import { apiConfigSchema } from '../../src/api/config.js';
import { netConfSchema } from '../../src/cni/config.js';
import { ConfigError, cliConfigSchema, hasControl, loadConfig } from '../../src/config.js';
import { routerConfigSchema } from '../../src/router/config.js';

const SCHEMAS = [
  ['midonet-agent', agentConfigSchema],
  ['midonet-router', routerConfigSchema],
  ['midonet-api', apiConfigSchema],
  ['midonet-cli', cliConfigSchema],
] as const;

/** The innermost schema under defaults, nullables, optionals and refinements. */
function inner(s: z.ZodTypeAny): z.ZodTypeAny {
  for (;;) {
    if (s instanceof z.ZodDefault) s = s._def.innerType as z.ZodTypeAny;
    else if (s instanceof z.ZodNullable || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodTypeAny;
    else if (s instanceof z.ZodEffects) s = s.innerType() as z.ZodTypeAny;
    else return s;
  }
}

/** Dotted leaf keys of an object schema with their innermost schemas. */
function leaves(schema: z.ZodTypeAny, prefix = ''): Array<[string, z.ZodTypeAny]> {
  const s = inner(schema);
  if (s instanceof z.ZodObject)
    return Object.entries(s.shape as Record<string, z.ZodTypeAny>).flatMap(([k, v]) =>
      leaves(v, prefix ? `${prefix}.${k}` : k),
    );
  return [[prefix, s]];
}

/** `{a: {b: v}}` for key 'a.b'. */
function nested(key: string, v: unknown): Record<string, unknown> {
  return key
    .split('.')
    .reverse()
    .reduce<unknown>((acc, k) => ({ [k]: acc }), v) as Record<string, unknown>;
}

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mn-config-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The ConfigError message for `body` in a file named `name`, or null when it loads. */
function load(schema: z.ZodTypeAny, body: unknown, name = 'daemon.json'): string | null {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(body));
  try {
    loadConfig(file, schema);
    return null;
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${String(e)}`);
    return e.message;
  }
}

describe('every daemon schema', () => {
  for (const [name, schema] of SCHEMAS) {
    it(`${name}: every number is an integer with a lower and an upper bound`, () => {
      const numbers = leaves(schema).filter(([, s]) => s instanceof z.ZodNumber);
      assert.ok(numbers.length > 0 || name === 'midonet-cli');
      for (const [key, s] of numbers) {
        const n = s as z.ZodNumber;
        assert.ok(n.isInt, `${key} is an integer`);
        assert.ok(Number.isFinite(n.minValue), `${key} has a lower bound`);
        assert.ok(Number.isFinite(n.maxValue), `${key} has an upper bound`);
        const msg = load(schema, nested(key, 1e300));
        assert.match(
          msg ?? '',
          new RegExp(`key '${key.replace(/\./g, '\\.')}': value 1e\\+300: expected an integer from`),
        );
      }
    });

    it(`${name}: every string key refuses a newline, and the error echoes it escaped`, () => {
      const strings = leaves(schema).filter(([, s]) => s instanceof z.ZodString || s instanceof z.ZodEnum);
      assert.ok(strings.length >= 2);
      for (const [key] of strings) {
        const msg = load(schema, nested(key, 'x\nrm -rf /'));
        assert.ok(msg !== null, `${key} accepted a newline`);
        assert.ok(msg.includes(`key '${key}'`), msg);
        assert.ok(!hasControl(msg), `raw control character in: ${msg}`);
      }
    });

    it(`${name}: the defaults load`, () => {
      assert.equal(load(schema, {}), null);
    });
  }
});

describe('named cases (file, key, value, what is allowed)', () => {
  const cases: Array<[string, z.ZodTypeAny, unknown, string]> = [
    [
      'macLifetimeMs 1e300',
      agentConfigSchema,
      { macLifetimeMs: 1e300 },
      "key 'macLifetimeMs': value 1e+300: expected an integer from 1000 to 86400000",
    ],
    [
      'an OVS bridge named --help',
      agentConfigSchema,
      { ovs: { bridge: '--help' } },
      "key 'ovs.bridge': value '--help': expected 1 to 15 of letters, digits, '_', '.', '-', not starting with '.' or '-'",
    ],
    [
      'an OVS bridge with a space',
      routerConfigSchema,
      { ovs: { bridge: 'br int' } },
      "key 'ovs.bridge': value 'br int': expected 1 to 15 of letters",
    ],
    [
      'a host name with a newline',
      agentConfigSchema,
      { hostName: 'hv1\nhv2' },
      "key 'hostName': value 'hv1\\nhv2': expected 1 to 255 of letters",
    ],
    [
      "the router's hostNetns -all",
      routerConfigSchema,
      { hostNetns: '-all' },
      "key 'hostNetns': value '-all': expected 1 to 64 of letters, digits, '_', '.', '-', not starting with '.' or '-' (a namespace name, not a path)",
    ],
    [
      "the router's hostNetns with ..",
      routerConfigSchema,
      { hostNetns: '../../proc/1/ns/net' },
      "key 'hostNetns': value '../../proc/1/ns/net': expected 1 to 64",
    ],
    [
      'a namespace prefix starting with -',
      routerConfigSchema,
      { namespacePrefix: '-n' },
      "key 'namespacePrefix': value '-n': expected 1 to 12 of lowercase letters, digits and '-', not starting with '-'",
    ],
    [
      'a path with ..',
      agentConfigSchema,
      { stateDir: '/var/lib/midonet/../../../etc' },
      "key 'stateDir': value '/var/lib/midonet/../../../etc': expected an absolute path without '.' or '..' components",
    ],
    [
      'a relative TLS key path',
      apiConfigSchema,
      { tlsCert: '/etc/midonet/api.crt', tlsKey: 'api.key' },
      "key 'tlsKey': value 'api.key': expected an absolute path",
    ],
    [
      'a peer port out of range',
      agentConfigSchema,
      { peers: { listen: 'tcp://0.0.0.0:99999' } },
      "key 'peers.listen': value 'tcp://0.0.0.0:99999': expected tcp://HOST:PORT with a port from 1 to 65535",
    ],
    [
      'a store URL with an escape sequence',
      agentConfigSchema,
      { store: 'sqlite:/tmp/x.db\u001b[2J' },
      "key 'store': value 'sqlite:/tmp/x.db\\x1b[2J': control or invisible characters (newlines, escapes) are not allowed",
    ],
    [
      'a body limit of 1e300',
      apiConfigSchema,
      { bodyLimitBytes: 1e300 },
      "key 'bodyLimitBytes': value 1e+300: expected an integer from 1024 to 67108864",
    ],
  ];
  for (const [what, schema, body, expected] of cases) {
    it(what, () => {
      const msg = load(schema, body, 'midonet.json');
      assert.ok(msg !== null, 'refused');
      assert.ok(msg.startsWith(join(dir, 'midonet.json')), `names the file: ${msg}`);
      assert.ok(msg.includes(expected), `${msg}\n  does not include\n${expected}`);
    });
  }

  it('an unknown key is named escaped', () => {
    const msg = load(agentConfigSchema, { ovs: { 'brige\n\u001b[2J': 'x' } })!;
    assert.ok(msg.endsWith("unknown key(s) 'ovs.brige\\n\\x1b[2J'"), msg);
  });

  it('a long hostile value is cut in the message', () => {
    const msg = load(agentConfigSchema, { hostName: `${'a'.repeat(5000)}\n` })!;
    assert.ok(msg.length < 400, `${msg.length} characters`);
    assert.match(msg, /value 'a{64}\.\.\.' \(5001 characters\)/);
  });

  it('the CNI configuration refuses the same names', () => {
    const base = { cniVersion: '1.0.0', name: 'net', type: 'midonet-cni', bridge: 'tenant-a' };
    assert.ok(netConfSchema.safeParse(base).success);
    for (const bad of [
      { ovs: { bridge: '--help' } },
      { hostNetns: '-all' },
      { hostNetns: '..' },
      { hostName: 'a\nb' },
    ])
      assert.equal(netConfSchema.safeParse({ ...base, ...bad }).success, false, JSON.stringify(bad));
  });
});

/**
 * docs/configuration.md against the code: every key of the agent's and the CLI's zod schemas (dotted
 * for nested objects) has a row in its file's table, with the schema's default, and the table lists no
 * key the schema does not have. The key lists are generated from the schemas, so the page cannot drift.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { agentConfigSchema } from '../../src/agent/config.js';
import { cliConfigSchema } from '../../src/config.js';
import { routerConfigSchema } from '../../src/router/config.js';
import { apiConfigSchema } from '../../src/api/config.js';

const DOC = readFileSync(fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url)), 'utf8');

/** Dotted leaf keys of an object schema (wrappers such as default, nullable, effects unwrapped). */
export function schemaKeys(schema: z.ZodTypeAny, prefix = ''): string[] {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodDefault) s = s._def.innerType as z.ZodTypeAny;
    else if (s instanceof z.ZodNullable || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodTypeAny;
    else if (s instanceof z.ZodEffects) s = s.innerType() as z.ZodTypeAny;
    else break;
  }
  if (s instanceof z.ZodObject) {
    return Object.entries(s.shape as Record<string, z.ZodTypeAny>).flatMap(([k, v]) =>
      schemaKeys(v, prefix ? `${prefix}.${k}` : k),
    );
  }
  return [prefix];
}

/** Rows `| \`key\` | default | ... |` of the table under the heading that starts with `heading`. */
function tableRows(heading: string): Map<string, string> {
  const start = DOC.indexOf(`## ${heading}`);
  assert.ok(start >= 0, `section '${heading}' in docs/configuration.md`);
  const end = DOC.indexOf('\n## ', start + 1);
  const rows = new Map<string, string>();
  for (const line of DOC.slice(start, end < 0 ? undefined : end).split('\n')) {
    const m = /^\| `([\w.]+)` \| ([^|]+) \|/.exec(line);
    if (m) rows.set(m[1]!, m[2]!.trim());
  }
  return rows;
}

function valueAt(obj: unknown, key: string): unknown {
  return key.split('.').reduce((o, k) => (o as Record<string, unknown>)[k], obj);
}

for (const [name, schema, heading] of [
  ['midonet-agent', agentConfigSchema, 'midonet-agent:'],
  ['midonet-cli', cliConfigSchema, 'midonet-cli:'],
  ['midonet-router', routerConfigSchema, 'midonet-router:'],
  ['midonet-api', apiConfigSchema, 'midonet-api:'],
] as const) {
  describe(`docs/configuration.md: ${name}`, () => {
    const keys = schemaKeys(schema);
    const rows = tableRows(heading);
    const defaults = (schema as z.ZodTypeAny).parse({}) as unknown;

    it('documents every key of the schema, and no other', () => {
      assert.ok(keys.length >= 2);
      assert.deepEqual([...rows.keys()].sort(), [...keys].sort());
    });

    it("gives each key the schema's default", () => {
      for (const k of keys) {
        if (k === 'hostName') {
          assert.equal(rows.get(k), "the machine's host name");
          continue;
        }
        const v = valueAt(defaults, k);
        assert.equal(rows.get(k), `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``, `default of ${k}`);
      }
    });

    it('has an example for each key and a whole-file example that parses', () => {
      for (const line of DOC.split('\n').filter((l) => /^\| `[\w.]+` \|/.test(l)))
        assert.match(line, /\| `[^`]+` \|$/, `example column: ${line}`);
    });
  });
}

describe('docs/configuration.md examples', () => {
  it('the agent example file is valid', () => {
    const m = /## midonet-agent[\s\S]*?```json\n([\s\S]*?)```/.exec(DOC);
    assert.ok(m, 'agent example');
    agentConfigSchema.parse(JSON.parse(m[1]!));
  });
  it('the API example file is valid', () => {
    const m = /## midonet-api[\s\S]*?```json\n([\s\S]*?)```/.exec(DOC);
    assert.ok(m, 'API example');
    apiConfigSchema.parse(JSON.parse(m[1]!));
  });
  it('the router section points to its own module', () => {
    assert.match(DOC, /## midonet-router[\s\S]*src\/router\/config\.ts/);
  });
});

/**
 * The model as the HTTP API shows it: the URL path of each kind, and the JSON Schemas of its objects,
 * create bodies and update bodies, generated from the zod schemas of src/state/model.ts (the one
 * description of the model: the same schemas validate every write in the transaction planner).
 *
 * Invariant: every kind the store holds has a path except `api-token`, which only /v1/tokens serves
 * (it never returns the token's digest); a schema here is derived, never written by hand.
 */
import { z } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { IMMUTABLE_FIELDS, KINDS, MANAGED_FIELDS, fieldSchemas, type Kind } from '../state/model.js';

/** Kinds served by the generic object routes. */
export type ApiKind = Exclude<Kind, 'api-token'>;
export const API_KINDS = KINDS.filter((k): k is ApiKind => k !== 'api-token');

/** URL path segment of each kind's collection: /v1/<path>. */
export const KIND_PATHS: Record<ApiKind, string> = {
  host: 'hosts',
  'tunnel-zone': 'tunnel-zones',
  bridge: 'bridges',
  router: 'routers',
  port: 'ports',
  route: 'routes',
  chain: 'chains',
  rule: 'rules',
  'port-group': 'port-groups',
  'ip-address-group': 'ip-address-groups',
  dhcp: 'dhcp-subnets',
  'bgp-peer': 'bgp-peers',
  'bgp-network': 'bgp-networks',
  'dhcp-lease': 'dhcp-leases',
  'floating-ip': 'floating-ips',
  'port-forward': 'port-forwards',
  'source-nat': 'source-nats',
  'nat-block': 'nat-blocks',
  'load-balancer': 'load-balancers',
  pool: 'pools',
  vip: 'vips',
  'pool-member': 'pool-members',
  'health-monitor': 'health-monitors',
  mirror: 'mirrors',
};

export type JsonSchema = Record<string, unknown>;

/** A zod schema as JSON Schema (draft 2019-09, the dialect OpenAPI 3.1 builds on), inlined. */
export function jsonSchema(schema: z.ZodType): JsonSchema {
  const s = zodToJsonSchema(schema, { target: 'jsonSchema2019-09', $refStrategy: 'none' }) as JsonSchema;
  delete s.$schema;
  return s;
}

const meta = {
  id: { type: 'string', format: 'uuid', description: 'set by the store' },
  version: { type: 'integer', minimum: 1, description: '1 on create, +1 per write; send it as If-Match' },
};

function objectShape(kind: Kind): z.ZodObject<z.ZodRawShape> {
  return fieldSchemas[kind];
}

/** A stored object of the kind, as every read returns it. */
export function objectSchema(kind: Kind): JsonSchema {
  const s = jsonSchema(objectShape(kind));
  const props = s.properties as Record<string, JsonSchema>;
  return {
    ...s,
    properties: { ...meta, ...props },
    required: ['id', 'version', ...Object.keys(props)],
  };
}

/** The body of a create: the kind's fields less those the store sets itself. */
export function createSchema(kind: Kind): JsonSchema {
  const managed = MANAGED_FIELDS[kind] ?? [];
  const omit = Object.fromEntries(managed.map((f) => [f, true])) as Record<string, true>;
  return jsonSchema(objectShape(kind).omit(omit));
}

/** The body of an update: any of the fields a create takes, merged into the stored object. */
export function updateSchema(kind: Kind): JsonSchema {
  const managed = MANAGED_FIELDS[kind] ?? [];
  const omit = Object.fromEntries(managed.map((f) => [f, true])) as Record<string, true>;
  return jsonSchema(objectShape(kind).omit(omit).partial());
}

/** The fields an update may change: the kind's fields less those the store sets or fixes at create. */
export function patchableFields(kind: Kind): string[] {
  const fixed = new Set([...(MANAGED_FIELDS[kind] ?? []), ...(IMMUTABLE_FIELDS[kind] ?? [])]);
  return Object.keys(objectShape(kind).shape).filter((f) => !fixed.has(f));
}

/** Top-level fields a list may filter on (`?field=value`): those holding a string, number or boolean. */
export function filterFields(kind: Kind): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(objectShape(kind).shape)) {
    let s = v;
    for (;;) {
      if (s instanceof z.ZodDefault) s = s._def.innerType as z.ZodTypeAny;
      else if (s instanceof z.ZodNullable || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodTypeAny;
      else if (s instanceof z.ZodEffects) s = s.innerType() as z.ZodTypeAny;
      else break;
    }
    if (
      s instanceof z.ZodString ||
      s instanceof z.ZodNumber ||
      s instanceof z.ZodBoolean ||
      s instanceof z.ZodEnum
    )
      out.push(k);
  }
  return out;
}

/**
 * The relation verbs of midonet-cli over HTTP (each one store transaction through the planner):
 *   POST   /v1/ports/REF/bind {host, interface}          POST /v1/ports/REF/unbind
 *   POST   /v1/ports/REF/link {peer}                     POST /v1/ports/REF/unlink
 *   POST   /v1/tunnel-zones/REF/members {host, address?} DELETE /v1/tunnel-zones/REF/members/HOST
 *   POST   /v1/chains/REF/rules?position=N {rule fields} (rule add at a position)
 *   POST   /v1/dhcp-subnets/REF/hosts {mac, address, name?}  DELETE /v1/dhcp-subnets/REF/hosts/MAC
 *   POST   /v1/port-groups/REF/ports {port}              DELETE /v1/port-groups/REF/ports/PORT
 *   POST   /v1/dhcp-subnets/REF/leases {mac, ...}        (the lease allocator, leases.ts)
 *   DELETE /v1/dhcp-subnets/REF/leases/MAC              (release)
 *
 * Invariant: a verb reads the object and writes it back with the version it read (or If-Match's), so
 * two clients changing one object's members at once never lose one another's change: the later gets
 * 409 (412 with If-Match) and retries.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { normalizeMac } from '../addr.js';
import { allocate, release } from '../state/leases.js';
import type { Kind, Obj } from '../state/model.js';
import { ApiError, parseWith, queryParser } from './errors.js';
import { quote } from '../quote.js';
import { createSchema, jsonSchema, objectSchema } from './kinds.js';
import { bodyObject } from './routes-objects.js';
import { errorSchema, waitQuery, type RouteCtx } from './route-ctx.js';

const refParams = (...names: string[]) => ({
  type: 'object',
  properties: Object.fromEntries(names.map((n) => [n, { type: 'string' }])),
  required: names,
});

const bindBody = z.object({ host: z.string().min(1), interface: z.string().min(1) }).strict();
const linkBody = z.object({ peer: z.string().min(1) }).strict();
const memberBody = z.object({ host: z.string().min(1), address: z.string().min(1).optional() }).strict();
const dhcpHostBody = z
  .object({ mac: z.string().min(1), address: z.string().min(1), name: z.string().min(1).optional() })
  .strict();
const groupPortBody = z.object({ port: z.string().min(1) }).strict();
const leaseBody = z
  .object({
    mac: z.string().min(1),
    host: z.string().min(1).optional(),
    port: z.string().min(1).optional(),
    requested: z.string().min(1).optional(),
    clientId: z.string().min(1).max(255).optional(),
    hostname: z.string().min(1).max(63).optional(),
  })
  .strict();
const writeQuery = queryParser(z.object({ wait: waitQuery }).strict());
const ruleQuery = queryParser(
  z
    .object({
      wait: waitQuery,
      position: z
        .string()
        .regex(/^\d{1,9}$/, { message: 'expected a whole number from 1' })
        .transform(Number)
        .optional(),
    })
    .strict(),
);

function mac(raw: string, field: string): string {
  const m = normalizeMac(raw);
  if (!m)
    throw new ApiError(400, 'invalid', `${field}: ${quote(raw)}: expected a MAC such as 02:00:00:00:00:01`, [
      { field, value: raw, allowed: 'a MAC such as 02:00:00:00:00:01' },
    ]);
  return m;
}

function taken(message: string): ApiError {
  return new ApiError(409, 'exists', message);
}

function missing(message: string): ApiError {
  return new ApiError(404, 'not-found', message);
}

export function relationRoutes(app: FastifyInstance, ctx: RouteCtx): void {
  const { store } = ctx;
  const doc = (
    summary: string,
    tag: string,
    body?: unknown,
    params = refParams('ref'),
    extraQuery: Record<string, unknown> = {},
  ) => ({
    schema: {
      tags: [tag],
      summary,
      params,
      querystring: {
        type: 'object',
        properties: {
          wait: { type: 'string', description: 'seconds to wait for the agents' },
          ...extraQuery,
        },
      },
      ...(body ? { body } : {}),
      response: { 200: { type: 'object' }, '4XX': errorSchema },
    },
  });

  /** Writes `set` into the object read as `cur` (with If-Match's version or the one read). */
  async function write<K extends Kind>(
    req: FastifyRequest,
    reply: FastifyReply,
    kind: K,
    cur: Obj<K>,
    set: Record<string, unknown>,
  ): Promise<Obj<K>> {
    const q = writeQuery(req);
    const expectedVersion = ctx.ifMatch(req) ?? cur.version;
    const r = await ctx.store.transact([{ op: 'update', kind, id: cur.id, set, expectedVersion }]);
    await ctx.finishWrite(reply, r.position, q.wait);
    const obj = r.results[0] as Obj<K>;
    void reply.header('etag', `"${obj.version}"`);
    return obj;
  }
  const ref = (req: FastifyRequest) => (req.params as { ref: string }).ref;

  app.post(
    '/v1/ports/:ref/bind',
    doc('bind a port to a host interface', 'port', jsonSchema(bindBody)),
    async (req, reply) => {
      const b = parseWith(bindBody, req.body ?? {}, 'body');
      const port = await store.resolve('port', ref(req));
      const host = await store.resolve('host', b.host);
      return write(req, reply, 'port', port, { hostId: host.id, interfaceName: b.interface });
    },
  );
  app.post('/v1/ports/:ref/unbind', doc('unbind a port', 'port'), async (req, reply) => {
    const port = await store.resolve('port', ref(req));
    return write(req, reply, 'port', port, { hostId: null, interfaceName: null });
  });
  app.post(
    '/v1/ports/:ref/link',
    doc('link a port to its peer', 'port', jsonSchema(linkBody)),
    async (req, reply) => {
      const b = parseWith(linkBody, req.body ?? {}, 'body');
      const port = await store.resolve('port', ref(req));
      const peer = await store.resolve('port', b.peer);
      return write(req, reply, 'port', port, { peerId: peer.id });
    },
  );
  app.post('/v1/ports/:ref/unlink', doc('unlink a port from its peer', 'port'), async (req, reply) => {
    const port = await store.resolve('port', ref(req));
    return write(req, reply, 'port', port, { peerId: null });
  });

  app.post(
    '/v1/tunnel-zones/:ref/members',
    doc(
      'add a host to a tunnel zone (address: its underlay address; default its first)',
      'tunnel-zone',
      jsonSchema(memberBody),
    ),
    async (req, reply) => {
      const b = parseWith(memberBody, req.body ?? {}, 'body');
      const tz = await store.resolve('tunnel-zone', ref(req));
      const host = await store.resolve('host', b.host);
      if (tz.members.some((m) => m.hostId === host.id))
        throw taken(`tunnel-zone add-member: host '${host.name}' is already a member of '${tz.name}'`);
      const address = b.address ?? host.addresses[0];
      if (!address)
        throw new ApiError(
          400,
          'invalid',
          `tunnel-zone add-member: address is required (host '${host.name}' has no address)`,
          [{ field: 'address', allowed: 'an IPv4 underlay address' }],
        );
      return write(req, reply, 'tunnel-zone', tz, { members: [...tz.members, { hostId: host.id, address }] });
    },
  );
  app.delete(
    '/v1/tunnel-zones/:ref/members/:host',
    doc('remove a host from a tunnel zone', 'tunnel-zone', undefined, refParams('ref', 'host')),
    async (req, reply) => {
      const tz = await store.resolve('tunnel-zone', ref(req));
      const host = await store.resolve('host', (req.params as { host: string }).host);
      const others = tz.members.filter((m) => m.hostId !== host.id);
      if (others.length === tz.members.length)
        throw missing(`tunnel-zone remove-member: host '${host.name}' is not a member of '${tz.name}'`);
      return write(req, reply, 'tunnel-zone', tz, { members: others });
    },
  );

  const ruleBody = { ...createSchema('rule') } as Record<string, unknown>;
  app.post(
    '/v1/chains/:ref/rules',
    doc('add a rule to a chain (position: 1-based, default last)', 'rule', ruleBody, refParams('ref'), {
      position: { type: 'string' },
    }),
    async (req, reply) => {
      const q = ruleQuery(req);
      const chain = await store.resolve('chain', ref(req));
      const fields = { ...bodyObject(req.body), chainId: chain.id };
      const r = await ctx.store.transact([
        { op: 'create', kind: 'rule', fields, ...(q.position !== undefined ? { position: q.position } : {}) },
      ]);
      await ctx.finishWrite(reply, r.position, q.wait);
      const obj = r.results[0] as Obj<'rule'>;
      void reply.header('etag', `"${obj.version}"`).header('location', `/v1/rules/${obj.id}`);
      return reply.code(201).send(obj);
    },
  );

  app.post(
    '/v1/dhcp-subnets/:ref/hosts',
    doc('add a static host entry (MAC -> address)', 'dhcp', jsonSchema(dhcpHostBody)),
    async (req, reply) => {
      const b = parseWith(dhcpHostBody, req.body ?? {}, 'body');
      const d = await store.resolve('dhcp', ref(req));
      const m = mac(b.mac, 'mac');
      const entry = { mac: m, address: b.address, ...(b.name ? { name: b.name } : {}) };
      return write(req, reply, 'dhcp', d, { hosts: [...d.hosts.filter((h) => h.mac !== m), entry] });
    },
  );
  app.delete(
    '/v1/dhcp-subnets/:ref/hosts/:mac',
    doc('remove a static host entry', 'dhcp', undefined, refParams('ref', 'mac')),
    async (req, reply) => {
      const d = await store.resolve('dhcp', ref(req));
      const m = mac((req.params as { mac: string }).mac, 'mac');
      const others = d.hosts.filter((h) => h.mac !== m);
      if (others.length === d.hosts.length)
        throw missing(`dhcp remove-host: no host entry with MAC ${m} in '${d.name}'`);
      return write(req, reply, 'dhcp', d, { hosts: others });
    },
  );

  app.post(
    '/v1/port-groups/:ref/ports',
    doc('add a port to a group', 'port-group', jsonSchema(groupPortBody)),
    async (req, reply) => {
      const b = parseWith(groupPortBody, req.body ?? {}, 'body');
      const pg = await store.resolve('port-group', ref(req));
      const port = await store.resolve('port', b.port);
      if (pg.portIds.includes(port.id))
        throw taken(`port-group add-port: port '${port.name}' is already in '${pg.name}'`);
      return write(req, reply, 'port-group', pg, { portIds: [...pg.portIds, port.id] });
    },
  );
  app.delete(
    '/v1/port-groups/:ref/ports/:port',
    doc('remove a port from a group', 'port-group', undefined, refParams('ref', 'port')),
    async (req, reply) => {
      const pg = await store.resolve('port-group', ref(req));
      const port = await store.resolve('port', (req.params as { port: string }).port);
      if (!pg.portIds.includes(port.id))
        throw missing(`port-group remove-port: port '${port.name}' is not in '${pg.name}'`);
      return write(req, reply, 'port-group', pg, { portIds: pg.portIds.filter((x) => x !== port.id) });
    },
  );

  app.post(
    '/v1/dhcp-subnets/:ref/leases',
    {
      schema: {
        tags: ['dhcp-lease'],
        summary:
          'lease an address to a client (static entry, its own lease, the requested address, or the lowest free one)',
        params: refParams('ref'),
        body: jsonSchema(leaseBody),
        response: { 200: objectSchema('dhcp-lease'), '4XX': errorSchema },
      },
    },
    async (req, reply) => {
      const q = writeQuery(req);
      const b = parseWith(leaseBody, req.body ?? {}, 'body');
      const host = b.host !== undefined ? await store.resolve('host', b.host) : undefined;
      const port = b.port !== undefined ? await store.resolve('port', b.port) : undefined;
      const lease = await allocate(store, ref(req), {
        mac: mac(b.mac, 'mac'),
        now: ctx.now(),
        hostId: host?.id ?? null,
        portId: port?.id ?? null,
        requested: b.requested ?? null,
        clientId: b.clientId ?? null,
        hostname: b.hostname ?? null,
      });
      await ctx.finishWrite(reply, await store.position(), q.wait);
      return lease;
    },
  );
  app.delete(
    '/v1/dhcp-subnets/:ref/leases/:mac',
    doc("release a client's lease (idempotent)", 'dhcp-lease', undefined, refParams('ref', 'mac')),
    async (req, reply) => {
      const q = writeQuery(req);
      const gone = await release(store, ref(req), mac((req.params as { mac: string }).mac, 'mac'));
      await ctx.finishWrite(reply, await store.position(), q.wait);
      return { released: gone ?? null };
    },
  );
}

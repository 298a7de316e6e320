/**
 * DHCP leases: the one allocator of addresses from a DHCP subnet's dynamic range, shared by the CNI
 * plugin (a pod's address) and the agents' DHCP server (a VM's). It works on any TopologyStore: the
 * embedded and distributed backends, or midonet-api through the HTTP store.
 *
 * Order of choice for a client (its MAC): its static host entry; else the active lease it already
 * holds (renewed); else the address it asked for, if free; else the lowest free address of the range.
 * A lease that expired (or a declined address whose quarantine ended) is free, and is reused in the
 * same transaction that gives it to its new client.
 *
 * Invariant: two writers allocating at once never get one address twice, on every backend: the choice
 * is made from a read, but the write is a transaction whose planner refuses a second lease of an
 * address in a subnet ('exists') or a reuse of a lease changed since it was read ('conflict'); the loser
 * reads again and chooses again. `now` comes from the caller (tests control time).
 */
import { formatIpv4, parseIpv4 } from '../addr.js';
import { StoreError } from './errors.js';
import { quote } from '../quote.js';
import type { DhcpLease, DhcpSubnet } from './model.js';
import type { Op, TopologyStore } from './store.js';

/** How long an address a client declined (found in use) stays out of the pool. */
export const DEFAULT_QUARANTINE_MS = 10 * 60 * 1000;
/** How often an allocation is chosen again after losing a race before it gives up. */
const MAX_ATTEMPTS = 50;

export interface LeaseRequest {
  /** The client's MAC (any common notation). */
  readonly mac: string;
  /** ms since epoch: the clock leases are judged by. */
  readonly now: number;
  readonly hostId?: string | null;
  readonly portId?: string | null;
  /** An address the client asks for (DHCP option 50, or a CNI `ips` argument). */
  readonly requested?: string | null;
  readonly clientId?: string | null;
  readonly hostname?: string | null;
}

/** What a subnet's pool looks like at one read. */
interface Pool {
  readonly dhcp: DhcpSubnet;
  readonly leases: DhcpLease[];
  /** Addresses never handed out dynamically: the gateway and the router ports on the bridge. */
  readonly excluded: ReadonlySet<string>;
}

function normalized(mac: string): string {
  const hex = mac.toLowerCase().replace(/[^0-9a-f]/g, '');
  if (hex.length !== 12)
    throw new StoreError(
      'invalid',
      `dhcp-lease.mac: ${quote(mac)}: expected a MAC such as 02:00:00:00:00:01`,
    );
  return hex.match(/../g)!.join(':');
}

async function readPool(store: TopologyStore, dhcpRef: string): Promise<Pool> {
  const dhcp = await store.resolve('dhcp', dhcpRef);
  const leases = await store.list('dhcp-lease', { refersTo: dhcp.id });
  const excluded = new Set<string>(dhcp.gateway ? [dhcp.gateway] : []);
  for (const p of await store.list('port', { refersTo: dhcp.bridgeId })) {
    if (p.deviceId !== dhcp.bridgeId || !p.peerId) continue;
    const peer = await store.get('port', p.peerId);
    if (peer?.address) excluded.add(peer.address.split('/')[0]!);
  }
  return { dhcp, leases: leases.filter((l) => l.dhcpId === dhcp.id), excluded };
}

function leaseFields(d: DhcpSubnet, mac: string, req: LeaseRequest): Record<string, unknown> {
  return {
    mac,
    hostId: req.hostId ?? null,
    portId: req.portId ?? null,
    state: 'active',
    expiresAt: req.now + d.leaseTime * 1000,
    clientId: req.clientId ?? null,
    hostname: req.hostname ?? null,
  };
}

/** The op that gives `address` to the client: a new lease, or the reuse of a lease that has expired. */
function take(pool: Pool, address: string, mac: string, req: LeaseRequest): Op {
  const held = pool.leases.find((l) => l.address === address);
  const fields = leaseFields(pool.dhcp, mac, req);
  if (held)
    return { op: 'update', kind: 'dhcp-lease', id: held.id, set: fields, expectedVersion: held.version };
  return { op: 'create', kind: 'dhcp-lease', fields: { ...fields, dhcpId: pool.dhcp.id, address } };
}

/** Whether an address of the range may be given to `mac` now. */
function isFree(pool: Pool, address: string, mac: string, now: number): boolean {
  if (pool.excluded.has(address)) return false;
  if (pool.dhcp.hosts.some((h) => h.address === address && h.mac !== mac)) return false;
  const held = pool.leases.find((l) => l.address === address);
  return held === undefined || held.expiresAt <= now || (held.mac === mac && held.state === 'active');
}

function inRange(d: DhcpSubnet, address: string): boolean {
  const ip = parseIpv4(address);
  if (ip === undefined || d.rangeStart === null || d.rangeEnd === null) return false;
  return ip >= parseIpv4(d.rangeStart)! && ip <= parseIpv4(d.rangeEnd)!;
}

/** The ops that give the client an address, read from one view of the pool. */
function choose(pool: Pool, mac: string, req: LeaseRequest): Op[] {
  const d = pool.dhcp;
  const mine = pool.leases.find((l) => l.mac === mac && l.state === 'active');
  const fixed = d.hosts.find((h) => h.mac === mac);
  if (fixed) {
    const holder = pool.leases.find((l) => l.address === fixed.address);
    if (holder && holder.mac !== mac && holder.expiresAt > req.now)
      throw new StoreError(
        'exists',
        `dhcp ${quote(d.name)}: ${fixed.address} is reserved for ${mac} but leased to ${holder.mac} until ${new Date(holder.expiresAt).toISOString()}`,
      );
    const drop: Op[] =
      mine && mine.address !== fixed.address
        ? [{ op: 'delete', kind: 'dhcp-lease', id: mine.id, expectedVersion: mine.version }]
        : [];
    return [...drop, take(pool, fixed.address, mac, req)];
  }
  if (mine) return [take(pool, mine.address, mac, req)];
  if (d.rangeStart === null || d.rangeEnd === null)
    throw new StoreError(
      'invalid',
      `dhcp ${quote(d.name)}: no dynamic range to lease from (set dhcp.rangeStart and dhcp.rangeEnd) and no static entry for ${mac}`,
    );
  const requested = req.requested ?? null;
  if (requested !== null && inRange(d, requested) && isFree(pool, requested, mac, req.now))
    return [take(pool, requested, mac, req)];
  const start = parseIpv4(d.rangeStart)!;
  const end = parseIpv4(d.rangeEnd)!;
  for (let ip = start; ip <= end; ip++) {
    const a = formatIpv4(ip);
    if (isFree(pool, a, mac, req.now)) return [take(pool, a, mac, req)];
  }
  const busy = pool.leases.filter((l) => l.expiresAt > req.now);
  throw new StoreError(
    'exhausted',
    `dhcp ${quote(d.name)}: no free address in its range ${d.rangeStart}-${d.rangeEnd} (${end - start + 1} addresses: ${busy.filter((l) => l.state === 'active').length} leased, ${busy.filter((l) => l.state === 'declined').length} declined and quarantined, the rest reserved); widen the range or release leases`,
  );
}

/** Runs `attempt` again while it loses races against other writers. */
async function retrying<T>(what: string, attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (e) {
      const lost = e instanceof StoreError && (e.code === 'conflict' || e.code === 'exists');
      if (!lost || i >= MAX_ATTEMPTS) {
        if (lost && e instanceof StoreError)
          throw new StoreError('conflict', `${what}: lost ${i} races against other writers: ${e.message}`);
        throw e;
      }
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(20, 2 * i)));
    }
  }
}

function leaseOf(results: ReadonlyArray<unknown>): DhcpLease {
  return results.at(-1) as DhcpLease;
}

/** Gives the client (its MAC) a lease on the subnet `dhcpRef` (name or id); see the module header. */
export async function allocate(store: TopologyStore, dhcpRef: string, req: LeaseRequest): Promise<DhcpLease> {
  const mac = normalized(req.mac);
  if (req.requested != null && parseIpv4(req.requested) === undefined)
    throw new StoreError(
      'invalid',
      `requested address ${quote(req.requested)}: expected an IPv4 address such as 192.0.2.10`,
    );
  return retrying(`dhcp ${dhcpRef}: lease for ${mac}`, async () => {
    const pool = await readPool(store, dhcpRef);
    const r = await store.transact(choose(pool, mac, req));
    return leaseOf(r.results);
  });
}

/** The client's current active lease on the subnet, if any. */
export async function leaseOfClient(
  store: TopologyStore,
  dhcpRef: string,
  mac: string,
): Promise<DhcpLease | undefined> {
  const m = normalized(mac);
  const pool = await readPool(store, dhcpRef);
  return pool.leases.find((l) => l.mac === m && l.state === 'active');
}

/** Extends the client's active lease by the subnet's lease time; 'not-found' when it holds none. */
export async function renew(
  store: TopologyStore,
  dhcpRef: string,
  req: { readonly mac: string; readonly now: number; readonly address?: string },
): Promise<DhcpLease> {
  const mac = normalized(req.mac);
  return retrying(`dhcp ${dhcpRef}: renewal for ${mac}`, async () => {
    const pool = await readPool(store, dhcpRef);
    const mine = pool.leases.find((l) => l.mac === mac && l.state === 'active');
    if (!mine || (req.address !== undefined && mine.address !== req.address))
      throw new StoreError(
        'not-found',
        `dhcp ${quote(pool.dhcp.name)}: ${mac} holds no lease${req.address !== undefined ? ` of ${quote(req.address)}` : ''}`,
      );
    const lease = await store.update(
      'dhcp-lease',
      mine.id,
      { expiresAt: req.now + pool.dhcp.leaseTime * 1000 },
      { expectedVersion: mine.version },
    );
    return lease;
  });
}

/** Gives the client's address back (deletes its active lease); undefined when it held none. */
export async function release(
  store: TopologyStore,
  dhcpRef: string,
  mac: string,
): Promise<DhcpLease | undefined> {
  const m = normalized(mac);
  return retrying(`dhcp ${dhcpRef}: release by ${m}`, async () => {
    const mine = await leaseOfClient(store, dhcpRef, m);
    if (!mine) return undefined;
    await store.delete('dhcp-lease', mine.id, { expectedVersion: mine.version });
    return mine;
  });
}

/**
 * The client found its address in use (DHCPDECLINE): the address is quarantined for `quarantineMs` (no
 * client gets it until then) and the client's next allocation gets another one.
 */
export async function decline(
  store: TopologyStore,
  dhcpRef: string,
  req: {
    readonly mac: string;
    readonly address: string;
    readonly now: number;
    readonly quarantineMs?: number;
  },
): Promise<DhcpLease> {
  const mac = normalized(req.mac);
  return retrying(`dhcp ${dhcpRef}: decline by ${mac}`, async () => {
    const pool = await readPool(store, dhcpRef);
    const held = pool.leases.find((l) => l.address === req.address && l.mac === mac && l.state === 'active');
    if (!held)
      throw new StoreError(
        'not-found',
        `dhcp ${quote(pool.dhcp.name)}: ${mac} holds no lease of ${quote(req.address)}`,
      );
    return store.update(
      'dhcp-lease',
      held.id,
      { state: 'declined', expiresAt: req.now + (req.quarantineMs ?? DEFAULT_QUARANTINE_MS) },
      { expectedVersion: held.version },
    );
  });
}

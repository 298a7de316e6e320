/**
 * SNAT port blocks leased through the store, so no two hosts ever hand out the same (address, port):
 * a block is 64 ports of one address and protocol (index i: ports 1024 + 64i .. 1087 + 64i), held as
 * a `nat-block` object whose name ADDRESS/PROTOCOL/INDEX is unique — the store's one transaction
 * planner refuses a second holder on every backend, so two agents asking at once get different
 * blocks. A lease expires unless renewed; an expired block of another host is taken over by deleting
 * it at its version and creating it anew in one transaction.
 *
 * A burst of new connections leases as many blocks as the packets waiting for ports need (at most
 * MAX_BLOCKS_PER_LEASE, in one transaction; raced by another host, it looks again and retries), so a
 * thousand new connections wait for two or three leases rather than sixteen.
 *
 * Invariant: `blocks(ip, proto)` are exactly the blocks this host holds a live lease for; a block is
 * used only after its lease is committed; a failed attempt (a race, the store away) leaves what was
 * held untouched and is retried when asked again.
 */
import { formatIpv4, parseIpv4 } from '../addr.js';
import type { Logger } from '../log.js';
import { StoreError } from '../state/errors.js';
import type { Obj } from '../state/model.js';
import type { Op, TopologyStore } from '../state/store.js';

export const BLOCK_SIZE = 64;
export const FIRST_PORT = 1024;
const LAST_INDEX = Math.floor((65536 - FIRST_PORT) / BLOCK_SIZE) - 1;
/** Blocks one lease takes at most (512 ports: as many as the controller holds packets for). */
export const MAX_BLOCKS_PER_LEASE = 8;
/** Looks at the blocks and transactions a lease tries at most when other hosts race it. */
const LEASE_TRIES = 4;

const PROTO_NAMES: Record<number, 'tcp' | 'udp' | 'sctp'> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

export function blockRange(index: number): [number, number] {
  const from = FIRST_PORT + BLOCK_SIZE * index;
  return [from, from + BLOCK_SIZE - 1];
}

/** What the leaser tells the controller, and asks it. */
export interface NatBlockEvents {
  /** Called with every block range this host holds for (ip, proto) after a change. */
  granted(ip: number, proto: number, ranges: Array<[number, number]>): void;
  /** Called when no block of (ip, proto) is free to lease. */
  exhausted(ip: number, proto: number): void;
  /** How many packets wait for ports of (ip, proto) now (the controller's held packets); 1 if absent. */
  waiting?(ip: number, proto: number): number;
}

export class NatBlockLeaser {
  /** `ip/proto` -> indexes held. */
  private readonly held = new Map<string, Set<number>>();
  private readonly asking = new Set<string>();

  constructor(
    private readonly store: () => TopologyStore,
    private readonly hostId: string,
    private readonly events: NatBlockEvents,
    private readonly log: Logger,
    readonly leaseMs = 300_000,
  ) {}

  blocks(ip: number, proto: number): Array<[number, number]> {
    return [...(this.held.get(`${ip}/${proto}`) ?? [])].sort((a, b) => a - b).map(blockRange);
  }

  /**
   * Leases more ports of (ip, proto), preferring ports in [from, to]. The controller hears of them
   * after this lease is no longer being asked for, so the packets it lets go, when they use up the
   * block at once (a burst of new connections), ask for the next one straight away.
   */
  async want(ip: number, proto: number, from = FIRST_PORT, to = 65535): Promise<void> {
    const protocol = PROTO_NAMES[proto];
    const key = `${ip}/${proto}`;
    if (protocol === undefined || this.asking.has(key)) return;
    this.asking.add(key);
    let outcome: 'leased' | 'exhausted' | 'failed';
    try {
      outcome = await this.lease(ip, proto, protocol, from, to);
    } finally {
      this.asking.delete(key);
    }
    if (outcome === 'leased') this.events.granted(ip, proto, this.blocks(ip, proto));
    else if (outcome === 'exhausted') this.events.exhausted(ip, proto);
  }

  /**
   * Leases free (or expired) blocks of (ip, protocol) in [from, to], as many as the waiting packets
   * need, in one transaction; when another host took one of them meanwhile, the blocks are looked at
   * again and the lease tried again (at most LEASE_TRIES times in all).
   */
  private async lease(
    ip: number,
    proto: number,
    protocol: 'tcp' | 'udp' | 'sctp',
    from: number,
    to: number,
  ): Promise<'leased' | 'exhausted' | 'failed'> {
    const address = formatIpv4(ip);
    const lo = Math.max(0, Math.floor((Math.max(from, FIRST_PORT) - FIRST_PORT) / BLOCK_SIZE));
    const hi = Math.min(LAST_INDEX, Math.floor((to - FIRST_PORT) / BLOCK_SIZE));
    try {
      for (let attempt = 1; attempt <= LEASE_TRIES; attempt++) {
        const now = Date.now();
        const taken = new Map<number, Obj<'nat-block'>>();
        for (const b of await this.store().list('nat-block'))
          if (b.address === address && b.protocol === protocol) taken.set(b.index, b);
        const want = Math.min(
          MAX_BLOCKS_PER_LEASE,
          Math.max(1, Math.ceil((this.events.waiting?.(ip, proto) ?? 1) / BLOCK_SIZE)),
        );
        const indexes: number[] = [];
        for (let index = lo; index <= hi && indexes.length < want; index++) {
          const cur = taken.get(index);
          if (cur === undefined || (cur.hostId !== this.hostId && cur.expiresAt <= now)) indexes.push(index);
        }
        if (indexes.length === 0) {
          this.log.warn({ address, protocol }, 'no SNAT port block free');
          return 'exhausted';
        }
        const ops: Op[] = [];
        for (const index of indexes) {
          const cur = taken.get(index);
          if (cur !== undefined)
            ops.push({ op: 'delete', kind: 'nat-block', id: cur.id, expectedVersion: cur.version });
          const fields = { name: `${address}/${protocol}/${index}`, address, protocol, index };
          ops.push({
            op: 'create',
            kind: 'nat-block',
            fields: { ...fields, hostId: this.hostId, expiresAt: now + this.leaseMs },
          });
        }
        try {
          await this.store().transact(ops);
        } catch (e) {
          const raced =
            e instanceof StoreError &&
            (e.code === 'exists' || e.code === 'conflict' || e.code === 'not-found');
          if (raced) continue;
          throw e;
        }
        const held = this.heldFor(ip, proto);
        for (const index of indexes) held.add(index);
        this.log.info(
          { address, protocol, indexes, ports: indexes.map(blockRange) },
          indexes.length === 1 ? 'SNAT port block leased' : 'SNAT port blocks leased',
        );
        return 'leased';
      }
      this.log.warn(
        { address, protocol, tries: LEASE_TRIES },
        'SNAT port blocks raced by other hosts: asked again later',
      );
      return 'failed';
    } catch (e) {
      this.log.warn({ err: (e as Error).message, address, protocol }, 'cannot lease an SNAT port block');
      return 'failed';
    }
  }

  /** The indexes of the blocks held for (ip, proto), an empty set made for them when none is yet. */
  private heldFor(ip: number, proto: number): Set<number> {
    const key = `${ip}/${proto}`;
    let s = this.held.get(key);
    if (s === undefined) this.held.set(key, (s = new Set()));
    return s;
  }

  /** Takes back the live blocks this host holds (after a restart) and hands them to the controller. */
  async recover(): Promise<void> {
    const now = Date.now();
    for (const b of await this.store().list('nat-block')) {
      if (b.hostId !== this.hostId || b.expiresAt <= now) continue;
      const ip = parseIpv4(b.address) ?? 0;
      const proto = b.protocol === 'tcp' ? 6 : b.protocol === 'udp' ? 17 : 132;
      this.heldFor(ip, proto).add(b.index);
    }
    for (const key of this.held.keys()) {
      const [ip, proto] = key.split('/').map(Number) as [number, number];
      this.events.granted(ip, proto, this.blocks(ip, proto));
    }
  }

  /** Renews every lease this host holds (call a few times per lease time). */
  async renew(): Promise<void> {
    const now = Date.now();
    try {
      for (const b of await this.store().list('nat-block')) {
        if (b.hostId !== this.hostId) continue;
        await this.store().update(
          'nat-block',
          b.id,
          { expiresAt: now + this.leaseMs },
          { expectedVersion: b.version },
        );
      }
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'cannot renew SNAT port blocks');
    }
  }
}

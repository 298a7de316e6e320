/**
 * Per-connection flow state: connection tracking and NAT bindings, as the simulation reads them and
 * as an agent keeps them (the Memory* tables). Both are keyed by zone (the device whose chain asked)
 * and 5-tuple, so two routers never share a connection by accident.
 *
 * Lifetime: an entry lives while a flow that depends on it is installed (the agent pins it), and for
 * `idleMs` after the last such flow went idle or after the entry was last used without a flow; a TCP
 * connection that ended (FIN or RST seen) lives `closingMs` more, pinned by no flow (so a flow of its
 * later FINs and RSTs, once the end is recorded, cannot keep it alive). So state follows the
 * traffic, not a fixed timer.
 *
 * Invariant: a lookup is a pure function of (table contents, key, now); an entry past its lifetime is
 * absent; `entries()` lists only live ones (what an agent shares with peers and the store).
 */
import { formatIpv6, type Ipv6Words } from '../addr.js';
import type { NatBinding, NatTable } from './nat.js';

export type ConnState = 'new' | 'established';

export interface Conntrack {
  /** 'established' when the connection of `key` (either direction) is tracked, else 'new'. */
  state(key: string, now: number): ConnState;
  /**
   * True when the connection opened in the direction of `key` has ended (FIN or RST seen) and lives
   * out its closing time: a new SYN on the same 5-tuple opens it again, as Linux conntrack does.
   */
  ended?(key: string, now: number): boolean;
}

/**
 * The decimal text of the numbers keys are made of, from a small direct-mapped cache: a simulation
 * through a VIP or a NAT rule builds two keys, and converting an IPv4 address (a heap number above
 * 2^31) to text each time was a tenth of its cost. A slot holds one number and its text; NaN never
 * equals itself, so an empty slot never answers.
 */
const DECIMAL_SLOTS = 4096;
const decimalOf = new Float64Array(DECIMAL_SLOTS).fill(NaN);
const decimalText: string[] = new Array<string>(DECIMAL_SLOTS).fill('');

function decimal(n: number): string {
  const i = (n ^ (n >>> 12)) & (DECIMAL_SLOTS - 1);
  if (decimalOf[i] === n) return decimalText[i]!;
  const s = String(n);
  decimalOf[i] = n;
  decimalText[i] = s;
  return s;
}

/** A 5-tuple as key text: `proto/src:sport>dst:dport` (numbers); conntrack and NAT keys end in it. */
export function tupleText(proto: number, src: number, sport: number, dst: number, dport: number): string {
  return (
    decimal(proto) + '/' + decimal(src) + ':' + decimal(sport) + '>' + decimal(dst) + ':' + decimal(dport)
  );
}

/**
 * An IPv6 5-tuple as key text: `proto/[src]:sport>[dst]:dport`, the addresses in canonical text (no
 * '/' nor '>' in them, so `reverseKey` swaps the two ends of either family alike).
 */
export function tupleText6(
  proto: number,
  src: Ipv6Words,
  sport: number,
  dst: Ipv6Words,
  dport: number,
): string {
  return `${decimal(proto)}/[${formatIpv6(src)}]:${decimal(sport)}>[${formatIpv6(dst)}]:${decimal(dport)}`;
}

/** Conntrack key: `zone|proto/src:sport>dst:dport` (numbers), one flat string. */
export function conntrackKey(
  zone: string,
  proto: number,
  src: number,
  sport: number,
  dst: number,
  dport: number,
): string {
  return `${zone}|${tupleText(proto, src, sport, dst, dport)}`;
}

/** The key of the other direction of the same connection. */
export function reverseKey(key: string): string {
  const slash = key.indexOf('/');
  const gt = key.indexOf('>');
  return [key.slice(0, slash + 1), key.slice(gt + 1), '>', key.slice(slash + 1, gt)].join('');
}

interface Timed {
  /** When it was made or last used (ms). */
  at: number;
  /** Flows installed that depend on it: it does not age while any is. */
  pinned: boolean;
  /** How long it lives unpinned after `at`. */
  lifetimeMs: number;
  /** Its connection ended (FIN or RST): it lives out its closing time, never pinned again. */
  ended: boolean;
}

/** An expiring map of keyed entries, the common part of the two tables. */
class Timeouts<V extends Timed> {
  readonly map = new Map<string, V>();
  alive(e: V | undefined, now: number): e is V {
    return e !== undefined && (e.pinned || now - e.at < e.lifetimeMs);
  }
  get(key: string, now: number): V | undefined {
    const e = this.map.get(key);
    return this.alive(e, now) ? e : undefined;
  }
  /** Pins or unpins an entry; unpinning starts its idle time now. An ended entry is not pinned. */
  pin(key: string, pinned: boolean, now: number): void {
    const e = this.map.get(key);
    if (e === undefined || (pinned && e.ended)) return;
    if (!pinned && e.pinned) e.at = now;
    e.pinned = pinned;
  }
  /** Removes entries past their lifetime; returns their keys. */
  sweep(now: number): string[] {
    const gone: string[] = [];
    for (const [k, e] of this.map) if (!this.alive(e, now)) gone.push(k);
    for (const k of gone) this.map.delete(k);
    return gone;
  }
}

export class MemoryConntrack implements Conntrack {
  private readonly t = new Timeouts<Timed>();
  constructor(
    readonly idleMs = 60_000,
    readonly closingMs = 10_000,
  ) {}
  state(key: string, now: number): ConnState {
    return this.t.get(key, now) !== undefined || this.t.get(reverseKey(key), now) !== undefined
      ? 'established'
      : 'new';
  }
  /**
   * Starts tracking the connection whose first packet had `key` (or refreshes it). A connection in
   * its closing time is opened again: its entry lives its idle time, and the reverse entry of the
   * ended one goes (the forward entry answers for both directions).
   */
  track(key: string, now: number): void {
    const e = this.t.map.get(key);
    if (e === undefined || e.ended) {
      this.t.map.set(key, { at: now, pinned: false, lifetimeMs: this.idleMs, ended: false });
      const back = reverseKey(key);
      if (e !== undefined && this.t.map.get(back)?.ended === true) this.t.map.delete(back);
    } else e.at = now;
  }
  /** The connection ended (TCP FIN or RST): it lives `closingMs` more. */
  end(key: string, now: number): void {
    for (const k of [key, reverseKey(key)]) {
      const e = this.t.map.get(k);
      if (e !== undefined)
        Object.assign(e, { at: now, pinned: false, lifetimeMs: this.closingMs, ended: true });
    }
  }
  /** True when the live entry under `key` has ended (it is in its closing time). */
  ended(key: string, now: number): boolean {
    return this.t.get(key, now)?.ended === true;
  }
  pin(key: string, pinned: boolean, now: number): void {
    this.t.pin(key, pinned, now);
  }
  has(key: string, now: number): boolean {
    return this.t.get(key, now) !== undefined;
  }
  sweep(now: number): string[] {
    return this.t.sweep(now);
  }
  /** Live connections (forward keys) and when they were last used. */
  entries(now: number): Array<{ key: string; at: number }> {
    const out: Array<{ key: string; at: number }> = [];
    for (const [key, e] of this.t.map) if (this.t.alive(e, now)) out.push({ key, at: e.at });
    return out;
  }
  clear(): void {
    this.t.map.clear();
  }
}

interface NatEntry extends Timed {
  readonly ip: number;
  readonly port: number;
  /** An IPv6 binding's address (ip is 0 then). */
  readonly ip6?: Ipv6Words;
}

export class MemoryNatTable implements NatTable {
  private readonly t = new Timeouts<NatEntry>();
  /** `ip/proto` -> port ranges leased to this host. */
  private readonly blocks = new Map<string, Array<readonly [number, number]>>();
  /** `ip/proto` with no block left to lease. */
  private readonly full = new Set<string>();
  constructor(readonly idleMs = 60_000) {}

  lookup(key: string, now: number): NatBinding | undefined {
    return this.t.get(key, now);
  }
  portBlocks(ip: number, proto: number): ReadonlyArray<readonly [number, number]> {
    return this.blocks.get(`${ip}/${proto}`) ?? [];
  }
  /**
   * Records a binding (made here or by another agent); an existing one is kept (first wins). An IPv6
   * binding gives its address as `b.ip6` (`b.ip` 0).
   */
  bind(key: string, b: NatBinding, now: number, idleMs = this.idleMs): boolean {
    const e = this.t.get(key, now);
    if (e !== undefined) {
      e.at = Math.max(e.at, now);
      return false;
    }
    const entry: NatEntry = {
      ip: b.ip,
      port: b.port,
      at: now,
      pinned: false,
      lifetimeMs: idleMs,
      ended: false,
    };
    this.t.map.set(key, b.ip6 === undefined ? entry : { ...entry, ip6: b.ip6 });
    return true;
  }
  pin(key: string, pinned: boolean, now: number): void {
    this.t.pin(key, pinned, now);
  }
  sweep(now: number): string[] {
    return this.t.sweep(now);
  }
  /** The connection of this binding ended: it lives `closingMs` more. */
  end(key: string, now: number, closingMs: number): void {
    const e = this.t.map.get(key);
    if (e !== undefined) Object.assign(e, { at: now, pinned: false, lifetimeMs: closingMs, ended: true });
  }
  has(key: string, now: number): boolean {
    return this.t.get(key, now) !== undefined;
  }
  exhausted(ip: number, proto: number): boolean {
    return this.full.has(`${ip}/${proto}`);
  }
  setExhausted(ip: number, proto: number, exhausted: boolean): void {
    if (exhausted) this.full.add(`${ip}/${proto}`);
    else this.full.delete(`${ip}/${proto}`);
  }
  setBlocks(ip: number, proto: number, ranges: ReadonlyArray<readonly [number, number]>): void {
    if (ranges.length === 0) this.blocks.delete(`${ip}/${proto}`);
    else this.blocks.set(`${ip}/${proto}`, [...ranges]);
  }
  /** Live bindings. */
  entries(now: number): Array<{ key: string; ip: number; port: number; ip6?: Ipv6Words; at: number }> {
    const out: Array<{ key: string; ip: number; port: number; ip6?: Ipv6Words; at: number }> = [];
    for (const [key, e] of this.t.map)
      if (this.t.alive(e, now))
        out.push(
          e.ip6 === undefined
            ? { key, ip: e.ip, port: e.port, at: e.at }
            : { key, ip: e.ip, port: e.port, ip6: e.ip6, at: e.at },
        );
    return out;
  }
  clear(): void {
    this.t.map.clear();
  }
}

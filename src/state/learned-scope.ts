/**
 * Learned-state watches subscribed per device (store.ts `LearnedWatchOptions`): which device an entry
 * belongs to (a MAC entry to its bridge, an ARP or ND entry to its router, flow state to none), a
 * watch's device set with the devices still waiting for their snapshot, and the learned-state watch
 * of the backends whose feed is read synchronously (memory, SQLite: a PolledFeed whose scoped
 * watchers read through `ScopedLearnedSource`, only their devices' entries).
 *
 * Invariants: a scoped watch delivers an entry only when it belongs to no device or to a device in
 * its set at delivery; a device added has its entries up to the watch's position read (its snapshot)
 * before anything after that position is read with it, so across the switch no entry is lost or
 * delivered twice; expired entries are never delivered.
 */
import type { PolledFeed } from './polled-feed.js';
import type {
  LearnedChange,
  LearnedTable,
  LearnedWatch,
  LearnedWatchHandlers,
  LearnedWatchOptions,
} from './store.js';

/** The device a learned entry belongs to (its bridge or router); undefined for flow state. */
export function learnedDevice(e: {
  readonly table: LearnedTable;
  readonly scope: string;
}): { kind: 'bridge' | 'router'; id: string } | undefined {
  switch (e.table) {
    case 'mac': {
      const slash = e.scope.indexOf('/');
      return { kind: 'bridge', id: slash < 0 ? e.scope : e.scope.slice(0, slash) };
    }
    case 'arp':
    case 'nd':
      return { kind: 'router', id: e.scope };
    case 'nat':
    case 'ct':
      return undefined;
  }
}

/** The device id an entry is filed under in a store: '' for flow state (no device). */
export function deviceKey(e: { readonly table: LearnedTable; readonly scope: string }): string {
  return learnedDevice(e)?.id ?? '';
}

/** The devices of a scoped watch, and those added since their snapshot was last taken. */
export class DeviceScope {
  private readonly held: Set<string>;
  private readonly fresh = new Set<string>();

  constructor(devices: Iterable<string>) {
    this.held = new Set(devices);
    this.held.delete('');
  }

  /** The devices subscribed to now (those waiting for their snapshot included). */
  get devices(): ReadonlySet<string> {
    return this.held;
  }

  /** Adds devices; returns whether any was new (its snapshot is then due). */
  add(ids: Iterable<string>): boolean {
    let added = false;
    for (const id of ids)
      if (id !== '' && !this.held.has(id)) {
        this.held.add(id);
        this.fresh.add(id);
        added = true;
      }
    return added;
  }

  drop(ids: Iterable<string>): void {
    for (const id of ids) {
      this.held.delete(id);
      this.fresh.delete(id);
    }
  }

  /** Their snapshot is due again (reading it failed): those still in the set. */
  again(ids: Iterable<string>): void {
    for (const id of ids) if (this.held.has(id)) this.fresh.add(id);
  }

  /** The devices added since the last call (their snapshot is taken now). */
  takeFresh(): string[] {
    const out = [...this.fresh];
    this.fresh.clear();
    return out;
  }

  /** Is the entry one this watch delivers (flow state, or of a device in the set)? */
  wants(e: { readonly table: LearnedTable; readonly scope: string }): boolean {
    const d = deviceKey(e);
    return d === '' || this.held.has(d);
  }
}

/** What a synchronously read backend gives scoped watches (the index is by `deviceKey`). */
export interface ScopedLearnedSource {
  /** Up to `limit` entries after `cursor`, of `devices` or of no device, in position order. */
  after(cursor: number, limit: number, devices: ReadonlySet<string>): readonly LearnedChange[];
  /** A device's current entries at or before position `upTo` (newest value of each key). */
  current(device: string, upTo: number): readonly LearnedChange[];
}

const bySeq = (a: LearnedChange, b: LearnedChange): number => a.seq - b.seq;

/** A learned-state watch over `feed` (every entry) or, with `opts.devices`, over `source` per device. */
export function watchLearned(
  feed: PolledFeed<LearnedChange>,
  source: ScopedLearnedSource,
  from: number,
  handlers: LearnedWatchHandlers,
  opts: LearnedWatchOptions = {},
): LearnedWatch {
  const scope = opts.devices === undefined ? undefined : new DeviceScope(opts.devices);
  const deliver = (entries: readonly LearnedChange[]): void => {
    const now = Date.now();
    const current = entries.filter((e) => e.expiresAt > now && (scope === undefined || scope.wants(e)));
    if (current.length > 0) handlers.onEntries(current);
  };
  const onError = handlers.onError && { onError: handlers.onError };
  if (scope === undefined) {
    const w = feed.watch(from, { deliver, ...onError });
    return { close: () => w.close(), addDevices: () => undefined, dropDevices: () => undefined };
  }
  const w = feed.watch(from, {
    deliver,
    read: (cursor, limit) => source.after(cursor, limit, scope.devices),
    catchUp: (cursor) => {
      const fresh = scope.takeFresh();
      if (fresh.length > 0) deliver(fresh.flatMap((d) => source.current(d, cursor)).sort(bySeq));
    },
    ...onError,
  });
  return {
    close: () => w.close(),
    addDevices: (ids) => {
      if (scope.add(ids)) feed.wake();
    },
    dropDevices: (ids) => scope.drop(ids),
  };
}

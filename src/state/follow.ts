/**
 * follow: a change-feed watch that outlives its failures, for the daemons that must keep following
 * the store (the agent, midonet-router, the load balancer's health monitor). A store's watch ends
 * for good when a read fails in a way it cannot retry or when a handler throws (store.ts
 * `onError`); a daemon that only logged that would serve a replica that no longer moves, silently.
 * Here the failure is logged with its stack, and after `retryMs` the whole state is taken again
 * (`onResync` with a fresh snapshot: the handler applies the difference, which also mends a replica
 * a throwing handler left half-updated) and the watch goes on from the snapshot's position; a
 * snapshot that fails is tried again after the same delay.
 *
 * Invariants: while the follower is open, exactly one watch or one pending retry is live; handlers
 * are called in feed order, one at a time, and never after `close()`.
 */
import type { Logger } from '../log.js';
import type { Change, Snapshot, TopologyStore, Watch } from './store.js';

export interface FollowHandlers {
  readonly onChanges: (changes: readonly Change[]) => void;
  /** The whole state at `snap.position`, instead of everything seen so far. */
  readonly onResync: (snap: Snapshot) => void;
}

export interface FollowOptions {
  readonly log: Logger;
  /** Delay before the state is taken again after a failure (ms). Default 1,000. */
  readonly retryMs?: number;
}

/** Follows `store`'s changes after `from` until `close()`, over any number of failed watches. */
export function followChanges(
  store: TopologyStore,
  from: number,
  handlers: FollowHandlers,
  opts: FollowOptions,
): Watch {
  const retryMs = opts.retryMs ?? 1000;
  let open = true;
  let watch: Watch | undefined;
  let retry: NodeJS.Timeout | undefined;
  let failures = 0;

  const start = (position: number): void => {
    watch = store.watch(position, {
      onChanges: (cs) => {
        failures = 0;
        handlers.onChanges(cs);
      },
      onResync: handlers.onResync,
      onError: (e) => {
        watch = undefined;
        if (!open) return;
        failures++;
        opts.log.error(
          { err: e.message, stack: e.stack, failures, retryMs },
          'store watch failed: taking the whole state again and following on',
        );
        later();
      },
    });
  };

  const later = (): void => {
    retry = setTimeout(() => {
      retry = undefined;
      void again();
    }, retryMs);
  };

  const again = async (): Promise<void> => {
    let snap: Snapshot;
    try {
      snap = await store.snapshot();
    } catch (e) {
      if (!open) return;
      opts.log.warn({ err: (e as Error).message }, 'cannot read the store to follow it again: retrying');
      return later();
    }
    if (!open) return;
    try {
      handlers.onResync(snap);
    } catch (e) {
      opts.log.error(
        { err: (e as Error).message, stack: (e as Error).stack },
        'taking the whole state failed: retrying',
      );
      return later();
    }
    start(snap.position);
  };

  start(from);
  return {
    close: () => {
      open = false;
      if (retry !== undefined) clearTimeout(retry);
      watch?.close();
      watch = undefined;
    },
  };
}

/**
 * ZooKeeper recipes of the distributed backend: leader election and a mutual-exclusion lock, both the
 * standard ephemeral-sequential recipe. Each participant creates `<dir>/n-<seq>` (ephemeral,
 * sequential); the lowest sequence number leads (or holds the lock); every other participant watches
 * only its predecessor, so a departure wakes one participant, not the whole group.
 *
 * Session expiry removes a participant's node: an elected candidate is told it is deposed, then joins
 * again with a node in the new session (at the end of the queue). A lock holder whose session expires
 * has lost the lock; `lost` reports it.
 *
 * Invariant: at most one participant per directory believes it leads (holds the lock) at a time, as
 * far as ZooKeeper's sessions can tell; callbacks are never run after resign/release.
 */
import type { Campaign, CampaignHandlers } from './store.js';
import { ZkError, zkPath, type ZkSession } from './zk.js';

/** Orders sequential node names by their 10-digit suffix. */
export function bySequence(a: string, b: string): number {
  return Number(a.slice(-10)) - Number(b.slice(-10));
}

/** The node a participant must watch: the one just before `mine`, or undefined when `mine` is first. */
export function predecessor(children: readonly string[], mine: string): string | undefined {
  const sorted = [...children].sort(bySequence);
  const i = sorted.indexOf(mine);
  if (i < 0) throw new Error(`participant node ${mine} is missing`);
  return i === 0 ? undefined : sorted[i - 1];
}

/** A path segment for a user-given name (group or lock), safe in a znode path. */
export function segment(name: string): string {
  return encodeURIComponent(name).replace(/\./g, '%2E');
}

/** Leader election in `dir` (created if missing). */
export async function campaign(
  zk: ZkSession,
  dir: string,
  candidate: string,
  handlers: CampaignHandlers,
): Promise<Campaign> {
  await zk.mkdirp(dir);
  let leading = false;
  let active = true;
  let mine: string | undefined;
  let checking = Promise.resolve();

  const elect = (v: boolean) => {
    if (!active || v === leading) return;
    leading = v;
    if (v) handlers.onElected();
    else handlers.onDeposed();
  };

  const join = async () => {
    const path = await zk.create(zkPath(dir, 'n-'), Buffer.from(candidate), 'ephemeral-sequential');
    mine = path.slice(dir.length + 1);
  };

  const check = async (): Promise<void> => {
    if (!active || !mine) return;
    const children = (await zk.children(dir)) ?? [];
    if (!children.includes(mine)) {
      // Our node is gone (session expired): step down and queue again.
      elect(false);
      await join();
      return check();
    }
    const pred = predecessor(children, mine);
    if (pred === undefined) return elect(true);
    elect(false);
    const there = await zk.exists(zkPath(dir, pred), () => schedule());
    if (!there) return check();
  };

  const schedule = () => {
    checking = checking.then(check).catch((e: unknown) => {
      if (active && e instanceof ZkError && e.code !== 'closed') setTimeout(schedule, 500);
    });
  };

  const offSession = zk.onSession(() => {
    elect(false);
    mine = undefined;
    checking = checking.then(join).catch(() => undefined);
    schedule();
  });

  await join();
  await check();
  return {
    get leading() {
      return leading;
    },
    resign: async () => {
      if (!active) return;
      active = false;
      leading = false;
      offSession();
      if (mine) await zk.remove(zkPath(dir, mine)).catch(() => undefined);
    },
  };
}

export interface Lock {
  /** True once the session that held the lock expired (the holder must stop acting under it). */
  readonly lost: boolean;
  release(): Promise<void>;
}

/** Waits until this session holds the lock in `dir` (created if missing), at most `timeoutMs`. */
export async function lock(zk: ZkSession, dir: string, owner: string, timeoutMs = 30000): Promise<Lock> {
  await zk.mkdirp(dir);
  const path = await zk.create(zkPath(dir, 'n-'), Buffer.from(owner), 'ephemeral-sequential');
  const mine = path.slice(dir.length + 1);
  const deadline = Date.now() + timeoutMs;
  let lost = false;
  const offSession = zk.onSession(() => (lost = true));
  try {
    for (;;) {
      const pred = predecessor((await zk.children(dir)) ?? [], mine);
      if (pred === undefined) break;
      const gone = new Promise<void>((resolve) => {
        void zk
          .exists(zkPath(dir, pred), () => resolve())
          .then((there) => {
            if (!there) resolve();
          });
      });
      const left = deadline - Date.now();
      if (left <= 0) throw new ZkError('connection-loss', `lock ${dir}: not acquired within ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([gone, new Promise<void>((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
  } catch (e) {
    offSession();
    await zk.remove(path).catch(() => undefined);
    throw e;
  }
  return {
    get lost() {
      return lost;
    },
    release: async () => {
      offSession();
      await zk.remove(path).catch(() => undefined);
    },
  };
}

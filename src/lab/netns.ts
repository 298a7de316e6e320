/**
 * Network namespaces and veth pairs for the lab and the integration tests, through `ip`.
 *
 * Invariant: every name this module creates starts with the caller's prefix, and `removeByPrefix`
 * removes exactly those (namespaces and root-namespace links), so clean-up never touches what the lab
 * did not make, and a crashed run's leftovers are found again by their prefix.
 */
import { run, tryRun } from '../exec.js';
import { killNamespace } from '../netns-remove.js';

export async function listNamespaces(): Promise<string[]> {
  const out = (await tryRun('ip', ['netns', 'list'])) ?? '';
  return out
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.length > 0);
}

export async function addNamespace(name: string): Promise<void> {
  await run('ip', ['netns', 'add', name]);
  await run('ip', ['link', 'set', 'lo', 'up'], { netns: name });
}

/**
 * Creates a veth pair with each end in the given namespace (undefined = root namespace). The `b` end is
 * created as `${a}-p` and renamed to `b` once inside its namespace, so names like eth0 never clash with
 * the root namespace's.
 */
export async function addVeth(
  a: string,
  aNs: string | undefined,
  b: string,
  bNs: string | undefined,
): Promise<void> {
  const tmp = bNs ? `${a.slice(0, 13)}-p` : b;
  await run('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', tmp]);
  if (aNs) await run('ip', ['link', 'set', a, 'netns', aNs]);
  if (bNs) {
    await run('ip', ['link', 'set', tmp, 'netns', bNs]);
    if (tmp !== b) await run('ip', ['link', 'set', tmp, 'name', b], { netns: bNs });
  }
  await run('ip', ['link', 'set', a, 'up'], aNs ? { netns: aNs } : {});
  await run('ip', ['link', 'set', b, 'up'], bNs ? { netns: bNs } : {});
}

export async function setAddress(ns: string, dev: string, cidr: string, mac?: string): Promise<void> {
  if (mac) await run('ip', ['link', 'set', dev, 'address', mac], { netns: ns });
  await run('ip', ['addr', 'add', cidr, 'dev', dev], { netns: ns });
  await run('ip', ['link', 'set', dev, 'up'], { netns: ns });
}

/** Removes every namespace and root-namespace link whose name starts with `prefix`. */
export async function removeByPrefix(prefix: string): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of await listNamespaces()) {
    if (!ns.startsWith(prefix)) continue;
    // Kill what still runs inside (ovs daemons, probes) before the namespace goes.
    await killNamespace(ns);
    removed.push(ns);
  }
  const links = (await tryRun('ip', ['-o', 'link', 'show'])) ?? '';
  for (const line of links.split('\n')) {
    const m = /^\d+: ([^:@]+)[@:]/.exec(line);
    if (m && m[1]!.startsWith(prefix)) {
      await tryRun('ip', ['link', 'delete', m[1]!]);
      removed.push(m[1]!);
    }
  }
  return removed;
}

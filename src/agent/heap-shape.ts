/**
 * The agent's memory shape: node flags and environment every launcher of the agent passes (the lab's
 * startAgent, the compose lab's hypervisor role, bin/midonet-agent's interpreter line, and so the
 * systemd unit, which runs that).
 *
 * - `--max-semi-space-size=4`: V8's young generation stays at most two 4 MiB semi-spaces instead of
 *   growing to two of 16 MiB. A burst of 100,000 new flows otherwise leaves 32 MiB of young
 *   generation resident (garbage of the burst, never returned while the agent idles), a fifth of the
 *   agent's resident set at 100,000 flows. The price is more scavenges, so more CPU per new flow
 *   under a burst; 2 MiB cost about 2-5 us more per flow (flow-setup bench) and promoted more to the
 *   old generation; 4 MiB kept the resident set at 100,000 flows at 111-138 MB (main: 150-165).
 * - `MALLOC_MMAP_THRESHOLD_=131072`: glibc's mmap threshold fixed at its default, 128 KiB. Unset,
 *   glibc raises it to the size of each large block freed, so after the flow table's typed arrays
 *   first grow (doubling, the old array freed) later large arrays come from the brk heap, where a
 *   freed one stays resident; fixed, every array of 128 KiB or more is its own mapping, returned to
 *   the system when freed.
 *
 * Invariant: these are the only V8 flags and allocator settings the agent runs with; a test holds
 * bin/midonet-agent's interpreter line to them.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

/** Environment the agent starts with, beside its launcher's. */
export const AGENT_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };

/** bin/midonet-agent's first line: env(1) sets AGENT_ENV and starts node with AGENT_NODE_FLAGS. */
export function agentInterpreterLine(): string {
  const env = Object.entries(AGENT_ENV).map(([k, v]) => `${k}=${v}`);
  return `#!/usr/bin/env -S ${[...env, 'node', ...AGENT_NODE_FLAGS].join(' ')}`;
}

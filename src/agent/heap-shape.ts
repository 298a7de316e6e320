/**
 * The agent's V8 heap shape: node flags every launcher of the agent passes (the lab's startAgent,
 * bin/midonet-agent's interpreter line, the systemd unit through it).
 *
 * - `--max-semi-space-size=2`: the young generation stays at most two 2 MiB semi-spaces instead of
 *   V8's default of 16 MiB each. A burst of 100,000 new flows otherwise leaves 32 MiB of young
 *   generation resident (garbage of the burst, never returned while the agent idles), a fifth of the
 *   agent's resident set at 100,000 flows. What a packet-in allocates dies within its turn, so a small
 *   young generation means more, shorter scavenges, not more promotion of live data.
 *
 * Invariant: these are the only V8 flags the agent runs with; changing them here changes every launcher.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];

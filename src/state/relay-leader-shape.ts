/**
 * The V8 shape of a process that may lead the commit relay (commit-relay*.ts): the node flags that
 * midonet-api and midonet-router (the daemons that volunteer) start with, and that the store bench
 * gives its leader process.
 *
 * A leader's work comes in bursts (a wave of writers) with idle spells between them. After half a
 * minute idle, V8 cuts the young generation back to 1 MiB semi-spaces at its next scavenge (the
 * allocation rate was low), and the next burst scavenges several times as often while it grows back
 * (measured: 36 scavenges against 5 in the first second; with the flags 1.03x to 1.26x in five of six
 * 16-writer figures). Idle for a minute, V8's memory reducer also runs full collections; each ages the
 * bytecode of functions not run since, which is then dropped with the optimized code built on it.
 * - `--no-memory-reducer`: no collections (and no shrinking) because the process went idle.
 * - `--no-flush-bytecode`: the bytecode of a function not run for a while is kept.
 * - `--min-semi-space-size=16`: the young generation starts (and stays) at 16 MiB semi-spaces, its
 *   usual size under load, instead of growing back from 1 MiB after a shrink.
 * Measured in docs/distributed-commits.md ("leaders idle between bursts").
 *
 * Invariant: every launcher of midonet-api and midonet-router passes exactly these flags (the bin
 * files' interpreter lines hold them; a unit test checks both).
 */
export const RELAY_LEADER_NODE_FLAGS: readonly string[] = [
  '--no-flush-bytecode',
  '--no-memory-reducer',
  '--min-semi-space-size=16',
];

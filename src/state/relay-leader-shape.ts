/**
 * The V8 shape of a process that may lead the commit relay (commit-relay*.ts): the node flags that
 * midonet-api and midonet-router (the daemons that volunteer) start with, and that the store bench
 * gives its leader process.
 *
 * A leader's work comes in bursts (a wave of writers) with idle spells between them. Idle for half a
 * minute, V8's memory reducer runs full collections to shrink the heap; each ages the bytecode of
 * functions not run since, which is then dropped (with the optimized code built on it) and the young
 * generation is shrunk back to its start size. The next burst then finds a leader that interprets and
 * compiles its commit loop again and scavenges far more often while the young generation grows back.
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

/**
 * ZeroMQ calls that a signal may interrupt. zeromq.js retries EINTR inside send and receive, but not in
 * the synchronous calls (`connect`, `disconnect`, a socket's constructor and its options): libzmq runs
 * the socket's pending commands first and returns EINTR when a signal (a child process exiting:
 * SIGCHLD) lands meanwhile. Seen in `midonet-lab eval`, whose control requests run while probes and
 * `ip` commands come and go: the run stopped with "Interrupted system call".
 *
 * Invariant: an interrupted call is made again (it had no effect: libzmq returns before acting), up
 * to a bound; any other error, or EINTR past the bound, is thrown unchanged.
 */

const MAX_TRIES = 20;

/** Whether `e` is the errno EINTR as zeromq.js throws it. */
export function isInterrupted(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'EINTR';
}

/** Runs `call`, again while a signal interrupts it (at most MAX_TRIES times in all). */
export function retryInterrupted<T>(call: () => T): T {
  for (let tries = 1; ; tries++) {
    try {
      return call();
    } catch (e) {
      if (!isInterrupted(e) || tries >= MAX_TRIES) throw e;
    }
  }
}

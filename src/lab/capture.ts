/**
 * A tcpdump in a network namespace, read line by line: the lab tests' captures (what a VM or the ISP
 * saw on the wire) and the evaluation's ECMP count (which flows reached each uplink) use this one.
 *
 * tcpdump runs in immediate mode with line-buffered output (`--immediate-mode -l`), so a packet is
 * printed when it arrives, not when a buffer fills; `-e` adds the link-level header (MACs) unless
 * `ethernet` is false; `verbose` adds -v (two lines per IP packet). Its kernel buffer is 32 MiB (-B),
 * not libpcap's 2 MiB, which a burst of a few hundred packets from a switch overflowed while tcpdump
 * waited for a CPU; what it still drops it says when it stops, and `drops` reads that.
 *
 * Invariants: `capture` returns only once tcpdump says it is listening (a packet sent afterwards is
 * seen), and rejects if tcpdump exits before; `stop` resolves only once tcpdump's output has closed,
 * not when it exits, since its last lines can come after its exit; calling `stop` again is harmless.
 * tcpdump is started with an argument array (`ip netns exec NS tcpdump ... FILTER`), never a shell.
 */
import { spawn } from 'node:child_process';

export interface CaptureOptions {
  /** The interface in the namespace (default eth0, a VM's). */
  readonly iface?: string;
  /** tcpdump -v. */
  readonly verbose?: boolean;
  /** tcpdump -e, the link-level header on each line (default true). */
  readonly ethernet?: boolean;
  /** tcpdump -B: the kernel's capture buffer in KiB (default 32 MiB). */
  readonly bufferKiB?: number;
}

/** The lines a running tcpdump printed so far (blank ones left out), and its stop. */
export interface Capture {
  readonly lines: string[];
  /** Stops tcpdump (SIGINT) and returns every line it printed. */
  stop(): Promise<string[]>;
  /**
   * Packets tcpdump said, when it stopped, it could not take ("N packets dropped by kernel": its
   * capture buffer was full); undefined before `stop` or when it did not say.
   */
  drops(): number | undefined;
}

/** Starts tcpdump with `filter` in namespace `netns`; resolves once it listens. */
export async function capture(netns: string, filter: string, opts: CaptureOptions = {}): Promise<Capture> {
  const iface = opts.iface ?? 'eth0';
  const args = [
    'netns',
    'exec',
    netns,
    'tcpdump',
    '--immediate-mode',
    '-i',
    iface,
    // A burst (a switch sending a batch of packets at once) must not overflow the capture buffer
    // while tcpdump waits for the CPU: a packet it drops is a packet the caller thinks never passed.
    '-B',
    String(opts.bufferKiB ?? 32768),
    '-n',
    '-l',
    ...(opts.ethernet !== false ? ['-e'] : []),
    ...(opts.verbose === true ? ['-v'] : []),
    filter,
  ];
  const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let closed = false;
  child.once('close', () => (closed = true));
  let buf = '';
  let errText = '';
  child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const l of parts) if (l.trim() !== '') lines.push(l);
  });
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      if (/listening on/.test(d.toString())) resolve();
    });
    child.once('exit', (c) => reject(new Error(`tcpdump on ${iface} in ${netns} exited with ${c}`)));
  });
  return {
    lines,
    stop: async () => {
      if (!closed) {
        const done = new Promise((r) => child.once('close', r));
        if (child.exitCode === null) child.kill('SIGINT');
        await done;
      }
      return lines;
    },
    drops: () => {
      const m = /(\d+) packets? dropped by kernel/.exec(errText);
      return m ? Number(m[1]) : undefined;
    },
  };
}

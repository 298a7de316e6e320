/**
 * udp-stream: a steady UDP stream between two lab VMs, for timing how soon a change in the store
 * reaches the traffic (bench/change-traffic.ts).
 *
 *   udp-stream send --to IP --port P [--seconds S]
 *       sends one 16-byte datagram per millisecond (its sequence number first) for S seconds (default
 *       60); a late timer is made up by sending the datagrams that fell due, so the count follows the clock
 *   udp-stream sink --port P
 *       prints one line per datagram received: "SEQ MS", MS its arrival on the machine's monotonic
 *       clock (milliseconds, the clock every process of the machine shares; see `monotonicMs`)
 *
 * Invariant: bounded (the sender stops after S seconds; the sink only listens), and it sends only to
 * the address the caller gives (the bench gives a lab VM's).
 */
import { createSocket } from 'node:dgram';

/** The machine's monotonic clock in ms (CLOCK_MONOTONIC: one clock for all processes and namespaces). */
function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function opt(args: string[], name: string, dflt?: string): string {
  const i = args.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < args.length) return args[i + 1]!;
  if (dflt !== undefined) return dflt;
  throw new Error(`udp-stream: --${name} is required`);
}

function num(args: string[], name: string, dflt: number, max: number): number {
  const text = opt(args, name, String(dflt));
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1 || v > max)
    throw new Error(`udp-stream: --${name} ${text.slice(0, 20)}: allowed 1 to ${max}`);
  return v;
}

async function send(to: string, port: number, seconds: number): Promise<void> {
  const s = createSocket('udp4');
  const t0 = monotonicMs();
  let seq = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = monotonicMs() - t0;
      const due = Math.floor(elapsed);
      // At most 50 at once: after a long stall the stream goes on, it does not burst.
      for (let n = 0; seq < due && n < 50; n++, seq++) {
        const b = Buffer.alloc(16);
        b.writeUInt32BE(seq, 0);
        s.send(b, port, to);
      }
      if (elapsed >= seconds * 1000) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  s.close();
}

async function sink(port: number): Promise<void> {
  const s = createSocket('udp4');
  s.on('message', (m) => {
    if (m.length >= 4) process.stdout.write(`${m.readUInt32BE(0)} ${monotonicMs().toFixed(3)}\n`);
  });
  await new Promise<void>((r) => s.bind(port, r));
}

const [mode, ...rest] = process.argv.slice(2);
try {
  if (mode === 'send')
    await send(opt(rest, 'to'), num(rest, 'port', 9000, 65535), num(rest, 'seconds', 60, 3600));
  else if (mode === 'sink') await sink(num(rest, 'port', 9000, 65535));
  else throw new Error(`udp-stream: unknown mode '${String(mode).slice(0, 20)}'; use send or sink`);
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 2;
}

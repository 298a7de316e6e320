/**
 * udp-probe: the lab's latency probe, run inside VM namespaces.
 *
 *   udp-probe echo  --port P                      answers every datagram with itself
 *   udp-probe probe --to IP --port P --flows N --packets K [--base-port B] [--gap-ms G] [--timeout-ms T]
 *
 * `probe` sends, for each of N flows, K datagrams from a new UDP source port (B + flow index), one at a
 * time: each carries its send time (hrtime) and waits for its echo before the next is sent. It prints
 * one JSON document: {"flows": [[rtt_ms | null, ...], ...]}, null for a datagram whose echo did not
 * come back within T ms. The first RTT of each flow is its first packet; the others are later packets.
 *
 * Invariant: bounded in count and time (N*K datagrams, each waited for at most T ms), to addresses the
 * caller gives (the lab only gives its own VMs' documentation-range addresses).
 */
import { createSocket, type Socket } from 'node:dgram';

function arg(args: string[], name: string, dflt?: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= args.length) {
    if (dflt !== undefined) return dflt;
    throw new Error(`udp-probe: --${name} is required`);
  }
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`udp-probe: --${name} ${args[i + 1]}: not a number`);
  return v;
}

function str(args: string[], name: string): string {
  const i = args.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= args.length) throw new Error(`udp-probe: --${name} is required`);
  return args[i + 1]!;
}

async function echo(port: number): Promise<void> {
  const s = createSocket('udp4');
  s.on('message', (msg, rinfo) => s.send(msg, rinfo.port, rinfo.address));
  await new Promise<void>((r) => s.bind(port, r));
  process.stdout.write(`echo listening on ${port}\n`);
}

function once(s: Socket, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      s.off('message', on);
      resolve(null);
    }, timeoutMs);
    const on = (m: Buffer) => {
      clearTimeout(timer);
      s.off('message', on);
      resolve(m);
    };
    s.on('message', on);
  });
}

async function probe(
  to: string,
  port: number,
  flows: number,
  packets: number,
  basePort: number,
  gapMs: number,
  timeoutMs: number,
): Promise<void> {
  const out: Array<Array<number | null>> = [];
  for (let f = 0; f < flows; f++) {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(basePort + f, r));
    const rtts: Array<number | null> = [];
    for (let k = 0; k < packets; k++) {
      const payload = Buffer.alloc(24);
      const t0 = process.hrtime.bigint();
      payload.writeBigUInt64BE(t0, 0);
      payload.writeUInt32BE(f, 8);
      payload.writeUInt32BE(k, 12);
      const reply = once(s, timeoutMs);
      s.send(payload, port, to);
      const m = await reply;
      rtts.push(m === null ? null : Number(process.hrtime.bigint() - m.readBigUInt64BE(0)) / 1e6);
      if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
    }
    s.close();
    out.push(rtts);
  }
  process.stdout.write(`${JSON.stringify({ flows: out })}\n`);
}

const [mode, ...rest] = process.argv.slice(2);
try {
  if (mode === 'echo') await echo(arg(rest, 'port', 7));
  else if (mode === 'probe') {
    await probe(
      str(rest, 'to'),
      arg(rest, 'port', 7),
      arg(rest, 'flows', 1),
      arg(rest, 'packets', 5),
      arg(rest, 'base-port', 20000),
      arg(rest, 'gap-ms', 0),
      arg(rest, 'timeout-ms', 1000),
    );
  } else throw new Error(`udp-probe: unknown mode '${mode}'; use echo or probe`);
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 2;
}

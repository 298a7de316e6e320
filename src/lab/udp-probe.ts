/**
 * udp-probe: the lab's latency probe, run inside VM namespaces (UDP and TCP).
 *
 *   udp-probe echo  --port P
 *       answers every UDP datagram (IPv4 or IPv6) with itself, and echoes every byte on TCP
 *       connections to port P
 *   udp-probe probe --to IP --port P --packets K [--proto udp|tcp] [--base-port B] [--timeout-ms T]
 *       reads flow numbers F from stdin, one per line; for each it runs one flow from source port B+F:
 *       K packets, one at a time, each waiting for its echo; prints one JSON line per flow:
 *       {"flow": F, "rtts": [ms | null, ...]} (null: no echo within T ms).
 *       UDP: every packet is a 24-byte datagram carrying its send time. TCP: the first RTT is the
 *       connection set-up (SYN -> SYN/ACK), the others 24-byte echoes; the connection ends with a
 *       reset, so the same source port can be used again at once.
 *
 * Invariant: bounded in count and time (K packets per flow, each waited for at most T ms, flows only
 * as the caller asks), to the address the caller gives (the lab gives only its own VMs' addresses).
 */
import { createSocket } from 'node:dgram';
import { connect, createServer, isIPv6, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

function opt(args: string[], name: string, dflt?: string): string {
  const i = args.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < args.length) return args[i + 1]!;
  if (dflt !== undefined) return dflt;
  throw new Error(`udp-probe: --${name} is required`);
}

function num(args: string[], name: string, dflt: number): number {
  const v = Number(opt(args, name, String(dflt)));
  if (!Number.isFinite(v)) throw new Error(`udp-probe: --${name}: not a number`);
  return v;
}

async function echo(port: number): Promise<void> {
  const s = createSocket('udp4');
  s.on('message', (msg, rinfo) => s.send(msg, rinfo.port, rinfo.address));
  await new Promise<void>((r) => s.bind(port, r));
  const s6 = createSocket({ type: 'udp6', ipv6Only: true });
  s6.on('message', (msg, rinfo) => s6.send(msg, rinfo.port, rinfo.address));
  await new Promise<void>((r) => s6.bind(port, '::', r));
  const t = createServer((c) => {
    c.setNoDelay(true);
    c.on('data', (d) => c.write(d));
    c.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => t.listen(port, r));
  process.stdout.write(`echo listening on ${port}\n`);
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

async function udpFlow(
  to: string,
  port: number,
  src: number,
  packets: number,
  timeoutMs: number,
): Promise<Array<number | null>> {
  const s = createSocket({ type: isIPv6(to) ? 'udp6' : 'udp4', reuseAddr: true });
  await new Promise<void>((r) => s.bind(src, r));
  const rtts: Array<number | null> = [];
  try {
    for (let k = 0; k < packets; k++) {
      const payload = Buffer.alloc(24);
      payload.writeUInt32BE(k, 8);
      const t0 = process.hrtime.bigint();
      const got = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          s.off('message', on);
          resolve(false);
        }, timeoutMs);
        const on = (m: Buffer) => {
          if (m.length < 12 || m.readUInt32BE(8) !== k) return;
          clearTimeout(timer);
          s.off('message', on);
          resolve(true);
        };
        s.on('message', on);
      });
      s.send(payload, port, to);
      rtts.push((await got) ? ms(t0) : null);
    }
  } finally {
    s.close();
  }
  return rtts;
}

async function tcpFlow(
  to: string,
  port: number,
  src: number,
  packets: number,
  timeoutMs: number,
): Promise<Array<number | null>> {
  const rtts: Array<number | null> = [];
  const t0 = process.hrtime.bigint();
  const sock: Socket = connect({ host: to, port, localPort: src, noDelay: true });
  const connected = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      resolve(true);
    });
    sock.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  rtts.push(connected ? ms(t0) : null);
  for (let k = 1; k < packets; k++) {
    if (!connected) {
      rtts.push(null);
      continue;
    }
    const t1 = process.hrtime.bigint();
    const ok = await new Promise<boolean>((resolve) => {
      let got = 0;
      const timer = setTimeout(() => {
        sock.off('data', on);
        resolve(false);
      }, timeoutMs);
      const on = (d: Buffer) => {
        got += d.length;
        if (got < 24) return;
        clearTimeout(timer);
        sock.off('data', on);
        resolve(true);
      };
      sock.on('data', on);
      sock.write(Buffer.alloc(24, k));
    });
    rtts.push(ok ? ms(t1) : null);
  }
  sock.resetAndDestroy();
  return rtts;
}

async function probe(args: string[]): Promise<void> {
  const to = opt(args, 'to');
  const port = num(args, 'port', 7);
  const packets = num(args, 'packets', 5);
  const base = num(args, 'base-port', 20000);
  const timeoutMs = num(args, 'timeout-ms', 1000);
  const proto = opt(args, 'proto', 'udp');
  if (proto !== 'udp' && proto !== 'tcp') throw new Error(`udp-probe: --proto ${proto}: use udp or tcp`);
  for await (const line of createInterface({ input: process.stdin })) {
    const f = Number(line.trim());
    if (!Number.isInteger(f) || f < 0 || base + f > 65535)
      throw new Error(`udp-probe: bad flow number '${line}'`);
    const rtts =
      proto === 'udp'
        ? await udpFlow(to, port, base + f, packets, timeoutMs)
        : await tcpFlow(to, port, base + f, packets, timeoutMs);
    process.stdout.write(`${JSON.stringify({ flow: f, rtts })}\n`);
  }
}

const [mode, ...rest] = process.argv.slice(2);
try {
  if (mode === 'echo') await echo(num(rest, 'port', 7));
  else if (mode === 'probe') await probe(rest);
  else throw new Error(`udp-probe: unknown mode '${mode}'; use echo or probe`);
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 2;
}

/**
 * nat-probe: the lab's tool for seeing addresses through NAT, run inside namespaces (VMs, the ISP).
 *
 *   nat-probe serve --port P [--name N]
 *       UDP: answers every datagram with "SRC_IP:SRC_PORT PAYLOAD" (the source as this side saw it),
 *       from the address it was sent to;
 *       TCP: writes "SRC_IP:SRC_PORT N" to every connection and closes it
 *   nat-probe udp --to IP --port P --count N --base-port B [--timeout-ms T]
 *       sends one datagram from each source port B..B+N-1 (all sockets open at once), each carrying a
 *       nonce, again every 500 ms until answered; prints one JSON line:
 *       [{"sport", "nonce", "seen": "IP:PORT" | null}] (null: no answer within T ms)
 *   nat-probe tcp --to IP --port P [--timeout-ms T]
 *       connects and prints what the server wrote, or exits 1 after T ms
 *
 * Invariant: bounded in count and time; talks only to the address it is given.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { networkInterfaces } from 'node:os';

function opt(args: string[], name: string, dflt?: string): string {
  const i = args.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < args.length) return args[i + 1]!;
  if (dflt !== undefined) return dflt;
  throw new Error(`nat-probe: --${name} is required`);
}

async function serve(args: string[]): Promise<void> {
  const port = Number(opt(args, 'port'));
  const name = opt(args, 'name', 'server');
  // One UDP socket per local address, as UDP servers do: an answer leaves from the address the
  // client asked (a socket on 0.0.0.0 would answer from the outgoing interface's first address,
  // which NAT on the client's side rightly does not know).
  const local = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4')
    .map((a) => a.address);
  for (const address of local) {
    const u = createSocket('udp4');
    u.on('message', (msg, r) =>
      u.send(Buffer.from(`${r.address}:${r.port} ${msg.toString()}`), r.port, r.address),
    );
    await new Promise<void>((res) => u.bind(port, address, res));
  }
  const t = createServer((c) => {
    c.on('error', () => c.destroy());
    c.end(`${c.remoteAddress?.replace(/^::ffff:/, '')}:${c.remotePort} ${name}\n`);
  });
  await new Promise<void>((res) => t.listen(port, res));
  process.stdout.write(`serving on ${port}\n`);
}

async function udp(args: string[]): Promise<void> {
  const to = opt(args, 'to');
  const port = Number(opt(args, 'port'));
  const count = Math.min(5000, Number(opt(args, 'count')));
  const base = Number(opt(args, 'base-port'));
  const timeoutMs = Number(opt(args, 'timeout-ms', '3000'));
  const sockets: UdpSocket[] = [];
  const results: Array<{ sport: number; nonce: string; seen: string | null }> = [];
  let pending = count;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((res) => (finish = res));
  for (let i = 0; i < count; i++) {
    const s = createSocket('udp4');
    const sport = base + i;
    const nonce = `${process.pid}-${i}`;
    const r = { sport, nonce, seen: null as string | null };
    results.push(r);
    s.on('message', (m) => {
      const [seen, got] = m.toString().split(' ');
      if (got !== nonce || r.seen !== null) return;
      r.seen = seen ?? null;
      if (--pending === 0) finish();
    });
    await new Promise<void>((res) => s.bind(sport, res));
    sockets.push(s);
  }
  // Like a real client, send again what got no answer (a first packet may wait for NAT ports).
  const sendPending = () => {
    for (let i = 0; i < count; i++)
      if (results[i]!.seen === null) sockets[i]!.send(results[i]!.nonce, port, to);
  };
  sendPending();
  const retry = setInterval(sendPending, 500);
  await Promise.race([done, new Promise((r) => setTimeout(r, timeoutMs))]);
  clearInterval(retry);
  for (const s of sockets) s.close();
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

async function tcp(args: string[]): Promise<void> {
  const to = opt(args, 'to');
  const port = Number(opt(args, 'port'));
  const timeoutMs = Number(opt(args, 'timeout-ms', '3000'));
  const text = await new Promise<string>((resolve, reject) => {
    const c = connect({ host: to, port });
    let got = '';
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`nat-probe: no answer from ${to}:${port} in ${timeoutMs} ms`));
    }, timeoutMs);
    c.on('data', (d) => (got += d.toString()));
    c.on('end', () => {
      clearTimeout(timer);
      resolve(got);
    });
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  process.stdout.write(text);
}

const [mode, ...rest] = process.argv.slice(2);
try {
  if (mode === 'serve') await serve(rest);
  else if (mode === 'udp') await udp(rest);
  else if (mode === 'tcp') await tcp(rest);
  else throw new Error(`nat-probe: unknown mode '${mode}'; use serve, udp or tcp`);
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 1;
}

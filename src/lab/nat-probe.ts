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
 *       [{"sport", "nonce", "seen": "IP:PORT" | null, "ms": ms after the first send | null}]
 *       (null: no answer within T ms)
 *   nat-probe tcp --to IP --port P [--timeout-ms T]
 *       connects and prints what the server wrote, or exits 1 after T ms
 *   nat-probe udp-stream --to IP --port P --rate R --seconds S [--sources N] [--base-port B]
 *       sends R numbered datagrams a second for S seconds, round robin from N source ports (N flows),
 *       to a `serve`; prints {"sent", "received", "lost", "firstLost", "lastLost"} once the last
 *       answers had a second to come back
 *   nat-probe tcp-sink --port P
 *       counts the bytes of every connection and, when the client ends its side, writes the count
 *   nat-probe tcp-stream --to IP --port P --seconds S [--kbps K]
 *       writes K kbit/s for S seconds on one connection to a `tcp-sink`, ends its side and prints
 *       {"sent", "counted", "error"} (counted: the bytes the sink saw; error: a reset or timeout)
 *
 * Invariant: bounded in count and time; talks only to the address it is given.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';

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
  const results: Array<{ sport: number; nonce: string; seen: string | null; ms: number | null }> = [];
  let t0 = 0;
  let pending = count;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((res) => (finish = res));
  for (let i = 0; i < count; i++) {
    const s = createSocket('udp4');
    const sport = base + i;
    const nonce = `${process.pid}-${i}`;
    const r = { sport, nonce, seen: null as string | null, ms: null as number | null };
    results.push(r);
    s.on('message', (m) => {
      const [seen, got] = m.toString().split(' ');
      if (got !== nonce || r.seen !== null) return;
      r.seen = seen ?? null;
      r.ms = Math.round(performance.now() - t0);
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
  t0 = performance.now();
  sendPending();
  const retry = setInterval(sendPending, 500);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer); // else the process lingers until the timeout after the last answer
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

async function udpStream(args: string[]): Promise<void> {
  const to = opt(args, 'to');
  const port = Number(opt(args, 'port'));
  const rate = Math.min(20000, Number(opt(args, 'rate')));
  const seconds = Math.min(120, Number(opt(args, 'seconds')));
  const sources = Math.min(1000, Number(opt(args, 'sources', '1')));
  const base = Number(opt(args, 'base-port', '26000'));
  const total = Math.round(rate * seconds);
  const seen = new Uint8Array(total);
  let received = 0;
  const sockets: UdpSocket[] = [];
  for (let i = 0; i < sources; i++) {
    const s = createSocket('udp4');
    s.on('message', (m) => {
      const seq = Number(m.toString().split(' ')[1]);
      if (Number.isInteger(seq) && seq >= 0 && seq < total && seen[seq] === 0) {
        seen[seq] = 1;
        received++;
      }
    });
    await new Promise<void>((res) => s.bind(base + i, res));
    sockets.push(s);
  }
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((res) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      for (; sent < due; sent++) sockets[sent % sources]!.send(String(sent), port, to);
      if (sent >= total) {
        clearInterval(timer);
        res();
      }
    }, 5);
  });
  await new Promise((r) => setTimeout(r, 1000));
  for (const s of sockets) s.close();
  const lost: number[] = [];
  for (let i = 0; i < total; i++) if (seen[i] === 0) lost.push(i);
  process.stdout.write(
    `${JSON.stringify({ sent, received, lost: lost.length, firstLost: lost[0] ?? null, lastLost: lost.at(-1) ?? null })}\n`,
  );
}

async function tcpSink(args: string[]): Promise<void> {
  const port = Number(opt(args, 'port'));
  const t = createServer({ allowHalfOpen: true }, (c) => {
    let n = 0;
    c.on('data', (d) => (n += d.length));
    c.on('end', () => c.end(`${n}\n`));
    c.on('error', () => c.destroy());
  });
  await new Promise<void>((res) => t.listen(port, res));
  process.stdout.write(`sinking on ${port}\n`);
}

async function tcpStream(args: string[]): Promise<void> {
  const to = opt(args, 'to');
  const port = Number(opt(args, 'port'));
  const seconds = Math.min(120, Number(opt(args, 'seconds')));
  const bytesPerTick = Math.max(1, Math.round((Number(opt(args, 'kbps', '8000')) * 1000) / 8 / 100));
  const result = await new Promise<{ sent: number; counted: number | null; error: string | null }>(
    (resolve) => {
      let sent = 0;
      let answer = '';
      let timer: NodeJS.Timeout | undefined;
      const done = (error: string | null) => {
        clearInterval(timer);
        clearTimeout(deadline);
        const counted = answer.trim() === '' ? null : Number(answer.trim());
        resolve({ sent, counted, error });
      };
      const deadline = setTimeout(
        () => {
          c.destroy();
          done('no count from the sink in time');
        },
        (seconds + 15) * 1000,
      );
      const c = connect({ host: to, port, allowHalfOpen: true }, () => {
        const chunk = Buffer.alloc(bytesPerTick, 0x61);
        const start = performance.now();
        timer = setInterval(() => {
          if (performance.now() - start >= seconds * 1000) {
            clearInterval(timer);
            c.end();
            return;
          }
          c.write(chunk);
          sent += chunk.length;
        }, 10);
      });
      c.on('data', (d) => (answer += d.toString()));
      c.on('end', () => done(null));
      c.on('error', (e) => done(e.message));
    },
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

const [mode, ...rest] = process.argv.slice(2);
try {
  if (mode === 'serve') await serve(rest);
  else if (mode === 'udp') await udp(rest);
  else if (mode === 'tcp') await tcp(rest);
  else if (mode === 'udp-stream') await udpStream(rest);
  else if (mode === 'tcp-sink') await tcpSink(rest);
  else if (mode === 'tcp-stream') await tcpStream(rest);
  else
    throw new Error(
      `nat-probe: unknown mode '${mode}'; use serve, udp, tcp, udp-stream, tcp-sink or tcp-stream`,
    );
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 1;
}

/**
 * The HTTP client bench/api drives midonet-api with: keep-alive HTTP/1.1 connections on node:net,
 * each carrying one request at a time (no pipelining), a request written with one `write`, a response
 * framed by its Content-Length. It is what wrk or autocannon are to a server: the load, kept as cheap
 * as a client can be, because it runs on the same two cores as the server it measures. node:http's
 * client (agent, request and response objects, events) spent about as much CPU per request as the
 * whole API process (155 us against 157 per write, 16 in flight), so the API's figure was half its
 * own cost and half its client's; Node's fetch costs several times more.
 *
 * Invariants: at most `connections` requests are in flight, one per connection; a request gets the
 * response that came on its connection, whole (status and body); a response this client cannot frame
 * (no Content-Length, e.g. chunked) or a connection that closes or fails rejects the request it
 * carried, and the connection is dropped and replaced by a new one on the next request.
 */
import { connect, type Socket } from 'node:net';

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** One keep-alive connection carrying one request at a time. */
class Connection {
  private readonly socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (a: HttpAnswer) => void; reject: (e: Error) => void } | undefined;
  /** The head's length and the body's, once the head has come. */
  private head: { length: number; status: number; bodyLength: number } | undefined;
  broken = false;

  constructor(host: string, port: number) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (d: Buffer) => this.data(d));
    const fail = (e: Error) => {
      this.broken = true;
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(e);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed')));
  }

  send(bytes: string): Promise<HttpAnswer> {
    return new Promise<HttpAnswer>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private data(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    if (this.head === undefined) {
      const end = this.buf.indexOf(HEAD_END);
      if (end < 0) return;
      const text = this.buf.toString('latin1', 0, end);
      const status = Number(text.slice(9, 12));
      const m = /\r\ncontent-length: *(\d+)/i.exec(text);
      if (m === null) {
        this.socket.destroy(new Error(`a response without Content-Length: ${text}`));
        return;
      }
      this.head = { length: end + HEAD_END.length, status, bodyLength: Number(m[1]) };
    }
    const { length, status, bodyLength } = this.head;
    if (this.buf.length < length + bodyLength) return;
    const body = this.buf.toString('utf8', length, length + bodyLength);
    this.buf = this.buf.subarray(length + bodyLength);
    this.head = undefined;
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve({ status, body });
  }
}

/**
 * A client of `base` (http://host:port) with up to `connections` keep-alive connections, sending
 * `headers` with every request; `call` resolves with the response's status and body.
 */
export function httpClient(base: string, headers: Record<string, string>, connections: number) {
  const { hostname, port } = new URL(base);
  const fixed = Object.entries({ host: `${hostname}:${port}`, ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const free: Connection[] = [];
  let open = 0;
  const queued: Array<(c: Connection) => void> = [];
  const take = (): Promise<Connection> => {
    let c = free.pop();
    while (c?.broken === true) {
      c.close();
      open--;
      c = free.pop();
    }
    if (c !== undefined) return Promise.resolve(c);
    if (open < connections) {
      open++;
      return Promise.resolve(new Connection(hostname, Number(port)));
    }
    return new Promise((resolve) => queued.push(resolve));
  };
  const give = (c: Connection) => {
    if (c.broken) {
      c.close();
      open--;
      const next = queued.shift();
      if (next !== undefined) {
        open++;
        next(new Connection(hostname, Number(port)));
      }
      return;
    }
    const next = queued.shift();
    if (next !== undefined) next(c);
    else free.push(c);
  };
  const call = async (method: string, path: string, body?: string): Promise<HttpAnswer> => {
    const length = body === undefined ? '' : `content-length: ${Buffer.byteLength(body)}\r\n`;
    const c = await take();
    try {
      return await c.send(`${method} ${path} HTTP/1.1\r\n${fixed}${length}\r\n${body ?? ''}`);
    } finally {
      give(c);
    }
  };
  const close = () => {
    for (const c of free.splice(0)) c.close();
  };
  return { call, close };
}

/**
 * A client of an Open vSwitch daemon's control socket (unixctl: the socket `ovs-appctl -t` talks to),
 * speaking its JSON-RPC 1.0 directly: one request `{"id", "method", "params": [strings]}`, one reply
 * `{"id", "result", "error"}`, each a bare JSON object on the stream.
 *
 * Why not `ovs-appctl`: the evaluation empties the datapath cache before every probe flow on every
 * host; a process spawned for it cost 8 to 10 ms a call on the lab's machine, most of a flow's probe.
 *
 * Invariants: one connection per call, closed when the reply is in or the call fails; a call never
 * waits longer than its timeout; an error reply rejects with the daemon's own text, the socket and
 * command named.
 */
import { connect } from 'node:net';

/** Runs `command` with `args` on the daemon listening on `socketPath`; resolves with its result text. */
export function unixctl(
  socketPath: string,
  command: string,
  args: readonly string[] = [],
  timeoutMs = 30000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const what = `unixctl ${socketPath} ${command}`;
    const sock = connect(socketPath);
    const reader = new JsonObjectReader();
    const done = (err: Error | undefined, result?: string) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(result ?? '');
    };
    const timer = setTimeout(() => done(new Error(`${what}: no reply in ${timeoutMs} ms`)), timeoutMs);
    sock.on('error', (e) => done(new Error(`${what}: ${e.message}`)));
    sock.on('close', () => done(new Error(`${what}: the daemon closed the connection without a reply`)));
    sock.on('data', (chunk) => {
      const text = reader.push(chunk.toString('utf8'));
      if (text === undefined) return;
      let reply: { result?: unknown; error?: unknown };
      try {
        reply = JSON.parse(text) as typeof reply;
      } catch (e) {
        return done(new Error(`${what}: unreadable reply (${(e as Error).message})`));
      }
      if (reply.error !== null && reply.error !== undefined)
        return done(new Error(`${what}: ${errorText(reply.error)}`));
      done(undefined, typeof reply.result === 'string' ? reply.result : '');
    });
    sock.write(JSON.stringify({ id: 0, method: command, params: args }));
  });
}

/** The daemon's error text (a string in practice; anything else shown as JSON). */
function errorText(e: unknown): string {
  return (typeof e === 'string' ? e : JSON.stringify(e)).trim();
}

/**
 * Finds the end of the first JSON object on a stream (braces counted outside strings), so a reply
 * split over several reads is parsed once it is whole.
 */
export class JsonObjectReader {
  private text = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scanned = 0;

  /** Adds `chunk`; returns the first whole object's text once it is complete, else undefined. */
  push(chunk: string): string | undefined {
    this.text += chunk;
    for (; this.scanned < this.text.length; this.scanned++) {
      const c = this.text[this.scanned];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
      } else if (c === '"') this.inString = true;
      else if (c === '{') this.depth++;
      else if (c === '}' && --this.depth === 0) return this.text.slice(0, this.scanned + 1);
    }
    return undefined;
  }
}

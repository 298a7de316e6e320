/**
 * The Open vSwitch control-socket client (src/ovs/unixctl.ts): the reply is found whole however the
 * stream splits it, braces and quotes inside strings included; an error reply rejects with the
 * daemon's text; a daemon that closes without a reply, or says nothing, fails within the timeout.
 * (Against real ovs-vswitchd: test/integration/agent.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { JsonObjectReader, unixctl } from '../../src/ovs/unixctl.js';
import { holds } from './property.js';

test('the reader returns the first whole object, however the text is split', () => {
  holds(
    fc.property(
      fc.jsonValue(),
      fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 60 }),
      (value, cuts) => {
        const text = JSON.stringify({ id: 0, result: value, error: null });
        const r = new JsonObjectReader();
        let at = 0;
        let got: string | undefined;
        for (const n of cuts) {
          if (at >= text.length) break;
          got = r.push(text.slice(at, at + n));
          at += n;
          if (got !== undefined) break;
        }
        if (got === undefined && at < text.length) got = r.push(text.slice(at));
        assert.equal(got, text);
      },
    ),
    { numRuns: 300 },
  );
});

test('the reader is not fooled by braces, quotes and backslashes inside strings', () => {
  const text = JSON.stringify({ result: '} {"\\" }}', error: null });
  const r = new JsonObjectReader();
  assert.equal(r.push(text.slice(0, 12)), undefined);
  assert.equal(r.push(text.slice(12) + '{"next":1}'), text);
});

/** A scripted control socket: `answer` decides what each connection gets for its request. */
async function withDaemon(
  answer: (request: { id: unknown; method: string; params: string[] }, sock: Socket) => void,
  body: (path: string) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'midonet-unixctl-'));
  const path = join(dir, 'daemon.ctl');
  const server = createServer((sock) => {
    const r = new JsonObjectReader();
    sock.on('data', (c) => {
      const t = r.push(c.toString('utf8'));
      if (t !== undefined) answer(JSON.parse(t) as never, sock);
    });
  });
  await new Promise<void>((res) => server.listen(path, res));
  try {
    await body(path);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a result comes back as its text; the request carries the command and its arguments', async () => {
  await withDaemon(
    (req, sock) => {
      const reply = JSON.stringify({
        id: req.id,
        result: `${req.method}(${req.params.join(',')})`,
        error: null,
      });
      // in two writes, as a daemon may send it
      sock.write(reply.slice(0, 5));
      setTimeout(() => sock.write(reply.slice(5)), 5);
    },
    async (path) => {
      assert.equal(await unixctl(path, 'revalidator/purge'), 'revalidator/purge()');
      assert.equal(await unixctl(path, 'dpctl/dump-flows', ['-m', 'x']), 'dpctl/dump-flows(-m,x)');
    },
  );
});

test("an error reply rejects with the daemon's text, the socket and the command named", async () => {
  await withDaemon(
    (req, sock) =>
      sock.write(
        JSON.stringify({ id: req.id, result: null, error: `"${req.method}" is not a valid command\n` }),
      ),
    async (path) => {
      await assert.rejects(unixctl(path, 'no/such'), (e: Error) => {
        assert.equal(e.message, `unixctl ${path} no/such: "no/such" is not a valid command`);
        return true;
      });
    },
  );
});

test('a daemon that closes without a reply, or never answers, fails the call', async () => {
  await withDaemon(
    (_req, sock) => sock.end(),
    async (path) => {
      await assert.rejects(unixctl(path, 'x'), /closed the connection without a reply/);
    },
  );
  await withDaemon(
    () => undefined,
    async (path) => {
      await assert.rejects(unixctl(path, 'x', [], 50), /no reply in 50 ms/);
    },
  );
  await assert.rejects(
    unixctl('/nonexistent/daemon.ctl', 'x'),
    /unixctl \/nonexistent\/daemon.ctl x: .*ENOENT/,
  );
});

/**
 * The control API's bounds and socket permissions: a too-large request gets a clear error (and one
 * over ZeroMQ's hard limit is dropped without taking the server down), a `timeoutMs` out of range is
 * refused, a request that never finishes frees the socket after the limit, and the socket file is
 * never accessible to group or others, not even for a moment (watched from another thread while the
 * daemon binds, with the process umask at its most permissive); an agent trace's count and timeout are
 * bounded integers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Reply, Request } from 'zeromq';
import { traceArgs } from '../../src/agent/control-requests.js';
import {
  ControlApi,
  HARD_REQUEST_BYTES,
  MAX_REQUEST_BYTES,
  MAX_REQUEST_MS,
  MAX_TRACE_COUNT,
  bindPrivate,
  controlRequest,
} from '../../src/control/control-api.js';
import { createLogger } from '../../src/log.js';

const log = createLogger({ name: 'control-test', level: 'silent' });
let dir = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mn-control-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** One raw request on a fresh socket; the reply, or 'no reply' after `ms`. */
async function raw(path: string, body: string | Buffer, ms = 2000): Promise<unknown> {
  const s = new Request({ receiveTimeout: ms, sendTimeout: ms, linger: 0 });
  try {
    s.connect(`ipc://${path}`);
    await s.send(body);
    const [reply] = await s.receive();
    return JSON.parse(String(reply)) as unknown;
  } catch (e) {
    if ((e as { code?: string }).code === 'EAGAIN') return 'no reply';
    throw e;
  } finally {
    s.close();
  }
}

/** A JSON request of exactly `n` bytes. */
function requestOfSize(n: number): string {
  const base = JSON.stringify({ cmd: 'stats', pad: '' });
  return JSON.stringify({ cmd: 'stats', pad: 'x'.repeat(n - base.length) });
}

describe('control API limits', () => {
  let api: ControlApi;
  let path = '';
  before(async () => {
    path = join(dir, 'limits.sock');
    api = new ControlApi(
      path,
      async (req) => {
        if (req.cmd === 'hang') return new Promise(() => undefined);
        return { echo: req.cmd };
      },
      log,
      { maxRequestMs: 200 },
    );
    await api.start();
  });
  after(() => api.close());

  it('a request over 64 KiB gets an error naming its size and the limit; one at the limit is served', async () => {
    assert.deepEqual(await raw(path, requestOfSize(100_000)), {
      ok: false,
      error: `request of 100000 bytes is over the limit of ${MAX_REQUEST_BYTES} bytes`,
    });
    assert.deepEqual(await raw(path, requestOfSize(MAX_REQUEST_BYTES)), {
      ok: true,
      result: { echo: 'stats' },
    });
  });

  it('the client refuses to send a too-large request, with the same words', async () => {
    await assert.rejects(
      controlRequest(path, { cmd: 'stats', pad: 'x'.repeat(200_000) }),
      /request of 200\d\d\d bytes is over the limit of 65536 bytes/,
    );
  });

  it('a request over the hard limit is dropped by ZeroMQ, and the server goes on serving', async () => {
    assert.equal(await raw(path, Buffer.alloc(HARD_REQUEST_BYTES + 10, 0x20), 500), 'no reply');
    assert.deepEqual(await controlRequest(path, { cmd: 'stats' }), { echo: 'stats' });
  });

  it('timeoutMs must be an integer of 1 to the limit', async () => {
    for (const t of [0, -5, 1.5, 'ten', 600_000, null]) {
      const r = (await raw(path, JSON.stringify({ cmd: 'trace', timeoutMs: t }))) as {
        ok: boolean;
        error: string;
      };
      assert.equal(r.ok, false);
      assert.match(r.error, /^timeoutMs .* is not allowed: an integer of 1 to 200 ms$/);
    }
    assert.deepEqual(await raw(path, JSON.stringify({ cmd: 'trace', timeoutMs: 200 })), {
      ok: true,
      result: { echo: 'trace' },
    });
  });

  it('a request that never finishes frees the socket after the limit', async () => {
    assert.deepEqual(await raw(path, JSON.stringify({ cmd: 'hang' }), 5000), {
      ok: false,
      error: 'no result within 1200 ms',
    });
    assert.deepEqual(await controlRequest(path, { cmd: 'stats' }), { echo: 'stats' });
  });

  it('not JSON, not an object, no cmd: clear errors', async () => {
    for (const body of ['{', '[1]', '"stats"', '{"cmd": 3}'])
      assert.equal(((await raw(path, body)) as { ok: boolean }).ok, false);
  });
});

describe("an agent trace's arguments", () => {
  it('defaults: one packet, 10 s', () => {
    assert.deepEqual(traceArgs({ cmd: 'trace' }), { count: 1, timeoutMs: 10_000 });
  });

  it('the bounds are allowed', () => {
    assert.deepEqual(traceArgs({ cmd: 'trace', count: MAX_TRACE_COUNT, timeoutMs: MAX_REQUEST_MS }), {
      count: MAX_TRACE_COUNT,
      timeoutMs: MAX_REQUEST_MS,
    });
    assert.deepEqual(traceArgs({ cmd: 'trace', count: 1, timeoutMs: 1 }), { count: 1, timeoutMs: 1 });
  });

  it('anything else is refused, naming the field, the escaped value and the range', () => {
    const cases: Array<[string, unknown, string]> = [
      ['count', 0, '0'],
      ['count', MAX_TRACE_COUNT + 1, String(MAX_TRACE_COUNT + 1)],
      ['count', 2.5, '2.5'],
      ['count', '5', "'5'"],
      ['count', null, 'null'],
      ['timeoutMs', 0, '0'],
      ['timeoutMs', MAX_REQUEST_MS + 1, String(MAX_REQUEST_MS + 1)],
      ['timeoutMs', 'x\n\u001b[2J', "'x\\n\\x1b[2J'"],
    ];
    for (const [field, value, shown] of cases) {
      const max = field === 'count' ? MAX_TRACE_COUNT : MAX_REQUEST_MS;
      assert.throws(
        () => traceArgs({ cmd: 'trace', [field]: value }),
        (e: Error) => e.message === `trace: ${field} ${shown} is not allowed: an integer of 1 to ${max}`,
        `${field}=${String(value)}`,
      );
    }
  });
});

describe('control socket permissions', () => {
  it('bindPrivate creates the socket 0600 even with umask 0, and restores the umask', async () => {
    const old = process.umask(0);
    const s = new Reply();
    try {
      await bindPrivate(s, `ipc://${join(dir, 'private.sock')}`);
      assert.equal(process.umask(), 0, 'the umask is restored');
      assert.equal(lstatSync(join(dir, 'private.sock')).mode & 0o777, 0o600);
    } finally {
      s.close();
      process.umask(old);
    }
  });

  it('watched from another thread while the API starts, the socket is never group- or world-accessible', async () => {
    const path = join(dir, 'watched.sock');
    // The watcher spins on lstat from before the bind until 200 ms after the file appeared.
    const watcher = new Worker(
      `const { lstatSync } = require('node:fs');
       const { parentPort, workerData } = require('node:worker_threads');
       const modes = new Set(); let seenAt = 0; const start = Date.now();
       parentPort.postMessage('ready');
       while (Date.now() - start < 5000) {
         try { modes.add(lstatSync(workerData).mode & 0o777); if (!seenAt) seenAt = Date.now(); } catch {}
         if (seenAt && Date.now() - seenAt > 200) break;
       }
       parentPort.postMessage([...modes]);`,
      { eval: true, workerData: path },
    );
    const modes = new Promise<number[]>((resolve) =>
      watcher.on('message', (m: unknown) => {
        if (Array.isArray(m)) resolve(m as number[]);
      }),
    );
    await new Promise((r) => watcher.once('message', r));
    const old = process.umask(0);
    const api = new ControlApi(path, () => Promise.resolve('ok'), log);
    try {
      await api.start();
      const seen = await modes;
      assert.ok(seen.length > 0, 'the watcher saw the socket');
      assert.deepEqual(
        seen.map((m) => m.toString(8)),
        ['600'],
      );
      assert.equal(process.umask(), 0, 'the umask is restored');
    } finally {
      process.umask(old);
      api.close();
      await watcher.terminate();
    }
  });
});

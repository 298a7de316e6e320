// ZeroMQ's synchronous calls made again when a signal interrupts them (src/control/zmq-interrupted.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isInterrupted, retryInterrupted } from '../../src/control/zmq-interrupted.js';

function errno(code: string): Error {
  return Object.assign(new Error(code === 'EINTR' ? 'Interrupted system call' : code), { code });
}

test('a call interrupted twice is made a third time and its result returned', () => {
  let calls = 0;
  const r = retryInterrupted(() => {
    calls++;
    if (calls < 3) throw errno('EINTR');
    return 'connected';
  });
  assert.equal(r, 'connected');
  assert.equal(calls, 3);
});

test('any other error is thrown at once, unchanged', () => {
  let calls = 0;
  const e = errno('EADDRINUSE');
  assert.throws(
    () =>
      retryInterrupted(() => {
        calls++;
        throw e;
      }),
    (thrown) => thrown === e,
  );
  assert.equal(calls, 1);
});

test('a call interrupted every time fails with EINTR after a bounded number of tries', () => {
  let calls = 0;
  assert.throws(
    () =>
      retryInterrupted(() => {
        calls++;
        throw errno('EINTR');
      }),
    (thrown) => isInterrupted(thrown),
  );
  assert.ok(calls > 1 && calls <= 100, `tried ${calls} times`);
});

test('isInterrupted reads the errno code, not the text', () => {
  assert.equal(isInterrupted(errno('EINTR')), true);
  assert.equal(isInterrupted(new Error('Interrupted system call')), false);
  assert.equal(isInterrupted(undefined), false);
  assert.equal(isInterrupted(null), false);
});

/**
 * ZkSession.renew (zk.ts) with clients of the test's own making (no ZooKeeper): a renewal whose
 * barrier is answered only after its session expired too, and another renewal took over, must neither
 * close the session the other renewal made nor run the listeners a second time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Client } from 'node-zookeeper-client';
import { ZkSession, type ZkOp } from '../../src/state/zk.js';

interface FakeClient extends EventEmitter {
  readonly id: string;
  closed: boolean;
  close(): void;
}

class ScriptedSession extends ZkSession {
  readonly log: string[] = [];
  readonly barriers: Array<{ id: string; resolve: () => void; reject: (e: Error) => void }> = [];
  private made = 0;

  constructor() {
    super('scripted:1', {});
  }

  get current(): FakeClient {
    return this.client as unknown as FakeClient;
  }

  protected override start(): Promise<void> {
    const id = `c${++this.made}`;
    const client = Object.assign(new EventEmitter(), {
      id,
      closed: false,
      close: () => {
        client.closed = true;
        this.log.push(`close ${id}`);
      },
    });
    this.client = client as unknown as Client;
    const gen = ++this.generation;
    client.on('expired', () => {
      if (gen !== this.generation) return;
      client.close();
      void this.renew();
    });
    this.log.push(`start ${id}`);
    return Promise.resolve();
  }

  override multi(_ops: readonly ZkOp[]): Promise<void> {
    const id = this.current.id;
    this.log.push(`barrier on ${id}`);
    return new Promise((resolve, reject) => this.barriers.push({ id, resolve, reject }));
  }

  barrier(id: string) {
    return this.barriers.find((b) => b.id === id)!;
  }

  renewNow(): Promise<void> {
    return this.renew();
  }

  begin(): Promise<void> {
    return this.start();
  }
}

const turn = () => new Promise((r) => setTimeout(r, 5));

test('a renewal overtaken by a newer one stops: the newer session stays open, listeners run once', async () => {
  const s = new ScriptedSession();
  let announced = 0;
  s.onSession(() => announced++);
  await s.begin(); // c1
  const first = s.renewNow(); // c1 expired: c2, its barrier not answered yet
  await turn();
  s.current.emit('expired'); // c2 expires too: a second renewal makes c3
  await turn();
  s.barrier('c3').resolve();
  await turn();
  s.barrier('c2').reject(new Error('connection-loss')); // the first renewal's barrier times out late
  await first;
  assert.equal(s.current.id, 'c3');
  assert.equal(s.current.closed, false, 'the session the second renewal made stays open');
  assert.equal(announced, 1, 'listeners ran once, for c3');
  assert.ok(!s.log.includes('start c4'), s.log.join(', '));
});

test('a renewal whose barrier fails on its own session closes that session and starts again', async () => {
  const s = new ScriptedSession();
  let announced = 0;
  s.onSession(() => announced++);
  await s.begin(); // c1
  const renewing = s.renewNow(); // c2
  await turn();
  s.barrier('c2').reject(new Error('connection-loss'));
  await new Promise((r) => setTimeout(r, 150)); // the first retry waits 100 ms
  s.barrier('c3').resolve();
  await renewing;
  assert.deepEqual(s.log, ['start c1', 'start c2', 'barrier on c2', 'close c2', 'start c3', 'barrier on c3']);
  assert.equal(announced, 1);
});

/**
 * A ZooKeeper session a test can expire: ends the session the way an expiry does -- the session is
 * closed on the server, which deletes its ephemeral nodes and forgets its watches, and the object then
 * goes through exactly what an `expired` event starts: a new session, then every `onSession`
 * listener. (Making the server expire a live session from outside, by a second client joining and
 * closing it, races this client's own reconnection and proved flaky under load.) Given to a store
 * through its `openZk` option.
 */
import { ZkSession, type ZkSessionOptions } from '../../src/state/zk.js';

export class ExpiringZkSession extends ZkSession {
  static override async open(connect: string, opts: ZkSessionOptions = {}): Promise<ExpiringZkSession> {
    const s = new ExpiringZkSession(connect, opts);
    await s.start();
    return s;
  }

  async expire(): Promise<void> {
    const old = this.client;
    this.generation++; // the old client's events no longer count
    old.close();
    await this.renew();
  }
}

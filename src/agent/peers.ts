/**
 * The channel between agents: each agent receives on one ZeroMQ PULL socket (its `peers.listen`
 * endpoint) and sends to each peer through a PUSH socket connected to the peer's advertised endpoint.
 * Every connection is encrypted and authenticated with CURVE: an agent's public key is published with
 * its liveness record in the store, and a connection from a key no live agent published is refused in
 * the handshake (ZAP) and counted. Messages (peer-codec.ts) are fire-and-forget: what must survive a
 * lost message also goes to the store.
 *
 * Invariants: sending never blocks the caller: messages wait in a bounded outbox per peer (full:
 * dropped and counted) and go out batched as the frames of one ZeroMQ message, one send in flight per
 * socket, runs of flow-state or learned messages coalesced into one frame (order kept); a message that does not decode is dropped and counted, never handed on; closing the channel
 * closes every socket it opened.
 */
import type { Logger } from '../log.js';
import { Pull, Push, Router } from 'zeromq';
import { decodePeerMessage, encodePeerMessage, type PeerMessage } from './peer-codec.js';
import { z85Decode, type CurveKeys } from './peer-keys.js';
import { retryInterrupted } from '../control/zmq-interrupted.js';

/** A peer as the store publishes it. */
export interface PeerInfo {
  readonly hostId: string;
  /** ZeroMQ endpoint, e.g. tcp://198.51.100.2:9470. */
  readonly endpoint: string;
  /** Z85 CURVE public key. */
  readonly key: string;
}

export interface PeerStats {
  sent: number;
  received: number;
  /** Messages that did not decode. */
  malformed: number;
  /** Connections refused because their key belongs to no known agent. */
  refusedKeys: number;
  /** Messages dropped because a peer's outbox was full or the peer is unknown. */
  dropped: number;
}

const OUTBOX_LIMIT = 10000;
const BATCH = 256;

/**
 * The process's ZAP handler (one per ZeroMQ context, at the well-known inproc address): it answers
 * CURVE handshakes for every channel in the process, each by its own domain and key check.
 */
class ZapAuthenticator {
  private sock: Router | undefined;
  private readonly domains = new Map<string, (key: Buffer) => Promise<boolean>>();

  async register(domain: string, allowed: (key: Buffer) => Promise<boolean>): Promise<void> {
    this.domains.set(domain, allowed);
    if (this.sock !== undefined) return;
    this.sock = retryInterrupted(() => new Router({ linger: 0 }));
    await this.sock.bind('inproc://zeromq.zap.01');
    void this.serve(this.sock);
  }

  unregister(domain: string): void {
    this.domains.delete(domain);
    if (this.domains.size === 0 && this.sock !== undefined) {
      this.sock.close();
      this.sock = undefined;
    }
  }

  private async serve(sock: Router): Promise<void> {
    try {
      for await (const frames of sock) {
        // [routing id, empty, version, request id, domain, address, identity, mechanism, credentials...]
        const [route, , version, requestId, domain, , , mechanism, key] = frames;
        const check = this.domains.get(String(domain));
        const ok =
          check !== undefined &&
          String(mechanism) === 'CURVE' &&
          key !== undefined &&
          key.length === 32 &&
          (await check(key));
        await sock.send([
          route!,
          Buffer.alloc(0),
          version ?? Buffer.from('1.0'),
          requestId ?? Buffer.alloc(0),
          Buffer.from(ok ? '200' : '400'),
          Buffer.from(ok ? 'OK' : 'unknown key'),
          Buffer.alloc(0),
          Buffer.alloc(0),
        ]);
      }
    } catch {
      /* closed */
    }
  }
}

const zap = new ZapAuthenticator();

interface Peer {
  readonly info: PeerInfo;
  readonly sock: Push;
  outbox: PeerMessage[];
  sending: boolean;
  /** Since when sends to it fail (0: they do not); see setPeers. */
  failingSince: number;
}

/** A socket whose sends fail this long is made again (a refused handshake is never retried by ZeroMQ). */
const REMAKE_AFTER_MS = 2000;

/** Most entries one coalesced message carries (the codec's limit). */
const MAX_COALESCED = 1000;

/**
 * The frames for a run of messages: consecutive flowState (and learned) messages are merged into one
 * message of up to MAX_COALESCED entries, so a burst of new connections costs a few frames, not one
 * each (the CURVE box and the decode are per frame).
 */
export function coalesce(msgs: readonly PeerMessage[]): PeerMessage[] {
  const out: PeerMessage[] = [];
  for (const m of msgs) {
    const last = out.at(-1);
    if (last?.kind === 'flowState' && m.kind === 'flowState' && last.from === m.from) {
      if (last.nat.length + last.ct.length + m.nat.length + m.ct.length <= MAX_COALESCED) {
        out[out.length - 1] = { ...last, nat: [...last.nat, ...m.nat], ct: [...last.ct, ...m.ct] };
        continue;
      }
    } else if (last?.kind === 'learned' && m.kind === 'learned' && last.from === m.from) {
      if (last.entries.length + m.entries.length <= MAX_COALESCED) {
        out[out.length - 1] = { ...last, entries: [...last.entries, ...m.entries] };
        continue;
      }
    }
    out.push(m);
  }
  return out;
}

export class PeerChannel {
  readonly stats: PeerStats = { sent: 0, received: 0, malformed: 0, refusedKeys: 0, dropped: 0 };
  private pull: Pull | undefined;
  private readonly peers = new Map<string, Peer>();
  /** Raw 32-byte keys of the agents allowed to connect, as hex. */
  private allowed = new Set<string>();
  private lastRefresh = -Infinity;
  private closed = false;
  private readonly domain: string;

  constructor(
    private readonly hostId: string,
    private readonly keys: CurveKeys,
    private readonly onMessage: (msg: PeerMessage) => void,
    private readonly log: Logger,
    /**
     * Reads the agents' published keys again (the store's liveness) and calls setPeers: a peer that
     * started after this agent's last look connects before this agent has seen its key.
     */
    private readonly refreshPeers: () => Promise<void> = () => Promise.resolve(),
  ) {
    this.domain = `midonet-peers:${hostId}`;
  }

  /** Binds the receiving socket. */
  async listen(endpoint: string): Promise<void> {
    await zap.register(this.domain, async (key) => {
      const hex = key.toString('hex');
      if (this.allowed.has(hex)) return true;
      // An unknown key: look again, at most once a second (unknown keys cannot make the agent
      // hammer the store), before refusing.
      const now = Date.now();
      if (now - this.lastRefresh >= 1000) {
        this.lastRefresh = now;
        await this.refreshPeers().catch(() => undefined);
      }
      const ok = this.allowed.has(hex);
      if (!ok) this.stats.refusedKeys++;
      return ok;
    });
    const pull = retryInterrupted(
      () =>
        new Pull({
          curveServer: true,
          curvePublicKey: this.keys.publicKey,
          curveSecretKey: this.keys.secretKey,
          zapDomain: this.domain,
          receiveHighWaterMark: 100000,
          linger: 0,
        }),
    );
    await pull.bind(endpoint);
    this.pull = pull;
    void this.receive(pull);
  }

  /** This agent's public key (what peers must know to let it in). */
  get publicKey(): string {
    return this.keys.publicKey;
  }

  /** The endpoint actually bound (a tcp port 0 resolves to the chosen port). */
  get endpoint(): string | null {
    return this.pull?.lastEndpoint ?? null;
  }

  private async receive(pull: Pull): Promise<void> {
    try {
      for await (const frames of pull) {
        for (const f of frames) {
          const r = decodePeerMessage(f);
          if (!r.ok) {
            this.stats.malformed++;
            this.log.debug({ err: r.error }, 'peer message dropped');
            continue;
          }
          this.stats.received++;
          try {
            this.onMessage(r.msg);
          } catch (e) {
            this.log.error({ err: (e as Error).message }, 'peer message handling failed');
          }
        }
      }
    } catch (e) {
      if (!this.closed) this.log.error({ err: (e as Error).message }, 'peer channel stopped receiving');
    }
  }

  /**
   * Sets the agents this one talks to (every live agent but itself, from the store): connects to new
   * ones, disconnects from gone ones, and allows exactly their keys in.
   */
  setPeers(peers: readonly PeerInfo[]): void {
    const next = new Map<string, PeerInfo>();
    const allowed = new Set<string>();
    for (const p of peers) {
      if (p.hostId === this.hostId) continue;
      const raw = z85Decode(p.key);
      if (raw === undefined || raw.length !== 32) continue;
      next.set(p.hostId, p);
      allowed.add(raw.toString('hex'));
    }
    this.allowed = allowed;
    for (const [id, peer] of this.peers) {
      const n = next.get(id);
      const stuck = peer.failingSince > 0 && Date.now() - peer.failingSince > REMAKE_AFTER_MS;
      if (n === undefined || n.endpoint !== peer.info.endpoint || n.key !== peer.info.key || stuck) {
        peer.sock.close();
        this.peers.delete(id);
      }
    }
    for (const [id, info] of next) {
      if (this.peers.has(id) || this.closed) continue;
      const sock = retryInterrupted(
        () =>
          new Push({
            curveServerKey: info.key,
            curvePublicKey: this.keys.publicKey,
            curveSecretKey: this.keys.secretKey,
            sendHighWaterMark: 10000,
            sendTimeout: 0,
            linger: 0,
          }),
      );
      retryInterrupted(() => sock.connect(info.endpoint));
      this.peers.set(id, { info, sock, outbox: [], sending: false, failingSince: 0 });
    }
  }

  /** Peers known now. */
  get peerIds(): string[] {
    return [...this.peers.keys()];
  }

  /** Queues a message for one peer; false when it is unknown or its outbox is full. */
  send(hostId: string, msg: PeerMessage): boolean {
    const p = this.peers.get(hostId);
    if (p === undefined) {
      this.stats.dropped++;
      return false;
    }
    return this.queue(p, msg);
  }

  /** Queues a message for every peer. */
  broadcast(msg: PeerMessage): void {
    for (const p of this.peers.values()) this.queue(p, msg);
  }

  private queue(p: Peer, msg: PeerMessage): boolean {
    if (p.outbox.length >= OUTBOX_LIMIT) {
      this.stats.dropped++;
      return false;
    }
    p.outbox.push(msg);
    if (!p.sending) void this.drain(p);
    return true;
  }

  private async drain(p: Peer): Promise<void> {
    p.sending = true;
    try {
      while (p.outbox.length > 0 && !this.closed && this.peers.get(p.info.hostId) === p) {
        const batch = p.outbox.length <= BATCH ? p.outbox : p.outbox.slice(0, BATCH);
        p.outbox = p.outbox.length <= BATCH ? [] : p.outbox.slice(BATCH);
        try {
          await p.sock.send(coalesce(batch).map(encodePeerMessage));
          this.stats.sent += batch.length;
          p.failingSince = 0;
        } catch {
          // Not connected yet, or its queue is full: these messages are lost (the store has the state).
          this.stats.dropped += batch.length;
          if (p.failingSince === 0) p.failingSince = Date.now();
        }
      }
    } finally {
      p.sending = false;
    }
  }

  close(): void {
    this.closed = true;
    for (const p of this.peers.values()) p.sock.close();
    this.peers.clear();
    this.pull?.close();
    zap.unregister(this.domain);
  }
}

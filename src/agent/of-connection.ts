/**
 * One OpenFlow 1.3 connection to Open vSwitch on a stream socket: version negotiation, the FEATURES
 * handshake, transaction ids, request/response matching (barrier, multipart with the MORE flag, echo),
 * and events for what the switch sends unasked (packet-in, flow-removed, port-status, errors).
 *
 * The connection stamps transaction ids: callers build messages without one (`Outgoing`). PACKET_INs
 * take a fast path (openflow/packet-in.ts) and are delivered as views, not decoded objects;
 * `sendAll` encodes a list of messages into one reused buffer and one socket write, so a FLOW_MOD and its
 * PACKET_OUT leave together and nothing waits for a later tick.
 *
 * Invariants: nothing the switch sends can throw out of this class: undecodable frames are answered
 * with an OpenFlow ERROR and reported as an 'ofError' event; a framing error closes the connection.
 * Pending requests fail with an error naming the request when the connection closes. Messages reach
 * the socket in the order they were handed in, and `beforeWrite` runs before every message is
 * stamped and written, so what a caller holds back to write later (the packet-ins' answers gathered
 * over a turn, packet-in-answer.ts) goes out before anything handed in after it.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import {
  OFPBRC,
  OFPET,
  OFPG,
  OFPMPF_MORE,
  OFPP,
  MULTIPART_REPLY_CODE,
  OpenFlowFramer,
  PACKET_IN_CODE,
  decodeMessage,
  multipartFlags,
  scanFlowCounts,
  EncodedBatches,
  helloOffersOpenFlow13,
  readPacketIn,
  type AsyncConfig,
  type FlowStats,
  type Message,
  type Outgoing,
  type PacketInView,
  type Port,
} from '../openflow/index.js';

type Msg<T extends Message['type']> = Extract<Message, { type: T }>;

/** FLOW stats request for the flows of table 0 whose cookie agrees with `cookie` under `cookieMask`. */
function flowStatsRequest(cookie: bigint, cookieMask: bigint): Outgoing {
  return {
    type: 'multipart_request',
    flags: 0,
    body: { type: 'flow', tableId: 0, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie, cookieMask, match: [] },
  };
}

interface Pending {
  readonly what: string;
  readonly resolve: (m: Message[]) => void;
  readonly reject: (e: Error) => void;
  readonly parts: Message[];
  readonly timer: NodeJS.Timeout;
  /** Reads each part of a multipart reply from its bytes instead (flowCounts); a string: a bad part. */
  readonly raw?: (frame: Buffer) => string | undefined;
}

export interface OpenFlowConnectionEvents {
  /** A PACKET_IN (a view of the frame) and when its bytes arrived (performance.now()). */
  packetIn: [PacketInView, number];
  flowRemoved: [Msg<'flow_removed'>];
  portStatus: [Msg<'port_status'>];
  /** An ERROR the switch sent that no pending request claimed (e.g. a refused FLOW_MOD). */
  ofError: [string];
  close: [];
}

export class OpenFlowConnection extends EventEmitter<OpenFlowConnectionEvents> {
  private readonly framer = new OpenFlowFramer({ raw: new Set([PACKET_IN_CODE, MULTIPART_REPLY_CODE]) });
  private nextXid = 1;
  private readonly pending = new Map<number, Pending>();
  private peerHello: Msg<'hello'> | undefined;
  private helloWaiter: ((m: Msg<'hello'>) => void) | undefined;
  closed = false;
  /** Messages sent since connect. */
  sent = 0;
  private readonly xids: number[] = [];
  /** Outgoing bytes: one reused buffer, a view of it per write (messages.ts). */
  private readonly batches = new EncodedBatches();
  /**
   * Called before each message or batch handed in is stamped and written: the owner of messages held
   * back writes them here (with `sendAll`; writes made from inside it do not call it again).
   */
  beforeWrite: (() => void) | undefined;
  private inBeforeWrite = false;

  constructor(
    private readonly socket: Socket,
    private readonly log: Logger,
    private readonly requestTimeoutMs = 10000,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.onClose());
    socket.on('error', (e) => log.warn({ err: e.message }, 'openflow socket error'));
  }

  xid(): number {
    const x = this.nextXid;
    this.nextXid = this.nextXid >= 0x7fffffff ? 1 : this.nextXid + 1;
    return x;
  }

  /** Sends one message (stamped with a fresh xid unless it has one); returns its xid. */
  send(msg: Outgoing): number {
    this.before();
    const xid = msg.xid ?? this.xid();
    this.write([msg], [xid]);
    return xid;
  }

  /** Sends messages in order, encoded into one buffer and written at once. */
  sendAll(msgs: readonly Outgoing[]): void {
    if (msgs.length === 0) return;
    this.before();
    // One xid array for every write (encodeMessages reads it only during the call).
    const xids = this.xids;
    xids.length = msgs.length;
    for (let i = 0; i < msgs.length; i++) xids[i] = msgs[i]!.xid ?? this.xid();
    this.write(msgs, xids);
  }

  private before(): void {
    const f = this.beforeWrite;
    if (f === undefined || this.inBeforeWrite) return;
    this.inBeforeWrite = true;
    try {
      f();
    } finally {
      this.inBeforeWrite = false;
    }
  }

  private write(msgs: readonly Outgoing[], xids: readonly number[]): void {
    if (this.closed) return;
    this.sent += msgs.length;
    this.socket.write(this.batches.encode(msgs, xids));
    // Nothing left queued: the socket wrote the bytes at once and holds no view of the buffer.
    if (this.socket.writableLength === 0) this.batches.released();
  }

  /**
   * Which asynchronous messages this controller gets (as master/equal; nothing as slave): the agent
   * asks for packet-ins on table miss, action and invalid TTL (a flow's dec_nw_ttl expiring a packet),
   * every port status, every flow removal.
   */
  setAsync(packetIn: number, portStatus: number, flowRemoved: number): void {
    const cfg: AsyncConfig = {
      packetInMaster: packetIn,
      packetInSlave: 0,
      portStatusMaster: portStatus,
      portStatusSlave: portStatus,
      flowRemovedMaster: flowRemoved,
      flowRemovedSlave: 0,
    };
    this.send({ type: 'set_async', ...cfg });
  }

  /**
   * Sends a request and resolves with its reply (all parts of a multipart reply); with `raw`, each
   * part of a multipart reply is handed to it as bytes instead and the promise resolves with none.
   */
  request(
    msg: Outgoing,
    what: string = msg.type,
    raw?: (frame: Buffer) => string | undefined,
  ): Promise<Message[]> {
    if (this.closed) return Promise.reject(new Error(`openflow ${what}: connection closed`));
    this.before();
    const xid = msg.xid ?? this.xid();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(xid);
        reject(new Error(`openflow ${what}: no reply in ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      this.pending.set(xid, {
        what,
        resolve,
        reject,
        parts: [],
        timer,
        ...(raw === undefined ? {} : { raw }),
      });
      this.write([msg], [xid]);
    });
  }

  async barrier(): Promise<void> {
    await this.request({ type: 'barrier_request' }, 'barrier');
  }

  /** HELLO exchange (OpenFlow 1.3 required) and FEATURES; returns the datapath id. */
  async handshake(): Promise<bigint> {
    const hello = new Promise<Msg<'hello'>>((resolve) => {
      if (this.peerHello) resolve(this.peerHello);
      else this.helloWaiter = resolve;
    });
    this.send({
      type: 'hello',
      version: 4,
      elements: [{ type: 'versionbitmap', bitmaps: [1 << 4] }],
    });
    const peer = await Promise.race([
      hello,
      new Promise<never>((_, rej) =>
        setTimeout(() => rej(new Error('openflow: no HELLO from the switch in 10 s')), 10000),
      ),
    ]);
    if (!helloOffersOpenFlow13(peer)) {
      this.send({
        type: 'error',
        xid: peer.xid,
        errType: OFPET.HELLO_FAILED,
        code: 0,
        data: Buffer.from('OpenFlow 1.3 required'),
      });
      throw new Error(
        `openflow: the switch does not offer OpenFlow 1.3 (its HELLO version is ${peer.version})`,
      );
    }
    const [features] = await this.request({ type: 'features_request' }, 'features');
    if (features?.type !== 'features_reply')
      throw new Error('openflow: unexpected reply to FEATURES_REQUEST');
    return features.datapathId;
  }

  async portDescriptions(): Promise<Port[]> {
    const parts = await this.request(
      { type: 'multipart_request', flags: 0, body: { type: 'port_desc' } },
      'port_desc',
    );
    const ports: Port[] = [];
    for (const p of parts)
      if (p.type === 'multipart_reply' && p.body.type === 'port_desc') ports.push(...p.body.ports);
    return ports;
  }

  /** The flows of table 0 whose cookie agrees with `cookie` under `cookieMask`. */
  async flowStats(cookie: bigint, cookieMask: bigint): Promise<FlowStats[]> {
    const parts = await this.request(flowStatsRequest(cookie, cookieMask), 'flow stats');
    const flows: FlowStats[] = [];
    for (const p of parts)
      if (p.type === 'multipart_reply' && p.body.type === 'flow') flows.push(...p.body.flows);
    return flows;
  }

  /**
   * Each flow of table 0 whose cookie agrees with `cookie` under `cookieMask`, as its cookie and
   * packet count (read from the reply's bytes: flow-counts.ts); resolves when the last part is in.
   */
  async flowCounts(
    cookie: bigint,
    cookieMask: bigint,
    each: (cookie: number, packets: number) => void,
  ): Promise<void> {
    await this.request(flowStatsRequest(cookie, cookieMask), 'flow counts', (frame) =>
      scanFlowCounts(frame, each),
    );
  }

  close(): void {
    if (!this.closed) this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const arrived = performance.now();
    for (const ev of this.framer.push(chunk)) {
      switch (ev.kind) {
        case 'message':
          this.dispatch(ev.msg);
          break;
        case 'raw': {
          if (ev.code === MULTIPART_REPLY_CODE) {
            this.multipartReply(ev.bytes);
            break;
          }
          const pi = readPacketIn(ev.bytes);
          if (typeof pi === 'string') {
            this.emit('ofError', `undecodable packet_in from the switch: ${pi}`);
            break;
          }
          this.emit('packetIn', pi, arrived);
          break;
        }
        case 'bad_message':
          this.badMessage(ev.error, ev.xid, ev.bytes);
          break;
        case 'framing_error':
          this.log.error({ err: ev.error }, 'openflow framing error; closing the connection');
          this.close();
          return;
      }
    }
  }

  private badMessage(error: string, xid: number, bytes: Buffer): void {
    this.emit('ofError', `undecodable message from the switch: ${error}`);
    this.send({
      type: 'error',
      xid,
      errType: OFPET.BAD_REQUEST,
      code: OFPBRC.BAD_LEN,
      data: bytes.subarray(0, 64),
    });
  }

  /** A MULTIPART_REPLY frame: to its request's raw reader when it has one, else decoded as any. */
  private multipartReply(bytes: Buffer): void {
    const xid = bytes.readUInt32BE(4);
    const p = this.pending.get(xid);
    if (p?.raw === undefined) {
      const r = decodeMessage(bytes);
      if (r.ok) this.dispatch(r.msg);
      else this.badMessage(r.error, xid, bytes);
      return;
    }
    const bad = p.raw(bytes);
    if (bad !== undefined) {
      this.finish(xid);
      p.reject(new Error(`openflow ${p.what}: ${bad}`));
    } else if (bytes.length < 12 || (multipartFlags(bytes) & OFPMPF_MORE) === 0) {
      this.finish(xid);
      p.resolve([]);
    }
  }

  private dispatch(msg: Message): void {
    switch (msg.type) {
      case 'hello':
        this.peerHello = msg;
        this.helloWaiter?.(msg);
        return;
      case 'echo_request':
        this.send({ type: 'echo_reply', xid: msg.xid, data: msg.data });
        return;
      case 'flow_removed':
        this.emit('flowRemoved', msg);
        return;
      case 'port_status':
        this.emit('portStatus', msg);
        return;
      case 'error':
      case 'experimenter_error': {
        const p = this.pending.get(msg.xid);
        const text =
          msg.type === 'error'
            ? `switch error type ${msg.errType} code ${msg.code} (xid ${msg.xid})`
            : `switch experimenter error ${msg.expType} (xid ${msg.xid})`;
        if (p) {
          this.finish(msg.xid);
          p.reject(new Error(`openflow ${p.what}: ${text}`));
        } else {
          this.emit('ofError', text);
        }
        return;
      }
      default: {
        const p = this.pending.get(msg.xid);
        if (!p) return;
        p.parts.push(msg);
        if (msg.type === 'multipart_reply' && (msg.flags & OFPMPF_MORE) !== 0) return;
        this.finish(msg.xid);
        p.resolve(p.parts);
      }
    }
  }

  private finish(xid: number): void {
    const p = this.pending.get(xid);
    if (p) clearTimeout(p.timer);
    this.pending.delete(xid);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [xid, p] of this.pending) {
      this.finish(xid);
      p.reject(new Error(`openflow ${p.what}: connection closed`));
    }
    this.emit('close');
  }
}

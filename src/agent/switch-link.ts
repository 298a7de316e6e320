/**
 * The agent's side of its Open vSwitch: the OpenFlow socket OVS connects to, each (re)connection's
 * handshake and reconciliation, and the bindings of local interfaces (ports on br-int, proactive
 * delivery and tunnel flows).
 *
 * Invariants:
 * - The socket (in OVS's run directory, the only place OVS accepts a unix controller) listens before
 *   br-int is pointed at it, and is mode 0600.
 * - On every (re)connection the reactive flows of the earlier connection or run are judged
 *   (flow-adoption.ts): those still right are kept, the others deleted, and all proactive flows are
 *   replaced in one bundle; packet-ins are taken only after that, so no stale flow survives and
 *   tunnel delivery has no gap.
 * - At most one connection is current; messages sent while there is none are dropped (the switch
 *   re-asks on its next miss).
 * - Every write on a connection first writes the packet-ins' answers held back (`beforeWrite`), so
 *   the switch gets messages in the order the agent made them.
 * - Binding syncs run one at a time, in order, and a sync asked for while one runs is not lost.
 * - The idle expiry of reactive flows (idle-expiry.ts) reads and deletes on the current connection
 *   only, from listen to close.
 */
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../log.js';
import { OFPCML, type Outgoing, type PacketInView } from '../openflow/index.js';
import { bgpSteeringFlows } from './bgp-steering.js';
import type { FlowController } from './controller.js';
import type { Datapath } from './datapath.js';
import { adoptFlows } from './flow-adoption.js';
import { IdleExpiry } from './idle-expiry.js';
import type { FlowHistory } from './flow-history.js';
import { PROACTIVE_COOKIE_BIT } from './flow-table.js';
import { desiredMeters } from './qos.js';
import { OpenFlowConnection } from './of-connection.js';

export interface SwitchLinkDeps {
  /** Where OVS connects (a unix socket in its run directory). */
  socket: string;
  ctl: () => FlowController;
  datapath: () => Datapath;
  /** The priority reactive flows are installed at (what an earlier run's flows are judged with). */
  priority: () => number;
  history: FlowHistory;
  /** Resolves when the store's learned state has come in (flows are judged on it). */
  learnedSettled: () => Promise<void>;
  /** The first judging is done: learned state of an earlier run no longer counts as this run's. */
  onJudged: () => void;
  onPacketIn: (pi: PacketInView, arrived: number) => void;
  /** Writes what was held back to write later (packet-ins' answers): called before every other write. */
  beforeWrite?: () => void;
  log: Logger;
}

export class SwitchLink {
  private server: Server | undefined;
  private current: OpenFlowConnection | undefined;
  private bindingsDirty = false;
  private syncing: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly expiry: IdleExpiry;

  constructor(private readonly deps: SwitchLinkDeps) {
    this.expiry = new IdleExpiry({
      conn: () => this.current,
      ctl: deps.ctl,
      send: (msgs) => this.send(msgs),
      log: deps.log.child({ component: 'agent.idle-expiry' }),
    });
  }

  /** The current connection (undefined while OVS is not connected). */
  get conn(): OpenFlowConnection | undefined {
    return this.current;
  }

  get connected(): boolean {
    return this.current !== undefined && !this.current.closed;
  }

  /** Sends messages in order on the current connection, in one write. */
  send(msgs: readonly Outgoing[]): void {
    this.current?.sendAll(msgs);
  }

  listen(): Promise<void> {
    const path = this.deps.socket;
    rmSync(path, { force: true });
    this.server = createServer((s) => void this.onSwitch(s));
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(path, () => {
        chmodSync(path, 0o600);
        this.expiry.start();
        resolve();
      });
    });
  }

  close(): void {
    this.stopped = true;
    this.expiry.stop();
    this.current?.close();
    this.server?.close();
    rmSync(this.deps.socket, { force: true });
  }

  /** The idle timeout changed (a reload): the next sweep comes within the new one's period. */
  idleTimeoutChanged(): void {
    this.expiry.retime();
  }

  /** Local bindings changed (a port moved to or from this host): bind, then resync proactive flows. */
  bindingsChanged(): void {
    this.bindingsDirty = true;
    void this.bindInterfaces().then(() => this.scheduleBindingSync());
  }

  /** Adds every locally bound interface to br-int with its iface-id (idempotent). */
  async bindInterfaces(): Promise<void> {
    const ctl = this.deps.ctl();
    for (const [iface, p] of ctl.ports.localBindings()) {
      try {
        await this.deps.datapath().bindInterface(iface, p.id);
      } catch (e) {
        this.deps.log.warn(
          { err: (e as Error).message, iface, port: p.name },
          'cannot add bound interface to the bridge',
        );
      }
    }
  }

  private scheduleBindingSync(): void {
    this.bindingsDirty = true;
    this.syncing = this.syncing.then(() => (this.bindingsDirty ? this.syncBindings(false) : undefined));
  }

  private async syncBindings(replaceAll: boolean): Promise<void> {
    this.bindingsDirty = false;
    const ctl = this.deps.ctl();
    const { deliveries, moved } = ctl.ports.refreshBindings();
    this.send(ctl.invalidate(moved));
    try {
      // BGP speaker steering: extra proactive lines (bgp-steering.ts).
      const steering = bgpSteeringFlows(ctl.topology, ctl.cfg.hostId, ctl.ports.ifaceOfport);
      await this.deps
        .datapath()
        .syncProactive([...ctl.ports.tunnelOfports.values()], deliveries, replaceAll, steering);
    } catch (e) {
      this.deps.log.error({ err: (e as Error).message }, 'proactive flow sync failed');
    }
    await this.syncMeters(replaceAll);
  }

  /** Port rate limits (qos.ts): the local ports' meters, then their flows redone where one changed. */
  private async syncMeters(replaceAll: boolean): Promise<void> {
    const ctl = this.deps.ctl();
    const dp = this.deps.datapath();
    const { meters, unmetered } = desiredMeters(ctl.ports.localBindings().values());
    if (unmetered.length > 0)
      this.deps.log.error(
        { ports: unmetered },
        'tunnel key above the highest meter id: port not rate limited',
      );
    try {
      const tags = await ctl.meters.sync((a) => dp.ovs.ofctl(a), dp.opts.bridge, meters, replaceAll);
      this.send(ctl.invalidate(tags));
    } catch (e) {
      this.deps.log.error({ err: (e as Error).message }, 'port meter sync failed');
    }
  }

  private async onSwitch(socket: Socket): Promise<void> {
    const log = this.deps.log;
    const ctl = this.deps.ctl();
    const conn = new OpenFlowConnection(socket, log);
    conn.beforeWrite = this.deps.beforeWrite;
    // Port changes may arrive at any time from here on; none may be missed.
    const ifaces = ctl.ports.ifaceOfport;
    conn.on('portStatus', (ps) => {
      if (ps.reason === 'delete') ifaces.delete(ps.port.name);
      else ifaces.set(ps.port.name, ps.port.portNo);
      if (this.current === conn) this.scheduleBindingSync();
    });
    conn.on('ofError', (e) => log.warn({ err: e }, 'switch reported an error'));
    conn.on('close', () => {
      if (this.current === conn) this.current = undefined;
      if (!this.stopped) log.warn('switch disconnected');
    });
    try {
      const dpid = await conn.handshake();
      this.current?.close();
      ifaces.clear();
      // Packet-ins on miss, action and invalid TTL (dec_nw_ttl expiring a packet: the agent answers
      // ICMP time exceeded); every port status; every flow removal.
      conn.setAsync(0b111, 0b111, 0b1111);
      conn.send({ type: 'set_config', flags: 0, missSendLen: OFPCML.NO_BUFFER });
      const ports = await conn.portDescriptions();
      for (const p of ports) ifaces.set(p.name, p.portNo);
      // Reconcile: the reactive flows of an earlier run that are still right are kept, the others
      // deleted (flow-adoption.ts), judged on the state learned so far; all proactive flows are replaced.
      this.deps.history.reset('the switch (re)connected: flows of the earlier run judged again'); // [ops]
      ctl.forgetFlows();
      ctl.ports.refreshBindings(); // which OpenFlow port is which virtual port, for the judging
      await this.deps.learnedSettled();
      const found = await conn.flowStats(0n, PROACTIVE_COOKIE_BIT);
      const judged = adoptFlows(ctl, found, this.deps.priority(), Date.now());
      ctl.stats.flowsDiscarded += judged.dropped;
      conn.sendAll(judged.out);
      this.deps.onJudged();
      log.info(
        { kept: judged.kept, deleted: judged.dropped, firstDeleted: judged.why },
        'flows of an earlier run judged',
      );
      this.current = conn;
      conn.on('packetIn', this.deps.onPacketIn);
      conn.on('flowRemoved', (fr) => {
        this.deps.history.fromSwitch(fr); // [ops]
        ctl.flowRemoved(Number(fr.cookie));
      });
      await conn.barrier();
      await this.syncBindings(true);
      log.info({ datapathId: `0x${dpid.toString(16)}`, ports: ports.length }, 'switch connected');
    } catch (e) {
      log.error({ err: (e as Error).message }, 'switch handshake failed');
      conn.close();
    }
  }
}

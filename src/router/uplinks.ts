/**
 * Leadership per uplink: for every router port bound to this host that has BGP peers, midonet-router
 * campaigns for the port (election `bgp-uplink/<port id>`, one leader per port across processes); the
 * leader runs the port's Speaker (namespace + FRR over vtysh), applies configuration changes to it as
 * differences, and every poll reads FRR's peer state and learned routes and imports them.
 *
 * Invariants:
 * - Every method here runs as a step of the daemon's one queue (election events are enqueued on it),
 *   so a speaker is never created, updated and destroyed concurrently.
 * - Learned routes are written only while leading the port, and equal FRR's valid paths from
 *   Established peers: a session that drops withdraws its routes.
 * - A failure on one port is recorded for that port and logged; the other ports are served on.
 */
import type { Logger } from '../log.js';
import type { Ovs } from '../ovs/ovs.js';
import type { TopologyStore } from '../state/store.js';
import type { RouterConfig } from './config.js';
import { desiredSpeakers, type Problem } from './desired.js';
import { guard, newPortService, type PortService } from './port-service.js';
import type { Replica } from './replica.js';
import { RouteImport } from './route-import.js';
import { Speaker } from './speaker.js';

export interface UplinkDeps {
  /** The store, once the daemon has opened it. */
  readonly store: () => TopologyStore;
  /** This host's id, once the daemon has found it. */
  readonly hostId: () => string;
  /** This process's name in the elections. */
  readonly candidate: string;
  readonly replica: Replica;
  readonly cfg: RouterConfig;
  readonly ovs: Ovs;
  readonly log: Logger;
  /** Runs a step on the daemon's queue. */
  readonly enqueue: (what: string, step: () => Promise<void>) => Promise<void>;
}

export class Uplinks {
  readonly ports = new Map<string, PortService>();
  problems: Problem[] = [];
  private readonly routes: RouteImport;

  constructor(private readonly d: UplinkDeps) {
    this.routes = new RouteImport(d.store, d.replica, d.cfg, d.log);
  }

  /** Brings the ports served (elections, speakers) in line with the replica. */
  async reconcile(): Promise<void> {
    const { speakers, problems } = desiredSpeakers(this.d.replica, this.d.hostId());
    const key = (p: Problem) => `${p.object}: ${p.message}`;
    const known = new Set(this.problems.map(key));
    for (const p of problems) if (!known.has(key(p))) this.d.log.error({ object: p.object }, p.message);
    this.problems = problems;
    const want = new Map(speakers.map((s) => [s.portId, s]));
    for (const [portId, svc] of this.ports) {
      if (want.has(portId)) continue;
      this.ports.delete(portId);
      await svc.campaign?.resign();
      if (svc.leading) await this.retire(svc, true);
    }
    for (const spec of speakers) {
      const svc = this.ports.get(spec.portId);
      if (svc === undefined) {
        const s = newPortService(spec);
        this.ports.set(spec.portId, s);
        s.campaign = await this.d
          .store()
          .campaign(`bgp-uplink/${spec.portId}`, `${this.d.hostId()}/${this.d.candidate}`, {
            onElected: () => void this.d.enqueue('elected', () => this.elected(s)),
            onDeposed: () => void this.d.enqueue('deposed', () => this.deposed(s)),
          });
        continue;
      }
      const changed = JSON.stringify(svc.spec) !== JSON.stringify(spec);
      svc.spec = spec;
      if (changed && svc.leading && svc.speaker) {
        if (
          svc.speaker.spec.tunnelKey !== spec.tunnelKey ||
          svc.speaker.spec.address !== spec.address ||
          svc.speaker.spec.mac !== spec.mac
        ) {
          await this.retire(svc, false);
          await this.elected(svc);
        } else {
          await guard(svc, this.d.log, () => svc.speaker!.update(spec));
        }
      }
    }
  }

  private async elected(svc: PortService): Promise<void> {
    if (this.ports.get(svc.spec.portId) !== svc) return;
    svc.leading = true;
    this.d.log.info({ port: svc.spec.portName }, 'leading the port: creating its BGP speaker');
    const sp = new Speaker(svc.spec, {
      namespacePrefix: this.d.cfg.namespacePrefix,
      hostNetns: this.d.cfg.hostNetns,
      ovs: this.d.ovs,
      bridge: this.d.cfg.ovs.bridge,
      log: this.d.log.child({ component: 'router.speaker' }),
    });
    svc.speaker = sp;
    await guard(svc, this.d.log, () => sp.create());
  }

  private async deposed(svc: PortService): Promise<void> {
    this.d.log.warn({ port: svc.spec.portName }, 'no longer leading the port: stopping its speaker');
    await this.retire(svc, false);
  }

  /** Stops the speaker; with `withdraw`, removes the port's learned routes too. */
  private async retire(svc: PortService, withdraw: boolean): Promise<void> {
    svc.leading = false;
    const sp = svc.speaker;
    svc.speaker = undefined;
    svc.states = new Map();
    if (sp)
      await sp.destroy().catch((e: Error) => this.d.log.warn({ err: e.message }, 'speaker clean-up failed'));
    if (withdraw) await this.routes.write(svc, new Map());
  }

  /** For every port led: re-creates a dead FRR, reads peer state and imports the learned routes. */
  async poll(): Promise<void> {
    for (const svc of this.ports.values()) {
      if (!svc.leading || !svc.speaker) continue;
      const sp = svc.speaker;
      try {
        if (!sp.frr.running()) {
          this.d.log.warn({ port: svc.spec.portName }, 'FRR is not running: re-creating the speaker');
          await guard(svc, this.d.log, () => sp.create());
        }
        svc.states = await sp.peerStates();
        svc.lastPollAt = Date.now();
        const up = svc.spec.peers
          .filter((p) => svc.states.get(p.address)?.established === true)
          .map((p) => p.address);
        const learned = await sp.learned(up);
        await this.routes.write(svc, learned);
      } catch (e) {
        svc.error = (e as Error).message;
        this.d.log.error({ port: svc.spec.portName, err: svc.error }, 'poll failed');
      }
    }
  }

  /** Reads FRR's peer state now for the ports led (no route import). */
  async refreshStates(): Promise<void> {
    for (const svc of this.ports.values()) {
      if (!svc.leading || !svc.speaker) continue;
      try {
        svc.states = await svc.speaker.peerStates();
        svc.lastPollAt = Date.now();
      } catch (e) {
        svc.error = (e as Error).message;
      }
    }
  }

  /** Withdraws and stops every speaker led, then leaves every election. */
  async stopAll(): Promise<void> {
    for (const svc of this.ports.values()) {
      // Withdraw while still leading, then leave: a standby never sees its routes deleted by us.
      if (svc.leading) await this.retire(svc, true).catch(() => undefined);
      await svc.campaign?.resign().catch(() => undefined);
    }
    this.ports.clear();
  }
}

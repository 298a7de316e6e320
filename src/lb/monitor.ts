/**
 * midonet-lb-health's daemon: health monitoring of load balancer pool members. For every load
 * balancer in the store it campaigns for leadership (`lb-health/<id>`, the store's election, as
 * midonet-router does per uplink), so one process checks a balancer's members however many run, and
 * a standby takes over when the leader dies (its lease runs out). The leader checks every member of
 * every pool with a health monitor, each `interval` seconds, through a checker process (checker.ts)
 * running where the checks are made from, and writes a member's `status` into the store after
 * `retries` results in a row that disagree with it; agents then invalidate exactly the flows of the
 * connections that chose the member (the member's tag).
 *
 * Where checks are made from (`CheckSource`): by default a namespace attached to the balancer's
 * router through a port of its own (health-port.ts), made when this process is elected and removed
 * when it is deposed, so a check takes the path a client's connection takes; or one given namespace
 * for every balancer (`--netns`; null: this process's own), for a host without an agent.
 *
 * Why own checks rather than HAProxy: MidoNet ran one HAProxy per pool only to probe members, and
 * parsed its stats socket to learn their state. Here a check is a TCP connect or one HTTP GET, the
 * state machine (retries in a row) is a few lines, and the result goes straight into the store; an
 * HAProxy per pool would be a configuration renderer, a process supervisor and a stats parser, for
 * the same checks.
 *
 * The objects are a replica kept by the store's change feed (a snapshot, then `watch` from its
 * position; a watch that fails is replaced by a fresh snapshot and watch a second later): a change is
 * seen as soon as it commits, and an idle deployment costs the store nothing. A local timer only
 * starts the checks that are due.
 *
 * Invariant: only a leader writes member status, only on a change, only for the balancers it leads,
 * and only with the version it read (a write racing another is refused, not merged). Checks never
 * overlap for one member.
 */
import { formatEndpoint } from '../addr.js';
import type { Logger } from '../log.js';
import { followChanges } from '../state/follow.js';
import type { Kind, Obj } from '../state/model.js';
import type { Campaign, Change, Snapshot, TopologyStore, Watch } from '../state/store.js';
import { CheckerProcess } from './checker-process.js';
import { attachHealthPort, deleteHealthPort, removeNamespace, type HealthPortEnv } from './health-port.js';

/** Where the checks are made from. */
export type CheckSource =
  | { readonly kind: 'router-port'; readonly env: HealthPortEnv }
  | { readonly kind: 'netns'; readonly netns: string | null };

export interface MonitorOptions {
  /** This process's candidate name in the elections (unique per process). */
  readonly candidate: string;
  readonly source: CheckSource;
  /** How often due checks are looked for, in memory (ms). */
  readonly tickMs?: number;
}

interface MemberState {
  /** Results in a row that disagree with the stored status. */
  streak: number;
  nextAt: number;
  inFlight: boolean;
}

/** Counts for metrics and tests. */
export interface MonitorCounts {
  checks: number;
  passed: number;
  transitions: number;
  /** Transitions written per member name (metrics). */
  readonly byMember: Map<string, { up: number; down: number }>;
  /** The same per member id (published in the liveness record, liveness.ts). */
  readonly byMemberId: Map<string, { up: number; down: number }>;
}

const KINDS = ['load-balancer', 'pool', 'health-monitor', 'pool-member'] as const;
type LbKind = (typeof KINDS)[number];

/** The load balancer objects, kept in step with the change feed. */
class LbReplica {
  readonly objs = new Map<LbKind, Map<string, Obj>>(KINDS.map((k) => [k, new Map()]));

  load(s: Snapshot): void {
    for (const m of this.objs.values()) m.clear();
    for (const o of s.objects) this.objs.get(o.kind as LbKind)?.set(o.object.id, o.object);
  }

  /** True when a load balancer came or went. */
  apply(cs: readonly Change[]): boolean {
    let lbs = false;
    for (const c of cs) {
      const m = this.objs.get(c.kind as LbKind);
      if (m === undefined) continue;
      if (c.op === 'delete') m.delete(c.id);
      else m.set(c.id, c.object);
      if (c.kind === 'load-balancer' && c.op !== 'update') lbs = true;
    }
    return lbs;
  }

  all<K extends LbKind>(kind: K): Obj<K>[] {
    return [...this.objs.get(kind)!.values()] as Obj<K>[];
  }

  get<K extends LbKind & Kind>(kind: K, id: string): Obj<K> | undefined {
    return this.objs.get(kind)!.get(id) as Obj<K> | undefined;
  }
}

/** One balancer this process campaigns for. */
interface Led {
  readonly lb: Obj<'load-balancer'>;
  readonly campaign: Campaign;
  /** Set while leading and the checker is up. */
  checker: CheckerProcess | undefined;
  leading: boolean;
}

export class HealthMonitor {
  private readonly replica = new LbReplica();
  private readonly balancers = new Map<string, Led>();
  private readonly members = new Map<string, MemberState>();
  /** The one checker of a 'netns' source. */
  private shared: CheckerProcess | undefined;
  private watch: Watch | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Elections and namespace work, one step at a time. */
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  readonly counts: MonitorCounts = {
    checks: 0,
    passed: 0,
    transitions: 0,
    byMember: new Map(),
    byMemberId: new Map(),
  };

  constructor(
    private readonly store: TopologyStore,
    private readonly opts: MonitorOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    if (this.opts.source.kind === 'netns') this.shared = new CheckerProcess(this.opts.source.netns, this.log);
    await this.follow();
    await this.queue;
    this.timer = setInterval(() => this.tick(), this.opts.tickMs ?? 250);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.watch?.close();
    await this.queue;
    for (const led of this.balancers.values()) {
      await led.campaign.resign().catch(() => undefined);
      await this.release(led);
    }
    this.balancers.clear();
    await this.shared?.stop();
  }

  /** Balancers this process leads now (with its checker running). */
  leads(): string[] {
    return [...this.balancers.values()].filter((l) => l.checker !== undefined).map((l) => l.lb.id);
  }

  private enqueue(what: string, fn: () => Promise<void>): void {
    this.queue = this.queue.then(fn).catch((e: Error) => this.log.warn({ err: e.message }, `${what} failed`));
  }

  /**
   * Snapshot, then the change feed from its position; a failed watch takes the whole state again a
   * second later (follow.ts), while the checks go on from the last state seen.
   */
  private async follow(): Promise<void> {
    const take = (snap: Snapshot): void => {
      this.replica.load(snap);
      this.enqueue('elections', () => this.campaignAll());
    };
    const snap = await this.store.snapshot();
    take(snap);
    this.watch = followChanges(
      this.store,
      snap.position,
      {
        onChanges: (cs) => {
          if (this.replica.apply(cs)) this.enqueue('elections', () => this.campaignAll());
        },
        onResync: take,
      },
      { log: this.log },
    );
  }

  /** Campaigns for every balancer in the replica; resigns from (and cleans up after) the ones gone. */
  private async campaignAll(): Promise<void> {
    if (this.stopped) return;
    const lbs = this.replica.all('load-balancer');
    const ids = new Set(lbs.map((l) => l.id));
    for (const [id, led] of this.balancers)
      if (!ids.has(id)) {
        this.balancers.delete(id);
        await led.campaign.resign().catch(() => undefined);
        const wasLeading = led.leading;
        await this.release(led);
        if (wasLeading && this.opts.source.kind === 'router-port') await deleteHealthPort(this.store, id);
      }
    for (const lb of lbs) {
      if (this.balancers.has(lb.id)) continue;
      const holder: { led?: Led } = {};
      const campaign = await this.store.campaign(`lb-health/${lb.id}`, this.opts.candidate, {
        onElected: () => this.enqueue('taking the lead', () => this.lead(holder.led!)),
        onDeposed: () => this.enqueue('giving up the lead', () => this.release(holder.led!)),
      });
      holder.led = { lb, campaign, checker: undefined, leading: false };
      this.balancers.set(lb.id, holder.led);
    }
  }

  /** Elected: make the place the checks are made from, then start checking. */
  private async lead(led: Led): Promise<void> {
    if (this.stopped || this.balancers.get(led.lb.id) !== led || !led.campaign.leading) return;
    led.leading = true;
    const src = this.opts.source;
    if (src.kind === 'netns') led.checker = this.shared;
    else {
      const lb = this.replica.get('load-balancer', led.lb.id) ?? led.lb;
      let ns: string;
      try {
        ns = await attachHealthPort(this.store, lb, src.env);
      } catch (e) {
        this.log.warn({ loadBalancer: lb.name, err: (e as Error).message }, 'cannot make the health port');
        setTimeout(() => this.enqueue('taking the lead', () => this.lead(led)), 2000);
        return;
      }
      led.checker = new CheckerProcess(ns, this.log);
    }
    this.log.info({ loadBalancer: led.lb.name }, 'leading the health checks');
  }

  /** Deposed or stopping: stop checking and remove this host's namespace. */
  private async release(led: Led): Promise<void> {
    const had = led.leading;
    led.leading = false;
    const checker = led.checker;
    led.checker = undefined;
    if (this.opts.source.kind === 'router-port') {
      await checker?.stop();
      if (had) await removeNamespace(this.opts.source.env, led.lb.id);
    }
    if (had) this.log.info({ loadBalancer: led.lb.name }, 'no longer leading the health checks');
  }

  /** Starts the checks that are due (in memory; no store reads). */
  private tick(): void {
    if (this.stopped) return;
    const now = Date.now();
    const seen = new Set<string>();
    const pools = new Map(this.replica.all('pool').map((p) => [p.id, p]));
    for (const hm of this.replica.all('health-monitor')) {
      if (!hm.adminStateUp) continue;
      const pool = pools.get(hm.poolId);
      const checker = pool && this.balancers.get(pool.loadBalancerId)?.checker;
      if (pool === undefined || checker === undefined) continue;
      for (const m of this.replica.all('pool-member')) {
        if (m.poolId !== pool.id) continue;
        seen.add(m.id);
        let st = this.members.get(m.id);
        if (st === undefined) this.members.set(m.id, (st = { streak: 0, nextAt: now, inFlight: false }));
        if (st.inFlight || now < st.nextAt) continue;
        st.inFlight = true;
        st.nextAt = now + hm.interval * 1000;
        void this.checkMember(checker, m, hm, st);
      }
    }
    for (const id of this.members.keys()) if (!seen.has(id)) this.members.delete(id);
  }

  private async checkMember(
    checker: CheckerProcess,
    m: Obj<'pool-member'>,
    hm: Obj<'health-monitor'>,
    st: MemberState,
  ): Promise<void> {
    const r = await checker.check({
      type: hm.type,
      address: m.address,
      port: m.port,
      timeoutMs: hm.timeout * 1000,
      path: hm.httpPath,
      expectedStatus: hm.expectedStatus,
    });
    this.counts.checks++;
    if (r.ok) this.counts.passed++;
    try {
      const cur = this.replica.get('pool-member', m.id);
      if (cur === undefined) return;
      const healthy = cur.status === 'up';
      if (r.ok === healthy) {
        st.streak = 0;
        return;
      }
      st.streak++;
      if (st.streak < hm.retries) return;
      st.streak = 0;
      const pool = this.replica.get('pool', cur.poolId);
      if (pool === undefined || this.balancers.get(pool.loadBalancerId)?.checker !== checker) return;
      const status = r.ok ? 'up' : 'down';
      await this.store.update('pool-member', cur.id, { status }, { expectedVersion: cur.version });
      this.counts.transitions++;
      for (const [map, key] of [
        [this.counts.byMember, cur.name],
        [this.counts.byMemberId, cur.id],
      ] as const) {
        let t = map.get(key);
        if (t === undefined) map.set(key, (t = { up: 0, down: 0 }));
        t[status]++;
      }
      this.log.info(
        { member: cur.name, address: formatEndpoint(cur.address, cur.port), status, detail: r.detail },
        'member status',
      );
    } catch (e) {
      this.log.warn({ member: m.name, err: (e as Error).message }, 'could not record a check');
    } finally {
      st.inFlight = false;
    }
  }
}

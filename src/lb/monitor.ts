/**
 * midonet-lb-health's daemon: health monitoring of load balancer pool members. For every load
 * balancer in the store it campaigns for leadership (`lb-health/<id>`, the store's election, as
 * midonet-router does per uplink), so one process checks a balancer's members however many run, and
 * a standby takes over when the leader dies (its lease runs out). The leader checks every member of
 * every pool with a health monitor, each `interval` seconds, through a checker process (checker.ts)
 * running in the namespace the checks are made from, and writes a member's `status` into the store
 * after `retries` results in a row that disagree with it; agents then invalidate exactly the flows of
 * the connections that chose the member (the member's tag).
 *
 * Why own checks rather than HAProxy: MidoNet ran one HAProxy per pool only to probe members, and
 * parsed its stats socket to learn their state. Here a check is a TCP connect or one HTTP GET, the
 * state machine (retries in a row) is a few lines, and the result goes straight into the store; an
 * HAProxy per pool would be a configuration renderer, a process supervisor and a stats parser, for
 * the same checks.
 *
 * Invariant: only a leader writes member status, only on a change, and only for the balancers it
 * leads; the replica of the objects is re-read from the store every second (polling: a change takes
 * at most a second to be seen). Checks never overlap for one member.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import type { Obj } from '../state/model.js';
import type { Campaign, TopologyStore } from '../state/store.js';
import type { Check, CheckResult } from './checker.js';

const CHECKER = fileURLToPath(new URL('./checker.js', import.meta.url));

export interface MonitorOptions {
  /** This process's candidate name in the elections (unique per process). */
  readonly candidate: string;
  /** Network namespace the checks are made from; null: this process's own. */
  readonly netns: string | null;
  /** How often the objects are re-read from the store (ms). */
  readonly pollMs?: number;
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
  /** Transitions written per member name. */
  readonly byMember: Map<string, { up: number; down: number }>;
}

export class HealthMonitor {
  private readonly campaigns = new Map<string, Campaign>();
  private readonly leading = new Set<string>();
  private readonly members = new Map<string, MemberState>();
  private checker: ChildProcess | undefined;
  private readonly waiting = new Map<string, (r: CheckResult) => void>();
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private stopped = false;
  readonly counts: MonitorCounts = { checks: 0, passed: 0, transitions: 0, byMember: new Map() };

  constructor(
    private readonly store: TopologyStore,
    private readonly opts: MonitorOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.startChecker();
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.opts.pollMs ?? 1000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const c of this.campaigns.values()) await c.resign().catch(() => undefined);
    this.campaigns.clear();
    this.checker?.stdin?.end();
    this.checker?.kill();
  }

  /** Balancers this process leads now. */
  leads(): string[] {
    return [...this.leading];
  }

  private startChecker(): void {
    const argv = [process.execPath, CHECKER];
    const child =
      this.opts.netns === null
        ? spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] })
        : spawn('ip', ['netns', 'exec', this.opts.netns, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const r = JSON.parse(line) as CheckResult;
        this.waiting.get(r.id)?.(r);
        this.waiting.delete(r.id);
      } catch {
        // not a result line
      }
    });
    child.once('exit', (code) => {
      for (const [id, done] of this.waiting) done({ id, ok: false, detail: 'checker exited' });
      this.waiting.clear();
      if (this.stopped) return;
      this.log.warn({ code }, 'health checker exited; starting it again');
      setTimeout(() => this.startChecker(), 500);
    });
    this.checker = child;
  }

  private check(c: Omit<Check, 'id'>): Promise<CheckResult> {
    const id = String(++this.seq);
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.checker?.stdin?.write(`${JSON.stringify({ ...c, id })}\n`);
    });
  }

  /** One round: follow the balancers (elections), then start the checks that are due. */
  private async tick(): Promise<void> {
    if (this.stopped) return;
    let lbs: Obj<'load-balancer'>[];
    let pools: Obj<'pool'>[];
    let monitors: Obj<'health-monitor'>[];
    let members: Obj<'pool-member'>[];
    try {
      [lbs, pools, monitors, members] = await Promise.all([
        this.store.list('load-balancer'),
        this.store.list('pool'),
        this.store.list('health-monitor'),
        this.store.list('pool-member'),
      ]);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'store unavailable; checks paused');
      return;
    }
    await this.follow(lbs);
    const now = Date.now();
    const seen = new Set<string>();
    for (const hm of monitors) {
      if (!hm.adminStateUp) continue;
      const pool = pools.find((p) => p.id === hm.poolId);
      if (pool === undefined || !this.leading.has(pool.loadBalancerId)) continue;
      for (const m of members) {
        if (m.poolId !== pool.id) continue;
        seen.add(m.id);
        let st = this.members.get(m.id);
        if (st === undefined) this.members.set(m.id, (st = { streak: 0, nextAt: now, inFlight: false }));
        if (st.inFlight || now < st.nextAt) continue;
        st.inFlight = true;
        st.nextAt = now + hm.interval * 1000;
        void this.checkMember(m, hm, st);
      }
    }
    for (const id of this.members.keys()) if (!seen.has(id)) this.members.delete(id);
  }

  private async checkMember(
    m: Obj<'pool-member'>,
    hm: Obj<'health-monitor'>,
    st: MemberState,
  ): Promise<void> {
    const r = await this.check({
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
      const cur = await this.store.get('pool-member', m.id);
      if (cur === undefined) return;
      const healthy = cur.status === 'up';
      if (r.ok === healthy) {
        st.streak = 0;
        return;
      }
      st.streak++;
      if (st.streak < hm.retries) return;
      st.streak = 0;
      const pool = await this.store.get('pool', cur.poolId);
      if (pool === undefined || !this.leading.has(pool.loadBalancerId)) return;
      const status = r.ok ? 'up' : 'down';
      await this.store.update('pool-member', cur.id, { status }, { expectedVersion: cur.version });
      this.counts.transitions++;
      let t = this.counts.byMember.get(cur.name);
      if (t === undefined) this.counts.byMember.set(cur.name, (t = { up: 0, down: 0 }));
      t[status]++;
      this.log.info(
        { member: cur.name, address: `${cur.address}:${cur.port}`, status, detail: r.detail },
        'member status',
      );
    } catch (e) {
      this.log.warn({ member: m.name, err: (e as Error).message }, 'could not record a check');
    } finally {
      st.inFlight = false;
    }
  }

  /** Campaigns for every balancer in the store; resigns from the ones gone. */
  private async follow(lbs: readonly Obj<'load-balancer'>[]): Promise<void> {
    const ids = new Set(lbs.map((l) => l.id));
    for (const [id, c] of this.campaigns)
      if (!ids.has(id)) {
        await c.resign().catch(() => undefined);
        this.campaigns.delete(id);
        this.leading.delete(id);
      }
    for (const lb of lbs) {
      if (this.campaigns.has(lb.id)) continue;
      const c = await this.store.campaign(`lb-health/${lb.id}`, this.opts.candidate, {
        onElected: () => {
          this.leading.add(lb.id);
          this.log.info({ loadBalancer: lb.name }, 'leading the health checks');
        },
        onDeposed: () => {
          this.leading.delete(lb.id);
          this.log.info({ loadBalancer: lb.name }, 'no longer leading the health checks');
        },
      });
      this.campaigns.set(lb.id, c);
    }
  }
}

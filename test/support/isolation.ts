/**
 * Tenant isolation as a property: in a random two-tenant topology (random-tenants.ts `randomTenants`:
 * no router path between the tenants, but the same address plans and rules that name each other's
 * ports), no packet entering one tenant's port, whatever its headers, is delivered to a port of the
 * other tenant, and none makes a device of the other tenant learn anything (MAC, ARP, NAT bindings,
 * tracked connections).
 *
 * One case is one topology and a run of packets entering exterior ports of both tenants in turn:
 * packets over the tenants' own address universes (both tenants' MACs and IPs), packets whose every
 * header field is random bits, and fuzzed frames through the agent's packet-in match path
 * (fillFromFrame). Each is simulated as the agent does; what it delivers is every `output` action and,
 * followed the way the agent follows them, every packet it generates (`emit`: ARP replies, ICMP
 * errors, RSTs), simulated leaving the port that emits it. Effects are committed between packets, so
 * MAC learning and ARP entries build up as they would in an agent and later packets meet them.
 *
 * Invariant: a case is a function of its seed only, so a violation names a seed that reproduces it.
 */
import { fillFromFrame } from '../../src/agent/frame-match.js';
import { simulate, type Topology } from '../../src/sim/index.js';
import { FlowMatch, FULL, NUM_FIELDS } from '../../src/sim/flow-match.js';
import { buildFlowMatch } from '../../src/sim/packet-fields.js';
import type { Effect } from '../../src/sim/result.js';
import type { MemoryRuntimeState } from '../../src/sim/runtime-state.js';
import { frameMatchTarget } from './fuzz-targets.js';
import { randomTenants } from './random-tenants.js';
import { pick, randomPacket, seeded, type Rand, type RandomWorld } from './random-topology.js';

export interface IsolationResult {
  readonly packets: number;
  /** Packets the topology delivered somewhere (at least one output). */
  readonly delivered: number;
  /** Outputs checked, generated packets included. */
  readonly outputs: number;
  readonly violations: string[];
}

/** A world whose universes are both tenants' (for `randomPacket`). */
function withUniverses(own: RandomWorld, other: RandomWorld): RandomWorld {
  return { ...own, macs: [...own.macs, ...other.macs], ips: [...own.ips, ...other.ips] };
}

/** A match whose every field is random bits (or, half the time, a value from the universes). */
function anyHeaders(r: Rand, w: RandomWorld): FlowMatch {
  const m = new FlowMatch();
  const near = randomPacket(r, w).match.orig;
  for (let f = 0; f < NUM_FIELDS; f++)
    m.orig[f] = r() < 0.5 ? near[f]! : (Math.floor(r() * 0x100000000) & FULL[f]!) >>> 0;
  m.resetHeaders();
  return m;
}

interface Walk {
  readonly topo: Topology;
  readonly state: MemoryRuntimeState;
  readonly owner: ReadonlyMap<string, number>;
  readonly now: number;
  outputs: number;
  readonly violations: string[];
}

function checkEffects(w: Walk, t: number, effects: readonly Effect[], where: string): void {
  for (const e of effects) {
    const ids =
      e.kind === 'macLearned'
        ? [e.bridgeId, e.portId]
        : e.kind === 'arpWanted'
          ? [e.routerId, e.portId]
          : e.kind === 'arpLearned'
            ? [e.routerId]
            : e.kind === 'natCreated'
              ? [e.zone]
              : e.kind === 'conntrackForward'
                ? [e.key.split('|')[0]!]
                : [];
    for (const id of ids)
      if (w.owner.get(id) !== t)
        w.violations.push(`${where}: effect ${e.kind} touches ${id} of the other tenant`);
  }
}

/** Simulates `m` entering (or leaving, for generated packets) `port`; checks where it goes. */
function walk(
  w: Walk,
  t: number,
  m: FlowMatch,
  port: string,
  egress: boolean,
  where: string,
  depth: number,
): number {
  const res = simulate(w.topo, m, port, w.now, {
    state: w.state,
    ...(egress ? { direction: 'egress' as const } : {}),
  });
  if (res.kind !== 'done') {
    w.violations.push(`${where}: simulation needs ${res.need.join(', ')}`);
    return 0;
  }
  checkEffects(w, t, res.effects, where);
  let out = 0;
  for (const a of res.actions) {
    if (a.kind === 'output') {
      out++;
      w.outputs++;
      if (w.owner.get(a.portId) !== t)
        w.violations.push(`${where}: delivered to ${a.portId}, a port of the other tenant`);
    } else if (a.kind === 'emit') {
      if (w.owner.get(a.fromPortId) !== t)
        w.violations.push(`${where}: generated a packet from ${a.fromPortId}, a port of the other tenant`);
      if (depth >= 3) continue;
      const g = buildFlowMatch(a.packet);
      if (g.ok) out += walk(w, t, g.match, a.fromPortId, true, `${where} -> ${a.why}`, depth + 1);
    }
  }
  if (!egress) w.state.commit(res.effects, w.now);
  return out;
}

/**
 * One case: a random two-tenant topology and `packets` packets alternating between the tenants.
 * `leak` joins a bridge of each tenant with a pair of linked ports (a control: the property must then
 * find violations).
 */
export function isolationCase(seed: number, packets: number, opts: { leak?: boolean } = {}): IsolationResult {
  const { builder, state, tenants } = randomTenants(seed);
  const owner = new Map<string, number>();
  for (const [t, w] of tenants.entries())
    for (const id of [...w.ports, ...w.bridges, ...w.routers]) owner.set(id, t);
  if (opts.leak === true) {
    const a = builder.port(tenants[0].bridges[0]!, 'leak-a');
    const b = builder.port(tenants[1].bridges[0]!, 'leak-b');
    builder.link(a, b);
    owner.set(a, 0);
    owner.set(b, 1);
  }
  const topo = builder.build();
  const r = seeded(seed ^ 0x1f2e3d4c);
  const violations: string[] = [];
  let delivered = 0;
  let outputs = 0;
  const frame = new FlowMatch();
  for (let i = 0; i < packets; i++) {
    const t = i % 2;
    const own = tenants[t]!;
    const w = withUniverses(own, tenants[1 - t]!);
    const port = pick(r, own.exterior);
    const x = r();
    let m: FlowMatch;
    let what: string;
    if (x < 0.4) {
      m = randomPacket(r, w).match;
      what = `packet ${JSON.stringify(m.orig)}`;
    } else if (x < 0.7) {
      m = anyHeaders(r, w);
      what = `packet ${JSON.stringify(m.orig)}`;
    } else {
      const bytes = frameMatchTarget.input(r);
      if (fillFromFrame(frame, bytes, 0) !== null) continue;
      m = frame;
      what = `frame ${Buffer.from(bytes).toString('hex')}`;
    }
    const walker: Walk = { topo, state, owner, now: 1000 + i * 10, outputs: 0, violations };
    if (walk(walker, t, m, port, false, `seed ${seed}, ${what} into ${port}`, 0) > 0) delivered++;
    outputs += walker.outputs;
  }
  return { packets, delivered, outputs, violations };
}

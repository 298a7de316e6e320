/**
 * The agent's answers on its control socket (control-api.ts carries them): counters, the flows as
 * the agent and the switch hold them, connections and NAT bindings, traces of the next packets of a
 * port, a barrier, and "forget" (the evaluation's first contact).
 *
 * Invariant: read-only except `forget`; a request names one command of ALLOWED, and a bad command or
 * argument is an error that names it (escaped), never a crash of the agent.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { formatIpv4, formatIpv6 } from '../addr.js';
import { MAX_REQUEST_MS, MAX_TRACE_COUNT } from '../control/control-api.js';
import type { Match, Outgoing } from '../openflow/index.js';
import { quote } from '../quote.js';
import type { FlowController } from './controller.js';
import { PROACTIVE_COOKIE_BIT } from './flow-table.js';
import type { OpenFlowConnection } from './of-connection.js';
import type { FlowHistory } from './flow-history.js'; // [ops]
import { OPERATOR_COMMANDS, controlCommand, filterFlows, type FlowDumpEntry } from './control-commands.js'; // [ops]

export const AGENT_VERSION = '0.1.0';

const ALLOWED = ['stats', 'flows', 'trace', 'barrier', 'forget', 'conntrack', 'nat', 'held'] as const;

/** What the answers read from the running agent. */
export interface AgentView {
  readonly hostId: string;
  readonly ctl: FlowController;
  /** The switch connection, when connected. */
  readonly conn: OpenFlowConnection | undefined;
  /** The peer channel's endpoint (null: off), connected peers and counters. */
  readonly peers: () => Record<string, unknown>;
  send(msgs: readonly Outgoing[]): void;
  /** [ops] Why recent flows were removed (flow-history.ts); the operator commands read it. */
  readonly history?: FlowHistory;
}

export async function controlRequest(a: AgentView, req: Record<string, unknown>): Promise<unknown> {
  const ctl = a.ctl;
  switch (req.cmd) {
    case 'stats':
      return {
        hostId: a.hostId,
        agentVersion: AGENT_VERSION,
        portsBound: ctl.ports.boundPorts,
        peers: a.peers(),
        ...ctl.stats.snapshot(ctl.flows.size),
        memory: memoryBreakdown(),
      };
    case 'held': // what of the topology this agent holds (interest-keeper.ts), for people and tests
      return ctl.topology
        .objects()
        .map((o) => ({
          kind: o.kind,
          id: o.object.id,
          name: (o.object as { name?: string | null }).name ?? null,
        }))
        .sort((x, y) => x.kind.localeCompare(y.kind) || x.id.localeCompare(y.id));
    case 'flows': // [ops] filtered by port, device or tag, with actions (control-commands.ts)
      return filterFlows((await flowDump(ctl, a.conn)) as FlowDumpEntry[], req, ctl);
    case 'conntrack':
      return ctl.state.conntrack
        .entries(Date.now())
        .map((e) => ({ key: e.key, lastUsed: new Date(e.at).toISOString() }));
    case 'nat':
      return ctl.state.nat.entries(Date.now()).map((e) => ({
        key: e.key,
        to: e.ip6 === undefined ? `${formatIpv4(e.ip)}:${e.port}` : `[${formatIpv6(e.ip6)}]:${e.port}`,
        lastUsed: new Date(e.at).toISOString(),
      }));
    case 'forget': {
      // The evaluation's "first contact": this host forgets every MAC, ARP entry and flow it has.
      a.history?.reset('forgotten on request (control API forget)'); // [ops]
      a.send(ctl.forgetLearned());
      if (a.conn) await a.conn.barrier();
      return { forgotten: true };
    }
    case 'barrier': {
      // Every FLOW_MOD sent so far has been applied by the switch once this returns.
      if (!a.conn) throw new Error('barrier: not connected to the switch');
      await a.conn.barrier();
      return { flowsInstalled: ctl.stats.flowsInstalled };
    }
    case 'trace':
      return trace(ctl, req);
    default: // [ops] macs, arp, flow-history, simulate (control-commands.ts)
      if (a.history && (OPERATOR_COMMANDS as readonly unknown[]).includes(req.cmd))
        return controlCommand({ hostId: a.hostId, controller: ctl, history: a.history }, req);
      throw new Error(
        `unknown command ${quote(String(req.cmd))}; allowed: ${[...ALLOWED, ...OPERATOR_COMMANDS].join(', ')}`,
      );
  }
}

/**
 * A trace request's `count` (an integer of 1 to MAX_TRACE_COUNT, default 1) and `timeoutMs` (an
 * integer of 1 to the control socket's MAX_REQUEST_MS, default 10 s); throws an Error naming the
 * field, its value (escaped) and what is allowed.
 */
export function traceArgs(req: Record<string, unknown>): { count: number; timeoutMs: number } {
  const int = (field: 'count' | 'timeoutMs', max: number, dflt: number): number => {
    const v = req[field];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max)
      throw new Error(`trace: ${field} ${quote(v)} is not allowed: an integer of 1 to ${max}`);
    return v;
  };
  return { count: int('count', MAX_TRACE_COUNT, 1), timeoutMs: int('timeoutMs', MAX_REQUEST_MS, 10000) };
}

/** Traces the next `count` packets entering `port`, waiting at most `timeoutMs` (traceArgs). */
function trace(ctl: FlowController, req: Record<string, unknown>): Promise<unknown> {
  const port = typeof req.port === 'string' ? req.port : '';
  if (!ctl.topology.get('port', port)) throw new Error(`trace: no port with id ${quote(port)}`);
  const { count, timeoutMs } = traceArgs(req);
  return new Promise((resolve) => {
    const results = ctl.traces.next(port, count, () => {
      clearTimeout(timer);
      resolve({ traces: results, complete: true });
    });
    const timer = setTimeout(() => {
      ctl.traces.cancel(port);
      resolve({ traces: results, complete: false });
    }, timeoutMs);
  });
}

/** An OpenFlow match as one line, `field=value[/mask]` (for flow dumps). */
export function matchText(match: Match): string {
  return match
    .map((f) => {
      if (f.field === 'raw') return 'raw';
      const v = typeof f.value === 'bigint' ? `0x${f.value.toString(16)}` : String(f.value);
      const m =
        'mask' in f && f.mask !== undefined
          ? `/${typeof f.mask === 'bigint' ? `0x${f.mask.toString(16)}` : String(f.mask)}`
          : '';
      return `${f.field}=${v}${m}`;
    })
    .join(',');
}

/** The reactive flows as the agent knows them (tags, what they match) and the switch holds them. */
async function flowDump(ctl: FlowController, conn: OpenFlowConnection | undefined): Promise<unknown[]> {
  const inSwitch = new Map<number, { packets: bigint; match: unknown; instructions: unknown }>();
  if (conn) {
    const parts = await conn.request({
      type: 'multipart_request',
      flags: 0,
      body: {
        type: 'flow',
        tableId: 0xff,
        outPort: 0xffffffff,
        outGroup: 0xffffffff,
        cookie: 0n,
        cookieMask: PROACTIVE_COOKIE_BIT,
        match: [],
      },
    });
    for (const p of parts)
      if (p.type === 'multipart_reply' && p.body.type === 'flow')
        for (const f of p.body.flows)
          inSwitch.set(Number(f.cookie), {
            packets: f.packetCount,
            match: f.match,
            instructions: f.instructions,
          });
  }
  const name = (id: string) => ctl.topology.port(id)?.name ?? id;
  return [...ctl.flows.all()].map((f) => {
    const s = inSwitch.get(f.cookie);
    return {
      cookie: `0x${f.cookie.toString(16)}`,
      inPort: name(f.inPort),
      match: s ? matchText(s.match as Match) : null,
      tags: f.tags,
      packets: Number(s?.packets ?? 0n),
      inSwitch: s !== undefined,
      openflow: s ? { match: s.match, instructions: s.instructions } : null,
      installedAt: new Date(f.installedAt).toISOString(),
    };
  });
}

/**
 * [ops] The agent's memory in MB: resident set, V8 heap (used, total), off-heap buffers, and each V8
 * heap space's resident part (new_space is the young generation: garbage of the last burst).
 */
function memoryBreakdown(): Record<string, number> {
  const m = process.memoryUsage();
  const mb = (b: number) => Math.round(b / 10485.76) / 100;
  const out: Record<string, number> = {
    rss: mb(m.rss),
    heapUsed: mb(m.heapUsed),
    heapTotal: mb(m.heapTotal),
    external: mb(m.external),
    arrayBuffers: mb(m.arrayBuffers),
  };
  for (const s of getHeapSpaceStatistics()) out[s.space_name] = mb(s.physical_space_size);
  return out;
}

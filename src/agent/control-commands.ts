/**
 * The agent's control-API commands for operators (`midonet-cli agent ...`), apart from the daemon so
 * the daemon's own switch stays small: it hands every command it does not know to `controlCommand`.
 *
 *   {"cmd": "macs", "port"?: ID, "bridge"?: ID}         the MAC tables (bridge, VLAN, MAC, port, age)
 *   {"cmd": "arp", "router"?: ID}                       the ARP caches (router, address, MAC or failed, age)
 *   {"cmd": "flow-history", "port"?: ID, "cookie"?: N|"0x..", "limit"?: N}   why recent flows went
 *   {"cmd": "simulate", "port": ID, "packet": {...}}    a made-up packet simulated against this agent's
 *                                                       live topology, MAC, ARP and conntrack tables;
 *                                                       nothing is sent, learned or installed
 * and `filterFlows`, which the daemon's `flows` command applies to its dump ({"port"?, "device"?, "tag"?}).
 *
 * Invariant: every command only reads; a malformed request throws an Error naming the field, the
 * value and what is allowed (the control API turns it into {"ok": false, "error": ...}).
 */
import type { Action, Instruction } from '../openflow/index.js';
import { formatMacNumber } from '../sim/flow-match.js';
import { buildFlowMatch, type PacketFields } from '../sim/packet-fields.js';
import { simulate } from '../sim/simulate.js';
import { objectNamer, portNamer, renderTrace, traceJson } from '../sim/trace.js';
import { formatIpv4 } from '../addr.js';
import type { FlowController } from './controller.js';
import type { FlowHistory } from './flow-history.js';

/** What the commands read from the running agent. */
export interface AgentControlView {
  readonly hostId: string;
  readonly controller: FlowController;
  readonly history: FlowHistory;
}

export const NAT_NOTE =
  'bindings are made by dnat/snat rules and kept while flows use them; empty while no NAT rule has matched on this host';
export const CONNTRACK_NOTE =
  'connections are tracked for rules with a conntrack condition; entries live while flows use them, then expire';

export const OPERATOR_COMMANDS = ['macs', 'arp', 'flow-history', 'simulate'] as const;

function show(v: unknown): string {
  const s = typeof v === 'string' ? `'${v}'` : JSON.stringify(v);
  return s === undefined ? '(missing)' : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function optId(req: Record<string, unknown>, field: string): string | undefined {
  const v = req[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 64)
    throw new Error(`${String(req.cmd)}: field '${field}': ${show(v)} is not allowed; expected an object id`);
  return v;
}

function optInt(req: Record<string, unknown>, field: string, max: number): number | undefined {
  const v = req[field];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v) ? Number.parseInt(v.slice(2), 16) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max)
    throw new Error(
      `${String(req.cmd)}: field '${field}': ${show(v)} is not allowed; expected a whole number from 0 to ${max}`,
    );
  return n;
}

/** Runs an operator command; throws for a command it does not know, listing the ones it does. */
export function controlCommand(
  view: AgentControlView,
  req: Record<string, unknown>,
  now = Date.now(),
): unknown {
  const ctl = view.controller;
  const topo = ctl.topology;
  const nameOf = (kind: 'port' | 'bridge' | 'router', id: string): string | null => {
    const o = topo.get(kind, id);
    return o ? o.name : null;
  };
  switch (req.cmd) {
    case 'macs': {
      const port = optId(req, 'port');
      const bridge = optId(req, 'bridge');
      const entries = [...ctl.state.macs.list(now)]
        .filter(
          (e) => (port === undefined || e.portId === port) && (bridge === undefined || e.bridgeId === bridge),
        )
        .map((e) => ({
          bridge: e.bridgeId,
          bridgeName: nameOf('bridge', e.bridgeId),
          vlan: e.vlan,
          mac: formatMacNumber(e.mac),
          port: e.portId,
          portName: nameOf('port', e.portId),
          ageMs: e.ageMs,
        }));
      return { hostId: view.hostId, entries };
    }
    case 'arp': {
      const router = optId(req, 'router');
      const entries = [...ctl.state.arp.list(now)]
        .filter((e) => router === undefined || e.routerId === router)
        .map((e) => ({
          router: e.routerId,
          routerName: nameOf('router', e.routerId),
          ip: formatIpv4(e.ip),
          mac: e.entry.state === 'resolved' ? formatMacNumber(e.entry.mac) : null,
          state: e.entry.state,
          ageMs: e.ageMs,
        }));
      return { hostId: view.hostId, entries };
    }
    case 'flow-history': {
      const port = optId(req, 'port');
      const cookie = optInt(req, 'cookie', Number.MAX_SAFE_INTEGER);
      const limit = optInt(req, 'limit', view.history.capacity);
      const entries = view.history.list({
        ...(port !== undefined ? { port } : {}),
        ...(cookie !== undefined ? { cookie } : {}),
        ...(limit !== undefined ? { limit } : {}),
      });
      return {
        hostId: view.hostId,
        capacity: view.history.capacity,
        kept: view.history.size,
        entries: entries.map((e) => ({ ...e, inPortName: nameOf('port', e.inPort) })),
      };
    }
    case 'simulate':
      return simulateHere(view, req, now);
    default:
      throw new Error(
        `unknown command ${show(req.cmd)}; allowed: stats, flows, trace, barrier, forget, conntrack, nat, ${OPERATOR_COMMANDS.join(', ')}`,
      );
  }
}

const PACKET_STRINGS = ['srcMac', 'dstMac', 'srcIp', 'dstIp'] as const;
const PACKET_NUMBERS = [
  'vlan',
  'ethertype',
  'tos',
  'ttl',
  'srcPort',
  'dstPort',
  'tcpWindow',
  'icmpType',
  'icmpCode',
  'arpOp',
] as const;

/** The packet of a simulate request, keeping only known fields of the right types. */
export function packetOfRequest(raw: unknown): PacketFields {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new Error(
      `simulate: field 'packet': ${show(raw)} is not allowed; expected an object of header fields`,
    );
  const p = raw as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of PACKET_STRINGS) {
    if (p[k] === undefined) continue;
    if (typeof p[k] !== 'string')
      throw new Error(`simulate: packet.${k}: ${show(p[k])} is not allowed; expected text`);
    out[k] = p[k];
  }
  for (const k of PACKET_NUMBERS) {
    if (p[k] === undefined) continue;
    if (typeof p[k] !== 'number' || !Number.isInteger(p[k]))
      throw new Error(`simulate: packet.${k}: ${show(p[k])} is not allowed; expected a whole number`);
    out[k] = p[k];
  }
  if (p.proto !== undefined) {
    if (!(p.proto === 'tcp' || p.proto === 'udp' || p.proto === 'icmp' || typeof p.proto === 'number'))
      throw new Error(
        `simulate: packet.proto: ${show(p.proto)} is not allowed; expected tcp, udp, icmp or a number`,
      );
    out.proto = p.proto;
  }
  if (p.tcpFlags !== undefined) {
    const f = p.tcpFlags;
    if (!(typeof f === 'number' || (Array.isArray(f) && f.every((x) => typeof x === 'string'))))
      throw new Error(
        `simulate: packet.tcpFlags: ${show(f)} is not allowed; expected flag names or a number`,
      );
    out.tcpFlags = f;
  }
  return out;
}

/** Simulates a made-up packet against this agent's live tables; commits nothing, sends nothing. */
function simulateHere(view: AgentControlView, req: Record<string, unknown>, now: number): unknown {
  const port = optId(req, 'port');
  if (port === undefined) throw new Error("simulate: field 'port' is required (the ingress port's id)");
  const topo = view.controller.topology;
  if (topo.port(port) === undefined)
    throw new Error(`simulate: no port with id ${show(port)} in this agent's topology`);
  const built = buildFlowMatch(packetOfRequest(req.packet));
  if (!built.ok) throw new Error(`simulate: ${built.error}`);
  const res = simulate(topo, built.match, port, now, { state: view.controller.state, trace: true });
  if (res.kind === 'notYet')
    throw new Error(`simulate: objects not loaded on this agent: ${res.need.join(', ')}`);
  const ports = portNamer(topo);
  const objects = objectNamer(topo);
  return { hostId: view.hostId, text: renderTrace(res, ports, objects), trace: traceJson(res, ports) };
}

/**
 * A conntrack key (`ZONE|proto/src:sport>dst:dport`) or NAT key (`ZONE/KIND/proto/src:sport>dst:dport`,
 * IPv4 addresses as numbers, IPv6 ones as text in brackets) as fields; an unknown shape keeps only `key`.
 */
export function parseFlowKey(key: string): {
  key: string;
  zone: string;
  kind: string | null;
  proto: number;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
} {
  const m =
    /^(.*?)(?:\||\/(d|s|rd|rs)\/)(\d+)\/(\d+|\[[0-9a-f:.]+\]):(\d+)>(\d+|\[[0-9a-f:.]+\]):(\d+)$/.exec(key);
  if (m === null) return { key, zone: '', kind: null, proto: 0, src: '?', srcPort: 0, dst: '?', dstPort: 0 };
  const addr = (a: string) => (a.startsWith('[') ? a.slice(1, -1) : formatIpv4(Number(a)));
  return {
    key,
    zone: m[1]!,
    kind: m[2] ?? null,
    proto: Number(m[3]),
    src: addr(m[4]!),
    srcPort: Number(m[5]),
    dst: addr(m[6]!),
    dstPort: Number(m[7]),
  };
}

/** One reactive flow as the daemon's `flows` command dumps it. */
export interface FlowDumpEntry {
  readonly cookie: string;
  readonly inPort: string;
  readonly tags: readonly string[];
  readonly openflow: { readonly match: unknown; readonly instructions: unknown } | null;
  readonly [k: string]: unknown;
}

/**
 * The flows of a dump that match the request's filters (all given must hold): `port` (id) the flow
 * enters there or depends on it (its tag or its location's), `device` (bridge or router id) the flow
 * went through it, `tag` exactly one of its tags. Each flow gains `actions`, its OpenFlow actions as
 * one line with port numbers named.
 */
export function filterFlows(
  flows: readonly FlowDumpEntry[],
  req: Record<string, unknown>,
  ctl: FlowController,
): unknown[] {
  const port = optId(req, 'port');
  const device = optId(req, 'device');
  const tag = req.tag === undefined ? undefined : typeof req.tag === 'string' ? req.tag : undefined;
  if (req.tag !== undefined && tag === undefined)
    throw new Error(`flows: field 'tag': ${show(req.tag)} is not allowed; expected a tag such as chain:ID`);
  const topo = ctl.topology;
  const portName = port === undefined ? undefined : (topo.port(port)?.name ?? port);
  const ofName = (n: number): string => {
    const id = ctl.ports.portAt(n);
    if (id !== undefined) return `${n}(${topo.port(id)?.name ?? id})`;
    for (const [type, p] of ctl.ports.tunnelOfports) if (p === n) return `${n}(tunnel-${type})`;
    return String(n);
  };
  return flows
    .filter(
      (f) =>
        (port === undefined ||
          f.inPort === portName ||
          f.tags.includes(`port:${port}`) ||
          f.tags.includes(`location:${port}`)) &&
        (device === undefined ||
          f.tags.includes(`bridge:${device}`) ||
          f.tags.includes(`router:${device}`) ||
          f.tags.includes(`routes:${device}`)) &&
        (tag === undefined || f.tags.includes(tag)),
    )
    .map((f) => ({
      ...f,
      actions: f.openflow ? actionsText(f.openflow.instructions as Instruction[], ofName) : null,
    }));
}

/** Instructions as ovs-ofctl writes actions: `set_field:198.51.100.2->tun_dst,output:3(tunnel-gre)`. */
export function actionsText(instructions: readonly Instruction[], ofName: (n: number) => string): string {
  const parts: string[] = [];
  for (const i of instructions) {
    if (i.type === 'apply_actions' || i.type === 'write_actions')
      for (const a of i.actions) parts.push(actionText(a, ofName));
    else if (i.type === 'goto_table') parts.push(`goto_table:${i.tableId}`);
    else if (i.type === 'clear_actions') parts.push('clear_actions');
    else if (i.type === 'meter') parts.push(`meter:${i.meterId}`);
  }
  return parts.length === 0 ? 'drop' : parts.join(',');
}

function actionText(a: Action, ofName: (n: number) => string): string {
  switch (a.type) {
    case 'output':
      return a.port === 0xfffffffd
        ? 'controller'
        : a.port === 0xfffffff8
          ? 'in_port'
          : `output:${ofName(a.port)}`;
    case 'set_field': {
      const f = a.field;
      if (f.field === 'raw') return 'set_field:(raw)';
      const v = f.value as unknown;
      return `set_field:${typeof v === 'bigint' ? `0x${v.toString(16)}` : String(v)}->${f.field}`;
    }
    case 'dec_nw_ttl':
      return 'dec_ttl';
    case 'set_nw_ttl':
      return `set_nw_ttl:${a.ttl}`;
    case 'push_vlan':
      return `push_vlan:0x${a.ethertype.toString(16)}`;
    case 'pop_vlan':
      return 'pop_vlan';
    case 'group':
      return `group:${a.groupId}`;
    case 'set_queue':
      return `set_queue:${a.queueId}`;
    default:
      return a.type;
  }
}

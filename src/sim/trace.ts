/**
 * Trace rendering: a simulation result as the tree `midonet-cli trace` prints, and as JSON.
 *
 * The text is the trace tree (two spaces per level: port -> chain -> rule -> device -> ...), then
 * `Actions:`, `Effects:` (when any), `Flow:` (cached or not, and why), and last the `Mask:` and
 * `Tags:` lines, like OVS ofproto/trace. Invariant: the text is a pure function of the result (and
 * of the port-name lookup given), so golden tests can pin it; the JSON form carries the same data.
 */
import { formatIpv4, formatIpv6 } from '../addr.js';
import { ETH_TYPE_ARP, formatMacNumber } from './flow-match.js';
import { type PacketFields } from './packet-fields.js';
import { formatMask, maskFields, type MaskField } from './mask.js';
import type { Action, Effect, SimDone, TraceNode } from './result.js';
import type { Topology } from './topology.js';

/** Names a port id for printing (a port's name when known). */
export type PortNamer = (id: string) => string;

export function portNamer(topo: Topology): PortNamer {
  return (id) => topo.port(id)?.name ?? id;
}

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp' };

/** One line describing a packet's headers. */
export function describePacket(p: PacketFields): string {
  const parts: string[] = [`${p.srcMac ?? '?'} > ${p.dstMac ?? '?'}`];
  if (p.vlan !== undefined && p.vlan !== 0) parts.push(`vlan ${p.vlan}`);
  if (p.ethertype === ETH_TYPE_ARP) {
    parts.push(
      `arp ${p.arpOp === 1 ? 'request' : p.arpOp === 2 ? 'reply' : `op ${p.arpOp}`} ${p.srcIp} > ${p.dstIp}`,
    );
  } else if (p.ethertype === 0x0800) {
    const proto =
      typeof p.proto === 'number' ? (PROTO_NAMES[p.proto] ?? `proto ${p.proto}`) : (p.proto ?? 'ip');
    let l4 = '';
    if (p.srcPort !== undefined) l4 = ` ${p.srcPort} > ${p.dstPort}`;
    if (p.icmpType !== undefined) l4 = ` type ${p.icmpType} code ${p.icmpCode}`;
    parts.push(`ip ${p.srcIp} > ${p.dstIp} ttl ${p.ttl} ${proto}${l4}`);
    if (typeof p.tcpFlags === 'number' && p.tcpFlags !== 0) parts.push(`flags ${tcpFlagNames(p.tcpFlags)}`);
    if (p.tcpWindow !== undefined && p.tcpWindow !== 0) parts.push(`win ${p.tcpWindow}`);
    if (p.fragment !== undefined) parts.push(`fragment ${p.fragment}`);
  } else if (p.ethertype === 0x86dd) {
    const proto =
      p.proto === 58
        ? 'icmp6'
        : typeof p.proto === 'number'
          ? (PROTO_NAMES[p.proto] ?? `proto ${p.proto}`)
          : 'ip6';
    let l4 = '';
    if (p.srcPort !== undefined) l4 = ` ${p.srcPort} > ${p.dstPort}`;
    if (p.icmpType !== undefined) l4 = ` type ${p.icmpType} code ${p.icmpCode}`;
    if (p.ndTarget !== undefined) l4 += ` target ${p.ndTarget}`;
    parts.push(`ip6 ${p.srcIp6} > ${p.dstIp6} hlim ${p.ttl} ${proto}${l4}`);
  } else {
    parts.push(`ethertype 0x${(p.ethertype ?? 0).toString(16)}`);
  }
  return parts.join(' ');
}

const TCP_FLAG_NAMES = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'] as const;

/** TCP flag bits as names, `syn,ack` (bit order of the header: fin is bit 0). */
export function tcpFlagNames(bits: number): string {
  return TCP_FLAG_NAMES.filter((_, i) => (bits & (1 << i)) !== 0).join(',');
}

/** Names any object id for printing; undefined when it names nothing known. */
export type ObjectNamer = (id: string) => string | undefined;

const NAMED_KINDS = ['port', 'bridge', 'router', 'chain', 'port-group', 'ip-address-group', 'host'] as const;

export function objectNamer(topo: Topology): ObjectNamer {
  return (id) => {
    for (const k of NAMED_KINDS) {
      const o = topo.get(k, id) as { name?: unknown } | undefined;
      if (o !== undefined) return typeof o.name === 'string' ? o.name : undefined;
    }
    return undefined;
  };
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** A tag with every object id in it shown as `name(first 8 digits…)`: `chain:fw(d19f03a2…)`. */
export function nameTag(tag: string, objects: ObjectNamer): string {
  return tag.replace(UUID, (id) => {
    const n = objects(id);
    return n === undefined ? id : `${n}(${id.slice(0, 8)}…)`;
  });
}

export function formatAction(a: Action, name: PortNamer): string {
  switch (a.kind) {
    case 'output':
      return `output:${name(a.portId)}`;
    case 'setField': {
      const v =
        a.field === 'eth_src' || a.field === 'eth_dst'
          ? formatMacNumber(a.value)
          : a.field === 'ip_src' || a.field === 'ip_dst'
            ? formatIpv4(a.value)
            : String(a.value);
      return a.field === 'vlan_vid' && a.value === 0 ? 'pop_vlan' : `set_field:${v}->${a.field}`;
    }
    case 'setField6':
      return `set_field:${formatIpv6(a.value)}->${a.field}`;
    case 'decTtl':
      return 'dec_ttl';
    case 'emit':
      return `emit(${a.why}) from ${name(a.fromPortId)}`;
    case 'drop':
      return `drop(${a.reason})`;
  }
}

export function formatEffect(e: Effect, name: PortNamer): string {
  switch (e.kind) {
    case 'macLearned':
      return `learn ${formatMacNumber(e.mac)} vlan ${e.vlan} on port ${name(e.portId)}`;
    case 'arpWanted':
      return `ARP request for ${formatIpv4(e.ip)} out of port ${name(e.portId)}`;
    case 'arpLearned':
      return `ARP entry ${formatIpv4(e.ip)} is-at ${formatMacNumber(e.mac)}`;
    case 'ndWanted':
      return `neighbour solicitation for ${e.ip} out of port ${name(e.portId)}`;
    case 'ndLearned':
      return `neighbour entry ${e.ip} is-at ${formatMacNumber(e.mac)}`;
    case 'conntrackForward':
      return `track connection ${e.key}`;
    case 'natCreated':
      return `NAT binding ${e.forwardKey} -> ${formatIpv4(e.forward.ip)}:${e.forward.port}`;
    case 'natPortsWanted':
      return `lease SNAT ports of ${formatIpv4(e.ip)} (protocol ${e.proto})`;
    case 'natStateWanted':
      return `wait for the flow state of ${e.key}`;
    case 'natExhausted':
      return `SNAT ports of ${formatIpv4(e.ip)} (protocol ${e.proto}) exhausted`;
    case 'dhcpRequest':
      return `DHCP request from port ${name(e.portId)} to the agent's server`;
    case 'portSecurityDrop':
      return `count a port security drop (${e.reason}) on port ${name(e.portId)}`;
  }
}

function renderNode(n: TraceNode, depth: number, out: string[]): void {
  out.push(`${'  '.repeat(depth)}${n.text}`);
  for (const c of n.children) renderNode(c, depth + 1, out);
}

/** The trace as text, ending with the Mask: and Tags: lines. */
export function renderTrace(
  r: SimDone,
  name: PortNamer = (id) => id,
  objects: ObjectNamer = () => undefined,
): string {
  const out: string[] = [];
  if (r.trace !== null) {
    out.push(r.trace.text);
    for (const c of r.trace.children) renderNode(c, 0, out);
  }
  out.push(`Actions: ${r.actions.map((a) => formatAction(a, name)).join(', ')}`);
  if (r.effects.length > 0) out.push(`Effects: ${r.effects.map((e) => formatEffect(e, name)).join(', ')}`);
  out.push(r.cacheable ? 'Flow: cacheable' : `Flow: not cacheable (${r.uncacheableReason})`);
  out.push(`Mask: ${formatMask(r.mask, r.packet, name(r.inPort))}`);
  out.push(
    `Tags: ${[...r.tags]
      .sort()
      .map((t) => nameTag(t, objects))
      .join(' ')}`,
  );
  return out.join('\n');
}

export interface TraceJson {
  readonly trace: TraceNode | null;
  readonly actions: readonly string[];
  readonly actionData: readonly Action[];
  readonly effects: readonly string[];
  readonly cacheable: boolean;
  readonly uncacheableReason: string | null;
  readonly mask: readonly MaskField[];
  readonly tags: readonly string[];
}

/** The same data as renderTrace, as a JSON-able object. */
export function traceJson(r: SimDone, name: PortNamer = (id) => id): TraceJson {
  return {
    trace: r.trace,
    actions: r.actions.map((a) => formatAction(a, name)),
    actionData: r.actions,
    effects: r.effects.map((e) => formatEffect(e, name)),
    cacheable: r.cacheable,
    uncacheableReason: r.uncacheableReason,
    mask: maskFields(r.mask, r.packet, name(r.inPort)),
    tags: [...r.tags].sort(),
  };
}

/**
 * What midonet-router should run on this host, computed from the topology alone (pure): one BGP
 * speaker per router port bound to this host that has BGP peers, with its FRR configuration as data,
 * plus a list of problems (bad peers, advertised networks outside the router's ports and routes).
 *
 * Invariant: a bad object never stops the others: an invalid peer is left out of its speaker (and
 * named in `problems`), a network the router cannot reach is not advertised (and named), and a port
 * whose every peer is invalid gets no speaker.
 */
import { formatIpv4, parseCidr, parseIpv4, prefixContains, prefixMask } from '../addr.js';
import type { Kind, Obj } from '../state/model.js';
import type { BgpNeighbor, BgpSpeakerConfig } from './frr-config.js';

export interface TopologyView {
  all<K extends Kind>(kind: K): Obj<K>[];
  get<K extends Kind>(kind: K, id: string): Obj<K> | undefined;
}

export interface SpeakerPeer {
  readonly id: string;
  readonly name: string;
  readonly address: string;
}

/** One speaker: a namespace with a veth carrying the router port's address and MAC, and its FRR. */
export interface SpeakerSpec {
  readonly portId: string;
  readonly portName: string;
  readonly routerId: string;
  /** Interface address with prefix length, e.g. 203.0.113.1/30. */
  readonly address: string;
  readonly mac: string;
  readonly tunnelKey: number;
  readonly peers: readonly SpeakerPeer[];
  readonly config: BgpSpeakerConfig;
}

export interface Problem {
  /** e.g. "bgp-peer 'isp1'". */
  readonly object: string;
  readonly objectId: string;
  readonly message: string;
}

/** AS numbers that may not be used by a BGP speaker (RFC 7607: 0; RFC 6793: 23456; 65535; 2^32-1). */
const RESERVED_AS = new Set([0, 23456, 65535, 4294967295]);

export const peerLabel = (p: Pick<Obj<'bgp-peer'>, 'name'>): string => `bgp-peer '${p.name}'`;
export const networkLabel = (n: Pick<Obj<'bgp-network'>, 'id' | 'name' | 'prefix'>): string =>
  `bgp-network ${n.name !== null ? `'${n.name}'` : n.id} (${n.prefix})`;

/** Why a peer cannot be served on its port, or undefined when it can. */
export function peerProblem(peer: Obj<'bgp-peer'>, port: Obj<'port'> | undefined): string | undefined {
  if (port === undefined) return `its port ${peer.portId} does not exist`;
  if (port.deviceKind !== 'router')
    return `its port '${port.name}' is a bridge port; BGP runs on router ports`;
  if (port.address === null) return `its port '${port.name}' has no address`;
  for (const [what, as] of [
    ['peerAs', peer.peerAs],
    ['localAs', peer.localAs],
  ] as const) {
    if (!Number.isInteger(as) || as < 1 || as > 4294967295 || RESERVED_AS.has(as))
      return `${what} ${as} is not a usable AS number (1 to 4294967294, not 23456 or 65535)`;
  }
  const ip = parseIpv4(peer.peerAddress);
  const net = parseCidr(port.address, false);
  if (ip === undefined || typeof net === 'string')
    return `peerAddress '${peer.peerAddress}' is not an IPv4 address`;
  const addr = parseIpv4(port.address.split('/')[0]!)!;
  if (!prefixContains(net.addr, net.len, ip))
    return `peerAddress ${peer.peerAddress} is not on the subnet of port '${port.name}' (${port.address}); only directly connected peers are supported`;
  if (ip === addr) return `peerAddress ${peer.peerAddress} is the port's own address`;
  const base = (net.addr & prefixMask(net.len)) >>> 0;
  const bcast = (base | ~prefixMask(net.len)) >>> 0;
  if (net.len < 31 && (ip === base || ip === bcast))
    return `peerAddress ${peer.peerAddress} is the network or broadcast address of ${port.address}`;
  return undefined;
}

/** The prefixes the router reaches without BGP: its ports' subnets and its non-BGP routes. */
function reachable(topo: TopologyView, routerId: string): Array<{ addr: number; len: number }> {
  const out: Array<{ addr: number; len: number }> = [];
  for (const p of topo.all('port')) {
    if (p.deviceId !== routerId || p.address === null) continue;
    const c = parseCidr(p.address, false);
    if (typeof c !== 'string') out.push({ addr: (c.addr & prefixMask(c.len)) >>> 0, len: c.len });
  }
  for (const r of topo.all('route')) {
    if (r.routerId !== routerId || r.source === 'bgp' || r.type !== 'normal') continue;
    const c = parseCidr(r.dstPrefix, false);
    if (typeof c !== 'string' && c.len > 0) out.push(c);
  }
  return out;
}

/** Speakers for the ports bound to `hostId`, and every problem found on the way. */
export function desiredSpeakers(
  topo: TopologyView,
  hostId: string,
): { speakers: SpeakerSpec[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const peersByPort = new Map<string, Obj<'bgp-peer'>[]>();
  for (const peer of topo.all('bgp-peer')) {
    const port = topo.get('port', peer.portId);
    if (port !== undefined && port.hostId !== hostId) continue; // another host's business
    const why = peerProblem(peer, port);
    if (why !== undefined) {
      if (port !== undefined) problems.push({ object: peerLabel(peer), objectId: peer.id, message: why });
      continue;
    }
    let l = peersByPort.get(peer.portId);
    if (l === undefined) peersByPort.set(peer.portId, (l = []));
    l.push(peer);
  }
  const speakers: SpeakerSpec[] = [];
  for (const [portId, all] of [...peersByPort].sort(([a], [b]) => a.localeCompare(b))) {
    const port = topo.get('port', portId)!;
    if (port.interfaceName === null) continue; // not bound to an interface: nothing to run
    all.sort((a, b) => a.name.localeCompare(b.name));
    const localAs = all[0]!.localAs;
    const peers: Obj<'bgp-peer'>[] = [];
    const seen = new Set<string>();
    for (const p of all) {
      if (p.localAs !== localAs) {
        problems.push({
          object: peerLabel(p),
          objectId: p.id,
          message: `localAs ${p.localAs} differs from ${localAs} of ${peerLabel(all[0]!)} on the same port; one port speaks one AS`,
        });
      } else if (seen.has(p.peerAddress)) {
        problems.push({
          object: peerLabel(p),
          objectId: p.id,
          message: `another peer of port '${port.name}' has address ${p.peerAddress}`,
        });
      } else {
        seen.add(p.peerAddress);
        peers.push(p);
      }
    }
    const routerId = port.deviceId;
    const reach = reachable(topo, routerId);
    const networks = [];
    for (const n of topo.all('bgp-network').filter((x) => x.routerId === routerId)) {
      const c = parseCidr(n.prefix, true);
      if (typeof c === 'string') continue;
      const covered = reach.some((r) => r.len <= c.len && prefixContains(r.addr, r.len, c.addr));
      if (!covered) {
        problems.push({
          object: networkLabel(n),
          objectId: n.id,
          message: `${n.prefix} is outside every port subnet and non-BGP route of its router; not advertised`,
        });
        continue;
      }
      networks.push({ prefix: `${formatIpv4(c.addr)}/${c.len}`, object: networkLabel(n) });
    }
    networks.sort((a, b) => a.prefix.localeCompare(b.prefix));
    const neighbors: BgpNeighbor[] = peers.map((p) => ({
      address: p.peerAddress,
      remoteAs: p.peerAs,
      keepalive: p.keepalive,
      holdTime: p.holdTime,
      object: peerLabel(p),
    }));
    speakers.push({
      portId,
      portName: port.name,
      routerId,
      address: port.address!,
      mac: port.mac ?? '',
      tunnelKey: port.tunnelKey,
      peers: peers.map((p) => ({ id: p.id, name: p.name, address: p.peerAddress })),
      config: { localAs, routerId: port.address!.split('/')[0]!, neighbors, networks },
    });
  }
  return { speakers, problems };
}

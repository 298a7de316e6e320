/**
 * `midonet-cli show`: the whole topology as a tree, like `ovn-nbctl show`: routers with their ports
 * (address, MAC, peer), chains and BGP peers; bridges with their ports (binding or peer), chains and
 * DHCP subnets; then chains (rule count, where attached) and hosts (liveness, tunnel zones).
 *
 * Invariant: reads one snapshot; every object appears once under its owner; names are printed with
 * control characters escaped by the caller's output (they are validated on write).
 */
import type { Kind, Obj } from '../state/model.js';
import type { TopologyStore } from '../state/store.js';

const IND = '    ';

export async function overview(store: TopologyStore): Promise<string> {
  const snap = await store.snapshot();
  const by = <K extends Kind>(k: K) =>
    snap.objects
      .filter((o) => o.kind === k)
      .map((o) => o.object as Obj<K>)
      .sort((a, b) => String(a.name ?? a.id).localeCompare(String(b.name ?? b.id)));
  const all = new Map(snap.objects.map((o) => [o.object.id, o]));
  const name = (id: string | null) => {
    if (id === null) return '-';
    const o = all.get(id)?.object;
    return o && typeof o.name === 'string' ? o.name : id;
  };
  const ports = by('port');
  const chains = by('chain');
  const live = new Map((await store.liveness()).map((l) => [l.hostId, l]));
  const out: string[] = [];
  const chainLines = (o: { inboundChainId: string | null; outboundChainId: string | null }, ind: string) => {
    if (o.inboundChainId) out.push(`${ind}inbound chain: ${name(o.inboundChainId)}`);
    if (o.outboundChainId) out.push(`${ind}outbound chain: ${name(o.outboundChainId)}`);
  };
  const portLines = (p: Obj<'port'>) => {
    out.push(`${IND}port ${p.name} (${p.id})${p.adminStateUp ? '' : ' [down]'}`);
    const d = `${IND}${IND}`;
    if (p.address || p.mac)
      out.push(
        `${d}${[p.address && `address: ${p.address}`, p.mac && `mac: ${p.mac}`].filter(Boolean).join('  ')}`,
      );
    if (p.peerId) {
      const peer = all.get(p.peerId)?.object as Obj<'port'> | undefined;
      out.push(`${d}peer: ${name(p.peerId)}${peer ? ` on ${peer.deviceKind} ${name(peer.deviceId)}` : ''}`);
    }
    if (p.hostId) out.push(`${d}bound: host ${name(p.hostId)} interface ${p.interfaceName}`);
    if (p.vlanId) out.push(`${d}vlan: ${p.vlanId}`);
    chainLines(p, d);
  };
  for (const r of by('router')) {
    out.push(`router ${r.name} (${r.id})${r.adminStateUp ? '' : ' [down]'}`);
    chainLines(r, IND);
    const mine = ports.filter((p) => p.deviceId === r.id);
    for (const p of mine) portLines(p);
    const mineIds = new Set(mine.map((p) => p.id));
    for (const b of by('bgp-peer').filter((x) => mineIds.has(x.portId)))
      out.push(
        `${IND}bgp peer ${b.name}: ${b.peerAddress} AS ${b.peerAs} (local AS ${b.localAs}) on port ${name(b.portId)}`,
      );
    for (const n of by('bgp-network').filter((x) => x.routerId === r.id))
      out.push(`${IND}bgp network ${n.prefix}`);
    const routes = by('route').filter((x) => x.routerId === r.id);
    if (routes.length > 0) out.push(`${IND}routes: ${routes.length} (router show ${r.name} lists them)`);
  }
  for (const b of by('bridge')) {
    out.push(
      `bridge ${b.name} (${b.id})${b.adminStateUp ? '' : ' [down]'}${b.vlanAware ? ' vlan-aware' : ''}`,
    );
    chainLines(b, IND);
    for (const d of by('dhcp').filter((x) => x.bridgeId === b.id))
      out.push(
        `${IND}dhcp ${d.name}: ${d.subnet}${d.gateway ? ` gateway ${d.gateway}` : ''}${d.enabled ? '' : ' [disabled]'}`,
      );
    for (const p of ports.filter((x) => x.deviceId === b.id)) portLines(p);
  }
  for (const c of chains) {
    const users = snap.objects.flatMap(({ kind, object }) => {
      const o = object as unknown as {
        inboundChainId?: string | null;
        outboundChainId?: string | null;
        name?: unknown;
      };
      const n = typeof o.name === 'string' ? o.name : object.id;
      return [
        ...(o.inboundChainId === c.id ? [`${kind} ${n} (inbound)`] : []),
        ...(o.outboundChainId === c.id ? [`${kind} ${n} (outbound)`] : []),
      ];
    });
    out.push(
      `chain ${c.name} (${c.id}): ${c.ruleIds.length} rules; ${users.length > 0 ? `on ${users.join(', ')}` : 'not attached'}`,
    );
  }
  const zones = by('tunnel-zone');
  for (const h of by('host')) {
    const l = live.get(h.id);
    const tz = zones.flatMap((z) =>
      z.members.filter((m) => m.hostId === h.id).map((m) => `${z.name} (${z.type}) ${m.address}`),
    );
    out.push(
      `host ${h.name} (${h.id}): ${l?.alive ? 'alive' : 'down'}${tz.length > 0 ? `; tunnel zone ${tz.join(', ')}` : ''}`,
    );
  }
  return out.length === 0 ? 'the topology is empty' : out.join('\n');
}

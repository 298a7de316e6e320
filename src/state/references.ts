/**
 * What every kind of object refers to, and what a reference means when its target is deleted.
 *
 * Invariant: `referencesOf(kind, obj)` lists every id an object holds, with the kinds the target must
 * have. A reference either keeps its holder alive only as long as the target exists (`cascade`: the
 * holder is deleted with the target, e.g. a bridge's ports, a chain's rules, a rule matching on a
 * deleted port) or is cleared from the holder (`clear` returns the holder's fields without it, e.g. a
 * bridge's inbound chain, a port's binding, a port group's member). Integrity checks, referrer lookups
 * and `--cascade` deletes all derive from this one table.
 */
import type { Kind, Obj, Fields, Conditions } from './model.js';

export interface Reference {
  /** Field (dotted path) holding the id, as named to users. */
  readonly field: string;
  readonly target: string;
  /** Kinds the target may have. */
  readonly targetKinds: readonly Kind[];
  /** Absent: the holder is deleted with the target. Present: the holder's fields without the reference. */
  readonly clear?: (fields: Record<string, unknown>) => Record<string, unknown>;
  /**
   * Follows the target without `--cascade`: cleared (a chain's list of its own rules) or, with no
   * `clear`, deleted with it (a DHCP lease with its subnet or port); never blocks a delete.
   */
  readonly auto?: boolean;
}

function setNull(field: string) {
  return (f: Record<string, unknown>) => ({ ...f, [field]: null });
}

function chainRefs(kind: 'bridge' | 'router' | 'port', o: Fields<typeof kind>): Reference[] {
  const out: Reference[] = [];
  if (o.inboundChainId)
    out.push({
      field: 'inboundChainId',
      target: o.inboundChainId,
      targetKinds: ['chain'],
      clear: setNull('inboundChainId'),
    });
  if (o.outboundChainId)
    out.push({
      field: 'outboundChainId',
      target: o.outboundChainId,
      targetKinds: ['chain'],
      clear: setNull('outboundChainId'),
    });
  return out;
}

function conditionRefs(c: Conditions): Reference[] {
  const out: Reference[] = [];
  for (const id of c.inPorts?.value ?? [])
    out.push({ field: 'conditions.inPorts', target: id, targetKinds: ['port'] });
  for (const id of c.outPorts?.value ?? [])
    out.push({ field: 'conditions.outPorts', target: id, targetKinds: ['port'] });
  if (c.inPortGroup)
    out.push({ field: 'conditions.inPortGroup', target: c.inPortGroup.value, targetKinds: ['port-group'] });
  if (c.outPortGroup)
    out.push({ field: 'conditions.outPortGroup', target: c.outPortGroup.value, targetKinds: ['port-group'] });
  if (c.ipAddrGroupSrc)
    out.push({
      field: 'conditions.ipAddrGroupSrc',
      target: c.ipAddrGroupSrc.value,
      targetKinds: ['ip-address-group'],
    });
  if (c.ipAddrGroupDst)
    out.push({
      field: 'conditions.ipAddrGroupDst',
      target: c.ipAddrGroupDst.value,
      targetKinds: ['ip-address-group'],
    });
  return out;
}

export function referencesOf(kind: Kind, obj: Obj | Fields<Kind>): Reference[] {
  switch (kind) {
    case 'host':
    case 'ip-address-group':
      return [];
    case 'tunnel-zone': {
      const o = obj as Fields<'tunnel-zone'>;
      return o.members.map((m) => ({
        field: 'members.hostId',
        target: m.hostId,
        targetKinds: ['host'] as const,
        clear: (f: Record<string, unknown>) => ({
          ...f,
          members: (f.members as Fields<'tunnel-zone'>['members']).filter((x) => x.hostId !== m.hostId),
        }),
      }));
    }
    case 'bridge':
      return chainRefs('bridge', obj as Fields<'bridge'>);
    case 'router': {
      const o = obj as Fields<'router'>;
      const out = chainRefs('router', o);
      if (o.natInboundChainId)
        out.push({
          field: 'natInboundChainId',
          target: o.natInboundChainId,
          targetKinds: ['chain'],
          clear: setNull('natInboundChainId'),
        });
      if (o.natOutboundChainId)
        out.push({
          field: 'natOutboundChainId',
          target: o.natOutboundChainId,
          targetKinds: ['chain'],
          clear: setNull('natOutboundChainId'),
        });
      return out;
    }
    case 'port': {
      const o = obj as Fields<'port'>;
      const out: Reference[] = [{ field: 'deviceId', target: o.deviceId, targetKinds: [o.deviceKind] }];
      if (o.hostId) {
        out.push({
          field: 'hostId',
          target: o.hostId,
          targetKinds: ['host'],
          clear: (f) => ({ ...f, hostId: null, interfaceName: null }),
        });
      }
      if (o.peerId)
        out.push({ field: 'peerId', target: o.peerId, targetKinds: ['port'], clear: setNull('peerId') });
      return [...out, ...chainRefs('port', o)];
    }
    case 'route': {
      const o = obj as Fields<'route'>;
      const out: Reference[] = [{ field: 'routerId', target: o.routerId, targetKinds: ['router'] }];
      if (o.nextHopPortId)
        out.push({ field: 'nextHopPortId', target: o.nextHopPortId, targetKinds: ['port'] });
      return out;
    }
    case 'chain': {
      const o = obj as Fields<'chain'>;
      // The order list names the chain's own rules; those hold the chain (rule.chainId), not the
      // other way round, so deleting a rule never cascades to its chain.
      return o.ruleIds.map((id) => ({
        field: 'ruleIds',
        target: id,
        targetKinds: ['rule'] as const,
        auto: true,
        clear: (f: Record<string, unknown>) => ({
          ...f,
          ruleIds: (f.ruleIds as string[]).filter((x) => x !== id),
        }),
      }));
    }
    case 'rule': {
      const o = obj as Fields<'rule'>;
      const out: Reference[] = [{ field: 'chainId', target: o.chainId, targetKinds: ['chain'] }];
      if (o.jumpChainId) out.push({ field: 'jumpChainId', target: o.jumpChainId, targetKinds: ['chain'] });
      // A rule a floating IP, port forward or source NAT wrote goes with it.
      if (o.ownerId)
        out.push({
          field: 'ownerId',
          target: o.ownerId,
          targetKinds: ['floating-ip', 'port-forward', 'source-nat'],
          auto: true,
        });
      return [...out, ...conditionRefs(o.conditions)];
    }
    case 'port-group': {
      const o = obj as Fields<'port-group'>;
      return o.portIds.map((id) => ({
        field: 'portIds',
        target: id,
        targetKinds: ['port'] as const,
        clear: (f: Record<string, unknown>) => ({
          ...f,
          portIds: (f.portIds as string[]).filter((x) => x !== id),
        }),
      }));
    }
    case 'dhcp':
      return [{ field: 'bridgeId', target: (obj as Fields<'dhcp'>).bridgeId, targetKinds: ['bridge'] }];
    case 'bgp-peer':
      return [{ field: 'portId', target: (obj as Fields<'bgp-peer'>).portId, targetKinds: ['port'] }];
    case 'bgp-network':
      return [
        { field: 'routerId', target: (obj as Fields<'bgp-network'>).routerId, targetKinds: ['router'] },
      ];
    case 'dhcp-lease': {
      // A lease lives and dies with its subnet and its port, whatever the caller asked (`auto`): it is
      // the state of the allocation, never a reason to refuse deleting them.
      const o = obj as Fields<'dhcp-lease'>;
      const out: Reference[] = [{ field: 'dhcpId', target: o.dhcpId, targetKinds: ['dhcp'], auto: true }];
      if (o.hostId)
        out.push({ field: 'hostId', target: o.hostId, targetKinds: ['host'], clear: setNull('hostId') });
      if (o.portId) out.push({ field: 'portId', target: o.portId, targetKinds: ['port'], auto: true });
      return out;
    }
    case 'api-token':
      return [];
    case 'floating-ip': {
      const o = obj as Fields<'floating-ip'>;
      const out: Reference[] = [{ field: 'routerId', target: o.routerId, targetKinds: ['router'] }];
      if (o.portId) out.push({ field: 'portId', target: o.portId, targetKinds: ['port'] });
      return out;
    }
    case 'port-forward':
    case 'source-nat':
      return [
        { field: 'routerId', target: (obj as Fields<'port-forward'>).routerId, targetKinds: ['router'] },
      ];
    case 'load-balancer':
      return [
        { field: 'routerId', target: (obj as Fields<'load-balancer'>).routerId, targetKinds: ['router'] },
      ];
    case 'pool':
      return [
        {
          field: 'loadBalancerId',
          target: (obj as Fields<'pool'>).loadBalancerId,
          targetKinds: ['load-balancer'],
        },
      ];
    case 'vip': {
      const o = obj as Fields<'vip'>;
      return [
        { field: 'loadBalancerId', target: o.loadBalancerId, targetKinds: ['load-balancer'] },
        { field: 'poolId', target: o.poolId, targetKinds: ['pool'] },
      ];
    }
    case 'pool-member':
      return [{ field: 'poolId', target: (obj as Fields<'pool-member'>).poolId, targetKinds: ['pool'] }];
    case 'health-monitor':
      // A pool's health monitor goes with the pool.
      return [
        {
          field: 'poolId',
          target: (obj as Fields<'health-monitor'>).poolId,
          targetKinds: ['pool'],
          auto: true,
        },
      ];
    case 'mirror':
      return mirrorRefs(obj as Fields<'mirror'>);
    case 'nat-block':
      // A host's blocks go with the host.
      return [
        { field: 'hostId', target: (obj as Fields<'nat-block'>).hostId, targetKinds: ['host'], auto: true },
      ];
  }
}

/**
 * A mirror's sources are cleared from it when they go, with no --cascade (it copies less); its destination port
 * cannot be deleted while the mirror exists (or the mirror goes with it under --cascade).
 */
function mirrorRefs(o: Fields<'mirror'>): Reference[] {
  const out: Reference[] = o.portIds.map((id) => ({
    field: 'portIds',
    target: id,
    targetKinds: ['port'] as const,
    clear: (f: Record<string, unknown>) => ({
      ...f,
      portIds: (f.portIds as string[]).filter((x) => x !== id),
    }),
    auto: true,
  }));
  if (o.bridgeId)
    out.push({
      field: 'bridgeId',
      target: o.bridgeId,
      targetKinds: ['bridge'],
      clear: setNull('bridgeId'),
      auto: true,
    });
  out.push({ field: 'toPortId', target: o.toPortId, targetKinds: ['port'] });
  return [...out, ...conditionRefs(o.conditions)];
}

/** Distinct target ids of an object, for the referrer index. */
export function referencedIds(kind: Kind, obj: Obj | Fields<Kind>): string[] {
  return [...new Set(referencesOf(kind, obj).map((r) => r.target))];
}

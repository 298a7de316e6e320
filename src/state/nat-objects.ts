/**
 * The NAT conveniences operators use (floating IPs, port forwards, a router's source NAT) and the
 * rules they stand for. Each is stored as an object of its own; the transaction planner writes its
 * rules into the router's NAT chains (made on first use) with `ownerId` naming it, rewrites them when
 * it changes, and deletes them with it. So `show` can list a convenience's rules, and the simulation
 * only ever sees rules.
 *
 *   floating-ip  A <-> P   NAT in:  static-dnat dst A -> P;   NAT out: static-snat src P, out an uplink -> A
 *                          (first in both chains: a VM with a floating IP keeps it under a source NAT)
 * Rules go into the chains in that order (natRuleRank): floating IPs, port forwards, source NAT, then
 * rules an operator wrote by hand, so a port-forwarded connection's reply is translated back before
 * a source NAT could give it a new port.
 *   port-forward A:a -> P:p  NAT in: dnat dst A proto a -> P:p; NAT out: rev-dnat src P proto p
 *   source-nat   S -> A     NAT out: snat src S, out an uplink -> A:ports; NAT in: rev-snat dst A
 *
 * Invariant: `natRules` is pure; `checkNatObject` refuses (naming field and value) a public address
 * outside every uplink subnet of the router, a floating IP whose address is already another floating
 * IP's or a router port's, a floating IP with no private address to map to, a port forward that
 * repeats another's address, protocol and port, and an empty port range; it writes nothing.
 */
import { parseCidr, parseIpv4, prefixContains } from '../addr.js';
import { quote } from '../quote.js';
import { invalid, label, type PlanView } from './model-rules.js';
import type { Obj } from './model.js';
import { StoreError } from './errors.js';

export type NatKind = 'floating-ip' | 'port-forward' | 'source-nat';
export const NAT_KINDS: readonly NatKind[] = ['floating-ip', 'port-forward', 'source-nat'];

/** A rule to write: its chain (which NAT chain) and its fields. */
export interface NatRule {
  readonly chain: 'in' | 'out';
  readonly fields: Record<string, unknown>;
}

const PROTO = { tcp: 6, udp: 17 } as const;

/** The private address a floating IP maps to: its fixedAddress, else its port's first IPv4 address. */
export function fixedAddressOf(fip: Obj<'floating-ip'>, port: Obj<'port'> | undefined): string | undefined {
  if (fip.fixedAddress !== null) return fip.fixedAddress;
  return port?.addresses.find((a) => parseIpv4(a) !== undefined);
}

/**
 * The order of rules in a router's NAT chains: static 1:1 rules (floating IPs), then port forwards
 * (dnat, rev-dnat), then source NAT (snat, rev-snat), then rules not written for a convenience.
 */
export function natRuleRank(action: string, owned: boolean): number {
  if (!owned) return 3;
  if (action === 'static-dnat' || action === 'static-snat') return 0;
  if (action === 'dnat' || action === 'rev-dnat') return 1;
  return 2;
}

/** The rules a NAT convenience stands for. `uplinks`: the router's exterior ports. */
export function natRules(
  kind: NatKind,
  o: Obj<NatKind>,
  uplinks: readonly string[],
  fixedAddress?: string,
): NatRule[] {
  const own = { ownerId: o.id };
  const outVia = uplinks.length > 0 ? { outPorts: { value: uplinks } } : {};
  switch (kind) {
    case 'floating-ip': {
      const f = o as Obj<'floating-ip'>;
      const fixed = fixedAddress ?? f.fixedAddress ?? '';
      return [
        {
          chain: 'in',
          fields: {
            ...own,
            action: 'static-dnat',
            conditions: { dstPrefix: { value: `${f.address}/32` } },
            natTargets: [{ addressFrom: fixed, addressTo: fixed }],
          },
        },
        {
          chain: 'out',
          fields: {
            ...own,
            action: 'static-snat',
            conditions: { srcPrefix: { value: `${fixed}/32` }, ...outVia },
            natTargets: [{ addressFrom: f.address, addressTo: f.address }],
          },
        },
      ];
    }
    case 'port-forward': {
      const p = o as Obj<'port-forward'>;
      const proto = { value: PROTO[p.protocol] };
      return [
        {
          chain: 'in',
          fields: {
            ...own,
            action: 'dnat',
            conditions: {
              dstPrefix: { value: `${p.address}/32` },
              ipProto: proto,
              dstPort: { value: { start: p.port, end: p.port } },
            },
            natTargets: [
              { addressFrom: p.toAddress, addressTo: p.toAddress, portFrom: p.toPort, portTo: p.toPort },
            ],
          },
        },
        {
          chain: 'out',
          fields: {
            ...own,
            action: 'rev-dnat',
            conditions: {
              srcPrefix: { value: `${p.toAddress}/32` },
              ipProto: proto,
              srcPort: { value: { start: p.toPort, end: p.toPort } },
            },
          },
        },
      ];
    }
    case 'source-nat': {
      const n = o as Obj<'source-nat'>;
      return [
        {
          chain: 'out',
          fields: {
            ...own,
            action: 'snat',
            conditions: { srcPrefix: { value: n.subnet }, ...outVia },
            natTargets: [
              { addressFrom: n.address, addressTo: n.address, portFrom: n.portFrom, portTo: n.portTo },
            ],
          },
        },
        {
          chain: 'in',
          fields: { ...own, action: 'rev-snat', conditions: { dstPrefix: { value: `${n.address}/32` } } },
        },
      ];
    }
  }
}

/** The router's ports, and which are uplinks (exterior: bound to a host interface). */
export async function routerPorts(view: PlanView, routerId: string): Promise<Obj<'port'>[]> {
  const out: Obj<'port'>[] = [];
  for (const r of await view.referrers(routerId)) {
    if (r.kind !== 'port' || r.field !== 'deviceId') continue;
    const p = (await view.lookup(r.id))?.obj as Obj<'port'> | undefined;
    if (p) out.push(p);
  }
  return out;
}

/** Checks a NAT convenience against its router (see the module comment). */
export async function checkNatObject(view: PlanView, kind: NatKind, o: Obj<NatKind>): Promise<void> {
  const what = label(kind, o);
  const ports = await routerPorts(view, o.routerId);
  const uplinks = ports.filter((p) => p.hostId !== null && p.address !== null);
  const address = (o as { address: string }).address;
  const ip = parseIpv4(address)!;
  const onUplink = uplinks.some((p) => {
    const c = parseCidr(p.address!, false);
    return typeof c !== 'string' && prefixContains(c.addr, c.len, ip);
  });
  if (!onUplink) {
    const subnets = uplinks.map((p) => p.address).join(', ');
    invalid(
      `${what}: ${kind}.address: ${quote(address)} is outside every uplink subnet of router ${o.routerId} (${subnets === '' ? 'it has no uplink: bind a router port to a host interface' : `uplinks: ${subnets}`})`,
    );
  }
  if (kind === 'source-nat') {
    const n = o as Obj<'source-nat'>;
    if (n.portFrom > n.portTo)
      invalid(`${what}: source-nat.portTo: the range ${n.portFrom}-${n.portTo} is empty`);
    return;
  }
  if (kind === 'floating-ip') {
    const f = o as Obj<'floating-ip'>;
    if (ports.some((p) => p.address?.split('/')[0] === f.address))
      invalid(`${what}: floating-ip.address: ${quote(f.address)} is the address of a port of the router`);
    const port =
      f.portId === null ? undefined : ((await view.lookup(f.portId))?.obj as Obj<'port'> | undefined);
    if (fixedAddressOf(f, port) === undefined)
      invalid(
        `${what}: floating-ip.fixedAddress: ${port ? `port ${quote(port.name)} has no IPv4 address (set its --addresses)` : 'no port and no fixed address'}; give --fixed-address`,
      );
  }
  // Another convenience of the same router with the same public endpoint.
  for (const r of await view.referrers(o.routerId)) {
    if (r.kind !== kind || r.id === o.id) continue;
    const other = (await view.lookup(r.id))?.obj as Obj<NatKind> | undefined;
    if (!other) continue;
    if (kind === 'floating-ip' && (other as Obj<'floating-ip'>).address === address)
      throw new StoreError(
        'exists',
        `${what}: floating-ip.address: ${quote(address)} is already floating IP ${quote(other.name)}`,
      );
    if (kind === 'port-forward') {
      const a = o as Obj<'port-forward'>;
      const b = other as Obj<'port-forward'>;
      if (a.address === b.address && a.protocol === b.protocol && a.port === b.port)
        throw new StoreError(
          'exists',
          `${what}: port-forward: ${a.protocol} ${a.address}:${a.port} is already forwarded by ${quote(b.name)}`,
        );
    }
  }
}

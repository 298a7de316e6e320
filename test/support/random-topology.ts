/**
 * Random topologies, rule sets, runtime state and packets for property tests (and fuzzing).
 *
 * Everything is drawn from a seeded generator over small universes of MACs, addresses, ports and
 * protocols, so rules and packets actually meet: rules match some packets and not others, routes
 * overlap, MAC tables hold some destinations. Invariant: a seed fully determines the result (no
 * Math.random, no clock), and every object passes the model's validation (built with TopologyBuilder).
 */
import { formatIpv4, macToNumber, parseIpv4, prefixMask } from '../../src/addr.js';
import { TopologyBuilder, type RuleSpec } from '../../src/sim/builder.js';
import { FlowMatch, NUM_FIELDS, FULL } from '../../src/sim/flow-match.js';
import { buildFlowMatch, type PacketFields } from '../../src/sim/packet-fields.js';
import { MemoryRuntimeState } from '../../src/sim/runtime-state.js';

export type Rand = () => number;

/** A small, fast seeded generator (mulberry32); returns [0, 1). */
export function seeded(seed: number): Rand {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(r: Rand, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}
/** An integer of lo to hi, both included. */
export function int(r: Rand, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

export interface RandomWorld {
  readonly builder: TopologyBuilder;
  readonly state: MemoryRuntimeState;
  /** Exterior port ids (where packets enter). */
  readonly exterior: readonly string[];
  readonly macs: readonly string[];
  readonly ips: readonly string[];
  readonly chains: readonly string[];
  readonly bridges: readonly string[];
  readonly routers: readonly string[];
  readonly ports: readonly string[];
  readonly routes: readonly string[];
  readonly portGroups: readonly string[];
  readonly ipGroups: readonly string[];
}

function mac(n: number): string {
  const h = n.toString(16).padStart(12, '0');
  return h.replace(/(..)(?!$)/g, '$1:');
}

function randomPrefix(r: Rand, ips: readonly string[]): string {
  const len = pick(r, [0, 8, 16, 24, 24, 25, 28, 30, 32, 32]);
  const ip = parseIpv4(pick(r, ips))!;
  return `${formatIpv4((ip & prefixMask(len)) >>> 0)}/${len}`;
}

const PORT_VALUES = ['22', '80', '443', '1000-2000', '0-1023', '1500', '40000-65535'];

export function randomConditions(
  r: Rand,
  w: {
    ports: readonly string[];
    macs: readonly string[];
    ips: readonly string[];
    portGroups: readonly string[];
    ipGroups: readonly string[];
  },
): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  const n = int(r, 0, 3);
  const inv = () => r() < 0.2;
  for (let i = 0; i < n; i++) {
    switch (int(r, 0, 20)) {
      case 0:
        c.inPorts = { value: [pick(r, w.ports), pick(r, w.ports)], invert: inv() };
        break;
      case 1:
        c.outPorts = { value: [pick(r, w.ports)], invert: inv() };
        break;
      case 2:
        if (w.portGroups.length > 0) c.inPortGroup = { value: pick(r, w.portGroups), invert: inv() };
        break;
      case 3:
        if (w.ipGroups.length > 0)
          c[r() < 0.5 ? 'ipAddrGroupSrc' : 'ipAddrGroupDst'] = { value: pick(r, w.ipGroups), invert: inv() };
        break;
      case 4:
        c.ethertype = { value: pick(r, [0x0800, 0x0806, 0x86dd]), invert: inv() };
        break;
      case 5:
        c.srcMac =
          r() < 0.5
            ? { value: pick(r, w.macs), invert: inv() }
            : { value: pick(r, w.macs), mask: 'ff:ff:ff:ff:00:00', invert: inv() };
        break;
      case 6:
        c.dstMac =
          r() < 0.5
            ? { value: pick(r, w.macs), invert: inv() }
            : { value: '01:00:00:00:00:00', mask: '01:00:00:00:00:00', invert: inv() };
        break;
      case 7:
        c.ipProto = { value: pick(r, [1, 6, 17, 47]), invert: inv() };
        break;
      case 8:
        c.ipTos = { value: pick(r, [0, 4]), invert: inv() };
        break;
      case 9:
      case 10:
        c.srcPrefix = { value: randomPrefix(r, w.ips), invert: inv() };
        break;
      case 11:
      case 12:
        c.dstPrefix = { value: randomPrefix(r, w.ips), invert: inv() };
        break;
      case 13:
        c.srcPort = { value: pick(r, PORT_VALUES), invert: inv() };
        break;
      case 14:
        c.dstPort = { value: pick(r, PORT_VALUES), invert: inv() };
        break;
      case 15:
        c.tcpFlags = { value: { set: int(r, 0, 255), mask: int(r, 1, 255) }, invert: inv() };
        break;
      case 16:
        c.icmpType = { value: pick(r, [0, 3, 8]), invert: inv() };
        c.icmpCode = { value: pick(r, [0, 1]), invert: inv() };
        break;
      case 17:
        c.fragmentPolicy = { value: pick(r, ['any', 'header', 'nonheader', 'unfragmented']), invert: inv() };
        break;
      case 18:
        if (r() < 0.3) c.tcpWindow = { value: pick(r, ['0-1000', '1001-65535']), invert: inv() };
        break;
      case 19:
        if (r() < 0.3) c.conntrack = { value: pick(r, ['new', 'established'] as const), invert: inv() };
        break;
      default:
        c.dstPrefix = { value: randomPrefix(r, w.ips), invert: inv() };
    }
  }
  return c;
}

/** A random world: 1-3 bridges, 0-2 routers, chains, routes, groups, DHCP, MAC/ARP state. */
export function randomWorld(seed: number): RandomWorld {
  return addWorld(seeded(seed), new TopologyBuilder(), new MemoryRuntimeState(), '');
}

/**
 * Adds a random world to `b` and `state`, its object names prefixed with `prefix` (so several worlds
 * can share one topology). `randomWorld(seed)` is `addWorld(seeded(seed), new builder, new state, '')`.
 */
export function addWorld(
  r: Rand,
  b: TopologyBuilder,
  state: MemoryRuntimeState,
  prefix: string,
): RandomWorld {
  const bridges: string[] = [];
  const routers: string[] = [];
  const ports: string[] = [];
  const exterior: string[] = [];
  const macs: string[] = ['ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '02:00:00:00:99:99'];
  const ips: string[] = ['203.0.113.7', '198.51.100.200'];
  const vmPorts = new Map<string, Array<{ port: string; mac: string; ip: string }>>();
  const nb = int(r, 1, 3);
  let macN = 0x020000000100;
  for (let i = 0; i < nb; i++) {
    const vlanAware = r() < 0.2;
    const br = b.bridge(`${prefix}b${i}`, { vlanAware, adminStateUp: r() > 0.03 });
    bridges.push(br);
    const vms: Array<{ port: string; mac: string; ip: string }> = [];
    for (let j = 0; j < int(r, 1, 3); j++) {
      const p = b.port(br, `${prefix}b${i}-vm${j}`, {
        vlanId: vlanAware && r() < 0.6 ? pick(r, [10, 20]) : null,
        adminStateUp: r() > 0.03,
      });
      ports.push(p);
      exterior.push(p);
      const m = mac(macN++);
      const ip = `10.0.${i}.${10 + j}`;
      macs.push(m);
      ips.push(ip);
      vms.push({ port: p, mac: m, ip });
    }
    vmPorts.set(br, vms);
  }
  const nr = int(r, 0, 2);
  const routerPorts: string[] = [];
  for (let i = 0; i < nr; i++) {
    const rt = b.router(`${prefix}r${i}`, { adminStateUp: r() > 0.03 });
    routers.push(rt);
    const attached = new Set<number>();
    for (let k = 0; k < int(r, 1, Math.min(2, nb)); k++) attached.add(int(r, 0, nb - 1));
    for (const bi of attached) {
      const m = mac(0x020000001000 + i * 16 + bi);
      const ip = `10.0.${bi}.${1 + i}`;
      const rp = b.port(rt, `${prefix}r${i}-b${bi}`, {
        address: `${ip}/24`,
        mac: m,
        adminStateUp: r() > 0.03,
      });
      const bp = b.port(bridges[bi]!, `${prefix}b${bi}-r${i}`);
      b.link(rp, bp);
      ports.push(rp, bp);
      routerPorts.push(rp);
      macs.push(m);
      ips.push(ip);
    }
    if (r() < 0.3) {
      const up = b.port(rt, `${prefix}r${i}-uplink`, {
        address: `192.0.2.${1 + i * 4}/30`,
        mac: mac(0x020000002000 + i),
      });
      ports.push(up);
      exterior.push(up);
      routerPorts.push(up);
      macs.push(mac(0x020000002000 + i));
    }
  }
  if (routers.length === 2 && r() < 0.5) {
    const a = b.port(routers[0]!, `${prefix}r0-r1`, { address: '198.51.100.1/30', mac: mac(0x020000003001) });
    const c = b.port(routers[1]!, `${prefix}r1-r0`, { address: '198.51.100.2/30', mac: mac(0x020000003002) });
    b.link(a, c);
    ports.push(a, c);
    b.route(routers[0]!, '10.0.0.0/8', { nextHopPortId: a, gateway: '198.51.100.2', weight: 200 });
    b.route(routers[1]!, '10.0.0.0/8', { nextHopPortId: c, gateway: '198.51.100.1', weight: 200 });
  }
  const routes: string[] = [];
  for (const rt of routers) {
    const own = routerPorts.filter((p) =>
      b.objects.some(
        (o) => o.kind === 'port' && o.object.id === p && (o.object as { deviceId: string }).deviceId === rt,
      ),
    );
    for (let k = 0; k < int(r, 0, 4); k++) {
      const type = pick(r, ['normal', 'normal', 'blackhole', 'reject'] as const);
      const opts: Record<string, unknown> = { type, weight: pick(r, [100, 100, 200]) };
      if (r() < 0.3) opts.srcPrefix = randomPrefix(r, ips);
      if (type === 'normal' && own.length > 0) {
        opts.nextHopPortId = pick(r, own);
        if (r() < 0.5) opts.gateway = pick(r, ips);
      }
      routes.push(b.route(rt, randomPrefix(r, ips), opts));
    }
  }
  const portGroups: string[] = [];
  const ipGroups: string[] = [];
  for (let k = 0; k < int(r, 0, 2); k++)
    portGroups.push(
      b.portGroup(
        `${prefix}pg${k}`,
        [pick(r, ports), pick(r, ports)].filter((v, i, a) => a.indexOf(v) === i),
      ),
    );
  for (let k = 0; k < int(r, 0, 2); k++)
    ipGroups.push(
      b.ipGroup(
        `${prefix}ig${k}`,
        [pick(r, ips), pick(r, ips)].filter((v, i, a) => a.indexOf(v) === i),
      ),
    );
  if (r() < 0.4) {
    const bi = int(r, 0, nb - 1);
    b.dhcp(bridges[bi]!, `${prefix}dhcp0`, `10.0.${bi}.0/24`, [
      { mac: pick(r, macs.slice(3)), address: `10.0.${bi}.${int(r, 10, 13)}` },
    ]);
  }
  // Chains: later chains are jump targets of earlier ones only (no cycles).
  const chains: string[] = [];
  const nc = int(r, 0, 4);
  const specs: RuleSpec[][] = [];
  for (let k = 0; k < nc; k++) {
    const rules: RuleSpec[] = [];
    for (let j = 0; j < int(r, 0, 6); j++)
      rules.push(randomRule(r, randomConditions(r, { ports, macs, ips, portGroups, ipGroups }), ips));
    specs.push(rules);
  }
  for (let k = nc - 1; k >= 0; k--) {
    const rules = specs[k]!.map((s) => {
      if (s.action !== 'jump') return s;
      const later = chains.slice();
      return later.length === 0
        ? { ...s, action: 'continue' as const }
        : { ...s, jumpChainId: pick(r, later) };
    });
    chains.push(b.chain(`${prefix}c${k}`, rules));
  }
  for (const c of chains) {
    if (r() < 0.7) {
      const target = pick(r, [...ports, ...bridges, ...routers]);
      const routerSide = routers.includes(target) && r() < 0.5;
      const slot = r() < 0.5 ? 'inbound' : 'outbound';
      b.set(target, {
        [routerSide ? `nat${slot[0]!.toUpperCase()}${slot.slice(1)}ChainId` : `${slot}ChainId`]: c,
      });
    }
  }
  // Runtime state.
  for (const ip of ips)
    if (r() < 0.5)
      for (const proto of [6, 17]) state.nat.setBlocks(parseIpv4(ip) ?? 0, proto, [[2000, 2001]]);
  for (const br of bridges) {
    const brPorts = ports.filter((p) =>
      b.objects.some(
        (o) => o.kind === 'port' && o.object.id === p && (o.object as { deviceId: string }).deviceId === br,
      ),
    );
    for (const vm of vmPorts.get(br) ?? []) {
      if (r() < 0.7)
        state.macs.learn(
          br,
          pick(r, [0, 0, 0, 10]),
          macToNumber(vm.mac),
          r() < 0.8 ? vm.port : pick(r, brPorts),
          0,
        );
    }
  }
  for (const rt of routers) {
    for (const ip of ips) {
      const x = r();
      if (x < 0.5) state.arp.learn(rt, parseIpv4(ip)!, macToNumber(pick(r, macs.slice(3))), 0);
      else if (x < 0.55) state.arp.fail(rt, parseIpv4(ip)!, 0);
    }
  }
  return {
    builder: b,
    state,
    exterior,
    macs,
    ips,
    chains,
    bridges,
    routers,
    ports,
    routes,
    portGroups,
    ipGroups,
  };
}

/** A random packet over the world's universes, entering a random exterior port. */
export function randomPacket(r: Rand, w: RandomWorld): { match: FlowMatch; inPort: string } {
  const ethertype = pick(r, [0x0800, 0x0800, 0x0800, 0x0800, 0x0806, 0x86dd]);
  const p: PacketFields = {
    srcMac: pick(r, w.macs),
    dstMac: pick(r, w.macs),
    vlan: r() < 0.85 ? 0 : pick(r, [10, 20]),
    ethertype,
    srcIp: pick(r, w.ips),
    dstIp: pick(r, w.ips),
    ...(ethertype === 0x0806 ? { arpOp: pick(r, [1, 2]) } : {}),
    // IPv6 with an upper-layer protocol: protocol, port and TCP conditions apply to it too.
    ...(ethertype === 0x86dd
      ? (() => {
          const proto = pick(r, [6, 17, 58]);
          return {
            srcIp6: pick(r, ['2001:db8::1', '2001:db8::2', '2001:db8:1::1']),
            dstIp6: pick(r, ['2001:db8::1', '2001:db8::2', '2001:db8:1::1']),
            proto,
            ...(proto !== 58
              ? { srcPort: pick(r, [22, 80, 443, 1500, 40001]), dstPort: pick(r, [22, 80, 443, 1500, 40001]) }
              : {}),
            ...(proto === 6 ? { tcpFlags: int(r, 0, 255), tcpWindow: int(r, 0, 65535) } : {}),
          };
        })()
      : {}),
    ...(ethertype === 0x0800
      ? (() => {
          const proto = pick(r, [1, 6, 6, 17, 47]);
          const l4 = proto === 6 || proto === 17;
          return {
            proto,
            tos: pick(r, [0, 0, 4]),
            ttl: pick(r, [64, 64, 64, 2, 1]),
            ...(l4
              ? { srcPort: pick(r, [22, 80, 443, 1500, 40001]), dstPort: pick(r, [22, 80, 443, 1500, 40001]) }
              : {}),
            ...(proto === 6 ? { tcpFlags: int(r, 0, 255), tcpWindow: int(r, 0, 65535) } : {}),
            ...(proto === 1 ? { icmpType: pick(r, [0, 3, 8]), icmpCode: pick(r, [0, 1]) } : {}),
            fragment: pick(r, ['none', 'none', 'none', 'first', 'later'] as const),
          };
        })()
      : {}),
  };
  const b = buildFlowMatch(p);
  if (!b.ok) throw new Error(b.error);
  return { match: b.match, inPort: pick(r, w.exterior) };
}

/**
 * A packet agreeing with `m` on every bit of `mask` and random elsewhere: each unmasked field comes
 * from another random packet or from random bits. TTL is kept above `minTtl`.
 */
export function perturb(
  r: Rand,
  w: RandomWorld,
  m: FlowMatch,
  mask: readonly number[],
  minTtl: number,
): FlowMatch {
  const other = randomPacket(r, w).match;
  const q = new FlowMatch();
  q.inPort = m.inPort;
  for (let f = 0; f < NUM_FIELDS; f++) {
    const full = FULL[f]!;
    const noise = r() < 0.5 ? other.orig[f]! : (Math.floor(r() * 0x100000000) & full) >>> 0;
    q.orig[f] = ((m.orig[f]! & mask[f]!) | (noise & ~mask[f]! & full)) >>> 0;
  }
  const TTL = 11;
  if (q.orig[TTL]! <= minTtl) q.orig[TTL] = minTtl + 1 + Math.floor(r() * (254 - minTtl));
  return q;
}

const NAT_ACTIONS = ['dnat', 'snat', 'rev-dnat', 'rev-snat', 'static-dnat', 'static-snat'] as const;

/** A rule with a random action; one in five translates addresses (to one of the topology's IPs). */
export function randomRule(
  r: () => number,
  conditions: Record<string, unknown>,
  ips: readonly string[],
): RuleSpec {
  if (r() < 0.2) {
    const action = pick(r, NAT_ACTIONS);
    const a = pick(r, ips);
    const ports =
      action === 'dnat' || action === 'snat' ? (r() < 0.5 ? { portFrom: 2000, portTo: 2003 } : {}) : {};
    return { action, conditions, natTargets: [{ addressFrom: a, addressTo: a, ...ports }] };
  }
  return { action: pick(r, ['accept', 'drop', 'reject', 'return', 'continue', 'jump'] as const), conditions };
}

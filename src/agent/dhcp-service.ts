/**
 * The agent's DHCP service: the I/O around dhcp-server.ts. A DHCP client message the simulation handed
 * to the agent (effect `dhcpRequest`) is classified; static host entries are answered at once; dynamic
 * addresses are leased, renewed, released and declined through the store (leases.ts, so two agents
 * never give one address to two clients); the reply goes out of the client's port (PACKET_OUT, by
 * `send`).
 *
 * Invariant: nothing a client sends can throw out of `request`: every request ends in exactly one of a
 * reply, a counted silence (`ignored`, by reason) or a counted failure (`failures`, logged).
 */
import { createHash } from 'node:crypto';
import { formatIpv4, formatMac, parseCidr, prefixMask } from '../addr.js';
import type { Logger } from '../log.js';
import type { Topology } from '../sim/topology.js';
import { StoreError } from '../state/errors.js';
import { allocate, decline, leaseOfClient, release } from '../state/leases.js';
import type { DhcpSubnet } from '../state/model.js';
import type { TopologyStore } from '../state/store.js';
import {
  classifyDhcp,
  dhcpReply,
  staticHost,
  type DhcpIntent,
  type DhcpOutcome,
  type DhcpServerIdentity,
} from './dhcp-server.js';
import type { DhcpStats } from './stats.js';

export interface DhcpServiceDeps {
  readonly store: () => TopologyStore;
  readonly topology: () => Topology;
  readonly hostId: string;
  /** Interface MTU option given to clients (0: none). */
  readonly mtu: number;
  /** Sends `frame` out of the device port `portId` (to the client). */
  readonly send: (portId: string, frame: Uint8Array) => void;
  readonly log: Logger;
  readonly stats: DhcpStats;
  readonly now?: () => number;
}

/** A locally administered MAC derived from the subnet's id: stable across agents and restarts. */
function derivedMac(id: string): string {
  const h = createHash('sha256').update(id).digest();
  h[0] = (h[0]! & 0xfc) | 0x02;
  return formatMac(h, 0);
}

/**
 * Who answers on the subnet: the gateway (its router port's MAC when a router port on the bridge has
 * that address), else a router port's address on the bridge, else the subnet's last host address.
 */
export function serverIdentity(topo: Topology, d: DhcpSubnet): DhcpServerIdentity {
  const routerPorts: { ip: string; mac: string }[] = [];
  for (const pid of topo.bridge(d.bridgeId)?.portIds ?? []) {
    const p = topo.get('port', pid);
    const peer = p?.peerId ? topo.get('port', p.peerId) : undefined;
    if (peer?.address && peer.mac) routerPorts.push({ ip: peer.address.split('/')[0]!, mac: peer.mac });
  }
  const gw = d.gateway;
  const byGateway = routerPorts.find((r) => r.ip === gw);
  if (byGateway) return byGateway;
  if (gw !== null) return { ip: gw, mac: derivedMac(d.id) };
  if (routerPorts[0]) return routerPorts[0];
  const net = parseCidr(d.subnet, true);
  const last = typeof net === 'string' ? 0 : (net.addr | ~prefixMask(net.len)) >>> 0;
  const len = typeof net === 'string' ? 32 : net.len;
  return { ip: formatIpv4(len >= 31 ? last : last - 1), mac: derivedMac(d.id) };
}

const HOSTNAME_OK = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/;

export class DhcpService {
  private readonly stats: DhcpStats;

  constructor(private readonly deps: DhcpServiceDeps) {
    this.stats = deps.stats;
  }

  /** Handles one client message that entered `portId` (never throws; see the header). */
  async request(dhcpId: string, portId: string, frame: Uint8Array): Promise<void> {
    this.stats.requests++;
    try {
      await this.serve(dhcpId, portId, frame);
    } catch (e) {
      this.stats.failures++;
      this.deps.log.warn({ port: portId, err: (e as Error).message }, 'DHCP request failed');
    }
  }

  private async serve(dhcpId: string, portId: string, frame: Uint8Array): Promise<void> {
    const topo = this.deps.topology();
    const d = topo.get('dhcp', dhcpId);
    if (d === undefined || !d.enabled) return this.stats.ignore('no-address');
    const server = serverIdentity(topo, d);
    const intent = classifyDhcp(frame, d, server.ip);
    if (intent.kind === 'ignore') {
      this.stats.ignore(intent.reason);
      this.deps.log.debug({ port: portId, reason: intent.reason, detail: intent.detail }, 'DHCP ignored');
      return;
    }
    const now = this.deps.now?.() ?? Date.now();
    if (intent.kind === 'release') {
      const mine = await leaseOfClient(this.deps.store(), d.id, intent.mac);
      if (mine?.address === intent.address) await release(this.deps.store(), d.id, intent.mac);
      this.stats.releases++;
      return;
    }
    if (intent.kind === 'decline') {
      if (staticHost(d, intent.mac) === undefined)
        await decline(this.deps.store(), d.id, { mac: intent.mac, address: intent.address, now }).catch(
          (e: unknown) => {
            if (!(e instanceof StoreError && e.code === 'not-found')) throw e;
          },
        );
      this.stats.declines++;
      return;
    }
    const outcome = await this.outcome(intent, d, portId, now);
    if (outcome === undefined) return;
    const bytes = dhcpReply(intent, outcome, { subnet: d, server, mtu: this.deps.mtu });
    if (outcome.kind === 'nak') this.stats.naks++;
    this.stats.replies++;
    this.deps.log.debug({ port: portId, mac: intent.msg.chaddr, type: intent.kind, outcome }, 'DHCP reply');
    this.deps.send(portId, bytes);
  }

  /** The address (or NAK) for an offer/request/nak/inform intent; undefined: stay silent. */
  private async outcome(
    intent: Extract<DhcpIntent, { msg: unknown }>,
    d: DhcpSubnet,
    portId: string,
    now: number,
  ): Promise<DhcpOutcome | undefined> {
    if (intent.kind === 'inform') return { kind: 'inform' };
    if (intent.kind === 'nak') return { kind: 'nak', why: intent.why };
    const mac = intent.msg.chaddr;
    const wanted = intent.kind === 'request' ? intent.address : intent.requested;
    const fixed = staticHost(d, mac);
    let address: string;
    let hostname: string | undefined;
    if (fixed !== undefined) {
      address = fixed.address;
      hostname = fixed.name;
    } else if (d.rangeStart === null || d.rangeEnd === null) {
      this.stats.ignore('no-address');
      return undefined;
    } else {
      const asked = intent.msg.options.find((o) => o.type === 'hostname')?.value;
      try {
        const lease = await allocate(this.deps.store(), d.id, {
          mac,
          now,
          hostId: this.deps.hostId,
          portId,
          requested: wanted,
          hostname: typeof asked === 'string' && HOSTNAME_OK.test(asked) ? asked : null,
        });
        address = lease.address;
      } catch (e) {
        if (!(e instanceof StoreError && e.code === 'exhausted')) throw e;
        this.deps.log.warn({ port: portId, mac, err: e.message }, 'DHCP: no free address');
        this.stats.ignore('no-address');
        return intent.kind === 'request' ? { kind: 'nak', why: 'no free address' } : undefined;
      }
    }
    if (intent.kind === 'request' && address !== intent.address)
      return { kind: 'nak', why: `${intent.address} is not the client's address (${address})` };
    return { kind: 'address', address, hostname };
  }
}

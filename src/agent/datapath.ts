/**
 * The integration bridge as the agent sets it up with ovs-vsctl and keeps its proactive flows with
 * ovs-ofctl: br-int (fail_mode=secure, OpenFlow 1.3, the agent as controller on a unix socket),
 * flow-based GRE and VXLAN tunnel ports, bound interfaces added to the bridge and marked with
 * external_ids:iface-id, and the flows that never need a simulation:
 *   priority 0    table-miss -> CONTROLLER
 *   priority 1    in_port=TUNNEL -> drop            (a tunnel key nobody here serves)
 *   priority 100  in_port=TUNNEL,tun_id=KEY -> output:PORT   (delivery to a local port)
 *
 * Invariant: proactive flows carry cookies with the top bit set (reactive ones never do) and are
 * replaced as one OpenFlow bundle, so a binding change never leaves a moment where a local port's
 * tunnel delivery is missing, and restarting the agent replaces them all atomically.
 */
import type { Logger } from '../log.js';
import { Ovs } from '../ovs/ovs.js';
import { PROACTIVE_COOKIE_BIT } from './flow-table.js';

export const TUNNEL_PORTS = { gre: 'tun-gre', vxlan: 'tun-vxlan' } as const;
export type TunnelType = keyof typeof TUNNEL_PORTS;

export interface DatapathOptions {
  readonly bridge: string;
  readonly datapathType: 'system' | 'netdev';
  /** unix socket path the agent listens on for OpenFlow. */
  readonly controllerSocket: string;
  readonly controllerRateLimit: number;
  readonly controllerBurstLimit: number;
}

function hexCookie(c: bigint): string {
  return `0x${c.toString(16)}`;
}

export class Datapath {
  /** Proactive flow lines currently installed, by key. */
  private installed = new Map<string, string>();

  constructor(
    readonly ovs: Ovs,
    readonly opts: DatapathOptions,
    private readonly log: Logger,
  ) {}

  /** Creates br-int or adopts an existing one, and points it at the agent's socket. */
  async ensureBridge(): Promise<void> {
    const b = this.opts.bridge;
    const ctl = `unix:${this.opts.controllerSocket}`;
    await this.ovs.vsctl([
      '--may-exist',
      'add-br',
      b,
      '--',
      'set',
      'bridge',
      b,
      `datapath_type=${this.opts.datapathType}`,
      'fail_mode=secure',
      'protocols=OpenFlow13',
      'other-config:disable-in-band=true',
      '--',
      'set-controller',
      b,
      ctl,
    ]);
    // The largest packet-in queue OVS allows: bursts of new flows wait there instead of being dropped.
    const limits: string[] = ['connection_mode=out-of-band', 'controller_queue_size=512'];
    if (this.opts.controllerRateLimit > 0) {
      limits.push(`controller_rate_limit=${this.opts.controllerRateLimit}`);
      if (this.opts.controllerBurstLimit > 0)
        limits.push(`controller_burst_limit=${this.opts.controllerBurstLimit}`);
    }
    await this.ovs.vsctl(['set', 'controller', b, ...limits]);
    this.log.info(
      { bridge: b, controller: ctl, datapathType: this.opts.datapathType },
      'integration bridge ready',
    );
  }

  /** Creates the flow-based tunnel ports (remote_ip and key chosen per packet by set_field). */
  async ensureTunnels(localIp: string | null): Promise<void> {
    for (const [type, name] of Object.entries(TUNNEL_PORTS)) {
      const opts = ['options:remote_ip=flow', 'options:key=flow'];
      if (localIp) opts.push(`options:local_ip=${localIp}`);
      await this.ovs.vsctl([
        '--may-exist',
        'add-port',
        this.opts.bridge,
        name,
        '--',
        'set',
        'interface',
        name,
        `type=${type}`,
        ...opts,
      ]);
    }
  }

  /** Adds a bound interface to the bridge (if it is not there) and records the binding on it. */
  async bindInterface(iface: string, portId: string): Promise<void> {
    await this.ovs.vsctl([
      '--may-exist',
      'add-port',
      this.opts.bridge,
      iface,
      '--',
      'set',
      'interface',
      iface,
      `external_ids:iface-id=${portId}`,
    ]);
  }

  async unbindInterface(iface: string): Promise<void> {
    await this.ovs.vsctl(['--if-exists', 'remove', 'interface', iface, 'external_ids', 'iface-id']);
  }

  /**
   * Makes the proactive flows exactly `deliveries` (tunnel key -> local OpenFlow port) plus the fixed
   * ones, as one bundle. With `replaceAll` (start-up) every proactive flow in the switch is replaced,
   * including any a previous agent left; otherwise only the difference is sent.
   */
  async syncProactive(
    tunnelPorts: readonly number[],
    deliveries: ReadonlyMap<number, number>,
    replaceAll: boolean,
    /** Further proactive lines by key (BGP speaker steering, bgp-steering.ts). */
    extra: ReadonlyMap<string, string> = new Map(),
  ): Promise<void> {
    const want = new Map<string, string>();
    const cookie = (n: bigint) => hexCookie(PROACTIVE_COOKIE_BIT | n);
    want.set('miss', `cookie=${cookie(0n)},table=0,priority=0,actions=CONTROLLER:65535`);
    for (const t of tunnelPorts) {
      want.set(
        `tundrop:${t}`,
        `cookie=${cookie(BigInt(t) << 32n)},table=0,priority=1,in_port=${t},actions=drop`,
      );
      for (const [key, ofport] of deliveries) {
        want.set(
          `deliver:${t}:${key}`,
          `cookie=${cookie((BigInt(t) << 32n) | BigInt(key))},table=0,priority=100,in_port=${t},tun_id=${key},actions=output:${ofport}`,
        );
      }
    }
    for (const [k, l] of extra) want.set(k, l); // BGP steering (bgp-steering.ts)
    const lines: string[] = [];
    if (replaceAll) {
      lines.push(`delete cookie=${hexCookie(PROACTIVE_COOKIE_BIT)}/${hexCookie(PROACTIVE_COOKIE_BIT)}`);
      for (const l of want.values()) lines.push(`add ${l}`);
    } else {
      for (const [k, l] of this.installed) {
        if (!want.has(k))
          lines.push(`delete_strict ${l.replace(/,actions=.*$/, '').replace(/^cookie=[^,]+,/, '')}`);
      }
      for (const [k, l] of want) if (this.installed.get(k) !== l) lines.push(`add ${l}`);
    }
    if (lines.length === 0) return;
    await this.ovs.addFlows(this.opts.bridge, lines);
    this.installed = want;
    this.log.debug({ changed: lines.length, deliveries: deliveries.size }, 'proactive flows synced');
  }
}

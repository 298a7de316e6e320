/**
 * Port QoS: ingress rate limiting of a VM's port with an OpenFlow 1.3 meter.
 *
 * Why meters: on this project's datapath (OVS 3.1, userspace `netdev`, VM veths attached as system
 * interfaces) `ingress_policing_rate` on the Interface has no effect: OVS adds a tc ingress qdisc to
 * the veth but no policing filter, and iperf3 measured 468 Mbit/s under a 100 Mbit/s setting. The
 * userspace datapath implements meters itself (`ovs-ofctl -O OpenFlow13 meter-features br-int`: kbps,
 * pktps, burst, stats; drop bands; 262,144 meters), and a 100 Mbit/s meter measured 93-97 Mbit/s of
 * TCP goodput (docs/qos.md).
 *
 * A port with `rateKbps` gets meter N = its tunnel key (unique in the deployment, so the same on every
 * restart) with one drop band at the rate and a burst of `burstKb` (default: 200 ms at the rate, what
 * TCP needs to fill the rate through a policer). Every reactive flow that enters at the port carries a
 * `meter:N` instruction (`meterFor`), so every packet the VM sends through the datapath is policed;
 * a flow's first packet too, which the agent sends through table 0 (OFPP_TABLE) after the FLOW_MOD
 * (controller.ts). Not policed: packets of results that cannot be flows, and a packet that reached the
 * agent while its flow was being installed (sent with the flow's actions: through the table, a flow
 * the switch refused would bring it back to the agent again and again).
 *
 * Invariants: a flow references a meter only after the switch confirmed it (ovs-ofctl returned), so
 * no FLOW_MOD fails on a missing meter; after a sync changed a port's meter, the flows entering at
 * that port are invalidated (the tags `sync` returns), so none keeps an old rate or misses a new one;
 * meters of ports that left the host or lost their rate are deleted (OVS deletes the flows using them).
 */
import type { Logger } from '../log.js';
import type { Obj } from '../state/model.js';
import { Tags, type Tag } from '../sim/tags.js';

/** The highest meter id the userspace datapath takes (meter-features: max_meter 262144). */
export const MAX_METER_ID = 262143;

export interface MeterSpec {
  readonly meterId: number;
  readonly portId: string;
  readonly rateKbps: number;
  /** kbit. */
  readonly burstKb: number;
}

/** The burst a rate gets when none is given: 200 ms of traffic at the rate (at least 1 kbit). */
export function defaultBurstKb(rateKbps: number): number {
  return Math.max(1, Math.round(rateKbps / 5));
}

/** The meters the local ports want, by meter id; ports whose tunnel key is above MAX_METER_ID are reported. */
export function desiredMeters(localPorts: Iterable<Obj<'port'>>): {
  meters: Map<number, MeterSpec>;
  unmetered: string[];
} {
  const meters = new Map<number, MeterSpec>();
  const unmetered: string[] = [];
  for (const p of localPorts) {
    if (p.rateKbps === null) continue;
    if (p.tunnelKey > MAX_METER_ID) {
      unmetered.push(p.name);
      continue;
    }
    meters.set(p.tunnelKey, {
      meterId: p.tunnelKey,
      portId: p.id,
      rateKbps: p.rateKbps,
      burstKb: p.burstKb ?? defaultBurstKb(p.rateKbps),
    });
  }
  return { meters, unmetered };
}

/** The ovs-ofctl text of a meter (add-meter / mod-meter argument). */
export function meterText(m: MeterSpec): string {
  return `meter=${m.meterId},kbps,burst,stats,band=type=drop,rate=${m.rateKbps},burst_size=${m.burstKb}`;
}

function same(a: MeterSpec | undefined, b: MeterSpec | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.portId === b.portId &&
    a.rateKbps === b.rateKbps &&
    a.burstKb === b.burstKb
  );
}

/** Runs `ovs-ofctl -O OpenFlow13 ARGS` against the agent's switch. */
export type Ofctl = (args: readonly string[]) => Promise<string>;

/** The meters installed in the local switch, and the one way to change them. */
export class PortMeters {
  private installed = new Map<number, MeterSpec>();
  private readonly byPort = new Map<string, number>();

  constructor(private readonly log: Logger) {}

  /** The meter a flow entering at `portId` must carry, if the port has one installed. */
  meterFor(portId: string): number | undefined {
    return this.byPort.get(portId);
  }

  /**
   * Makes the switch's meters exactly `want` (with `replaceAll`, first deleting every meter, as after
   * a (re)connection). Returns the tags of the ports whose meter changed: their flows must be redone.
   */
  async sync(
    ofctl: Ofctl,
    bridge: string,
    want: ReadonlyMap<number, MeterSpec>,
    replaceAll: boolean,
  ): Promise<Tag[]> {
    const changed = new Set<string>();
    if (replaceAll) {
      await ofctl(['del-meters', bridge]);
      for (const m of this.installed.values()) changed.add(m.portId);
      this.installed = new Map();
      this.byPort.clear();
    }
    for (const [id, m] of this.installed) {
      if (want.has(id)) continue;
      await ofctl(['del-meter', bridge, `meter=${id}`]);
      this.installed.delete(id);
      this.byPort.delete(m.portId);
      changed.add(m.portId);
    }
    for (const [id, m] of want) {
      const cur = this.installed.get(id);
      if (same(cur, m)) continue;
      try {
        await ofctl([cur === undefined ? 'add-meter' : 'mod-meter', bridge, meterText(m)]);
      } catch (e) {
        this.log.error(
          { err: (e as Error).message, meter: meterText(m) },
          'cannot install the meter of a port',
        );
        continue;
      }
      if (cur !== undefined) {
        this.byPort.delete(cur.portId);
        changed.add(cur.portId);
      }
      this.installed.set(id, m);
      this.byPort.set(m.portId, id);
      changed.add(m.portId);
    }
    if (changed.size > 0)
      this.log.info({ meters: this.installed.size, changed: changed.size }, 'port meters synced');
    return [...changed].map((p) => Tags.port(p));
  }
}

/**
 * Packets the agent puts on the topology itself: a simulation's generated replies (ARP, ICMP, TCP
 * reset, ICMPv6, neighbour and router advertisements) and a router's ARP requests and neighbour
 * solicitations for its next hops. Each is simulated leaving the device port it
 * comes from (egress), and the result goes out as a PACKET_OUT from the controller.
 *
 * Invariant: at most one ARP request (or neighbour solicitation) a second per router and address (RFC 1122 section 2.3.2.1),
 * however many packets wait for it; nothing goes out for a frame that does not parse or a result with
 * nowhere to go.
 */
import { formatIpv4 } from '../addr.js';
import { OFPP, type Outgoing } from '../openflow/index.js';
import { FlowMatch } from '../sim/flow-match.js';
import type { Action as SimAction } from '../sim/result.js';
import type { MemoryRuntimeState } from '../sim/runtime-state.js';
import { simulate } from '../sim/simulate.js';
import type { Topology } from '../sim/topology.js';
import { packetOut } from './flow-mods.js';
import { fillFromFrame } from './frame-match.js';
import { arpRequest, buildGenerated } from './generated-packets.js';
import { arpWaitKey, ndWaitKey } from './held-packets.js';
import { neighbourSolicit } from './generated6.js';
import type { PortLocator } from './locations.js';
import type { AgentStats } from './stats.js';
import { translateActions } from './translate.js';

export class Emitter {
  /** arp wait key -> when its last request went out (ms). */
  private readonly arpAsked = new Map<string, number>();

  constructor(
    private readonly topology: () => Topology,
    private readonly state: MemoryRuntimeState,
    private readonly ports: PortLocator,
    private readonly stats: AgentStats,
    /**
     * A generated packet met objects the replica lacks (an agent that loads on demand): they are
     * loaded, and the next request (ARP asks again each second) goes out.
     */
    private readonly onNeed: (ids: readonly string[], now: number) => void = () => undefined,
  ) {}

  /** Sends a simulation's generated packet, completed from the frame that caused it. */
  emit(a: Extract<SimAction, { kind: 'emit' }>, original: Uint8Array, now: number, out: Outgoing[]): void {
    const bytes = buildGenerated(a.packet, original, a.ndp);
    if (bytes !== undefined) this.sendFromPort(a.fromPortId, bytes, now, out);
  }

  /**
   * Simulates `frame` leaving the device through `portId` and adds the PACKET_OUT that carries it;
   * with `only`, to those of the ports it reaches only.
   */
  sendFromPort(
    portId: string,
    frame: Uint8Array,
    now: number,
    out: Outgoing[],
    only?: ReadonlySet<string>,
  ): void {
    const m = new FlowMatch();
    if (fillFromFrame(m, frame, 0) !== null) return;
    const res = simulate(this.topology(), m, portId, now, { state: this.state, direction: 'egress' });
    if (res.kind === 'notYet') this.onNeed(res.need, now);
    if (res.kind !== 'done') return;
    const actions =
      only === undefined ? res.actions : res.actions.filter((a) => a.kind !== 'output' || only.has(a.portId));
    if (only !== undefined && !actions.some((a) => a.kind === 'output')) return;
    const tr = translateActions(actions, res.packet, OFPP.CONTROLLER, this.ports.locate);
    if (tr.actions.length === 0) return;
    this.stats.generated++;
    out.push(packetOut(tr.actions, OFPP.CONTROLLER, 0xffffffff, Buffer.from(frame)));
  }

  /** Router `routerId` asks, from its port `portId`, who has `ip` (unless it asked within a second). */
  askArp(routerId: string, ip: number, portId: string, now: number, out: Outgoing[]): void {
    const key = arpWaitKey(routerId, ip);
    if ((this.arpAsked.get(key) ?? -Infinity) > now - 1000) return;
    this.arpAsked.set(key, now);
    const port = this.topology().get('port', portId);
    if (!port?.address || !port.mac) return;
    const frame = arpRequest(port.mac, port.address.split('/')[0]!, formatIpv4(ip));
    this.sendFromPort(portId, frame, now, out);
  }

  /**
   * Router `routerId` solicits, from its port `portId`, the neighbour `ip` (IPv6 text), unless it did
   * within a second (RFC 4861 RetransTimer).
   */
  askNd(routerId: string, ip: string, portId: string, now: number, out: Outgoing[]): void {
    const key = ndWaitKey(routerId, ip);
    if ((this.arpAsked.get(key) ?? -Infinity) > now - 1000) return;
    this.arpAsked.set(key, now);
    const port = this.topology().get('port', portId);
    if (!port?.address6 || !port.mac) return;
    this.sendFromPort(portId, neighbourSolicit(port.mac, port.address6.split('/')[0]!, ip), now, out);
  }

  /** Forgets when requests were sent (the next ask goes out at once). */
  clear(): void {
    this.arpAsked.clear();
  }
}

/**
 * The simulation engine's public surface: build a topology, build a packet, simulate, render a trace.
 * Invariant: everything here is pure (no I/O, clock or randomness); see each module for its own.
 */
export {
  Topology,
  type TopologyObject,
  type TopologyChange,
  type PortView,
  type BridgeView,
  type RouterView,
  type ChainView,
} from './topology.js';
export { simulate, EMPTY_STATE, type SimulateOptions } from './simulate.js';
export { FlowMatch } from './flow-match.js';
export { buildFlowMatch, packetFieldsOf, type PacketFields, type BuildResult } from './packet-fields.js';
export { finishMask, agreesOnMask, maskFields, formatMask, type FlowMask, type MaskField } from './mask.js';
export { Tags, type Tag } from './tags.js';
export type { Action, Effect, SimResult, SimDone, NotYet, TraceNode, SetFieldName } from './result.js';
export {
  MemoryRuntimeState,
  MemoryMacTable,
  MemoryArpCache,
  MemoryConntrack,
  conntrackKey,
  reverseKey,
  type RuntimeState,
  type MacTable,
  type MacEntry,
  type ArpCache,
  type ArpEntry,
  type Conntrack,
} from './runtime-state.js';
export {
  renderTrace,
  traceJson,
  portNamer,
  describePacket,
  formatAction,
  formatEffect,
  type TraceJson,
  type PortNamer,
} from './trace.js';
export { Classifier } from './classifier.js';
export { RouteTable, type RouteEntry } from './route-table.js';
export { MAX_DEVICE_HOPS, MAX_JUMP_DEPTH } from './context.js';

import { Topology, type TopologyObject } from './topology.js';

/** A topology from a full set of objects (same as Topology.from). */
export function buildTopology(objects: readonly TopologyObject[]): Topology {
  return Topology.from(objects);
}

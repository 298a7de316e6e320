/**
 * Packet traces asked for through the control API (`trace`): the next N packets entering a port are
 * simulated with tracing on, and each simulation's trace is rendered and kept for the asker.
 *
 * Invariant: a request is answered (`done`) exactly once, when its last packet is in, and is gone
 * from here from then on (or once cancelled).
 */
import type { SimDone } from '../sim/result.js';
import type { Topology } from '../sim/topology.js';
import { objectNamer, portNamer, renderTrace } from '../sim/trace.js';
import type { TraceRequest } from './controller-types.js';

export class TraceRequests {
  private readonly byPort = new Map<string, TraceRequest>();

  /** Traces the next `count` packets entering `portId`; `done` is called when they are all in. */
  next(portId: string, count: number, done: () => void): string[] {
    const req: TraceRequest = { remaining: count, results: [], done };
    this.byPort.set(portId, req);
    return req.results;
  }

  cancel(portId: string): void {
    this.byPort.delete(portId);
  }

  /** The request a packet entering `portId` is traced for, if any. */
  at(portId: string): TraceRequest | undefined {
    return this.byPort.size === 0 ? undefined : this.byPort.get(portId);
  }

  /** Keeps a traced packet's rendered trace. */
  traced(req: TraceRequest, portId: string, res: SimDone, topology: Topology): void {
    req.results.push(renderTrace(res, portNamer(topology), objectNamer(topology)));
    if (--req.remaining <= 0) {
      this.byPort.delete(portId);
      req.done();
    }
  }
}

/**
 * bench/agent-stats: what the flow-setup bench reads of a lab agent through its control socket (the
 * `stats` reply: counters, the packet-in histogram, the memory breakdown), and the memory breakdown as
 * figures and as a table line.
 */
import { controlRequest } from '../src/control/control-api.js';
import type { Histogram } from '../src/lab/eval-cases.js';
import type { LabHost } from '../src/lab/lab.js';

export interface AgentStatsReply {
  flowsInstalled: number;
  flowsLive: number;
  packetIns: number;
  /** Absent before the agent wrote once per turn (then: one write per packet-in). */
  packetInWrites?: number;
  packetInLatencyUs: Histogram;
  /** The last idle-expiry read: slices, flows read, milliseconds (absent before the agent expired flows itself). */
  idleSweepSlices?: number;
  idleSweepFlows?: number;
  idleSweepMs?: number;
  /** MB by kind (absent before the agent reported it). */
  memory?: Record<string, number>;
}

export async function agentStats(host: LabHost): Promise<AgentStatsReply> {
  return (await controlRequest(host.controlSocket, { cmd: 'stats' })) as AgentStatsReply;
}

/** The agent's own memory breakdown (MB) as figures named `agent_<kind>_mb_<when>`. */
export function memFigures(when: string, m: Record<string, number> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of ['heapUsed', 'heapTotal', 'external', 'arrayBuffers', 'new_space', 'old_space'])
    if (m?.[k] !== undefined) out[`agent_${k}_mb_${when}`] = m[k];
  return out;
}

export function memLine(m: Record<string, number> | undefined): string {
  if (m === undefined) return 'not reported by the agent';
  return `heap used ${m.heapUsed} of ${m.heapTotal} MB (new space ${m.new_space}, old ${m.old_space}), external ${m.external} MB (array buffers ${m.arrayBuffers})`;
}

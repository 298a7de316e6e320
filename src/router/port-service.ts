/**
 * What midonet-router holds for one uplink port with BGP peers: its speaker spec, its election, the
 * speaker it runs while leading, the peer state last read from FRR and the routes it imported; and the
 * guard that runs a speaker step and records its outcome.
 *
 * Invariant: `speaker` is set only while `leading`; `error` is the last step's failure (or the speaker's
 * reported problems), cleared by the next step that succeeds without problems.
 */
import type { Logger } from '../log.js';
import type { Campaign } from '../state/store.js';
import type { SpeakerSpec } from './desired.js';
import type { PeerState, Speaker } from './speaker.js';

/** What the process does for one port. */
export interface PortService {
  spec: SpeakerSpec;
  campaign: Campaign | undefined;
  leading: boolean;
  speaker: Speaker | undefined;
  states: Map<string, PeerState>;
  learnedRoutes: number;
  capped: Map<string, number>;
  error: string | undefined;
  lastPollAt: number;
}

/** A port not (yet) led, with nothing read or imported. */
export function newPortService(spec: SpeakerSpec): PortService {
  return {
    spec,
    campaign: undefined,
    leading: false,
    speaker: undefined,
    states: new Map(),
    learnedRoutes: 0,
    capped: new Map(),
    error: undefined,
    lastPollAt: 0,
  };
}

/** Runs a speaker step for the port, recording its failure or the speaker's problems in `error`. */
export async function guard(svc: PortService, log: Logger, f: () => Promise<void>): Promise<void> {
  try {
    await f();
    svc.error = svc.speaker?.problems.map((p) => p.message).join('; ') || undefined;
  } catch (e) {
    svc.error = (e as Error).message;
    log.error({ port: svc.spec.portName, err: svc.error }, 'speaker step failed');
  }
}

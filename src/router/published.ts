/**
 * What midonet-router publishes about its BGP peers: per-peer state for the CLI (heartbeat snapshot and
 * the control socket's `peers`), per-port stats (`stats`) and session samples for the metrics endpoint.
 *
 * Invariant: live FRR state is reported only for ports this process leads (a standby reports
 * 'standby'); a peer the configuration rejects is reported as 'Invalid' with its problem, never dropped.
 */
import type { BgpSessionSample } from '../metrics/bgp-metrics.js';
import type { Problem } from './desired.js';
import type { PortService } from './port-service.js';
import type { Replica } from './replica.js';

/** Per-peer state as published to the CLI. */
export interface PublishedPeer {
  readonly peerId: string;
  readonly peerName: string;
  readonly peerAddress: string;
  readonly portId: string;
  readonly portName: string;
  readonly leader: boolean;
  readonly state: string;
  readonly established: boolean;
  readonly uptimeMs: number | null;
  readonly prefixesReceived: number | null;
  readonly prefixesAdvertised: number | null;
  readonly routesImported: number | null;
  readonly error: string | null;
  readonly readAt: number;
}

/** Every peer this process knows for its host, with live state where it leads. */
export function publishedPeers(
  ports: Iterable<PortService>,
  problems: readonly Problem[],
  replica: Replica,
): PublishedPeer[] {
  const out: PublishedPeer[] = [];
  for (const svc of ports) {
    for (const p of svc.spec.peers) {
      const st = svc.states.get(p.address);
      out.push({
        peerId: p.id,
        peerName: p.name,
        peerAddress: p.address,
        portId: svc.spec.portId,
        portName: svc.spec.portName,
        leader: svc.leading,
        state: svc.leading ? (st?.state ?? (svc.error ? 'Error' : 'Idle')) : 'standby',
        established: st?.established ?? false,
        uptimeMs: st ? st.uptimeMs : null,
        prefixesReceived: st ? st.prefixesReceived : null,
        prefixesAdvertised: st ? st.prefixesAdvertised : null,
        routesImported: svc.leading ? svc.learnedRoutes : null,
        error: svc.error ?? null,
        readAt: svc.lastPollAt,
      });
    }
  }
  for (const pr of problems) {
    if (!pr.object.startsWith('bgp-peer')) continue;
    const peer = replica.get('bgp-peer', pr.objectId);
    if (!peer) continue;
    out.push({
      peerId: peer.id,
      peerName: peer.name,
      peerAddress: peer.peerAddress,
      portId: peer.portId,
      portName: replica.get('port', peer.portId)?.name ?? peer.portId,
      leader: false,
      state: 'Invalid',
      established: false,
      uptimeMs: null,
      prefixesReceived: null,
      prefixesAdvertised: null,
      routesImported: null,
      error: pr.message,
      readAt: Date.now(),
    });
  }
  return out;
}

/** The ports served, as the control socket's `stats` reports them. */
export function portStats(ports: Iterable<PortService>) {
  return [...ports].map((s) => ({
    portId: s.spec.portId,
    portName: s.spec.portName,
    leading: s.leading,
    namespace: s.speaker?.netns ?? null,
    routesImported: s.learnedRoutes,
    error: s.error ?? null,
  }));
}

/** The sessions as last read from FRR, for the metrics endpoint. */
export function sessionSamples(ports: Iterable<PortService>): BgpSessionSample[] {
  const out: BgpSessionSample[] = [];
  for (const svc of ports) {
    for (const [address, st] of svc.states) {
      const peer = svc.spec.peers.find((p) => p.address === address);
      out.push({
        peer: peer?.name ?? address,
        uplink: svc.spec.portName,
        state: st.state,
        prefixesReceived: st.prefixesReceived,
        prefixesAdvertised: st.prefixesAdvertised,
      });
    }
  }
  return out;
}

/**
 * Reading BGP peer state for people (midonet-cli `bgp-peer list`, `router show`): every live
 * midonet-router announces itself in the store's liveness records (role 'midonet-router', its control
 * socket, and a snapshot of its peers); this asks each one over its control socket for state read from
 * FRR now, and falls back to the snapshot of its last heartbeat when the socket is not reachable
 * from here (another machine).
 *
 * Invariant: a peer no live router process serves is reported with state 'unknown', never with a
 * stale state; a leader's report wins over a standby's.
 */
import { existsSync } from 'node:fs';
import { controlRequest } from '../control/control-api.js';
import type { TopologyStore } from '../state/store.js';
import { ROUTER_ROLE, type PublishedPeer } from './daemon.js';

export interface PeerView {
  readonly state: string;
  readonly established: boolean | null;
  readonly uptime: string | null;
  readonly prefixesReceived: number | null;
  readonly prefixesAdvertised: number | null;
  readonly routesImported: number | null;
  readonly servedBy: string | null;
  readonly error: string | null;
}

export const UNKNOWN_PEER: PeerView = {
  state: 'unknown',
  established: null,
  uptime: null,
  prefixesReceived: null,
  prefixesAdvertised: null,
  routesImported: null,
  servedBy: null,
  error: 'no midonet-router process serves this peer',
};

/** 93784000 ms -> "1d02h03m04s". */
export function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const hms = `${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m${String(s % 60).padStart(2, '0')}s`;
  return d > 0 ? `${d}d${hms}` : hms;
}

/** Peer id -> state, from every live midonet-router. */
export async function peerStates(store: TopologyStore): Promise<Map<string, PeerView>> {
  const out = new Map<string, PeerView & { leader: boolean }>();
  for (const l of await store.liveness()) {
    if (!l.alive || l.info.role !== ROUTER_ROLE) continue;
    const sock = typeof l.info.controlSocket === 'string' ? l.info.controlSocket : '';
    let peers = (Array.isArray(l.info.peers) ? l.info.peers : []) as PublishedPeer[];
    if (sock && existsSync(sock)) {
      try {
        peers = (await controlRequest(sock, { cmd: 'peers' }, 3000)) as PublishedPeer[];
      } catch {
        /* the heartbeat's snapshot stands */
      }
    }
    const by = `${String(l.info.hostName ?? l.info.hostId)} pid ${String(l.info.pid)}`;
    for (const p of peers) {
      const prev = out.get(p.peerId);
      if (prev?.leader === true && !p.leader) continue;
      out.set(p.peerId, {
        leader: p.leader,
        state: p.state,
        established: p.established,
        uptime: p.established && p.uptimeMs !== null ? formatUptime(p.uptimeMs) : null,
        prefixesReceived: p.prefixesReceived,
        prefixesAdvertised: p.prefixesAdvertised,
        routesImported: p.routesImported,
        servedBy: by,
        error: p.error,
      });
    }
  }
  return new Map([...out].map(([k, { leader: _leader, ...v }]) => [k, v]));
}

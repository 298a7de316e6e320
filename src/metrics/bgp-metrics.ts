/**
 * midonet-router's BGP figures for its metrics endpoint (server.ts): session states and prefix
 * counts per peer, read at scrape time from what the router last polled from FRR (`show bgp summary
 * json`), through one callback. The router owns the polling; this module owns the metric names.
 *
 * Invariants:
 * - Every sample is replaced at each scrape: a peer that is gone disappears from the output instead
 *   of keeping its last value.
 * - Session state follows the Prometheus enum pattern: one series per known BGP state, exactly one of
 *   them 1 for each peer (an unknown state string from FRR is exported as state="other").
 */
import { Gauge, type Registry } from 'prom-client';

/** The BGP finite-state-machine states (RFC 4271), as FRR prints them. */
export const BGP_STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;

/** One BGP session as the router last saw it. */
export interface BgpSessionSample {
  /** The bgp-peer object's name (or its address when it has none). */
  readonly peer: string;
  /** The router port (uplink) the session runs on. */
  readonly uplink: string;
  /** FRR's state string, e.g. 'Established'. */
  readonly state: string;
  /** Prefixes accepted from the peer. */
  readonly prefixesReceived: number;
  /** Prefixes advertised to the peer. */
  readonly prefixesAdvertised: number;
}

/** Registers the BGP gauges on `registry`; `read` is called once per scrape. */
export function registerBgpMetrics(registry: Registry, read: () => readonly BgpSessionSample[]): void {
  const labelNames = ['peer', 'uplink'] as const;
  // The other gauges are filled by the state gauge's collect, which the registry may run concurrently:
  // each gauge reads its own fresh list instead.
  const state: Gauge<'peer' | 'uplink' | 'state'> = new Gauge({
    name: 'midonet_router_bgp_session_state',
    help: 'BGP session state per peer: 1 for the current state, 0 for the others',
    labelNames: ['peer', 'uplink', 'state'] as const,
    registers: [registry],
    collect: () => {
      state.reset();
      for (const s of read()) {
        const known = (BGP_STATES as readonly string[]).includes(s.state);
        for (const st of [...BGP_STATES, 'other'])
          state.set(
            { peer: s.peer, uplink: s.uplink, state: st },
            (known ? st === s.state : st === 'other') ? 1 : 0,
          );
      }
    },
  });
  const per = (name: string, help: string, value: (s: BgpSessionSample) => number) => {
    const g: Gauge<'peer' | 'uplink'> = new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect: () => {
        g.reset();
        for (const s of read()) g.set({ peer: s.peer, uplink: s.uplink }, value(s));
      },
    });
  };
  per('midonet_router_bgp_session_established', '1 when the BGP session is Established', (s) =>
    s.state === 'Established' ? 1 : 0,
  );
  per('midonet_router_bgp_prefixes_received', 'Prefixes accepted from the peer', (s) => s.prefixesReceived);
  per(
    'midonet_router_bgp_prefixes_advertised',
    'Prefixes advertised to the peer',
    (s) => s.prefixesAdvertised,
  );
}

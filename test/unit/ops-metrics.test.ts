/**
 * The metrics endpoint and the agent's metrics without a lab: a fake agent source, the real HTTP
 * server on an ephemeral loopback port, scrapes parsed as Prometheus text. Also the loopback-only
 * rule (at config load and at server start), the reload plan of SIGHUP, and the BGP gauges the
 * router registers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../../src/config.js';
import { AgentStats } from '../../src/agent/stats.js';
import { agentConfigSchema, reloadPlan } from '../../src/agent/config.js';
import { startAgentMetrics, type AgentMetricsSource } from '../../src/agent/metrics.js';
import { daemonRegistry, parseLoopbackListen, startMetricsServer } from '../../src/metrics/server.js';
import { parsePromText as parseProm } from '../../src/metrics/prom-text.js';
import { registerBgpMetrics, type BgpSessionSample } from '../../src/metrics/bgp-metrics.js';

const silent = pino({ level: 'silent' });

function fakeSource(
  over: Partial<AgentMetricsSource> = {},
): AgentMetricsSource & { stats: () => AgentStats } {
  const stats = new AgentStats();
  stats.packetIns = 7;
  stats.flowsInstalled = 5;
  stats.flowsRemoved = 1;
  stats.queueDrops = 2;
  stats.invalidations = 3;
  stats.flowsInvalidated = 4;
  stats.lastChangeSeq = 40;
  for (const us of [3, 12, 12, 700, 50000]) stats.observeSimulation(us);
  return {
    hostId: '00000000-0000-4000-8000-000000000001',
    version: '0.1.0',
    stats: () => stats,
    liveFlows: () => 4,
    queueLength: () => 0,
    openflowConnected: () => true,
    storeHead: () => Promise.resolve(42),
    ...over,
  };
}

async function get(port: number, path: string): Promise<{ status: number; body: string; type: string }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: await r.text(), type: r.headers.get('content-type') ?? '' };
}

describe('metrics endpoint', () => {
  it('parses loopback listen addresses and refuses others', () => {
    assert.deepEqual(parseLoopbackListen('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(parseLoopbackListen('[::1]:9464'), { host: '::1', port: 9464 });
    assert.deepEqual(parseLoopbackListen('localhost:1'), { host: 'localhost', port: 1 });
    assert.match(parseLoopbackListen('0.0.0.0:9464') as string, /loopback/);
    assert.match(parseLoopbackListen('192.0.2.1:9464') as string, /loopback/);
    assert.match(parseLoopbackListen('[::]:9464') as string, /loopback/);
    assert.match(parseLoopbackListen('127.0.0.1') as string, /HOST:PORT/);
    assert.match(parseLoopbackListen('127.0.0.1:70000') as string, /out of range/);
  });

  it('refuses a non-loopback address at start with a ConfigError', async () => {
    await assert.rejects(
      startMetricsServer({
        listen: '0.0.0.0:9464',
        registry: daemonRegistry(),
        health: () => Promise.resolve({ ok: true }),
        log: silent,
      }),
      (e: Error) =>
        e instanceof ConfigError && /0\.0\.0\.0:9464/.test(e.message) && /allowed/.test(e.message),
    );
  });

  it('a config file with a non-loopback metrics address fails with file, key, value and what is allowed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'midonet-ops-'));
    const file = join(dir, 'agent.json');
    writeFileSync(file, JSON.stringify({ metrics: { listen: '198.51.100.7:9464' } }));
    assert.throws(
      () => loadConfig(file, agentConfigSchema),
      (e: Error) =>
        e instanceof ConfigError &&
        e.message.includes(file) &&
        e.message.includes("key 'metrics.listen'") &&
        e.message.includes("'198.51.100.7:9464'") &&
        /allowed hosts: 127\.0\.0\.0\/8/.test(e.message),
    );
    const off = loadConfig(file.replace('agent.json', 'none.json'), agentConfigSchema, { optional: true });
    assert.equal(off.metrics.listen, '127.0.0.1:9464', 'default: on, on loopback');
    writeFileSync(file, JSON.stringify({ metrics: { listen: null } }));
    assert.equal(loadConfig(file, agentConfigSchema).metrics.listen, null);
  });

  it('serves the agent figures from AgentStats, the histogram in seconds, and process metrics', async () => {
    const src = fakeSource();
    const server = (await startAgentMetrics('127.0.0.1:0', src, silent))!;
    try {
      const r = await get(server.address.port, '/metrics');
      assert.equal(r.status, 200);
      assert.match(r.type, /text\/plain/);
      const m = parseProm(r.body);
      assert.equal(m.get('midonet_agent_packet_ins_total'), 7);
      assert.equal(m.get('midonet_agent_simulations_total'), 5);
      assert.equal(m.get('midonet_agent_flows_installed_total'), 5);
      assert.equal(m.get('midonet_agent_flows_removed_total'), 1);
      assert.equal(m.get('midonet_agent_flows_live'), 4);
      assert.equal(m.get('midonet_agent_invalidations_total'), 3);
      assert.equal(m.get('midonet_agent_flows_invalidated_total'), 4);
      assert.equal(m.get('midonet_agent_packet_in_queue_drops_total'), 2);
      assert.equal(m.get('midonet_agent_store_position_head'), 42);
      assert.equal(m.get('midonet_agent_store_watch_lag_changes'), 2);
      assert.equal(m.get('midonet_agent_store_reachable'), 1);
      assert.equal(m.get('midonet_agent_openflow_connected'), 1);
      // Cumulative buckets in seconds: 3 us, 12 us x2, 700 us, 50 ms.
      assert.equal(m.get('midonet_agent_simulation_latency_seconds_bucket{le="0.000005"}'), 1);
      assert.equal(m.get('midonet_agent_simulation_latency_seconds_bucket{le="0.00002"}'), 3);
      assert.equal(m.get('midonet_agent_simulation_latency_seconds_bucket{le="0.001"}'), 4);
      assert.equal(m.get('midonet_agent_simulation_latency_seconds_bucket{le="0.01"}'), 4);
      assert.equal(m.get('midonet_agent_simulation_latency_seconds_bucket{le="+Inf"}'), 5);
      assert.equal(m.get('midonet_agent_simulation_latency_seconds_count'), 5);
      assert.ok(Math.abs(m.get('midonet_agent_simulation_latency_seconds_sum')! - 0.050727) < 1e-9);
      assert.match(r.body, /# TYPE midonet_agent_simulation_latency_seconds histogram/);
      assert.match(r.body, /# TYPE midonet_agent_packet_ins_total counter/);
      assert.ok((m.get('process_resident_memory_bytes') ?? 0) > 0, 'process metrics');
      // Later counting shows at the next scrape: read, not copied.
      src.stats().packetIns += 3;
      const m2 = parseProm((await get(server.address.port, '/metrics')).body);
      assert.equal(m2.get('midonet_agent_packet_ins_total'), 10);
      const h = await get(server.address.port, '/health');
      assert.equal(h.status, 200);
      assert.deepEqual(
        { ...(JSON.parse(h.body) as object), hostId: undefined, lastChangeApplied: undefined },
        {
          ok: true,
          status: 'ok',
          openflow: true,
          store: true,
          hostId: undefined,
          lastChangeApplied: undefined,
        },
      );
      assert.equal((await get(server.address.port, '/nope')).status, 404);
    } finally {
      await server.close();
    }
  });

  it('health is 503 (down) when the switch is not connected', async () => {
    const src = fakeSource({
      openflowConnected: () => false,
      storeHead: () => new Promise<number>(() => undefined), // never answers
    });
    const server = (await startAgentMetrics('127.0.0.1:0', src, silent))!;
    try {
      const h = await get(server.address.port, '/health');
      assert.equal(h.status, 503);
      const body = JSON.parse(h.body) as {
        ok: boolean;
        openflow: boolean;
        store: boolean;
        storeError: string;
      };
      assert.equal(body.ok, false);
      assert.equal(body.openflow, false);
      assert.equal(body.store, false);
      assert.match(body.storeError, /no answer/);
      const m = parseProm((await get(server.address.port, '/metrics')).body);
      assert.equal(m.get('midonet_agent_store_reachable'), 0);
      assert.ok(Number.isNaN(m.get('midonet_agent_store_watch_lag_changes')), 'lag unknown, not 0');
    } finally {
      await server.close();
    }
  });

  it('health is degraded (still 200) when only the store does not answer: the agent forwards on', async () => {
    const src = fakeSource({ storeHead: () => new Promise<number>(() => undefined) });
    const server = (await startAgentMetrics('127.0.0.1:0', src, silent))!;
    try {
      const h = await get(server.address.port, '/health');
      assert.equal(h.status, 200);
      const body = JSON.parse(h.body) as { ok: boolean; status: string; store: boolean; storeError: string };
      assert.deepEqual([body.ok, body.status, body.store], [true, 'degraded', false]);
      assert.match(body.storeError, /no answer/);
    } finally {
      await server.close();
    }
  });

  it('metrics listen null starts no endpoint', async () => {
    assert.equal(await startAgentMetrics(null, fakeSource(), silent), undefined);
  });
});

describe('reload plan (SIGHUP)', () => {
  const base = agentConfigSchema.parse({ hostName: 'hv1' });
  it('applies logLevel and flows.idleTimeout live, lists other changes as needing a restart', () => {
    const next = agentConfigSchema.parse({
      hostName: 'hv1',
      logLevel: 'debug',
      flows: { idleTimeout: 30 },
      ovs: { bridge: 'br-x' },
      metrics: { listen: '127.0.0.1:9999' },
    });
    assert.deepEqual(reloadPlan(base, next), {
      logLevel: 'debug',
      idleTimeout: 30,
      needsRestart: ['metrics.listen', 'ovs.bridge'],
    });
  });
  it('an unchanged file changes nothing', () => {
    assert.deepEqual(reloadPlan(base, agentConfigSchema.parse({ hostName: 'hv1' })), { needsRestart: [] });
  });
});

describe('BGP metrics for midonet-router', () => {
  it('exports session states (enum) and prefix counts per peer, read at each scrape', async () => {
    const registry = daemonRegistry();
    let sessions: BgpSessionSample[] = [
      { peer: 'isp1', uplink: 'edge-up', state: 'Established', prefixesReceived: 3, prefixesAdvertised: 2 },
      { peer: 'isp2', uplink: 'edge-up2', state: 'Active', prefixesReceived: 0, prefixesAdvertised: 0 },
    ];
    registerBgpMetrics(registry, () => sessions);
    const server = await startMetricsServer({
      listen: '127.0.0.1:0',
      registry,
      health: () => Promise.resolve({ ok: true }),
      log: silent,
    });
    try {
      const m = parseProm((await get(server.address.port, '/metrics')).body);
      const l = (peer: string, uplink: string) => `peer="${peer}",uplink="${uplink}"`;
      assert.equal(m.get(`midonet_router_bgp_session_state{${l('isp1', 'edge-up')},state="Established"}`), 1);
      assert.equal(m.get(`midonet_router_bgp_session_state{${l('isp1', 'edge-up')},state="Idle"}`), 0);
      assert.equal(m.get(`midonet_router_bgp_session_state{${l('isp2', 'edge-up2')},state="Active"}`), 1);
      assert.equal(m.get(`midonet_router_bgp_session_established{${l('isp1', 'edge-up')}}`), 1);
      assert.equal(m.get(`midonet_router_bgp_session_established{${l('isp2', 'edge-up2')}}`), 0);
      assert.equal(m.get(`midonet_router_bgp_prefixes_received{${l('isp1', 'edge-up')}}`), 3);
      assert.equal(m.get(`midonet_router_bgp_prefixes_advertised{${l('isp1', 'edge-up')}}`), 2);
      sessions = [
        { peer: 'isp1', uplink: 'edge-up', state: 'Clearing', prefixesReceived: 0, prefixesAdvertised: 0 },
      ];
      const m2 = parseProm((await get(server.address.port, '/metrics')).body);
      assert.equal(m2.get(`midonet_router_bgp_session_state{${l('isp1', 'edge-up')},state="other"}`), 1);
      assert.equal(
        m2.get(`midonet_router_bgp_prefixes_received{${l('isp2', 'edge-up2')}}`),
        undefined,
        'gone',
      );
    } finally {
      await server.close();
    }
  });
});

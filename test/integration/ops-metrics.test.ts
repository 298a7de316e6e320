/**
 * Metrics and health of a running midonet-agent in the lab (1 host, 2 VMs): after pings between the
 * VMs, the agent's /metrics shows packet-ins, simulations with their latency histogram, flows
 * installed and live, invalidations, queue drops, store watch lag and process metrics with plausible
 * values, consistent with the control API's counters; /health says ok. Also SIGHUP (what
 * `systemctl reload` sends) re-reads the file without stopping the agent: the log level and the idle
 * timeout of new flows change live. The lab is torn down after
 * the tests, also when they fail.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostOvs, labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { agentPid } from '../../src/lab/hypervisor.js';
import { openStore } from '../../src/state/open.js';
import { agentSettled, cookieOf, host, ping, reactiveFlows, stats, vm } from './lab-helpers.js';
import { until } from '../until.js';
import { parsePromText as parseProm } from '../../src/metrics/prom-text.js';
import { uniqueLabName } from '../../src/lab/layout.js';

async function scrape(listen: string, path: string): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://${listen}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: r.status, body: await r.text() };
}

describe('agent metrics and health on a one-host lab', () => {
  let lab: LabState;
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-metrics-'));
  before(async () => {
    // hv1: vm1 (tenant-a, 192.0.2.10), vm2 (tenant-b, 192.0.2.138): a ping crosses the router.
    lab = await labUp({ runDir, name: uniqueLabName('tm'), hosts: 1, vmsPerHost: 2, tunnel: 'gre' });
  });
  after(async () => {
    await labDown(runDir);
  });

  it('serves plausible figures after traffic, equal to the control API counters', async () => {
    const [vm1, vm2] = [vm(lab, 'vm1'), vm(lab, 'vm2')];
    const hv1 = host(lab, 'hv1');
    const listen = hv1.metricsListen!;
    const p = await ping(vm1, vm2.ip, ['-c', '3', '-i', '0.2', '-W', '2']);
    assert.ok(p.received >= 2, p.output);

    // An object change after the flows exist: an invalidation round and a feed position to apply.
    // (A rename and back: an update that changes nothing writes nothing.)
    const store = await openStore(lab.storeUrl);
    try {
      const router = await store.resolve('router', 'edge');
      await store.update('router', router.id, { name: 'edge-renamed' });
      await store.update('router', router.id, { name: 'edge' });
      await agentSettled(store, hv1);
    } finally {
      await store.close();
    }

    const r = await scrape(listen, '/metrics');
    assert.equal(r.status, 200);
    const m = parseProm(r.body);
    const s = await stats(hv1);
    const v = (name: string) => {
      const x = m.get(name);
      assert.ok(x !== undefined, `${name} is exported:\n${r.body.slice(0, 2000)}`);
      return x;
    };
    assert.ok(v('midonet_agent_packet_ins_total') >= 2, 'first packets (and ARP) reached the agent');
    assert.ok(v('midonet_agent_simulations_total') >= 2);
    assert.ok(v('midonet_agent_simulations_total') <= v('midonet_agent_packet_ins_total') + s.generated!);
    assert.equal(
      v('midonet_agent_simulation_latency_seconds_count'),
      v('midonet_agent_simulations_total'),
      'histogram count = simulations',
    );
    assert.equal(
      v('midonet_agent_simulation_latency_seconds_bucket{le="+Inf"}'),
      v('midonet_agent_simulations_total'),
    );
    const sum = v('midonet_agent_simulation_latency_seconds_sum');
    assert.ok(sum > 0 && sum < 10, `latency sum ${sum} s is plausible`);
    assert.ok(v('midonet_agent_flows_installed_total') >= 2, 'a flow each way');
    assert.ok(v('midonet_agent_flows_live') >= 0);
    assert.ok(v('midonet_agent_flows_live') <= v('midonet_agent_flows_installed_total'));
    assert.ok(v('midonet_agent_invalidations_total') >= 1, 'the router update invalidated');
    assert.equal(v('midonet_agent_packet_in_queue_drops_total'), 0, 'no drops at this rate');
    assert.equal(v('midonet_agent_store_reachable'), 1);
    assert.equal(v('midonet_agent_store_watch_lag_changes'), 0, 'the agent applied every change');
    assert.equal(v('midonet_agent_store_position_applied'), v('midonet_agent_store_position_head'));
    assert.equal(v('midonet_agent_openflow_connected'), 1);
    assert.ok(v('process_resident_memory_bytes') > 10e6, 'process metrics');
    assert.ok(v('process_cpu_seconds_total') > 0);
    assert.ok(v('nodejs_eventloop_lag_seconds') >= 0);
    // Same numbers as the control API (midonet-cli agent stats), read a moment later: never fewer.
    assert.ok(s.packetIns! >= v('midonet_agent_packet_ins_total'));
    assert.ok(s.flowsInstalled! >= v('midonet_agent_flows_installed_total'));

    const h = await scrape(listen, '/health');
    assert.equal(h.status, 200, h.body);
    const health = JSON.parse(h.body) as { ok: boolean; openflow: boolean; store: boolean };
    assert.deepEqual([health.ok, health.openflow, health.store], [true, true, true]);
  });

  it('SIGHUP re-reads the configuration: log level live, restart-only keys reported, agent keeps running', async () => {
    const hv1 = host(lab, 'hv1');
    const pid = agentPid({ dir: hv1.dir });
    assert.ok(pid !== undefined, 'agent running');
    const cfgFile = join(hv1.dir, 'agent.json');
    const cfg = JSON.parse(readFileSync(cfgFile, 'utf8')) as Record<string, unknown> & {
      flows: Record<string, unknown>;
    };
    writeFileSync(
      cfgFile,
      JSON.stringify({
        ...cfg,
        logLevel: 'debug',
        flows: { ...cfg.flows, idleTimeout: 2 },
        packetInQueue: 500,
      }),
    );
    process.kill(pid, 'SIGHUP');
    const logFile = join(hv1.dir, 'agent.log');
    let lines: Array<{ msg?: string; applied?: string[]; keys?: string[] }> = [];
    await until(
      () => {
        lines = readFileSync(logFile, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { msg?: string });
        return lines.some((l) => l.msg === 'reload: configuration re-read');
      },
      { what: 'the agent logging that it re-read its configuration', timeoutMs: 5000, intervalMs: 100 },
    );
    const done = lines.find((l) => l.msg === 'reload: configuration re-read');
    assert.deepEqual(done?.applied, ['logLevel', 'flows.idleTimeout']);
    assert.deepEqual(lines.find((l) => l.msg === 'reload: changed keys need a restart')?.keys, [
      'packetInQueue',
    ]);
    assert.equal(agentPid({ dir: hv1.dir }), pid, 'same process');
    // The new idle timeout applies at once, and the agent expires its flows itself (idle-expiry.ts):
    // they carry no timeout in the switch, stay while their packets are counted, go once unused.
    await hostOvs(hv1).delFlows('br-int', 'cookie=0x0/0x8000000000000000');
    const [vm1, vm2] = [vm(lab, 'vm1'), vm(lab, 'vm2')];
    const pinging = ping(vm1, vm2.ip, ['-c', '20', '-i', '0.2', '-W', '2']);
    await new Promise((r) => setTimeout(r, 800));
    const early = await reactiveFlows(hv1);
    assert.ok(early.length > 0, 'flows installed for the pings');
    assert.ok(
      early.every((f) => !/idle_timeout|hard_timeout/.test(f)),
      `no timeout in the switch:\n${early.join('\n')}`,
    );
    await new Promise((r) => setTimeout(r, 2400)); // 3.2 s into the pings: over an idle timeout later
    const later = (await reactiveFlows(hv1)).map(cookieOf);
    const kept = early.map(cookieOf).filter((c) => later.includes(c));
    assert.ok(
      kept.length > 0,
      `a flow in use outlived the timeout: ${early.map(cookieOf).join(' ')} then ${later.join(' ')}`,
    );
    const p = await pinging;
    assert.ok(p.received >= 18, p.output);
    const removedBefore = (await stats(hv1)).flowsRemoved ?? 0;
    await until(
      async () => {
        const [left, live] = [await reactiveFlows(hv1), (await stats(hv1)).flowsLive];
        if (left.length === 0 && live === 0) return true;
        // Thrown, not returned: on timeout the error names what was still there.
        throw new Error(`${live} flows live in the agent; in the switch:\n${left.join('\n')}`);
      },
      {
        what: 'the idle flows deleted by the agent, and forgotten',
        timeoutMs: 8000,
        intervalMs: 200,
      },
    );
    assert.ok(((await stats(hv1)).flowsRemoved ?? 0) > removedBefore, 'the expired flows counted as removed');
    // A reactive flow the agent never installed (a fault's leftover: no timeout would ever remove it)
    // goes at the second idle-expiry read that finds it.
    await hostOvs(hv1).addFlows('br-int', ['cookie=0x5eed,priority=5,udp,tp_dst=9,actions=drop']);
    assert.equal((await reactiveFlows(hv1)).length, 1);
    await until(
      async () => (await reactiveFlows(hv1)).length === 0 && (await stats(hv1)).flowsOrphaned === 1,
      {
        what: 'the agent deleting the flow it does not record',
        timeoutMs: 8000,
        intervalMs: 200,
      },
    );
    const h = await scrape(hv1.metricsListen!, '/health');
    assert.equal(h.status, 200, h.body);
  });
});

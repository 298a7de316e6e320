/**
 * midonet-lab: the whole suite on one Linux machine.
 *
 *   midonet-lab [--name NAME] [--run-dir DIR] up [--hosts N] [--vms-per-host M] [--tunnel gre|vxlan] [--addressing dhcp|static]
 *               [--store sqlite|cassandra] [--bgp [--ecmp]] [--lb-health]
 *   midonet-lab [--name NAME] status [--json]
 *   midonet-lab [--name NAME] exec VM -- CMD ...
 *   midonet-lab [--name NAME] eval [--quick] [--out DIR]
 *   midonet-lab [--name NAME] down
 *
 * `--name` picks a lab of its own (its name prefix, run directory /run/midonet-lab-NAME and ports), so
 * several labs run side by side; without it, the default lab (/run/midonet-lab, prefix mnl-).
 *
 * Invariant: every failure prints one line (`midonet-lab: error: ...`) and exits non-zero, never a
 * stack trace; `down` always removes what its lab made, also after a crash, and nothing of another lab.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { runDir as servicesRunDir } from '../services/main.js';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { controlRequest } from '../control/control-api.js';
import { openStore } from '../state/open.js';
import { agentPid } from './hypervisor.js';
import { routerPid, type BgpLabState } from './bgp-lab.js';
import { LabClash, labDown, labLabel, labUp, readLabState, type LabState } from './lab.js';
import { defaultRunDir, labNameProblem } from './layout.js';
import { progress } from '../progress.js';
import { usageMessage } from '../daemon-args.js';
import { messageLine, quote } from '../quote.js';
import { Evaluation } from './eval.js';
import { reportText } from './report-text.js';
import { renderCharts } from './charts.js';

export const DEFAULT_RUN_DIR = defaultRunDir(null);

class LabError extends Error {}

/** A yargs coerce: a whole number from `lo` to `hi`, or a LabError naming the option and the value. */
function wholeIn(flag: string, lo: number, hi: number): (v: unknown) => number {
  return (v) => {
    const s = String(v);
    if (!/^[0-9]+$/.test(s) || Number(s) < lo || Number(s) > hi)
      throw new LabError(`--${flag}: ${quote(v)} is not allowed: a whole number from ${lo} to ${hi}`);
    return Number(s);
  };
}

/** The store URL of the services `npm run services -- up` started, if they run. */
function runningServicesUrl(): string | undefined {
  const f = join(servicesRunDir(), 'state.json');
  if (!existsSync(f)) return undefined;
  return (JSON.parse(readFileSync(f, 'utf8')) as { url?: string }).url;
}

function needLab(runDir: string, name: string | null): LabState {
  const s = readLabState(runDir);
  if (!s)
    throw new LabError(
      `${labLabel(name)} is not up in ${runDir} (run: midonet-lab${name === null ? '' : ` --name ${name}`} up)`,
    );
  return s;
}

/** The lab name and run directory the global options select. */
function where(a: { name?: unknown; 'run-dir'?: unknown }): { name: string | null; runDir: string } {
  if (Array.isArray(a.name) || Array.isArray(a['run-dir']))
    throw new LabError('--name and --run-dir: give each at most once');
  const name = typeof a.name === 'string' ? a.name : null;
  if (name !== null) {
    const problem = labNameProblem(name);
    if (problem) throw new LabError(problem);
  }
  const dir = typeof a['run-dir'] === 'string' ? a['run-dir'] : defaultRunDir(name);
  return { name, runDir: resolve(dir) };
}

async function status(runDir: string, name: string | null, json: boolean): Promise<string> {
  const s = needLab(runDir, name);
  const store = await openStore(s.storeUrl);
  try {
    const live = await store.liveness();
    const hosts = await Promise.all(
      s.hosts.map(async (h) => {
        const host = (await store.list('host')).find((x) => x.name === h.name);
        const l = live.find((x) => x.hostId === host?.id);
        const st = (await controlRequest(h.controlSocket, { cmd: 'stats' }, 2000).catch(
          () => null,
        )) as Record<string, unknown> | null;
        return {
          ...h,
          id: host?.id ?? null,
          alive: l?.alive ?? false,
          agentPid: agentPid(h) ?? null,
          flows: typeof st?.flowsLive === 'number' ? st.flowsLive : null,
          packetIns: typeof st?.packetIns === 'number' ? st.packetIns : null,
        };
      }),
    );
    const ports = await store.list('port');
    const vms = s.vms.map((v) => {
      const p = ports.find((x) => x.name === v.port);
      return {
        ...v,
        portId: p?.id ?? null,
        boundTo: p?.hostId ? (hosts.find((h) => h.id === p.hostId)?.name ?? p.hostId) : null,
        interface: p?.interfaceName ?? null,
      };
    });
    const data = {
      name: s.name ?? null,
      prefix: s.prefix ?? 'mnl-',
      runDir: s.runDir,
      storeUrl: s.storeUrl,
      tunnel: s.tunnel,
      createdAt: s.createdAt,
      hosts,
      vms,
      ...(s.bgp ? { bgp: await bgpStatus(s.bgp) } : {}),
    };
    if (json) return JSON.stringify(data, null, 2);
    const lines = [
      `${labLabel(s.name ?? null)} in ${s.runDir} (prefix ${s.prefix ?? 'mnl-'}), store ${s.storeUrl}, tunnel ${s.tunnel}`,
      '',
      'HOST  ALIVE  AGENT PID  UNDERLAY        FLOWS  PACKET-INS',
    ];
    for (const h of hosts) {
      lines.push(
        `${h.name.padEnd(4)}  ${String(h.alive).padEnd(5)}  ${String(h.agentPid ?? '-').padEnd(9)}  ${h.underlayIp.padEnd(14)}  ${String(h.flows ?? '-').padEnd(5)}  ${String(h.packetIns ?? '-')}`,
      );
    }
    lines.push(
      '',
      'VM    ADDRESS           MAC                BRIDGE    HOST  PORT (BOUND TO / INTERFACE)         BASELINE',
    );
    for (const v of vms) {
      lines.push(
        `${v.name.padEnd(4)}  ${`${v.ip}/${v.prefixLen}`.padEnd(16)}  ${v.mac}  ${v.bridge.padEnd(8)}  ${v.host.padEnd(4)}  ${`${v.port} (${v.boundTo ?? 'unbound'} / ${v.interface ?? '-'})`.padEnd(34)}  ${v.baselineIp}`,
      );
    }
    if (data.bgp) {
      const b = data.bgp;
      lines.push(
        '',
        `ISP ${b.isp.netns} AS ${b.isp.as} at ${b.isp.address}, announces ${b.isp.announces}; ping ${b.isp.pingable} from a VM`,
      );
      if (b.ecmp)
        lines.push(
          `second uplink ${b.ecmp.uplinkPort} (${b.ecmp.uplinkAddress}) on ${b.ecmp.host}, ISP at ${b.ecmp.ispAddress}: ${b.ecmp.announces} learned over both (ECMP)`,
        );
      for (const r of b.routers) lines.push(`midonet-router on ${r.host}: pid ${r.pid ?? '-'}`);
    }
    return lines.join('\n');
  } finally {
    await store.close();
  }
}

/** The BGP part of `status`: the ISP and whether each midonet-router runs. */
function bgpStatus<B extends BgpLabState>(b: B) {
  return Promise.resolve({ ...b, routers: b.routers.map((r) => ({ ...r, pid: routerPid(r.dir) ?? null })) });
}

export async function labMain(argv: string[]): Promise<number> {
  const say = (l: string) => process.stderr.write(`${l}\n`);
  try {
    await yargs(argv)
      .scriptName('midonet-lab')
      .option('name', {
        type: 'string',
        describe: 'a lab of its own beside others: its name prefix, run directory and ports (1-5 of a-z0-9)',
      })
      .option('run-dir', {
        type: 'string',
        describe: `where the lab keeps its state (default ${DEFAULT_RUN_DIR}, or ${defaultRunDir('NAME')} with --name)`,
      })
      .command(
        'up',
        'bring the lab up (refused if it is up already; leftovers of its own crashed bring-up are removed)',
        (y) =>
          y
            .option('hosts', { type: 'string', default: '2', coerce: wholeIn('hosts', 1, 50) })
            .option('vms-per-host', { type: 'string', default: '3', coerce: wholeIn('vms-per-host', 1, 50) })
            .option('tunnel', { choices: ['gre', 'vxlan'] as const, default: 'gre' as const })
            .option('addressing', {
              choices: ['static', 'dhcp'] as const,
              default: 'dhcp' as const,
              describe: "VM addresses: the agents' DHCP server with busybox udhcpc, or ip addr add",
            })
            .option('bgp', {
              type: 'boolean',
              default: false,
              describe: 'add an ISP running FRR and midonet-router',
            })
            .option('lb-health', {
              type: 'boolean',
              default: false,
              describe: 'run midonet-lb-health on every hypervisor (load balancer health checks)',
            })
            .option('ecmp', {
              type: 'boolean',
              default: false,
              describe:
                "with --bgp: a second uplink on hv2 with its own session; the ISP's default route is learned twice (ECMP)",
            })
            .option('store', { choices: ['sqlite', 'cassandra'] as const, default: 'sqlite' as const })
            .option('store-url', {
              type: 'string',
              describe:
                'with --store cassandra: the URL (default: start services with npm run services -- up)',
            }),
        async (a) => {
          const { name, runDir } = where(a);
          let storeUrl: string | undefined;
          if (a.store === 'cassandra') {
            const base = a['store-url'] ?? process.env.MIDONET_STORE ?? runningServicesUrl();
            if (!base?.startsWith('cassandra:'))
              throw new LabError(
                '--store cassandra: no ZooKeeper/Cassandra running; start them with `npm run services -- up` or give --store-url cassandra://...',
              );
            // A keyspace and ZooKeeper root of its own: every lab starts from an empty store.
            const tag = Date.now().toString(36);
            const { storeUrlFor } = await import('../state/cassandra-url.js');
            storeUrl = storeUrlFor(base, `midonet_lab_${tag}`, `/midonet-lab-${tag}`);
          }
          const bar = await progress('lab up');
          const s = await labUp({
            runDir,
            name,
            hosts: a.hosts,
            vmsPerHost: a['vms-per-host'],
            tunnel: a.tunnel,
            bgp: a.bgp,
            lbHealth: a['lb-health'],
            ecmp: a.ecmp,
            addressing: a.addressing,
            ...(storeUrl ? { storeUrl } : {}),
            say: bar.drawing ? () => undefined : say,
            progress: (d, t, l) => bar.update(d, t, l),
          }).finally(() => bar.stop());
          console.log(
            `${labLabel(name)} up in ${runDir}: ${s.hosts.length} hosts, ${s.vms.length} VMs, store ${s.storeUrl}`,
          );
        },
      )
      .command(
        'status',
        'hosts, agents, VMs and their bindings',
        (y) => y.option('json', { type: 'boolean' }),
        async (a) => {
          const { name, runDir } = where(a);
          console.log(await status(runDir, name, a.json === true));
        },
      )
      .command(
        'exec <vm> [cmd..]',
        'run a command in a VM (midonet-lab exec vm1 -- ping 192.0.2.11)',
        (y) => y.positional('vm', { type: 'string' }).positional('cmd', { type: 'string', array: true }),
        (a) => {
          const { name, runDir } = where(a);
          const s = needLab(runDir, name);
          const vm = s.vms.find((v) => v.name === a.vm);
          if (!vm)
            throw new LabError(`no VM ${quote(a.vm)}; the lab has ${s.vms.map((v) => v.name).join(', ')}`);
          const dashes = argv.indexOf('--');
          const cmd = dashes >= 0 ? argv.slice(dashes + 1) : (a.cmd ?? []).map(String);
          if (cmd.length === 0) throw new LabError('exec: give a command after --');
          const r = spawnSync('ip', ['netns', 'exec', vm.netns, ...cmd], { stdio: 'inherit' });
          process.exitCode = r.status ?? 1;
        },
      )
      .command(
        'eval',
        'the first-packet evaluation on the running lab',
        (y) =>
          y
            .option('quick', { type: 'boolean', default: false })
            .option('out', { type: 'string', describe: 'report directory (default ./out/eval-TIME)' })
            .option('flows', { type: 'string', coerce: wholeIn('flows', 1, 100000) }),
        async (a) => {
          const { name, runDir } = where(a);
          const s = needLab(runDir, name);
          const out = resolve(a.out ?? join('out', `eval-${new Date().toISOString().replace(/[:.]/g, '-')}`));
          mkdirSync(out, { recursive: true });
          const bar = await progress('eval');
          const ev = new Evaluation(s, {
            quick: a.quick,
            ...(a.flows ? { flows: a.flows } : {}),
            say: bar.drawing ? () => undefined : say,
            progress: (d, t, l) => bar.update(d, t, l),
          });
          const report = await ev.run().finally(() => bar.stop());
          writeFileSync(join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
          const text = reportText(report);
          writeFileSync(join(out, 'report.txt'), `${text}\n`);
          const charts = await renderCharts(report, out);
          console.log(text);
          console.log(
            `\nreport: ${join(out, 'report.json')} (tables: report.txt)\ncharts: ${charts.join(' ')}`,
          );
        },
      )
      .command('down', 'remove everything the lab made (and nothing of another lab)', {}, async (a) => {
        const { name, runDir } = where(a as { name?: unknown; 'run-dir'?: unknown });
        const removed = await labDown(runDir, say, name);
        console.log(`${labLabel(name)} down (${removed.length} namespaces/links removed)`);
      })
      .demandCommand(1, 'give a command: up, status, exec, eval or down')
      .strict()
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new LabError(usageMessage(msg));
      })
      .parseAsync();
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    // One line, whatever failed (a command's stderr may span lines): never a stack trace.
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`midonet-lab: error: ${messageLine(msg)}\n`);
    if (process.env.MIDONET_DEBUG && e instanceof Error && !(e instanceof LabClash))
      process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await labMain(hideBin(process.argv));
}

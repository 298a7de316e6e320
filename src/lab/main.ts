/**
 * midonet-lab: the whole suite on one Linux machine.
 *
 *   midonet-lab up [--hosts N] [--vms-per-host M] [--tunnel gre|vxlan] [--store sqlite|cassandra] [--bgp]
 *   midonet-lab status [--json]
 *   midonet-lab exec VM -- CMD ...
 *   midonet-lab eval [--quick] [--out DIR]
 *   midonet-lab down
 *
 * Invariant: every failure prints one line (`midonet-lab: error: ...`) and exits non-zero; `down`
 * always removes what the lab made, also after a crash.
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
import { labDown, labUp, readLabState, type LabState } from './lab.js';
import { Evaluation } from './eval.js';
import { reportText } from './report-text.js';
import { renderCharts } from './charts.js';

export const DEFAULT_RUN_DIR = '/run/midonet-lab';

class LabError extends Error {}

/** The store URL of the services `npm run services -- up` started, if they run. */
function runningServicesUrl(): string | undefined {
  const f = join(servicesRunDir(), 'state.json');
  if (!existsSync(f)) return undefined;
  return (JSON.parse(readFileSync(f, 'utf8')) as { url?: string }).url;
}

function needLab(runDir: string): LabState {
  const s = readLabState(runDir);
  if (!s) throw new LabError(`no lab is up in ${runDir} (run: midonet-lab up)`);
  return s;
}

/** A progress bar on stderr: redrawn in place on a terminal, a line per 10% elsewhere. */
function progressBar(): (done: number, total: number, label: string) => void {
  let lastDecile = -1;
  return (done, total, label) => {
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    if (process.stderr.isTTY) {
      const width = 30;
      const n = Math.round(frac * width);
      process.stderr.write(
        `\r[${'#'.repeat(n)}${'.'.repeat(width - n)}] ${(frac * 100).toFixed(0).padStart(3)}% ${label.padEnd(40).slice(0, 40)}`,
      );
      if (done >= total) process.stderr.write('\n');
    } else {
      const decile = Math.floor(frac * 10);
      if (decile !== lastDecile) {
        lastDecile = decile;
        process.stderr.write(`progress ${decile * 10}% (${label})\n`);
      }
    }
  };
}

async function status(runDir: string, json: boolean): Promise<string> {
  const s = needLab(runDir);
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
      `lab in ${s.runDir}, store ${s.storeUrl}, tunnel ${s.tunnel}`,
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
      for (const r of b.routers) lines.push(`midonet-router on ${r.host}: pid ${r.pid ?? '-'}`);
    }
    return lines.join('\n');
  } finally {
    await store.close();
  }
}

/** The BGP part of `status`: the ISP and whether each midonet-router runs. */
function bgpStatus(b: BgpLabState) {
  return Promise.resolve({ ...b, routers: b.routers.map((r) => ({ ...r, pid: routerPid(r.dir) ?? null })) });
}

export async function labMain(argv: string[]): Promise<number> {
  const say = (l: string) => process.stderr.write(`${l}\n`);
  try {
    await yargs(argv)
      .scriptName('midonet-lab')
      .option('run-dir', {
        type: 'string',
        default: DEFAULT_RUN_DIR,
        describe: 'where the lab keeps its state',
      })
      .command(
        'up',
        'bring the lab up (removing any earlier one first)',
        (y) =>
          y
            .option('hosts', { type: 'number', default: 2 })
            .option('vms-per-host', { type: 'number', default: 3 })
            .option('tunnel', { choices: ['gre', 'vxlan'] as const, default: 'gre' as const })
            .option('bgp', {
              type: 'boolean',
              default: false,
              describe: 'add an ISP running FRR and midonet-router',
            })
            .option('store', { choices: ['sqlite', 'cassandra'] as const, default: 'sqlite' as const })
            .option('store-url', {
              type: 'string',
              describe:
                'with --store cassandra: the URL (default: start services with npm run services -- up)',
            }),
        async (a) => {
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
          const s = await labUp({
            runDir: resolve(a['run-dir']),
            hosts: a.hosts,
            vmsPerHost: a['vms-per-host'],
            tunnel: a.tunnel,
            bgp: a.bgp,
            ...(storeUrl ? { storeUrl } : {}),
            say,
          });
          console.log(`lab up: ${s.hosts.length} hosts, ${s.vms.length} VMs, store ${s.storeUrl}`);
        },
      )
      .command(
        'status',
        'hosts, agents, VMs and their bindings',
        (y) => y.option('json', { type: 'boolean' }),
        async (a) => {
          console.log(await status(resolve(a['run-dir']), a.json === true));
        },
      )
      .command(
        'exec <vm> [cmd..]',
        'run a command in a VM (midonet-lab exec vm1 -- ping 192.0.2.11)',
        (y) => y.positional('vm', { type: 'string' }).positional('cmd', { type: 'string', array: true }),
        (a) => {
          const s = needLab(resolve(a['run-dir']));
          const vm = s.vms.find((v) => v.name === a.vm);
          if (!vm) throw new LabError(`no VM '${a.vm}'; the lab has ${s.vms.map((v) => v.name).join(', ')}`);
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
            .option('flows', { type: 'number' }),
        async (a) => {
          const s = needLab(resolve(a['run-dir']));
          const out = resolve(a.out ?? join('out', `eval-${new Date().toISOString().replace(/[:.]/g, '-')}`));
          mkdirSync(out, { recursive: true });
          const ev = new Evaluation(s, {
            quick: a.quick,
            ...(a.flows ? { flows: a.flows } : {}),
            say,
            progress: progressBar(),
          });
          const report = await ev.run();
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
      .command('down', 'remove everything the lab made', {}, async (a) => {
        const removed = await labDown(resolve(String(a['run-dir'])), say);
        console.log(`lab down (${removed.length} namespaces/links removed)`);
      })
      .demandCommand(1, 'give a command: up, status, exec, eval or down')
      .strict()
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new LabError(msg);
      })
      .parseAsync();
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    process.stderr.write(`\nmidonet-lab: error: ${(e as Error).message}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await labMain(hideBin(process.argv));
}

/**
 * `npm run compose -- up|status|down`: the compose lab on this machine, from the host.
 *
 *   up      refuses when a compose lab is up; removes networks and volumes a crashed lab left; builds
 *           what is missing (images.ts); `docker-compose up -d`; wires each VM container to its
 *           hypervisor container (a veth made from the host: tap-vmN in the hypervisor, eth0 in the VM,
 *           address, MAC and default route as the namespace lab gives its VMs); runs `midonet-role
 *           setup` in the `cli` container (topology, BGP peer, waits for the agents and for BGP
 *           Established); waits until every agent has bound its ports; prints what runs.
 *   status  the containers, the agents and BGP session as the store sees them, the VMs.
 *   down    `docker-compose down -v` (containers, networks, volumes of the project), then checks by
 *           the project label that nothing is left; images stay (the build cache). With the
 *           project's own dockerd (dockerd.ts), stops it once it holds no container.
 *
 * Invariant: `up` changes nothing when any container of the project exists; `down` removes only what
 * carries the project label (or lives inside those containers), so nothing else on the host is touched.
 */
import { join } from 'node:path';
import { run } from '../exec.js';
import { Engine, REPO, type ContainerInfo } from './engine.js';
import { buildImages } from './images.js';
import { CLI_SERVICE, HOSTS, LAB_ID_VAR, SERVICES, VMS, labIdOf, type ComposeVm } from './layout.js';
import type { LabReport } from './setup.js';
import { StepError, streamStep } from './steps.js';
import { ISP_PINGABLE } from '../lab/bgp-lab.js';

export class LabError extends Error {}

export const RUN_DIR = process.env.MIDONET_COMPOSE_RUN_DIR ?? '/run/midonet-compose';
const LOG = join(RUN_DIR, 'compose.log');

function say(l: string): void {
  process.stderr.write(`compose: ${l}\n`);
}

/** The environment the compose files read: the lab id (network names). */
function composeEnv(engine: Engine, labId: string): NodeJS.ProcessEnv {
  return { ...engine.env, [LAB_ID_VAR]: labId };
}

function compose(engine: Engine, name: string, args: string[], timeoutMs: number, env: NodeJS.ProcessEnv) {
  const [cmd, full] = engine.composeArgs(args);
  return streamStep(name, cmd, full, { env, cwd: REPO, timeoutMs, log: LOG });
}

function byService(cs: readonly ContainerInfo[], service: string): ContainerInfo {
  const c = cs.find((x) => x.service === service);
  if (!c) throw new LabError(`no container for service ${service}`);
  return c;
}

/** Waits until every service of the lab has a running container. */
async function waitRunning(engine: Engine): Promise<ContainerInfo[]> {
  const deadline = Date.now() + 120000;
  for (;;) {
    const cs = await engine.containers();
    const dead = cs.find((c) => SERVICES.includes(c.service) && !c.running && c.status !== 'created');
    if (dead) {
      const logs = await engine.cmd(['logs', '--tail', '15', dead.id]).catch((e: Error) => e.message);
      throw new LabError(
        `container ${dead.name} (${dead.service}) is ${dead.status}; its last lines:\n${logs}`,
      );
    }
    if (SERVICES.every((s) => cs.some((c) => c.service === s && c.running))) return cs;
    if (Date.now() > deadline)
      throw new LabError(
        `not every container runs after 120 s: ${cs.map((c) => `${c.service}=${c.status}`).join(' ')}`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A command in a container's network namespace, with the host's tools (nsenter). */
function inNetns(pid: number, cmd: string, args: readonly string[]): Promise<string> {
  return run('nsenter', ['-t', String(pid), '-n', cmd, ...args]);
}

/** The VM container's eth0 and its hypervisor's tap-vmN: one veth made from the host. */
async function wireVm(cs: readonly ContainerInfo[], vm: ComposeVm): Promise<void> {
  const hv = byService(cs, vm.hostService).pid;
  const pid = byService(cs, vm.service).pid;
  await run('ip', [
    'link',
    'add',
    vm.tap,
    'netns',
    String(hv),
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    String(pid),
  ]);
  await inNetns(hv, 'ip', ['link', 'set', vm.tap, 'up']);
  await inNetns(pid, 'ip', ['link', 'set', 'eth0', 'address', vm.mac]);
  await inNetns(pid, 'ip', ['addr', 'add', `${vm.ip}/${vm.prefixLen}`, 'dev', 'eth0']);
  await inNetns(pid, 'ip', ['link', 'set', 'eth0', 'up']);
  await inNetns(pid, 'ip', ['route', 'add', 'default', 'via', vm.gateway]);
  // As in the namespace lab: no checksum offload towards the userspace datapath.
  await inNetns(pid, 'ethtool', ['-K', 'eth0', 'tx', 'off']);
}

/** JSON lines `{"say": ...}` / `{"report": ...}` of a `midonet-role` run, the rest passed on. */
function roleLines(onReport?: (r: LabReport) => void): (l: string) => void {
  return (l) => {
    try {
      const m = JSON.parse(l) as { say?: string; report?: LabReport };
      if (m.say) return say(m.say);
      if (m.report && onReport) return onReport(m.report);
    } catch {
      /* not ours */
    }
    process.stderr.write(`  | ${l}\n`);
  };
}

async function storeReport(engine: Engine, cs: readonly ContainerInfo[]): Promise<LabReport | undefined> {
  const cli = cs.find((c) => c.service === CLI_SERVICE && c.running);
  if (!cli) return undefined;
  let rep: LabReport | undefined;
  await streamStep('report', engine.cli, ['exec', cli.id, 'midonet-role', 'report'], {
    env: engine.env,
    timeoutMs: 60000,
    log: LOG,
    onLine: roleLines((r) => (rep = r)),
  }).catch((e: Error) => say(`the store did not answer: ${e.message}`));
  return rep;
}

async function waitPortsBound(engine: Engine, cs: readonly ContainerInfo[]): Promise<void> {
  for (const h of HOSTS) {
    const want = VMS.filter((v) => v.hostService === h.service).length + (h.uplink ? 1 : 0);
    const id = byService(cs, h.service).id;
    const deadline = Date.now() + 120000;
    for (;;) {
      const out = await engine
        .cmd(['exec', id, 'midonet-cli', 'agent', 'stats', '--host', h.name, '--json'], { timeoutMs: 30000 })
        .catch(() => '{}');
      const bound = (JSON.parse(out) as { portsBound?: number }).portsBound ?? 0;
      if (bound >= want) break;
      if (Date.now() > deadline)
        throw new LabError(`the agent of ${h.name} bound ${bound} of ${want} ports in 120 s`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

export async function up(engine: Engine): Promise<void> {
  const existing = await engine.containers();
  if (existing.length > 0) {
    throw new LabError(
      `a compose lab is already up (${existing.length} containers: ${existing.map((c) => c.name).join(' ')}); ` +
        'nothing changed. `npm run compose -- status` shows it, `npm run compose -- down` removes it',
    );
  }
  const left = await engine.networksAndVolumes();
  if (left.networks.length + left.volumes.length > 0) {
    say(`removing what a crashed lab left: ${[...left.networks, ...left.volumes].join(' ')}`);
    await down(engine);
  }
  const env = composeEnv(engine, Date.now().toString(36));
  await buildImages(engine, env, LOG);
  say(`starting ${SERVICES.join(' ')}`);
  try {
    await compose(engine, 'docker-compose up', ['up', '-d', '--no-build', ...SERVICES], 600000, env);
    await startLab(engine);
  } catch (e) {
    say('the containers are left as they are, to look at; `npm run compose -- down` removes them');
    throw e;
  }
  say('up: ready');
  await status(engine, false);
}

/** After `docker-compose up`: the VM wiring, the topology, the waits. */
async function startLab(engine: Engine): Promise<void> {
  const cs = await waitRunning(engine);
  for (const vm of VMS) {
    await wireVm(cs, vm).catch((e: Error) => {
      throw new StepError(`wiring ${vm.service} to ${vm.hostService}`, e.message);
    });
    say(`${vm.service}: eth0 ${vm.ip}/${vm.prefixLen} <-> ${vm.tap} in ${vm.hostService}`);
  }
  say('setup: the topology from the cli container (waits for ZooKeeper, Cassandra, the agents, BGP)');
  // `exec`, not `docker-compose run`: docker-compose 1.29 misreads the IPAM options Podman reports for
  // an existing network ("needs to be recreated - IPAM option driver has changed") and refuses to run.
  await streamStep(
    'setup (midonet-role setup in the cli container)',
    engine.cli,
    ['exec', byService(cs, CLI_SERVICE).id, 'midonet-role', 'setup'],
    { env: engine.env, timeoutMs: 900000, log: LOG, onLine: roleLines() },
  );
  await waitPortsBound(engine, cs);
}

export async function status(engine: Engine, json: boolean): Promise<boolean> {
  const cs = await engine.containers();
  if (cs.length === 0) {
    if (json) process.stdout.write(`${JSON.stringify({ up: false })}\n`);
    else say('no compose lab is up');
    return false;
  }
  const report = await storeReport(engine, cs);
  const vms = [];
  for (const vm of VMS) {
    const c = cs.find((x) => x.service === vm.service);
    const hv = cs.find((x) => x.service === vm.hostService);
    const wired =
      c?.running === true &&
      hv?.running === true &&
      (await inNetns(hv.pid, 'ip', ['-o', 'link', 'show', vm.tap]).then(
        () => true,
        () => false,
      ));
    vms.push({ vm: vm.service, ip: vm.ip, bridge: vm.bridge, host: vm.hostName, wired });
  }
  const ok =
    cs.every((c) => c.running) &&
    vms.every((v) => v.wired) &&
    report !== undefined &&
    report.hosts.every((h) => h.alive) &&
    report.bgp.every((b) => b.established === true);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ up: true, ok, engine: engine.kind, containers: cs, vms, store: report ?? null })}\n`,
    );
    return ok;
  }
  const out: string[] = [`compose lab (${engine.kind}, project midonet):`];
  for (const c of cs) out.push(`  ${c.service.padEnd(10)} ${c.name.padEnd(22)} ${c.status}`);
  out.push('agents and routers (from the store):');
  for (const h of report?.hosts ?? [])
    out.push(
      `  ${h.name.padEnd(6)} ${h.role.padEnd(15)} ${h.alive ? 'alive' : 'DEAD'}${h.role === 'midonet-agent' ? `, openflow ${h.openflowConnected ? 'connected' : 'NOT connected'}` : ''}`,
    );
  out.push('BGP:');
  for (const b of report?.bgp ?? [])
    out.push(
      `  ${b.peer.padEnd(6)} ${b.state}${b.prefixesReceived !== null ? `, ${b.prefixesReceived} prefixes received` : ''}`,
    );
  out.push('VMs:');
  for (const v of vms)
    out.push(
      `  ${v.vm.padEnd(4)} ${v.ip.padEnd(13)} ${v.bridge.padEnd(9)} on ${v.host} ${v.wired ? '' : '(NOT wired)'}`,
    );
  out.push(`bridges: ${(report?.bridges ?? []).join(', ')}; ports: ${report?.ports ?? '?'}`);
  out.push(
    `try: ${engine.kind} exec midonet_vm1_1 ping -c 3 ${VMS[1]!.ip}    (or ${VMS[2]!.ip}, ${ISP_PINGABLE})`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  return ok;
}

export async function down(engine: Engine): Promise<void> {
  const cs = await engine.containers();
  const before = await engine.networksAndVolumes();
  if (cs.length + before.networks.length + before.volumes.length === 0) {
    say('no compose lab is up; nothing to remove');
    await stopOwnDockerd(engine);
    return;
  }
  const [cmd, args] = engine.composeArgs(['down', '-v', '--remove-orphans', '-t', '5']);
  await streamStep('docker-compose down', cmd, args, {
    env: composeEnv(engine, labIdOf(before.networks) ?? '0'),
    cwd: REPO,
    timeoutMs: 300000,
    log: LOG,
  });
  // Whatever docker-compose left (e.g. one-off containers of a crashed run): by the project label only.
  const rest = await engine.containers();
  if (rest.length > 0) await engine.cmd(['rm', '-f', ...rest.map((c) => c.id)]);
  const left = await engine.networksAndVolumes();
  if (left.networks.length > 0) await engine.cmd(['network', 'rm', ...left.networks]);
  if (left.volumes.length > 0) await engine.cmd(['volume', 'rm', '-f', ...left.volumes]);
  say(
    `down: removed ${cs.length} containers (${cs.map((c) => c.service).join(' ')}), networks ${before.networks.join(' ') || '-'}, volumes ${before.volumes.join(' ') || '-'}`,
  );
  await stopOwnDockerd(engine);
}

/** The project's own dockerd goes with the lab, unless it holds other containers. */
async function stopOwnDockerd(engine: Engine): Promise<void> {
  if (!engine.ownDockerd) return;
  if (await engine.stopDockerdIfIdle()) say("down: the project's dockerd is stopped");
  else say("down: the project's dockerd holds containers not of the lab; it keeps running");
}

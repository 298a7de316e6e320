/**
 * The floor the evaluation measures the agent against, on the lab's baseline bridge (br-normal, the
 * VMs' eth1): plain Open vSwitch with the NORMAL action (no controller), Debian's
 * `ovs-testcontroller` (a C learning switch, OpenFlow 1.3 over a unix socket), and the project's own
 * minimal controller (bench/min-controller.ts: FLOW_MOD + PACKET_OUT per packet-in and nothing else).
 * Each takes the bridge in turn; the same probes then run over the same pair of VMs (`measureFloor`,
 * the evaluation's part 0).
 *
 * Invariant: `use` leaves the bridge in exactly one mode, and `restore` (also on failure) gives it
 * back to NORMAL with no controller, no flows of a controller and no controller process left running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deleteByCookie, tableMissToController } from '../agent/flow-mods.js';
import type { Ovs } from '../ovs/ovs.js';
import type { CaseResult, EvalReport } from './eval-report.js';
import { BASELINE_BRIDGE } from './layout.js';
import { MgmtChannel } from './mgmt-channel.js';

export type FloorMode = 'normal' | 'ovs-testcontroller' | 'minimal';

const MIN_CONTROLLER = fileURLToPath(new URL('../../bench/min-controller.js', import.meta.url));

export class Floor {
  private proc: ChildProcess | undefined;
  private mode: FloorMode = 'normal';
  /** The baseline bridge's management connection while a controller has it (flush). */
  private channel: MgmtChannel | undefined;

  constructor(
    private readonly ovs: Ovs,
    private readonly runDir: string,
  ) {}

  private get socket(): string {
    return join(this.runDir, `${BASELINE_BRIDGE}.floor.sock`);
  }

  /** Puts the baseline bridge in `mode` and waits until its controller (if any) is connected. */
  async use(mode: FloorMode): Promise<void> {
    await this.restore();
    if (mode === 'normal') return;
    const sock = this.socket;
    rmSync(sock, { force: true });
    this.proc =
      mode === 'ovs-testcontroller'
        ? spawn('ovs-testcontroller', ['-O', 'OpenFlow13', '-vconsole:off', `punix:${sock}`], {
            stdio: 'ignore',
            // Its control socket goes to OVS_RUNDIR (the default /var/run/openvswitch may not exist).
            env: { ...process.env, OVS_RUNDIR: this.runDir },
          })
        : spawn(process.execPath, [MIN_CONTROLLER, sock], { stdio: 'ignore' });
    this.mode = mode;
    const deadline = Date.now() + 10000;
    while (!existsSync(sock)) {
      if (Date.now() > deadline) throw new Error(`eval: ${mode} did not listen on ${sock} within 10 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await this.ovs.vsctl([
      'set',
      'bridge',
      BASELINE_BRIDGE,
      'protocols=OpenFlow13',
      'fail_mode=secure',
      '--',
      'set-controller',
      BASELINE_BRIDGE,
      `unix:${sock}`,
    ]);
    while (!(await this.connected())) {
      if (Date.now() > deadline) throw new Error(`eval: br-normal did not connect to ${mode} within 10 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
    this.channel = await MgmtChannel.open(this.runDir, BASELINE_BRIDGE);
  }

  private async connected(): Promise<boolean> {
    const out = await this.ovs.vsctl(['--columns=is_connected', 'list', 'controller']).catch(() => '');
    return /is_connected\s*:\s*true/.test(out);
  }

  /**
   * Before each flow's first packet: the controller's flows go (its table-miss flow is put back, as a
   * controller that just connected would have it), so the first packet reaches the controller again.
   */
  async flush(): Promise<void> {
    if (this.mode === 'normal' || this.channel === undefined) return;
    await this.channel.apply([deleteByCookie(0n, 0n), tableMissToController()]);
  }

  /** NORMAL again: no controller, default fail mode, no controller flows, no process. */
  async restore(): Promise<void> {
    this.channel?.close();
    this.channel = undefined;
    if (this.proc !== undefined) {
      this.proc.kill('SIGTERM');
      this.proc = undefined;
    }
    if (this.mode !== 'normal') {
      await this.ovs.vsctl([
        'del-controller',
        BASELINE_BRIDGE,
        '--',
        'set',
        'bridge',
        BASELINE_BRIDGE,
        'fail_mode=standalone',
      ]);
      await this.ovs.ofctl(['del-flows', BASELINE_BRIDGE]);
      await this.ovs.addFlows(BASELINE_BRIDGE, ['priority=0,actions=NORMAL']);
      rmSync(this.socket, { force: true });
    }
    this.mode = 'normal';
  }
}

/**
 * Part 0 of the evaluation: the same probes through ovs-testcontroller, then through the minimal
 * controller, on the baseline bridge of `ovs`, each flow by flow in turn with the agent's (on its own
 * bridge), so the ratio between them compares the same moments of a shared, noisy machine.
 * `measureWithAgent` runs the agent's case and a controller's together, each controller flow preceded
 * by `flush` (its flows and the datapath cache go); `warm` runs once a controller is there.
 */
export async function measureFloor(
  ovs: Ovs,
  runDir: string,
  measureWithAgent: (
    name: string,
    flush: () => Promise<void>,
    basePort: number,
    agentBasePort: number,
  ) => Promise<{ agent: CaseResult; controller: CaseResult }>,
  warm: () => Promise<void>,
): Promise<NonNullable<EvalReport['floor']>> {
  const floor = new Floor(ovs, runDir);
  const flush = async () => {
    await floor.flush();
    await ovs.purgeDatapath();
  };
  try {
    await floor.use('ovs-testcontroller');
    await warm();
    const t = await measureWithAgent('ovs-testcontroller, same host', flush, 27000, 24000);
    await floor.use('minimal');
    await warm();
    const m = await measureWithAgent('minimal controller, same host', flush, 28000, 25000);
    return {
      testController: t.controller,
      minimal: m.controller,
      agentWithTestController: t.agent,
      agentWithMinimal: m.agent,
    };
  } finally {
    await floor.restore();
  }
}

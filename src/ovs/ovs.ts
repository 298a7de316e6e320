/**
 * Control of one Open vSwitch instance: `ovs-vsctl` against its database socket, `ovs-ofctl` (OpenFlow
 * 1.3) against its run directory, and its daemon's control socket (what `ovs-appctl` speaks,
 * unixctl.ts). Used by the agent for bridge and port set-up and proactive flows, and by the lab and
 * tests for inspection.
 *
 * Invariant: every call names the instance explicitly (database socket, run directory), so several
 * instances on one machine (one per lab hypervisor) never reach each other's daemons.
 */
import { run } from '../exec.js';
import { unixctl } from './unixctl.js';

export interface OvsEndpoint {
  /** ovsdb-server's unix socket, e.g. /run/midonet/hv1/db.sock. */
  readonly dbSock: string;
  /** Run directory of ovs-vswitchd (where BRIDGE.mgmt lives). */
  readonly runDir: string;
}

export class Ovs {
  constructor(readonly ep: OvsEndpoint) {}

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      OVS_RUNDIR: this.ep.runDir,
      OVS_LOGDIR: this.ep.runDir,
      OVS_DBDIR: this.ep.runDir,
    };
  }

  vsctl(args: readonly string[], timeoutMs = 15000): Promise<string> {
    return run(
      'ovs-vsctl',
      [`--db=unix:${this.ep.dbSock}`, `--timeout=${Math.ceil(timeoutMs / 1000)}`, ...args],
      {
        env: this.env(),
        timeoutMs: timeoutMs + 2000,
      },
    );
  }

  ofctl(args: readonly string[], input?: string): Promise<string> {
    return run('ovs-ofctl', ['-O', 'OpenFlow13', ...args], {
      env: this.env(),
      ...(input !== undefined ? { input } : {}),
    });
  }

  /** What `ovs-appctl -t RUNDIR/TARGET COMMAND ARGS...` prints, from the daemon's control socket. */
  appctl(target: string, [command, ...args]: readonly [string, ...string[]]): Promise<string> {
    return unixctl(`${this.ep.runDir}/${target}`, command, args);
  }

  /** Adds flows atomically (an OpenFlow bundle) from flow-syntax lines. */
  async addFlows(bridge: string, lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    await this.ofctl(['--bundle', 'add-flows', bridge, '-'], `${lines.join('\n')}\n`);
  }

  async delFlows(bridge: string, match: string, strict = false): Promise<void> {
    await this.ofctl([...(strict ? ['--strict'] : []), 'del-flows', bridge, match]);
  }

  /**
   * Empties the datapath flow cache through the revalidators (`ovs-appctl revalidator/purge`): each
   * cached flow goes together with the revalidators' entry for it (its ukey). `dpctl/del-flows`
   * deletes the cached flows behind the revalidators' back: their entries stay, are never dumped
   * again so never expire, and every later OpenFlow change re-translates each of them.
   */
  async purgeDatapath(): Promise<void> {
    await this.appctl('ovs-vswitchd.ctl', ['revalidator/purge']);
  }

  /** `ovs-ofctl dump-flows` lines, without the reply header. */
  async dumpFlows(bridge: string, match?: string): Promise<string[]> {
    const out = await this.ofctl(['dump-flows', '--no-stats', bridge, ...(match ? [match] : [])]);
    return out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0 && !l.startsWith('OFPST_FLOW') && !l.startsWith('OFPIT'));
  }

  /** Interface name -> OpenFlow port number of a bridge's ports. */
  async portNumbers(bridge: string): Promise<Map<string, number>> {
    const out = await this.vsctl([
      '--format=csv',
      '--data=bare',
      '--no-headings',
      '--columns=name,ofport',
      'list',
      'Interface',
    ]);
    const m = new Map<string, number>();
    for (const line of out.split('\n')) {
      const [name, ofport] = line.split(',');
      if (name && ofport && Number(ofport) > 0) m.set(name, Number(ofport));
    }
    void bridge;
    return m;
  }
}

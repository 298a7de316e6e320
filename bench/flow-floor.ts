/**
 * bench/flow-floor: the floor of bench/flow-setup, a controller that does nothing but answer
 * (bench/min-controller.ts with --flood-flows: a flow per miss, actions FLOOD), given the lab's br-int
 * in place of the agent, with the agent's controller settings.
 *
 * Invariant: on return the bridge's one controller is connected to it; on failure the process it
 * started is stopped again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ovs } from '../src/ovs/ovs.js';

const MIN_CONTROLLER = fileURLToPath(new URL('./min-controller.js', import.meta.url));

/**
 * The floor's controller (bench/min-controller.ts with --flood-flows) listening on a unix socket, the
 * bridge handed to it, connected. (`ovs-testcontroller --hub` was tried beside it: it installed no
 * flow for these packet-ins, and is left out.)
 */
export async function floorController(
  mode: 'minimal',
  ovsRunDir: string,
  ovs: Ovs,
): Promise<{ proc: ChildProcess; pid: number }> {
  // In OVS's run directory: Open vSwitch connects to no unix socket outside it.
  const sock = join(ovsRunDir, `floor-${mode}.sock`);
  const proc = spawn(process.execPath, [MIN_CONTROLLER, sock, '--flood-flows'], { stdio: 'ignore' });
  try {
    // Generous: the machine may be loaded (the controller's start and ovs-vsctl both wait for a core).
    let deadline = Date.now() + 30000;
    while (!existsSync(sock)) {
      if (Date.now() > deadline) throw new Error(`flow-setup: ${mode} did not listen within 30 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // As the agent's controller is set (datapath.ts): the same packet-in queue, out of band.
    await ovs.vsctl([
      'set-controller',
      'br-int',
      `unix:${sock}`,
      '--',
      'set',
      'controller',
      'br-int',
      'connection_mode=out-of-band',
      'controller_queue_size=512',
    ]);
    deadline = Date.now() + 30000;
    for (;;) {
      const out = await ovs.vsctl(['--columns=is_connected', 'list', 'controller']);
      if (/is_connected\s*:\s*true/.test(out)) break;
      if (Date.now() > deadline)
        throw new Error(
          `flow-setup: br-int did not connect to ${mode} within 30 s: ${out.replace(/\s+/g, ' ')}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    proc.kill('SIGTERM');
    throw e;
  }
  return { proc, pid: proc.pid! };
}

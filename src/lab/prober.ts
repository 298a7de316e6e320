/**
 * A latency probe process in a lab VM (udp-probe.ts `probe` mode), driven one flow at a time: the
 * evaluation writes a flow number, the probe runs that flow's packets and answers with their RTTs.
 *
 * Invariant: one flow in flight at a time; when the probe exits, every waiting flow fails with the
 * exit code, so a caller never waits for ever.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LabVm } from './lab.js';

export const PROBE = fileURLToPath(new URL('./udp-probe.js', import.meta.url));

export /** A probe process in a VM, driven one flow at a time. */
class Prober {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly pending: Array<{ resolve: (l: string) => void; reject: (e: Error) => void }> = [];

  constructor(vm: LabVm, to: string, proto: 'udp' | 'tcp', packets: number, basePort: number) {
    this.child = spawn('ip', [
      'netns',
      'exec',
      vm.netns,
      process.execPath,
      PROBE,
      'probe',
      '--to',
      to,
      '--port',
      '7',
      '--proto',
      proto,
      '--packets',
      String(packets),
      '--base-port',
      String(basePort),
      '--timeout-ms',
      '1000',
    ]);
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (l) => this.pending.shift()?.resolve(l));
    this.child.on('exit', (c) => {
      for (const p of this.pending.splice(0)) p.reject(new Error(`probe in ${vm.name} exited with ${c}`));
    });
  }

  async flow(f: number): Promise<Array<number | null>> {
    const line = new Promise<string>((resolve, reject) => this.pending.push({ resolve, reject }));
    this.child.stdin.write(`${f}\n`);
    return (JSON.parse(await line) as { rtts: Array<number | null> }).rtts;
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

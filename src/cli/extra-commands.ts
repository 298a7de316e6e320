/**
 * `midonet-cli trace --port PORT [packet options]`: simulate a packet against the stored topology (empty
 * MAC and ARP tables) and print the tree; the agent's live view of the same is `agent trace`
 * (agent-commands.ts).
 *
 * Invariant: like every command, failures are CliErrors or StoreErrors with one clear line; trace
 * reads the store only (it never changes anything).
 */
import type { Argv, CommandModule } from 'yargs';
import { buildFlowMatch } from '../sim/packet-fields.js';
import { simulate } from '../sim/simulate.js';
import { Topology } from '../sim/topology.js';
import { objectNamer, portNamer, renderTrace, traceJson } from '../sim/trace.js';
import { CliError } from './options.js';
import { PACKET_OPTIONS, packetFromOptions, str } from './packet-options.js';
import { withStore, type GlobalArgs } from './store-access.js';

function traceCommand(print: (s: string) => void): CommandModule {
  return {
    command: 'trace',
    describe: 'simulate a packet entering a port against the stored topology (empty MAC/ARP tables)',
    builder: (y: Argv) => {
      let c = y.option('port', { type: 'string', describe: 'ingress port (name or id)' });
      for (const [flag, describe] of Object.entries(PACKET_OPTIONS))
        c = c.option(flag, { type: 'string', describe });
      return c;
    },
    handler: async (a) => {
      const g = a as GlobalArgs & Record<string, unknown>;
      const portRef = str(g, 'port');
      if (!portRef) throw new CliError('trace: --port is required (the ingress port, name or id)');
      const packet = packetFromOptions(g);
      await withStore(g, async (store) => {
        const port = await store.resolve('port', portRef);
        const built = buildFlowMatch(packet);
        if (!built.ok) throw new CliError(`trace: ${built.error}`);
        const snap = await store.snapshot();
        const topo = Topology.from(snap.objects as never);
        const res = simulate(topo, built.match, port.id, Date.now(), { trace: true });
        if (res.kind === 'notYet')
          throw new CliError(`trace: objects missing from the topology: ${res.need.join(', ')}`);
        print(
          g.json
            ? JSON.stringify(traceJson(res, portNamer(topo)), null, 2)
            : renderTrace(res, portNamer(topo), objectNamer(topo)),
        );
      });
    },
  };
}

export function extraCommands(print: (s: string) => void): CommandModule[] {
  return [traceCommand(print)];
}

/**
 * `midonet-cli agent WHAT --host H ...`: a running agent's state, through its control socket
 * (src/agent/control-commands.ts serves the operator views):
 *
 *   stats                                   counters and latency
 *   flows [--port P] [--device D] [--tag T] installed reactive flows with tags and actions, filtered
 *   macs [--port P] [--bridge B]            MAC tables
 *   arp [--router R]                        ARP caches
 *   conntrack                               tracked connections (only for rules with conntrack conditions)
 *   nat                                     NAT bindings (empty while no dnat/snat rule matched there)
 *   flow-history [--port P | --cookie C]    why recent flows were removed
 *   trace --port P PACKET...                a made-up packet simulated against the agent's live tables
 *                                           (MAC, ARP, conntrack, NAT); nothing is sent or installed
 *   trace --port P --count N                traces of the next N real packets entering the port
 *
 * Invariant: only reads from the agent; names given are resolved through the store and sent as ids.
 */
import { quote } from '../quote.js';
import type { Argv, CommandModule } from 'yargs';
import { MAX_REQUEST_MS, MAX_TRACE_COUNT } from '../control/limits.js';
import { CliError } from './options.js';
import { scalar, table } from './output.js';
import { PACKET_OPTIONS, num, packetFromOptions, str } from './packet-options.js';
import { withStore, type GlobalArgs } from './store-access.js';
import type { TopologyStore } from '../state/store.js';
import { tagObjectId } from '../agent/flow-history.js';
import { CONNTRACK_NOTE, NAT_NOTE, parseFlowKey } from '../agent/control-commands.js';
import { nameTag, type ObjectNamer } from '../sim/trace.js';

export const AGENT_VIEWS = [
  'stats',
  'flows',
  'macs',
  'arp',
  'conntrack',
  'nat',
  'flow-history',
  'trace',
] as const;

type Row = Record<string, unknown>;

/** `chain:fw` -> `chain:ID` (a tag whose object is given by name). */
async function tagOf(store: TopologyStore, raw: string): Promise<string> {
  const i = raw.indexOf(':');
  if (i <= 0)
    throw new CliError(`--tag: ${quote(raw)} is not valid: expected KIND:NAME-OR-ID, e.g. chain:fw`);
  const kind = raw.slice(0, i);
  const ref = tagObjectId(raw);
  const kinds: Record<string, string> = { routes: 'router', location: 'port', mac: 'bridge', arp: 'router' };
  const k = kinds[kind] ?? kind;
  if (!['port', 'bridge', 'router', 'chain', 'port-group', 'ip-address-group'].includes(k)) return raw;
  const id = (await store.resolve(k as 'port', ref)).id;
  return raw.slice(0, i + 1) + id + raw.slice(i + 1 + ref.length);
}

function rows(title: string, data: Row[], cols: string[], note?: string): string {
  const body = data.length === 0 ? `no ${title}` : table(data, cols, new Map());
  return note ? `${body}\n(${note})` : body;
}

export function agentCommand(print: (s: string) => void): CommandModule {
  return {
    command: 'agent <what>',
    describe: "a running agent's state: stats, flows, MAC/ARP tables, conntrack, NAT, flow history, traces",
    builder: (y: Argv) => {
      let c = y
        .positional('what', { choices: AGENT_VIEWS, type: 'string' })
        .option('host', { type: 'string', describe: 'the agent host (name or id)' })
        .option('port', {
          type: 'string',
          describe: 'a port (name or id): filter, or the trace ingress port',
        })
        .option('device', { type: 'string', describe: 'flows: through this bridge or router' })
        .option('tag', { type: 'string', describe: 'flows: carrying this tag, e.g. chain:fw' })
        .option('bridge', { type: 'string', describe: 'macs: of this bridge' })
        .option('router', { type: 'string', describe: 'arp: of this router' })
        .option('cookie', { type: 'string', describe: 'flow-history: of this flow (0x2a or 42)' })
        .option('limit', { type: 'string', describe: 'flow-history: at most this many, newest first' })
        .option('count', { type: 'string', describe: 'trace: capture the next N real packets (default 1)' })
        .option('timeout', { type: 'string', describe: 'trace --count: seconds to wait (default 10)' });
      for (const [flag, describe] of Object.entries(PACKET_OPTIONS))
        c = c.option(flag, { type: 'string', describe: `trace: ${describe}` });
      return c;
    },
    handler: async (a) => {
      const g = a as GlobalArgs & Record<string, unknown>;
      const hostRef = str(g, 'host');
      if (!hostRef) throw new CliError('agent: --host is required');
      const what = g.what as (typeof AGENT_VIEWS)[number];
      // A trace's bounds are the agent's (control-requests.ts traceArgs): checked before asking it.
      const secs = num(g, 'timeout', MAX_REQUEST_MS / 1000, 1) ?? 10;
      const count = num(g, 'count', MAX_TRACE_COUNT, 1) ?? 1;
      await withStore(g, async (store) => {
        const host = await store.resolve('host', hostRef);
        const live = (await store.liveness()).find((l) => l.hostId === host.id);
        const socket = live?.info.controlSocket;
        if (!live?.alive || typeof socket !== 'string')
          throw new CliError(`agent: the agent of host ${quote(host.name)} is not running`, 1);
        const id = async (kind: 'port' | 'bridge' | 'router', flag: string) => {
          const ref = str(g, flag);
          return ref === undefined ? undefined : (await store.resolve(kind, ref)).id;
        };
        let req: Record<string, unknown> = { cmd: what };
        let timeoutMs = 5000;
        const packetGiven = Object.keys(PACKET_OPTIONS).some((f) => g[f] !== undefined);
        if (what === 'flows') {
          const tag = str(g, 'tag');
          req = {
            cmd: 'flows',
            port: await id('port', 'port'),
            device: await deviceId(store, str(g, 'device')),
          };
          if (tag !== undefined) req.tag = await tagOf(store, tag);
        } else if (what === 'macs')
          req = { cmd: 'macs', port: await id('port', 'port'), bridge: await id('bridge', 'bridge') };
        else if (what === 'arp') req = { cmd: 'arp', router: await id('router', 'router') };
        else if (what === 'flow-history') {
          if (g.port !== undefined && g.cookie !== undefined)
            throw new CliError('agent flow-history: give --port or --cookie, not both');
          const cookie = str(g, 'cookie');
          if (cookie !== undefined && !/^(0x[0-9a-f]+|[0-9]+)$/i.test(cookie))
            throw new CliError(
              `--cookie: ${quote(cookie)} is not valid: expected a number such as 0x2a or 42`,
            );
          req = {
            cmd: 'flow-history',
            port: await id('port', 'port'),
            ...(cookie !== undefined ? { cookie: cookie.startsWith('0x') ? cookie : Number(cookie) } : {}),
            limit: num(g, 'limit', 1_000_000),
          };
        } else if (what === 'trace') {
          const port = await id('port', 'port');
          if (port === undefined) throw new CliError('agent trace: --port is required');
          if (packetGiven) {
            if (g.count !== undefined)
              throw new CliError(
                'agent trace: --count captures real packets; give packet options or --count, not both',
              );
            req = { cmd: 'simulate', port, packet: packetFromOptions(g) };
          } else {
            timeoutMs = secs * 1000 + 2000;
            req = { cmd: 'trace', port, count, timeoutMs: secs * 1000 };
          }
        }
        for (const k of Object.keys(req)) if (req[k] === undefined) delete req[k];
        const { controlRequest } = await import('../control/control-api.js');
        const result = await controlRequest(socket, req, timeoutMs).catch((e: Error) => {
          throw new CliError(e.message);
        });
        if (g.json) return print(JSON.stringify(result, null, 2));
        const names = new Map(
          (await store.snapshot()).objects.flatMap(({ object: o }) =>
            typeof o.name === 'string' ? [[o.id, o.name] as const] : [],
          ),
        );
        print(render(what, req, result, (id) => names.get(id)));
      });
    },
  };
}

async function deviceId(store: TopologyStore, ref: string | undefined): Promise<string | undefined> {
  if (ref === undefined) return undefined;
  try {
    return (await store.resolve('bridge', ref)).id;
  } catch {
    return (await store.resolve('router', ref)).id;
  }
}

/** An ISO time as seconds ago. */
function ago(iso: string): string {
  return `${Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))}s`;
}

function render(what: string, req: Row, result: unknown, objects: ObjectNamer): string {
  const r = result as Row & { entries?: Row[]; note?: string };
  switch (what) {
    case 'flows': {
      const flows = result as Array<{
        cookie: string;
        inPort: string;
        match: string | null;
        actions: string | null;
        packets: number;
        tags: string[];
      }>;
      if (flows.length === 0) return 'no reactive flows';
      return flows
        .map(
          (f) =>
            `${f.cookie}  in_port=${f.inPort} packets=${f.packets}  ${f.match ?? '(not in the switch)'}\n  actions: ${f.actions ?? '-'}\n  tags: ${f.tags.map((t) => nameTag(t, objects)).join(' ')}`,
        )
        .join('\n');
    }
    case 'macs':
      return rows(
        'MAC entries',
        r.entries!.map((e) => ({
          ...e,
          bridge: e.bridgeName ?? e.bridge,
          port: e.portName ?? e.port,
          age: `${Math.round(Number(e.ageMs) / 1000)}s`,
        })),
        ['bridge', 'vlan', 'mac', 'port', 'age'],
      );
    case 'arp':
      return rows(
        'ARP entries',
        r.entries!.map((e) => ({
          ...e,
          router: e.routerName ?? e.router,
          mac: e.mac ?? '(failed)',
          age: `${Math.round(Number(e.ageMs) / 1000)}s`,
        })),
        ['router', 'ip', 'mac', 'state', 'age'],
      );
    case 'conntrack':
    case 'nat': {
      // The daemon's own commands: [{key, lastUsed, to?}], keys parsed here.
      const entries = (result as Array<{ key: string; lastUsed: string; to?: string }>).map((e) => {
        const k = parseFlowKey(e.key);
        return { ...k, ...e, zone: objects(k.zone) ?? k.zone, age: ago(e.lastUsed) };
      });
      return what === 'nat'
        ? rows(
            'NAT bindings',
            entries,
            ['zone', 'kind', 'proto', 'src', 'srcPort', 'dst', 'dstPort', 'to', 'age'],
            NAT_NOTE,
          )
        : rows(
            'tracked connections',
            entries,
            ['zone', 'proto', 'src', 'srcPort', 'dst', 'dstPort', 'age'],
            CONNTRACK_NOTE,
          );
    }
    case 'flow-history':
      return rows(
        'removed flows kept',
        r.entries!.map((e) => ({
          ...e,
          inPort: e.inPortName ?? e.inPort,
          removed: new Date(Number(e.removedAt)).toISOString(),
          lived: `${((Number(e.removedAt) - Number(e.installedAt)) / 1000).toFixed(1)}s`,
        })),
        ['cookie', 'inPort', 'removed', 'lived', 'reason', 'detail'],
        `the agent keeps the last ${scalar(r.capacity)} removals; ${scalar(r.kept)} kept now`,
      );
    case 'trace': {
      if (req.cmd === 'simulate') return String(r.text);
      const t = result as { traces: string[] };
      return t.traces.length === 0
        ? 'no packet reached the agent from that port in time'
        : t.traces.join('\n\n');
    }
    default:
      return Object.entries(r)
        .filter(([k]) => k !== 'simLatencyUs' && k !== 'packetInLatencyUs')
        .map(([k, v]) => `${k.padEnd(18)} ${typeof v === 'string' ? v : scalar(v)}`)
        .join('\n');
  }
}

/**
 * Commands beside the topology kinds:
 *   trace --port PORT [packet options]   simulate a packet against the stored topology and print the tree
 *   agent stats|flows|trace --host H     ask a running agent through its control socket
 *
 * Invariant: like every command, failures are CliErrors or StoreErrors with one clear line; trace
 * reads the store only (it never changes anything), and agent commands only read from the agent.
 */
import { quote } from '../quote.js';
import type { Argv, CommandModule } from 'yargs';
import { controlRequest, MAX_REQUEST_MS, MAX_TRACE_COUNT } from '../control/control-api.js';
import { buildFlowMatch, type PacketFields } from '../sim/flow-match.js';
import { simulate } from '../sim/simulate.js';
import { Topology } from '../sim/topology.js';
import { portNamer, renderTrace, traceJson } from '../sim/trace.js';
import { CliError } from './options.js';
import { withStore, type GlobalArgs } from './main.js';
import { scalar } from './output.js';

const PACKET_OPTIONS: Record<string, string> = {
  'src-mac': 'source MAC (default 02:00:00:00:00:01)',
  'dst-mac': 'destination MAC (default ff:ff:ff:ff:ff:ff)',
  vlan: 'VLAN id (default untagged)',
  ethertype: 'ethertype: ipv4 (default), arp, or a number',
  'src-ip': 'source IPv4 address',
  'dst-ip': 'destination IPv4 address',
  proto: 'tcp, udp, icmp or an IP protocol number',
  ttl: 'IP TTL (default 64)',
  'src-port': 'L4 source port',
  'dst-port': 'L4 destination port',
  'tcp-flags': 'TCP flags set, e.g. syn or syn,ack',
  'tcp-window': 'TCP window size',
  'icmp-type': 'ICMP type',
  'icmp-code': 'ICMP code',
  'arp-op': 'ARP opcode (1 request, 2 reply) with --ethertype arp',
};

function num(args: Record<string, unknown>, flag: string, max: number, min = 0): number | undefined {
  const v = args[flag];
  if (v === undefined) return undefined;
  const s = typeof v === 'string' ? v : scalar(v);
  if (!/^[0-9]+$/.test(s) || Number(s) > max || Number(s) < min)
    throw new CliError(`--${flag}: ${quote(s)} is not valid: expected a whole number from ${min} to ${max}`);
  return Number(s);
}

function str(args: Record<string, unknown>, flag: string): string | undefined {
  const v = args[flag];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw new CliError(`--${flag}: given more than once`);
  return typeof v === 'string' ? v : scalar(v);
}

/** The packet the trace options describe. */
export function packetFromOptions(args: Record<string, unknown>): PacketFields {
  const ethertype = str(args, 'ethertype');
  const et =
    ethertype === undefined || ethertype === 'ipv4'
      ? 0x0800
      : ethertype === 'arp'
        ? 0x0806
        : Number(ethertype);
  if (!Number.isInteger(et) || et < 0 || et > 0xffff)
    throw new CliError(`--ethertype: ${quote(ethertype)} is not valid: ipv4, arp or a number up to 65535`);
  const proto = str(args, 'proto');
  let p: PacketFields['proto'];
  if (proto === undefined) p = undefined;
  else if (proto === 'tcp' || proto === 'udp' || proto === 'icmp') p = proto;
  else if (/^[0-9]{1,3}$/.test(proto) && Number(proto) <= 255) p = Number(proto);
  else throw new CliError(`--proto: ${quote(proto)} is not valid: tcp, udp, icmp or a number 0 to 255`);
  const flags = str(args, 'tcp-flags');
  const out: Record<string, unknown> = {
    srcMac: str(args, 'src-mac') ?? '02:00:00:00:00:01',
    dstMac: str(args, 'dst-mac') ?? 'ff:ff:ff:ff:ff:ff',
    vlan: num(args, 'vlan', 4094),
    ethertype: et,
    srcIp: str(args, 'src-ip'),
    dstIp: str(args, 'dst-ip'),
    proto: p,
    ttl: num(args, 'ttl', 255),
    srcPort: num(args, 'src-port', 65535),
    dstPort: num(args, 'dst-port', 65535),
    tcpFlags: flags === undefined ? undefined : flags.split(','),
    tcpWindow: num(args, 'tcp-window', 65535),
    icmpType: num(args, 'icmp-type', 255),
    icmpCode: num(args, 'icmp-code', 255),
    arpOp: num(args, 'arp-op', 65535),
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

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
            : renderTrace(res, portNamer(topo)),
        );
      });
    },
  };
}

function agentCommand(print: (s: string) => void): CommandModule {
  return {
    command: 'agent <what>',
    describe: "a running agent's stats, flows, or traces of the next packets of a port",
    builder: (y: Argv) =>
      y
        .positional('what', { choices: ['stats', 'flows', 'trace'], type: 'string' })
        .option('host', { type: 'string', describe: 'the agent host (name or id)' })
        .option('port', { type: 'string', describe: 'trace: the ingress port (name or id)' })
        .option('count', { type: 'string', describe: 'trace: how many packets (default 1)' })
        .option('timeout', { type: 'string', describe: 'trace: seconds to wait (default 10)' }),
    handler: async (a) => {
      const g = a as GlobalArgs & Record<string, unknown>;
      const hostRef = str(g, 'host');
      if (!hostRef) throw new CliError('agent: --host is required');
      // A trace's bounds are the agent's (control-requests.ts traceArgs): checked before asking it.
      const secs = num(g, 'timeout', MAX_REQUEST_MS / 1000, 1) ?? 10;
      const count = num(g, 'count', MAX_TRACE_COUNT, 1) ?? 1;
      await withStore(g, async (store) => {
        const host = await store.resolve('host', hostRef);
        const live = (await store.liveness()).find((l) => l.hostId === host.id);
        const socket = live?.info.controlSocket;
        if (!live?.alive || typeof socket !== 'string')
          throw new CliError(`agent: the agent of host ${quote(host.name)} is not running`);
        const what = g.what as string;
        let req: Record<string, unknown> = { cmd: what };
        let timeoutMs = 5000;
        if (what === 'trace') {
          const portRef = str(g, 'port');
          if (!portRef) throw new CliError('agent trace: --port is required');
          const port = await store.resolve('port', portRef);
          timeoutMs = secs * 1000 + 2000;
          req = { cmd: 'trace', port: port.id, count, timeoutMs: secs * 1000 };
        }
        const result = await controlRequest(socket, req, timeoutMs).catch((e: Error) => {
          throw new CliError(e.message);
        });
        if (g.json) return print(JSON.stringify(result, null, 2));
        if (what === 'trace') {
          const r = result as { traces: string[]; complete: boolean };
          print(
            r.traces.length === 0
              ? 'no packet reached the agent from that port in time'
              : r.traces.join('\n\n'),
          );
          return;
        }
        if (what === 'flows') {
          const flows = result as Array<{ cookie: string; inPort: string; match: string; packets: number }>;
          print(
            flows.length === 0
              ? 'no reactive flows'
              : flows.map((f) => `${f.cookie}  packets=${f.packets}  ${f.match}`).join('\n'),
          );
          return;
        }
        const s = result as Record<string, unknown>;
        print(
          Object.entries(s)
            .filter(([k]) => k !== 'simLatencyUs')
            .map(([k, v]) => `${k.padEnd(18)} ${typeof v === 'string' ? v : scalar(v)}`)
            .join('\n'),
        );
      });
    },
  };
}

export function extraCommands(print: (s: string) => void): CommandModule[] {
  return [traceCommand(print), agentCommand(print)];
}

/**
 * midonet-agent's configuration file (default /etc/midonet/midonet-agent.json), validated at start.
 * Every key has a default suited to a real hypervisor; the lab overrides paths and the datapath type.
 *
 * Invariant: the agent starts only with a configuration that parsed completely (loadConfig throws a
 * ConfigError naming file, key, value and what is allowed).
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { absolutePath, hostNameValue, intIn, ovsBridgeName, storeUrl, tcpEndpoint } from '../config.js';
import { LOG_LEVELS } from '../log.js';
import { DEFAULT_STORE_URL } from '../state/open.js';
import { parseIpv4 } from '../addr.js';
import { metricsConfigSchema } from '../metrics/server.js';
import { REHEARSE_MS_DEFAULT } from './rehearsal.js';

export const DEFAULT_AGENT_CONFIG = '/etc/midonet/midonet-agent.json';
/** Where the agent serves /metrics and /health unless its file says otherwise. */
export const DEFAULT_AGENT_METRICS = '127.0.0.1:9464';

const path = absolutePath;

export const agentConfigSchema = z
  .object({
    /** Store URL (sqlite:PATH or the distributed backend's URL). */
    store: storeUrl.default(DEFAULT_STORE_URL),
    /** Name this host registers under; defaults to the machine's host name. */
    hostName: hostNameValue.default(hostname()),
    /** Where the stable host id (host_uuid) is kept. */
    stateDir: path.default('/var/lib/midonet'),
    /** Where the agent's sockets live (OpenFlow controller socket, control API). */
    runDir: path.default('/run/midonet'),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    ovs: z
      .object({
        /** ovsdb-server's socket. */
        dbSock: path.default('/var/run/openvswitch/db.sock'),
        /** ovs-vswitchd's run directory (BRIDGE.mgmt). */
        runDir: path.default('/var/run/openvswitch'),
        bridge: ovsBridgeName.default('br-int'),
        /** 'system' (kernel datapath) on hypervisors, 'netdev' (userspace) where no module can load. */
        datapathType: z.enum(['system', 'netdev']).default('system'),
        /** Packet-ins per second OVS sends the agent at most (0: unlimited); a flood of new flows cannot swamp it. */
        controllerRateLimit: intIn(0, 1_000_000).default(50000),
        controllerBurstLimit: intIn(0, 1_000_000).default(10000),
      })
      .strict()
      .default({}),
    tunnel: z
      .object({
        /** Underlay address of this host; default: its address in its tunnel zone. */
        localIp: z
          .string()
          .refine((s) => parseIpv4(s) !== undefined, { message: 'expected an IPv4 address' })
          .nullable()
          .default(null),
      })
      .strict()
      .default({}),
    flows: z
      .object({
        /** Seconds an idle reactive flow stays installed. */
        idleTimeout: intIn(1, 65535).default(60),
        priority: intIn(1, 65000).default(10),
        /**
         * Longest a new flow's first packet across hosts waits for the egress host's agent to install
         * its reply's flow (ms; 0: it never waits, and the reply may race its flow to that switch).
         */
        replyWaitMs: intIn(0, 100).default(5),
        /**
         * The answers of every packet-in handled in one turn of the event loop go out in one socket
         * write (false: one write per packet-in; packet-in-answer.ts).
         */
        answerPerTurn: z.boolean().default(false),
        /**
         * While no packet-in comes, the last one is rehearsed every this many ms (simulated and
         * encoded, nothing committed or written: rehearsal.ts), keeping the first-packet path warm; 0: off.
         */
        rehearseMs: intIn(0, 1000).default(REHEARSE_MS_DEFAULT),
      })
      .strict()
      .default({}),
    topology: z
      .object({
        /**
         * 'on-demand': hold what the local ports reach and what simulations ask for (loaded from the
         * store as packets need it); 'full': hold the whole topology.
         */
        load: z.enum(['on-demand', 'full']).default('on-demand'),
        /** Objects loaded for a simulation and not asked for again within this long are dropped (ms). */
        keepAskedMs: intIn(1000, 86_400_000).default(600000),
      })
      .strict()
      .default({}),
    dhcp: z
      .object({
        /** Interface MTU (option 26) the DHCP server gives VMs: 1500 less the tunnel overhead; 0: none. */
        mtu: intIn(0, 65535).default(1450),
      })
      .strict()
      .default({}),
    /** Packet-ins waiting for simulation at most; more are dropped and counted. */
    packetInQueue: intIn(1, 1_000_000).default(10000),
    /** How often the agent renews its liveness (ms); it is dead after 3 missed renewals. */
    heartbeatMs: intIn(100, 60000).default(1000),
    /** MAC table entries not refreshed for this long expire (ms). */
    macLifetimeMs: intIn(1000, 86_400_000).default(300000),
    /**
     * The channel between agents (ZeroMQ with CURVE): learned MAC/ARP entries pushed at once, reply
     * flows installed on the egress host. `listen: null` turns it off (the store still carries learned
     * state, later).
     */
    peers: z
      .object({
        /** ZeroMQ endpoint to receive on, e.g. tcp://0.0.0.0:9470. */
        listen: tcpEndpoint.nullable().default('tcp://0.0.0.0:9470'),
        /** The endpoint other agents connect to; default: the listen port on this host's tunnel address. */
        advertise: tcpEndpoint.nullable().default(null),
      })
      .strict()
      .default({}),
    /** Prometheus /metrics and /health on a loopback HOST:PORT; `listen: null` turns them off. */
    metrics: metricsConfigSchema(DEFAULT_AGENT_METRICS),
  })
  .strict();

export type AgentConfig = z.output<typeof agentConfigSchema>;

/** What a reload (SIGHUP) can apply to a running agent, and which changed keys need a restart. */
export interface ReloadPlan {
  /** New log level, when it changed. */
  readonly logLevel?: AgentConfig['logLevel'];
  /** New idle timeout (every reactive flow, from the next idle-expiry read), when it changed. */
  readonly idleTimeout?: number;
  /** Dotted keys whose change takes effect only after a restart. */
  readonly needsRestart: string[];
}

function leafKeys(v: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v))
      for (const e of leafKeys(x, prefix ? `${prefix}.${k}` : k)) out.set(...e);
  } else out.set(prefix, JSON.stringify(v));
  return out;
}

/** Compares the running configuration with a re-read one (both fully defaulted). */
export function reloadPlan(running: AgentConfig, next: AgentConfig): ReloadPlan {
  const a = leafKeys(running);
  const b = leafKeys(next);
  const live = new Set(['logLevel', 'flows.idleTimeout']);
  const needsRestart = [...b.keys()].filter((k) => a.get(k) !== b.get(k) && !live.has(k)).sort();
  return {
    ...(next.logLevel !== running.logLevel ? { logLevel: next.logLevel } : {}),
    ...(next.flows.idleTimeout !== running.flows.idleTimeout ? { idleTimeout: next.flows.idleTimeout } : {}),
    needsRestart,
  };
}

/**
 * midonet-router's configuration file (default /etc/midonet/midonet-router.json), validated at start.
 * It runs beside the agent on a hypervisor and reaches the same Open vSwitch (to plug speaker veths
 * into br-int) and the same store; the lab overrides paths, the namespace prefix and the timers.
 *
 * Invariant: the process starts only with a configuration that parsed completely (loadConfig throws
 * a ConfigError naming file, key, value and what is allowed).
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { absolutePath, hostNameValue, intIn, netnsName, ovsBridgeName, storeUrl } from '../config.js';
import { LOG_LEVELS } from '../log.js';
import { DEFAULT_STORE_URL } from '../state/open.js';
import { metricsConfigSchema } from '../metrics/server.js';

export const DEFAULT_ROUTER_CONFIG = '/etc/midonet/midonet-router.json';

const path = absolutePath;

export const routerConfigSchema = z
  .object({
    store: storeUrl.default(DEFAULT_STORE_URL),
    /** The host (as the agent registered it) whose uplink ports this process serves. */
    hostName: hostNameValue.default(hostname()),
    /** Where the control socket lives. */
    runDir: path.default('/run/midonet'),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    ovs: z
      .object({
        dbSock: path.default('/var/run/openvswitch/db.sock'),
        runDir: path.default('/var/run/openvswitch'),
        bridge: ovsBridgeName.default('br-int'),
      })
      .strict()
      .default({}),
    /** Network namespace where br-int's interfaces live (null: the root namespace; the lab: its hypervisor). */
    hostNetns: netnsName.nullable().default(null),
    /** Speaker namespaces (and FRR path spaces) are named PREFIX + the port's tunnel key in hex. */
    namespacePrefix: z
      .string()
      .min(1)
      .max(12)
      .regex(/^[a-z0-9][a-z0-9-]*$/, {
        message: "expected 1 to 12 of lowercase letters, digits and '-', not starting with '-'",
      })
      .default('mnr-'),
    /** How often FRR's state and learned routes are read (ms). */
    pollMs: intIn(100, 60000).default(1000),
    /** Learned routes kept per peer at most; the rest are left out (and reported). */
    maxRoutesPerPeer: intIn(1, 1_000_000).default(20000),
    /** Store operations per transaction when writing learned routes. */
    routeBatch: intIn(1, 100000).default(2000),
    /** How often this process renews its liveness record (ms). */
    heartbeatMs: intIn(100, 60000).default(1000),
    /** Prometheus metrics (BGP session states, prefix counts, process) and /health. */
    metrics: metricsConfigSchema('127.0.0.1:9465').default({}),
  })
  .strict();

export type RouterConfig = z.output<typeof routerConfigSchema>;

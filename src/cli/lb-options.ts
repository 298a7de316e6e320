/**
 * The command-line options of the load balancer kinds (load-balancer, pool, vip, pool-member,
 * health-monitor), merged into the option table of options.ts.
 *
 * Invariant: like options.ts, each option only translates text to a field value (ranges are checked
 * by parseOption and again by the store, which is the authority); a member's `status` has no option:
 * the health monitor writes it.
 */
import type { OptionSpec } from './options.js';
import type { Kind } from '../state/model.js';

type LbKind = Extract<Kind, 'load-balancer' | 'pool' | 'vip' | 'pool-member' | 'health-monitor'>;

const str = { t: 'string' } as const;
const bool = { t: 'bool' } as const;
const int = (min: number, max: number) => ({ t: 'int', min, max }) as const;
const ref = (kind: Kind) => ({ t: 'ref', kind }) as const;
const named: OptionSpec = { flag: 'name', field: 'name', type: str, describe: 'unique name (required)' };
const admin: OptionSpec = {
  flag: 'admin-state-up',
  field: 'adminStateUp',
  type: bool,
  describe: 'true or false',
};
const lbRef: OptionSpec = {
  flag: 'load-balancer',
  field: 'loadBalancerId',
  type: ref('load-balancer'),
  describe: 'the load balancer',
  required: true,
};
const poolRef: OptionSpec = {
  flag: 'pool',
  field: 'poolId',
  type: ref('pool'),
  describe: 'the pool',
  required: true,
};

export const LB_OPTIONS: Record<LbKind, readonly OptionSpec[]> = {
  'load-balancer': [
    named,
    { flag: 'router', field: 'routerId', type: ref('router'), describe: 'the router', required: true },
    admin,
  ],
  pool: [
    named,
    lbRef,
    {
      flag: 'algorithm',
      field: 'algorithm',
      type: { t: 'enum', values: ['round-robin', 'hash'] },
      describe: 'round-robin (default) or hash (of the 5-tuple)',
    },
    admin,
  ],
  vip: [
    named,
    lbRef,
    { ...poolRef, describe: 'the pool its connections go to' },
    {
      flag: 'address',
      field: 'address',
      type: str,
      describe: "virtual address (IPv4 or IPv6), in a subnet of one of the router's ports",
      required: true,
    },
    {
      flag: 'protocol',
      field: 'protocol',
      type: { t: 'enum', values: ['tcp', 'udp'] },
      describe: 'tcp (default) or udp',
    },
    { flag: 'port', field: 'port', type: int(1, 65535), describe: 'virtual port', required: true },
    {
      flag: 'session-persistence',
      field: 'sessionPersistence',
      type: { t: 'enum', values: ['none', 'source-ip'] },
      describe: 'none (default) or source-ip (a client stays on one member)',
    },
    admin,
  ],
  'pool-member': [
    named,
    poolRef,
    {
      flag: 'address',
      field: 'address',
      type: str,
      describe: "the member's address (the VIP's family)",
      required: true,
    },
    { flag: 'port', field: 'port', type: int(1, 65535), describe: "the member's port", required: true },
    { flag: 'weight', field: 'weight', type: int(0, 256), describe: 'share of new connections (default 1)' },
    admin,
  ],
  'health-monitor': [
    named,
    poolRef,
    {
      flag: 'type',
      field: 'type',
      type: { t: 'enum', values: ['tcp', 'http'] },
      describe: 'tcp (connect) or http (GET)',
    },
    {
      flag: 'interval',
      field: 'interval',
      type: int(1, 3600),
      describe: 'seconds between checks (default 5)',
    },
    {
      flag: 'timeout',
      field: 'timeout',
      type: int(1, 3600),
      describe: 'seconds a check may take (default 2)',
    },
    {
      flag: 'retries',
      field: 'retries',
      type: int(1, 10),
      describe: 'checks in a row before a member changes state (default 3)',
    },
    { flag: 'http-path', field: 'httpPath', type: str, describe: 'http: path to GET (default /)' },
    {
      flag: 'expected-status',
      field: 'expectedStatus',
      type: int(100, 599),
      describe: 'http: status meaning healthy (default 200)',
    },
    admin,
  ],
};

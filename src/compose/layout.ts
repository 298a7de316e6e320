/**
 * Names and addresses of the compose lab (docker-compose.yml), in one place for the host-side verb
 * (`npm run compose`) and the roles inside the containers. The compose files repeat the addresses
 * (YAML cannot import them); test/integration/ops-compose.test.ts checks that both agree.
 *
 *   198.51.100.0/24  underlay: ZooKeeper .2, Cassandra .3, hypervisors hv1..hv3 at .11..13 (the
 *                    engine's host bridge is the gateway .1; the network is internal, no NAT)
 *   203.0.113.0/29   upstream: the ISP .2, the router host's uplink interface (bound to the virtual
 *                    router's port edge-up, 203.0.113.1/30, as in the namespace lab)
 *   192.0.2.0/24     tenant bridges (BRIDGES of the namespace lab), inside VM containers only
 *
 * Invariant: every name the lab makes on the host is found by the compose project label
 * (`com.docker.compose.project=midonet`), so `down` removes exactly what `up` made.
 */
import { BRIDGES } from '../lab/lab.js';
import { vmMac } from '../lab/layout.js';

/** The compose project name (fixed, so a checkout's directory name never changes it). */
export const PROJECT = 'midonet';
export const PROJECT_LABEL = 'com.docker.compose.project';
export const SERVICE_LABEL = 'com.docker.compose.service';

export const IMAGE = 'midonet-ts:latest';
/** The project image plus Cassandra's jars (docker/cassandra/Dockerfile; docker-compose.local.yml). */
export const CASSANDRA_IMAGE = 'midonet-cassandra:latest';
/**
 * The local base image for the Dockerfile's NODE_BASE (Debian 12 minbase + the host's Node);
 * MIDONET_COMPOSE_NODE_BASE names another (docker-compose.local.yml reads the same variable).
 */
export const DEFAULT_NODE_BASE_IMAGE = 'localhost/midonet-node:20-bookworm';
export const NODE_BASE_IMAGE = process.env.MIDONET_COMPOSE_NODE_BASE || DEFAULT_NODE_BASE_IMAGE;

/**
 * The compose networks' names end with a lab id, new at every `up` (docker-compose.yml reads it from
 * MIDONET_COMPOSE_LAB_ID): Podman 4.3 can keep a removed container's address allocated in a network of
 * the same name, which would refuse the next lab's static addresses.
 */
export const LAB_ID_VAR = 'MIDONET_COMPOSE_LAB_ID';

/** The lab id of existing networks of the project (their names), if any. */
export function labIdOf(networks: readonly string[]): string | undefined {
  for (const n of networks) {
    const m = /^midonet-(?:underlay|upstream)-([a-z0-9]{1,16})$/.exec(n);
    if (m) return m[1];
  }
  return undefined;
}

export const UNDERLAY_SUBNET = '198.51.100.0/24';
export const UNDERLAY_PREFIX_LEN = 24;
export const ZOOKEEPER_IP = '198.51.100.2';
export const CASSANDRA_IP = '198.51.100.3';
/** The cli container's address (every address of the lab is static: a dynamic one can take a static one's). */
export const CLI_IP = '198.51.100.20';
export const STORE_URL = `cassandra://${CASSANDRA_IP}:9042?zk=${ZOOKEEPER_IP}:2181&rf=1&dc=datacenter1`;
export const UPSTREAM_SUBNET = '203.0.113.0/29';

export interface ComposeHost {
  /** The compose service. */
  readonly service: string;
  /** The host name the agent registers. */
  readonly name: string;
  readonly underlayIp: string;
  /** The router host's interface on the upstream network, bound to the router's uplink port. */
  readonly uplink?: string;
}

export const HOSTS: readonly ComposeHost[] = [
  { service: 'agent1', name: 'hv1', underlayIp: '198.51.100.11' },
  { service: 'agent2', name: 'hv2', underlayIp: '198.51.100.12' },
  { service: 'router', name: 'hv3', underlayIp: '198.51.100.13', uplink: 'eth1' },
];

/** The router host's address on the upstream network before its interface joins br-int. */
export const ROUTER_UPSTREAM_IP = '203.0.113.5';
export const ISP_SERVICE = 'isp';
export const ISP_UPSTREAM_IP = '203.0.113.2';

export interface ComposeVm {
  readonly service: string;
  /** The compose service of its hypervisor. */
  readonly hostService: string;
  readonly hostName: string;
  readonly bridge: string;
  /** Its port on the bridge, bound to `tap` on the hypervisor. */
  readonly port: string;
  /** The hypervisor's end of the VM's veth (the VM's end is eth0). */
  readonly tap: string;
  readonly ip: string;
  readonly prefixLen: number;
  readonly gateway: string;
  readonly mac: string;
}

function vm(n: number, host: ComposeHost, bridge: 0 | 1, ip: string): ComposeVm {
  const b = BRIDGES[bridge];
  return {
    service: `vm${n}`,
    hostService: host.service,
    hostName: host.name,
    bridge: b.name,
    port: `vm${n}-port`,
    tap: `tap-vm${n}`,
    ip,
    prefixLen: b.len,
    gateway: b.gateway,
    mac: vmMac(bridge + 1, n),
  };
}

/** vm1 and vm2 share tenant-a across hosts; vm3 is on tenant-b, behind the virtual router. */
export const VMS: readonly ComposeVm[] = [
  vm(1, HOSTS[0]!, 0, '192.0.2.10'),
  vm(2, HOSTS[1]!, 0, '192.0.2.11'),
  vm(3, HOSTS[1]!, 1, '192.0.2.138'),
];

/** The container where midonet-cli and the verb's setup and report run. */
export const CLI_SERVICE = 'cli';

/** Every service of the lab. */
export const SERVICES: readonly string[] = [
  'zookeeper',
  'cassandra',
  ...HOSTS.map((h) => h.service),
  ISP_SERVICE,
  ...VMS.map((v) => v.service),
  CLI_SERVICE,
];

/**
 * The topology model: every kind of object the suite stores, its fields and their types, as zod
 * schemas from which the TypeScript types are inferred (one description serves validation and types).
 *
 * Invariant: an object that passes `parseFields` is well-formed on its own (addresses, prefixes, MACs,
 * ranges, enumerations); whether its references point at existing objects of the right kind is checked
 * by `integrity.ts` against the store, and `references.ts` says what each reference means on delete.
 * Every stored object carries `id` (UUID), `version` (1 on create, +1 per write) and `name` (unique per
 * kind; optional only for routes, rules and BGP networks).
 *
 * The kinds are listed in model-kinds.ts, the value types of fields in model-fields.ts, and the
 * parsing of one object's fields (`parseFields`, its issues in words) in model-parse.ts.
 */
import { z } from 'zod';
import { addressPair, ipAddress } from './port-security-fields.js';
import { ifaceAddr6, routePrefix } from './ipv6-fields.js';
import { domainName, extraOption, staticRoute } from './dhcp-option-fields.js';
import { UNSAFE_TEXT } from '../quote.js';
import {
  uuid,
  optRef,
  ipv4,
  natIpv4,
  prefix,
  ifaceAddr,
  mac,
  printable,
  name,
  adminStateUp,
  natTarget,
  RULE_ACTIONS,
  conditionsSchema,
  mirrorConditions,
} from './model-fields.js';
import { LEASE_STATES, TOKEN_ROLES, type Kind } from './model-kinds.js';

/** The kinds and field value types other modules name through the model. */
export {
  KINDS,
  isKind,
  unknownKindMessage,
  OPTIONAL_NAME_KINDS,
  TOKEN_ROLES,
  LEASE_STATES,
  type Kind,
  type TokenRole,
} from './model-kinds.js';
export {
  UUID_RE,
  isUuid,
  parsePortRange,
  FRAGMENT_POLICIES,
  RULE_ACTIONS,
  NAT_ACTIONS,
  TCP_FLAGS,
  conditionsSchema,
  type RuleAction,
  type Conditions,
  type ConditionName,
} from './model-fields.js';

// ---- kinds ----------------------------------------------------------------------------------------

export const fieldSchemas = {
  host: z.object({ name, addresses: z.array(ipv4).default([]) }).strict(),
  'tunnel-zone': z
    .object({
      name,
      type: z.enum(['gre', 'vxlan']).default('gre'),
      members: z.array(z.object({ hostId: uuid, address: ipv4 }).strict()).default([]),
    })
    .strict(),
  bridge: z
    .object({
      name,
      adminStateUp,
      inboundChainId: optRef,
      outboundChainId: optRef,
      vlanAware: z.boolean().default(false),
    })
    .strict(),
  router: z
    .object({
      name,
      adminStateUp,
      inboundChainId: optRef,
      outboundChainId: optRef,
      /** NAT before routing (DNAT, reverse SNAT); kept by floating IPs, port forwards and source NAT. */
      natInboundChainId: optRef,
      /** NAT after routing (SNAT, reverse DNAT). */
      natOutboundChainId: optRef,
    })
    .strict(),
  port: z
    .object({
      name,
      /** The bridge or router this port belongs to; fixed at create. */
      deviceId: uuid,
      /** Filled by the store from the device's kind. */
      deviceKind: z.enum(['bridge', 'router']),
      adminStateUp,
      /** Router ports: interface address with prefix length. */
      address: ifaceAddr.nullable().default(null),
      /** Router ports: IPv6 interface address with prefix length (ipv6-fields.ts); null: IPv4 only. */
      address6: ifaceAddr6.nullable().default(null),
      /** Router ports: MAC (generated when not given). */
      mac: mac.nullable().default(null),
      /** Bridge ports on a VLAN-aware bridge: access VLAN. */
      vlanId: z.number().int().min(1).max(4094).nullable().default(null),
      /** Exterior ports: host and interface they are bound to. */
      hostId: optRef,
      interfaceName: z
        .string()
        .min(1)
        .max(15, { message: 'Linux interface names are at most 15 characters' })
        .regex(/^[A-Za-z0-9_.:-]+$/, { message: 'letters, digits and _ . : - only' })
        .nullable()
        .default(null),
      /** Interior ports: the one peer port. */
      peerId: optRef,
      inboundChainId: optRef,
      outboundChainId: optRef,
      /** Unique in the deployment (tunnel id / VNI of traffic to this port); assigned by the store. */
      tunnelKey: z.number().int().min(1).max(0xffffff),
      /** The addresses the VM on this port has, IPv4 or IPv6 (floating IPs map to the IPv4 ones). */
      addresses: z.array(ipAddress).max(16).default([]),
      /** Anti-spoofing: only `mac`, `addresses` and the pairs may send from this port (sim/port-security.ts). */
      portSecurity: z.boolean().default(false),
      /** Extra (MAC, address or prefix) pairs the port may send from, e.g. a VRRP address. */
      allowedAddressPairs: z.array(addressPair).max(32).default([]),
      /** The bridge's DHCP host entries for the port's MAC count as its addresses. */
      addressesFromDhcp: z.boolean().default(false),
      /** QoS: packets the VM sends into this port are policed to this rate (src/agent/qos.ts); null: none. */
      rateKbps: z.number().int().min(1).max(100_000_000).nullable().default(null),
      /** QoS: the burst the policer allows above the rate; null: the datapath's default. Needs a rate. */
      burstKb: z.number().int().min(1).max(100_000_000).nullable().default(null),
    })
    .strict(),
  route: z
    .object({
      name: name.nullable().default(null),
      routerId: uuid,
      /** IPv4 or IPv6 (ipv6-fields.ts); source and gateway of the same family (model-rules.ts). */
      dstPrefix: routePrefix,
      srcPrefix: routePrefix.default('0.0.0.0/0'),
      nextHopPortId: optRef,
      gateway: ipAddress.nullable().default(null),
      weight: z.number().int().min(0).max(65535).default(100),
      type: z.enum(['normal', 'blackhole', 'reject']).default('normal'),
      source: z.enum(['static', 'bgp']).default('static'),
    })
    .strict(),
  /** `ruleIds` is the chain's rule order, kept by the store as rules are added and removed. */
  chain: z.object({ name, ruleIds: z.array(uuid).default([]) }).strict(),
  rule: z
    .object({
      name: name.nullable().default(null),
      chainId: uuid,
      action: z.enum(RULE_ACTIONS),
      jumpChainId: optRef,
      conditions: conditionsSchema.default({}),
      /** dnat/snat: where to translate to (chosen per connection); static-*: the one address. */
      natTargets: z.array(natTarget).max(16).default([]),
      /** QoS: IPv4 packets the rule matches leave with this DSCP (0-63; their ECN bits kept). */
      setDscp: z.number().int().min(0).max(63).nullable().default(null),
      /** The floating IP, port forward or source NAT that wrote this rule (deleted with it). */
      ownerId: optRef,
    })
    .strict(),
  'port-group': z.object({ name, portIds: z.array(uuid).default([]) }).strict(),
  /** Addresses of either family (IPv6 stored canonical). */
  'ip-address-group': z.object({ name, addresses: z.array(ipAddress).default([]) }).strict(),
  dhcp: z
    .object({
      name,
      bridgeId: uuid,
      subnet: prefix,
      gateway: ipv4.nullable().default(null),
      dnsServers: z.array(ipv4).default([]),
      /** Option 15: the domain name clients search. */
      domainName: domainName.nullable().default(null),
      /** Option 121 (RFC 3442): routes clients install; the gateway's default route is added to them. */
      staticRoutes: z.array(staticRoute).max(32).default([]),
      /** Options by number, e.g. {code: 252, hex: '...'}; not the ones the server writes itself. */
      extraOptions: z.array(extraOption).max(16).default([]),
      leaseTime: z.number().int().min(60).max(31536000).default(86400),
      enabled: z.boolean().default(true),
      /** The dynamic range leases are allocated from (both or neither; inclusive). */
      rangeStart: ipv4.nullable().default(null),
      rangeEnd: ipv4.nullable().default(null),
      hosts: z
        .array(
          z
            .object({
              mac,
              address: ipv4,
              name: z
                .string()
                .min(1)
                .max(63)
                .refine((s) => !UNSAFE_TEXT.test(s), printable)
                .optional(),
            })
            .strict(),
        )
        .default([]),
    })
    .strict(),
  'bgp-peer': z
    .object({
      name,
      /** The router port the session runs on. */
      portId: uuid,
      peerAddress: ipv4,
      peerAs: z.number().int().min(1).max(4294967295),
      localAs: z.number().int().min(1).max(4294967295),
      keepalive: z.number().int().min(1).max(65535).nullable().default(null),
      holdTime: z.number().int().min(3).max(65535).nullable().default(null),
    })
    .strict(),
  'bgp-network': z.object({ name: name.nullable().default(null), routerId: uuid, prefix }).strict(),
  /**
   * One address of a DHCP subnet held by one client (leases.ts allocates them). The address is unique
   * per subnet, whatever the lease's state or expiry: an expired lease is reused, never duplicated.
   */
  'dhcp-lease': z
    .object({
      name: name.nullable().default(null),
      dhcpId: uuid,
      mac,
      address: ipv4,
      /** The host whose agent or CNI plugin asked for it. */
      hostId: optRef,
      /** The port the client is on (the lease goes with the port). */
      portId: optRef,
      /** ms since epoch; an active lease past it is free to reuse, a declined one is out of quarantine. */
      expiresAt: z.number().int().min(0),
      state: z.enum(LEASE_STATES).default('active'),
      clientId: z.string().min(1).max(255).nullable().default(null),
      hostname: z.string().min(1).max(63).nullable().default(null),
    })
    .strict(),
  /**
   * A floating IP: a public address on one of the router's uplinks mapped 1:1 to a VM's private
   * address, both directions (static NAT rules the store writes into the router's NAT chains).
   */
  'floating-ip': z
    .object({
      name,
      routerId: uuid,
      /** The public address (in the subnet of one of the router's uplink ports). */
      address: natIpv4,
      /** The VM's port; its address is the private one unless fixedAddress says otherwise. */
      portId: optRef,
      fixedAddress: natIpv4.nullable().default(null),
    })
    .strict(),
  /** Port forwarding: connections to a public address:port go to a VM's address:port (DNAT). */
  'port-forward': z
    .object({
      name,
      routerId: uuid,
      address: natIpv4,
      protocol: z.enum(['tcp', 'udp']),
      port: z.number().int().min(1).max(65535),
      toAddress: natIpv4,
      toPort: z.number().int().min(1).max(65535),
    })
    .strict(),
  /** A router's source NAT: traffic from `subnet` leaving through its uplinks takes `address` (SNAT). */
  'source-nat': z
    .object({
      name,
      routerId: uuid,
      subnet: prefix,
      address: natIpv4,
      portFrom: z.number().int().min(1).max(65535).default(1024),
      portTo: z.number().int().min(1).max(65535).default(65535),
    })
    .strict(),
  /**
   * A block of SNAT ports leased by one host's agent: its name is ADDRESS/PROTOCOL/INDEX, unique, so
   * no two hosts ever hold the same ports of an address (a block is 64 ports from 1024 + 64 x INDEX).
   */
  'nat-block': z
    .object({
      name,
      address: ipv4,
      protocol: z.enum(['tcp', 'udp', 'sctp']),
      index: z.number().int().min(0).max(1007),
      hostId: uuid,
      /** ms since epoch; past it, another host may take the block. */
      expiresAt: z.number().int().min(0),
    })
    .strict(),
  /** An L4 load balancer on a router (src/sim/load-balancer.ts): its VIPs spread connections over pools. */
  'load-balancer': z.object({ name, routerId: uuid, adminStateUp }).strict(),
  /** A set of members; a new connection picks one by `algorithm` (weights respected). */
  pool: z
    .object({
      name,
      loadBalancerId: uuid,
      /** round-robin: each new connection takes the next member; hash: a function of the 5-tuple. */
      algorithm: z.enum(['round-robin', 'hash']).default('round-robin'),
      adminStateUp,
    })
    .strict(),
  /** A virtual address:port of the balancer's router; connections to it go to a member of its pool. */
  vip: z
    .object({
      name,
      loadBalancerId: uuid,
      poolId: uuid,
      /**
       * On one of the router's port subnets (an uplink for a public service), not a port's own address;
       * IPv4 or IPv6 (stored canonical), the family of its pool's members (lb-objects.ts).
       */
      address: ipAddress,
      protocol: z.enum(['tcp', 'udp']).default('tcp'),
      port: z.number().int().min(1).max(65535),
      /** source-ip: a client stays on one member while that member is healthy. */
      sessionPersistence: z.enum(['none', 'source-ip']).default('none'),
      adminStateUp,
    })
    .strict(),
  /** One backend of a pool; `status` is written by the pool's health monitor (up when it has none). */
  'pool-member': z
    .object({
      name,
      poolId: uuid,
      /** IPv4 or IPv6 (stored canonical); one family per pool and its VIPs. */
      address: ipAddress,
      port: z.number().int().min(1).max(65535),
      /** Share of new connections relative to the pool's other members; 0: none. */
      weight: z.number().int().min(0).max(256).default(1),
      adminStateUp,
      status: z.enum(['up', 'down']).default('up'),
    })
    .strict(),
  /** Health checks of a pool's members, run by midonet-lb-health (src/lb/). */
  'health-monitor': z
    .object({
      name,
      poolId: uuid,
      type: z.enum(['tcp', 'http']).default('tcp'),
      /** Seconds between checks of a member. */
      interval: z.number().int().min(1).max(3600).default(5),
      /** Seconds a check may take; at most the interval. */
      timeout: z.number().int().min(1).max(3600).default(2),
      /** Failed (or passed) checks in a row before a member goes down (or up). */
      retries: z.number().int().min(1).max(10).default(3),
      /** http: the path asked for and the status that means healthy. */
      httpPath: z
        .string()
        .regex(/^\/[\x21-\x7e]{0,255}$/, {
          message: 'expected a path such as /health (printable, no spaces)',
        })
        .default('/'),
      expectedStatus: z.number().int().min(100).max(599).default(200),
      adminStateUp,
    })
    .strict(),
  /**
   * Port mirroring (src/sim/mirror.ts): copies of the packets its sources see go out of `toPortId`, on
   * whatever host that port is bound to. Sources: ports, and/or every port of a bridge.
   */
  mirror: z
    .object({
      name,
      portIds: z.array(uuid).max(64).default([]),
      bridgeId: optRef,
      /** in: packets entering the overlay at a source port; out: packets leaving through one. */
      direction: z.enum(['in', 'out', 'both']).default('both'),
      /** Only packets these conditions match are copied (empty: all). */
      conditions: mirrorConditions.default({}),
      /** The port the copies go out of (a VM running tcpdump, an analyser). */
      toPortId: uuid,
      adminStateUp,
    })
    .strict(),
  /** A bearer token of midonet-api: only the SHA-256 of its secret is stored. */
  'api-token': z
    .object({
      name,
      role: z.enum(TOKEN_ROLES),
      secretHash: z.string().regex(/^[0-9a-f]{64}$/, { message: 'expected a SHA-256 digest in hex' }),
      /** ms since epoch. */
      createdAt: z.number().int().min(0),
    })
    .strict(),
} satisfies Record<Kind, z.ZodTypeAny>;

export type Fields<K extends Kind> = z.output<(typeof fieldSchemas)[K]>;
/** What a caller may give on create (defaults filled in by parsing). */
export type FieldsInput<K extends Kind> = z.input<(typeof fieldSchemas)[K]>;

export interface Meta {
  readonly id: string;
  readonly version: number;
}
export type Obj<K extends Kind = Kind> = Fields<K> & Meta;

/** Names of the object types other modules use by name (others are `Obj<'kind'>`). */
export type Host = Obj<'host'>;
export type Port = Obj<'port'>;
export type Route = Obj<'route'>;
export type Rule = Obj<'rule'>;
export type PortGroup = Obj<'port-group'>;
export type IpAddressGroup = Obj<'ip-address-group'>;
export type DhcpSubnet = Obj<'dhcp'>;
export type DhcpLease = Obj<'dhcp-lease'>;
export type ApiToken = Obj<'api-token'>;

/** Fields the store sets itself; a caller may not set or change them. */
export const MANAGED_FIELDS: Partial<Record<Kind, readonly string[]>> = {
  port: ['deviceKind', 'tunnelKey'],
  chain: ['ruleIds'],
};

/** Fields fixed at create: an update may not change them. */
export const IMMUTABLE_FIELDS: Partial<Record<Kind, readonly string[]>> = {
  port: ['deviceId'],
  route: ['routerId'],
  rule: ['chainId'],
  dhcp: ['bridgeId'],
  'bgp-peer': ['portId'],
  'bgp-network': ['routerId'],
  'dhcp-lease': ['dhcpId', 'address'],
  'api-token': ['secretHash'],
  'floating-ip': ['routerId'],
  'port-forward': ['routerId'],
  'source-nat': ['routerId'],
  'nat-block': ['address', 'protocol', 'index'],
  'load-balancer': ['routerId'],
  pool: ['loadBalancerId'],
  vip: ['loadBalancerId'],
  'pool-member': ['poolId'],
  'health-monitor': ['poolId'],
};

/** Splits an object into its metadata and its fields. */
export function fieldsOf<K extends Kind>(obj: Obj<K>): Fields<K> {
  const { id: _id, version: _version, ...fields } = obj;
  return fields as unknown as Fields<K>;
}

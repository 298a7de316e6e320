/**
 * The CLI's option table: for every kind, the command-line options that set its fields, with the
 * parser that turns the text into the stored value (names of referenced objects become ids here).
 *
 * Invariant: every option is parsed by `parseOption`, which either returns the field value or throws a
 * CliError naming the option, the value given and what is allowed. Values are then validated again by
 * the store (the model is the authority); this table only translates.
 *
 * The parsers of option values are in option-parse.ts; the load balancer's and mirrors' options in
 * lb-options.ts and mirror-options.ts.
 */
import { RULE_ACTIONS, type Kind } from '../state/model.js';
import type { ConditionSpec, OptionType } from './option-parse.js';
import { LB_OPTIONS } from './lb-options.js';
import { MIRROR_OPTIONS, PORT_QOS_OPTIONS } from './mirror-options.js';

export {
  CliError,
  parseCondition,
  parseOption,
  type ConditionSpec,
  type OptionType,
} from './option-parse.js';

export interface OptionSpec {
  readonly flag: string;
  readonly field: string;
  readonly type: OptionType;
  readonly describe: string;
  /** Needed on create. */
  readonly required?: boolean;
}

const str = { t: 'string' } as const;
const bool = { t: 'bool' } as const;
const nstr = { t: 'nullable-string' } as const;
const ref = (kind: Kind) => ({ t: 'ref', kind }) as const;
const int = (min: number, max: number) => ({ t: 'int', min, max }) as const;
const name = (required: boolean): OptionSpec => ({
  flag: 'name',
  field: 'name',
  type: str,
  describe: required ? 'unique name (required)' : 'unique name',
});
const admin: OptionSpec = {
  flag: 'admin-state-up',
  field: 'adminStateUp',
  type: bool,
  describe: 'true or false',
};
const chains: OptionSpec[] = [
  {
    flag: 'inbound-chain',
    field: 'inboundChainId',
    type: ref('chain'),
    describe: 'chain applied to packets entering (name or id; "none" clears)',
  },
  {
    flag: 'outbound-chain',
    field: 'outboundChainId',
    type: ref('chain'),
    describe: 'chain applied to packets leaving (name or id; "none" clears)',
  },
];

/** Rule conditions: option flag -> condition name and its value parser. */
export const CONDITION_OPTIONS: ReadonlyArray<ConditionSpec> = [
  {
    flag: 'in-ports',
    cond: 'inPorts',
    type: { t: 'refs', kind: 'port' },
    describe: 'ingress port(s), comma-separated',
  },
  {
    flag: 'out-ports',
    cond: 'outPorts',
    type: { t: 'refs', kind: 'port' },
    describe: 'egress port(s), comma-separated',
  },
  {
    flag: 'in-port-group',
    cond: 'inPortGroup',
    type: ref('port-group'),
    describe: 'ingress port in this port group',
  },
  {
    flag: 'out-port-group',
    cond: 'outPortGroup',
    type: ref('port-group'),
    describe: 'egress port in this port group',
  },
  {
    flag: 'src-ip-group',
    cond: 'ipAddrGroupSrc',
    type: ref('ip-address-group'),
    describe: 'source IP in this address group',
  },
  {
    flag: 'dst-ip-group',
    cond: 'ipAddrGroupDst',
    type: ref('ip-address-group'),
    describe: 'destination IP in this address group',
  },
  {
    flag: 'ethertype',
    cond: 'ethertype',
    type: { t: 'special' },
    describe: 'ipv4, arp, ipv6 or a number (0x0800)',
  },
  { flag: 'src-mac', cond: 'srcMac', type: { t: 'special' }, describe: 'source MAC, optionally /MASK' },
  { flag: 'dst-mac', cond: 'dstMac', type: { t: 'special' }, describe: 'destination MAC, optionally /MASK' },
  {
    flag: 'proto',
    cond: 'ipProto',
    type: { t: 'special' },
    describe: 'tcp, udp, icmp or an IP protocol number',
  },
  { flag: 'tos', cond: 'ipTos', type: int(0, 255), describe: 'IP TOS byte' },
  {
    flag: 'src',
    cond: 'srcPrefix',
    type: { t: 'special' },
    describe: 'source prefix (192.0.2.0/24 or 2001:db8:a::/64; an address means /32 or /128)',
  },
  { flag: 'dst', cond: 'dstPrefix', type: { t: 'special' }, describe: 'destination prefix' },
  {
    flag: 'src-port',
    cond: 'srcPort',
    type: { t: 'special' },
    describe: 'L4 source port or range (1000-2000)',
  },
  { flag: 'dst-port', cond: 'dstPort', type: { t: 'special' }, describe: 'L4 destination port or range' },
  {
    flag: 'tcp-flags',
    cond: 'tcpFlags',
    type: { t: 'special' },
    describe: 'flags that must be set / !unset, e.g. syn,!ack',
  },
  {
    flag: 'tcp-window',
    cond: 'tcpWindow',
    type: { t: 'special' },
    describe: 'TCP window size range (not matchable by the datapath)',
  },
  { flag: 'icmp-type', cond: 'icmpType', type: int(0, 255), describe: 'ICMP type' },
  { flag: 'icmp-code', cond: 'icmpCode', type: int(0, 255), describe: 'ICMP code' },
  {
    flag: 'fragment-policy',
    cond: 'fragmentPolicy',
    type: { t: 'enum', values: ['any', 'header', 'nonheader', 'unfragmented'] },
    describe: 'which fragments match',
  },
  {
    flag: 'conntrack',
    cond: 'conntrack',
    type: { t: 'enum', values: ['new', 'established', 'related'] },
    describe:
      'connection state: new, established (a later packet or a reply), related (an ICMP error about one)',
  },
];

export const KIND_OPTIONS: Record<Kind, readonly OptionSpec[]> = {
  host: [
    name(true),
    {
      flag: 'addresses',
      field: 'addresses',
      type: { t: 'list' },
      describe: 'IPv4 addresses, comma-separated',
    },
  ],
  'tunnel-zone': [
    name(true),
    { flag: 'type', field: 'type', type: { t: 'enum', values: ['gre', 'vxlan'] }, describe: 'encapsulation' },
  ],
  bridge: [
    name(true),
    admin,
    ...chains,
    { flag: 'vlan-aware', field: 'vlanAware', type: bool, describe: 'learn MACs per VLAN' },
  ],
  router: [
    name(true),
    admin,
    ...chains,
    {
      flag: 'nat-inbound-chain',
      field: 'natInboundChainId',
      type: ref('chain'),
      describe: 'NAT chain before routing',
    },
    {
      flag: 'nat-outbound-chain',
      field: 'natOutboundChainId',
      type: ref('chain'),
      describe: 'NAT chain after routing',
    },
  ],
  port: [
    name(true),
    { flag: 'bridge', field: 'deviceId', type: ref('bridge'), describe: 'the bridge of a bridge port' },
    { flag: 'router', field: 'deviceId', type: ref('router'), describe: 'the router of a router port' },
    admin,
    {
      flag: 'address',
      field: 'address',
      type: nstr,
      describe: 'router port address with prefix, e.g. 192.0.2.1/24',
    },
    {
      flag: 'address6',
      field: 'address6',
      type: nstr,
      describe: 'router port IPv6 address with prefix, e.g. 2001:db8:1::1/64 (dual stack)',
    },
    {
      flag: 'mac',
      field: 'mac',
      type: nstr,
      describe: "the port's MAC (router ports: generated if not given; port security needs it)",
    },
    { flag: 'vlan', field: 'vlanId', type: int(1, 4094), describe: 'access VLAN on a VLAN-aware bridge' },
    {
      flag: 'addresses',
      field: 'addresses',
      type: { t: 'list' },
      describe: "bridge ports: the VM's IPv4/IPv6 addresses, comma-separated",
    },
    {
      flag: 'port-security',
      field: 'portSecurity',
      type: bool,
      describe: 'anti-spoofing: drop frames not from the port MAC, addresses and allowed pairs',
    },
    {
      flag: 'allowed-address-pairs',
      field: 'allowedAddressPairs',
      type: { t: 'address-pairs' },
      describe: 'extra senders ADDR[/LEN][@MAC], comma-separated (MAC default: the port\'s; "none" clears)',
    },
    {
      flag: 'addresses-from-dhcp',
      field: 'addressesFromDhcp',
      type: bool,
      describe:
        "port security: the bridge's DHCP host entries and leases for the port count as its addresses",
    },
    ...PORT_QOS_OPTIONS,
    ...chains,
  ],
  route: [
    name(false),
    { flag: 'router', field: 'routerId', type: ref('router'), describe: 'the router', required: true },
    {
      flag: 'dst',
      field: 'dstPrefix',
      type: str,
      describe: 'destination prefix, e.g. 203.0.113.0/24 or 2001:db8:2::/48',
      required: true,
    },
    {
      flag: 'src',
      field: 'srcPrefix',
      type: str,
      describe: 'source prefix (default 0.0.0.0/0: any, either family)',
    },
    { flag: 'next-hop-port', field: 'nextHopPortId', type: ref('port'), describe: 'egress router port' },
    { flag: 'gateway', field: 'gateway', type: nstr, describe: 'next-hop gateway address' },
    {
      flag: 'weight',
      field: 'weight',
      type: int(0, 65535),
      describe: 'lower wins; equal weights share (ECMP)',
    },
    {
      flag: 'type',
      field: 'type',
      type: { t: 'enum', values: ['normal', 'blackhole', 'reject'] },
      describe: 'route type',
    },
    {
      flag: 'source',
      field: 'source',
      type: { t: 'enum', values: ['static', 'bgp'] },
      describe: 'who made it',
    },
  ],
  chain: [name(true)],
  rule: [
    name(false),
    { flag: 'chain', field: 'chainId', type: ref('chain'), describe: 'the chain', required: true },
    {
      flag: 'action',
      field: 'action',
      type: { t: 'enum', values: RULE_ACTIONS },
      describe:
        'what a match does (dnat/snat translate per connection, rev-* translate replies back, static-* 1:1)',
      required: true,
    },
    { flag: 'jump-chain', field: 'jumpChainId', type: ref('chain'), describe: 'target of action jump' },
    {
      flag: 'set-dscp',
      field: 'setDscp',
      type: int(0, 63),
      describe: 'QoS: matching IPv4 packets leave with this DSCP (0-63)',
    },
    {
      flag: 'nat-target',
      field: 'natTargets',
      type: { t: 'nat-targets' },
      describe: 'NAT targets ADDR[-ADDR][:PORT[-PORT]], comma-separated (dnat, snat, static-*)',
    },
  ],
  'port-group': [
    name(true),
    {
      flag: 'ports',
      field: 'portIds',
      type: { t: 'refs', kind: 'port' },
      describe: 'member ports, comma-separated',
    },
  ],
  'ip-address-group': [
    name(true),
    {
      flag: 'addresses',
      field: 'addresses',
      type: { t: 'list' },
      describe: 'IPv4 or IPv6 addresses, comma-separated',
    },
  ],
  dhcp: [
    name(true),
    { flag: 'bridge', field: 'bridgeId', type: ref('bridge'), describe: 'the bridge served', required: true },
    { flag: 'subnet', field: 'subnet', type: str, describe: 'subnet, e.g. 192.0.2.0/24', required: true },
    { flag: 'gateway', field: 'gateway', type: nstr, describe: 'default gateway handed out' },
    { flag: 'dns', field: 'dnsServers', type: { t: 'list' }, describe: 'DNS servers, comma-separated' },
    { flag: 'lease-time', field: 'leaseTime', type: int(60, 31536000), describe: 'lease time in seconds' },
    { flag: 'enabled', field: 'enabled', type: bool, describe: 'serve DHCP on the bridge' },
    {
      flag: 'range-start',
      field: 'rangeStart',
      type: nstr,
      describe: 'first address of the dynamic range leases come from',
    },
    { flag: 'range-end', field: 'rangeEnd', type: nstr, describe: 'last address of the dynamic range' },
    { flag: 'domain-name', field: 'domainName', type: nstr, describe: 'domain name handed out (option 15)' },
    {
      flag: 'static-routes',
      field: 'staticRoutes',
      type: { t: 'static-routes' },
      describe: 'classless static routes (option 121) PREFIX@GATEWAY, comma-separated ("none" clears)',
    },
    {
      flag: 'extra-options',
      field: 'extraOptions',
      type: { t: 'dhcp-options' },
      describe: 'options by number CODE=0xHEX or CODE=TEXT, comma-separated ("none" clears)',
    },
  ],
  'dhcp-lease': [
    { flag: 'dhcp', field: 'dhcpId', type: ref('dhcp'), describe: 'the DHCP subnet of the lease' },
    { flag: 'host', field: 'hostId', type: ref('host'), describe: 'the host that asked for it' },
    { flag: 'port', field: 'portId', type: ref('port'), describe: 'the port of the client' },
    { flag: 'mac', field: 'mac', type: str, describe: 'the MAC of the client' },
  ],
  // Tokens have their own command (midonet-cli token create|list|delete): the secret is shown once.
  'api-token': [],
  'bgp-peer': [
    name(true),
    {
      flag: 'port',
      field: 'portId',
      type: ref('port'),
      describe: 'router port of the session',
      required: true,
    },
    { flag: 'peer-address', field: 'peerAddress', type: str, describe: 'neighbour address', required: true },
    { flag: 'peer-as', field: 'peerAs', type: int(1, 4294967295), describe: 'neighbour AS', required: true },
    { flag: 'local-as', field: 'localAs', type: int(1, 4294967295), describe: 'our AS', required: true },
    { flag: 'keepalive', field: 'keepalive', type: int(1, 65535), describe: 'keepalive seconds' },
    { flag: 'hold-time', field: 'holdTime', type: int(3, 65535), describe: 'hold time seconds' },
  ],
  'bgp-network': [
    name(false),
    { flag: 'router', field: 'routerId', type: ref('router'), describe: 'the router', required: true },
    { flag: 'prefix', field: 'prefix', type: str, describe: 'advertised prefix', required: true },
  ],
  'floating-ip': [
    name(true),
    { flag: 'router', field: 'routerId', type: ref('router'), describe: 'the router', required: true },
    {
      flag: 'address',
      field: 'address',
      type: str,
      describe: "public address, in one of the router's uplink subnets",
      required: true,
    },
    {
      flag: 'port',
      field: 'portId',
      type: ref('port'),
      describe: "the VM's port (its address is the private one)",
    },
    {
      flag: 'fixed-address',
      field: 'fixedAddress',
      type: nstr,
      describe: "the private address (default: the port's)",
    },
  ],
  'port-forward': [
    name(true),
    { flag: 'router', field: 'routerId', type: ref('router'), describe: 'the router', required: true },
    { flag: 'address', field: 'address', type: str, describe: 'public address', required: true },
    {
      flag: 'protocol',
      field: 'protocol',
      type: { t: 'enum', values: ['tcp', 'udp'] },
      describe: 'tcp or udp',
      required: true,
    },
    { flag: 'port', field: 'port', type: int(1, 65535), describe: 'public port', required: true },
    { flag: 'to-address', field: 'toAddress', type: str, describe: "the VM's address", required: true },
    { flag: 'to-port', field: 'toPort', type: int(1, 65535), describe: "the VM's port", required: true },
  ],
  'source-nat': [
    name(true),
    { flag: 'router', field: 'routerId', type: ref('router'), describe: 'the router', required: true },
    { flag: 'subnet', field: 'subnet', type: str, describe: 'the tenant subnet translated', required: true },
    {
      flag: 'address',
      field: 'address',
      type: str,
      describe: 'public address (on an uplink)',
      required: true,
    },
    {
      flag: 'port-from',
      field: 'portFrom',
      type: int(1, 65535),
      describe: 'first source port (default 1024)',
    },
    { flag: 'port-to', field: 'portTo', type: int(1, 65535), describe: 'last source port (default 65535)' },
  ],
  // Blocks of SNAT ports are leased by the agents; the CLI lists and shows them.
  'nat-block': [],
  ...LB_OPTIONS,
  ...MIRROR_OPTIONS,
};

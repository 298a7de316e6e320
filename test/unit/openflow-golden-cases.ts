/**
 * The golden OpenFlow 1.3 messages: each a domain message and the text Open vSwitch's own decoder
 * (`ovs-ofctl ofp-print`) prints for its bytes (read once, checked against the intent of the
 * message, then frozen). The bytes themselves are frozen in test/golden/openflow/NAME.hex, so the
 * unit test (openflow-golden.test.ts) checks the codec's round trip without Open vSwitch, and the
 * integration test (openflow-ofp-print.test.ts) checks the frozen bytes against ovs-ofctl.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  encodeMessage,
  type Message,
  OFP_NO_BUFFER,
  OFPBRC,
  OFPC,
  OFPET,
  OFPFF,
  OFPG,
  OFPP,
  OFPPF,
  OFPR,
  OFPRR,
  OFPTT,
  OFPVID_PRESENT,
  OFPCML,
  OFPMPF_MORE,
} from '../../src/openflow/index.js';

export interface GoldenCase {
  readonly name: string;
  readonly msg: Message;
  /** What `ovs-ofctl ofp-print HEX` prints. */
  readonly text: string;
}

export const GOLDEN_CASES: GoldenCase[] = [];

function golden(name: string, msg: Message, text: string): void {
  GOLDEN_CASES.push({ name, msg, text });
}

/** Where the frozen bytes are (the source tree's test/golden/openflow/, also when run from dist/). */
export const GOLDEN_DIR = fileURLToPath(new URL('../../../test/golden/openflow/', import.meta.url));

/** Reads a .hex file: hex digits, white space ignored. */
export function readHex(path: string): Buffer {
  return Buffer.from(readFileSync(path, 'utf8').replace(/\s+/g, ''), 'hex');
}

/** The file of a case's frozen bytes, relative to test/golden/openflow/. */
export function goldenFile(name: string): string {
  return `${name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')}.hex`;
}

/** Experimenter ids known to ovs-ofctl: ONF and Nicira. */
const ONF_EXPERIMENTER_ID = 0x4f4e4600;
const NX_EXPERIMENTER_ID = 0x00002320;

/** An ARP request from 192.0.2.1 (02:00:00:00:00:01) for 192.0.2.2, 42 bytes. */
const ARP_REQUEST = Buffer.from(
  'ffffffffffff020000000001' + '0806' + '0001080006040001' + '020000000001c0000201' + '000000000000c0000202',
  'hex',
);

golden(
  'HELLO with version bitmap',
  { type: 'hello', xid: 1, version: 4, elements: [{ type: 'versionbitmap', bitmaps: [1 << 4] }] },
  ['OFPT_HELLO (OF1.3) (xid=0x1):', ' version bitmap: 0x04'].join('\n'),
);

golden(
  'ERROR bad request / bad type, carrying the offending request',
  {
    type: 'error',
    xid: 7,
    errType: OFPET.BAD_REQUEST,
    code: OFPBRC.BAD_TYPE,
    data: encodeMessage({ type: 'barrier_request', xid: 7 }),
  },
  ['OFPT_ERROR (OF1.3) (xid=0x7): OFPBRC_BAD_TYPE', 'OFPT_BARRIER_REQUEST (OF1.3) (xid=0x7):'].join('\n'),
);

golden(
  'ERROR of experimenter type (ONF bundle failure, which OVS names)',
  {
    type: 'experimenter_error',
    xid: 8,
    expType: 2300,
    experimenter: ONF_EXPERIMENTER_ID,
    data: encodeMessage({ type: 'barrier_request', xid: 8 }),
  },
  ['OFPT_ERROR (OF1.3) (xid=0x8): OFPBFC_UNKNOWN', 'OFPT_BARRIER_REQUEST (OF1.3) (xid=0x8):'].join('\n'),
);

golden(
  'ECHO_REQUEST',
  { type: 'echo_request', xid: 9, data: Buffer.from('keepalive') },
  [
    'OFPT_ECHO_REQUEST (OF1.3) (xid=0x9): 9 bytes of payload',
    '00000000  6b 65 65 70 61 6c 69 76-65                      |keepalive       |',
  ].join('\n'),
);
golden(
  'ECHO_REPLY',
  { type: 'echo_reply', xid: 9, data: Buffer.from('keepalive') },
  [
    'OFPT_ECHO_REPLY (OF1.3) (xid=0x9): 9 bytes of payload',
    '00000000  6b 65 65 70 61 6c 69 76-65                      |keepalive       |',
  ].join('\n'),
);

golden(
  'EXPERIMENTER (Nicira set-packet-in-format)',
  {
    type: 'experimenter',
    xid: 10,
    experimenter: NX_EXPERIMENTER_ID,
    expType: 16,
    data: Buffer.from('00000001', 'hex'),
  },
  'NXT_SET_PACKET_IN_FORMAT (OF1.3) (xid=0xa): format=nxt_packet_in',
);

golden('FEATURES_REQUEST', { type: 'features_request', xid: 2 }, 'OFPT_FEATURES_REQUEST (OF1.3) (xid=0x2):');

golden(
  'FEATURES_REPLY',
  {
    type: 'features_reply',
    xid: 2,
    datapathId: 0x0000020000000001n,
    nBuffers: 0,
    nTables: 254,
    auxiliaryId: 0,
    capabilities: OFPC.FLOW_STATS | OFPC.TABLE_STATS | OFPC.PORT_STATS | OFPC.GROUP_STATS | OFPC.QUEUE_STATS,
    reserved: 0,
  },
  [
    'OFPT_FEATURES_REPLY (OF1.3) (xid=0x2): dpid:0000020000000001',
    'n_tables:254, n_buffers:0',
    'capabilities: FLOW_STATS TABLE_STATS PORT_STATS GROUP_STATS QUEUE_STATS',
  ].join('\n'),
);

golden(
  'GET_CONFIG_REQUEST',
  { type: 'get_config_request', xid: 3 },
  'OFPT_GET_CONFIG_REQUEST (OF1.3) (xid=0x3):',
);
golden(
  'GET_CONFIG_REPLY',
  { type: 'get_config_reply', xid: 3, flags: 0, missSendLen: 128 },
  'OFPT_GET_CONFIG_REPLY (OF1.3) (xid=0x3): frags=normal miss_send_len=128',
);
golden(
  'SET_CONFIG',
  { type: 'set_config', xid: 4, flags: 0, missSendLen: OFPCML.NO_BUFFER },
  'OFPT_SET_CONFIG (OF1.3) (xid=0x4): frags=normal miss_send_len=65535',
);

golden(
  'PACKET_IN of an ARP request from a tunnel',
  {
    type: 'packet_in',
    xid: 0,
    bufferId: OFP_NO_BUFFER,
    totalLen: ARP_REQUEST.length,
    reason: OFPR.NO_MATCH,
    tableId: 0,
    cookie: 0n,
    match: [
      { field: 'in_port', value: 7 },
      { field: 'tunnel_id', value: 42n },
      { field: 'tun_ipv4_src', value: '198.51.100.2' },
      { field: 'tun_ipv4_dst', value: '198.51.100.1' },
    ],
    data: ARP_REQUEST,
  },
  [
    'OFPT_PACKET_IN (OF1.3) (xid=0x0): cookie=0x0 total_len=42 tun_id=0x2a,tun_src=198.51.100.2,tun_dst=198.51.100.1,in_port=7 (via no_match) data_len=42 (unbuffered)',
    'arp,vlan_tci=0x0000,dl_src=02:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,arp_spa=192.0.2.1,arp_tpa=192.0.2.2,arp_op=1,arp_sha=02:00:00:00:00:01,arp_tha=00:00:00:00:00:00',
  ].join('\n'),
);

golden(
  'FLOW_REMOVED after idle timeout',
  {
    type: 'flow_removed',
    xid: 0,
    cookie: 0xabcdn,
    priority: 100,
    reason: OFPRR.IDLE_TIMEOUT,
    tableId: 0,
    durationSec: 12,
    durationNsec: 500000000,
    idleTimeout: 10,
    hardTimeout: 0,
    packetCount: 5n,
    byteCount: 420n,
    match: [
      { field: 'in_port', value: 1 },
      { field: 'eth_dst', value: '02:00:00:00:00:02' },
    ],
  },
  'OFPT_FLOW_REMOVED (OF1.3) (xid=0x0): priority=100,in_port=1,dl_dst=02:00:00:00:00:02 reason=idle table_id=0 cookie:0xabcd duration12.500s idle10 pkts5 bytes420',
);

const VM_PORT = {
  portNo: 1,
  hwAddr: '02:00:00:00:00:01',
  name: 'vm1-veth',
  config: 0,
  state: 0,
  curr: OFPPF['10GB_FD'] | OFPPF.COPPER,
  advertised: 0,
  supported: 0,
  peer: 0,
  currSpeed: 10000000,
  maxSpeed: 0,
};

golden(
  'PORT_STATUS add',
  { type: 'port_status', xid: 0, reason: 'add', port: VM_PORT },
  [
    'OFPT_PORT_STATUS (OF1.3) (xid=0x0): ADD: 1(vm1-veth): addr:02:00:00:00:00:01',
    '     config:     0',
    '     state:      0',
    '     current:    10GB-FD COPPER',
    '     speed: 10000 Mbps now, 0 Mbps max',
  ].join('\n'),
);

golden(
  'PACKET_OUT of an unbuffered packet',
  {
    type: 'packet_out',
    xid: 11,
    bufferId: OFP_NO_BUFFER,
    inPort: OFPP.CONTROLLER,
    actions: [
      { type: 'set_field', field: { field: 'eth_src', value: '02:00:00:00:00:09' } },
      { type: 'output', port: OFPP.IN_PORT, maxLen: 0 },
      { type: 'output', port: 2, maxLen: 0 },
    ],
    data: ARP_REQUEST,
  },
  [
    'OFPT_PACKET_OUT (OF1.3) (xid=0xb): in_port=CONTROLLER actions=set_field:02:00:00:00:00:09->eth_src,IN_PORT,output:2 data_len=42',
    'arp,vlan_tci=0x0000,dl_src=02:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,arp_spa=192.0.2.1,arp_tpa=192.0.2.2,arp_op=1,arp_sha=02:00:00:00:00:01,arp_tha=00:00:00:00:00:00',
  ].join('\n'),
);

golden(
  'FLOW_MOD add with a tunnel match and tunnel set_field actions',
  {
    type: 'flow_mod',
    xid: 0x10,
    cookie: 0x1234n,
    cookieMask: 0n,
    tableId: 0,
    command: 'add',
    idleTimeout: 60,
    hardTimeout: 300,
    priority: 100,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: OFPFF.SEND_FLOW_REM | OFPFF.CHECK_OVERLAP,
    match: [
      { field: 'in_port', value: 3 },
      { field: 'tunnel_id', value: 0x1234n },
      { field: 'tun_ipv4_dst', value: '198.51.100.2' },
      { field: 'eth_dst', value: '02:00:00:00:00:01' },
      { field: 'vlan_vid', value: OFPVID_PRESENT | 10 },
      { field: 'eth_type', value: 0x0800 },
      { field: 'ip_proto', value: 6 },
      { field: 'ipv4_src', value: '192.0.2.0', mask: '255.255.255.0' },
      { field: 'ipv4_dst', value: '203.0.113.7' },
      { field: 'tcp_src', value: 40000 },
      { field: 'tcp_dst', value: 80 },
    ],
    instructions: [
      {
        type: 'apply_actions',
        actions: [
          { type: 'pop_vlan' },
          { type: 'set_field', field: { field: 'tun_ipv4_dst', value: '198.51.100.3' } },
          { type: 'set_field', field: { field: 'tunnel_id', value: 0x5678n } },
          { type: 'set_field', field: { field: 'eth_dst', value: '02:00:00:00:00:02' } },
          { type: 'output', port: 5, maxLen: 0 },
        ],
      },
    ],
  },
  'OFPT_FLOW_MOD (OF1.3) (xid=0x10): ADD priority=100,tcp,tun_id=0x1234,tun_dst=198.51.100.2,in_port=3,dl_vlan=10,dl_dst=02:00:00:00:00:01,nw_src=192.0.2.0/24,nw_dst=203.0.113.7,tp_src=40000,tp_dst=80 cookie:0x1234 idle:60 hard:300 send_flow_rem check_overlap actions=pop_vlan,set_field:198.51.100.3->tun_dst,set_field:0x5678->tun_id,set_field:02:00:00:00:00:02->eth_dst,output:5',
);

golden(
  'FLOW_MOD modify_strict: ARP fields, masks, write-actions, write-metadata, goto-table',
  {
    type: 'flow_mod',
    xid: 0x11,
    cookie: 0n,
    cookieMask: 0n,
    tableId: 1,
    command: 'modify_strict',
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 200,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: OFPFF.RESET_COUNTS | OFPFF.NO_PKT_COUNTS | OFPFF.NO_BYT_COUNTS,
    match: [
      { field: 'in_port', value: 4 },
      { field: 'eth_src', value: '02:00:00:00:00:00', mask: 'ff:ff:ff:00:00:00' },
      { field: 'eth_type', value: 0x0806 },
      { field: 'arp_op', value: 1 },
      { field: 'arp_spa', value: '192.0.2.0', mask: '255.255.255.0' },
      { field: 'arp_tpa', value: '192.0.2.1' },
      { field: 'arp_sha', value: '02:00:00:00:00:01' },
      { field: 'arp_tha', value: '00:00:00:00:00:00', mask: 'ff:ff:ff:ff:ff:ff' },
    ],
    instructions: [
      { type: 'clear_actions' },
      {
        type: 'write_actions',
        actions: [
          { type: 'push_vlan', ethertype: 0x8100 },
          { type: 'set_field', field: { field: 'vlan_vid', value: OFPVID_PRESENT | 20 } },
          { type: 'group', groupId: 3 },
        ],
      },
      { type: 'write_metadata', metadata: 0x10n, mask: 0xffn },
      { type: 'goto_table', tableId: 2 },
    ],
  },
  'OFPT_FLOW_MOD (OF1.3) (xid=0x11): MOD_STRICT table:1 priority=200,arp,in_port=4,dl_src=02:00:00:00:00:00/ff:ff:ff:00:00:00,arp_spa=192.0.2.0/24,arp_tpa=192.0.2.1,arp_op=1,arp_sha=02:00:00:00:00:01,arp_tha=00:00:00:00:00:00 reset_counts no_packet_counts no_byte_counts actions=clear_actions,write_actions(push_vlan:0x8100,set_field:4116->vlan_vid,group:3),write_metadata:0x10/0xff,goto_table:2',
);

golden(
  'FLOW_MOD add: IPv6/ICMPv6 with masks, metadata, TTL actions',
  {
    type: 'flow_mod',
    xid: 0x12,
    cookie: 0n,
    cookieMask: 0n,
    tableId: 2,
    command: 'add',
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 10,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: [
      { field: 'metadata', value: 0x10n, mask: 0xf0n },
      { field: 'eth_type', value: 0x86dd },
      { field: 'ip_dscp', value: 46 },
      { field: 'ip_ecn', value: 1 },
      { field: 'ip_proto', value: 58 },
      { field: 'ipv6_src', value: '2001:db8::', mask: 'ffff:ffff::' },
      { field: 'ipv6_dst', value: '2001:db8::1' },
      { field: 'ipv6_flabel', value: 0x12345, mask: 0xfffff },
      { field: 'icmpv6_type', value: 128 },
      { field: 'icmpv6_code', value: 0 },
    ],
    instructions: [
      {
        type: 'apply_actions',
        actions: [
          { type: 'dec_nw_ttl' },
          { type: 'set_field', field: { field: 'ipv6_dst', value: '2001:db8::2' } },
          { type: 'output', port: OFPP.CONTROLLER, maxLen: OFPCML.NO_BUFFER },
        ],
      },
    ],
  },
  'OFPT_FLOW_MOD (OF1.3) (xid=0x12): ADD table:2 priority=10,icmp6,metadata=0x10/0xf0,ipv6_src=2001:db8::/32,ipv6_dst=2001:db8::1,ipv6_label=0x12345,nw_tos=184,nw_ecn=1,icmp_type=128,icmp_code=0 actions=dec_ttl,set_field:2001:db8::2->ipv6_dst,CONTROLLER:65535',
);

golden(
  'FLOW_MOD add: IPv6 neighbour solicitation, solicited-node prefix and ND target (drop)',
  {
    type: 'flow_mod',
    xid: 0x1a,
    cookie: 0x5n,
    cookieMask: 0n,
    tableId: 0,
    command: 'add',
    idleTimeout: 60,
    hardTimeout: 0,
    priority: 10,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 1,
    match: [
      { field: 'in_port', value: 3 },
      { field: 'eth_type', value: 0x86dd },
      { field: 'ip_proto', value: 58 },
      { field: 'ipv6_dst', value: 'ff02::1:ff00:0', mask: 'ffff:ffff:ffff:ffff:ffff:ffff:ff00:0' },
      { field: 'icmpv6_type', value: 135 },
      { field: 'icmpv6_code', value: 0 },
      { field: 'ipv6_nd_target', value: '2001:db8:a::1' },
    ],
    instructions: [],
  },
  'OFPT_FLOW_MOD (OF1.3) (xid=0x1a): ADD priority=10,icmp6,in_port=3,ipv6_dst=ff02::1:ff00:0/104,icmp_type=135,icmp_code=0,nd_target=2001:db8:a::1 cookie:0x5 idle:60 send_flow_rem actions=drop',
);

golden(
  'FLOW_MOD add: UDP in VLAN with pcp, tunnel source masked, set_nw_ttl',
  {
    type: 'flow_mod',
    xid: 0x13,
    cookie: 0n,
    cookieMask: 0n,
    tableId: 0,
    command: 'add',
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 5,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: [
      { field: 'tun_ipv4_src', value: '198.51.100.0', mask: '255.255.255.0' },
      { field: 'tunnel_id', value: 0x100n, mask: 0xff00n },
      { field: 'vlan_vid', value: OFPVID_PRESENT | 100 },
      { field: 'vlan_pcp', value: 3 },
      { field: 'eth_type', value: 0x0800 },
      { field: 'ip_proto', value: 17 },
      { field: 'udp_src', value: 68 },
      { field: 'udp_dst', value: 67 },
    ],
    instructions: [
      {
        type: 'apply_actions',
        actions: [
          { type: 'set_nw_ttl', ttl: 64 },
          { type: 'output', port: OFPP.LOCAL, maxLen: 0 },
        ],
      },
    ],
  },
  'OFPT_FLOW_MOD (OF1.3) (xid=0x13): ADD priority=5,udp,tun_id=0x100/0xff00,tun_src=198.51.100.0/24,dl_vlan=100,dl_vlan_pcp=3,tp_src=68,tp_dst=67 actions=mod_nw_ttl:64,LOCAL',
);

golden(
  'FLOW_MOD add: ICMPv4 to the normal pipeline and flood',
  {
    type: 'flow_mod',
    xid: 0x14,
    cookie: 0n,
    cookieMask: 0n,
    tableId: 0,
    command: 'add',
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 1,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: [
      { field: 'eth_type', value: 0x0800 },
      { field: 'ip_proto', value: 1 },
      { field: 'icmpv4_type', value: 8 },
      { field: 'icmpv4_code', value: 0 },
    ],
    instructions: [
      {
        type: 'apply_actions',
        actions: [
          { type: 'output', port: OFPP.NORMAL, maxLen: 0 },
          { type: 'output', port: OFPP.FLOOD, maxLen: 0 },
          { type: 'output', port: OFPP.ALL, maxLen: 0 },
        ],
      },
    ],
  },
  'OFPT_FLOW_MOD (OF1.3) (xid=0x14): ADD priority=1,icmp,icmp_type=8,icmp_code=0 actions=NORMAL,FLOOD,ALL',
);

golden(
  'FLOW_MOD delete by cookie in all tables',
  {
    type: 'flow_mod',
    xid: 0x15,
    cookie: 0x1200n,
    cookieMask: 0xff00n,
    tableId: OFPTT.ALL,
    command: 'delete',
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 0,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: [],
    instructions: [],
  },
  'OFPT_FLOW_MOD (OF1.3) (xid=0x15): DEL table:255 priority=0 cookie:0x1200/0xff00 actions=drop',
);

golden(
  'FLOW_MOD delete_strict with out_port',
  {
    type: 'flow_mod',
    xid: 0x16,
    cookie: 0n,
    cookieMask: 0n,
    tableId: 0,
    command: 'delete_strict',
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 100,
    bufferId: OFP_NO_BUFFER,
    outPort: 5,
    outGroup: OFPG.ANY,
    flags: 0,
    match: [{ field: 'in_port', value: 3 }],
    instructions: [],
  },
  'OFPT_FLOW_MOD (OF1.3) (xid=0x16): DEL_STRICT priority=100,in_port=3 out_port:5 actions=drop',
);

golden(
  'FLOW_MOD modify',
  {
    type: 'flow_mod',
    xid: 0x17,
    cookie: 0n,
    cookieMask: 0n,
    tableId: 0,
    command: 'modify',
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 0,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: [{ field: 'in_port', value: 3 }],
    instructions: [{ type: 'apply_actions', actions: [] }],
  },
  'OFPT_FLOW_MOD (OF1.3) (xid=0x17): MOD priority=0,in_port=3 actions=drop',
);

golden(
  'MULTIPART_REQUEST desc',
  { type: 'multipart_request', xid: 20, flags: 0, body: { type: 'desc' } },
  'OFPST_DESC request (OF1.3) (xid=0x14):',
);

golden(
  'MULTIPART_REQUEST flow stats',
  {
    type: 'multipart_request',
    xid: 21,
    flags: 0,
    body: {
      type: 'flow',
      tableId: OFPTT.ALL,
      outPort: OFPP.ANY,
      outGroup: OFPG.ANY,
      cookie: 0n,
      cookieMask: 0n,
      match: [{ field: 'in_port', value: 3 }],
    },
  },
  'OFPST_FLOW request (OF1.3) (xid=0x15): in_port=3',
);

golden(
  'MULTIPART_REQUEST port_desc',
  { type: 'multipart_request', xid: 22, flags: 0, body: { type: 'port_desc' } },
  'OFPST_PORT_DESC request (OF1.3) (xid=0x16): port=ANY',
);

golden(
  'MULTIPART_REQUEST table_features (empty)',
  { type: 'multipart_request', xid: 23, flags: 0, body: { type: 'table_features' } },
  'OFPST_TABLE_FEATURES request (OF1.3) (xid=0x17):',
);

golden(
  'MULTIPART_REPLY desc',
  {
    type: 'multipart_reply',
    xid: 20,
    flags: 0,
    body: {
      type: 'desc',
      mfrDesc: 'Nicira, Inc.',
      hwDesc: 'Open vSwitch',
      swDesc: '3.1.0',
      serialNum: 'None',
      dpDesc: 'br-int',
    },
  },
  [
    'OFPST_DESC reply (OF1.3) (xid=0x14):',
    'Manufacturer: Nicira, Inc.',
    'Hardware: Open vSwitch',
    'Software: 3.1.0',
    'Serial Num: None',
    'DP Description: br-int',
  ].join('\n'),
);

golden(
  'MULTIPART_REPLY flow stats, two entries, more to follow',
  {
    type: 'multipart_reply',
    xid: 21,
    flags: OFPMPF_MORE,
    body: {
      type: 'flow',
      flows: [
        {
          tableId: 0,
          durationSec: 3,
          durationNsec: 1000,
          priority: 100,
          idleTimeout: 10,
          hardTimeout: 0,
          flags: OFPFF.SEND_FLOW_REM,
          cookie: 0x1n,
          packetCount: 2n,
          byteCount: 196n,
          match: [{ field: 'in_port', value: 3 }],
          instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 4, maxLen: 0 }] }],
        },
        {
          tableId: 0,
          durationSec: 100,
          durationNsec: 0,
          priority: 0,
          idleTimeout: 0,
          hardTimeout: 0,
          flags: 0,
          cookie: 0n,
          packetCount: 0n,
          byteCount: 0n,
          match: [],
          instructions: [
            { type: 'apply_actions', actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: 128 }] },
          ],
        },
      ],
    },
  },
  [
    'OFPST_FLOW reply (OF1.3) (xid=0x15): flags=[more]',
    ' cookie=0x1, duration=3.000001s, table=0, n_packets=2, n_bytes=196, idle_timeout=10, send_flow_rem priority=100,in_port=3 actions=output:4',
    ' cookie=0x0, duration=100s, table=0, n_packets=0, n_bytes=0, priority=0 actions=CONTROLLER:128',
  ].join('\n'),
);

golden(
  'MULTIPART_REPLY port_desc',
  {
    type: 'multipart_reply',
    xid: 22,
    flags: 0,
    body: {
      type: 'port_desc',
      ports: [
        VM_PORT,
        {
          portNo: OFPP.LOCAL,
          hwAddr: '02:00:00:00:00:ff',
          name: 'br-int',
          config: 1,
          state: 1,
          curr: 0,
          advertised: 0,
          supported: 0,
          peer: 0,
          currSpeed: 0,
          maxSpeed: 0,
        },
      ],
    },
  },
  [
    'OFPST_PORT_DESC reply (OF1.3) (xid=0x16):',
    ' 1(vm1-veth): addr:02:00:00:00:00:01',
    '     config:     0',
    '     state:      0',
    '     current:    10GB-FD COPPER',
    '     speed: 10000 Mbps now, 0 Mbps max',
    ' LOCAL(br-int): addr:02:00:00:00:00:ff',
    '     config:     PORT_DOWN',
    '     state:      LINK_DOWN',
    '     speed: 0 Mbps now, 0 Mbps max',
  ].join('\n'),
);

golden('BARRIER_REQUEST', { type: 'barrier_request', xid: 30 }, 'OFPT_BARRIER_REQUEST (OF1.3) (xid=0x1e):');
golden('BARRIER_REPLY', { type: 'barrier_reply', xid: 30 }, 'OFPT_BARRIER_REPLY (OF1.3) (xid=0x1e):');

golden(
  'ROLE_REQUEST master',
  { type: 'role_request', xid: 31, role: 'master', generationId: 5n },
  'OFPT_ROLE_REQUEST (OF1.3) (xid=0x1f): role=primary generation_id=5',
);
golden(
  'ROLE_REPLY slave',
  { type: 'role_reply', xid: 31, role: 'slave', generationId: 6n },
  'OFPT_ROLE_REPLY (OF1.3) (xid=0x1f): role=secondary generation_id=6',
);

golden(
  'PACKET_IN as OVS sends it, with an NXM register the table does not describe',
  {
    type: 'packet_in',
    xid: 0,
    bufferId: OFP_NO_BUFFER,
    totalLen: 14,
    reason: OFPR.ACTION,
    tableId: 3,
    cookie: 0x77n,
    match: [
      { field: 'in_port', value: 2 },
      // NXM_NX_REG0 (class 0x0001, field 0), 4 bytes
      {
        field: 'raw',
        oxmClass: 0x0001,
        oxmField: 0,
        hasMask: false,
        payload: Buffer.from('0000002a', 'hex'),
      },
    ],
    data: Buffer.from('020000000002020000000001' + '88b5', 'hex'),
  },
  [
    'OFPT_PACKET_IN (OF1.3) (xid=0x0): table_id=3 cookie=0x77 total_len=14 reg0=0x2a,in_port=2 (via action) data_len=14 (unbuffered)',
    'vlan_tci=0x0000,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,dl_type=0x88b5',
  ].join('\n'),
);

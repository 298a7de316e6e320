/**
 * Named numbers of OpenFlow 1.3 (wire protocol 0x04): reserved port numbers, buffer/group/table
 * wildcards, bit flags and open enumerations that the domain types carry as plain numbers.
 *
 * Invariant: every value here is the one in the OpenFlow 1.3.5 specification (or, for the
 * NXM class, in Open vSwitch's nicira-ext); nothing else in the codec spells these numbers out.
 * Closed enumerations that the domain carries as names (flow_mod commands, roles, port-status
 * reasons) live with their codec instead.
 */

/** The only OpenFlow version this codec speaks. */
export const OFP_VERSION = 0x04;
/** Size of ofp_header. */
export const OFP_HEADER_LEN = 8;
/** The header's u16 length field bounds every message. */
export const OFP_MAX_MESSAGE_LEN = 0xffff;

/** Reserved port numbers (ofp_port_no). */
export const OFPP = {
  /** Largest number of a physical or logical port. */
  MAX: 0xffffff00,
  /** Send the packet out the port it came in on. */
  IN_PORT: 0xfffffff8,
  /** Submit the packet to the first flow table (PACKET_OUT only). */
  TABLE: 0xfffffff9,
  /** The switch's non-OpenFlow L2/L3 pipeline. */
  NORMAL: 0xfffffffa,
  /** All ports except the input port and those with flooding disabled. */
  FLOOD: 0xfffffffb,
  /** All ports except the input port. */
  ALL: 0xfffffffc,
  /** Send to the controller. */
  CONTROLLER: 0xfffffffd,
  /** The switch's local networking stack. */
  LOCAL: 0xfffffffe,
  /** Wildcard port (no port) in flow_mod out_port, flow stats requests. */
  ANY: 0xffffffff,
} as const;

/** buffer_id meaning "the packet is not buffered; the data is in the message". */
export const OFP_NO_BUFFER = 0xffffffff;

/** Group wildcards. */
export const OFPG = { MAX: 0xffffff00, ALL: 0xfffffffc, ANY: 0xffffffff } as const;

/** Table ids. */
export const OFPTT = { MAX: 0xfe, ALL: 0xff } as const;

/** Output action max_len values. */
export const OFPCML = { MAX: 0xffe5, NO_BUFFER: 0xffff } as const;

/** OXM classes. */
export const OXM_CLASS = {
  NXM_0: 0x0000,
  NXM_1: 0x0001,
  OPENFLOW_BASIC: 0x8000,
  EXPERIMENTER: 0xffff,
} as const;

/** vlan_vid bit meaning "a VLAN tag is present"; OR it with the VLAN id when matching or setting. */
export const OFPVID_PRESENT = 0x1000;
/** vlan_vid value meaning "no VLAN tag". */
export const OFPVID_NONE = 0x0000;

/** flow_mod flags. */
export const OFPFF = {
  SEND_FLOW_REM: 1 << 0,
  CHECK_OVERLAP: 1 << 1,
  RESET_COUNTS: 1 << 2,
  NO_PKT_COUNTS: 1 << 3,
  NO_BYT_COUNTS: 1 << 4,
} as const;

/** switch_features capabilities. */
export const OFPC = {
  FLOW_STATS: 1 << 0,
  TABLE_STATS: 1 << 1,
  PORT_STATS: 1 << 2,
  GROUP_STATS: 1 << 3,
  IP_REASM: 1 << 5,
  QUEUE_STATS: 1 << 6,
  PORT_BLOCKED: 1 << 8,
} as const;

/** switch_config flags (IP fragment handling). */
export const OFPC_FRAG = { NORMAL: 0, DROP: 1, REASM: 2, MASK: 3 } as const;

/** packet_in reasons. */
export const OFPR = { NO_MATCH: 0, ACTION: 1, INVALID_TTL: 2 } as const;

/** flow_removed reasons. */
export const OFPRR = { IDLE_TIMEOUT: 0, HARD_TIMEOUT: 1, DELETE: 2, GROUP_DELETE: 3 } as const;

/** Port config bits. */
export const OFPPC = { PORT_DOWN: 1 << 0, NO_RECV: 1 << 2, NO_FWD: 1 << 5, NO_PACKET_IN: 1 << 6 } as const;

/** Port state bits. */
export const OFPPS = { LINK_DOWN: 1 << 0, BLOCKED: 1 << 1, LIVE: 1 << 2 } as const;

/** Port feature bits (curr, advertised, supported, peer). */
export const OFPPF = {
  '10MB_HD': 1 << 0,
  '10MB_FD': 1 << 1,
  '100MB_HD': 1 << 2,
  '100MB_FD': 1 << 3,
  '1GB_HD': 1 << 4,
  '1GB_FD': 1 << 5,
  '10GB_FD': 1 << 6,
  '40GB_FD': 1 << 7,
  '100GB_FD': 1 << 8,
  '1TB_FD': 1 << 9,
  OTHER: 1 << 10,
  COPPER: 1 << 11,
  FIBER: 1 << 12,
  AUTONEG: 1 << 13,
  PAUSE: 1 << 14,
  PAUSE_ASYM: 1 << 15,
} as const;

/** Multipart request/reply flags: more parts follow. */
export const OFPMPF_MORE = 1;

/** HELLO element type carrying the version bitmap. */
export const OFPHET_VERSIONBITMAP = 1;

/** Error types (ofp_error_type). */
export const OFPET = {
  HELLO_FAILED: 0,
  BAD_REQUEST: 1,
  BAD_ACTION: 2,
  BAD_INSTRUCTION: 3,
  BAD_MATCH: 4,
  FLOW_MOD_FAILED: 5,
  GROUP_MOD_FAILED: 6,
  PORT_MOD_FAILED: 7,
  TABLE_MOD_FAILED: 8,
  QUEUE_OP_FAILED: 9,
  SWITCH_CONFIG_FAILED: 10,
  ROLE_REQUEST_FAILED: 11,
  METER_MOD_FAILED: 12,
  TABLE_FEATURES_FAILED: 13,
  EXPERIMENTER: 0xffff,
} as const;

/** Codes for OFPET.HELLO_FAILED. */
export const OFPHFC = { INCOMPATIBLE: 0, EPERM: 1 } as const;

/** Codes for OFPET.BAD_REQUEST. */
export const OFPBRC = {
  BAD_VERSION: 0,
  BAD_TYPE: 1,
  BAD_MULTIPART: 2,
  BAD_EXPERIMENTER: 3,
  BAD_EXP_TYPE: 4,
  EPERM: 5,
  BAD_LEN: 6,
  BUFFER_EMPTY: 7,
  BUFFER_UNKNOWN: 8,
  BAD_TABLE_ID: 9,
  IS_SLAVE: 10,
  BAD_PORT: 11,
  BAD_PACKET: 12,
  MULTIPART_BUFFER_OVERFLOW: 13,
} as const;

/** Codes for OFPET.FLOW_MOD_FAILED. */
export const OFPFMFC = {
  UNKNOWN: 0,
  TABLE_FULL: 1,
  BAD_TABLE_ID: 2,
  OVERLAP: 3,
  EPERM: 4,
  BAD_TIMEOUT: 5,
  BAD_COMMAND: 6,
  BAD_FLAGS: 7,
} as const;

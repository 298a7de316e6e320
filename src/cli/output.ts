/**
 * Output for people: aligned tables for lists and `field: value` blocks for single objects, with ids of
 * referenced objects shown as their names. (`--json` output bypasses this module: it prints the stored
 * objects as they are, with stable field names.)
 *
 * Invariant: rendering never fails on an object it does not fully know; unknown references print as ids;
 * no stored value reaches the terminal raw (control characters and escape sequences are escaped, even in
 * names stored before such names were refused).
 */
import type { Kind, Obj } from '../state/model.js';
import { escapeControls } from '../quote.js';

/** Columns shown by `KIND list`, as field names (dotted for nested). */
export const LIST_COLUMNS: Record<Kind, readonly string[]> = {
  host: ['id', 'name', 'alive', 'addresses', 'agentVersion', 'flows', 'lastChangeApplied'],
  'tunnel-zone': ['id', 'name', 'type', 'members'],
  bridge: ['id', 'name', 'adminStateUp', 'vlanAware', 'inboundChainId', 'outboundChainId'],
  router: [
    'id',
    'name',
    'adminStateUp',
    'inboundChainId',
    'outboundChainId',
    'natInboundChainId',
    'natOutboundChainId',
  ],
  port: [
    'id',
    'name',
    'deviceId',
    'address',
    'mac',
    'hostId',
    'interfaceName',
    'peerId',
    'tunnelKey',
    'adminStateUp',
  ],
  route: ['id', 'routerId', 'dstPrefix', 'srcPrefix', 'nextHopPortId', 'gateway', 'weight', 'type', 'source'],
  chain: ['id', 'name', 'rules'],
  rule: ['id', 'chainId', 'position', 'action', 'jumpChainId', 'conditions'],
  'port-group': ['id', 'name', 'portIds'],
  'ip-address-group': ['id', 'name', 'addresses'],
  dhcp: ['id', 'name', 'bridgeId', 'subnet', 'gateway', 'rangeStart', 'rangeEnd', 'enabled', 'hosts'],
  'dhcp-lease': ['id', 'dhcpId', 'address', 'mac', 'state', 'expires', 'hostId', 'portId'],
  'api-token': ['id', 'name', 'role', 'created'],
  'bgp-peer': [
    'id',
    'name',
    'portId',
    'peerAddress',
    'peerAs',
    'localAs',
    'state',
    'uptime',
    'prefixesReceived',
    'prefixesAdvertised',
  ],
  'bgp-network': ['id', 'routerId', 'prefix'],
  'floating-ip': ['id', 'name', 'routerId', 'address', 'portId', 'fixedAddress'],
  'port-forward': ['id', 'name', 'routerId', 'address', 'protocol', 'port', 'toAddress', 'toPort'],
  'source-nat': ['id', 'name', 'routerId', 'subnet', 'address', 'portFrom', 'portTo'],
  'nat-block': ['id', 'name', 'hostId', 'expiresAt'],
  'load-balancer': ['id', 'name', 'routerId', 'adminStateUp'],
  pool: ['id', 'name', 'loadBalancerId', 'algorithm', 'adminStateUp'],
  vip: ['id', 'name', 'poolId', 'address', 'protocol', 'port', 'sessionPersistence', 'adminStateUp'],
  'pool-member': ['id', 'name', 'poolId', 'address', 'port', 'weight', 'adminStateUp', 'status'],
  'health-monitor': ['id', 'name', 'poolId', 'type', 'interval', 'timeout', 'retries', 'adminStateUp'],
  mirror: ['id', 'name', 'portIds', 'bridgeId', 'direction', 'conditions', 'toPortId', 'adminStateUp'],
};

export type Names = ReadonlyMap<string, string>;

const ID_FIELD = /Id$|Ids$|^inPorts$|^outPorts$/;

function cell(v: unknown, names: Names, field: string): string {
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) return v.length === 0 ? '-' : v.map((x) => cell(x, names, field)).join(',');
  if (typeof v === 'string')
    return ID_FIELD.test(field) || field === 'id' ? (field === 'id' ? v : (names.get(v) ?? v)) : v;
  if (typeof v === 'object') return JSON.stringify(v);
  return scalar(v);
}

/** A number, boolean or bigint as text; anything else as JSON. */
export function scalar(v: unknown): string {
  return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint'
    ? String(v)
    : JSON.stringify(v);
}

/** Renders the rule conditions compactly: `dst=192.0.2.0/24 !dst-port=80-90`. */
export function renderConditions(
  c: Record<string, { value: unknown; invert?: boolean; mask?: string }>,
  names: Names,
): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(c)) {
    let val: string;
    const x = v.value;
    if (x && typeof x === 'object' && 'start' in x) {
      const r = x as { start: number; end: number };
      val = r.start === r.end ? String(r.start) : `${r.start}-${r.end}`;
    } else if (x && typeof x === 'object' && 'mask' in x) {
      val = JSON.stringify(x);
    } else {
      val = cell(
        x,
        names,
        k.endsWith('Ports') ? 'inPorts' : k.startsWith('ipAddrGroup') || k.endsWith('PortGroup') ? 'xId' : k,
      );
    }
    if (v.mask) val += `/${v.mask}`;
    parts.push(`${v.invert ? '!' : ''}${k}=${val}`);
  }
  return parts.length ? parts.join(' ') : '(all)';
}

export function valueOf(o: Record<string, unknown>, field: string, names: Names): string {
  if (field === 'rules' && Array.isArray(o.ruleIds)) return String(o.ruleIds.length);
  if (field === 'conditions' && typeof o.conditions !== 'string')
    return renderConditions(o.conditions as Record<string, { value: unknown; invert?: boolean }>, names);
  if (field === 'members' && Array.isArray(o.members)) {
    return (
      (o.members as Array<{ hostId: string; address: string }>)
        .map((m) => `${names.get(m.hostId) ?? m.hostId}=${m.address}`)
        .join(',') || '-'
    );
  }
  if (field === 'hosts' && Array.isArray(o.hosts)) return String(o.hosts.length);
  return cell(o[field], names, field);
}

export const HEADER: Record<string, string> = {
  deviceId: 'device',
  inboundChainId: 'inbound',
  outboundChainId: 'outbound',
  adminStateUp: 'up',
  interfaceName: 'interface',
  hostId: 'host',
  peerId: 'peer',
  routerId: 'router',
  nextHopPortId: 'next-hop',
  chainId: 'chain',
  jumpChainId: 'jump',
  bridgeId: 'bridge',
  portId: 'port',
  portIds: 'ports',
  dstPrefix: 'dst',
  srcPrefix: 'src',
  tunnelKey: 'key',
};

export function table(
  rows: ReadonlyArray<Record<string, unknown>>,
  columns: readonly string[],
  names: Names,
): string {
  const head = columns.map((c) => (HEADER[c] ?? c).toUpperCase());
  const body = rows.map((r) => columns.map((c) => escapeControls(valueOf(r, c, names))));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Rows as CSV: a header of field names, then one line per row (values as the table shows them). */
export function csv(
  rows: ReadonlyArray<Record<string, unknown>>,
  columns: readonly string[],
  names: Names,
): string {
  const lines = [columns.map(csvField).join(',')];
  for (const r of rows) lines.push(columns.map((c) => csvField(valueOf(r, c, names))).join(','));
  return lines.join('\n');
}

/** One object as `field: value` lines, references shown as `name (id)`. */
export function block(o: Record<string, unknown>, names: Names): string {
  const keys = Object.keys(o);
  const w = Math.max(...keys.map((k) => k.length));
  return keys
    .map((k) => {
      const v = o[k];
      let text: string;
      if (k === 'conditions')
        text = renderConditions(v as Record<string, { value: unknown; invert?: boolean }>, names);
      else if (k !== 'id' && typeof v === 'string' && names.has(v)) text = `${names.get(v)} (${v})`;
      else if (Array.isArray(v) && v.every((x) => typeof x === 'string' && names.has(x)))
        text = v.map((x: string) => names.get(x)).join(', ') || '-';
      else if (v !== null && typeof v === 'object') text = JSON.stringify(v);
      else text = v === null ? '-' : typeof v === 'string' ? v : scalar(v);
      return `${k.padEnd(w)}  ${escapeControls(text)}`;
    })
    .join('\n');
}

/** Map of id -> display name for every named object. */
export function nameIndex(objects: readonly Obj[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const o of objects) if (typeof o.name === 'string') m.set(o.id, o.name);
  return m;
}

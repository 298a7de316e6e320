/**
 * A BGP speaker's FRR configuration as data (`BgpSpeakerConfig`) and the one place that renders it to
 * vtysh commands (STYLE habit 8; MidoNet's quagga/VtyConnection). `renderFull` gives the commands that
 * build a configuration from nothing; `renderDiff` gives the commands that turn a running configuration
 * into another one without restarting sessions that did not change (only a new local AS re-creates
 * `router bgp`). Golden tests assert on `scriptText`.
 *
 * Invariant: the output is a list of `VtyBlock`s, each a self-contained vtysh command sequence (it
 * enters and leaves configuration mode itself) tagged with the store object it comes from, so the
 * applier can run blocks one by one and name the object whose command vtysh rejected.
 *
 * Every value is checked here, where it becomes text, whatever checked it before (the store's model):
 * AS numbers are integers 1..4294967295, addresses and the router id dotted-quad IPv4, prefixes
 * IPv4 CIDR, timers what FRR accepts. A value that is not is never written into a command: its
 * object's block is `refused` with a reason naming the field and the value (quoted and escaped by
 * src/quote.ts), and the applier reports it like a command vtysh rejected, so one bad object never
 * stops the others. Finally every command is checked to be one line of printable ASCII, so nothing
 * can make one vtysh line into two.
 */
import { escapeControls, quote } from '../quote.js';

/** One BGP neighbour of the speaker. */
export interface BgpNeighbor {
  /** Peer IPv4 address. */
  readonly address: string;
  readonly remoteAs: number;
  /** Seconds; null: FRR's default. */
  readonly keepalive: number | null;
  readonly holdTime: number | null;
  /** The store object this neighbour comes from, for error messages ("bgp-peer 'isp1'"). */
  readonly object: string;
}

/** One advertised network. */
export interface BgpNetworkEntry {
  readonly prefix: string;
  readonly object: string;
}

export interface BgpSpeakerConfig {
  readonly localAs: number;
  readonly routerId: string;
  readonly neighbors: readonly BgpNeighbor[];
  readonly networks: readonly BgpNetworkEntry[];
}

/** A vtysh command sequence and the store object it configures. */
export interface VtyBlock {
  readonly object: string;
  readonly commands: readonly string[];
  /** Why this object's commands were not rendered (then `commands` is empty); vtysh is not run. */
  readonly refused?: string;
}

const MAX_AS = 4294967295;
const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);
const PREFIX = new RegExp(`^${OCTET}(\\.${OCTET}){3}/(3[0-2]|[12]?[0-9])$`);
/** One vtysh line: printable ASCII, no control character (a newline would start a second command). */
const ONE_LINE = /^[\x20-\x7e]+$/;

function asProblem(field: string, v: number): string | null {
  return Number.isInteger(v) && v >= 1 && v <= MAX_AS
    ? null
    : `${field} ${quote(v)} is not an AS number (an integer 1 to ${MAX_AS})`;
}

function ipProblem(field: string, v: string): string | null {
  return typeof v === 'string' && IPV4.test(v) ? null : `${field} ${quote(v)} is not an IPv4 address`;
}

function globalProblem(cfg: Pick<BgpSpeakerConfig, 'localAs' | 'routerId'>): string | null {
  return asProblem('local AS', cfg.localAs) ?? ipProblem('router id', cfg.routerId);
}

function neighborProblem(n: BgpNeighbor): string | null {
  const p = ipProblem('neighbor address', n.address) ?? asProblem('remote AS', n.remoteAs);
  if (p !== null) return p;
  for (const [k, v] of [
    ['keepalive', n.keepalive],
    ['hold time', n.holdTime],
  ] as const)
    if (v !== null && !(Number.isInteger(v) && v >= 0 && v <= 65535))
      return `${k} ${quote(v)} is not a number of seconds 0 to 65535`;
  const t = effectiveTimers(n);
  if (t !== null && (t[1] > 65535 || (t[1] !== 0 && t[1] < 3) || t[0] > t[1]))
    return `timers keepalive ${t[0]} hold ${t[1]}: the hold time must be 0 or 3 to 65535 and not below the keepalive`;
  return null;
}

function networkProblem(n: BgpNetworkEntry): string | null {
  return typeof n.prefix === 'string' && PREFIX.test(n.prefix)
    ? null
    : `network prefix ${quote(n.prefix)} is not an IPv4 prefix (A.B.C.D/LEN)`;
}

/** `block`, or a refusal when a value or a command would not be one vtysh line. */
function checked(object: string, problem: string | null, commands: () => string[]): VtyBlock {
  if (problem !== null) return { object, commands: [], refused: problem };
  const cs = commands();
  const bad = cs.find((c) => !ONE_LINE.test(c));
  if (bad !== undefined)
    return { object, commands: [], refused: `command ${quote(bad)} is not one line of printable text` };
  return { object, commands: cs };
}

/** Seconds FRR waits before retrying a failed TCP connection to a peer (its default is 120). */
export const CONNECT_RETRY_SECONDS = 2;

/** keepalive/hold as FRR wants them: both or neither (hold = 3 x keepalive when only one is given). */
export function effectiveTimers(n: Pick<BgpNeighbor, 'keepalive' | 'holdTime'>): [number, number] | null {
  if (n.keepalive === null && n.holdTime === null) return null;
  const keepalive = n.keepalive ?? Math.max(1, Math.floor(n.holdTime! / 3));
  const hold = n.holdTime ?? Math.max(3, keepalive * 3);
  return [keepalive, hold];
}

/** A block inside `router bgp AS`; `problem` is the object's own (the AS is checked here). */
function inRouter(localAs: number, object: string, problem: string | null, lines: () => string[]): VtyBlock {
  return checked(object, asProblem('local AS', localAs) ?? problem, () => [
    'configure terminal',
    `router bgp ${localAs}`,
    ...lines(),
    'end',
  ]);
}

function inAf(localAs: number, object: string, problem: string | null, lines: () => string[]): VtyBlock {
  return inRouter(localAs, object, problem, () => [
    'address-family ipv4 unicast',
    ...lines(),
    'exit-address-family',
  ]);
}

/** Commands that remove `router bgp AS` (a refused block when AS is not an AS number). */
export function renderRemove(localAs: number, object = 'speaker'): VtyBlock {
  return checked(object, asProblem('local AS', localAs), () => [
    'configure terminal',
    `no router bgp ${localAs}`,
    'end',
  ]);
}

function globalLines(cfg: BgpSpeakerConfig): string[] {
  return [
    `bgp router-id ${cfg.routerId}`,
    // FRR refuses to exchange eBGP routes without policies unless told otherwise; the store is the policy.
    'no bgp ebgp-requires-policy',
    // Tenant prefixes are not in the speaker's own RIB: advertise them regardless.
    'no bgp network import-check',
  ];
}

function neighborLines(n: BgpNeighbor): string[] {
  const lines = [
    `neighbor ${n.address} remote-as ${n.remoteAs}`,
    `neighbor ${n.address} timers connect ${CONNECT_RETRY_SECONDS}`,
    `neighbor ${n.address} advertisement-interval 0`,
  ];
  const t = effectiveTimers(n);
  if (t) lines.push(`neighbor ${n.address} timers ${t[0]} ${t[1]}`);
  return lines;
}

/** Commands that build `cfg` on an FRR with no `router bgp` yet. */
export function renderFull(cfg: BgpSpeakerConfig, object = 'speaker'): VtyBlock[] {
  const blocks: VtyBlock[] = [inRouter(cfg.localAs, object, globalProblem(cfg), () => globalLines(cfg))];
  for (const n of cfg.neighbors)
    blocks.push(inRouter(cfg.localAs, n.object, neighborProblem(n), () => neighborLines(n)));
  for (const net of cfg.networks)
    blocks.push(inAf(cfg.localAs, net.object, networkProblem(net), () => [`network ${net.prefix}`]));
  return blocks;
}

/**
 * Commands that turn running configuration `from` into `to`. Unchanged neighbours and networks get no
 * command, so their sessions and advertisements are left alone.
 */
export function renderDiff(
  from: BgpSpeakerConfig | undefined,
  to: BgpSpeakerConfig,
  object = 'speaker',
): VtyBlock[] {
  if (from === undefined) return renderFull(to, object);
  if (from.localAs !== to.localAs) return [renderRemove(from.localAs, object), ...renderFull(to, object)];
  const as = to.localAs;
  const blocks: VtyBlock[] = [];
  if (from.routerId !== to.routerId)
    blocks.push(inRouter(as, object, globalProblem(to), () => [`bgp router-id ${to.routerId}`]));
  const before = new Map(from.neighbors.map((n) => [n.address, n]));
  const after = new Map(to.neighbors.map((n) => [n.address, n]));
  for (const [addr, n] of before) {
    if (!after.has(addr))
      blocks.push(inRouter(as, n.object, ipProblem('neighbor address', addr), () => [`no neighbor ${addr}`]));
  }
  for (const [addr, n] of after) {
    const old = before.get(addr);
    const problem = neighborProblem(n);
    if (old === undefined) {
      blocks.push(inRouter(as, n.object, problem, () => neighborLines(n)));
    } else if (old.remoteAs !== n.remoteAs) {
      blocks.push(inRouter(as, n.object, problem, () => [`no neighbor ${addr}`, ...neighborLines(n)]));
    } else {
      const [t0, t1] = [effectiveTimers(old), effectiveTimers(n)];
      if (JSON.stringify(t0) !== JSON.stringify(t1)) {
        blocks.push(
          inRouter(as, n.object, problem, () => [
            t1 ? `neighbor ${addr} timers ${t1[0]} ${t1[1]}` : `no neighbor ${addr} timers`,
          ]),
        );
      }
    }
  }
  const netsBefore = new Set(from.networks.map((n) => n.prefix));
  const netsAfter = new Set(to.networks.map((n) => n.prefix));
  for (const n of from.networks)
    if (!netsAfter.has(n.prefix))
      blocks.push(inAf(as, n.object, networkProblem(n), () => [`no network ${n.prefix}`]));
  for (const n of to.networks)
    if (!netsBefore.has(n.prefix))
      blocks.push(inAf(as, n.object, networkProblem(n), () => [`network ${n.prefix}`]));
  return blocks;
}

/**
 * The blocks as text, one command a line, each block headed by its object (escaped: an object label
 * comes from a store name) and, when refused, by why: what golden tests compare.
 */
export function scriptText(blocks: readonly VtyBlock[]): string {
  const label = (o: string) => escapeControls(o);
  return (
    blocks
      .map((b) =>
        [
          `! ${label(b.object)}`,
          ...(b.refused !== undefined ? [`! refused: ${b.refused}`] : []),
          ...b.commands,
        ].join('\n'),
      )
      .join('\n') + (blocks.length ? '\n' : '')
  );
}

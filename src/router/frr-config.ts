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
 */

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

function inRouter(localAs: number, object: string, lines: readonly string[]): VtyBlock {
  return { object, commands: ['configure terminal', `router bgp ${localAs}`, ...lines, 'end'] };
}

function inAf(localAs: number, object: string, lines: readonly string[]): VtyBlock {
  return inRouter(localAs, object, ['address-family ipv4 unicast', ...lines, 'exit-address-family']);
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
  const blocks: VtyBlock[] = [inRouter(cfg.localAs, object, globalLines(cfg))];
  for (const n of cfg.neighbors) blocks.push(inRouter(cfg.localAs, n.object, neighborLines(n)));
  for (const net of cfg.networks) blocks.push(inAf(cfg.localAs, net.object, [`network ${net.prefix}`]));
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
  if (from.localAs !== to.localAs) {
    return [
      { object, commands: ['configure terminal', `no router bgp ${from.localAs}`, 'end'] },
      ...renderFull(to, object),
    ];
  }
  const as = to.localAs;
  const blocks: VtyBlock[] = [];
  if (from.routerId !== to.routerId) blocks.push(inRouter(as, object, [`bgp router-id ${to.routerId}`]));
  const before = new Map(from.neighbors.map((n) => [n.address, n]));
  const after = new Map(to.neighbors.map((n) => [n.address, n]));
  for (const [addr, n] of before) {
    if (!after.has(addr)) blocks.push(inRouter(as, n.object, [`no neighbor ${addr}`]));
  }
  for (const [addr, n] of after) {
    const old = before.get(addr);
    if (old === undefined) {
      blocks.push(inRouter(as, n.object, neighborLines(n)));
    } else if (old.remoteAs !== n.remoteAs) {
      blocks.push(inRouter(as, n.object, [`no neighbor ${addr}`, ...neighborLines(n)]));
    } else {
      const [t0, t1] = [effectiveTimers(old), effectiveTimers(n)];
      if (JSON.stringify(t0) !== JSON.stringify(t1)) {
        blocks.push(
          inRouter(as, n.object, [
            t1 ? `neighbor ${addr} timers ${t1[0]} ${t1[1]}` : `no neighbor ${addr} timers`,
          ]),
        );
      }
    }
  }
  const netsBefore = new Set(from.networks.map((n) => n.prefix));
  const netsAfter = new Set(to.networks.map((n) => n.prefix));
  for (const n of from.networks)
    if (!netsAfter.has(n.prefix)) blocks.push(inAf(as, n.object, [`no network ${n.prefix}`]));
  for (const n of to.networks)
    if (!netsBefore.has(n.prefix)) blocks.push(inAf(as, n.object, [`network ${n.prefix}`]));
  return blocks;
}

/** The blocks as text, one command a line, each block headed by its object: what golden tests compare. */
export function scriptText(blocks: readonly VtyBlock[]): string {
  return (
    blocks.map((b) => [`! ${b.object}`, ...b.commands].join('\n')).join('\n') + (blocks.length ? '\n' : '')
  );
}

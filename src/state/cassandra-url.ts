/**
 * The distributed backend's store URL:
 *   cassandra://HOST:PORT[,HOST:PORT...][/KEYSPACE]?zk=HOST:PORT[,...][&root=/midonet][&rf=1][&dc=datacenter1]
 *     [&retain=N][&retainSeconds=S][&relay=use|lead|standby|off][&relayHost=ADDRESS]
 * Cassandra contact points (port 9042 by default), the keyspace (default `midonet`), the ZooKeeper
 * servers and root znode, the replication factor and local data centre, the change-log retention
 * (retention.ts), and the commit relay (commit-relay-*.ts): `use` (default) sends transactions to
 * the relay leader when there is one, `lead` also volunteers to be it (the API server's default),
 * `standby` volunteers only while no `lead` volunteer is up (the router daemon's default), `off`
 * always commits through the handle itself; `relayHost` is the address a leader binds and publishes
 * (default 127.0.0.1 when every ZooKeeper server is on this host, else this host's first external
 * IPv4 address).
 *
 * Invariant: a URL that does not parse is a StoreError('unavailable') naming what is wrong and the
 * whole expected form; nothing is contacted before the URL is valid.
 */
import { StoreError } from './errors.js';
import { parseRetention } from './retention.js';
import type { LogRetention } from './store.js';
import { quote } from '../quote.js';

export interface CassandraUrl {
  readonly contactPoints: string[];
  readonly keyspace: string;
  readonly zk: string;
  readonly root: string;
  readonly rf: number;
  readonly dc: string;
  readonly retention: LogRetention;
  /** Undefined when the URL does not say (the opener's default applies, else `use`). */
  readonly relay: RelayMode | undefined;
  readonly relayHost: string | undefined;
}

export type RelayMode = 'use' | 'lead' | 'standby' | 'off';
const RELAY_MODES: readonly string[] = ['use', 'lead', 'standby', 'off'];

const PARAMS = ['zk', 'root', 'rf', 'dc', 'retain', 'retainSeconds', 'relay', 'relayHost'];

/** Parses a cassandra:// store URL; throws StoreError('unavailable') naming what is wrong. */
export function parseCassandraUrl(url: string): CassandraUrl {
  const bad = (why: string): never => {
    throw new StoreError(
      'unavailable',
      `store URL ${quote(url)}: ${why}; expected cassandra://HOST:PORT[,HOST:PORT...][/KEYSPACE]?zk=HOST:PORT[,...][&rf=N][&root=/midonet][&dc=datacenter1][&retain=N][&retainSeconds=S][&relay=use|lead|standby|off][&relayHost=ADDRESS]`,
    );
  };
  const m = /^cassandra:\/\/([^/?]*)(\/[^?]*)?(?:\?(.*))?$/.exec(url);
  if (!m) return bad('not a cassandra:// URL');
  const hosts = m[1]!.split(',').filter((h) => h !== '');
  if (hosts.length === 0) bad('no Cassandra host');
  const contactPoints = hosts.map((h) => (/:\d+$/.test(h) ? h : `${h}:9042`));
  const keyspace = (m[2] ?? '/midonet').slice(1) || 'midonet';
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(keyspace))
    bad(`keyspace ${quote(keyspace)} must be lower-case letters, digits, _`);
  const q = new URLSearchParams(m[3] ?? '');
  for (const k of q.keys()) if (!PARAMS.includes(k)) bad(`unknown parameter ${quote(k)}`);
  const zk = q.get('zk') ?? bad('no zk= parameter (the ZooKeeper servers)');
  const root = q.get('root') ?? '/midonet';
  if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(root)) bad(`root ${quote(root)} must be an absolute znode path`);
  const rf = Number(q.get('rf') ?? '1');
  if (!Number.isInteger(rf) || rf < 1 || rf > 9) bad(`rf ${quote(q.get('rf'))} must be 1 to 9`);
  const retention = parseRetention(q, bad);
  const relay = q.get('relay') ?? undefined;
  if (relay !== undefined && !RELAY_MODES.includes(relay))
    bad(`relay ${quote(relay)} must be use, lead, standby or off`);
  const relayHost = q.get('relayHost') ?? undefined;
  if (relayHost !== undefined && !/^[A-Za-z0-9.:-]{1,253}$/.test(relayHost))
    bad(`relayHost ${quote(relayHost)} must be an address or host name`);
  return {
    contactPoints,
    keyspace,
    zk,
    root,
    rf,
    dc: q.get('dc') ?? 'datacenter1',
    retention,
    relay: relay as RelayMode | undefined,
    relayHost,
  };
}

/** The same services with another keyspace and ZooKeeper root: a separate, initially empty store. */
export function storeUrlFor(base: string, keyspace: string, root: string): string {
  const m = /^cassandra:\/\/([^/?]*)(?:\/[^?]*)?(?:\?(.*))?$/.exec(base);
  if (!m) throw new StoreError('unavailable', `store URL ${quote(base)}: not a cassandra:// URL`);
  const params = (m[2] ?? '').split('&').filter((p) => p !== '' && !p.startsWith('root='));
  return `cassandra://${m[1]}/${keyspace}?${[...params, `root=${root}`].join('&')}`;
}

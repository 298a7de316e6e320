/**
 * The relation verbs of the topology commands: port bind/unbind and link/unlink, tunnel-zone
 * add-member/remove-member, dhcp add-host/remove-host, port-group add-port/remove-port, each with
 * --may-exist (already so: nothing to do) and --if-exists (not there: nothing to do).
 *
 * Invariant: like every planner, reads only; read-modify-write ops carry the version they read.
 */
import { quote } from '../quote.js';
import { normalizeMac } from '../addr.js';
import type { Kind, Obj } from '../state/model.js';
import type { Op } from '../state/store.js';
import { CliError } from './options.js';
import { find, given, nothing, type Args, type Ctx, type Planned } from './topology-commands.js';

export interface RelationHelpers {
  write(op: Op, done: string): Planned;
  already(obj: Obj, done: string): Planned;
  ev: { expectedVersion?: number };
  mayExist: boolean;
  ifExists: boolean;
  needRef(kind: Kind, verb: string, args: Args): string;
}

/** Plans one relation verb. */
export async function planRelation(
  ctx: Ctx,
  kind: Kind,
  verb: string,
  args: Args,
  h: RelationHelpers,
): Promise<Planned> {
  const { store } = ctx;
  const ref = h.needRef(kind, verb, args);
  const target = <K extends Kind>(k: K) => (h.ifExists ? find(store, k, ref) : store.resolve(k, ref));
  switch (verb) {
    case 'bind': {
      const port = await store.resolve('port', ref);
      const hostRef = given(args, 'host');
      const iface = given(args, 'interface');
      if (!hostRef || !iface) throw new CliError('port bind: --host and --interface are required');
      const host = await store.resolve('host', hostRef);
      if (h.mayExist && port.hostId === host.id && port.interfaceName === iface)
        return h.already(port, 'bound');
      return h.write(
        { op: 'update', kind: 'port', id: port.id, set: { hostId: host.id, interfaceName: iface }, ...h.ev },
        'bound',
      );
    }
    case 'unbind': {
      const port = await target('port');
      if (port === undefined || (h.ifExists && port.hostId === null)) return nothing();
      return h.write(
        { op: 'update', kind: 'port', id: port.id, set: { hostId: null, interfaceName: null } },
        'unbound',
      );
    }
    case 'link': {
      const port = await store.resolve('port', ref);
      if (!args.arg) throw new CliError('port link: give the peer port: port link PORT PEER');
      const peer = await store.resolve('port', args.arg);
      if (h.mayExist && port.peerId === peer.id) return h.already(port, 'linked');
      return h.write({ op: 'update', kind: 'port', id: port.id, set: { peerId: peer.id } }, 'linked');
    }
    case 'unlink': {
      const port = await target('port');
      if (port === undefined || (h.ifExists && port.peerId === null)) return nothing();
      return h.write({ op: 'update', kind: 'port', id: port.id, set: { peerId: null } }, 'unlinked');
    }
    case 'add-member':
    case 'remove-member': {
      const tz =
        verb === 'remove-member' ? await target('tunnel-zone') : await store.resolve('tunnel-zone', ref);
      if (tz === undefined) return nothing();
      const hostRef = given(args, 'host');
      if (!hostRef) throw new CliError(`tunnel-zone ${verb}: --host is required`);
      const host = await store.resolve('host', hostRef);
      const others = tz.members.filter((m) => m.hostId !== host.id);
      const update = (members: unknown) =>
        h.write(
          { op: 'update', kind: 'tunnel-zone', id: tz.id, set: { members }, expectedVersion: tz.version },
          'updated',
        );
      if (verb === 'remove-member') {
        if (others.length === tz.members.length) {
          if (h.ifExists) return nothing();
          throw new CliError(
            `tunnel-zone ${verb}: host ${quote(host.name)} is not a member of ${quote(tz.name)}`,
          );
        }
        return update(others);
      }
      const address = given(args, 'address') ?? host.addresses[0];
      if (!address)
        throw new CliError(
          `tunnel-zone add-member: --address is required (host ${quote(host.name)} has no address)`,
        );
      if (others.length !== tz.members.length) {
        if (h.mayExist) return h.already(tz, 'a member there');
        throw new CliError(
          `tunnel-zone add-member: host ${quote(host.name)} is already a member of ${quote(tz.name)}`,
        );
      }
      return update([...tz.members, { hostId: host.id, address }]);
    }
    case 'add-host':
    case 'remove-host': {
      const d = verb === 'remove-host' ? await target('dhcp') : await store.resolve('dhcp', ref);
      if (d === undefined) return nothing();
      const macRaw = given(args, 'mac');
      if (!macRaw) throw new CliError(`dhcp ${verb}: --mac is required`);
      const mac = normalizeMac(macRaw);
      if (!mac)
        throw new CliError(`--mac: ${quote(macRaw)} is not valid: expected a MAC such as 02:00:00:00:00:01`);
      const others = d.hosts.filter((x) => x.mac !== mac);
      const update = (hosts: unknown) =>
        h.write(
          { op: 'update', kind: 'dhcp', id: d.id, set: { hosts }, expectedVersion: d.version },
          'updated',
        );
      if (verb === 'remove-host') {
        if (others.length === d.hosts.length) {
          if (h.ifExists) return nothing();
          throw new CliError(`dhcp remove-host: no host entry with MAC ${mac} in ${quote(d.name)}`);
        }
        return update(others);
      }
      const address = given(args, 'address');
      if (!address) throw new CliError('dhcp add-host: --address is required');
      const hostName = given(args, 'host-name');
      const entry = { mac, address, ...(hostName ? { name: hostName } : {}) };
      const same = d.hosts.find((x) => x.mac === mac);
      if (h.mayExist && same && JSON.stringify(same) === JSON.stringify(entry))
        return h.already(d, 'serving it');
      return update([...others, entry]);
    }
    case 'add-port':
    case 'remove-port': {
      const pg = verb === 'remove-port' ? await target('port-group') : await store.resolve('port-group', ref);
      if (pg === undefined) return nothing();
      if (!args.arg) throw new CliError(`port-group ${verb}: give the port: port-group ${verb} GROUP PORT`);
      const port =
        verb === 'remove-port' && h.ifExists
          ? await find(store, 'port', args.arg)
          : await store.resolve('port', args.arg);
      if (port === undefined) return nothing();
      const others = pg.portIds.filter((id) => id !== port.id);
      if (verb === 'add-port' && others.length !== pg.portIds.length) {
        if (h.mayExist) return h.already(pg, 'holding it');
        throw new CliError(`port-group add-port: port ${quote(port.name)} is already in ${quote(pg.name)}`);
      }
      if (verb === 'remove-port' && others.length === pg.portIds.length) {
        if (h.ifExists) return nothing();
        throw new CliError(`port-group remove-port: port ${quote(port.name)} is not in ${quote(pg.name)}`);
      }
      const portIds = verb === 'add-port' ? [...pg.portIds, port.id] : others;
      return h.write(
        { op: 'update', kind: 'port-group', id: pg.id, set: { portIds }, expectedVersion: pg.version },
        'updated',
      );
    }
    default:
      throw new CliError(`${kind}: unknown verb ${quote(verb)}`);
  }
}

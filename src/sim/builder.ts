/**
 * TopologyBuilder: a terse way to write topologies in tests, benchmarks and examples.
 *
 * Every object goes through the model's own `parseFields`, so a built topology holds exactly what the
 * store would hold (defaults filled, values normalized). Ids are deterministic UUIDs derived from a
 * counter, so golden output is stable. Invariant: `build()` never sees an object the model rejects
 * (an invalid field throws at once, naming it).
 */
import { type Kind, type Obj, type RuleAction } from '../state/model.js';
import { parseFields } from '../state/model-parse.js';
import { Topology, type TopologyObject } from './topology.js';

export function testUuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

export interface RuleSpec {
  readonly action: RuleAction;
  readonly name?: string;
  readonly jumpChainId?: string;
  readonly conditions?: Record<string, unknown>;
  readonly natTargets?: ReadonlyArray<Record<string, unknown>>;
}

export class TopologyBuilder {
  private n = 0;
  readonly objects: TopologyObject[] = [];
  private readonly byName = new Map<string, string>();

  /** The id of a named object. */
  id(name: string): string {
    const id = this.byName.get(name);
    if (id === undefined) throw new Error(`no object named ${name}`);
    return id;
  }

  add<K extends Kind>(kind: K, fields: Record<string, unknown>, id = testUuid(++this.n)): Obj<K> {
    const r = parseFields(kind, fields);
    if (!r.ok)
      throw new Error(
        `${kind} ${JSON.stringify(fields)}: ${r.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
      );
    const obj = { ...r.fields, id, version: 1 } as Obj<K>;
    this.objects.push({ kind, object: obj } as TopologyObject);
    const name = (fields as { name?: unknown }).name;
    if (typeof name === 'string') this.byName.set(name, id);
    return obj;
  }

  private update(id: string, patch: Record<string, unknown>): void {
    const i = this.objects.findIndex((o) => o.object.id === id);
    const o = this.objects[i]!;
    this.objects[i] = { kind: o.kind, object: { ...o.object, ...patch } } as TopologyObject;
  }

  bridge(name: string, opts: Record<string, unknown> = {}): string {
    return this.add('bridge', { name, ...opts }).id;
  }
  router(name: string, opts: Record<string, unknown> = {}): string {
    return this.add('router', { name, ...opts }).id;
  }
  /** A port on a bridge or router (by id). */
  port(deviceId: string, name: string, opts: Record<string, unknown> = {}): string {
    const dev = this.objects.find((o) => o.object.id === deviceId);
    if (dev === undefined || (dev.kind !== 'bridge' && dev.kind !== 'router'))
      throw new Error(`no device ${deviceId}`);
    return this.add('port', { name, deviceId, deviceKind: dev.kind, tunnelKey: this.n + 1, ...opts }).id;
  }
  /** Links two ports as interior peers. */
  link(a: string, b: string): void {
    this.update(a, { peerId: b });
    this.update(b, { peerId: a });
  }
  route(routerId: string, dstPrefix: string, opts: Record<string, unknown> = {}): string {
    return this.add('route', { routerId, dstPrefix, ...opts }).id;
  }
  /** A chain with its rules, in order. */
  chain(name: string, rules: readonly RuleSpec[] = []): string {
    const chainId = this.add('chain', { name }).id;
    const ruleIds = rules.map(
      (r) =>
        this.add('rule', {
          chainId,
          action: r.action,
          name: r.name ?? null,
          jumpChainId: r.jumpChainId ?? null,
          conditions: r.conditions ?? {},
          natTargets: r.natTargets ?? [],
        }).id,
    );
    this.update(chainId, { ruleIds });
    return chainId;
  }
  /** Sets fields of an object already added (e.g. a device's chains). */
  set(id: string, patch: Record<string, unknown>): void {
    this.update(id, patch);
  }
  portGroup(name: string, portIds: string[]): string {
    return this.add('port-group', { name, portIds }).id;
  }
  ipGroup(name: string, addresses: string[]): string {
    return this.add('ip-address-group', { name, addresses }).id;
  }
  dhcp(
    bridgeId: string,
    name: string,
    subnet: string,
    hosts: Array<{ mac: string; address: string }>,
  ): string {
    return this.add('dhcp', { bridgeId, name, subnet, hosts }).id;
  }
  build(): Topology {
    return Topology.from(this.objects);
  }
}

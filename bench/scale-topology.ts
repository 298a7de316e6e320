/**
 * The generated cloud of bench/scale: one provider router, and per tenant a bridge with five VM
 * ports bound on hosts, a tenant router linked to the bridge and (uplink) to the provider router, a
 * second router linked to the first, five chains of ten rules each (one chain a jump target, one rule
 * matching the tenant's address group) on the bridge and the routers, a default route and the
 * provider's route back. So 1,000 tenants are 10,000 tenant ports (plus 1,000 provider ports), 2,000
 * routers, 5,000 chains and 50,000 rules. Every object has a fixed id, so runs are comparable.
 */
import { createHash } from 'node:crypto';
import type { Kind } from '../src/state/model.js';
import type { Op } from '../src/state/store.js';

/** A stable UUID for a name. */
export function idOf(name: string): string {
  const h = createHash('sha1').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const PROVIDER = idOf('provider');
export const hostId = (h: number) => idOf(`host-${h}`);
export const vmPortId = (t: number, i: number) => idOf(`t${t}-vm${i}`);
export const chainId = (t: number, c: number) => idOf(`t${t}-chain${c}`);
export const ruleId = (t: number, c: number, r: number) => idOf(`t${t}-c${c}-r${r}`);

/** The hosts and the provider router. */
export function baseOps(hosts: number): Op[] {
  const ops: Op[] = [{ op: 'create', kind: 'router', id: PROVIDER, fields: { name: 'provider' } }];
  for (let h = 0; h < hosts; h++)
    ops.push({ op: 'create', kind: 'host', id: hostId(h), fields: { name: `host-${h}` } });
  return ops;
}

/** One tenant's objects (one transaction); its VM ports are bound on hosts (t * 5 + i) mod `hosts`. */
export function tenantOps(t: number, hosts: number): Op[] {
  const a = t >> 8;
  const b = t & 255;
  const id = (n: string) => idOf(`t${t}-${n}`);
  const ops: Op[] = [];
  const create = (kind: Kind, i: string, fields: Record<string, unknown>) =>
    ops.push({ op: 'create', kind, id: i, fields });
  create('ip-address-group', id('group'), { name: `t${t}-group`, addresses: [`10.${a}.${b}.10`] });
  for (let c = 0; c < 5; c++) create('chain', chainId(t, c), { name: `t${t}-chain${c}` });
  for (let c = 0; c < 5; c++)
    for (let r = 0; r < 10; r++) {
      const fields: Record<string, unknown> = {
        chainId: chainId(t, c),
        action: r === 9 ? 'drop' : 'accept',
        conditions: { dstPort: { value: `${1000 + r}` }, ipProto: { value: 6 } },
      };
      if (c < 4 && r === 0) Object.assign(fields, { action: 'jump', jumpChainId: chainId(t, 4) });
      if (r === 1) fields.conditions = { ipAddrGroupDst: { value: id('group') } };
      create('rule', ruleId(t, c, r), fields);
    }
  create('bridge', id('br'), {
    name: `t${t}-br`,
    inboundChainId: chainId(t, 0),
    outboundChainId: chainId(t, 1),
  });
  create('router', id('r1'), {
    name: `t${t}-r1`,
    inboundChainId: chainId(t, 2),
    outboundChainId: chainId(t, 3),
  });
  create('router', id('r2'), { name: `t${t}-r2` });
  for (let i = 0; i < 5; i++)
    create('port', vmPortId(t, i), {
      name: `t${t}-vm${i}`,
      deviceId: id('br'),
      hostId: hostId((t * 5 + i) % hosts),
      interfaceName: `vm-${t}-${i}`,
    });
  const up = (t % 16384) * 4;
  const link = (x: number) => `100.${64 + ((up + x) >> 16)}.${((up + x) >> 8) & 255}.${(up + x) & 255}`;
  create('port', id('r1-in'), { name: `t${t}-r1-in`, deviceId: id('r1'), address: `10.${a}.${b}.1/24` });
  create('port', id('br-up'), { name: `t${t}-br-up`, deviceId: id('br'), peerId: id('r1-in') });
  create('port', id('p-down'), {
    name: `t${t}-p-down`,
    deviceId: PROVIDER,
    address: `${link(1)}/30`,
  });
  create('port', id('r1-up'), {
    name: `t${t}-r1-up`,
    deviceId: id('r1'),
    address: `${link(2)}/30`,
    peerId: id('p-down'),
  });
  create('port', id('r1-r2'), {
    name: `t${t}-r1-r2`,
    deviceId: id('r1'),
    address: `172.${16 + a}.${b}.1/30`,
  });
  create('port', id('r2-r1'), {
    name: `t${t}-r2-r1`,
    deviceId: id('r2'),
    address: `172.${16 + a}.${b}.2/30`,
    peerId: id('r1-r2'),
  });
  create('route', id('default'), {
    routerId: id('r1'),
    dstPrefix: '0.0.0.0/0',
    nextHopPortId: id('r1-up'),
    gateway: link(1),
  });
  create('route', id('back'), {
    routerId: PROVIDER,
    dstPrefix: `10.${a}.${b}.0/24`,
    nextHopPortId: id('p-down'),
    gateway: link(2),
  });
  return ops;
}

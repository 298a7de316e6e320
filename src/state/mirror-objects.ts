/**
 * The rules of port mirrors and port QoS that span fields or objects (model.ts has the fields): a
 * mirror has at least one source (ports or a bridge), lists no port twice, and its destination is
 * none of its sources (a port it lists, or a port of its bridge), since a copy sent to a source would
 * be mirrored again; a port's QoS burst needs a rate.
 *
 * Invariant: like model-rules.ts, a check reads only through the PlanView, throws a StoreError naming
 * the object, the field and the value (quoted), and writes nothing.
 */
import { quote } from '../quote.js';
import { invalid, label, type PlanView } from './model-rules.js';
import type { Obj } from './model.js';

export async function checkMirror(view: PlanView, m: Obj<'mirror'>): Promise<void> {
  const what = label('mirror', m);
  if (m.portIds.length === 0 && m.bridgeId === null)
    invalid(`${what}: mirror.portIds: the mirror has no source; give source ports or a bridge`);
  if (new Set(m.portIds).size !== m.portIds.length) invalid(`${what}: mirror.portIds lists a port twice`);
  const dest = await view.getKind(['port'], m.toPortId, `${what}: mirror.toPortId`);
  if (m.portIds.includes(m.toPortId))
    invalid(
      `${what}: mirror.toPortId: ${quote(dest.name)} is one of the mirror's source ports; the destination must not be a source`,
    );
  if (m.bridgeId !== null && dest.deviceId === m.bridgeId)
    invalid(
      `${what}: mirror.toPortId: ${quote(dest.name)} is a port of the source bridge ${m.bridgeId}; the destination must not be a source`,
    );
  if (dest.peerId !== null)
    invalid(
      `${what}: mirror.toPortId: ${quote(dest.name)} is an interior port (linked to a peer); copies go out of an exterior port`,
    );
}

/** A burst without a rate means nothing to the policer: refused rather than ignored. */
export function checkPortQos(p: Obj<'port'>): void {
  if (p.burstKb !== null && p.rateKbps === null)
    invalid(`${label('port', p)}: port.burstKb: ${p.burstKb} is given without a rate; set rateKbps too`);
}

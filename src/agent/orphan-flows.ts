/**
 * Reactive flows in the switch that the agent's flow table does not record (orphans), found by the
 * idle expiry's reads (idle-expiry.ts) and deleted.
 *
 * The agent records every reactive flow before its FLOW_MOD is written, and at each (re)connection
 * records or deletes every one it finds (flow-adoption.ts), so an orphan can only come of a fault: a
 * flow the agent lost track of. Its flows carry no timeout in the switch, so nothing else would ever
 * remove an orphan, and no invalidation reaches it: it would go on forwarding by a topology long
 * changed. This bounds its life to two reads of its slice.
 *
 * Invariant: a cookie is deleted only when two reads on the same connection, the second asked after
 * the first was judged, both reported it and the flow table recorded it at neither. One read is not
 * enough: a flow forgotten and deleted while a read was in flight may still be in that read's reply.
 * The next read is asked after the delete was written, and the switch takes one connection's
 * messages in order; cookies are never handed out twice (flow-table.ts), so a cookie reported again
 * is the same flow.
 */
import { inSlice } from './flow-table.js';

export class OrphanFlows {
  /** Cookies reported unrecorded by the last read of their slice, on connection `conn`. */
  private readonly suspects = new Set<number>();
  private conn: object | undefined;

  /**
   * After a read, on connection `conn`, of the flows whose cookie is `slice` under `mask` (the low bits:
   * cookie modulo mask + 1): `unknown` are the cookies it reported that were not recorded when it was
   * read, `recorded` says whether one is now. Returns the cookies to delete.
   */
  judge(
    conn: object,
    unknown: readonly number[],
    mask: number,
    slice: number,
    recorded: (cookie: number) => boolean,
  ): number[] {
    if (conn !== this.conn) {
      this.suspects.clear();
      this.conn = conn;
    }
    const orphans: number[] = [];
    const fresh: number[] = [];
    for (const c of unknown) {
      if (recorded(c)) continue;
      if (this.suspects.delete(c)) orphans.push(c);
      else fresh.push(c);
    }
    // This slice's suspects that its read did not report again were deletions in flight.
    for (const c of this.suspects) if (inSlice(c, mask, slice)) this.suspects.delete(c);
    for (const c of fresh) this.suspects.add(c);
    return orphans;
  }

  /** Cookies under watch (for tests). */
  get watched(): number {
    return this.suspects.size;
  }
}

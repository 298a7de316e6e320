/**
 * A list of flow-table slots (flow-table.ts keeps one per tag carried by more than one flow): a plain
 * array while short, an Int32Array (4 bytes a slot) once longer than the table's `smallList`.
 *
 * Invariant: entries 0..n-1 are the list, in the order pushed or set; `shrink` keeps them and only
 * drops room past `n` (a long list that became short becomes an array again).
 */
import { grow } from './interner.js';

/** A list of slots: a plain array while short, an Int32Array (4 bytes a slot) once long. */
export class SlotList {
  private small: number[] | undefined;
  private big: Int32Array | undefined;
  n: number;

  constructor(a: number, b: number) {
    this.small = [a, b];
    this.n = 2;
  }

  at(i: number): number {
    return this.small !== undefined ? this.small[i]! : this.big![i]!;
  }

  set(i: number, s: number): void {
    if (this.small !== undefined) this.small[i] = s;
    else this.big![i] = s;
  }

  push(s: number, smallList: number): void {
    if (this.small !== undefined) {
      if (this.n < smallList) {
        this.small.push(s);
        this.n++;
        return;
      }
      this.big = Int32Array.from(this.small);
      this.small = undefined;
    }
    if (this.n >= this.big!.length) this.big = grow(this.big!, this.n + 1);
    this.big![this.n++] = s;
  }

  /** Drops the room past `n` (after a read); a long list that became short becomes an array again. */
  shrink(smallList: number): void {
    if (this.small !== undefined) this.small.length = this.n;
    else if (this.n <= smallList / 2) {
      this.small = Array.from(this.big!.subarray(0, this.n));
      this.big = undefined;
    } else if (this.n * 4 <= this.big!.length) this.big = this.big!.slice(0, this.n * 2);
  }
}

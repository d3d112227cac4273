// Masked tuple-space table: the NIC's L2 "repeated hashing" tables and the datapath's megaflow
// cache (Open vSwitch's dpcls, lib/dpif-netdev.c).
//
// Tuple space search (Srinivasan, Suri, Varghese, SIGCOMM '99): entries that share a mask go in
// one subtable, a hash table keyed by the masked key, so matching a packet is one hash probe per
// distinct mask. Each subtable precomputes the words its mask has non-zero and stores only those
// words of each entry; a lookup hashes and compares just those words of the packet's key, with
// the mask applied on the fly (word-map.ts), so a 65-word key costs a few word reads per subtable.
//
// Megaflows never overlap (the slow path builds each one so that every packet it matches gets the
// same actions), so the first subtable that matches holds the answer and the search stops there.
// That makes the order of subtables a pure performance question: OVS counts hits per subtable and
// every second re-sorts its subtable vector by those counts (dpcls_sort_subtable_vector), so the
// masks that catch most traffic are tried first. Here the re-sort happens every `sortInterval`
// lookups (a count, not a clock, so runs are deterministic), or when the owner calls sort().
//
// The NIC has finite tables: `maxEntries` and `maxMasks` bound them, and insert() then fails with
// a reason instead of growing, which the NIC model turns into a refused offload. Values are u32
// ids the caller maps to flows. Nothing here allocates on lookup; inserting a new mask allocates
// its subtable, and subtables grow by doubling.

import { hashFinish, hashWordList } from "./hash.ts";
import { WordMap } from "./word-map.ts";

export interface TupleOptions {
  /** Most entries over all subtables; insert() beyond it fails with "table-full". */
  maxEntries?: number;
  /** Most distinct masks; a new mask beyond it fails with "mask-limit". */
  maxMasks?: number;
  /** Re-rank subtables by recent hits after this many lookups; 0 never does it automatically. */
  sortInterval?: number;
  /** Hash basis. */
  basis?: number;
}

/** What insert() did; the two failures say which capacity ran out. */
export type TupleInsertResult = "inserted" | "replaced" | "table-full" | "mask-limit";

class Subtable {
  readonly mask: Uint32Array;
  readonly idx: Int32Array; // the words the mask has non-zero
  readonly mv: Uint32Array; // the mask's value at each of them
  readonly map: WordMap;
  hits = 0; // since the last sort
  totalHits = 0;

  constructor(mask: Uint32Array) {
    this.mask = Uint32Array.from(mask);
    const idx: number[] = [];
    for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) idx.push(i);
    this.idx = Int32Array.from(idx);
    this.mv = Uint32Array.from(idx, (i) => mask[i] as number);
    this.map = new WordMap(idx.length);
  }

  sameMask(mask: Uint32Array, maskOff: number): boolean {
    const m = this.mask;
    for (let i = 0; i < m.length; i++) if (m[i] !== mask[maskOff + i]) return false;
    return true;
  }
}

export class TupleTable {
  readonly words: number;
  maxEntries: number;
  maxMasks: number;
  sortInterval: number;
  private readonly basis: number;
  private subtables: Subtable[] = []; // in rank order
  private untilSort: number;
  private readonly scratch: Uint32Array;
  size = 0;
  lookups = 0;
  hits = 0;
  /** After a hit: the rank of the subtable that matched (0 = first tried). -1 after a miss. */
  lastRank = -1;
  /** After a lookup: how many subtables it probed. */
  lastProbes = 0;

  constructor(words: number, opts: TupleOptions = {}) {
    this.words = words;
    this.maxEntries = opts.maxEntries ?? Infinity;
    this.maxMasks = opts.maxMasks ?? Infinity;
    this.sortInterval = opts.sortInterval ?? 65536;
    this.untilSort = this.sortInterval;
    this.basis = opts.basis ?? 0;
    this.scratch = new Uint32Array(words);
  }

  get maskCount(): number {
    return this.subtables.length;
  }

  /** The value of the first entry (in rank order) that matches key[keyOff ..], or -1. */
  lookup(key: Uint32Array, keyOff = 0): number {
    this.lookups++;
    if (this.sortInterval > 0 && --this.untilSort <= 0) this.sort();
    const subs = this.subtables;
    const basis = this.basis;
    for (let r = 0; r < subs.length; r++) {
      const st = subs[r] as Subtable;
      const n = st.idx.length;
      const h = hashFinish(hashWordList(key, keyOff, st.idx, st.mv, 0, n, basis), n << 2);
      const slot = st.map.findList(key, keyOff, st.idx, st.mv, h);
      if (slot >= 0) {
        st.hits++;
        st.totalHits++;
        this.hits++;
        this.lastRank = r;
        this.lastProbes = r + 1;
        return st.map.vals[slot] as number;
      }
    }
    this.lastRank = -1;
    this.lastProbes = subs.length;
    return -1;
  }

  /** The value stored for exactly (key AND mask, mask), or -1; counts nothing. */
  find(key: Uint32Array, mask: Uint32Array, keyOff = 0, maskOff = 0): number {
    const st = this.subtableOf(mask, maskOff);
    if (st === null) return -1;
    const slot = this.slotOf(st, key, keyOff);
    return slot < 0 ? -1 : (st.map.vals[slot] as number);
  }

  /** Add or replace the entry (key AND mask, mask) -> value. */
  insert(key: Uint32Array, mask: Uint32Array, value: number, keyOff = 0, maskOff = 0): TupleInsertResult {
    let st = this.subtableOf(mask, maskOff);
    if (st !== null) {
      const slot = this.slotOf(st, key, keyOff);
      if (slot >= 0) {
        st.map.vals[slot] = value;
        return "replaced";
      }
    }
    if (this.size >= this.maxEntries) return "table-full";
    if (st === null) {
      if (this.subtables.length >= this.maxMasks) return "mask-limit";
      st = new Subtable(mask.subarray(maskOff, maskOff + this.words));
      this.subtables.push(st); // new masks start last; hits move them up at the next sort
    }
    const n = st.idx.length;
    for (let i = 0; i < n; i++) {
      this.scratch[i] = (key[keyOff + (st.idx[i] as number)] as number) & (st.mv[i] as number);
    }
    const h = hashFinish(hashWordList(key, keyOff, st.idx, st.mv, 0, n, this.basis), n << 2);
    st.map.insertWords(this.scratch, 0, h, value);
    this.size++;
    return "inserted";
  }

  /** Remove the entry (key AND mask, mask); returns its value, or -1 if absent. An emptied
   *  subtable goes away, as OVS's dpcls_remove does. */
  remove(key: Uint32Array, mask: Uint32Array, keyOff = 0, maskOff = 0): number {
    const st = this.subtableOf(mask, maskOff);
    if (st === null) return -1;
    const slot = this.slotOf(st, key, keyOff);
    if (slot < 0) return -1;
    const value = st.map.vals[slot] as number;
    st.map.removeSlot(slot);
    this.size--;
    if (st.map.size === 0) this.subtables.splice(this.subtables.indexOf(st), 1);
    return value;
  }

  clear(): void {
    this.subtables = [];
    this.size = 0;
  }

  /**
   * Re-rank subtables by hits since the last sort, most first (dpcls_sort_subtable_vector), and
   * restart the counts. Stable: equal counts keep their order. An in-place insertion sort, so the
   * automatic re-sort inside lookup() allocates nothing.
   */
  sort(): void {
    const a = this.subtables;
    for (let i = 1; i < a.length; i++) {
      const x = a[i] as Subtable;
      let j = i - 1;
      while (j >= 0 && (a[j] as Subtable).hits < x.hits) {
        a[j + 1] = a[j] as Subtable;
        j--;
      }
      a[j + 1] = x;
    }
    for (let i = 0; i < a.length; i++) (a[i] as Subtable).hits = 0;
    this.untilSort = this.sortInterval;
  }

  /** The masks in rank order with their hit counts (copies; for dumps and tests). */
  ranking(): { mask: Uint32Array; hits: number; totalHits: number; entries: number }[] {
    return this.subtables.map((st) => ({
      mask: Uint32Array.from(st.mask),
      hits: st.hits,
      totalHits: st.totalHits,
      entries: st.map.size,
    }));
  }

  /** Every entry as (masked key, mask, value), subtables in rank order (for dumps and tests). */
  entries(): { key: Uint32Array; mask: Uint32Array; value: number }[] {
    const out: { key: Uint32Array; mask: Uint32Array; value: number }[] = [];
    for (const st of this.subtables) {
      st.map.forEachSlot((slot) => {
        const key = new Uint32Array(this.words);
        const w = st.map.wordsAt(slot);
        for (let i = 0; i < st.idx.length; i++) key[st.idx[i] as number] = w[i] as number;
        out.push({ key, mask: Uint32Array.from(st.mask), value: st.map.vals[slot] as number });
      });
    }
    return out;
  }

  private subtableOf(mask: Uint32Array, maskOff: number): Subtable | null {
    for (const st of this.subtables) if (st.sameMask(mask, maskOff)) return st;
    return null;
  }

  private slotOf(st: Subtable, key: Uint32Array, keyOff: number): number {
    const n = st.idx.length;
    const h = hashFinish(hashWordList(key, keyOff, st.idx, st.mv, 0, n, this.basis), n << 2);
    return st.map.findList(key, keyOff, st.idx, st.mv, h);
  }
}

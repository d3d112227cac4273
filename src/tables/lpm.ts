// Longest-prefix match over IPv4 (one word) and IPv6 (four words) addresses: the host's route
// table, consulted when a tunnelled flow needs its real egress device (switchdev offload).
//
// One hash table per prefix length present, tried from the longest length down; the first hit is
// the longest match. A host has routes at a handful of lengths (/32 host routes, a /24 or /64
// per subnet, a default route), so a lookup is a few hash probes, each hashing the address under
// that length's mask without building a masked copy (word-map.ts). A binary trie would cost up to
// 32 (IPv4) or 128 (IPv6) dependent steps instead; scripts/bench-tables.ts measures both.
//
// Addresses are words in network order, most significant first, as in the flow key (W.NW_DST, or
// W.IPV6_DST's four words). Inserting a prefix that is already present (same address bits and
// length) replaces its value, so the table's contents never depend on insertion order.
// Lookups allocate nothing.

import { hashFinish, hashWordList } from "./hash.ts";
import { WordMap } from "./word-map.ts";

export class LpmTable {
  readonly words: number;
  private readonly idx: Int32Array;
  private readonly maskOf: Uint32Array[]; // prefix length -> mask words
  private readonly maps: (WordMap | null)[];
  private readonly lens: Int32Array; // lengths present, longest first
  private nLens = 0;
  private readonly scratch: Uint32Array;
  private readonly one = new Uint32Array(1);
  private readonly basis: number;
  size = 0;
  /** After a successful lookup: the length of the prefix that matched. */
  lastLen = -1;

  /** `words` is 1 for IPv4, 4 for IPv6. */
  constructor(words: number, basis = 0) {
    this.words = words;
    this.basis = basis;
    const bits = words * 32;
    this.idx = Int32Array.from({ length: words }, (_, i) => i);
    this.maskOf = [];
    for (let len = 0; len <= bits; len++) {
      const m = new Uint32Array(words);
      for (let i = 0; i < words; i++) {
        const b = Math.max(0, Math.min(32, len - 32 * i));
        m[i] = b === 0 ? 0 : b === 32 ? 0xffffffff : (0xffffffff << (32 - b)) >>> 0;
      }
      this.maskOf.push(m);
    }
    this.maps = new Array<WordMap | null>(bits + 1).fill(null);
    this.lens = new Int32Array(bits + 1);
    this.scratch = new Uint32Array(words);
  }

  /** The value of the longest prefix containing addr[off .. off + words), or -1. */
  lookup(addr: Uint32Array, off = 0): number {
    const w = this.words;
    for (let k = 0; k < this.nLens; k++) {
      const len = this.lens[k] as number;
      const mv = this.maskOf[len] as Uint32Array;
      const h = hashFinish(hashWordList(addr, off, this.idx, mv, 0, w, this.basis), len);
      const map = this.maps[len] as WordMap;
      const slot = map.findList(addr, off, this.idx, mv, h);
      if (slot >= 0) {
        this.lastLen = len;
        return map.vals[slot] as number;
      }
    }
    this.lastLen = -1;
    return -1;
  }

  /** lookup() of an IPv4 address given as an unsigned 32-bit number (words must be 1). */
  lookupU32(addr: number): number {
    this.one[0] = addr;
    return this.lookup(this.one, 0);
  }

  /** Add the route prefix/len -> value, replacing the value of an identical prefix. Bits of the
   *  prefix beyond `len` are ignored. Returns true if it replaced one. */
  insert(prefix: Uint32Array, len: number, value: number, off = 0): boolean {
    this.checkLen(len);
    let map = this.maps[len] ?? null;
    const h = this.hashOf(prefix, off, len);
    if (map !== null) {
      const slot = map.findList(prefix, off, this.idx, this.maskOf[len] as Uint32Array, h);
      if (slot >= 0) {
        map.vals[slot] = value;
        return true;
      }
    } else {
      map = new WordMap(this.words);
      this.maps[len] = map;
      let k = this.nLens++;
      while (k > 0 && (this.lens[k - 1] as number) < len) {
        this.lens[k] = this.lens[k - 1] as number;
        k--;
      }
      this.lens[k] = len;
    }
    const mv = this.maskOf[len] as Uint32Array;
    for (let i = 0; i < this.words; i++) this.scratch[i] = (prefix[off + i] as number) & (mv[i] as number);
    map.insertWords(this.scratch, 0, h, value);
    this.size++;
    return false;
  }

  /** Remove prefix/len; returns its value, or -1 if absent. */
  delete(prefix: Uint32Array, len: number, off = 0): number {
    this.checkLen(len);
    const map = this.maps[len] ?? null;
    if (map === null) return -1;
    const slot = map.findList(prefix, off, this.idx, this.maskOf[len] as Uint32Array, this.hashOf(prefix, off, len));
    if (slot < 0) return -1;
    const value = map.vals[slot] as number;
    map.removeSlot(slot);
    this.size--;
    if (map.size === 0) {
      this.maps[len] = null;
      let k = 0;
      while (this.lens[k] !== len) k++;
      this.lens.copyWithin(k, k + 1, this.nLens);
      this.nLens--;
    }
    return value;
  }

  /** The value stored for exactly prefix/len, or -1. */
  get(prefix: Uint32Array, len: number, off = 0): number {
    this.checkLen(len);
    const map = this.maps[len] ?? null;
    if (map === null) return -1;
    const slot = map.findList(prefix, off, this.idx, this.maskOf[len] as Uint32Array, this.hashOf(prefix, off, len));
    return slot < 0 ? -1 : (map.vals[slot] as number);
  }

  /** Every route, longest prefix first (for dumps and tests). */
  entries(): { prefix: Uint32Array; len: number; value: number }[] {
    const out: { prefix: Uint32Array; len: number; value: number }[] = [];
    for (let k = 0; k < this.nLens; k++) {
      const len = this.lens[k] as number;
      const map = this.maps[len] as WordMap;
      map.forEachSlot((slot) =>
        out.push({ prefix: Uint32Array.from(map.wordsAt(slot)), len, value: map.vals[slot] as number }),
      );
    }
    return out;
  }

  clear(): void {
    this.maps.fill(null);
    this.nLens = 0;
    this.size = 0;
  }

  private hashOf(prefix: Uint32Array, off: number, len: number): number {
    return hashFinish(
      hashWordList(prefix, off, this.idx, this.maskOf[len] as Uint32Array, 0, this.words, this.basis),
      len,
    );
  }

  private checkLen(len: number): void {
    if (!Number.isInteger(len) || len < 0 || len > this.words * 32) {
      throw new RangeError(`prefix length ${len} out of range 0..${this.words * 32}`);
    }
  }
}

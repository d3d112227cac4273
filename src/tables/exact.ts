// Exact-match table: the NIC's L1 flow tracker and the datapath's exact match cache (EMC).
//
// Open vSwitch's userspace datapath puts an exact match cache in front of its megaflow classifier
// (lib/dpif-netdev-private-dfc.h): a fixed array of entries where a key with hash H can live in
// one of two places, the slots named by two slices of H. A lookup checks both; there is no
// probing, no chaining and no resizing, so a lookup costs at most two key comparisons and the
// table never allocates. Insertion (emc_insert in lib/dpif-netdev.c) overwrites the entry if the
// key is already there; otherwise it takes an empty candidate, and when both are live it evicts
// the candidate with the lower stored hash. That last rule is arbitrary but cheap and stateless,
// and it is what OVS does. One deliberate difference: OVS compares the (stale) hash of a dead
// entry too, so it can evict a live entry while the other candidate is empty; here an empty
// candidate always wins.
//
// OVS inserts into the EMC only with probability 1/emc-insert-inv-prob (default 100,
// emc_probabilistic_insert): with many flows, inserting every miss makes the cache thrash, while
// inserting a random 1% lets the heavy flows win their slots. maybeInsert() does that with a
// seeded PRNG so a run repeats exactly; insert() always inserts (the NIC's flow tracker, which
// learns every flow, and tests).
//
// The slice of the hash: OVS uses bits [0, 13) and [13, 26) for its 8192 entries. For a table of
// 2^b slots the first candidate is the low b bits and the second the hash rotated right by b, which
// is the same thing for b <= 16 and still uses every bit for larger tables.
//
// The hash is the caller's, and it is not a hash of the whole key: OVS uses the packet's RSS hash
// (dp_packet_get_rss_hash: the NIC's, or miniflow_hash_5tuple in software), and so should the
// caller here (flowHash5 in hash.ts). Keys that differ outside the 5-tuple then share both
// candidate slots, which costs only hit rate, never a wrong answer: the whole key is compared.
//
// Keys are stored compactly, as OVS stores miniflows (lib/flow.h "struct miniflow"): a bitmap of
// which of the `words` words are non-zero, then just those words, packed. A flow key has 65 words
// of which an IPv4 TCP flow uses about 11, IPv6 about 18, a VXLAN-tunnelled IPv4 flow about 16.
// A packet's key is compacted once (CompactKey.from) and the compact form compared directly: the
// bitmap words first (a key of another shape fails there), then the packed words from the last
// (the L4 ports and addresses, the words most likely to differ). Each slot holds
//   [hash, value, bitmap × M, packed × K]     (M = ceil((words + 8) / 32), K = inlineWords)
// with the count of packed words plus one in the top byte of the last bitmap word, so 0 there
// means an empty slot. A key with more than K non-zero words ("wide": an IPv6-in-IPv6 tunnel, a
// GENEVE flow with many options) keeps its packed words in a side pool that grows by doubling,
// and its slot holds the pool index; such keys are rare and cost one more indirection.
//
// The per-packet path is lookupHinted(key, hint, flowHash5(key)): the extractor passes a map of
// the words it wrote (the OR of its layers' wordMap()s), and the stored compact key is compared
// against the packet's key on just those words, so nothing is compacted per packet. Compacting
// the whole key first (CompactKey.from, a 65-word scan) costs more than the comparison it saves.
// Measured with `npx tsx scripts/bench-tables.ts --exact` (node 20, shared 2-core VM, medians of
// 7; IPv4/TCP flows with 10 non-zero words; table of the next power of two >= 2x the flows;
// per packet = write the key's 10 words + flowHash5 + lookup; baseline = bare single-probe u32
// table with the hash given, in the same run):
//                                        10k flows             1M flows
//   before: full keys, hash given        6.8 M/s  (0.05x)      1.7 M/s  (0.11x)
//   per packet, lookupHinted             14.4 M/s (0.10x)      3.3 M/s  (0.25x)
//   per packet, compact then lookup      5.6 M/s  (0.04x)      2.4 M/s  (0.18x)
//   per packet, full keys (hash first,   8.1 M/s  (0.06x)      2.3 M/s  (0.17x)
//     ports/addresses compared first)
//   baseline                             137 M/s               13.2 M/s
//   memory per slot / per cached flow    92 B / 311 B          92 B / 207 B  (full keys: 269 B/slot)
// At 1M flows every lookup misses the CPU caches (193 MB of slots), so the figure is memory
// latency more than code.

import { XorShift32 } from "./hash.ts";

export interface ExactOptions {
  /** Insert with probability 1/insertInvProb in maybeInsert(); 0 never inserts. Default 100. */
  insertInvProb?: number;
  /** Seed of the PRNG behind maybeInsert(). Default 1. */
  seed?: number;
  /** Packed words stored in the slot itself; keys with more go to the side pool.
   *  Default min(words, 18): IPv6 flows fit, and a slot of a 65-word table is 92 bytes. */
  inlineWords?: number;
}

/** What insert() did. */
export type ExactInsertResult = "inserted" | "updated" | "evicted";

const DEFAULT_INLINE = 18;
const HASH = 0; // slot word offsets
const VAL = 1;
const MAP = 2;

/** Bitmap words for a key of `words` words, with 8 spare bits at the top for the count. */
function mapWordsFor(words: number): number {
  return Math.ceil((words + 8) / 32);
}

/**
 * A flow key in compact form (Open vSwitch's miniflow): which words are non-zero, and their
 * values in key order. Compute it once per packet with from() and pass it to every exact-match
 * lookup; it allocates nothing.
 */
export class CompactKey {
  readonly words: number;
  /** Bitmap words (M). */
  readonly mapWords: number;
  /** [bitmap × M, packed × count]; the top byte of data[M - 1] is count + 1. */
  readonly data: Uint32Array;
  /** Non-zero words in the key. */
  count = 0;

  constructor(words: number) {
    if (!Number.isInteger(words) || words < 1 || words > 254) {
      throw new RangeError(`compact keys are 1..254 words, got ${words}`);
    }
    this.words = words;
    this.mapWords = mapWordsFor(words);
    this.data = new Uint32Array(this.mapWords + words);
  }

  /** Compact key[off .. off + words). */
  from(key: Uint32Array, off: number): this {
    const d = this.data;
    const m = this.mapWords;
    const words = this.words;
    let n = 0;
    for (let b = 0; b < m; b++) {
      const start = b << 5;
      const end = start + 32 < words ? start + 32 : words;
      let bits = 0;
      for (let i = start; i < end; i++) {
        const v = key[off + i] as number;
        if (v !== 0) {
          bits |= 1 << (i & 31);
          d[m + n++] = v;
        }
      }
      d[b] = bits;
    }
    d[m - 1] = (d[m - 1] as number) | ((n + 1) << 24);
    this.count = n;
    return this;
  }

  /**
   * Compact key[off .. off + words), reading only the words `hint` names (a bitmap in the same
   * layout as the compact form's, M words): the extractor knows which layers it wrote, so it
   * passes the OR of their word maps (wordMap()) and the 65-word scan becomes a ~12-word one.
   * Words outside the hint must be zero; words inside it may be zero too (they are dropped, so
   * the compact form is the same as from()'s).
   */
  fromHint(key: Uint32Array, off: number, hint: Uint32Array): this {
    const d = this.data;
    const m = this.mapWords;
    let n = 0;
    for (let b = 0; b < m; b++) {
      let x = hint[b] as number;
      let bits = 0;
      while (x !== 0) {
        const low = x & -x;
        x ^= low;
        const v = key[off + (b << 5) + 31 - Math.clz32(low)] as number;
        if (v !== 0) {
          bits |= low;
          d[m + n++] = v;
        }
      }
      d[b] = bits;
    }
    d[m - 1] = (d[m - 1] as number) | ((n + 1) << 24);
    this.count = n;
    return this;
  }

  /** Write the full key into out[off .. off + words). */
  expand(out: Uint32Array, off: number): void {
    expandInto(this.data, 0, this.data, this.mapWords, this.words, out, off);
  }
}

/** Expand a bitmap at map[mapAt ..] and packed words at packed[at ..] into out[off ..]. */
function expandInto(
  map: Uint32Array,
  mapAt: number,
  packed: Uint32Array,
  at: number,
  words: number,
  out: Uint32Array,
  off: number,
): void {
  let j = at;
  for (let i = 0; i < words; i++) {
    out[off + i] = ((map[mapAt + (i >>> 5)] as number) >>> (i & 31)) & 1 ? (packed[j++] as number) : 0;
  }
}

/** A word map (the hint of fromHint() and lookupHinted()) naming the given word indices. */
export function wordMap(words: number, indices: Iterable<number>): Uint32Array {
  const map = new Uint32Array(mapWordsFor(words));
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= words) throw new RangeError(`word ${i} is not in 0..${words - 1}`);
    map[i >>> 5] = ((map[i >>> 5] as number) | (1 << (i & 31))) >>> 0;
  }
  return map;
}

export class ExactTable {
  readonly words: number;
  readonly capacity: number;
  /** Packed words kept in the slot (K). */
  readonly inlineWords: number;
  private readonly bits: number;
  private readonly mask: number;
  private readonly mapWords: number;
  private readonly stride: number;
  private readonly ent: Uint32Array;
  // The same slots read as int32, for the hash word: hashes travel as int32 inside the table,
  // because a uint32 of 2^31 or more passed to or returned from a function V8 did not inline is
  // boxed as a heap number, which would allocate per lookup.
  private readonly enti: Int32Array;
  // Side pool for keys with more than inlineWords non-zero words: `words` words per entry.
  private pool = new Uint32Array(0);
  private poolFree = new Int32Array(0);
  private poolFreeTop = 0;
  private poolCap = 0;
  private readonly scratch: CompactKey;
  private readonly full: Uint32Array; // forEach's expanded key
  private readonly rng: XorShift32;
  private insertMin = 0;
  private invProb = 0;

  size = 0;
  hits = 0;
  misses = 0;
  /** New entries placed (by insert() or a successful maybeInsert()); includes evictions. */
  inserts = 0;
  /** Inserts that overwrote a live entry with a different key. */
  evictions = 0;
  /** Inserts of a key already present (its value replaced). */
  updates = 0;
  /** maybeInsert() calls that the probability turned away. */
  skipped = 0;
  deletes = 0;
  /** Live entries whose key is too wide for the slot and lives in the side pool. */
  wide = 0;

  constructor(words: number, capacity: number, opts: ExactOptions = {}) {
    if (!Number.isInteger(capacity) || capacity < 1 || (capacity & (capacity - 1)) !== 0 || capacity > 2 ** 30) {
      throw new RangeError(`exact table capacity must be a power of two, got ${capacity}`);
    }
    const k = opts.inlineWords ?? Math.min(words, DEFAULT_INLINE);
    if (!Number.isInteger(k) || k < 1 || k > words) {
      throw new RangeError(`inlineWords must be 1..${words}, got ${k}`);
    }
    this.words = words;
    this.capacity = capacity;
    this.inlineWords = k;
    this.bits = 31 - Math.clz32(capacity);
    this.mask = capacity - 1;
    this.scratch = new CompactKey(words);
    this.mapWords = this.scratch.mapWords;
    this.stride = MAP + this.mapWords + k;
    this.ent = new Uint32Array(capacity * this.stride);
    this.enti = new Int32Array(this.ent.buffer);
    this.full = new Uint32Array(words);
    this.rng = new XorShift32(opts.seed ?? 1);
    this.insertInvProb = opts.insertInvProb ?? 100;
  }

  get insertInvProb(): number {
    return this.invProb;
  }
  /** OVS's other_config:emc-insert-inv-prob: 1 always inserts, 0 never. */
  set insertInvProb(n: number) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`insertInvProb must be a non-negative integer, got ${n}`);
    this.invProb = n;
    // As OVS: insert when random_uint32() <= UINT32_MAX / inv_prob.
    this.insertMin = n === 0 ? 0 : Math.floor(0xffffffff / n);
  }

  /** Bytes of one slot. */
  get bytesPerSlot(): number {
    return this.stride * 4;
  }
  /** Bytes held by the table: slots and side pool. */
  get memoryBytes(): number {
    return this.ent.byteLength + this.pool.byteLength + this.poolFree.byteLength;
  }

  /** The first candidate slot of `hash`. */
  slot1(hash: number): number {
    return hash & this.mask;
  }
  /** The second candidate slot of `hash`. */
  slot2(hash: number): number {
    const b = this.bits;
    return ((hash >>> b) | (hash << (32 - b))) & this.mask;
  }

  /** The value stored for the compact key `ck`, or -1. Counts a hit or a miss. The per-packet
   *  path: compact the key once, then call this. */
  lookupCompact(ck: CompactKey, hash: number): number {
    hash |= 0;
    const ent = this.ent;
    const enti = this.enti;
    const st = this.stride;
    let e = (hash & this.mask) * st;
    if (enti[e + HASH] === hash && this.same(e, ck)) {
      this.hits++;
      return ent[e + VAL] as number;
    }
    const b = this.bits;
    e = (((hash >>> b) | (hash << (32 - b))) & this.mask) * st;
    if (enti[e + HASH] === hash && this.same(e, ck)) {
      this.hits++;
      return ent[e + VAL] as number;
    }
    this.misses++;
    return -1;
  }

  /**
   * lookup() for a key whose non-zero words all lie in `hint` (see CompactKey.fromHint): the
   * stored compact key is compared against the full key directly, visiting only the hinted
   * words, so nothing is compacted and a slot whose hash differs costs one comparison.
   */
  lookupHinted(key: Uint32Array, keyOff: number, hint: Uint32Array, hash: number): number {
    hash |= 0;
    const ent = this.ent;
    const enti = this.enti;
    const st = this.stride;
    let e = (hash & this.mask) * st;
    if (enti[e + HASH] === hash && this.sameHinted(e, key, keyOff, hint)) {
      this.hits++;
      return ent[e + VAL] as number;
    }
    const b = this.bits;
    e = (((hash >>> b) | (hash << (32 - b))) & this.mask) * st;
    if (enti[e + HASH] === hash && this.sameHinted(e, key, keyOff, hint)) {
      this.hits++;
      return ent[e + VAL] as number;
    }
    this.misses++;
    return -1;
  }

  /** The value stored for key[keyOff .. keyOff + words), or -1. Counts a hit or a miss. */
  lookup(key: Uint32Array, keyOff: number, hash: number): number {
    return this.lookupCompact(this.scratch.from(key, keyOff), hash);
  }

  /** lookup() without touching the counters (for the revalidator and tests). */
  peek(key: Uint32Array, keyOff: number, hash: number): number {
    const s = this.find(this.scratch.from(key, keyOff), hash | 0);
    return s < 0 ? -1 : (this.ent[s * this.stride + VAL] as number);
  }

  /** OVS's emc_probabilistic_insert: insert() with probability 1/insertInvProb. */
  maybeInsert(key: Uint32Array, keyOff: number, hash: number, value: number): boolean {
    if (!this.offer()) return false;
    this.insert(key, keyOff, hash, value);
    return true;
  }

  /** maybeInsert() of a compact key. */
  maybeInsertCompact(ck: CompactKey, hash: number, value: number): boolean {
    if (!this.offer()) return false;
    this.insertCompact(ck, hash, value);
    return true;
  }

  /** OVS's emc_insert: store the key in one of its two candidate slots, evicting if needed.
   *  Allocates nothing, unless a wide key finds the side pool full and it grows. */
  insert(key: Uint32Array, keyOff: number, hash: number, value: number): ExactInsertResult {
    return this.insertCompact(this.scratch.from(key, keyOff), hash, value);
  }

  /** insert() of a compact key. */
  insertCompact(ck: CompactKey, hash: number, value: number): ExactInsertResult {
    hash |= 0;
    const ent = this.ent;
    const st = this.stride;
    const found = this.find(ck, hash);
    if (found >= 0) {
      ent[found * st + VAL] = value;
      this.updates++;
      return "updated";
    }
    const s1 = this.slot1(hash);
    const s2 = this.slot2(hash);
    let t: number;
    if (!this.isLive(s1)) t = s1;
    else if (!this.isLive(s2)) t = s2;
    else t = (ent[s2 * st + HASH] as number) < (ent[s1 * st + HASH] as number) ? s2 : s1;
    let result: ExactInsertResult = "inserted";
    if (this.isLive(t)) {
      this.release(t);
      this.evictions++;
      result = "evicted";
    } else {
      this.size++;
    }
    this.inserts++;
    const e = t * st;
    const m = this.mapWords;
    const d = ck.data;
    ent[e + HASH] = hash;
    ent[e + VAL] = value;
    for (let b = 0; b < m; b++) ent[e + MAP + b] = d[b] as number;
    const n = ck.count;
    if (n <= this.inlineWords) {
      const p = e + MAP + m;
      for (let j = 0; j < n; j++) ent[p + j] = d[m + j] as number;
    } else {
      const slot = this.poolTake();
      ent[e + MAP + m] = slot;
      this.pool.set(d.subarray(m, m + n), slot * this.words);
      this.wide++;
    }
    return result;
  }

  /** Remove the key; true if it was there. */
  delete(key: Uint32Array, keyOff: number, hash: number): boolean {
    const s = this.find(this.scratch.from(key, keyOff), hash | 0);
    if (s < 0) return false;
    this.kill(s);
    this.size--;
    this.deletes++;
    return true;
  }

  /** Remove every entry whose value is `value` (a flow that died); returns how many. */
  deleteValue(value: number): number {
    let n = 0;
    const st = this.stride;
    for (let s = 0; s < this.capacity; s++) {
      if (this.isLive(s) && this.ent[s * st + VAL] === value) {
        this.kill(s);
        n++;
      }
    }
    this.size -= n;
    this.deletes += n;
    return n;
  }

  clear(): void {
    this.ent.fill(0);
    this.size = 0;
    this.wide = 0;
    for (let i = 0; i < this.poolCap; i++) this.poolFree[i] = this.poolCap - 1 - i;
    this.poolFreeTop = this.poolCap;
  }

  /** Calls fn for every live entry, in slot order; `key` is the full key, in a buffer valid
   *  during the call only. */
  forEach(fn: (value: number, key: Uint32Array, hash: number, slot: number) => void): void {
    const st = this.stride;
    const m = this.mapWords;
    for (let s = 0; s < this.capacity; s++) {
      if (!this.isLive(s)) continue;
      const e = s * st;
      const n = ((this.ent[e + MAP + m - 1] as number) >>> 24) - 1;
      if (n <= this.inlineWords) expandInto(this.ent, e + MAP, this.ent, e + MAP + m, this.words, this.full, 0);
      else
        expandInto(
          this.ent,
          e + MAP,
          this.pool,
          (this.ent[e + MAP + m] as number) * this.words,
          this.words,
          this.full,
          0,
        );
      fn(this.ent[e + VAL] as number, this.full, this.ent[e + HASH] as number, s);
    }
  }

  private offer(): boolean {
    const min = this.insertMin;
    if (min === 0 || this.rng.next() > min) {
      this.skipped++;
      return false;
    }
    return true;
  }

  private isLive(slot: number): boolean {
    return this.ent[slot * this.stride + MAP + this.mapWords - 1] !== 0;
  }

  /** Does the slot at word `e` hold `ck`? An empty slot never does: its count byte is 0. */
  private same(e: number, ck: CompactKey): boolean {
    const ent = this.ent;
    const d = ck.data;
    const m = this.mapWords;
    for (let b = 0; b < m; b++) if (ent[e + MAP + b] !== d[b]) return false;
    const n = ck.count;
    let p = e + MAP + m;
    let src = ent;
    if (n > this.inlineWords) {
      src = this.pool;
      p = (ent[p] as number) * this.words;
    }
    for (let j = n - 1; j >= 0; j--) if (src[p + j] !== d[m + j]) return false;
    return true;
  }

  /** Does the slot at word `e` hold key[off ..], whose non-zero words lie in `hint`? */
  private sameHinted(e: number, key: Uint32Array, off: number, hint: Uint32Array): boolean {
    const ent = this.ent;
    const m = this.mapWords;
    const last = ent[e + MAP + m - 1] as number;
    if (last === 0) return false; // empty
    let p = e + MAP + m;
    let src = ent;
    if ((last >>> 24) - 1 > this.inlineWords) {
      src = this.pool;
      p = (ent[p] as number) * this.words;
    }
    for (let b = 0; b < m; b++) {
      const stored = b === m - 1 ? last & 0xffffff : (ent[e + MAP + b] as number);
      let x = hint[b] as number;
      // A stored word outside the hint is non-zero where the key is zero.
      if ((stored & ~x) !== 0) return false;
      while (x !== 0) {
        const low = x & -x;
        x ^= low;
        const v = key[off + (b << 5) + 31 - Math.clz32(low)] as number;
        if ((stored & low) !== 0) {
          if (src[p++] !== v) return false;
        } else if (v !== 0) {
          return false;
        }
      }
    }
    return true;
  }

  /** The slot holding `ck`, or -1; `hash` is int32. */
  private find(ck: CompactKey, hash: number): number {
    const st = this.stride;
    const s1 = this.slot1(hash);
    if (this.enti[s1 * st + HASH] === hash && this.same(s1 * st, ck)) return s1;
    const s2 = this.slot2(hash);
    if (this.enti[s2 * st + HASH] === hash && this.same(s2 * st, ck)) return s2;
    return -1;
  }

  /** Free what a live slot holds besides itself (its side-pool entry). */
  private release(slot: number): void {
    const e = slot * this.stride;
    const m = this.mapWords;
    const n = ((this.ent[e + MAP + m - 1] as number) >>> 24) - 1;
    if (n > this.inlineWords) {
      this.poolFree[this.poolFreeTop++] = this.ent[e + MAP + m] as number;
      this.wide--;
    }
  }

  private kill(slot: number): void {
    this.release(slot);
    this.ent[slot * this.stride + MAP + this.mapWords - 1] = 0;
  }

  private poolTake(): number {
    if (this.poolFreeTop === 0) {
      const old = this.poolCap;
      const cap = Math.min(this.capacity, Math.max(16, old * 2));
      const pool = new Uint32Array(cap * this.words);
      pool.set(this.pool);
      const free = new Int32Array(cap);
      for (let i = 0; i < cap - old; i++) free[i] = cap - 1 - i;
      this.pool = pool;
      this.poolFree = free;
      this.poolFreeTop = cap - old;
      this.poolCap = cap;
    }
    return this.poolFree[--this.poolFreeTop] as number;
  }
}

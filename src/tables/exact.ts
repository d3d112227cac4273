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
// Keys are `words` 32-bit words (FLOW_WORDS for the emulator), stored in one Uint32Array; values
// are u32 ids the caller maps to flows. The caller computes the hash (hash.ts, or the packet's RSS
// hash as OVS does), so the datapath hashes a packet once for every table it tries.

import { XorShift32 } from "./hash.ts";

export interface ExactOptions {
  /** Insert with probability 1/insertInvProb in maybeInsert(); 0 never inserts. Default 100. */
  insertInvProb?: number;
  /** Seed of the PRNG behind maybeInsert(). Default 1. */
  seed?: number;
}

/** What insert() did. */
export type ExactInsertResult = "inserted" | "updated" | "evicted";

export class ExactTable {
  readonly words: number;
  readonly capacity: number;
  private readonly bits: number;
  private readonly mask: number;
  private readonly keys: Uint32Array;
  private readonly hashes: Uint32Array;
  private readonly vals: Uint32Array;
  private readonly live: Uint8Array;
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

  constructor(words: number, capacity: number, opts: ExactOptions = {}) {
    if (!Number.isInteger(capacity) || capacity < 1 || (capacity & (capacity - 1)) !== 0 || capacity > 2 ** 30) {
      throw new RangeError(`exact table capacity must be a power of two, got ${capacity}`);
    }
    this.words = words;
    this.capacity = capacity;
    this.bits = 31 - Math.clz32(capacity);
    this.mask = capacity - 1;
    this.keys = new Uint32Array(capacity * words);
    this.hashes = new Uint32Array(capacity);
    this.vals = new Uint32Array(capacity);
    this.live = new Uint8Array(capacity);
    this.rng = new XorShift32(opts.seed ?? 1);
    this.insertInvProb = opts.insertInvProb ?? 100;
  }

  get insertInvProb(): number { return this.invProb; }
  /** OVS's other_config:emc-insert-inv-prob: 1 always inserts, 0 never. */
  set insertInvProb(n: number) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`insertInvProb must be a non-negative integer, got ${n}`);
    this.invProb = n;
    // As OVS: insert when random_uint32() <= UINT32_MAX / inv_prob.
    this.insertMin = n === 0 ? 0 : Math.floor(0xffffffff / n);
  }

  /** The first candidate slot of `hash`. */
  slot1(hash: number): number { return hash & this.mask; }
  /** The second candidate slot of `hash`. */
  slot2(hash: number): number {
    const b = this.bits;
    return ((hash >>> b) | (hash << (32 - b))) & this.mask;
  }

  /** The value stored for key[keyOff .. keyOff + words), or -1. Counts a hit or a miss. */
  lookup(key: Uint32Array, keyOff: number, hash: number): number {
    hash >>>= 0;
    let s = hash & this.mask;
    if (this.live[s] === 1 && this.hashes[s] === hash && this.equal(s, key, keyOff)) {
      this.hits++;
      return this.vals[s] as number;
    }
    const b = this.bits;
    s = ((hash >>> b) | (hash << (32 - b))) & this.mask;
    if (this.live[s] === 1 && this.hashes[s] === hash && this.equal(s, key, keyOff)) {
      this.hits++;
      return this.vals[s] as number;
    }
    this.misses++;
    return -1;
  }

  /** lookup() without touching the counters (for the revalidator and tests). */
  peek(key: Uint32Array, keyOff: number, hash: number): number {
    const s = this.find(key, keyOff, hash >>> 0);
    return s < 0 ? -1 : this.vals[s] as number;
  }

  /** OVS's emc_probabilistic_insert: insert() with probability 1/insertInvProb. */
  maybeInsert(key: Uint32Array, keyOff: number, hash: number, value: number): boolean {
    const min = this.insertMin;
    if (min === 0 || this.rng.next() > min) {
      this.skipped++;
      return false;
    }
    this.insert(key, keyOff, hash, value);
    return true;
  }

  /** OVS's emc_insert: store the key in one of its two candidate slots, evicting if needed.
   *  Allocates nothing, like lookup(). */
  insert(key: Uint32Array, keyOff: number, hash: number, value: number): ExactInsertResult {
    hash >>>= 0;
    const s1 = this.slot1(hash);
    const s2 = this.slot2(hash);
    const found = this.find(key, keyOff, hash);
    if (found >= 0) {
      this.vals[found] = value;
      this.updates++;
      return "updated";
    }
    let t: number;
    if (this.live[s1] === 0) t = s1;
    else if (this.live[s2] === 0) t = s2;
    else t = (this.hashes[s2] as number) < (this.hashes[s1] as number) ? s2 : s1;
    let result: ExactInsertResult = "inserted";
    if (this.live[t] === 1) {
      this.evictions++;
      result = "evicted";
    } else {
      this.size++;
    }
    this.inserts++;
    this.live[t] = 1;
    this.hashes[t] = hash;
    this.vals[t] = value;
    const w = this.words;
    const base = t * w;
    for (let i = 0; i < w; i++) this.keys[base + i] = key[keyOff + i] as number;
    return result;
  }

  /** Remove the key; true if it was there. */
  delete(key: Uint32Array, keyOff: number, hash: number): boolean {
    const s = this.find(key, keyOff, hash >>> 0);
    if (s < 0) return false;
    this.live[s] = 0;
    this.size--;
    this.deletes++;
    return true;
  }

  /** Remove every entry whose value is `value` (a flow that died); returns how many. */
  deleteValue(value: number): number {
    let n = 0;
    for (let s = 0; s < this.capacity; s++) {
      if (this.live[s] === 1 && this.vals[s] === value) { this.live[s] = 0; n++; }
    }
    this.size -= n;
    this.deletes += n;
    return n;
  }

  clear(): void {
    this.live.fill(0);
    this.size = 0;
  }

  /** Calls fn for every live entry, in slot order; `key` is a view valid during the call only. */
  forEach(fn: (value: number, key: Uint32Array, hash: number, slot: number) => void): void {
    const w = this.words;
    for (let s = 0; s < this.capacity; s++) {
      if (this.live[s] === 1) fn(this.vals[s] as number, this.keys.subarray(s * w, s * w + w), this.hashes[s] as number, s);
    }
  }

  private find(key: Uint32Array, keyOff: number, hash: number): number {
    const s1 = this.slot1(hash);
    if (this.live[s1] === 1 && this.hashes[s1] === hash && this.equal(s1, key, keyOff)) return s1;
    const s2 = this.slot2(hash);
    if (this.live[s2] === 1 && this.hashes[s2] === hash && this.equal(s2, key, keyOff)) return s2;
    return -1;
  }

  private equal(slot: number, key: Uint32Array, keyOff: number): boolean {
    const keys = this.keys;
    const w = this.words;
    const base = slot * w;
    for (let i = 0; i < w; i++) if (keys[base + i] !== key[keyOff + i]) return false;
    return true;
  }
}

// A growable open-addressing hash map from a fixed number of 32-bit words to a u32 value, the
// building block under the masked tables (tuple.ts, classifier.ts) and the route table (lpm.ts).
//
// Entries are stored compactly: a subtable whose mask has four non-zero words stores four words
// per entry, not the whole flow key, and a lookup compares key[idx[i]] AND mv[i] against them
// directly (findList), so a packet's key is never copied or masked into a scratch buffer. The
// caller supplies the hash, because it has usually computed it already (staged hashing in the
// classifier, the route table's per-length hash).
//
// Linear probing at a load factor of at most 1/2, with backward-shift deletion (Knuth 6.4,
// Algorithm R) rather than tombstones, so a table that sees constant insert/remove churn (the
// megaflow cache) never degrades. A width of 0 makes it a hash-only counting set, which the
// classifier uses for its per-stage indices. Growing allocates; finding never does.

const MIN_CAP = 8;

export class WordMap {
  readonly width: number; // words per entry
  private cap: number;
  private capMask: number;
  private keys: Uint32Array; // cap * width
  private hashes: Uint32Array;
  /** Value of each slot; meaningful only where `used[slot]` is 1. */
  vals: Uint32Array;
  private used: Uint8Array;
  size = 0;

  constructor(width: number, initialCapacity = MIN_CAP) {
    this.width = width;
    let cap = MIN_CAP;
    while (cap < initialCapacity * 2) cap *= 2;
    this.cap = cap;
    this.capMask = cap - 1;
    this.keys = new Uint32Array(cap * width);
    this.hashes = new Uint32Array(cap);
    this.vals = new Uint32Array(cap);
    this.used = new Uint8Array(cap);
  }

  /** The slot whose words equal key[keyOff + idx[i]] AND mv[i] for every i, or -1. */
  findList(key: Uint32Array, keyOff: number, idx: Int32Array, mv: Uint32Array, hash: number): number {
    hash >>>= 0;
    const w = this.width;
    const keys = this.keys;
    let s = hash & this.capMask;
    while (this.used[s] === 1) {
      if (this.hashes[s] === hash) {
        const base = s * w;
        let i = 0;
        while (i < w && keys[base + i] === ((key[keyOff + (idx[i] as number)] as number) & (mv[i] as number)) >>> 0)
          i++;
        if (i === w) return s;
      }
      s = (s + 1) & this.capMask;
    }
    return -1;
  }

  /** The slot whose words equal words[off .. off + width), or -1. */
  findWords(words: Uint32Array, off: number, hash: number): number {
    hash >>>= 0;
    const w = this.width;
    const keys = this.keys;
    let s = hash & this.capMask;
    while (this.used[s] === 1) {
      if (this.hashes[s] === hash) {
        const base = s * w;
        let i = 0;
        while (i < w && keys[base + i] === words[off + i]) i++;
        if (i === w) return s;
      }
      s = (s + 1) & this.capMask;
    }
    return -1;
  }

  /** Add an entry known to be absent; returns its slot (valid until the next insert or remove). */
  insertWords(words: Uint32Array, off: number, hash: number, val: number): number {
    if ((this.size + 1) * 2 > this.cap) this.grow();
    hash >>>= 0;
    const w = this.width;
    let s = hash & this.capMask;
    while (this.used[s] === 1) s = (s + 1) & this.capMask;
    this.used[s] = 1;
    this.hashes[s] = hash;
    this.vals[s] = val;
    for (let i = 0; i < w; i++) this.keys[s * w + i] = words[off + i] as number;
    this.size++;
    return s;
  }

  /** Remove the entry in `slot`, shifting later entries of its probe run back into the gap. */
  removeSlot(slot: number): void {
    const w = this.width;
    const m = this.capMask;
    let gap = slot;
    let s = (slot + 1) & m;
    while (this.used[s] === 1) {
      const home = (this.hashes[s] as number) & m;
      // Move s into the gap unless its home lies cyclically in (gap, s].
      if (((s - home) & m) >= ((s - gap) & m)) {
        this.hashes[gap] = this.hashes[s] as number;
        this.vals[gap] = this.vals[s] as number;
        this.keys.copyWithin(gap * w, s * w, s * w + w);
        gap = s;
      }
      s = (s + 1) & m;
    }
    this.used[gap] = 0;
    this.size--;
  }

  clear(): void {
    this.used.fill(0);
    this.size = 0;
  }

  /** Calls fn(slot) for every live entry; the map must not change during the walk. */
  forEachSlot(fn: (slot: number) => void): void {
    for (let s = 0; s < this.cap; s++) if (this.used[s] === 1) fn(s);
  }

  /** A view of the words stored in `slot` (valid until the next insert or remove). */
  wordsAt(slot: number): Uint32Array {
    return this.keys.subarray(slot * this.width, slot * this.width + this.width);
  }

  private grow(): void {
    const oldCap = this.cap;
    const oldKeys = this.keys;
    const oldHashes = this.hashes;
    const oldVals = this.vals;
    const oldUsed = this.used;
    const w = this.width;
    this.cap = oldCap * 2;
    this.capMask = this.cap - 1;
    this.keys = new Uint32Array(this.cap * w);
    this.hashes = new Uint32Array(this.cap);
    this.vals = new Uint32Array(this.cap);
    this.used = new Uint8Array(this.cap);
    this.size = 0;
    for (let s = 0; s < oldCap; s++) {
      if (oldUsed[s] === 1) this.insertWords(oldKeys, s * w, oldHashes[s] as number, oldVals[s] as number);
    }
  }
}

// The flow hash: a 32-bit hash over words of a flow key, used by every table in src/tables/.
//
// It is MurmurHash3 (x86_32) fed one 32-bit word at a time, as Open vSwitch's lib/hash.h does
// (hash_add / hash_finish, the "mhash" functions): each word is mixed in with two multiplies and
// a rotation, and hash_finish() folds in the length and avalanches. Because a word is mixed in as
// a number rather than as four bytes, the result is the same on every host byte order, and a
// key never has to be serialised to bytes to be hashed.
//
// Three entry points cover the tables' needs without building a masked copy of a key:
// hashWords() over a range, hashMaskedWords() over key AND mask word by word, and hashWordList()
// over just the words a mask has non-zero (a subtable's precomputed word list), which is what the
// megaflow cache and the classifier call per packet. hashAdd()/hashFinish() are exported so a
// caller can hash in stages (the classifier's staged lookup finishes a partial hash after each
// stage and keeps adding to it).
//
// Measured against xxhash-wasm's h32Raw over the same bytes with `npx tsx scripts/bench-tables.ts`
// (node 20, shared 2-core machine, medians of 7): a whole 65-word key (260 bytes) 7.9 M/s here
// vs 7.9 M/s for xxhash-wasm (a tie: crossing into wasm and copying the key eats xxh32's speed);
// the 4 masked words a subtable actually hashes 90 M/s vs 15 M/s for xxhash-wasm over 16 bytes,
// which it could only do after building the masked key. So the JS hash stays, and the tables
// hash as few words as they can.

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Mix one word into a running hash (Murmur3's body step; Open vSwitch's mhash_add). */
export function hashAdd(h: number, word: number): number {
  let k = Math.imul(word, C1);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, C2);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Murmur3's finaliser after xoring in the byte count; returns an unsigned 32-bit value. */
export function hashFinish(h: number, nBytes: number): number {
  h ^= nBytes;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash `n` words of `a` starting at `off`. */
export function hashWords(a: Uint32Array, off: number, n: number, basis: number): number {
  let h = basis | 0;
  const end = off + n;
  for (let i = off; i < end; i++) {
    let k = Math.imul(a[i] as number, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return hashFinish(h, n << 2);
}

/** hashWords() of (key AND mask) over `n` words, without building the masked key. */
export function hashMaskedWords(key: Uint32Array, keyOff: number, mask: Uint32Array,
                                maskOff: number, n: number, basis: number): number {
  let h = basis | 0;
  for (let i = 0; i < n; i++) {
    let k = Math.imul((key[keyOff + i] as number) & (mask[maskOff + i] as number), C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return hashFinish(h, n << 2);
}

/**
 * Hash (key[idx[i]] AND mv[i]) for i in [from, to) on top of the running state `h`, without
 * finishing: the caller finishes with hashFinish(h, 4 * words so far). `idx` lists the words a
 * mask has non-zero and `mv` their mask values, as a subtable precomputes them.
 */
export function hashWordList(key: Uint32Array, keyOff: number, idx: Int32Array, mv: Uint32Array,
                             from: number, to: number, h: number): number {
  for (let i = from; i < to; i++) {
    let k = Math.imul((key[keyOff + (idx[i] as number)] as number) & (mv[i] as number), C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return h;
}

/**
 * A small seeded PRNG (xorshift32) for the tables' deterministic randomness (EMC probabilistic
 * insertion). Not for anything that needs quality beyond "spread evenly and repeat per seed".
 */
export class XorShift32 {
  private s: number;
  constructor(seed: number) { this.s = (seed | 0) === 0 ? 0x9e3779b9 | 0 : seed | 0; }
  /** The next value, unsigned 32-bit. */
  next(): number {
    let x = this.s;
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    this.s = x;
    return x >>> 0;
  }
}

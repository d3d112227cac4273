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
//
// flowHash5() is the exact-match caches' hash: Open vSwitch's EMC does not hash the whole key but
// takes the packet's RSS hash (dp_packet_get_rss_hash), which the NIC computes over the 5-tuple,
// or miniflow_hash_5tuple() (lib/flow.c) in software. It is a slot selector, not an identity: the
// table compares the whole key, so two flows that differ only outside the 5-tuple merely share
// their candidate slots.

import * as flowKey from "../flow/key.ts";

// Module-local copies of the key words flowHash5 reads per packet (an imported object's
// properties are reloaded at every use; a const of this module is folded in: see
// src/wire/parse.ts).
const W = { ...flowKey.W } as const;

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
export function hashMaskedWords(
  key: Uint32Array,
  keyOff: number,
  mask: Uint32Array,
  maskOff: number,
  n: number,
  basis: number,
): number {
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
export function hashWordList(
  key: Uint32Array,
  keyOff: number,
  idx: Int32Array,
  mv: Uint32Array,
  from: number,
  to: number,
  h: number,
): number {
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
 * The 5-tuple hash of the flow key at key[off ..], after miniflow_hash_5tuple() (lib/flow.c):
 * the IPv6 source and destination, nw_src and nw_dst (IPv4, or ARP's addresses), nw_proto, and
 * the ports (TP, which holds ICMP's type and code and is zero for protocols without ports, where
 * OVS skips the word). Added to OVS's: in_port, recirc_id and tun_id, so that the same inner
 * 5-tuple on another port, recirculated or in another tunnel gets other slots, and dl_type, in
 * nw_proto's word. Reads 17 words of the 65.
 *
 * It stands in for a NIC's RSS hash, so it is built for speed, not for Murmur's per-word
 * avalanche: each word is multiplied by its own odd constant and the products summed (they do
 * not wait on each other, where a chain of hashAdd steps waits ~12 cycles a word), then Murmur3's
 * finaliser spreads every bit of the sum over the result. Two keys that differ in one hashed word
 * never collide (an odd multiplier is invertible mod 2^32 and the finaliser is a bijection).
 * The result is a signed 32-bit integer (hashWords's bits, read as int32); the tables take either.
 */
export function flowHash5(key: Uint32Array, off: number): number {
  // No branch on dl_type: the IPv4 and IPv6 address words are both summed (a key has one set or
  // the other, the rest being zero). Each step is `(h + product) | 0` so V8 keeps the sum in
  // int32; a plain sum of sixteen products overflows into doubles, which here allocated a heap
  // number per call and tripled the cost.
  const s6 = off + W.IPV6_SRC;
  const d6 = off + W.IPV6_DST;
  let h = Math.imul(key[off + W.IN_PORT] as number, 0x9e3779b1);
  h = (h + Math.imul(key[off + W.RECIRC_ID] as number, 0x85ebca77)) | 0;
  h = (h + Math.imul(key[off + W.TUN_ID_HI] as number, 0xc2b2ae3d)) | 0;
  h = (h + Math.imul(key[off + W.TUN_ID_LO] as number, 0x27d4eb2f)) | 0;
  h = (h + Math.imul(key[off + W.NW_SRC] as number, 0x165667b1)) | 0;
  h = (h + Math.imul(key[off + W.NW_DST] as number, 0xd3a2646d)) | 0;
  h = (h + Math.imul(key[s6] as number, 0x2c1b3c6d)) | 0;
  h = (h + Math.imul(key[s6 + 1] as number, 0x297a2d39)) | 0;
  h = (h + Math.imul(key[s6 + 2] as number, 0x7feb352d)) | 0;
  h = (h + Math.imul(key[s6 + 3] as number, 0x846ca68b)) | 0;
  h = (h + Math.imul(key[d6] as number, 0x68e31da5)) | 0;
  h = (h + Math.imul(key[d6 + 1] as number, 0xb7e15163)) | 0;
  h = (h + Math.imul(key[d6 + 2] as number, 0x9e3779b9)) | 0;
  h = (h + Math.imul(key[d6 + 3] as number, 0xcc9e2d51)) | 0;
  h =
    (h +
      Math.imul(
        (((key[off + W.DL_TYPE] as number) & 0xffff) << 8) | ((key[off + W.NW_PROTO_TOS_TTL_FRAG] as number) >>> 24),
        0xfd7046c5,
      )) |
    0;
  h = (h + Math.imul(key[off + W.TP] as number, 0xb55a4f09)) | 0;
  // hashFinish(h, 42) (42: OVS's "arbitrary number"), inlined and returned signed: a uint32 of
  // 2^31 or more returned from a function V8 did not inline is boxed as a heap number, an
  // allocation per packet.
  h ^= 42;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * A small seeded PRNG (xorshift32) for the tables' deterministic randomness (EMC probabilistic
 * insertion). Not for anything that needs quality beyond "spread evenly and repeat per seed".
 */
export class XorShift32 {
  private s: number;
  constructor(seed: number) {
    this.s = (seed | 0) === 0 ? 0x9e3779b9 | 0 : seed | 0;
  }
  /** The next value, unsigned 32-bit. */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x;
    return x >>> 0;
  }
}

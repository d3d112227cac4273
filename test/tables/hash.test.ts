// The flow hash is MurmurHash3 x86_32 over the key's words read as little-endian bytes, so it is
// checked against published Murmur3 vectors (SMHasher-derived values as used by Bitcoin Core's
// src/test/hash_tests.cpp and other implementations' test suites), restricted to inputs that are
// whole words; the masked and word-list variants are checked against hashWords of a masked copy.
import { describe, it, expect } from "vitest";
import { hashWords, hashMaskedWords, hashWordList, hashFinish, hashAdd, XorShift32 } from "../../src/tables/hash.ts";
import { rng } from "./rng.ts";

/** Bytes to little-endian words, as Murmur3 reads its 4-byte blocks. */
function words(bytes: number[]): Uint32Array {
  const w = new Uint32Array(bytes.length / 4);
  for (let i = 0; i < w.length; i++) {
    w[i] = ((bytes[4 * i] as number) | ((bytes[4 * i + 1] as number) << 8) |
      ((bytes[4 * i + 2] as number) << 16) | ((bytes[4 * i + 3] as number) << 24)) >>> 0;
  }
  return w;
}
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

describe("hashWords is Murmur3 x86_32", () => {
  it.each([
    [[], 0, 0x00000000],
    [[], 1, 0x514e28b7],
    [[], 0xffffffff, 0x81f16f39],
    [[0xff, 0xff, 0xff, 0xff], 0, 0x76293b50],
    [[0x21, 0x43, 0x65, 0x87], 0, 0xf55b516b],
    [[0x21, 0x43, 0x65, 0x87], 0x5082edee, 0x2362f9de],
    [[0, 0, 0, 0], 0, 0x2362f9de],
    [ascii("test"), 0, 0xba6bd213],
    [ascii("test"), 0x9747b28c, 0x704b81dc],
    [[0x00, 0x11, 0x22, 0x33], 0, 0xb4471bf8],
    [[0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77], 0, 0x8034d2a0],
  ] as const)("%j seed %i", (bytes, seed, expected) => {
    const w = words([...bytes]);
    expect(hashWords(w, 0, w.length, seed)).toBe(expected);
    // The same words at an offset inside a bigger array.
    const big = new Uint32Array(w.length + 5).fill(0xdeadbeef);
    big.set(w, 3);
    expect(hashWords(big, 3, w.length, seed)).toBe(expected);
    // And built from the exported steps.
    let h = seed | 0;
    for (const x of w) h = hashAdd(h, x);
    expect(hashFinish(h, w.length * 4)).toBe(expected);
  });
});

describe("masked hashing equals hashing a masked copy", () => {
  it("hashMaskedWords and hashWordList over random keys and masks", () => {
    const r = rng(7);
    for (let t = 0; t < 2000; t++) {
      const n = 1 + (r() % 70);
      const key = Uint32Array.from({ length: n + 2 }, () => r());
      const mask = Uint32Array.from({ length: n + 2 }, () => (r() % 3 === 0 ? 0 : r() % 2 ? 0xffffffff : r()));
      const masked = new Uint32Array(n);
      for (let i = 0; i < n; i++) masked[i] = (key[i + 1] as number) & (mask[i + 1] as number);
      const basis = r();
      expect(hashMaskedWords(key, 1, mask, 1, n, basis)).toBe(hashWords(masked, 0, n, basis));
      // The word list: only the non-zero mask words, compacted.
      const idx: number[] = [];
      for (let i = 0; i < n; i++) if (mask[i + 1] !== 0) idx.push(i);
      const compact = Uint32Array.from(idx, (i) => masked[i] as number);
      const mv = Uint32Array.from(idx, (i) => mask[i + 1] as number);
      const h = hashWordList(key, 1, Int32Array.from(idx), mv, 0, idx.length, basis);
      expect(hashFinish(h, idx.length * 4)).toBe(hashWords(compact, 0, compact.length, basis));
    }
  });
});

describe("XorShift32", () => {
  it("repeats per seed and follows Marsaglia's 13/17/5 xorshift", () => {
    // Marsaglia, "Xorshift RNGs" (2003): x ^= x << 13; x ^= x >> 17; x ^= x << 5, from 2463534242.
    const a = new XorShift32(2463534242 | 0);
    let x = 2463534242;
    for (let i = 0; i < 100; i++) {
      x = (x ^ (x << 13)) >>> 0; x = (x ^ (x >>> 17)) >>> 0; x = (x ^ (x << 5)) >>> 0;
      expect(a.next()).toBe(x);
    }
    expect(new XorShift32(0).next()).not.toBe(0); // a zero seed would stick at zero
  });
});

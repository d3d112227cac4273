// The prefix trie against a plain reference written from the meaning of Open vSwitch's
// trie_lookup_value (lib/classifier.c), not from its tree walk: over the multiset of stored
// prefixes, `plens` has bit L-1 set exactly when a stored prefix of length L matches the value,
// and the returned bit count is M (the longest agreement between the value and any stored
// prefix, each compared over its own length), or M + 1 when some stored prefix agrees on those M
// bits and is longer (bit M tells the value from it), capped at the field width. Values are
// clustered around a few bases so prefixes nest, share paths and split nodes.
import { describe, it, expect } from "vitest";
import { PrefixTrie, plenBit } from "../../src/tables/trie.ts";
import { rng } from "./rng.ts";

interface Pfx {
  v: number[];
  len: number;
}

const bit = (v: ArrayLike<number>, i: number): number => ((v[i >>> 5] as number) >>> (31 - (i & 31))) & 1;

function agree(a: ArrayLike<number>, p: Pfx): number {
  let n = 0;
  while (n < p.len && bit(a, n) === bit(p.v, n)) n++;
  return n;
}

function reference(stored: Pfx[], a: ArrayLike<number>, width: number): { bits: number; lens: Set<number> } {
  const lens = new Set<number>();
  let m = 0;
  for (const p of stored) {
    const g = agree(a, p);
    if (g === p.len) lens.add(p.len);
    if (g > m) m = g;
  }
  if (stored.length === 0) return { bits: 0, lens };
  if (m >= width) return { bits: width, lens };
  const longer = stored.some((p) => p.len > m && agree(a, p) === m);
  return { bits: longer ? m + 1 : m, lens };
}

function maskWord(len: number, i: number): number {
  const b = Math.max(0, Math.min(32, len - 32 * i));
  return b === 0 ? 0 : b === 32 ? 0xffffffff : (0xffffffff << (32 - b)) >>> 0;
}

describe.each([
  [1, 11],
  [4, 12],
  [1, 13],
])("PrefixTrie, %i-word field (seed %i)", (words, seed) => {
  it("agrees with the reference through inserts and removes, and empties", () => {
    const r = rng(seed);
    const width = words * 32;
    const t = new PrefixTrie(width);
    let stored: Pfx[] = [];
    const bases = Array.from({ length: 5 }, () => Array.from({ length: words }, () => r()));
    const near = (): number[] => {
      const b = bases[r() % bases.length] as number[];
      const keep = r() % (width + 1);
      return b.map((x, i) => ((x & maskWord(keep, i)) | (r() & ~maskWord(keep, i))) >>> 0);
    };
    const lens = [1, 2, 7, 8, 9, 16, 24, 31, 32, width - 1, width, 33, 64, 65, 96, 127].filter((l) => l <= width);
    const plens = new Uint32Array(4);
    let checked = 0;
    for (let step = 0; step < 6000; step++) {
      const op = r() % 10;
      if (op < 3) {
        const len = lens[r() % lens.length] as number;
        const v = near().map((x, i) => (x & maskWord(len, i)) >>> 0);
        t.insert(v, 0, len);
        stored.push({ v, len });
      } else if (op < 5 && stored.length > 0) {
        const k = r() % stored.length;
        const p = stored[k] as Pfx;
        // The value beyond the prefix must not matter to remove().
        const dirty = p.v.map((x, i) => (x | (r() & ~maskWord(p.len, i))) >>> 0);
        expect(t.remove(dirty, 0, p.len)).toBe(true);
        stored = stored.filter((_, i) => i !== k);
      } else {
        const a = Uint32Array.from(near());
        plens.fill(0);
        const got = t.lookup(a, 0, plens);
        const want = reference(stored, a, width);
        expect(got).toBe(want.bits);
        for (let l = 1; l <= width; l++) expect(plenBit(plens, l - 1)).toBe(want.lens.has(l) ? 1 : 0);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(2000);
    // A prefix never inserted is not removed; removing everything leaves no node behind.
    if (stored.length > 0) {
      const p = stored[0] as Pfx;
      const other = p.v.map((x, i) => (i === 0 ? (x ^ 0x80000000) >>> 0 : x));
      if (!stored.some((q) => q.len === p.len && q.v.every((x, i) => x === other[i])))
        expect(t.remove(other, 0, p.len)).toBe(false);
    }
    for (const p of stored) expect(t.remove(p.v, 0, p.len)).toBe(true);
    expect(t.empty).toBe(true);
    expect(t.nodes).toBe(0);
  });
});

describe("PrefixTrie, worked examples", () => {
  // Hand-computed from the walk in lib/classifier.c trie_lookup_value.
  const ip = (s: string): number => s.split(".").reduce((a, b) => ((a << 8) | Number(b)) >>> 0, 0);
  it("one /24: a value off in the first bit needs one bit, inside needs 24", () => {
    const t = new PrefixTrie(32);
    t.insert([ip("10.0.0.0")], 0, 24);
    const pl = new Uint32Array(1);
    expect(t.lookup([ip("192.168.1.1")], 0, pl)).toBe(1);
    expect(pl[0]).toBe(0);
    expect(t.lookup([ip("10.0.0.77")], 0, pl)).toBe(24); // a leaf: no bit after it matters
    expect(plenBit(pl, 23)).toBe(1);
  });
  it("nested /16 and /32: the first bit that leaves the /32's path", () => {
    const t = new PrefixTrie(32);
    t.insert([ip("10.1.0.0")], 0, 16);
    t.insert([ip("10.1.2.3")], 0, 32);
    const pl = new Uint32Array(1);
    expect(t.lookup([ip("10.1.2.4")], 0, pl)).toBe(30);
    expect(plenBit(pl, 15)).toBe(1);
    expect(plenBit(pl, 31)).toBe(0);
  });
  it("a chained 128-bit prefix is split into 32-bit nodes and pruned again", () => {
    const t = new PrefixTrie(128);
    const a = [0x20010db8, 0, 0, 1];
    t.insert(a, 0, 128);
    expect(t.nodes).toBe(4);
    t.insert([0x20010db8, 0, 0, 0], 0, 64);
    const pl = new Uint32Array(4);
    expect(t.lookup([0x20010db8, 0, 0, 2], 0, pl)).toBe(127);
    expect(plenBit(pl, 63)).toBe(1);
    expect(t.remove(a, 0, 128)).toBe(true);
    expect(t.remove([0x20010db8, 0, 0, 0], 0, 64)).toBe(true);
    expect(t.nodes).toBe(0);
  });
  it("rejects lengths outside the field", () => {
    expect(() => new PrefixTrie(32).insert([0], 0, 0)).toThrow(RangeError);
    expect(() => new PrefixTrie(32).insert([0], 0, 33)).toThrow(RangeError);
    expect(() => new PrefixTrie(24)).toThrow(RangeError);
  });
});

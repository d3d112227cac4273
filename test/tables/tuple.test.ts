// The tuple-space table against a plain linear reference: a list of (masked key, mask, value)
// entries, scanned mask by mask in the table's reported rank order, first match wins (that is
// the dpcls contract: lib/dpif-netdev.c dpcls_lookup stops at the first subtable that matches,
// because megaflows never overlap). Ranking follows dpcls_sort_subtable_vector: by hits since
// the last sort, most first.
import { describe, it, expect } from "vitest";
import { TupleTable } from "../../src/tables/tuple.ts";
import { FLOW_WORDS, W } from "../../src/flow/key.ts";
import { rng } from "./rng.ts";

interface Entry {
  key: number[];
  mask: number[];
  value: number;
}

function matches(e: Entry, key: ArrayLike<number>): boolean {
  for (let i = 0; i < e.mask.length; i++)
    if (((key[i] as number) & (e.mask[i] as number)) >>> 0 !== e.key[i]) return false;
  return true;
}

function refLookup(entries: Entry[], rankedMasks: Uint32Array[], key: ArrayLike<number>): number {
  for (const m of rankedMasks) {
    for (const e of entries) if (e.mask.join() === [...m].join() && matches(e, key)) return e.value;
  }
  return -1;
}

describe("TupleTable against a linear reference", () => {
  it.each([
    [6, 1],
    [FLOW_WORDS, 2],
    [10, 3],
  ])("%i-word keys, seed %i", (words, seed) => {
    const r = rng(seed);
    // A handful of masks touching a few words each, some partial (prefix-like) words.
    const masks = Array.from({ length: 8 }, () => {
      const m = new Array<number>(words).fill(0);
      const n = 1 + (r() % 3);
      for (let j = 0; j < n; j++) m[r() % words] = [0xffffffff, 0xffff0000, 0xff, 0x0f0f0f0f][r() % 4] as number;
      return m;
    });
    const t = new TupleTable(words, { sortInterval: 97 });
    let entries: Entry[] = [];
    const small = (): number => [0, 1, 0xffffffff, 0x12345678, 0xff00ff00][r() % 5] as number;
    for (let step = 0; step < 4000; step++) {
      const op = r() % 10;
      const mask = masks[r() % masks.length] as number[];
      const raw = Array.from({ length: words }, small);
      const key = raw.map((x, i) => (x & (mask[i] as number)) >>> 0);
      const sameIdx = entries.findIndex((e) => e.mask.join() === mask.join() && e.key.join() === key.join());
      if (op < 4) {
        const v = step;
        const res = t.insert(Uint32Array.from(raw), Uint32Array.from(mask), v);
        if (sameIdx >= 0) {
          expect(res).toBe("replaced");
          (entries[sameIdx] as Entry).value = v;
        } else {
          expect(res).toBe("inserted");
          entries.push({ key, mask, value: v });
        }
      } else if (op < 6) {
        const got = t.remove(Uint32Array.from(raw), Uint32Array.from(mask));
        expect(got).toBe(sameIdx >= 0 ? (entries[sameIdx] as Entry).value : -1);
        if (sameIdx >= 0) entries = entries.filter((_, i) => i !== sameIdx);
      } else {
        // Look up either a fresh random key or a stored entry's key with noise outside its mask.
        let pkt = Array.from({ length: words }, small);
        if (entries.length > 0 && r() % 2 === 0) {
          const e = entries[r() % entries.length] as Entry;
          pkt = pkt.map((x, i) => ((x & ~(e.mask[i] as number)) | (e.key[i] as number)) >>> 0);
        }
        const ranked = t.ranking().map((x) => x.mask); // the order this lookup will use...
        const buf = new Uint32Array(words + 2);
        buf.set(pkt, 2);
        const before = t.lookups;
        // ...unless this very lookup triggers the periodic re-sort first.
        const sortsNow = (before + 1) % 97 === 0;
        const got = t.lookup(buf, 2);
        const order = sortsNow ? null : ranked;
        if (order !== null) expect(got).toBe(refLookup(entries, order, pkt));
        else expect(entries.some((e) => e.value === got && matches(e, pkt)) || got === -1).toBe(true);
      }
      expect(t.size).toBe(entries.length);
      expect(t.maskCount).toBe(new Set(entries.map((e) => e.mask.join())).size);
    }
    const dumped = t
      .entries()
      .map((e) => `${[...e.key].join()}/${[...e.mask].join()}=${e.value}`)
      .sort();
    expect(dumped).toEqual(entries.map((e) => `${e.key.join()}/${e.mask.join()}=${e.value}`).sort());
  });
});

describe("ranking", () => {
  const words = FLOW_WORDS;
  const inPortMask = new Uint32Array(words);
  inPortMask[W.IN_PORT] = 0xffffffff;
  const dstMask = new Uint32Array(words);
  dstMask[W.NW_DST] = 0xffffff00;
  it("moves the subtable with most hits first after a sort, and first match wins", () => {
    const t = new TupleTable(words, { sortInterval: 0 });
    const k = new Uint32Array(words);
    k[W.IN_PORT] = 1;
    t.insert(k, inPortMask, 100);
    k[W.IN_PORT] = 0;
    k[W.NW_DST] = 0x0a000001;
    t.insert(k, dstMask, 200);
    // A packet matching only the nw_dst entry: probes in_port first, then nw_dst.
    const p = new Uint32Array(words);
    p[W.IN_PORT] = 7;
    p[W.NW_DST] = 0x0a000063;
    for (let i = 0; i < 10; i++) expect(t.lookup(p)).toBe(200);
    expect(t.lastRank).toBe(1);
    expect(t.lastProbes).toBe(2);
    expect(t.ranking().map((x) => x.hits)).toEqual([0, 10]);
    t.sort();
    expect(t.ranking()[0]?.mask).toEqual(dstMask);
    expect(t.lookup(p)).toBe(200);
    expect(t.lastRank).toBe(0);
    expect(t.lastProbes).toBe(1);
    expect(t.ranking().map((x) => x.totalHits)).toEqual([11, 0]);
  });
  it("re-sorts by itself every sortInterval lookups", () => {
    const t = new TupleTable(words, { sortInterval: 5 });
    const k = new Uint32Array(words);
    k[W.IN_PORT] = 1;
    t.insert(k, inPortMask, 100);
    k[W.IN_PORT] = 0;
    k[W.NW_DST] = 0x0a000001;
    t.insert(k, dstMask, 200);
    const p = new Uint32Array(words);
    p[W.NW_DST] = 0x0a000002;
    for (let i = 0; i < 4; i++) t.lookup(p);
    expect(t.ranking()[0]?.mask).toEqual(inPortMask);
    t.lookup(p); // the 5th lookup re-sorts (on the 4 hits so far) before it probes
    expect(t.lastRank).toBe(0);
    expect(t.ranking()[0]?.mask).toEqual(dstMask);
  });
});

describe("capacity", () => {
  const words = 4;
  const m1 = Uint32Array.of(0xffffffff, 0, 0, 0);
  const m2 = Uint32Array.of(0, 0xffffffff, 0, 0);
  const m3 = Uint32Array.of(0, 0, 0xffffffff, 0);
  it("refuses entries beyond maxEntries and masks beyond maxMasks, with the reason", () => {
    const t = new TupleTable(words, { maxEntries: 3, maxMasks: 2 });
    expect(t.insert(Uint32Array.of(1, 0, 0, 0), m1, 1)).toBe("inserted");
    expect(t.insert(Uint32Array.of(0, 2, 0, 0), m2, 2)).toBe("inserted");
    expect(t.insert(Uint32Array.of(0, 0, 3, 0), m3, 3)).toBe("mask-limit");
    expect(t.insert(Uint32Array.of(4, 0, 0, 0), m1, 4)).toBe("inserted");
    expect(t.insert(Uint32Array.of(5, 0, 0, 0), m1, 5)).toBe("table-full");
    expect(t.insert(Uint32Array.of(4, 9, 9, 9), m1, 44)).toBe("replaced"); // a replacement still fits
    expect(t.lookup(Uint32Array.of(4, 7, 7, 7))).toBe(44);
    expect(t.size).toBe(3);
    // Removing m2's only entry drops the subtable, which frees a mask for m3.
    expect(t.remove(Uint32Array.of(0, 2, 0, 0), m2)).toBe(2);
    expect(t.maskCount).toBe(1);
    expect(t.insert(Uint32Array.of(0, 0, 3, 0), m3, 3)).toBe("inserted");
    expect(t.find(Uint32Array.of(8, 8, 3, 8), m3)).toBe(3);
  });
});

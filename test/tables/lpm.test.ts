// The route table against a plain linear reference: every route scanned, the longest prefix that
// contains the address wins (RFC 1812 §5.2.4.3, longest match), an identical prefix/len replaces.
import { describe, it, expect } from "vitest";
import { LpmTable } from "../../src/tables/lpm.ts";
import { rng } from "./rng.ts";

interface Route {
  prefix: number[];
  len: number;
  value: number;
}

function maskWord(len: number, i: number): number {
  const b = Math.max(0, Math.min(32, len - 32 * i));
  return b === 0 ? 0 : b === 32 ? 0xffffffff : (0xffffffff << (32 - b)) >>> 0;
}
const contains = (rt: Route, a: ArrayLike<number>): boolean =>
  rt.prefix.every((p, i) => ((a[i] as number) & maskWord(rt.len, i)) >>> 0 === p);

function refLookup(routes: Route[], a: ArrayLike<number>): number {
  let best: Route | null = null;
  for (const rt of routes) if (contains(rt, a) && (best === null || rt.len > best.len)) best = rt;
  return best === null ? -1 : best.value;
}

describe.each([
  [1, 1],
  [4, 2],
])("LpmTable, %i-word addresses (seed %i)", (words, seed) => {
  it("matches the linear reference through inserts, replacements and deletes", () => {
    const r = rng(seed);
    const t = new LpmTable(words);
    let routes: Route[] = [];
    // A few base addresses, so prefixes nest and addresses fall inside them.
    const bases = Array.from({ length: 6 }, () => Array.from({ length: words }, () => r()));
    const lens = [0, 1, 8, 16, 23, 24, 31, 32, words * 32 - 1, words * 32, 48, 64, 96];
    const addr = (): Uint32Array => {
      const b = bases[r() % bases.length] as number[];
      const flip = r() % (words * 32 + 1); // keep the first `flip` bits of a base, randomise the rest
      return Uint32Array.from(b, (x, i) => {
        const m = maskWord(flip, i);
        return ((x & m) | (r() & ~m)) >>> 0;
      });
    };
    for (let step = 0; step < 5000; step++) {
      const op = r() % 10;
      if (op < 3) {
        const len = lens.filter((l) => l <= words * 32)[r() % lens.filter((l) => l <= words * 32).length] as number;
        const a = addr();
        const prefix = [...a].map((x, i) => (x & maskWord(len, i)) >>> 0);
        const same = routes.find((x) => x.len === len && x.prefix.join() === prefix.join());
        const value = step;
        expect(t.insert(a, len, value)).toBe(same !== undefined);
        if (same) same.value = value;
        else routes.push({ prefix, len, value });
      } else if (op < 4 && routes.length > 0) {
        const victim = routes[r() % routes.length] as Route;
        expect(t.delete(Uint32Array.from(victim.prefix), victim.len)).toBe(victim.value);
        expect(t.get(Uint32Array.from(victim.prefix), victim.len)).toBe(-1);
        routes = routes.filter((x) => x !== victim);
      } else {
        const a = addr();
        const buf = new Uint32Array(words + 1);
        buf.set(a, 1);
        const got = t.lookup(buf, 1);
        expect(got).toBe(refLookup(routes, a));
        if (got !== -1) expect(routes.some((x) => x.value === got && x.len === t.lastLen)).toBe(true);
        if (words === 1) expect(t.lookupU32(a[0] as number)).toBe(got);
      }
      expect(t.size).toBe(routes.length);
    }
    expect(
      t
        .entries()
        .map((e) => `${[...e.prefix].join()}/${e.len}=${e.value}`)
        .sort(),
    ).toEqual(routes.map((x) => `${x.prefix.join()}/${x.len}=${x.value}`).sort());
  });
});

describe("LpmTable basics", () => {
  it("default route, host route, and a /24 in between", () => {
    const t = new LpmTable(1);
    t.insert(Uint32Array.of(0), 0, 1);
    t.insert(Uint32Array.of(0xc0a80100), 24, 2); // 192.168.1.0/24
    t.insert(Uint32Array.of(0xc0a80107), 32, 3); // 192.168.1.7/32
    expect(t.lookupU32(0xc0a80107)).toBe(3);
    expect(t.lookupU32(0xc0a80108)).toBe(2);
    expect(t.lastLen).toBe(24);
    expect(t.lookupU32(0x08080808)).toBe(1);
    expect(t.delete(Uint32Array.of(0), 0)).toBe(1);
    expect(t.lookupU32(0x08080808)).toBe(-1);
    expect(() => t.insert(Uint32Array.of(0), 33, 1)).toThrow(RangeError);
  });
});

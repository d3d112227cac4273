// The priority classifier against a plain linear reference (every rule scanned, the highest
// priority that matches wins), and the megaflow property of its wildcard mask from Open vSwitch's
// lib/classifier.h ("Classifier Wildcard Mask"): a packet that agrees with the looked-up one on
// every bit of `wc` must get the same rule. Un-wildcarding follows classifier.h "Staged Lookup
// (Wildcard Optimization)": when a subtable misses in a stage, only the stages examined so far
// are un-wildcarded; and subtables whose highest priority cannot beat the best match so far are
// not probed at all, so they un-wildcard nothing ("Eliminating lookups through priority
// ordering ... avoids un-wildcarding fields that those lookups would have examined").
import { describe, it, expect } from "vitest";
import { Classifier, type Stage } from "../../src/tables/classifier.ts";
import { FLOW_WORDS, W } from "../../src/flow/key.ts";
import { rng } from "./rng.ts";

interface RefRule {
  key: number[];
  mask: number[];
  priority: number;
  id: number;
}

const matches = (r: RefRule, p: ArrayLike<number>): boolean =>
  r.mask.every((m, i) => ((p[i] as number) & m) >>> 0 === r.key[i]);

function refBest(rules: RefRule[], p: ArrayLike<number>): number {
  let best = -Infinity;
  for (const r of rules) if (matches(r, p) && r.priority > best) best = r.priority;
  return best;
}

describe("Classifier against a linear reference, and the megaflow property", () => {
  const cases: [string, number, Stage[] | undefined, number][] = [
    [
      "12 words, 4 stages",
      12,
      [
        { start: 0, end: 3 },
        { start: 3, end: 6 },
        { start: 6, end: 10 },
        { start: 10, end: 12 },
      ],
      1,
    ],
    ["12 words, one stage", 12, undefined, 2],
    ["FLOW_WORDS, flow key stages", FLOW_WORDS, undefined, 3],
  ];
  it.each(cases)("%s", (_name, words, stages, seed) => {
    const r = rng(seed);
    // Rules and packets draw from few words and few values, so that rules overlap and packets hit.
    const hot =
      words === FLOW_WORDS
        ? [W.IN_PORT, W.REG0, W.DL_TYPE, W.VLAN0, W.NW_SRC, W.NW_DST, W.NW_PROTO_TOS_TTL_FRAG, W.TP]
        : Array.from({ length: words }, (_, i) => i);
    const values = [0, 1, 0x01000000, 0xffffffff, 0x00010001, 0x0a000001];
    const wordMasks = [0xffffffff, 0xff000000, 0xffff0000, 0x0000ffff, 0x1];
    const maskPool = Array.from({ length: 10 }, () => {
      const m = new Array<number>(words).fill(0);
      const n = r() % 4; // 0..3 words, so the match-everything mask occurs too
      for (let j = 0; j < n; j++) m[hot[r() % hot.length] as number] = wordMasks[r() % wordMasks.length] as number;
      return m;
    });
    const packet = (): Uint32Array => {
      const p = new Uint32Array(words);
      for (const i of hot) p[i] = values[r() % values.length] as number;
      return p;
    };
    const c = new Classifier(words, stages);
    let rules: RefRule[] = [];
    let nextId = 1;
    let examined = 0;
    for (let step = 0; step < 3000; step++) {
      const op = r() % 10;
      if (op < 3) {
        const mask = maskPool[r() % maskPool.length] as number[];
        const raw = packet();
        const key = mask.map((m, i) => ((raw[i] as number) & m) >>> 0);
        const priority = r() % 8;
        const id = nextId++;
        const displaced = c.insert(raw, Uint32Array.from(mask), priority, id);
        const same = rules.find(
          (x) => x.priority === priority && x.mask.join() === mask.join() && x.key.join() === key.join(),
        );
        expect(displaced).toBe(same ? same.id : -1);
        rules = rules.filter((x) => x !== same);
        rules.push({ key, mask, priority, id });
      } else if (op < 4 && rules.length > 0) {
        const victim = rules[r() % rules.length] as RefRule;
        expect(c.remove(victim.id)).toBe(true);
        expect(c.remove(victim.id)).toBe(false);
        rules = rules.filter((x) => x !== victim);
      } else {
        const p = packet();
        const wc = new Uint32Array(words);
        const id = c.lookup(p, wc);
        const best = refBest(rules, p);
        if (id === -1) {
          expect(best).toBe(-Infinity);
        } else {
          const rule = rules.find((x) => x.id === id) as RefRule;
          expect(matches(rule, p)).toBe(true);
          expect(rule.priority).toBe(best);
          // wc covers the whole mask of the rule that won.
          for (let i = 0; i < words; i++)
            expect(((wc[i] as number) & (rule.mask[i] as number)) >>> 0).toBe(rule.mask[i]);
        }
        // The megaflow property: vary every bit outside wc; the answer must not change.
        for (let k = 0; k < 4; k++) {
          const q = packet();
          const p2 = new Uint32Array(words);
          for (let i = 0; i < words; i++)
            p2[i] = ((p[i] as number) & (wc[i] as number)) | ((q[i] as number) & ~(wc[i] as number));
          expect(c.lookup(p2, null)).toBe(id);
          const best2 = refBest(rules, p2);
          expect(best2).toBe(best);
          examined++;
        }
      }
      expect(c.count).toBe(rules.length);
    }
    expect(examined).toBeGreaterThan(1000);
    // Dumps: priority order, every rule once.
    const dumped = c.rules();
    expect(dumped.map((x) => x.id).sort((a, b) => a - b)).toEqual(rules.map((x) => x.id).sort((a, b) => a - b));
    for (let i = 1; i < dumped.length; i++)
      expect((dumped[i - 1]?.priority as number) >= (dumped[i]?.priority as number)).toBe(true);
  });
});

describe("un-wildcarding (classifier.h, Staged Lookup)", () => {
  const words = FLOW_WORDS;
  const mask = (...ws: [number, number][]): Uint32Array => {
    const m = new Uint32Array(words);
    for (const [w, v] of ws) m[w] = v;
    return m;
  };
  const pkt = (...ws: [number, number][]): Uint32Array => mask(...ws);
  it("a packet that misses at in_port leaves nw_dst wildcarded", () => {
    const c = new Classifier();
    c.insert(
      pkt([W.IN_PORT, 1], [W.NW_DST, 0x0a000001]),
      mask([W.IN_PORT, 0xffffffff], [W.NW_DST, 0xffffffff]),
      100,
      1,
    );
    const wc = new Uint32Array(words);
    expect(c.lookup(pkt([W.IN_PORT, 2], [W.NW_DST, 0x0a000001]), wc)).toBe(-1);
    expect(wc[W.IN_PORT]).toBe(0xffffffff);
    expect(wc[W.NW_DST]).toBe(0);
    expect(wc.reduce((a, x) => a + (x === 0 ? 0 : 1), 0)).toBe(1);
    // Past the metadata stage the lookup reaches L3, and then nw_dst is examined.
    wc.fill(0);
    expect(c.lookup(pkt([W.IN_PORT, 1], [W.NW_DST, 0x0a000002]), wc)).toBe(-1);
    expect(wc[W.IN_PORT]).toBe(0xffffffff);
    expect(wc[W.NW_DST]).toBe(0xffffffff);
  });
  it("a subtable that cannot beat the best match so far un-wildcards nothing", () => {
    const c = new Classifier();
    c.insert(pkt([W.IN_PORT, 1]), mask([W.IN_PORT, 0xffffffff]), 200, 1);
    c.insert(pkt([W.NW_DST, 0x0a000000]), mask([W.NW_DST, 0xffffff00]), 100, 2);
    const wc = new Uint32Array(words);
    expect(c.lookup(pkt([W.IN_PORT, 1], [W.NW_DST, 0x0a000001]), wc)).toBe(1);
    expect(c.lastProbes).toBe(1);
    expect(wc[W.NW_DST]).toBe(0);
    // Missing the priority-200 rule, the lookup goes on to nw_dst and un-wildcards its /24.
    wc.fill(0);
    expect(c.lookup(pkt([W.IN_PORT, 2], [W.NW_DST, 0x0a000001]), wc)).toBe(2);
    expect(wc[W.IN_PORT]).toBe(0xffffffff);
    expect(wc[W.NW_DST]).toBe(0xffffff00);
  });
});

describe("priorities, replacement, ties", () => {
  const words = 4;
  const all = Uint32Array.of(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff);
  const m0 = Uint32Array.of(0xffffffff, 0, 0, 0);
  const m1 = Uint32Array.of(0, 0xffffffff, 0, 0);
  const p = Uint32Array.of(1, 2, 3, 4);
  it("the highest priority wins; same match and priority replaces; removal falls back", () => {
    const c = new Classifier(words);
    c.insert(p, m0, 10, 1);
    c.insert(p, m0, 30, 2); // same match, higher priority: both kept
    c.insert(p, all, 20, 3);
    expect(c.lookup(p, null)).toBe(2);
    expect(c.lastPriority).toBe(30);
    expect(c.insert(Uint32Array.of(1, 9, 9, 9), m0, 30, 4)).toBe(2); // replaces rule 2 (masked keys equal)
    expect(c.count).toBe(3);
    expect(c.find(p, m0, 30)).toBe(4);
    expect(c.lookup(p, null)).toBe(4);
    expect(c.remove(4)).toBe(true);
    expect(c.lookup(p, null)).toBe(3);
    expect(c.remove(3)).toBe(true);
    expect(c.lookup(p, null)).toBe(1);
    expect(c.rules().map((x) => [x.id, x.priority])).toEqual([[1, 10]]);
    expect(c.remove(1)).toBe(true);
    expect(c.lookup(p, null)).toBe(-1);
    expect(c.subtableCount).toBe(0);
    expect(() => {
      c.insert(p, m0, 1, 7);
      c.insert(p, m1, 1, 7);
    }).toThrow(RangeError);
  });
  it("overlapping rules of equal priority: the one whose mask was created first wins", () => {
    const a = new Classifier(words);
    a.insert(p, m0, 5, 1);
    a.insert(p, m1, 5, 2);
    expect(a.lookup(p, null)).toBe(1);
    const b = new Classifier(words);
    b.insert(p, m1, 5, 2);
    b.insert(p, m0, 5, 1);
    expect(b.lookup(p, null)).toBe(2);
  });
  it("dumps in priority order, ties in insertion order", () => {
    const c = new Classifier(words);
    c.insert(p, m0, 1, 10);
    c.insert(p, m1, 7, 11);
    c.insert(Uint32Array.of(5, 0, 0, 0), m0, 7, 12);
    c.insert(p, all, 3, 13);
    expect(c.rules().map((x) => x.id)).toEqual([11, 12, 13, 10]);
    expect(c.get(12)?.key).toEqual(Uint32Array.of(5, 0, 0, 0));
  });
  it("rejects stages that do not cover the key", () => {
    expect(() => new Classifier(4, [{ start: 0, end: 2 }])).toThrow(RangeError);
    expect(() => new Classifier(4, [{ start: 1, end: 4 }])).toThrow(RangeError);
  });
});

// Prefix tries (classifier.h "Prefix Tracking") and the ports trie change only how much of `wc`
// a lookup sets, never the answer: the same rules must win as with a linear scan, the megaflow
// property must still hold, and every bit set with tries must also be set without them (a
// skipped subtable un-wildcards at most the prefix bits it would have examined anyway).
describe("prefix tries and the ports trie: same answers, narrower masks", () => {
  const cidr = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);
  it.each([[21], [22], [23]])("seed %i", (seed) => {
    const r = rng(seed);
    const words = FLOW_WORDS;
    const bases = [0x0a000000, 0x0a010200, 0xac100000, 0xc0a80100];
    const addr = (): number => {
      const keep = [0, 8, 16, 24, 30, 32][r() % 6] as number;
      return (((bases[r() % bases.length] as number) & cidr(keep)) | (r() & ~cidr(keep))) >>> 0;
    };
    const ports = [22, 80, 443, 0x1000, 0x1fff, 8080];
    const packet = (): Uint32Array => {
      const p = new Uint32Array(words);
      p[W.DL_TYPE] = r() % 8 === 0 ? 0x0806 : 0x0800; // ARP uses the same words: no trie skips
      p[W.NW_SRC] = addr();
      p[W.NW_DST] = addr();
      p[W.NW_PROTO_TOS_TTL_FRAG] = (r() % 2 === 0 ? 6 : 17) << 24;
      p[W.TP] = (((ports[r() % ports.length] as number) << 16) | (ports[r() % ports.length] as number)) >>> 0;
      return p;
    };
    const lens = [1, 4, 8, 12, 16, 20, 24, 28, 31, 32];
    const portMasks = [0, 0xffff, 0xff00, 0xf000, 0xfff0];
    const withTries = new Classifier(words, { prefixes: ["nw_dst", "nw_src"] });
    const without = new Classifier(words, { portsWord: -1 });
    let rules: RefRule[] = [];
    let nextId = 1;
    let skips = 0;
    for (let step = 0; step < 2500; step++) {
      const op = r() % 10;
      if (op < 3) {
        const mask = new Array<number>(words).fill(0);
        mask[W.DL_TYPE] = 0xffff;
        const k = r() % 4;
        if (k !== 1) mask[W.NW_DST] = cidr(lens[r() % lens.length] as number);
        if (k !== 0) mask[W.NW_SRC] = cidr(lens[r() % lens.length] as number);
        if (r() % 3 === 0) {
          mask[W.NW_PROTO_TOS_TTL_FRAG] = 0xff000000;
          mask[W.TP] = (((portMasks[r() % 5] as number) << 16) | (portMasks[r() % 5] as number)) >>> 0;
        }
        if (r() % 10 === 0) mask[W.NW_DST] = 0x00ffff00; // not a prefix: never in a trie
        const raw = packet();
        const key = mask.map((m, i) => ((raw[i] as number) & m) >>> 0);
        const priority = r() % 16;
        const id = nextId++;
        const d1 = withTries.insert(raw, Uint32Array.from(mask), priority, id);
        const d2 = without.insert(raw, Uint32Array.from(mask), priority, id);
        expect(d1).toBe(d2);
        rules = rules.filter((x) => x.id !== d1);
        rules.push({ key, mask, priority, id });
      } else if (op < 4 && rules.length > 0) {
        const victim = rules[r() % rules.length] as RefRule;
        expect(withTries.remove(victim.id)).toBe(true);
        expect(without.remove(victim.id)).toBe(true);
        rules = rules.filter((x) => x !== victim);
      } else {
        const p = packet();
        const wc = new Uint32Array(words);
        const wc0 = new Uint32Array(words);
        const id = withTries.lookup(p, wc);
        skips += withTries.lastTrieSkips;
        expect(id).toBe(without.lookup(p, wc0));
        const best = refBest(rules, p);
        if (id === -1) expect(best).toBe(-Infinity);
        else expect((rules.find((x) => x.id === id) as RefRule).priority).toBe(best);
        for (let i = 0; i < words; i++) expect(((wc[i] as number) & ~(wc0[i] as number)) >>> 0).toBe(0);
        for (let k = 0; k < 4; k++) {
          const q = packet();
          const p2 = new Uint32Array(words);
          for (let i = 0; i < words; i++)
            p2[i] = ((p[i] as number) & (wc[i] as number)) | ((q[i] as number) & ~(wc[i] as number));
          expect(refBest(rules, p2)).toBe(best);
          expect(withTries.lookup(p2, null)).toBe(id);
        }
      }
    }
    expect(skips).toBeGreaterThan(100);
    // Turning the tries on after the rules are in gives the same masks as having them from the
    // start (same insertion order, so the same probe order among equal-priority subtables).
    const late = new Classifier(words);
    const early = new Classifier(words, { prefixes: ["nw_dst", "nw_src"] });
    for (const x of rules) late.insert(Uint32Array.from(x.key), Uint32Array.from(x.mask), x.priority, x.id);
    for (const x of rules) early.insert(Uint32Array.from(x.key), Uint32Array.from(x.mask), x.priority, x.id);
    expect(late.setPrefixes(["ip_dst", "nw_src", "nw_dst"])).toEqual(["nw_dst", "nw_src"]);
    for (let k = 0; k < 200; k++) {
      const p = packet();
      const a = new Uint32Array(words);
      const b = new Uint32Array(words);
      expect(late.lookup(p, a)).toBe(early.lookup(p, b));
      expect(a).toEqual(b);
    }
  });
  it("rejects unknown prefix fields and fields outside the key", () => {
    expect(() => new Classifier(FLOW_WORDS, { prefixes: ["tp_dst"] })).toThrow(RangeError);
    expect(() => new Classifier(12, { prefixes: ["nw_dst"] })).toThrow(RangeError);
    expect(
      new Classifier(12, {
        prefixes: [{ name: "w3", word: 3, words: 1, prereqWord: -1, prereqMask: 0, prereqValue: 0 }],
      }).prefixes,
    ).toEqual(["w3"]);
  });
});

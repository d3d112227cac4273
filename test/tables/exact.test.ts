// The exact-match table against two plain references: a linear list of every (key, value) ever
// inserted (a hit must return the latest value for that key, never another key's), and an
// obviously-written model of Open vSwitch's EMC slots (lib/dpif-netdev-private-dfc.h
// EMC_FOR_EACH_POS_WITH_HASH: candidates from two slices of the hash; lib/dpif-netdev.c
// emc_insert: overwrite the same key, else take an empty candidate, else evict the lower hash),
// which must agree hit for hit.
import { describe, it, expect } from "vitest";
import { ExactTable } from "../../src/tables/exact.ts";
import { hashWords } from "../../src/tables/hash.ts";
import { FLOW_WORDS } from "../../src/flow/key.ts";
import { rng } from "./rng.ts";

interface Slot { key: number[]; hash: number; value: number }

/** The EMC model: an array of slots, each empty or holding one entry. */
class EmcModel {
  slots: (Slot | null)[];
  constructor(readonly capacity: number) { this.slots = new Array<Slot | null>(capacity).fill(null); }
  candidates(hash: number): [number, number] {
    const bits = Math.log2(this.capacity);
    const rotated = bits === 0 ? hash : ((hash >>> bits) | (hash << (32 - bits))) >>> 0;
    return [hash % this.capacity, rotated % this.capacity];
  }
  lookup(key: number[], hash: number): number {
    for (const c of this.candidates(hash)) {
      const s = this.slots[c];
      if (s && s.hash === hash && s.key.join() === key.join()) return s.value;
    }
    return -1;
  }
  insert(key: number[], hash: number, value: number): void {
    const [a, b] = this.candidates(hash);
    for (const c of [a, b]) {
      const s = this.slots[c];
      if (s && s.hash === hash && s.key.join() === key.join()) { s.value = value; return; }
    }
    const sa = this.slots[a];
    const sb = this.slots[b];
    let target: number;
    if (!sa) target = a;
    else if (!sb) target = b;
    else target = sb.hash < sa.hash ? b : a;
    this.slots[target] = { key: [...key], hash, value };
  }
  delete(key: number[], hash: number): boolean {
    for (const c of this.candidates(hash)) {
      const s = this.slots[c];
      if (s && s.hash === hash && s.key.join() === key.join()) { this.slots[c] = null; return true; }
    }
    return false;
  }
}

describe("ExactTable against the references", () => {
  it.each([[4, 64, 1], [FLOW_WORDS, 256, 2], [3, 1, 3]])("%i-word keys, %i slots, seed %i", (words, capacity, seed) => {
    const r = rng(seed);
    const t = new ExactTable(words, capacity, { insertInvProb: 1 });
    const model = new EmcModel(capacity);
    const latest = new Map<string, number>(); // linear reference: the last value per key
    // A pool of keys small enough that keys repeat, large enough to overflow the table.
    const pool = Array.from({ length: capacity * 3 }, () => Array.from({ length: words }, () => r() % 4));
    const buf = new Uint32Array(words + 3);
    let lookups = 0;
    for (let step = 0; step < 6000; step++) {
      const key = pool[r() % pool.length] as number[];
      buf.set(key, 3);
      const hash = hashWords(buf, 3, words, 0);
      const op = r() % 10;
      if (op < 4) {
        const v = r() % 1000;
        t.insert(buf, 3, hash, v);
        model.insert(key, hash, v);
        latest.set(key.join(), v);
      } else if (op < 5) {
        expect(t.delete(buf, 3, hash)).toBe(model.delete(key, hash));
      } else {
        const got = t.lookup(buf, 3, hash);
        lookups++;
        expect(got).toBe(model.lookup(key, hash));
        if (got !== -1) expect(got).toBe(latest.get(key.join()));
      }
    }
    expect(t.hits + t.misses).toBe(lookups);
    expect(t.size).toBe(t.inserts - t.evictions - t.deletes);
    expect(t.size).toBe(model.slots.filter((s) => s !== null).length);
    let live = 0;
    t.forEach((value, key, hash) => {
      live++;
      expect(model.lookup([...key], hash)).toBe(value);
    });
    expect(live).toBe(t.size);
  });
});

describe("two candidates per key", () => {
  // Hashes chosen by hand for a 16-slot table: slot1 = low 4 bits, slot2 = the hash rotated right
  // by 4 (bits 4..7 here, as OVS's 13-bit slices for its 8192 entries).
  const key = (n: number): Uint32Array => Uint32Array.of(n, n + 1);
  it("fills the second candidate when the first is taken, then evicts the lower hash", () => {
    const t = new ExactTable(2, 16, { insertInvProb: 1 });
    expect(t.slot1(0x53)).toBe(3);
    expect(t.slot2(0x53)).toBe(5);
    expect(t.insert(key(1), 0, 0x53, 10)).toBe("inserted"); // slot 3
    expect(t.insert(key(2), 0, 0x93, 20)).toBe("inserted"); // slot 3 taken: its slot 9
    expect(t.insert(key(3), 0, 0x73, 30)).toBe("inserted"); // slot 3 taken: its slot 7
    // A fourth key whose candidates are 3 (taken) and 0 (empty) takes the empty one.
    expect(t.slot2(0x9003)).toBe(0);
    expect(t.insert(key(4), 0, 0x9003, 40)).toBe("inserted");
    expect(t.evictions).toBe(0);
    expect([1, 2, 3, 4].map((n, i) => t.lookup(key(n), 0, [0x53, 0x93, 0x73, 0x9003][i] as number)))
      .toEqual([10, 20, 30, 40]);
    const u = new ExactTable(2, 16, { insertInvProb: 1 });
    u.insert(key(1), 0, 0x53, 10); // slot 3
    u.insert(key(2), 0, 0x93, 20); // slot 9
    expect(u.insert(key(5), 0, 0x39, 50)).toBe("evicted");
    // key 5's candidates are 9 (0x93) and 3 (0x53): 0x53 < 0x93, so key 1 goes.
    expect(u.evictions).toBe(1);
    expect(u.lookup(key(1), 0, 0x53)).toBe(-1);
    expect(u.lookup(key(2), 0, 0x93)).toBe(20);
    expect(u.lookup(key(5), 0, 0x39)).toBe(50);
    // Overwriting the same key is an update, not an insert.
    expect(u.insert(key(5), 0, 0x39, 51)).toBe("updated");
    expect(u.lookup(key(5), 0, 0x39)).toBe(51);
    expect(u.updates).toBe(1);
  });
  it("checks both candidates on lookup and never confuses keys with equal hashes", () => {
    const t = new ExactTable(2, 16, { insertInvProb: 1 });
    t.insert(key(1), 0, 0x21, 1); // slot 1
    t.insert(key(2), 0, 0x21, 2); // same hash, slot 1 taken: slot 2
    expect(t.lookup(key(1), 0, 0x21)).toBe(1);
    expect(t.lookup(key(2), 0, 0x21)).toBe(2);
    expect(t.lookup(key(3), 0, 0x21)).toBe(-1);
    expect(t.delete(key(1), 0, 0x21)).toBe(true);
    expect(t.lookup(key(2), 0, 0x21)).toBe(2);
    expect(t.deleteValue(2)).toBe(1);
    expect(t.size).toBe(0);
  });
});

describe("probabilistic insertion (emc-insert-inv-prob)", () => {
  it("inserts about 1/N of offers, repeatably per seed, and the counters add up", () => {
    const runs = [1, 2].map((seed) => {
      const t = new ExactTable(2, 1 << 16, { seed }); // default 1/100
      const k = new Uint32Array(2);
      const offers = 100_000;
      for (let i = 0; i < offers; i++) {
        k[0] = i; k[1] = ~i >>> 0;
        t.maybeInsert(k, 0, hashWords(k, 0, 2, 0), i);
      }
      expect(t.skipped + t.inserts + t.updates).toBe(offers);
      // Binomial(100000, 0.01): mean 1000, sd ~31. A loose bound that still catches 1/2 or 1/50.
      expect(t.inserts).toBeGreaterThan(850);
      expect(t.inserts).toBeLessThan(1150);
      return t.inserts;
    });
    const again = new ExactTable(2, 1 << 16, { seed: 1 });
    const k = new Uint32Array(2);
    for (let i = 0; i < 100_000; i++) { k[0] = i; k[1] = ~i >>> 0; again.maybeInsert(k, 0, hashWords(k, 0, 2, 0), i); }
    expect(again.inserts).toBe(runs[0]);
  });
  it("1 always inserts, 0 never does", () => {
    const k = Uint32Array.of(1, 2);
    const always = new ExactTable(2, 16, { insertInvProb: 1 });
    for (let i = 0; i < 100; i++) { k[0] = i; always.maybeInsert(k, 0, i * 7919, i); }
    expect(always.skipped).toBe(0);
    const never = new ExactTable(2, 16, { insertInvProb: 0 });
    for (let i = 0; i < 100; i++) { k[0] = i; never.maybeInsert(k, 0, i * 7919, i); }
    expect(never.inserts).toBe(0);
    expect(never.skipped).toBe(100);
  });
  it("rejects a capacity that is not a power of two", () => {
    expect(() => new ExactTable(2, 12)).toThrow(RangeError);
  });
});

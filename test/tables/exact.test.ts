// The exact-match table against two plain references: a linear list of every (key, value) ever
// inserted (a hit must return the latest value for that key, never another key's), and an
// obviously-written model of Open vSwitch's EMC slots (lib/dpif-netdev-private-dfc.h
// EMC_FOR_EACH_POS_WITH_HASH: candidates from two slices of the hash; lib/dpif-netdev.c
// emc_insert: overwrite the same key, else take an empty candidate, else evict the lower hash),
// which must agree hit for hit. The compact key form is checked against the plain key it came
// from, and every lookup entry point (full key, compact form, hinted) against the others.
import { describe, it, expect } from "vitest";
import { CompactKey, ExactTable, wordMap } from "../../src/tables/exact.ts";
import { flowHash5, hashWords } from "../../src/tables/hash.ts";
import { FLOW_WORDS, W } from "../../src/flow/key.ts";
import { rng } from "./rng.ts";
import { expectNoGc } from "../helpers.ts";

interface Slot {
  key: number[];
  hash: number;
  value: number;
}

/** The EMC model: an array of slots, each empty or holding one entry. */
class EmcModel {
  slots: (Slot | null)[];
  constructor(readonly capacity: number) {
    this.slots = new Array<Slot | null>(capacity).fill(null);
  }
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
      if (s && s.hash === hash && s.key.join() === key.join()) {
        s.value = value;
        return;
      }
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
      if (s && s.hash === hash && s.key.join() === key.join()) {
        this.slots[c] = null;
        return true;
      }
    }
    return false;
  }
}

describe("ExactTable against the references", () => {
  it.each([
    [4, 64, 1],
    [FLOW_WORDS, 256, 2],
    [3, 1, 3],
  ])("%i-word keys, %i slots, seed %i", (words, capacity, seed) => {
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
    expect([1, 2, 3, 4].map((n, i) => t.lookup(key(n), 0, [0x53, 0x93, 0x73, 0x9003][i] as number))).toEqual([
      10, 20, 30, 40,
    ]);
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
        k[0] = i;
        k[1] = ~i >>> 0;
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
    for (let i = 0; i < 100_000; i++) {
      k[0] = i;
      k[1] = ~i >>> 0;
      again.maybeInsert(k, 0, hashWords(k, 0, 2, 0), i);
    }
    expect(again.inserts).toBe(runs[0]);
  });
  it("1 always inserts, 0 never does", () => {
    const k = Uint32Array.of(1, 2);
    const always = new ExactTable(2, 16, { insertInvProb: 1 });
    for (let i = 0; i < 100; i++) {
      k[0] = i;
      always.maybeInsert(k, 0, i * 7919, i);
    }
    expect(always.skipped).toBe(0);
    const never = new ExactTable(2, 16, { insertInvProb: 0 });
    for (let i = 0; i < 100; i++) {
      k[0] = i;
      never.maybeInsert(k, 0, i * 7919, i);
    }
    expect(never.inserts).toBe(0);
    expect(never.skipped).toBe(100);
  });
  it("rejects a capacity that is not a power of two", () => {
    expect(() => new ExactTable(2, 12)).toThrow(RangeError);
  });
});

describe("compact keys (miniflow form)", () => {
  it("from() and fromHint() keep exactly the non-zero words, and expand() restores the key", () => {
    const r = rng(11);
    const ck = new CompactKey(FLOW_WORDS);
    const hinted = new CompactKey(FLOW_WORDS);
    const back = new Uint32Array(FLOW_WORDS + 2);
    for (let t = 0; t < 500; t++) {
      const key = new Uint32Array(FLOW_WORDS + 1);
      const present: number[] = [];
      for (let i = 0; i < FLOW_WORDS; i++) {
        if (r() % 5 === 0) {
          key[i + 1] = r() % 3 === 0 ? 0 : r() | 1;
          present.push(i);
        } // a hinted word may be 0
      }
      ck.from(key, 1);
      const nonZero = present.filter((i) => key[i + 1] !== 0);
      expect(ck.count).toBe(nonZero.length);
      expect([...ck.data.subarray(ck.mapWords, ck.mapWords + ck.count)]).toEqual(nonZero.map((i) => key[i + 1]));
      for (const i of nonZero) expect(((ck.data[i >>> 5] as number) >>> (i & 31)) & 1).toBe(1);
      expect((ck.data[ck.mapWords - 1] as number) >>> 24).toBe(nonZero.length + 1);
      hinted.fromHint(key, 1, wordMap(FLOW_WORDS, present));
      expect(hinted.count).toBe(ck.count);
      expect(hinted.data.subarray(0, ck.mapWords + ck.count)).toEqual(ck.data.subarray(0, ck.mapWords + ck.count));
      back.fill(0xdead);
      ck.expand(back, 1);
      expect(back.subarray(1, FLOW_WORDS + 1)).toEqual(key.subarray(1));
      expect(back[FLOW_WORDS + 1]).toBe(0xdead);
    }
  });
  it("wordMap rejects words outside the key", () => {
    expect(() => wordMap(FLOW_WORDS, [FLOW_WORDS])).toThrow(RangeError);
  });
});

describe("every lookup entry point agrees", () => {
  it.each([
    [18, 1],
    [4, 2],
    [FLOW_WORDS, 3],
  ])("inlineWords %i, seed %i: lookup, lookupCompact, lookupHinted, peek", (inlineWords, seed) => {
    // Keys of 3 to 30 non-zero words over a random subset of positions: some fit the slot, the
    // rest go to the side pool. Many share a hash on purpose (only 64 distinct hashes).
    const r = rng(seed);
    const t = new ExactTable(FLOW_WORDS, 256, { insertInvProb: 1, inlineWords });
    const pool = Array.from({ length: 600 }, () => {
      const key = new Uint32Array(FLOW_WORDS);
      const n = 3 + (r() % 28);
      const at: number[] = [];
      for (let j = 0; j < n; j++) {
        const i = r() % FLOW_WORDS;
        key[i] = 1 + (r() % 3);
        at.push(i);
      }
      // The hint: the words set plus some that are zero, as an extractor's layer maps would be.
      for (let j = 0; j < 4; j++) at.push(r() % FLOW_WORDS);
      return {
        key,
        hint: wordMap(
          FLOW_WORDS,
          at.filter((i) => key[i] !== 0 || r() % 2 === 0),
        ),
        hash: r() % 64,
      };
    });
    const ck = new CompactKey(FLOW_WORDS);
    const latest = new Map<number, number>();
    for (let step = 0; step < 5000; step++) {
      const k = r() % pool.length;
      const { key, hint, hash } = pool[k] as (typeof pool)[number];
      const op = r() % 10;
      if (op < 4) {
        const v = r() % 1000;
        if (op === 0) t.insertCompact(ck.from(key, 0), hash, v);
        else t.insert(key, 0, hash, v);
        latest.set(k, v);
      } else if (op === 4) {
        t.delete(key, 0, hash);
      } else {
        const a = t.peek(key, 0, hash);
        expect(t.lookup(key, 0, hash)).toBe(a);
        expect(t.lookupCompact(ck.from(key, 0), hash)).toBe(a);
        expect(t.lookupHinted(key, 0, hint, hash)).toBe(a);
        if (a !== -1) expect(a).toBe(latest.get(k));
      }
    }
    expect(t.size).toBe(t.inserts - t.evictions - t.deletes);
    let wide = 0;
    t.forEach((value, key, hash) => {
      expect(t.peek(key, 0, hash)).toBe(value);
      let n = 0;
      for (const w of key) if (w !== 0) n++;
      if (n > inlineWords) wide++;
    });
    expect(t.wide).toBe(wide);
    if (inlineWords < FLOW_WORDS) expect(wide).toBeGreaterThan(0);
  });
  it("a key differing only in a word outside the hint is not taken for the stored one", () => {
    const t = new ExactTable(FLOW_WORDS, 16, { insertInvProb: 1 });
    const key = new Uint32Array(FLOW_WORDS);
    key[W.IN_PORT] = 1;
    key[W.NW_SRC] = 0x0a000001;
    key[W.TP] = 80;
    const withTun = Uint32Array.from(key);
    withTun[W.TUN_ID_LO] = 5;
    t.insert(withTun, 0, 7, 1);
    expect(t.lookupHinted(key, 0, wordMap(FLOW_WORDS, [W.IN_PORT, W.NW_SRC, W.TP]), 7)).toBe(-1);
    t.insert(key, 0, 7, 2);
    expect(t.lookupHinted(key, 0, wordMap(FLOW_WORDS, [W.IN_PORT, W.NW_SRC, W.TP, W.TUN_ID_LO]), 7)).toBe(2);
  });
  it("reports its memory: 92-byte slots for 65-word keys by default", () => {
    const t = new ExactTable(FLOW_WORDS, 1024);
    expect(t.bytesPerSlot).toBe(92); // hash, value, 3 bitmap words, 18 packed words
    expect(t.memoryBytes).toBe(92 * 1024);
  });
});

describe("lookups allocate nothing", () => {
  it("runs 3 million lookups of each kind without a garbage collection", async () => {
    // Why counting collections shows an allocation: expectNoGc (test/helpers.ts).
    const n = 4096;
    const keys = new Uint32Array(n * FLOW_WORDS);
    for (let i = 0; i < n; i++) {
      const b = i * FLOW_WORDS;
      keys[b + W.IN_PORT] = 1 + (i & 3);
      keys[b + W.DL_TYPE] = 0x0800;
      keys[b + W.NW_SRC] = (0x0a000000 + i) >>> 0;
      keys[b + W.NW_DST] = 0xc0a80001;
      keys[b + W.NW_PROTO_TOS_TTL_FRAG] = 6 << 24;
      keys[b + W.TP] = ((1024 + i) << 16) | 80;
      if (i % 7 === 0) for (let j = 0; j < 20; j++) keys[b + W.REG0 - 10 + j] = j + 1; // wide keys
    }
    const t = new ExactTable(FLOW_WORDS, 8192, { insertInvProb: 1 });
    const hashes = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      hashes[i] = flowHash5(keys, i * FLOW_WORDS);
      t.insert(keys, i * FLOW_WORDS, hashes[i] as number, i);
    }
    const hint = wordMap(
      FLOW_WORDS,
      Array.from({ length: FLOW_WORDS }, (_, i) => i),
    );
    const ck = new CompactKey(FLOW_WORDS);
    const loop = (count: number): number => {
      let s = 0;
      for (let j = 0; j < count; j++) {
        const i = (j * 613) & (n - 1);
        const off = i * FLOW_WORDS;
        const h = flowHash5(keys, off);
        s =
          (s +
            t.lookup(keys, off, h) +
            t.lookupCompact(ck.from(keys, off), h) +
            t.lookupHinted(keys, off, hint, h) +
            t.peek(keys, off, hashes[i] as number)) |
          0;
      }
      return s;
    };
    const s = await expectNoGc(loop, { warmup: 100_000, iterations: 3_000_000 });
    expect(s).not.toBe(0);
    expect(t.hits).toBeGreaterThan(0);
  });
});

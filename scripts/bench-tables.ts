// Benchmarks for src/tables/: the flow hash, the exact-match table, the tuple-space table, the
// classifier and the route table, each against a simple baseline written here and run in the
// same process, interleaved, so the ratio survives a shared and noisy machine better than the
// absolute figures do. Run with `npx tsx scripts/bench-tables.ts` (add `--quick` for a smaller,
// faster pass, `--exact` for the hashes and the exact-match table only). Prints one table;
// figures are medians of several runs.
//
// The exact-match rows price what the datapath pays per packet: the extractor has written the
// key into a reusable buffer (writeFlow here, ten stores), then flowHash5, then the lookup, either
// lookupHinted (the extractor's map of the words it wrote) or compacting the whole key first, or
// the full-key design the table used before. The baseline is a bare single-probe table keyed by
// one u32 with the hash given, the floor for any hash lookup on this machine.

import xxhash from "xxhash-wasm";
import { FLOW_WORDS, W } from "../src/flow/key.ts";
import { flowHash5, hashFinish, hashWordList, hashWords } from "../src/tables/hash.ts";
import { CompactKey, ExactTable, wordMap } from "../src/tables/exact.ts";
import { TupleTable } from "../src/tables/tuple.ts";
import { Classifier } from "../src/tables/classifier.ts";
import { LpmTable } from "../src/tables/lpm.ts";

const QUICK = process.argv.includes("--quick");
const EXACT_ONLY = process.argv.includes("--exact");
const RUNS = QUICK ? 3 : 7;
const FW = FLOW_WORDS;

let seed = 12345;
function rand(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

let sink = 0; // results feed this so the JIT cannot drop the loops

/** Median operations per second of `fn` (which performs `ops` operations) over RUNS runs; the
 *  candidates are interleaved run by run. */
function race(ops: number, fns: (() => number)[]): number[] {
  for (const f of fns) sink ^= f(); // warm-up
  const samples = fns.map(() => [] as number[]);
  for (let r = 0; r < RUNS; r++) {
    fns.forEach((f, i) => {
      const t0 = process.hrtime.bigint();
      sink ^= f();
      const ns = Number(process.hrtime.bigint() - t0);
      (samples[i] as number[]).push(ops / (ns / 1e9));
    });
  }
  return samples.map((s) => {
    s.sort((a, b) => a - b);
    return s[s.length >> 1] as number;
  });
}

const rows: [string, string, string, string][] = [];
function row(what: string, ours: number, baseline: string, base: number): void {
  rows.push([what, (ours / 1e6).toFixed(2), `${baseline} ${(base / 1e6).toFixed(2)}`, (ours / base).toFixed(2)]);
  console.error(`  ${what}: ${(ours / 1e6).toFixed(2)} M/s vs ${baseline} ${(base / 1e6).toFixed(2)} M/s`);
}

/** Write flow `i` (IPv4/TCP between many hosts, 10 non-zero words) at keys[b ..]; the other
 *  words must already be 0. */
function writeFlow(keys: Uint32Array, b: number, i: number): void {
  keys[b + W.IN_PORT] = 1 + (i & 7);
  keys[b + W.DL_DST_HI] = 0x0200;
  keys[b + W.DL_DST_LO] = 0x00000001 + (i & 0xff);
  keys[b + W.DL_SRC_HI] = 0x0200;
  keys[b + W.DL_SRC_LO] = 0x00010000 + ((i >>> 8) & 0xff);
  keys[b + W.DL_TYPE] = 0x0800;
  keys[b + W.NW_SRC] = (0x0a000000 | (i & 0xffffff)) >>> 0;
  keys[b + W.NW_DST] = (0xc0a80000 | ((i * 2654435761) >>> 16)) >>> 0;
  keys[b + W.NW_PROTO_TOS_TTL_FRAG] = (6 << 24) | (64 << 8);
  keys[b + W.TP] = (((1024 + (i >>> 24) * 997 + (i % 50000)) & 0xffff) << 16) | 80;
}

/** `n` realistic flow keys, FW words each, in one array. */
function makeFlows(n: number): Uint32Array {
  const keys = new Uint32Array(n * FW);
  for (let i = 0; i < n; i++) writeFlow(keys, i * FW, i);
  return keys;
}

function randomOrder(n: number, count: number): Uint32Array {
  const o = new Uint32Array(count);
  for (let i = 0; i < count; i++) o[i] = rand() % n;
  return o;
}

// ---------------------------------------------------------------- the flow hash vs xxhash-wasm
async function benchHash(): Promise<void> {
  const { h32Raw } = await xxhash();
  const n = 1024;
  const keys = makeFlows(n);
  const bytes = Array.from({ length: n }, (_, i) => new Uint8Array(keys.buffer, i * FW * 4, FW * 4));
  const L = QUICK ? 200_000 : 1_000_000;
  const order = randomOrder(n, L);
  const [ours, xx] = race(L, [
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) s ^= hashWords(keys, (order[j] as number) * FW, FW, 0);
      return s;
    },
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) s ^= h32Raw(bytes[order[j] as number] as Uint8Array, 0);
      return s;
    },
  ]) as [number, number];
  row("hash 65 words (260 B)", ours, "xxhash-wasm h32Raw", xx);
  // The exact-match caches' hash: 17 words of the 5-tuple, against the whole key through hashWords.
  const [five, whole] = race(L, [
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) s ^= flowHash5(keys, (order[j] as number) * FW);
      return s;
    },
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) s ^= hashWords(keys, (order[j] as number) * FW, FW, 0);
      return s;
    },
  ]) as [number, number];
  row("flowHash5 (5-tuple words)", five, "hashWords 65 words", whole);
  // What the megaflow cache actually hashes: four masked words picked out of the key.
  const idx = Int32Array.of(W.IN_PORT, W.DL_TYPE, W.NW_DST, W.TP);
  const mv = Uint32Array.of(0xffffffff, 0xffff, 0xffffff00, 0xffff);
  const small = bytes.map((b) => b.subarray(0, 16));
  const [list, xx16] = race(L, [
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) s ^= hashFinish(hashWordList(keys, (order[j] as number) * FW, idx, mv, 0, 4, 0), 16);
      return s;
    },
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) s ^= h32Raw(small[order[j] as number] as Uint8Array, 0);
      return s;
    },
  ]) as [number, number];
  row("hash 4 masked words", list, "xxhash-wasm h32Raw 16 B", xx16);
}

// ---------------------------------------------------------------- exact match
class SingleProbe {
  // the baseline: one probe, one word compared
  keys: Uint32Array;
  vals: Int32Array;
  mask: number;
  constructor(cap: number) {
    this.keys = new Uint32Array(cap);
    this.vals = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
  }
  insert(k: number, h: number, v: number): void {
    const s = h & this.mask;
    this.keys[s] = k;
    this.vals[s] = v;
  }
  lookup(k: number, h: number): number {
    const s = h & this.mask;
    return this.keys[s] === k ? (this.vals[s] as number) : -1;
  }
}

/** The other design the EMC could have: full 65-word keys, the stored hash compared first, then
 *  the words most likely to differ (ports, addresses), with an early exit. Same two candidates. */
class FullKeyEmc {
  keys: Uint32Array;
  hashes: Uint32Array;
  vals: Uint32Array;
  live: Uint8Array;
  mask: number;
  bits: number;
  static ORDER = Int32Array.from([
    W.TP,
    W.NW_SRC,
    W.NW_DST,
    ...Array.from({ length: FW }, (_, i) => i).filter((i) => i !== W.TP && i !== W.NW_SRC && i !== W.NW_DST),
  ]);
  constructor(cap: number) {
    this.keys = new Uint32Array(cap * FW);
    this.hashes = new Uint32Array(cap);
    this.vals = new Uint32Array(cap);
    this.live = new Uint8Array(cap);
    this.mask = cap - 1;
    this.bits = 31 - Math.clz32(cap);
  }
  get memoryBytes(): number {
    return this.keys.byteLength + this.hashes.byteLength + this.vals.byteLength + this.live.byteLength;
  }
  insert(key: Uint32Array, off: number, h: number, v: number): void {
    const s1 = h & this.mask;
    const s2 = ((h >>> this.bits) | (h << (32 - this.bits))) & this.mask;
    const t =
      this.live[s1] === 0
        ? s1
        : this.live[s2] === 0
          ? s2
          : (this.hashes[s2] as number) < (this.hashes[s1] as number)
            ? s2
            : s1;
    this.live[t] = 1;
    this.hashes[t] = h;
    this.vals[t] = v;
    for (let i = 0; i < FW; i++) this.keys[t * FW + i] = key[off + i] as number;
  }
  lookup(key: Uint32Array, off: number, h: number): number {
    let s = h & this.mask;
    if (this.live[s] === 1 && this.hashes[s] === h && this.equal(s, key, off)) return this.vals[s] as number;
    s = ((h >>> this.bits) | (h << (32 - this.bits))) & this.mask;
    if (this.live[s] === 1 && this.hashes[s] === h && this.equal(s, key, off)) return this.vals[s] as number;
    return -1;
  }
  private equal(s: number, key: Uint32Array, off: number): boolean {
    const o = FullKeyEmc.ORDER;
    const b = s * FW;
    const k = this.keys;
    for (let i = 0; i < FW; i++) {
      const w = o[i] as number;
      if (k[b + w] !== key[off + w]) return false;
    }
    return true;
  }
}

const memRows: string[] = [];

function benchExact(n: number): void {
  const keys = makeFlows(n);
  const hashes = new Uint32Array(n);
  for (let i = 0; i < n; i++) hashes[i] = flowHash5(keys, i * FW);
  let cap = 1;
  while (cap < n * 2) cap *= 2;
  const t = new ExactTable(FW, cap, { insertInvProb: 1 });
  const full = new FullKeyEmc(cap);
  const base = new SingleProbe(cap);
  const ck = new CompactKey(FW);
  // The words writeFlow() sets (and TCP flags, which an extractor of TCP also writes): the hint an
  // extractor passes after writing Ethernet, IPv4 and TCP.
  const hint = wordMap(FW, [
    W.IN_PORT,
    W.DL_DST_HI,
    W.DL_DST_LO,
    W.DL_SRC_HI,
    W.DL_SRC_LO,
    W.DL_TYPE,
    W.NW_SRC,
    W.NW_DST,
    W.NW_PROTO_TOS_TTL_FRAG,
    W.TP,
    W.TCP_FLAGS,
  ]);
  // Every flow's compact form, for the lookup-only row (what a caller that kept it pays).
  const cks = Array.from({ length: n }, () => new CompactKey(FW));
  for (let i = 0; i < n; i++) {
    t.insert(keys, i * FW, hashes[i] as number, i);
    full.insert(keys, i * FW, hashes[i] as number, i);
    base.insert(keys[i * FW + W.NW_SRC] as number, hashes[i] as number, i);
  }
  for (let i = 0; i < cks.length; i++) (cks[i] as CompactKey).from(keys, i * FW);
  const L = QUICK ? 300_000 : 2_000_000;
  const order = randomOrder(n, L);
  // The packet's key buffer, as extraction leaves it: zero but for the fields it wrote.
  const pkt = new Uint32Array(FW);
  t.hits = 0;
  t.misses = 0;
  const [b, lookupOnly, perPacketHint, perPacket, perPacketFull] = race(L, [
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) {
        const f = order[j] as number;
        s += base.lookup(keys[f * FW + W.NW_SRC] as number, hashes[f] as number);
      }
      return s;
    },
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) {
        const f = order[j] as number;
        s += t.lookupCompact(cks[f] as CompactKey, hashes[f] as number);
      }
      return s;
    },
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) {
        writeFlow(pkt, 0, order[j] as number);
        s += t.lookupHinted(pkt, 0, hint, flowHash5(pkt, 0));
      }
      return s;
    },
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) {
        writeFlow(pkt, 0, order[j] as number);
        s += t.lookupCompact(ck.from(pkt, 0), flowHash5(pkt, 0));
      }
      return s;
    },
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) {
        writeFlow(pkt, 0, order[j] as number);
        s += full.lookup(pkt, 0, flowHash5(pkt, 0));
      }
      return s;
    },
  ]) as [number, number, number, number, number];
  const hitRate = t.hits / (t.hits + t.misses);
  const nn = n.toLocaleString("en");
  row(
    `exact ${nn} flows (cap ${cap}, hit ${(hitRate * 100).toFixed(0)}%), lookup only`,
    lookupOnly,
    "single-probe u32",
    b,
  );
  row(`exact ${nn}: write key+flowHash5+lookupHinted`, perPacketHint, "single-probe u32", b);
  row(`exact ${nn}: write key+flowHash5+compact+lookup`, perPacket, "single-probe u32", b);
  row(`exact ${nn}: same, full-key alternative`, perPacketFull, "single-probe u32", b);
  memRows.push(
    `memory per cached flow, ${nn} flows: compact ${(t.memoryBytes / t.size).toFixed(0)} B ` +
      `(${t.bytesPerSlot} B/slot x ${cap} slots, ${t.size.toLocaleString("en")} live, ${t.wide} wide), ` +
      `full-key ${(full.memoryBytes / t.size).toFixed(0)} B (${full.memoryBytes / cap} B/slot)`,
  );
}

// ---------------------------------------------------------------- masked lookups
/** The naive masked lookup: per mask, build the masked key, hash all of it, probe, compare all. */
class NaiveMasked {
  masks: Uint32Array[] = [];
  tables: { keys: Uint32Array; used: Uint8Array; vals: Int32Array; mask: number }[] = [];
  scratch = new Uint32Array(FW);
  add(mask: Uint32Array, cap: number): void {
    this.masks.push(mask);
    this.tables.push({
      keys: new Uint32Array(cap * FW),
      used: new Uint8Array(cap),
      vals: new Int32Array(cap),
      mask: cap - 1,
    });
  }
  insert(m: number, key: Uint32Array, off: number, v: number): void {
    const mask = this.masks[m] as Uint32Array;
    const t = this.tables[m] as NaiveMasked["tables"][number];
    for (let i = 0; i < FW; i++) this.scratch[i] = (key[off + i] as number) & (mask[i] as number);
    let s = hashWords(this.scratch, 0, FW, 0) & t.mask;
    while (t.used[s] === 1) s = (s + 1) & t.mask;
    t.used[s] = 1;
    t.vals[s] = v;
    t.keys.set(this.scratch, s * FW);
  }
  lookup(key: Uint32Array, off: number): number {
    const sc = this.scratch;
    for (let m = 0; m < this.masks.length; m++) {
      const mask = this.masks[m] as Uint32Array;
      const t = this.tables[m] as NaiveMasked["tables"][number];
      for (let i = 0; i < FW; i++) sc[i] = (key[off + i] as number) & (mask[i] as number);
      let s = hashWords(sc, 0, FW, 0) & t.mask;
      while (t.used[s] === 1) {
        const b = s * FW;
        let i = 0;
        while (i < FW && t.keys[b + i] === sc[i]) i++;
        if (i === FW) return t.vals[s] as number;
        s = (s + 1) & t.mask;
      }
    }
    return -1;
  }
}

/** Masks touching a few words each, all different, as megaflows have. */
function makeMasks(count: number): Uint32Array[] {
  const fields = [W.IN_PORT, W.DL_TYPE, W.DL_DST_LO, W.VLAN0, W.NW_SRC, W.NW_DST, W.NW_PROTO_TOS_TTL_FRAG, W.TP];
  const masks: Uint32Array[] = [];
  for (let c = 0; masks.length < count; c++) {
    const m = new Uint32Array(FW);
    m[W.IN_PORT] = 0xffffffff; // every megaflow matches in_port
    for (let f = 1; f < fields.length; f++)
      if ((c >> (f - 1)) & 1) m[fields[f] as number] = f === 5 ? 0xffffff00 : 0xffffffff;
    masks.push(m);
  }
  return masks;
}

function benchTuple(nMasks: number): void {
  const perMask = 1000;
  const n = nMasks * perMask;
  const keys = makeFlows(n);
  const masks = makeMasks(nMasks);
  const t = new TupleTable(FW, { sortInterval: 0 });
  const naive = new NaiveMasked();
  for (const m of masks) naive.add(m, 4096);
  const owner = new Uint8Array(n); // flow i is covered by an entry of mask owner[i]
  for (let i = 0; i < n; i++) {
    const m = i % nMasks;
    owner[i] = m;
    const r = t.insert(keys, masks[m] as Uint32Array, i, i * FW);
    if (r === "inserted") naive.insert(m, keys, i * FW, i);
  }
  const L = QUICK ? 200_000 : 1_000_000;
  const order = randomOrder(n, L);
  const [ours, b] = race(L, [
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) s += t.lookup(keys, (order[j] as number) * FW);
      return s;
    },
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) s += naive.lookup(keys, (order[j] as number) * FW);
      return s;
    },
  ]) as [number, number];
  row(`tuple ${nMasks} subtable${nMasks > 1 ? "s" : ""}, hits spread evenly`, ours, "naive mask+hash+probe", b);
}

// ---------------------------------------------------------------- classifier
function benchClassifier(nRules: number): void {
  // OpenFlow-like tables: a few dozen match shapes, priorities by shape, values from real flows.
  const shapes = makeMasks(32);
  const flows = makeFlows(nRules);
  const c = new Classifier();
  const naive = new NaiveMasked();
  for (const m of shapes) naive.add(m, 1 << 14);
  for (let i = 0; i < nRules; i++) {
    const s = i % shapes.length;
    const mask = shapes[s] as Uint32Array;
    const priority = 100 + (popcount(mask) % 7) * 10;
    if (c.find(flows.subarray(i * FW, i * FW + FW), mask, priority) === -1) {
      c.insert(flows.subarray(i * FW, i * FW + FW), mask, priority, i);
      naive.insert(s, flows, i * FW, i);
    }
  }
  const wc = new Uint32Array(FW);
  const L = QUICK ? 100_000 : 500_000;
  const order = randomOrder(nRules, L);
  const [ours, b] = race(L, [
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) {
        wc.fill(0);
        s += c.lookup(flows, wc, (order[j] as number) * FW);
      }
      return s;
    },
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) s += naive.lookup(flows, (order[j] as number) * FW);
      return s;
    },
  ]) as [number, number];
  row(
    `classifier ${nRules.toLocaleString("en")} rules, ${c.subtableCount} masks, with wc`,
    ours,
    "naive first-hit, same masks",
    b,
  );
}

/** The same table with and without prefix tries on nw_dst/nw_src (what OpenFlow tables use,
 *  classifier.ts), so the ratio is the price (or gain) of the tries per lookup with wc. */
function benchClassifierTries(nRules: number): void {
  const shapes = makeMasks(32);
  const flows = makeFlows(nRules);
  const plain = new Classifier();
  const tries = new Classifier(FW, { prefixes: ["nw_dst", "nw_src"] });
  for (let i = 0; i < nRules; i++) {
    const mask = shapes[i % shapes.length] as Uint32Array;
    const priority = 100 + (popcount(mask) % 7) * 10;
    const key = flows.subarray(i * FW, i * FW + FW);
    if (plain.find(key, mask, priority) === -1) {
      plain.insert(key, mask, priority, i);
      tries.insert(key, mask, priority, i);
    }
  }
  const wc = new Uint32Array(FW);
  const L = QUICK ? 100_000 : 500_000;
  const order = randomOrder(nRules, L);
  const [ours, b] = race(L, [
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) {
        wc.fill(0);
        s += tries.lookup(flows, wc, (order[j] as number) * FW);
      }
      return s;
    },
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) {
        wc.fill(0);
        s += plain.lookup(flows, wc, (order[j] as number) * FW);
      }
      return s;
    },
  ]) as [number, number];
  row(`classifier ${nRules.toLocaleString("en")} rules, nw_dst+nw_src tries, with wc`, ours, "same without tries", b);
}

function popcount(m: Uint32Array): number {
  let n = 0;
  for (const w of m) {
    let x = w;
    while (x) {
      x &= x - 1;
      n++;
    }
  }
  return n;
}

// ---------------------------------------------------------------- routes
/** The baseline: a binary trie over typed arrays, one bit per step. */
class BitTrie {
  child = new Int32Array(2 * 1024 * 1024).fill(-1);
  val = new Int32Array(1024 * 1024).fill(-1);
  nodes = 1;
  insert(addr: number, len: number, v: number): void {
    let n = 0;
    for (let i = 0; i < len; i++) {
      const bit = (addr >>> (31 - i)) & 1;
      let c = this.child[n * 2 + bit] as number;
      if (c < 0) {
        c = this.nodes++;
        this.child[n * 2 + bit] = c;
      }
      n = c;
    }
    this.val[n] = v;
  }
  lookup(addr: number): number {
    let n = 0;
    let best = this.val[0] as number;
    for (let i = 0; i < 32; i++) {
      n = this.child[n * 2 + ((addr >>> (31 - i)) & 1)] as number;
      if (n < 0) break;
      const v = this.val[n] as number;
      if (v >= 0) best = v;
    }
    return best;
  }
}

function benchLpm(nRoutes: number): void {
  const t = new LpmTable(1);
  const trie = new BitTrie();
  const lens = [32, 24, 24, 24, 16, 8];
  const one = new Uint32Array(1);
  t.insert(one, 0, 0);
  trie.insert(0, 0, 0);
  for (let i = 1; i < nRoutes; i++) {
    const len = lens[i % lens.length] as number;
    const a = (rand() & (len === 0 ? 0 : 0xffffffff << (32 - len))) >>> 0;
    one[0] = a;
    t.insert(one, len, i);
    trie.insert(a, len, i);
  }
  const L = QUICK ? 200_000 : 1_000_000;
  const addrs = new Uint32Array(L);
  for (let j = 0; j < L; j++) addrs[j] = rand();
  const [ours, b] = race(L, [
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) s += t.lookupU32(addrs[j] as number);
      return s;
    },
    () => {
      let s = 0;
      for (let j = 0; j < L; j++) s += trie.lookup(addrs[j] as number);
      return s;
    },
  ]) as [number, number];
  row(`lpm IPv4 ${nRoutes.toLocaleString("en")} routes, 5 lengths`, ours, "binary trie", b);
}

// ---------------------------------------------------------------- main
await benchHash();
benchExact(10_000);
benchExact(QUICK ? 100_000 : 1_000_000);
if (!EXACT_ONLY) {
  for (const m of [1, 4, 16]) benchTuple(m);
  benchClassifier(1_000);
  benchClassifier(QUICK ? 10_000 : 100_000);
  benchClassifierTries(1_000);
  benchLpm(10_000);
}

const head: [string, string, string, string] = ["benchmark", "ours M/s", "baseline M/s", "ratio"];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i] as number)).join("  ");
console.log(`node ${process.version}, medians of ${RUNS} runs${QUICK ? " (--quick)" : ""}`);
console.log(line(head));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of rows) console.log(line(r));
for (const m of memRows) console.log(m);
if (sink === 0.5) console.log(""); // keep `sink` observable

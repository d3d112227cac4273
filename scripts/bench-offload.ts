// Benchmark of the whole offload hierarchy through the host engine (src/host/engine.ts): packets
// per second on one core for 64-byte frames (60 bytes without the FCS) handed to
// HostEngine.receive() on a port, for each tier of issue 7's "Speed" section, and flow setups per
// second. The engine is built as /tmp/lead/smoke.ts builds it, from configuration rows with no
// daemon: bridge br0 (datapath_type=dummy, fail_mode=secure) with an uplink pf0 (2 VFs,
// represented by pf0vf0 = ofport 1 and pf0vf1 = ofport 2) and two dummy ports p3, p4.
//
//   nic-l1      hw-offload=true, rule in_port=1,ip,actions=output:2; 10k flows (UDP source port
//               and nw_dst vary) under the one offloaded megaflow, after a warm-up pass that
//               installed every L1 entry;
//   nic-l2      the same with options:hw-l1-entries=1 on the uplink. The engine takes 1 as the
//               smallest L1 (it refuses 0), so every packet is an L2 hit that then evicts the
//               single L1 entry: the figure is an L2 hit plus its L1 learning, as the hardware
//               would do it;
//   nic-l2x16   the same with 16 rules nw_dst=10.m.0.0/(16+m), which translate to 16 megaflows
//               of 16 different masks; traffic spread evenly over them;
//   dp-megaflow hw-offload=false, rule in_port=3,ip,actions=output:4 between dummy ports, and
//               other_config:emc-insert-inv-prob=0 (no EMC);
//   dp-emc      the same with emc-insert-inv-prob=1 and 4096 flows (the EMC has 8192 entries);
//   setup       every packet a new flow: rules priority=10,in_port=1,dl_src=00:00:00:00:00:01,
//               actions=drop and priority=1,in_port=1,ip,actions=output:2, packets with a new
//               dl_src each (dl_src has no prefix trie, so each megaflow matches it exactly; with
//               nw_dst or tp_dst the tries merge them), with hw-offload on (upcall, translation,
//               install, offer to the NIC's L2) and off. A fresh engine per run.
// Each tier's count is checked after the timed passes (an "L1" figure that was really L2 hits
// would mislead). Baselines in the same run: pool.load() + release() of the frame, which
// receive() does before anything else (receiveSlot() is the path without it; its figure is
// printed for the L1 and megaflow tiers), parse only, parse + extract. Goals from issue 7: 14.88
// Mpps (10GbE line rate) for L1 hits, 5 Mpps for megaflow hits, 100,000 flow setups/s.
// Memory per cached flow: process.memoryUsage() (heap + external) after a full GC, around
// installing 100k flows with hw-offload off (datapath only) and on (datapath + NIC L2); the L1
// tracker is preallocated, so its share is its table size over its entries.
//
// Run: `npx tsx scripts/bench-offload.ts` (`--quick` for fewer packets; `--only NAME[,NAME]` for
// some cases, e.g. under `node --cpu-prof --import tsx`). Medians of 5 runs; the machine is
// shared and noisy, so read the ratios, which compare figures of the same run.

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { HostEngine } from "../src/host/engine.ts";
import { addPort, newBridge, newInterface } from "../src/ovsdb/config.ts";
import type { Netdev } from "../src/host/netdev.ts";
import { hex } from "../src/wire/bytes.ts";
import { PacketParser } from "../src/wire/parse.ts";
import { OUTER, newOffsets } from "../src/wire/offsets.ts";
import { PacketPool } from "../src/dp/pool.ts";
import { FlowExtractor } from "../src/flow/extract.ts";
import { FLOW_WORDS, W, newFlowKey } from "../src/flow/key.ts";
import { ExactTable } from "../src/tables/exact.ts";

const QUICK = process.argv.includes("--quick");
const onlyArg = process.argv.indexOf("--only");
const ONLY = onlyArg > 0 ? new Set((process.argv[onlyArg + 1] ?? "").split(",")) : null;
const RUNS = 5;
const N = QUICK ? 300_000 : 1_000_000;
const FLOWS = 10_000;
const EMC_FLOWS = 4096;
const SETUPS = QUICK ? 5_000 : 20_000; // new flows per setup run
const MEM_FLOWS = 100_000;
const LINE_RATE = 14.88e6;
const MEGAFLOW_GOAL = 5e6;
const SETUP_GOAL = 1e5;

// The frame of scripts/bench-extract.ts: 52:54:00:00:00:01 -> :02, IPv4 192.0.2.1 ->
// 198.51.100.2 (total length 46, DF, TTL 64, header checksum 0x3c54), UDP 40000 -> 9 (length 26,
// no checksum), 18 bytes 00..11; tshark 4.0 reads it with no expert info. The variants below
// change addresses and ports without fixing the IPv4 checksum, which nothing here verifies.
const UDP64 = hex(
  "52540000000252540000000108004500002e1234400040113c54c0000201c63364029c400009001a0000" +
    "000102030405060708090a0b0c0d0e0f1011",
);
const LEN = UDP64.length;

let sink = 0;
const want = (name: string): boolean => ONLY === null || ONLY.has(name);
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}
/** Median packets/s of RUNS timed calls of fn(n), after one untimed call of n/10 (the JIT). */
function rate(fn: (n: number) => number, n = N, runs = RUNS): number {
  sink ^= fn(Math.max(1, Math.floor(n / 10)));
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    sink ^= fn(n);
    rates.push(n / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  return median(rates);
}
const rows: { name: string; pps: number; goal: number | null }[] = [];
function report(name: string, pps: number, goal: number | null = null, note = ""): void {
  rows.push({ name, pps, goal });
  const g = goal === null ? "" : `  ${(pps / goal).toFixed(2)}x goal`;
  console.log(`${name.padEnd(50)} ${(pps / 1e6).toFixed(3).padStart(7)} M/s${g}${note}`);
}

/** `n` copies of UDP64 in one buffer; vary(dv, off, i) rewrites copy i. */
function frames(n: number, vary: (dv: DataView, off: number, i: number) => void): Uint8Array[] {
  const buf = new Uint8Array(n * 64);
  const dv = new DataView(buf.buffer);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    buf.set(UDP64, i * 64);
    vary(dv, i * 64, i);
    out.push(buf.subarray(i * 64, i * 64 + LEN));
  }
  return out;
}
/** Flow i: UDP source port 1024 + i, nw_dst 198.51.x.y from i (10k distinct 5-tuples). */
const fiveTuple = (dv: DataView, off: number, i: number): void => {
  dv.setUint16(off + 34, 1024 + (i & 0x7fff));
  dv.setUint32(off + 30, (0xc6330000 | (i & 0xffff)) >>> 0);
};

interface Build {
  other: Record<string, string>;
  nic?: Record<string, string>;
  rules: string[];
  poolSlots?: number;
}
function build(b: Build): HostEngine {
  const br = newBridge("br0", "dummy", "secure");
  addPort(br, newInterface("pf0", "uplink", { n_vfs: "2", ...b.nic }, 10));
  addPort(br, newInterface("pf0vf0", "vf", { pf: "pf0", vf: "0" }, 1));
  addPort(br, newInterface("pf0vf1", "vf", { pf: "pf0", vf: "1" }, 2));
  addPort(br, newInterface("p3", "dummy", {}, 3));
  addPort(br, newInterface("p4", "dummy", {}, 4));
  const root = { bridges: [br], other_config: new Map(Object.entries(b.other)) };
  const e = new HostEngine({ db: { root }, log: () => {}, poolSlots: b.poolSlots ?? 256 });
  e.reconfigure();
  for (const p of br.ports) {
    const err = p.interfaces[0]?.error;
    if (err) throw new Error(`${p.name}: ${err}`);
  }
  for (const r of b.rules) {
    const res = e.ofctl(["add-flow", "br0", r], { cwd: "/tmp" });
    if (res.code !== 0) throw new Error(`add-flow ${r}: ${res.stderr}`);
  }
  return e;
}
function dev(e: HostEngine, name: string): Netdev {
  const d = e.devByName(name);
  if (d === null) throw new Error(`no port ${name}`);
  return d;
}

/** receive() of the frames in turn: the engine copies each into a pool slot. */
function viaReceive(e: HostEngine, d: Netdev, fs: Uint8Array[]): (n: number) => number {
  return (n) => {
    for (let i = 0, j = 0; i < n; i++) {
      e.receive(d, fs[j] as Uint8Array);
      j = j + 1 === fs.length ? 0 : j + 1;
    }
    return e.pool.available;
  };
}
/**
 * receiveSlot() of frames already in the pool: no copy. The engine releases the slot when the
 * packet leaves; the pool's free list is a stack, so the next alloc() gives the same slot back,
 * bytes untouched (the only action is an output), and only its length needs restoring.
 */
function viaSlots(e: HostEngine, d: Netdev, slots: number[]): (n: number) => number {
  const pool = e.pool;
  return (n) => {
    for (let i = 0, j = 0; i < n; i++) {
      const s = slots[j] as number;
      e.receiveSlot(d, s);
      if (pool.alloc() !== s) throw new Error("the slot was not released");
      pool.len[s] = LEN;
      pool.origLen[s] = LEN;
      j = j + 1 === slots.length ? 0 : j + 1;
    }
    return pool.available;
  };
}

/** The frames loaded into slots of the engine's pool, for viaSlots(). */
function loadSlots(e: HostEngine, fs: Uint8Array[]): number[] {
  const slots = fs.map((f) => e.pool.load(f));
  if (slots.some((s) => s < 0)) throw new Error("pool too small");
  return slots;
}

/** Packets counted per tier between two snapshots of engine.tiers. */
function tierDelta(e: HostEngine, before: Float64Array): number[] {
  return Array.from(e.tiers, (v, i) => v - (before[i] as number));
}
const T = { L1: 0, L2: 1, EMC: 2, MEGAFLOW: 3, UPCALL: 4, DROP: 5 } as const;
/** Throws unless at least `share` of the packets since `before` were handled by `tier`. */
function expectTier(e: HostEngine, before: Float64Array, tier: number, share: number, what: string): string {
  const d = tierDelta(e, before);
  const total = d.reduce((a, b) => a + b, 0);
  const got = (d[tier] as number) / total;
  if (got < share) throw new Error(`${what}: only ${(100 * got).toFixed(1)}% in the intended tier (${d.join("/")})`);
  return got === 1 ? "" : `  (${(100 * got).toFixed(2)}% in tier)`;
}

const flows10k = frames(FLOWS, fiveTuple);

// --- baselines ------------------------------------------------------------------------------
const baseline: Record<string, number> = {};
if (want("baseline")) {
  const pool = new PacketPool(FLOWS + 16, 128);
  const slots = flows10k.map((f) => pool.load(f));
  const parser = new PacketParser();
  const x = new FlowExtractor();
  const key = newFlowKey();
  const o = newOffsets();
  if (!parser.parse(pool.dv, pool.start[slots[0] as number] as number, LEN, o)) throw new Error("UDP64 does not parse");
  baseline["copy"] = rate((n) => {
    let acc = 0;
    for (let i = 0, j = 0; i < n; i++) {
      const s = pool.load(flows10k[j] as Uint8Array);
      acc ^= s;
      pool.release(s);
      j = j + 1 === FLOWS ? 0 : j + 1;
    }
    return acc;
  });
  report("baseline: pool.load + release (receive's copy)", baseline["copy"]);
  baseline["parse"] = rate((n) => {
    for (let i = 0, j = 0; i < n; i++) {
      const s = slots[j] as number;
      parser.parse(pool.dv, pool.start[s] as number, LEN, o);
      j = j + 1 === FLOWS ? 0 : j + 1;
    }
    return o[OUTER] as number;
  });
  report("baseline: parse only", baseline["parse"]);
  baseline["extract"] = rate((n) => {
    let acc = 0;
    for (let i = 0, j = 0; i < n; i++) {
      const s = slots[j] as number;
      parser.parse(pool.dv, pool.start[s] as number, LEN, o);
      x.extract(pool.dv, o, OUTER, 1, key);
      acc ^= key[W.TP] as number;
      j = j + 1 === FLOWS ? 0 : j + 1;
    }
    return acc;
  });
  report("baseline: parse + extract", baseline["extract"]);
}

// --- NIC L1 hits ----------------------------------------------------------------------------
if (want("nic-l1")) {
  const e = build({
    other: { "hw-offload": "true" },
    rules: ["in_port=1,ip,actions=output:2"],
    poolSlots: FLOWS + 256,
  });
  const d = dev(e, "pf0vf0");
  viaReceive(e, d, flows10k)(FLOWS); // upcall, then L2 hits that install the L1 entries
  if (e.dp.count !== 1 || e.dp.list()[0]?.offload !== "offloaded")
    throw new Error("nic-l1: the megaflow is not offloaded");
  let before = Float64Array.from(e.tiers);
  report(
    `nic-l1: ${FLOWS} flows, receive()`,
    rate(viaReceive(e, d, flows10k)),
    LINE_RATE,
    expectTier(e, before, T.L1, 0.95, "nic-l1"),
  );
  before = Float64Array.from(e.tiers);
  const slots = loadSlots(e, flows10k);
  report(
    `nic-l1: same, receiveSlot() (no copy)`,
    rate(viaSlots(e, d, slots)),
    LINE_RATE,
    expectTier(e, before, T.L1, 0.95, "nic-l1 slots"),
  );
  // The eSwitch alone, as a VF's packet reaches it before any host code: the engine's hooks
  // still take the packet out (nicTx, portTx), but receiveSlot()'s bookkeeping is skipped.
  const esw = e.nics.get("pf0")?.esw;
  const vport = d.nic?.vport ?? -1;
  if (esw === undefined || vport < 0) throw new Error("nic-l1: no eSwitch");
  const pool = e.pool;
  const l1Before = esw.l1Hits;
  const total = (): number => esw.l1Hits + esw.l2Hits;
  const t0 = total();
  report(
    `nic-l1: same, eSwitch.rx() on the frame in its slot`,
    rate((n) => {
      for (let i = 0, j = 0; i < n; i++) {
        const s = slots[j] as number;
        esw.rx(vport, s);
        if (pool.alloc() !== s) throw new Error("the slot was not released");
        pool.len[s] = LEN;
        pool.origLen[s] = LEN;
        j = j + 1 === slots.length ? 0 : j + 1;
      }
      return esw.l1Hits;
    }),
    LINE_RATE,
  );
  if (esw.l1Hits - l1Before < 0.95 * (total() - t0)) throw new Error("nic-l1 eSwitch: too few L1 hits");
}

// --- NIC L2 hits ----------------------------------------------------------------------------
if (want("nic-l2")) {
  const e = build({
    other: { "hw-offload": "true" },
    nic: { "hw-l1-entries": "1" },
    rules: ["in_port=1,ip,actions=output:2"],
  });
  const d = dev(e, "pf0vf0");
  viaReceive(e, d, flows10k)(FLOWS);
  const before = Float64Array.from(e.tiers);
  report(
    "nic-l2: 1 mask (hw-l1-entries=1), receive()",
    rate(viaReceive(e, d, flows10k)),
    LINE_RATE,
    expectTier(e, before, T.L2, 0.95, "nic-l2"),
  );
}
if (want("nic-l2x16")) {
  // Rule m: nw_dst 10.m.0.0/(16+m); frame i goes to 10.(i%16).0.(i/16 & 1), so every rule's
  // traffic also differs in the bits just past its prefix.
  const dotted = (len: number) => [24, 16, 8, 0].map((s) => ((0xffffffff << (32 - len)) >>> s) & 255).join(".");
  const rules = Array.from(
    { length: 16 },
    (_, m) => `in_port=1,ip,nw_dst=10.${m}.0.0/${dotted(16 + m)},actions=output:2`,
  );
  const e = build({ other: { "hw-offload": "true" }, nic: { "hw-l1-entries": "1" }, rules });
  const fs = frames(FLOWS, (dv, off, i) => {
    dv.setUint16(off + 34, 1024 + i);
    dv.setUint32(off + 30, (0x0a000000 | ((i & 15) << 16) | ((i >>> 4) & 1)) >>> 0);
  });
  const d = dev(e, "pf0vf0");
  viaReceive(e, d, fs)(FLOWS);
  const esw = e.nics.get("pf0")?.esw;
  const masks = esw?.counters().masks ?? 0;
  const offloaded = e.dp.list().filter((f) => f.offload === "offloaded").length;
  if (masks !== 16 || offloaded !== e.dp.count)
    throw new Error(`nic-l2x16: ${masks} masks, ${offloaded}/${e.dp.count} flows offloaded`);
  const before = Float64Array.from(e.tiers);
  report(
    `nic-l2: 16 masks (${e.dp.count} megaflows), receive()`,
    rate(viaReceive(e, d, fs)),
    LINE_RATE,
    expectTier(e, before, T.L2, 0.95, "nic-l2x16"),
  );
}

// --- host datapath --------------------------------------------------------------------------
if (want("dp-megaflow")) {
  const e = build({
    other: { "hw-offload": "false", "emc-insert-inv-prob": "0" },
    rules: ["in_port=3,ip,actions=output:4"],
    poolSlots: FLOWS + 256,
  });
  const d = dev(e, "p3");
  viaReceive(e, d, flows10k)(FLOWS);
  let before = Float64Array.from(e.tiers);
  report(
    `dp-megaflow: ${FLOWS} flows, 1 mask, receive()`,
    rate(viaReceive(e, d, flows10k)),
    MEGAFLOW_GOAL,
    expectTier(e, before, T.MEGAFLOW, 0.99, "dp-megaflow"),
  );
  before = Float64Array.from(e.tiers);
  report(
    `dp-megaflow: same, receiveSlot() (no copy)`,
    rate(viaSlots(e, d, loadSlots(e, flows10k))),
    MEGAFLOW_GOAL,
    expectTier(e, before, T.MEGAFLOW, 0.99, "dp-megaflow slots"),
  );
}
if (want("dp-emc")) {
  const e = build({
    other: { "hw-offload": "false", "emc-insert-inv-prob": "1" },
    rules: ["in_port=3,ip,actions=output:4"],
  });
  const fs = flows10k.slice(0, EMC_FLOWS);
  const d = dev(e, "p3");
  viaReceive(e, d, fs)(2 * EMC_FLOWS); // upcall, then megaflow hits that fill the EMC
  const before = Float64Array.from(e.tiers);
  report(
    `dp-emc: ${EMC_FLOWS} flows, receive()`,
    rate(viaReceive(e, d, fs)),
    MEGAFLOW_GOAL,
    expectTier(e, before, T.EMC, 0.9, "dp-emc"),
  );
}

// --- flow setups ----------------------------------------------------------------------------
/** Frame i: UDP64 from dl_src 02:00:00:xx:xx:xx (i), so that each one needs its own megaflow. */
const perFlow = (n: number, base: number): Uint8Array[] =>
  frames(n, (dv, off, i) => {
    dv.setUint16(off + 6, 0x0200);
    dv.setUint32(off + 8, base + i);
  });
const SETUP_RULES = [
  "priority=10,in_port=1,dl_src=00:00:00:00:00:01,actions=drop",
  "priority=1,in_port=1,ip,actions=output:2",
];
function setupEngine(hw: boolean): HostEngine {
  return build({ other: { "hw-offload": String(hw) }, nic: { "hw-l2-entries": "262144" }, rules: SETUP_RULES });
}
for (const hw of [true, false]) {
  const name = `setup-hw-${hw ? "on" : "off"}`;
  if (!want(name)) continue;
  const fs = perFlow(SETUPS, 1);
  const rates: number[] = [];
  for (let r = 0; r <= RUNS; r++) {
    // run 0 warms the JIT up
    const e = setupEngine(hw);
    const d = dev(e, "pf0vf0");
    const t0 = process.hrtime.bigint();
    for (const f of fs) e.receive(d, f);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r > 0) rates.push(SETUPS / s);
    const upcalls = e.tiers[T.UPCALL] as number;
    const offloaded = e.dp.list().filter((f) => f.offload === "offloaded").length;
    if (e.dp.count !== SETUPS || upcalls !== SETUPS)
      throw new Error(`${name}: ${e.dp.count} flows, ${upcalls} upcalls`);
    if (hw && offloaded !== SETUPS) throw new Error(`${name}: ${offloaded} offloaded`);
  }
  report(
    `${name}: ${SETUPS} new flows per run${hw ? ", all offloaded" : ""}`,
    median(rates),
    SETUP_GOAL,
    `  (${(1e6 / median(rates)).toFixed(1)} µs per setup)`,
  );
}

// --- memory per cached flow -------------------------------------------------------------------
if (want("memory")) {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const used = (): number => {
    gc();
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  const fs = perFlow(MEM_FLOWS, 1);
  // One function call per measurement, so that no stack slot keeps the previous engine alive.
  const grow = (hw: boolean): number => {
    const e = setupEngine(hw);
    const d = dev(e, "pf0vf0");
    e.dp.flowLimit = MEM_FLOWS + 1;
    const m0 = used();
    for (const f of fs) e.receive(d, f);
    const m1 = used();
    if (e.dp.count !== MEM_FLOWS || (hw && e.dp.list().filter((f) => f.offload === "offloaded").length !== MEM_FLOWS))
      throw new Error(`memory: ${e.dp.count} flows`);
    return (m1 - m0) / MEM_FLOWS;
  };
  const dpOnly = grow(false);
  const both = grow(true);
  console.log(
    `memory per cached flow (${MEM_FLOWS} flows, heap + external after GC): datapath ${dpOnly.toFixed(0)} B ` +
      `(hw-offload off); datapath + NIC L2 ${both.toFixed(0)} B (on), so NIC L2 ${(both - dpOnly).toFixed(0)} B`,
  );
  const l1 = new ExactTable(FLOW_WORDS, 65536, { insertInvProb: 1 });
  console.log(
    `memory, NIC L1 tracker: preallocated, ${l1.bytesPerSlot} bytes per entry (${(l1.memoryBytes / 2 ** 20).toFixed(1)} MiB for the default 65536)`,
  );
}

// --- ratios ---------------------------------------------------------------------------------
if (rows.length > 0 && baseline["extract"] !== undefined) {
  console.log("\nratio of each figure to the baselines of this run (parse only, parse + extract):");
  for (const r of rows) {
    if (r.name.startsWith("baseline") || r.name.startsWith("setup")) continue;
    console.log(
      `  ${r.name.padEnd(50)} ${(r.pps / (baseline["parse"] as number)).toFixed(2)}  ${(r.pps / (baseline["extract"] as number)).toFixed(2)}`,
    );
  }
}
if (sink === 0.5) console.log(sink);

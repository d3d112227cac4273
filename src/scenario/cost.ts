// The host CPU cost model: what a run's packets would cost the host's cores, so that the report
// can say how many cores hw-offload saves for the user's own traffic. It reads a RunResult
// (result.ts) and nothing of the engine, so a saved JSON report gives the same estimate again;
// report.ts and html.ts print what it computes.
//
// The model is deliberately simple: every packet costs the host a fixed time that depends only
// on the tier that handled it (result.ts TIERS), and every flow the NIC took costs one hardware
// insertion on top of its upcall. Time is nanoseconds of one host core. A packet handled on the
// NIC (L1 exact-match or L2 masked table) never reaches the host, so it costs nothing: that is
// the whole point of transparent/switchdev offload. A software-path packet pays everything a
// userspace datapath (OVS-DPDK PMD) thread does for it: receive, parse, lookup, actions,
// transmit. An upcall pays the slow path: the upcall itself, OpenFlow translation and the
// datapath flow install. What the model leaves out, on purpose: revalidator threads (which also
// poll hardware counters of offloaded flows), batching effects, cache pressure as flow counts
// grow, and the cycles a polling PMD burns when idle (a PMD core is busy whether or not
// packets come; we count only the work).
//
// Defaults come from published Open vSwitch figures given in CPU cycles, turned into ns at
// `coreGHz`. Every key can be overridden by the scenario (Report.costOverrides); overriding
// coreGHz rescales the defaults that were given in cycles, not the ones given in ns.

import { TIERS, type Report, type RunResult } from "./result.ts";

/**
 * Default cycle counts, each from a published measurement of Open vSwitch's userspace datapath.
 *
 * EMC_CYCLES = 900: Billy O'Mahony (Intel), "[ovs-dev] [RFC 0/2] EMC load-shedding",
 *   2017-09-22, as quoted in Darrell Ball's reply at
 *   http://patchwork.ozlabs.org/api/covers/817517/comments/ : "For small numbers of flows
 *   (~16) the cycles per packet remain at ~900", i.e. every packet an EMC hit. Cross-check: Red Hat
 *   OpenStack Platform 10, "OVS-DPDK End to End Troubleshooting Guide", ch. 6 (pmd-stats-show),
 *   https://docs.redhat.com/en/documentation/red_hat_OpenStack_platform/10/html/ovs-dpdk_end_to_end_troubleshooting_guide/interpreting_the_output_of_the_literal_pmd_stats_show_literal_command_in_open_vswitch_with_dpdk
 *   shows two PMDs with only EMC hits at 814 and 895 "avg processing cycles per packet".
 * MEGAFLOW_CYCLES = 1200: the same O'Mahony measurement: "For 8K to 64K flows the cycles per
 *   packet drop from ~1200 to ~1100" with his patch; ~1200 is the baseline with 8K-64K flows,
 *   where the 8K-entry EMC thrashes (the EMC size: Jan Scheurich's DFC patch,
 *   http://patchwork.ozlabs.org/patch/894413/, "the netdev datapath uses an 8K EMC") and packets are classified by the megaflow cache (dpcls).
 * UPCALL_CYCLES = 135,000: the ovs-dev patch proposing upcall rate limiting for OVS-DPDK (2017),
 *   https://mail-archive.com/ovs-dev@openvswitch.org/msg15483.html: "Slow-path processing
 *   of a packet consumes 100-200 times the cycles of fast-path handling". We take the middle,
 *   150 x EMC_CYCLES = 150 x 900 = 135,000 cycles, for upcall + translation + flow install.
 */
const EMC_CYCLES = 900;
const MEGAFLOW_CYCLES = 1200;
const UPCALL_CYCLES = 150 * EMC_CYCLES;

/**
 * 2.0 GHz: a common data-centre server base clock. The Red Hat example above is consistent
 * with it: its PMD counted 19,169,054,366 cycles over `sleep 10`, a ~1.9 GHz cycle counter.
 * At 2.0 GHz: EMC 900 / 2.0 = 450 ns, megaflow 1200 / 2.0 = 600 ns, upcall 135,000 / 2.0 =
 * 67,500 ns.
 */
const CORE_GHZ = 2.0;

/**
 * 20 µs per flow the NIC takes (tc flower / rte_flow insertion, driver and firmware included).
 * An assumption, NOT a published figure: we found no citable per-rule insertion cost; 20 µs
 * means one core inserting 50,000 rules/s. Override with `offloadInsertNs`.
 */
const OFFLOAD_INSERT_NS = 20_000;

/** Keys a scenario may set in costOverrides, with what each means (printed by the report). */
export const COST_KEYS = {
  coreGHz: "host core clock, GHz: turns the cited cycle counts into ns",
  nicL1Ns: "host ns per packet handled by the NIC's L1 exact-match tracker (default 0: never reaches the host)",
  nicL2Ns: "host ns per packet handled by the NIC's L2 masked tables (default 0)",
  emcNs: "host ns per packet that hits the datapath exact-match cache (default 900 cycles)",
  megaflowNs: "host ns per packet that hits the datapath megaflow cache (default 1200 cycles)",
  upcallNs: "host ns per upcalled packet: upcall, translation, flow install (default 135,000 cycles)",
  offloadInsertNs: "host ns per flow inserted into the NIC, on top of its upcall (default 20,000 ns, assumed)",
  dropNs: "host ns per packet dropped before classification (default 0)",
} as const;
export type CostKey = keyof typeof COST_KEYS;

/** The resolved model: every key has a value. */
export type CostModel = Record<CostKey, number>;

/** Each key in TIERS order maps to the model key giving its per-packet cost. */
const TIER_KEY = [
  "nicL1Ns",
  "nicL2Ns",
  "emcNs",
  "megaflowNs",
  "upcallNs",
  "dropNs",
] as const satisfies readonly CostKey[];

/**
 * The model with `overrides` applied. Throws on an unknown key or a value that is not a finite
 * number >= 0 (coreGHz > 0), naming the key, so a scenario typo does not pass silently.
 */
export function costModel(overrides: Readonly<Record<string, number>> = {}): CostModel {
  for (const [k, v] of Object.entries(overrides)) {
    if (!Object.hasOwn(COST_KEYS, k)) {
      throw new Error(`cost model: unknown key "${k}" (expected one of ${Object.keys(COST_KEYS).join(", ")})`);
    }
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (k === "coreGHz" && v === 0)) {
      throw new Error(`cost model: ${k} must be a finite number ${k === "coreGHz" ? "> 0" : ">= 0"}, got ${String(v)}`);
    }
  }
  const ghz = overrides["coreGHz"] ?? CORE_GHZ;
  const defaults: CostModel = {
    coreGHz: ghz,
    nicL1Ns: 0,
    nicL2Ns: 0,
    emcNs: EMC_CYCLES / ghz,
    megaflowNs: MEGAFLOW_CYCLES / ghz,
    upcallNs: UPCALL_CYCLES / ghz,
    offloadInsertNs: OFFLOAD_INSERT_NS,
    dropNs: 0,
  };
  for (const k of Object.keys(COST_KEYS) as CostKey[]) {
    const v = overrides[k];
    if (v !== undefined) defaults[k] = v;
  }
  return defaults;
}

/** Host ns per packet for each tier, in TIERS order. */
export function tierCostNs(model: CostModel): number[] {
  return TIER_KEY.map((k) => model[k]);
}

export interface RunCost {
  label: string;
  hwOffload: boolean;
  /** Host core-seconds for the whole run. */
  cpuSeconds: number;
  /** Of which, per tier (TIERS order); NIC insertions are in insertSeconds, not here. */
  tierSeconds: number[];
  /** Core-seconds spent inserting flows into the NIC. */
  insertSeconds: number;
  /** Average host cores busy over the run's virtual duration (0.5 = half of one core). */
  cores: number;
  /** Packets/s of this traffic mix one host core could keep up with; null when it costs the host nothing. */
  sustainablePps: number | null;
  /** Average host ns per packet received. */
  nsPerPacket: number;
}

function tierPackets(run: RunResult): number[] {
  const n = TIERS.map(() => 0);
  for (const t of run.tiers) {
    const i = TIERS.indexOf(t.tier);
    if (i >= 0) n[i] = (n[i] as number) + t.packets;
  }
  return n;
}

export function runCost(run: RunResult, model: CostModel): RunCost {
  const ns = tierCostNs(model);
  const pk = tierPackets(run);
  const tierSeconds = pk.map((p, i) => (p * (ns[i] as number)) / 1e9);
  const insertSeconds = (run.flows.offloaded * model.offloadInsertNs) / 1e9;
  const cpuSeconds = tierSeconds.reduce((a, b) => a + b, 0) + insertSeconds;
  const secs = run.durationMs / 1000;
  return {
    label: run.label,
    hwOffload: run.hwOffload,
    cpuSeconds,
    tierSeconds,
    insertSeconds,
    cores: secs > 0 ? cpuSeconds / secs : 0,
    sustainablePps: cpuSeconds > 0 ? run.packets / cpuSeconds : null,
    nsPerPacket: run.packets > 0 ? (cpuSeconds * 1e9) / run.packets : 0,
  };
}

/**
 * Estimated host cores busy in each sample interval, from the per-tier packet rates. NIC
 * insertions are not sampled; they are spread in proportion to flow setups (the run's share
 * of setups that went to the NIC times setups/s), so the series integrates to runCost().
 */
export function sampleCores(run: RunResult, model: CostModel): number[] {
  const ns = tierCostNs(model);
  const offShare = run.flowSetups > 0 ? run.flows.offloaded / run.flowSetups : 0;
  return run.samples.map((s) => {
    let nsPerSec = 0;
    for (let i = 0; i < ns.length; i++) nsPerSec += (s.tierPps[i] ?? 0) * (ns[i] as number);
    nsPerSec += s.setupsPerSec * offShare * model.offloadInsertNs;
    return nsPerSec / 1e9;
  });
}

export interface OffloadSaving {
  on: RunCost;
  off: RunCost;
  /** off.cores - on.cores: average host cores hw-offload frees for this traffic. */
  coresSaved: number;
  /** coresSaved as a percentage of off.cores (0 when off costs nothing). */
  percentSaved: number;
  /** off.cpuSeconds / on.cpuSeconds; null when the on run costs the host nothing. */
  ratio: number | null;
}

/**
 * The headline: the first run with hw-offload on against the first with it off. Null unless
 * the report has both.
 */
export function compareRuns(report: Report, model: CostModel = costModel(report.costOverrides)): OffloadSaving | null {
  const onRun = report.runs.find((r) => r.hwOffload);
  const offRun = report.runs.find((r) => !r.hwOffload);
  if (!onRun || !offRun) return null;
  const on = runCost(onRun, model);
  const off = runCost(offRun, model);
  const coresSaved = off.cores - on.cores;
  return {
    on,
    off,
    coresSaved,
    percentSaved: off.cores > 0 ? (coresSaved / off.cores) * 100 : 0,
    ratio: on.cpuSeconds > 0 ? off.cpuSeconds / on.cpuSeconds : null,
  };
}

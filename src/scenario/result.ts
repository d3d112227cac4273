// What one scenario run leaves behind, as data: the runner (run.ts) fills it, the report
// (report.ts: text, JSON; html.ts: page with plots; cost.ts: the CPU estimate) reads it. Kept
// free of engine types so that a saved JSON report can be rendered again without running.

import type { TierName } from "../dp/tier.ts";

/** Tier names, in the engine's order: src/dp/tier.ts, a leaf module, so a report still needs no engine. */
export { TIER_NAMES as TIERS, type TierName } from "../dp/tier.ts";

export interface TierCount {
  tier: TierName;
  packets: number;
  bytes: number;
  /** packets / all packets received in the run (0 when none). */
  share: number;
}

export interface RefusedOffload {
  /** The refusal reason as offload/show and dpctl/dump-flows -m print it. */
  reason: string;
  /** Datapath flows refused for this reason over the run (each setup counted once). */
  flows: number;
  /** One such flow, as dpctl/dump-flows prints it, so the user can see which traffic it was. */
  example: string;
}

/** One sample of the time series, taken every `sampleMs` of virtual time. */
export interface Sample {
  /** Virtual time at the end of the interval, ms from the run's start. */
  tMs: number;
  /** Packets per second in the interval, per tier (same order as TIERS). */
  tierPps: number[];
  /** Datapath flows installed at the sample time. */
  dpFlows: number;
  /** Of those, offloaded to a NIC. */
  offloadedFlows: number;
  /** Flow setups (upcalls that installed a flow) per second in the interval. */
  setupsPerSec: number;
}

export interface TimelineMark {
  tMs: number;
  /** What happened, e.g. "ofctl mod-flows br0 …", "hw-offload false", "link vm2 down". */
  label: string;
}

export interface RunResult {
  /** "hw-offload on" / "hw-offload off", or the scenario's own label. */
  label: string;
  hwOffload: boolean;
  /** Virtual duration of the traffic, ms. */
  durationMs: number;
  packets: number;
  bytes: number;
  tiers: TierCount[];
  nic: { l1Hits: number; l1Misses: number; l2Hits: number; l2Misses: number };
  datapath: { emcHits: number; megaflowHits: number; upcalls: number; lost: number };
  /** Upcalls that installed a datapath flow. */
  flowSetups: number;
  /** flowSetups per second of virtual time. */
  setupRate: number;
  /** Peak datapath flows seen at a sample, and of those offloaded. */
  peakFlows: number;
  peakOffloaded: number;
  /** Datapath flows set up over the run by where they ended: offloaded, software-only (refused or hw-offload off). */
  flows: { offloaded: number; software: number; refused: RefusedOffload[] };
  /** Packets the NICs sent to the host instead of handling them, by reason (eSwitch fallback names). */
  fallbacks: Record<string, number>;
  /** Dropped packets by reason. */
  drops: Record<string, number>;
  samples: Sample[];
  sampleMs: number;
  marks: TimelineMark[];
  /** Capture files written by this run (paths as given in the scenario, resolved). */
  captures: string[];
}

export interface ScenarioInfo {
  name: string;
  description: string;
  /** The file it came from, or "(built-in)". */
  source: string;
  seed: number;
}

/**
 * A whole report: the scenario, its runs (normally two: hw-offload on and off, same traffic),
 * and the cost model used for the CPU estimate (cost.ts; defaults overridable in the scenario).
 */
export interface Report {
  scenario: ScenarioInfo;
  runs: RunResult[];
  /** Overrides of the cost model's defaults given by the scenario (cost.ts fills in the rest). */
  costOverrides: Record<string, number>;
}

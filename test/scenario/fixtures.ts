// A hand-made Report for the report, page and cost tests: one scenario run twice (hw-offload on
// and off) over 10 s of virtual time at ~1 Mpps, with a rule change at 5 s. The numbers are
// chosen by hand, not produced by the runner, and are consistent with each other: tier packets
// sum to the run's packets, the samples (1 s each) sum to the tier totals and to the flow
// setups, refused flows sum to the software flows, NIC fallbacks sum to the packets that the
// host datapath handled (EMC + megaflow + upcall).
import type { Report, RunResult, Sample, TierName } from "../../src/scenario/result.ts";

const K = 1000;
const BYTES_PER_PACKET = 500;

function tiers(p: Record<TierName, number>, total: number): RunResult["tiers"] {
  return (Object.keys(p) as TierName[]).map((tier) => ({
    tier,
    packets: p[tier],
    bytes: p[tier] * BYTES_PER_PACKET,
    share: p[tier] / total,
  }));
}

/** Columns are the 10 one-second samples; rows are TIERS order. */
function samples(rows: number[][], dpFlows: number[], offloaded: number[], setups: number[]): Sample[] {
  return dpFlows.map((_, i) => ({
    tMs: (i + 1) * 1000,
    tierPps: rows.map((r) => r[i] as number),
    dpFlows: dpFlows[i] as number,
    offloadedFlows: offloaded[i] as number,
    setupsPerSec: setups[i] as number,
  }));
}

const DP_FLOWS = [3000, 4000, 4000, 4000, 4000, 6000, 6000, 5500, 5000, 5000];
const SETUPS = [4500, 900, 0, 0, 0, 3600, 0, 0, 0, 0];
const UPCALLS = [5000, 1000, 0, 0, 0, 4000, 0, 0, 0, 0];
const DROPS = [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000];
const MARKS = [
  { tMs: 5000, label: "ofctl mod-flows br0 tcp,actions=output:3" },
  { tMs: 8000, label: "link vm2 down" },
];
const EXAMPLE_FULL =
  "recirc_id(0),in_port(2),eth(src=02:00:00:00:00:02,dst=02:00:00:00:00:03),eth_type(0x0800),ipv4(frag=no), packets:12, bytes:6000, used:0.100s, actions:3";
const EXAMPLE_TAP =
  "recirc_id(0),in_port(1),eth_type(0x0800),ipv4(proto=17,frag=no), packets:3, bytes:1500, used:2.000s, actions:5";

const ON: RunResult = {
  label: "hw-offload on",
  hwOffload: true,
  durationMs: 10_000,
  packets: 10_000 * K,
  bytes: 10_000 * K * BYTES_PER_PACKET,
  tiers: tiers(
    { "nic-l1": 8500 * K, "nic-l2": 1000 * K, "dp-emc": 300 * K, "dp-megaflow": 180 * K, upcall: 10 * K, drop: 10 * K },
    10_000 * K,
  ),
  nic: { l1Hits: 8500 * K, l1Misses: 1500 * K, l2Hits: 1000 * K, l2Misses: 500 * K },
  datapath: { emcHits: 300 * K, megaflowHits: 180 * K, upcalls: 10 * K, lost: 0 },
  flowSetups: 9000,
  setupRate: 900,
  peakFlows: 6000,
  peakOffloaded: 4800,
  flows: {
    offloaded: 7000,
    software: 2000,
    refused: [
      { reason: "table full (4096 entries)", flows: 1500, example: EXAMPLE_FULL },
      { reason: "output to vm4: not a representor (type tap)", flows: 500, example: EXAMPLE_TAP },
    ],
  },
  fallbacks: { miss: 480 * K, host: 6 * K, unclassifiable: 4 * K, action: 0 },
  drops: { "dropped by the NIC": 9000, "port link down": 1000 },
  samples: samples(
    [
      [500, 800, 900, 900, 900, 700, 950, 950, 950, 950].map((x) => x * K),
      [100, 100, 100, 100, 100, 200, 50, 50, 100, 100].map((x) => x * K),
      [200, 60, 0, 0, 0, 40, 0, 0, 0, 0].map((x) => x * K),
      [150, 30, 0, 0, 0, 0, 0, 0, 0, 0].map((x) => x * K),
      UPCALLS,
      DROPS,
    ],
    DP_FLOWS,
    [2000, 3000, 3200, 3200, 3200, 4000, 4800, 4500, 4000, 4000],
    SETUPS,
  ),
  sampleMs: 1000,
  marks: MARKS,
  captures: ["captures/on/pf0.pcapng", "captures/on/vm1.pcapng"],
};

const OFF: RunResult = {
  ...ON,
  label: "hw-offload off",
  hwOffload: false,
  tiers: tiers(
    { "nic-l1": 0, "nic-l2": 0, "dp-emc": 9000 * K, "dp-megaflow": 980 * K, upcall: 10 * K, drop: 10 * K },
    10_000 * K,
  ),
  nic: { l1Hits: 0, l1Misses: 10_000 * K, l2Hits: 0, l2Misses: 10_000 * K },
  datapath: { emcHits: 9000 * K, megaflowHits: 980 * K, upcalls: 10 * K, lost: 0 },
  peakOffloaded: 0,
  flows: { offloaded: 0, software: 9000, refused: [] },
  fallbacks: { miss: 9990 * K, host: 0, unclassifiable: 0, action: 0 },
  drops: { "port link down": 10_000 },
  samples: samples(
    [
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      [700, 900, 950, 950, 950, 800, 950, 950, 950, 900].map((x) => x * K),
      [250, 90, 50, 50, 50, 190, 50, 50, 50, 150].map((x) => x * K),
      UPCALLS,
      DROPS,
    ],
    DP_FLOWS,
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    SETUPS,
  ),
  captures: ["captures/off/pf0.pcapng", "captures/off/vm1.pcapng"],
};

export function fixtureReport(): Report {
  return structuredClone({
    scenario: {
      name: "fixture-4vm",
      description: "One host, a SmartNIC with an uplink and four VFs; east-west and north-south UDP/TCP.",
      source: "test/scenario/fixtures.ts",
      seed: 7,
    },
    runs: [ON, OFF],
    costOverrides: {},
  });
}

import { describe, expect, it } from "vitest";
import { compareRuns, costModel, runCost, sampleCores, tierCostNs } from "../../src/scenario/cost.ts";
import type { Report } from "../../src/scenario/result.ts";
import { fixtureReport } from "./fixtures.ts";

// Expected values are worked by hand from the figures cited in src/scenario/cost.ts:
//   EMC hit 900 cycles, megaflow hit 1200 cycles (O'Mahony, ovs-dev 2017), upcall 150 x 900 =
//   135,000 cycles (ovs-dev upcall rate-limiting patch: "100-200 times" the fast path), at
//   2.0 GHz: 450 ns, 600 ns, 67,500 ns; NIC insertion 20,000 ns (stated assumption).

describe("cost model defaults", () => {
  it("turns the cited cycle counts into ns at 2.0 GHz", () => {
    expect(costModel()).toEqual({
      coreGHz: 2,
      nicL1Ns: 0,
      nicL2Ns: 0,
      emcNs: 450,
      megaflowNs: 600,
      upcallNs: 67_500,
      offloadInsertNs: 20_000,
      dropNs: 0,
    });
    // TIERS order: nic-l1, nic-l2, dp-emc, dp-megaflow, upcall, drop.
    expect(tierCostNs(costModel())).toEqual([0, 0, 450, 600, 67_500, 0]);
  });
  it("rescales the cycle-based defaults with coreGHz, not the ns-based ones", () => {
    // 900 / 3 = 300, 1200 / 3 = 400, 135,000 / 3 = 45,000; the insertion stays 20,000 ns.
    const m = costModel({ coreGHz: 3 });
    expect([m.emcNs, m.megaflowNs, m.upcallNs, m.offloadInsertNs]).toEqual([300, 400, 45_000, 20_000]);
  });
  it("lets an explicit ns value win over the rescaled default", () => {
    expect(costModel({ coreGHz: 3, emcNs: 100 }).emcNs).toBe(100);
  });
  it.each([
    [{ emcNS: 1 }, /unknown key "emcNS"/],
    [{ upcallNs: -1 }, /upcallNs must be a finite number >= 0/],
    [{ coreGHz: 0 }, /coreGHz must be a finite number > 0/],
    [{ megaflowNs: Number.NaN }, /megaflowNs must be a finite number/],
  ])("refuses %o", (ov, msg) => {
    expect(() => costModel(ov)).toThrowError(msg);
  });
});

describe("cost of the fixture's runs", () => {
  const report = fixtureReport();
  const model = costModel();
  const [on, off] = report.runs.map((r) => runCost(r, model));

  it("hw-offload on: only host-tier packets and NIC insertions cost", () => {
    // 300,000 EMC x 450 ns = 0.135 s; 180,000 megaflow x 600 ns = 0.108 s;
    // 10,000 upcalls x 67,500 ns = 0.675 s; 7,000 offloaded flows x 20,000 ns = 0.140 s.
    // Total 1.058 core-seconds over 10 s = 0.1058 cores; 10,000,000 / 1.058 = 9,451,795.84 pps.
    expect(on!.tierSeconds.map((s) => Number(s.toFixed(9)))).toEqual([0, 0, 0.135, 0.108, 0.675, 0]);
    expect(on!.insertSeconds).toBeCloseTo(0.14, 12);
    expect(on!.cpuSeconds).toBeCloseTo(1.058, 12);
    expect(on!.cores).toBeCloseTo(0.1058, 12);
    expect(on!.sustainablePps).toBeCloseTo(9_451_795.84, 1);
    expect(on!.nsPerPacket).toBeCloseTo(105.8, 9);
  });
  it("hw-offload off: every packet is a host packet", () => {
    // 9,000,000 x 450 = 4.050 s; 980,000 x 600 = 0.588 s; 10,000 x 67,500 = 0.675 s: 5.313 s,
    // 0.5313 cores, 10,000,000 / 5.313 = 1,882,175.79 pps.
    expect(off!.cpuSeconds).toBeCloseTo(5.313, 12);
    expect(off!.insertSeconds).toBe(0);
    expect(off!.cores).toBeCloseTo(0.5313, 12);
    expect(off!.sustainablePps).toBeCloseTo(1_882_175.79, 1);
  });
  it("on vs off: cores saved, share and ratio", () => {
    // 0.5313 - 0.1058 = 0.4255 cores; 0.4255 / 0.5313 = 80.0866 %; 5.313 / 1.058 = 5.02174.
    const s = compareRuns(report)!;
    expect(s.on.label).toBe("hw-offload on");
    expect(s.off.label).toBe("hw-offload off");
    expect(s.coresSaved).toBeCloseTo(0.4255, 12);
    expect(s.percentSaved).toBeCloseTo(80.0866, 4);
    expect(s.ratio).toBeCloseTo(5.02174, 5);
  });
  it("applies the scenario's overrides", () => {
    // upcallNs 10,000: on = 0.135 + 0.108 + 0.100 + 0.140 = 0.483 s.
    const r = { ...report, costOverrides: { upcallNs: 10_000 } };
    expect(compareRuns(r)!.on.cpuSeconds).toBeCloseTo(0.483, 12);
  });
  it("the per-sample series integrates to the run's total (1 s samples)", () => {
    for (const run of report.runs) {
      const total = sampleCores(run, model).reduce((a, b) => a + b, 0) * (run.sampleMs / 1000);
      expect(total).toBeCloseTo(runCost(run, model).cpuSeconds, 9);
    }
    // First sample of the on run: 200k x 450 + 150k x 600 + 5,000 x 67,500 ns/s = 0.5175 cores,
    // plus 4,500 setups/s x 7/9 offloaded x 20,000 ns = 0.07: 0.5875.
    expect(sampleCores(report.runs[0]!, model)[0]).toBeCloseTo(0.5875, 12);
  });
});

describe("edge cases", () => {
  it("traffic handled entirely on the NIC costs the host nothing", () => {
    const r = fixtureReport();
    const run = r.runs[0]!;
    run.tiers = run.tiers.map((t) => ({ ...t, packets: t.tier === "nic-l1" ? run.packets : 0 }));
    run.flows.offloaded = 0;
    const c = runCost(run, costModel());
    expect(c.cpuSeconds).toBe(0);
    expect(c.sustainablePps).toBeNull();
    expect(compareRuns(r)!.ratio).toBeNull();
    expect(compareRuns(r)!.percentSaved).toBeCloseTo(100, 9);
  });
  it("no on/off pair, no comparison", () => {
    const r: Report = fixtureReport();
    r.runs = [r.runs[0]!];
    expect(compareRuns(r)).toBeNull();
  });
});

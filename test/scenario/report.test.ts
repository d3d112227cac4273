import { describe, expect, it } from "vitest";
import { fmtInt, fmtSi, formatJson, formatText, readJsonReport } from "../../src/scenario/report.ts";
import { TIERS, type Report } from "../../src/scenario/result.ts";
import { fixtureReport } from "./fixtures.ts";

// The report reads the hand-made fixture (test/scenario/fixtures.ts); the expected CPU figures
// are the ones worked by hand in cost.test.ts from the cost model's cited defaults.

/** The lines of one run's tier table in the text report. */
function tierLines(text: string, label: string): string[] {
  const start = text.indexOf(`Run "${label}"`);
  expect(start).toBeGreaterThanOrEqual(0);
  const lines = text.slice(start).split("\n");
  return TIERS.map((t) => {
    const l = lines.find((x) => x.trimStart().startsWith(`${t} `));
    expect(l, `row for ${t}`).toBeDefined();
    return l as string;
  });
}

const num = (s: string): number => Number(s.replace(/,/g, ""));

describe("formatText", () => {
  const report = fixtureReport();
  const text = formatText(report);
  const lines = text.split("\n");

  it("puts the headline first", () => {
    expect(lines[0]).toBe(
      "hw-offload saves 0.43 cores (80.1 % of host CPU) for this traffic, 0.43 cores for every Mpps of it",
    );
    expect(lines[1]).toBe("offload-emu report: fixture-4vm (test/scenario/fixtures.ts, seed 7)");
  });
  it("has the side-by-side on/off table with the CPU estimate", () => {
    const row = (name: string): string[] => {
      const l = lines.find((x) => x.startsWith(name));
      expect(l, name).toBeDefined();
      return (l as string)
        .slice(name.length)
        .trim()
        .split(/\s{2,}/);
    };
    expect(lines.find((l) => l.includes("hw-offload on") && l.includes("hw-offload off"))).toBeDefined();
    expect(row("host CPU, core-seconds")).toEqual(["1.058", "5.313"]);
    expect(row("average host cores")).toEqual(["0.11", "0.53"]);
    expect(row("sustainable on one core")).toEqual(["9.45 Mpps", "1.88 Mpps"]);
    expect(row("handled on the NIC")).toEqual(["95.0 %", "0.0 %"]);
    expect(row("flows offloaded / software")).toEqual(["7,000 / 2,000", "0 / 9,000"]);
    expect(text).toContain("host CPU, off / on: 5.02x");
  });
  it("lists every tier with packets, share, hits and misses, adding up to the run's packets", () => {
    for (const run of report.runs) {
      const rows = tierLines(text, run.label).map((l) => l.trim().split(/\s{2,}/));
      const packets = rows.map((r) => num(r[1] as string));
      expect(packets.reduce((a, b) => a + b, 0)).toBe(run.packets);
      const shares = rows.map((r) => Number((r[2] as string).replace(" %", "")));
      expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 6);
    }
    // The on run's L1 row: hits and misses from the NIC counters, host CPU 0 (on the NIC).
    expect(
      tierLines(text, "hw-offload on")[0]!
        .trim()
        .split(/\s{2,}/),
    ).toEqual(["nic-l1", "8,500,000", "85.0 %", "8,500,000", "1,500,000", "0.000 s"]);
    // EMC misses go on to the megaflow cache and upcalls: 180,000 + 10,000.
    expect(
      tierLines(text, "hw-offload on")[2]!
        .trim()
        .split(/\s{2,}/),
    ).toEqual(["dp-emc", "300,000", "3.0 %", "300,000", "190,000", "0.135 s"]);
  });
  it("gives flow setups, refusals with an example each, fallbacks, drops, the timeline", () => {
    expect(text).toContain("flow setups: 9,000 (900/s); peak datapath flows 6,000, of which offloaded 4,800");
    expect(text).toMatch(/1,500 {2}table full \(4096 entries\)\n +e\.g\. recirc_id\(0\),in_port\(2\),/);
    expect(text).toMatch(
      / 500 {2}output to vm4: not a representor \(type tap\)\n +e\.g\. recirc_id\(0\),in_port\(1\),/,
    );
    expect(text).toContain("NIC fallbacks to the host: miss 480,000, host 6,000, unclassifiable 4,000\n");
    expect(text).toContain("drops: dropped by the NIC 9,000, port link down 1,000\n");
    expect(text).toContain("5.000 s  ofctl mod-flows br0 tcp,actions=output:3");
    expect(text).toContain("NIC flow insertions: 0.140 s of host CPU");
  });
  it("states the cost model used and what the scenario changed", () => {
    expect(text).toContain("dp-emc 450 ns, dp-megaflow 600 ns, upcall 67,500 ns");
    expect(text).toContain("set by the scenario: none (all defaults)");
    const t2 = formatText({ ...report, costOverrides: { upcallNs: 10_000 } });
    expect(t2).toContain("set by the scenario: upcallNs=10000");
    expect(t2).toContain("upcall 10,000 ns");
  });
  it("colours only when asked", () => {
    expect(text).not.toContain("\x1b[");
    const c = formatText(report, { color: true });
    expect(c.split("\n")[0]).toBe(
      "\x1b[1m\x1b[32mhw-offload saves 0.43 cores (80.1 % of host CPU) for this traffic, 0.43 cores for every Mpps of it\x1b[0m\x1b[0m",
    );
    expect(c.replace(/\x1b\[[0-9;]*m/g, "")).toBe(text);
  });
  it("says so when there is no on/off pair", () => {
    const r: Report = { ...report, runs: [report.runs[1]!] };
    expect(formatText(r).split("\n")[0]).toBe("no hw-offload on/off pair in this report: host CPU per run below");
  });
  it("is deterministic", () => {
    expect(formatText(fixtureReport())).toBe(text);
  });
});

describe("formatJson", () => {
  const report = fixtureReport();
  const json = formatJson(report);
  const doc = JSON.parse(json) as {
    format: string;
    runs: { packets: number; tiers: { packets: number; share: number }[] }[];
    cost: { runs: { cpuSeconds: number; sustainablePps: number | null }[]; saving: Record<string, unknown> };
  };

  it("carries the runs and the cost estimate, rounded", () => {
    expect(doc.format).toBe("offload-emu-report/1");
    expect(doc.cost.runs.map((r) => r.cpuSeconds)).toEqual([1.058, 5.313]);
    expect(doc.cost.runs[0]!.sustainablePps).toBe(9_451_795.841);
    expect(doc.cost.saving).toEqual({
      on: "hw-offload on",
      off: "hw-offload off",
      coresSaved: 0.4255,
      percentSaved: 80.087,
      ratio: 5.021739,
      headline: "hw-offload saves 0.43 cores (80.1 % of host CPU) for this traffic, 0.43 cores for every Mpps of it",
    });
    for (const r of doc.runs) expect(r.tiers.reduce((a, t) => a + t.packets, 0)).toBe(r.packets);
  });
  it("gives byte-identical JSON for the same report, whatever order its maps were filled in", () => {
    const r2 = fixtureReport();
    const run = r2.runs[0]!;
    run.drops = Object.fromEntries(Object.entries(run.drops).reverse());
    run.fallbacks = Object.fromEntries(Object.entries(run.fallbacks).reverse());
    expect(Object.keys(run.drops)).toEqual(["port link down", "dropped by the NIC"]);
    expect(formatJson(r2)).toBe(json);
  });
  it("rounds away float noise and writes no -0, NaN or Infinity", () => {
    const r2 = fixtureReport();
    r2.runs[0]!.tiers[0]!.share = 0.1 + 0.2; // 0.30000000000000004
    r2.runs[0]!.setupRate = -0;
    r2.runs[0]!.samples[0]!.tierPps[0] = Number.POSITIVE_INFINITY;
    const j = formatJson(r2);
    expect(j).toContain(`"share": 0.3\n`);
    expect(j).toContain(`"setupRate": 0,`);
    expect(j).not.toMatch(/-0[,\n]|NaN|Infinity/);
  });
  it("reads back into a Report that renders the same text and JSON", () => {
    const back = readJsonReport(json);
    expect(formatJson(back)).toBe(json);
    expect(formatText(back)).toBe(formatText(report));
  });
  it("refuses JSON that is not a report", () => {
    expect(() => readJsonReport(`{"format":"x"}`)).toThrowError(/not an offload-emu report/);
  });
});

describe("number formatting", () => {
  it.each([
    [0, "0"],
    [999, "999"],
    [1000, "1,000"],
    [1234567, "1,234,567"],
    [-4200, "-4,200"],
  ])("fmtInt(%d)", (n, s) => {
    expect(fmtInt(n)).toBe(s);
  });
  it.each([
    [950, "950 pps"],
    [1500, "1.50 kpps"],
    [12_340, "12.3 kpps"],
    [9_451_795.84, "9.45 Mpps"],
    [2.5e9, "2.50 Gpps"],
  ])("fmtSi(%d)", (n, s) => {
    expect(fmtSi(n, "pps")).toBe(s);
  });
});

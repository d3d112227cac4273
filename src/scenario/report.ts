// The report as text for the terminal and as JSON. Both read a Report (result.ts), which the
// runner fills, and the CPU estimate from cost.ts; html.ts reuses the helpers below so the page
// and the terminal say the same thing in the same words.
//
// The text leads with the one line an evaluator wants ("hw-offload saves N cores"), then the
// on/off table that backs it, then each run in detail: where packets went, how many flows were
// set up, which the NIC took and why it refused the others (with an example flow, so the user
// can tell which traffic it was), what fell back to the host and what was dropped. Numbers are
// formatted without the locale (toLocaleString depends on the ICU data Node was built with), so
// the same report gives the same text everywhere.
//
// The JSON is the Report itself, with keys in a fixed order, maps sorted by key and numbers
// rounded to what the figure can mean, plus the cost estimate, so that the same report gives
// byte-identical JSON and a saved JSON report can be read back (readJsonReport) and rendered
// again without running anything.

import {
  COST_KEYS,
  compareRuns,
  costModel,
  runCost,
  type CostKey,
  type CostModel,
  type OffloadSaving,
  type RunCost,
} from "./cost.ts";
import { TIERS, type Report, type RunResult, type TierName } from "./result.ts";

/** Marks the JSON so readJsonReport() can refuse something else. */
export const JSON_FORMAT = "offload-emu-report/1";

// ---------------------------------------------------------------------------------------------
// Number formatting shared with html.ts

/** 1234567 -> "1,234,567" (rounded to an integer). */
export function fmtInt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const s = Math.round(Math.abs(n)).toString();
  let out = "";
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += ",";
    out += s[i];
  }
  return (n < 0 && Math.round(Math.abs(n)) !== 0 ? "-" : "") + out;
}

/** A value with an SI prefix and 3 significant digits: 9451795 -> "9.45 M". */
export function fmtSi(v: number, unit: string): string {
  const a = Math.abs(v);
  const [d, p] = a >= 1e9 ? [1e9, "G"] : a >= 1e6 ? [1e6, "M"] : a >= 1e3 ? [1e3, "k"] : [1, ""];
  const x = v / d;
  const ax = Math.abs(x);
  const s = ax >= 100 || (d === 1 && Number.isInteger(x)) ? x.toFixed(0) : ax >= 10 ? x.toFixed(1) : x.toFixed(2);
  return `${s} ${p}${unit}`;
}

export function fmtPps(pps: number | null): string {
  return pps === null ? "unbounded (no host CPU)" : fmtSi(pps, "pps");
}

/** A fraction as a percentage: 0.8 -> "80.0 %". */
export function fmtShare(f: number): string {
  return `${(f * 100).toFixed(1)} %`;
}

/** Cores: two decimals below 10, one above. */
export function fmtCores(c: number): string {
  return Math.abs(c) >= 10 ? c.toFixed(1) : c.toFixed(2);
}

/** Decimal bytes: 5e9 -> "5.00 GB". */
export function fmtBytes(b: number): string {
  return fmtSi(b, "B");
}

/** Virtual milliseconds as seconds: 5000 -> "5.000 s". */
export function fmtMs(ms: number): string {
  return `${(ms / 1000).toFixed(3)} s`;
}

// ---------------------------------------------------------------------------------------------
// What the text and the page both show

/** The one-line answer, with no colour. */
export function headline(saving: OffloadSaving | null): string {
  if (saving === null) return "no hw-offload on/off pair in this report: host CPU per run below";
  if (saving.coresSaved < 0) {
    return `hw-offload costs ${fmtCores(-saving.coresSaved)} more cores (${(-saving.percentSaved).toFixed(1)} % more host CPU) for this traffic`;
  }
  // Per Mpps as well: a scenario's rates are often kept low so that its captures stay small,
  // and the saving per unit of this traffic mix is what scales to a real host's load.
  const perMpps = (saving.off.nsPerPacket - saving.on.nsPerPacket) / 1000;
  return `hw-offload saves ${fmtCores(saving.coresSaved)} cores (${saving.percentSaved.toFixed(1)} % of host CPU) for this traffic, ${fmtCores(perMpps)} cores for every Mpps of it`;
}

export interface TierRow {
  tier: TierName;
  packets: number;
  bytes: number;
  share: number;
  /** Lookups in this tier's table that found an entry; null where the tier has no table. */
  hits: number | null;
  /** Lookups that found none and went on to the next tier; null where the tier has no table. */
  misses: number | null;
}

/**
 * One row per tier, TIERS order. A datapath EMC miss goes on to the megaflow cache, and a
 * megaflow miss to an upcall (or is lost), so their misses are counted from the next tiers'.
 */
export function tierRows(run: RunResult): TierRow[] {
  const d = run.datapath;
  const hm: Record<TierName, [number | null, number | null]> = {
    "nic-l1": [run.nic.l1Hits, run.nic.l1Misses],
    "nic-l2": [run.nic.l2Hits, run.nic.l2Misses],
    "dp-emc": [d.emcHits, d.megaflowHits + d.upcalls + d.lost],
    "dp-megaflow": [d.megaflowHits, d.upcalls + d.lost],
    upcall: [null, null],
    drop: [null, null],
  };
  return TIERS.map((tier) => {
    const t = run.tiers.find((x) => x.tier === tier);
    const [hits, misses] = hm[tier];
    return { tier, packets: t?.packets ?? 0, bytes: t?.bytes ?? 0, share: t?.share ?? 0, hits, misses };
  });
}

/** Share of the run's packets handled on a NIC (L1 + L2). */
export function nicShare(run: RunResult): number {
  if (run.packets === 0) return 0;
  let n = 0;
  for (const t of run.tiers) if (t.tier === "nic-l1" || t.tier === "nic-l2") n += t.packets;
  return n / run.packets;
}

/** A reason map as [reason, count] sorted by count (largest first), then by reason. */
export function byCount(m: Readonly<Record<string, number>>): [string, number][] {
  return Object.entries(m).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** The side-by-side rows: label, then one cell per run. */
export function comparisonRows(report: Report, costs: readonly RunCost[]): [string, ...string[]][] {
  const runs = report.runs;
  const row = (label: string, f: (r: RunResult, c: RunCost) => string): [string, ...string[]] => [
    label,
    ...runs.map((r, i) => f(r, costs[i] as RunCost)),
  ];
  return [
    row("virtual duration", (r) => `${(r.durationMs / 1000).toFixed(1)} s`),
    row("packets", (r) => fmtInt(r.packets)),
    row("handled on the NIC", (r) => fmtShare(nicShare(r))),
    row("host CPU, core-seconds", (_, c) => c.cpuSeconds.toFixed(3)),
    row("average host cores", (_, c) => fmtCores(c.cores)),
    row("host ns per packet", (_, c) => c.nsPerPacket.toFixed(1)),
    row("sustainable on one core", (_, c) => fmtPps(c.sustainablePps)),
    row("flow setups", (r) => `${fmtInt(r.flowSetups)} (${fmtInt(r.setupRate)}/s)`),
    row("flows offloaded / software", (r) => `${fmtInt(r.flows.offloaded)} / ${fmtInt(r.flows.software)}`),
  ];
}

/** Per-tier cost in words, for the model line of the text and the page. */
export function modelSummary(model: CostModel): string {
  const ns = (k: CostKey): string => `${fmtInt(model[k])} ns`;
  return (
    `clock ${model.coreGHz} GHz; per packet: nic-l1 ${ns("nicL1Ns")}, nic-l2 ${ns("nicL2Ns")}, ` +
    `dp-emc ${ns("emcNs")}, dp-megaflow ${ns("megaflowNs")}, upcall ${ns("upcallNs")}, drop ${ns("dropNs")}; ` +
    `per flow inserted into the NIC ${ns("offloadInsertNs")}`
  );
}

// ---------------------------------------------------------------------------------------------
// Text

export interface TextOptions {
  /** ANSI colour and bold (for a terminal); off by default. */
  color?: boolean;
}

type Align = "l" | "r";

/** Columns padded to their widest cell, two spaces apart; `indent` before each line. */
function table(rows: readonly (readonly string[])[], align: readonly Align[], indent: string): string[] {
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  return rows.map(
    (r) =>
      indent +
      r
        .map((c, i) => {
          const w = widths[i] as number;
          return (align[i] ?? "l") === "r" ? c.padStart(w) : i === r.length - 1 ? c : c.padEnd(w);
        })
        .join("  "),
  );
}

export function formatText(report: Report, opts: TextOptions = {}): string {
  const c = opts.color === true;
  const paint = (code: string, s: string): string => (c ? `\x1b[${code}m${s}\x1b[0m` : s);
  const bold = (s: string): string => paint("1", s);
  const dim = (s: string): string => paint("2", s);

  const model = costModel(report.costOverrides);
  const costs = report.runs.map((r) => runCost(r, model));
  const saving = compareRuns(report, model);
  const sc = report.scenario;
  const out: string[] = [];

  // The answer comes first, so `offload-emu run … | head -1` is the whole story.
  const head = headline(saving);
  out.push(saving !== null && saving.coresSaved > 0 ? bold(paint("32", head)) : bold(head));
  out.push(`offload-emu report: ${sc.name} (${sc.source}, seed ${sc.seed})`);
  if (sc.description !== "") out.push(sc.description);
  out.push("");

  if (report.runs.length > 0) {
    const rows = [["", ...report.runs.map((r) => r.label)], ...comparisonRows(report, costs)];
    out.push(...table(rows, ["l", ...report.runs.map((): Align => "r")], ""));
    if (saving !== null) {
      out.push(
        saving.ratio === null
          ? `host CPU, off / on: unbounded (with hw-offload on this traffic costs the host nothing)`
          : `host CPU, off / on: ${saving.ratio.toFixed(2)}x`,
      );
    }
    out.push("");
  }

  for (const [i, run] of report.runs.entries()) {
    const cost = costs[i] as RunCost;
    out.push(
      bold(`Run "${run.label}"`) +
        `: ${fmtInt(run.packets)} packets, ${fmtBytes(run.bytes)} in ` +
        `${(run.durationMs / 1000).toFixed(1)} s of virtual time; host CPU ${cost.cpuSeconds.toFixed(3)} core-seconds`,
    );
    const tr = tierRows(run).map((t) => [
      t.tier,
      fmtInt(t.packets),
      fmtShare(t.share),
      t.hits === null ? "-" : fmtInt(t.hits),
      t.misses === null ? "-" : fmtInt(t.misses),
      `${(cost.tierSeconds[TIERS.indexOf(t.tier)] ?? 0).toFixed(3)} s`,
    ]);
    out.push(
      ...table(
        [["tier", "packets", "share", "hits", "misses", "host CPU"], ...tr],
        ["l", "r", "r", "r", "r", "r"],
        "  ",
      ),
    );
    if (cost.insertSeconds > 0) out.push(`  NIC flow insertions: ${cost.insertSeconds.toFixed(3)} s of host CPU`);
    out.push(
      `  flow setups: ${fmtInt(run.flowSetups)} (${fmtInt(run.setupRate)}/s); peak datapath flows ` +
        `${fmtInt(run.peakFlows)}, of which offloaded ${fmtInt(run.peakOffloaded)}`,
    );
    out.push(
      `  flows set up: ${fmtInt(run.flows.offloaded)} offloaded, ${fmtInt(run.flows.software)} in software` +
        (run.hwOffload ? "" : " (hw-offload off)"),
    );
    if (run.flows.refused.length > 0) {
      out.push("  refused offloads:");
      const refused = [...run.flows.refused].sort((a, b) => b.flows - a.flows || (a.reason < b.reason ? -1 : 1));
      const w = Math.max(...refused.map((r) => fmtInt(r.flows).length));
      for (const r of refused) {
        out.push(`    ${fmtInt(r.flows).padStart(w)}  ${r.reason}`);
        out.push(`    ${" ".repeat(w)}  ${dim(`e.g. ${r.example}`)}`);
      }
    }
    const fb = byCount(run.fallbacks).filter(([, n]) => n > 0);
    out.push(
      `  NIC fallbacks to the host: ${fb.length === 0 ? "none" : fb.map(([k, n]) => `${k} ${fmtInt(n)}`).join(", ")}`,
    );
    const dr = byCount(run.drops).filter(([, n]) => n > 0);
    out.push(
      `  drops: ${dr.length === 0 ? "none" : dr.map(([k, n]) => (c ? paint("33", k) : k) + ` ${fmtInt(n)}`).join(", ")}`,
    );
    if (run.marks.length > 0) {
      out.push("  timeline:");
      for (const m of run.marks) out.push(`    ${fmtMs(m.tMs).padStart(10)}  ${m.label}`);
    }
    if (run.captures.length > 0) out.push(`  captures: ${run.captures.join(", ")}`);
    out.push("");
  }

  out.push(bold("Cost model") + " (host CPU time of one core; sources in src/scenario/cost.ts)");
  out.push(`  ${modelSummary(model)}`);
  const ov = Object.keys(report.costOverrides).sort();
  out.push(
    `  set by the scenario: ${ov.length === 0 ? "none (all defaults)" : ov.map((k) => `${k}=${report.costOverrides[k]}`).join(", ")}`,
  );
  return out.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------
// JSON

/** Rounded to `d` decimals; non-finite numbers become null (JSON has no Infinity). */
function num(x: number, d: number): number | null {
  if (!Number.isFinite(x)) return null;
  const p = 10 ** d;
  const v = Math.round(x * p) / p;
  return v === 0 ? 0 : v; // no "-0"
}

function sortedMap(m: Readonly<Record<string, number>>, d: number): Record<string, number | null> {
  const o: Record<string, number | null> = {};
  for (const k of Object.keys(m).sort()) o[k] = num(m[k] as number, d);
  return o;
}

function runJson(r: RunResult): unknown {
  return {
    label: r.label,
    hwOffload: r.hwOffload,
    durationMs: num(r.durationMs, 3),
    packets: num(r.packets, 0),
    bytes: num(r.bytes, 0),
    tiers: r.tiers.map((t) => ({
      tier: t.tier,
      packets: num(t.packets, 0),
      bytes: num(t.bytes, 0),
      share: num(t.share, 6),
    })),
    nic: {
      l1Hits: num(r.nic.l1Hits, 0),
      l1Misses: num(r.nic.l1Misses, 0),
      l2Hits: num(r.nic.l2Hits, 0),
      l2Misses: num(r.nic.l2Misses, 0),
    },
    datapath: {
      emcHits: num(r.datapath.emcHits, 0),
      megaflowHits: num(r.datapath.megaflowHits, 0),
      upcalls: num(r.datapath.upcalls, 0),
      lost: num(r.datapath.lost, 0),
    },
    flowSetups: num(r.flowSetups, 0),
    setupRate: num(r.setupRate, 3),
    peakFlows: num(r.peakFlows, 0),
    peakOffloaded: num(r.peakOffloaded, 0),
    flows: {
      offloaded: num(r.flows.offloaded, 0),
      software: num(r.flows.software, 0),
      refused: r.flows.refused.map((x) => ({ reason: x.reason, flows: num(x.flows, 0), example: x.example })),
    },
    fallbacks: sortedMap(r.fallbacks, 0),
    drops: sortedMap(r.drops, 0),
    sampleMs: num(r.sampleMs, 3),
    samples: r.samples.map((s) => ({
      tMs: num(s.tMs, 3),
      tierPps: s.tierPps.map((p) => num(p, 3)),
      dpFlows: num(s.dpFlows, 0),
      offloadedFlows: num(s.offloadedFlows, 0),
      setupsPerSec: num(s.setupsPerSec, 3),
    })),
    marks: r.marks.map((m) => ({ tMs: num(m.tMs, 3), label: m.label })),
    captures: [...r.captures],
  };
}

function costJson(c: RunCost): unknown {
  return {
    label: c.label,
    hwOffload: c.hwOffload,
    cpuSeconds: num(c.cpuSeconds, 9),
    tierSeconds: c.tierSeconds.map((s) => num(s, 9)),
    insertSeconds: num(c.insertSeconds, 9),
    cores: num(c.cores, 6),
    sustainablePps: c.sustainablePps === null ? null : num(c.sustainablePps, 3),
    nsPerPacket: num(c.nsPerPacket, 3),
  };
}

/**
 * The report as JSON: the Report's own fields (readable back with readJsonReport) and a `cost`
 * section with the resolved cost model, each run's estimate and the on/off saving.
 */
export function formatJson(report: Report): string {
  const model = costModel(report.costOverrides);
  const saving = compareRuns(report, model);
  const m: Record<string, number | null> = {};
  for (const k of Object.keys(COST_KEYS) as CostKey[]) m[k] = num(model[k], 6);
  const doc = {
    format: JSON_FORMAT,
    scenario: {
      name: report.scenario.name,
      description: report.scenario.description,
      source: report.scenario.source,
      seed: report.scenario.seed,
    },
    costOverrides: sortedMap(report.costOverrides, 6),
    runs: report.runs.map(runJson),
    cost: {
      model: m,
      tiers: [...TIERS],
      runs: report.runs.map((r) => costJson(runCost(r, model))),
      saving:
        saving === null
          ? null
          : {
              on: saving.on.label,
              off: saving.off.label,
              coresSaved: num(saving.coresSaved, 6),
              percentSaved: num(saving.percentSaved, 3),
              ratio: saving.ratio === null ? null : num(saving.ratio, 6),
              headline: headline(saving),
            },
    },
  };
  return JSON.stringify(doc, null, 2) + "\n";
}

/**
 * A Report from formatJson() output, to render it again (text or page) without running. The
 * `cost` section is dropped: it is recomputed from the runs and costOverrides.
 */
export function readJsonReport(text: string): Report {
  const doc = JSON.parse(text) as { format?: unknown; scenario?: unknown; runs?: unknown; costOverrides?: unknown };
  if (doc.format !== JSON_FORMAT) {
    throw new Error(`not an offload-emu report: "format" is ${JSON.stringify(doc.format)}, expected "${JSON_FORMAT}"`);
  }
  if (typeof doc.scenario !== "object" || doc.scenario === null || !Array.isArray(doc.runs)) {
    throw new Error("offload-emu report: missing scenario or runs");
  }
  return {
    scenario: doc.scenario as Report["scenario"],
    runs: doc.runs as RunResult[],
    costOverrides: (doc.costOverrides ?? {}) as Record<string, number>,
  };
}

// The report as one self-contained HTML page: the same headline and tables as the terminal
// report (report.ts), plots drawn by svg.ts, and the full text report at the end. Inline CSS,
// inline SVG, no script, no web fonts, no URL to fetch: it opens from a file on a machine with
// no network, and the same report gives the same bytes (nothing here reads the clock).
//
// Plots: estimated host cores over virtual time (one line per run: the headline as a picture),
// per-tier packet rate for each run (one line per tier), and datapath vs offloaded flow counts
// (solid and dashed, one colour per run). Every plot shows the runs' timeline marks as labelled
// vertical lines, so a rule change or a hw-offload toggle lines up with what it caused.

import { COST_KEYS, compareRuns, costModel, runCost, sampleCores, type CostKey, type RunCost } from "./cost.ts";
import {
  byCount,
  comparisonRows,
  fmtBytes,
  fmtInt,
  fmtMs,
  fmtShare,
  formatText,
  headline,
  modelSummary,
  tierRows,
} from "./report.ts";
import { TIERS, type Report, type RunResult, type TierName, type TimelineMark } from "./result.ts";
import { esc, lineChart, type ChartMark, type Series } from "./svg.ts";

/** One colour per tier, fixed so that plots of different runs read the same. */
export const TIER_COLORS: Readonly<Record<TierName, string>> = {
  "nic-l1": "#1b9e77",
  "nic-l2": "#66a61e",
  "dp-emc": "#7570b3",
  "dp-megaflow": "#e7298a",
  upcall: "#d95f02",
  drop: "#666666",
};

/** Runs are coloured in order: the first two are normally hw-offload on and off. */
const RUN_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#17becf"] as const;

const CSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1000px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
h3 { font-size: 1.05em; margin-top: 1.4em; }
.meta { color: #666; margin-top: 0; }
.headline { font-size: 1.3em; font-weight: bold; color: #17633a; background: #eef8f1; border-left: 4px solid #2e9e5b; padding: 0.5em 0.8em; }
.headline.none { color: #444; background: #f3f3f3; border-left-color: #999; }
table { border-collapse: collapse; margin: 0.6em 0; }
th, td { padding: 0.2em 0.8em; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.85em; }
code { word-break: break-all; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.4em; vertical-align: middle; }
svg.plot { display: block; margin: 0.8em 0; max-width: 100%; height: auto; font-size: 11px; }
svg.plot .chart-title { font-size: 13px; font-weight: bold; }
svg.plot .axis-label { font-size: 12px; }
svg.plot .mark-label { font-size: 10px; fill: #444; }
`;

function tableHtml(head: readonly string[], rows: readonly (readonly string[])[], numeric: readonly boolean[]): string {
  const cls = (i: number): string => (numeric[i] === true ? ` class="n"` : "");
  const th = head.map((h, i) => `<th${cls(i)}>${esc(h)}</th>`).join("");
  const tr = rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${esc(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table>\n<thead><tr>${th}</tr></thead>\n<tbody>\n${tr}\n</tbody>\n</table>`;
}

/** Marks of every run, once each (runs of the same scenario share their timeline). */
function allMarks(runs: readonly RunResult[]): ChartMark[] {
  const seen = new Set<string>();
  const out: ChartMark[] = [];
  const sorted: TimelineMark[] = runs
    .flatMap((r) => r.marks)
    .sort((a, b) => a.tMs - b.tMs || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  for (const m of sorted) {
    const k = `${m.tMs}\u0000${m.label}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ x: m.tMs / 1000, label: m.label });
  }
  return out;
}

function runColor(i: number): string {
  return RUN_COLORS[i % RUN_COLORS.length] as string;
}

function xMaxOf(runs: readonly RunResult[]): number {
  let m = 0;
  for (const r of runs) m = Math.max(m, r.durationMs / 1000, ...r.samples.map((s) => s.tMs / 1000));
  return m > 0 ? m : 1;
}

function slug(s: string, i: number): string {
  return `run${i}-${s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")}`;
}

function plots(report: Report): string {
  const model = costModel(report.costOverrides);
  const runs = report.runs;
  const marks = allMarks(runs);
  const xMax = xMaxOf(runs);
  const out: string[] = [];

  out.push(`<h2>Host CPU over time</h2>`);
  out.push(
    `<p>Estimated host cores busy in each sample interval, from the per-tier packet rates and the cost model below.</p>`,
  );
  out.push(
    lineChart({
      id: "host-cores",
      title: "Estimated host CPU",
      xLabel: "virtual time (s)",
      yLabel: "host cores",
      xMax,
      marks,
      yTick: (v) => String(Number(v.toPrecision(3))),
      series: runs.map((r, i) => {
        const cores = sampleCores(r, model);
        return {
          name: r.label,
          color: runColor(i),
          points: r.samples.map((s, j) => [s.tMs / 1000, cores[j] as number] as const),
        };
      }),
    }),
  );

  out.push(`<h2>Packet rate per tier</h2>`);
  for (const [i, r] of runs.entries()) {
    out.push(
      lineChart({
        id: `${slug(r.label, i)}-tiers`,
        title: `Packets/s per tier: ${r.label}`,
        xLabel: "virtual time (s)",
        yLabel: "packets/s",
        xMax,
        marks,
        series: TIERS.map((t, ti) => ({
          name: t,
          color: TIER_COLORS[t],
          points: r.samples.map((s) => [s.tMs / 1000, s.tierPps[ti] ?? 0] as const),
        })),
      }),
    );
  }

  out.push(`<h2>Datapath and offloaded flows</h2>`);
  out.push(`<p>Datapath flows installed (solid) and, of those, offloaded to a NIC (dashed), at each sample.</p>`);
  const flowSeries: Series[] = [];
  runs.forEach((r, i) => {
    flowSeries.push({
      name: `${r.label}: datapath`,
      color: runColor(i),
      points: r.samples.map((s) => [s.tMs / 1000, s.dpFlows] as const),
    });
    flowSeries.push({
      name: `${r.label}: offloaded`,
      color: runColor(i),
      dashed: true,
      points: r.samples.map((s) => [s.tMs / 1000, s.offloadedFlows] as const),
    });
  });
  out.push(
    lineChart({
      id: "flows",
      title: "Flow counts",
      xLabel: "virtual time (s)",
      yLabel: "flows",
      xMax,
      marks,
      series: flowSeries,
    }),
  );
  return out.join("\n");
}

function runSection(run: RunResult, cost: RunCost): string {
  const o: string[] = [];
  o.push(`<h3>${esc(run.label)}</h3>`);
  o.push(
    `<p>${esc(fmtInt(run.packets))} packets, ${esc(fmtBytes(run.bytes))} in ${esc((run.durationMs / 1000).toFixed(1))} s of virtual time; ` +
      `host CPU ${esc(cost.cpuSeconds.toFixed(3))} core-seconds` +
      (cost.insertSeconds > 0 ? ` (of which NIC flow insertions ${esc(cost.insertSeconds.toFixed(3))} s)` : "") +
      `.</p>`,
  );
  const rows = tierRows(run).map((t) => [
    t.tier,
    fmtInt(t.packets),
    fmtShare(t.share),
    t.hits === null ? "-" : fmtInt(t.hits),
    t.misses === null ? "-" : fmtInt(t.misses),
    `${(cost.tierSeconds[TIERS.indexOf(t.tier)] ?? 0).toFixed(3)} s`,
  ]);
  o.push(
    tableHtml(["tier", "packets", "share", "hits", "misses", "host CPU"], rows, [false, true, true, true, true, true]),
  );
  o.push(
    `<p>Flow setups: ${esc(fmtInt(run.flowSetups))} (${esc(fmtInt(run.setupRate))}/s); peak datapath flows ${esc(fmtInt(run.peakFlows))}, ` +
      `of which offloaded ${esc(fmtInt(run.peakOffloaded))}. Flows set up: ${esc(fmtInt(run.flows.offloaded))} offloaded, ` +
      `${esc(fmtInt(run.flows.software))} in software${run.hwOffload ? "" : " (hw-offload off)"}.</p>`,
  );
  if (run.flows.refused.length > 0) {
    const refused = [...run.flows.refused].sort((a, b) => b.flows - a.flows || (a.reason < b.reason ? -1 : 1));
    o.push(
      `<table>\n<thead><tr><th>refused offload</th><th class="n">flows</th><th>example flow</th></tr></thead>\n<tbody>`,
    );
    for (const r of refused)
      o.push(
        `<tr><td>${esc(r.reason)}</td><td class="n">${esc(fmtInt(r.flows))}</td><td><code>${esc(r.example)}</code></td></tr>`,
      );
    o.push(`</tbody>\n</table>`);
  }
  const fb = byCount(run.fallbacks).filter(([, n]) => n > 0);
  o.push(
    `<p>NIC fallbacks to the host: ${fb.length === 0 ? "none" : esc(fb.map(([k, n]) => `${k} ${fmtInt(n)}`).join(", "))}.</p>`,
  );
  const dr = byCount(run.drops).filter(([, n]) => n > 0);
  o.push(`<p>Drops: ${dr.length === 0 ? "none" : esc(dr.map(([k, n]) => `${k} ${fmtInt(n)}`).join(", "))}.</p>`);
  if (run.marks.length > 0) {
    o.push(
      tableHtml(
        ["time", "event"],
        run.marks.map((m) => [fmtMs(m.tMs), m.label]),
        [true, false],
      ),
    );
  }
  if (run.captures.length > 0)
    o.push(`<p>Captures: ${run.captures.map((c) => `<code>${esc(c)}</code>`).join(", ")}</p>`);
  return o.join("\n");
}

/** The whole page. */
export function formatHtml(report: Report): string {
  const model = costModel(report.costOverrides);
  const costs = report.runs.map((r) => runCost(r, model));
  const saving = compareRuns(report, model);
  const sc = report.scenario;
  const o: string[] = [];
  o.push(`<!DOCTYPE html>`);
  o.push(`<html lang="en">`);
  o.push(`<head>`);
  o.push(`<meta charset="utf-8">`);
  o.push(`<meta name="viewport" content="width=device-width, initial-scale=1">`);
  o.push(`<title>${esc(`offload-emu report: ${sc.name}`)}</title>`);
  o.push(`<style>${CSS}</style>`);
  o.push(`</head>`);
  o.push(`<body>`);
  o.push(`<h1>offload-emu report: ${esc(sc.name)}</h1>`);
  o.push(`<p class="meta">${esc(sc.source)}, seed ${esc(String(sc.seed))}</p>`);
  if (sc.description !== "") o.push(`<p>${esc(sc.description)}</p>`);
  o.push(`<p class="headline${saving === null ? " none" : ""}">${esc(headline(saving))}</p>`);

  if (report.runs.length > 0) {
    const cmp = comparisonRows(report, costs);
    o.push(tableHtml(["", ...report.runs.map((r) => r.label)], cmp, [false, ...report.runs.map(() => true)]));
    if (saving !== null) {
      o.push(
        `<p>Host CPU, off / on: ${saving.ratio === null ? "unbounded (with hw-offload on this traffic costs the host nothing)" : esc(`${saving.ratio.toFixed(2)}x`)}.</p>`,
      );
    }
  }

  o.push(plots(report));

  o.push(`<h2>Runs</h2>`);
  report.runs.forEach((r, i) => o.push(runSection(r, costs[i] as RunCost)));

  o.push(`<h2>Cost model</h2>`);
  o.push(
    `<p>Host CPU time of one core per packet, by the tier that handled it, and per flow inserted into a NIC. ` +
      `Defaults come from published Open vSwitch figures cited in <code>src/scenario/cost.ts</code>; a scenario overrides them with <code>cost</code> keys.</p>`,
  );
  o.push(`<p>${esc(modelSummary(model))}</p>`);
  const keys = Object.keys(COST_KEYS) as CostKey[];
  o.push(
    tableHtml(
      ["key", "value", "set by", "meaning"],
      keys.map((k) => [
        k,
        String(Number(model[k].toPrecision(6))),
        Object.hasOwn(report.costOverrides, k) ? "scenario" : "default",
        COST_KEYS[k],
      ]),
      [false, true, false, false],
    ),
  );

  o.push(`<h2>Text report</h2>`);
  o.push(`<details><summary>as printed on the terminal</summary>\n<pre>${esc(formatText(report))}</pre>\n</details>`);
  o.push(`</body>`);
  o.push(`</html>`);
  return o.join("\n") + "\n";
}

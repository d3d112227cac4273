import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatHtml } from "../../src/scenario/html.ts";
import { niceTicks } from "../../src/scenario/svg.ts";
import { requireTool } from "../helpers.ts";
import { fixtureReport } from "./fixtures.ts";

// The page is rendered from the hand-made fixture (test/scenario/fixtures.ts). The plots are
// checked in a real browser: headless Chromium (Debian's chromium package) lays the page out
// and a small script, added to a copy of the page for the test only, measures every series'
// polyline with getBBox() and writes the figures into the DOM, which --dump-dom prints.

const PLOTS = ["host-cores", "run0-hw-offload-on-tiers", "run1-hw-offload-off-tiers", "flows"];

describe("formatHtml, as text", () => {
  const html = formatHtml(fixtureReport());

  it("is one self-contained page: no script, no URL, no web font", () => {
    expect(html.startsWith("<!DOCTYPE html>\n")).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/https?:|\/\/[a-z]|url\(|@import|@font-face|<link|<img|xlink:href/i);
  });
  it("has the headline, the comparison, each run's tiers and refusals, and the plots", () => {
    expect(html).toContain(
      `<p class="headline">hw-offload saves 0.43 cores (80.1 % of host CPU) for this traffic, 0.43 cores for every Mpps of it</p>`,
    );
    expect(html).toContain(`<td>sustainable on one core</td><td class="n">9.45 Mpps</td><td class="n">1.88 Mpps</td>`);
    expect(html).toContain(`<td>table full (4096 entries)</td><td class="n">1,500</td>`);
    for (const p of PLOTS) expect(html).toContain(`<svg class="plot" data-plot="${p}"`);
    expect(html.match(/<polyline class="series"/g)).toHaveLength(2 + 6 + 6 + 4);
  });
  it("escapes what the scenario and the runner wrote", () => {
    const r = fixtureReport();
    r.scenario.name = `<b>&"x"`;
    r.runs[0]!.marks = [{ tMs: 1000, label: "ofctl add-flow br0 <evil>&" }];
    const h = formatHtml(r);
    expect(h).toContain("offload-emu report: &lt;b&gt;&amp;&quot;x&quot;");
    expect(h).toContain("ofctl add-flow br0 &lt;evil&gt;&amp;");
    expect(h).not.toContain("<evil>");
  });
  it("gives the same bytes for the same report", () => {
    expect(formatHtml(fixtureReport())).toBe(html);
  });
  it("puts axis ticks on 1-2-5 steps", () => {
    expect(niceTicks(0, 10, 8)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, 956_000, 5)).toEqual([0, 200_000, 400_000, 600_000, 800_000, 1_000_000]);
    expect(niceTicks(0, 0.5875, 5)).toEqual([0, 0.2, 0.4, 0.6]);
  });
});

// Runs wherever chromium is installed; under CI (CI set) it runs anyway and fails without it.
describe.runIf(requireTool("chromium"))("formatHtml, rendered in headless Chromium", () => {
  const dir = mkdtempSync(join(tmpdir(), "offload-emu-html-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  interface Box {
    x: number;
    y: number;
    width: number;
    height: number;
  }
  interface Measured {
    plot: string;
    area: Box;
    series: { name: string; box: Box; points: number }[];
    marks: number;
    legend: number;
  }

  // Added to a copy of the page only; the page itself has no script.
  const MEASURE = `<script>
const out = [];
for (const svg of document.querySelectorAll("svg.plot")) {
  const a = svg.querySelector("rect.plot-area").getBBox();
  out.push({
    plot: svg.dataset.plot,
    area: { x: a.x, y: a.y, width: a.width, height: a.height },
    series: [...svg.querySelectorAll("polyline.series")].map((p) => {
      const b = p.getBBox();
      return { name: p.dataset.series, box: { x: b.x, y: b.y, width: b.width, height: b.height }, points: p.points.numberOfItems };
    }),
    marks: svg.querySelectorAll("g.mark line").length,
    legend: svg.querySelectorAll("g.legend text").length,
  });
}
const pre = document.createElement("pre");
pre.id = "measured";
pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>`;

  function render(): Measured[] {
    const file = join(dir, "report.html");
    writeFileSync(file, formatHtml(fixtureReport()).replace("</body>", `${MEASURE}\n</body>`));
    const dom = execFileSync(
      "chromium",
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        `--user-data-dir=${join(dir, "profile")}`,
        "--dump-dom",
        `file://${file}`,
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 60_000 },
    );
    const m = /<pre id="measured">([^<]*)<\/pre>/.exec(dom);
    expect(m, "the measuring script ran").not.toBeNull();
    return JSON.parse((m as RegExpExecArray)[1]!.replace(/&quot;/g, '"').replace(/&amp;/g, "&")) as Measured[];
  }

  it("draws every plot with non-empty series inside its plotting area, marks and legend", () => {
    const plots = render();
    expect(plots.map((p) => p.plot)).toEqual(PLOTS);
    for (const p of plots) {
      expect(p.area.width, p.plot).toBeGreaterThan(100);
      expect(p.area.height, p.plot).toBeGreaterThan(100);
      expect(p.series.length, p.plot).toBeGreaterThan(0);
      expect(p.legend, p.plot).toBe(p.series.length);
      expect(p.marks, p.plot).toBe(2); // the fixture's rule change at 5 s and link down at 8 s
      for (const s of p.series) {
        expect(s.points, `${p.plot} ${s.name}`).toBe(10); // ten 1 s samples
        // The fixture's samples run from 1 s to 10 s on a 0..10 s axis: 9/10 of the width.
        expect(s.box.width, `${p.plot} ${s.name}`).toBeCloseTo(p.area.width * 0.9, 0);
        expect(s.box.x + s.box.width).toBeLessThanOrEqual(p.area.x + p.area.width + 0.5);
        expect(s.box.y).toBeGreaterThanOrEqual(p.area.y - 0.5);
        expect(s.box.y + s.box.height).toBeLessThanOrEqual(p.area.y + p.area.height + 0.5);
      }
      // Not all flat: each plot has a series that moves (the fixture's rates and counts vary).
      expect(Math.max(...p.series.map((s) => s.box.height)), p.plot).toBeGreaterThan(20);
    }
    // The tallest line of each tier plot is the busiest tier: nic-l1 with offload, dp-emc without.
    const tallest = (plot: string): string => {
      const s = plots.find((p) => p.plot === plot)!.series;
      return s.reduce((a, b) => (b.box.y < a.box.y ? b : a)).name;
    };
    expect(tallest("run0-hw-offload-on-tiers")).toBe("nic-l1");
    expect(tallest("run1-hw-offload-off-tiers")).toBe("dp-emc");
  });
});

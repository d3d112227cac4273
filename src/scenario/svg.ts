// Hand-written SVG line charts for the HTML report (html.ts): axes with "nice" ticks and units,
// one polyline per series, a legend, and timeline marks as labelled vertical lines. No plotting
// dependency and no script: the page must open with no network and render the same bytes for
// the same report, so every coordinate is printed with a fixed number of decimals and nothing
// depends on the clock, the locale or iteration order of a Map.
//
// The output is an inline <svg> element for an HTML page (no xmlns, no external references).
// Each chart carries class="plot" and data-plot="<id>", its plotting area a rect with class
// "plot-area", and each series a polyline with class "series" and data-series="<name>", so a
// test (or a reader's stylesheet) can find them.

export interface Series {
  name: string;
  /** CSS colour. */
  color: string;
  /** [x, y] in data units, x ascending. */
  points: readonly (readonly [number, number])[];
  dashed?: boolean;
}

export interface ChartMark {
  /** Data x (same units as the series' x). */
  x: number;
  label: string;
}

export interface ChartSpec {
  /** Unique in the page; becomes data-plot and the id prefix. */
  id: string;
  title: string;
  /** Axis titles, units included ("virtual time (s)", "packets/s"). */
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  marks?: readonly ChartMark[];
  /** The x range; defaults to 0 .. the largest x of any series. */
  xMax?: number;
  width?: number;
  height?: number;
  /** Formats a y tick value; defaults to SI prefixes (1.5 k, 2 M). */
  yTick?: (v: number) => string;
}

const MARGIN = { left: 64, right: 190, top: 34, bottom: 46 } as const;
const LEGEND_ROW = 18; // px per legend entry
const MARK_LABEL_MAX = 44; // characters shown on the chart; the full text is in a <title>

/** Escapes text for SVG/HTML content and attribute values. */
export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A coordinate with one decimal, never "-0.0". */
function px(v: number): string {
  const s = v.toFixed(1);
  return s === "-0.0" ? "0.0" : s;
}

/**
 * Tick values from 0 (or min) to at least max, at a step of 1, 2 or 5 times a power of ten,
 * about `count` of them (Heckbert, "Nice numbers for graph labels", Graphics Gems, 1990).
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) max = min + 1;
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  const lo = Math.floor(min / step) * step;
  const ticks: number[] = [];
  for (let i = 0; ; i++) {
    // Multiply rather than accumulate, so 0.1-steps do not drift (0.30000000000000004).
    const t = Number((lo + i * step).toPrecision(12));
    ticks.push(t);
    if (t >= max) break;
  }
  return ticks;
}

/** 1500 -> "1.5k", 2000000 -> "2M", 0.25 -> "0.25". */
export function siTick(v: number): string {
  const a = Math.abs(v);
  const [d, p] = a >= 1e9 ? [1e9, "G"] : a >= 1e6 ? [1e6, "M"] : a >= 1e3 ? [1e3, "k"] : [1, ""];
  return `${Number((v / d).toPrecision(3))}${p}`;
}

export function lineChart(spec: ChartSpec): string {
  const W = spec.width ?? 760;
  const legendH = spec.series.length * LEGEND_ROW + 8;
  const H = Math.max(spec.height ?? 300, MARGIN.top + legendH + MARGIN.bottom);
  const x0 = MARGIN.left;
  const x1 = W - MARGIN.right;
  const y0 = H - MARGIN.bottom; // bottom of the plotting area
  const y1 = MARGIN.top;
  const marks = spec.marks ?? [];

  let xMaxData = 0;
  let yMaxData = 0;
  for (const s of spec.series) {
    for (const [x, y] of s.points) {
      if (x > xMaxData) xMaxData = x;
      if (y > yMaxData) yMaxData = y;
    }
  }
  const xTicks = niceTicks(0, spec.xMax ?? (xMaxData > 0 ? xMaxData : 1), 8);
  const yTicks = niceTicks(0, yMaxData > 0 ? yMaxData : 1, 5);
  const xMax = xTicks[xTicks.length - 1] as number;
  const yMax = yTicks[yTicks.length - 1] as number;
  const sx = (x: number): number => x0 + (x / xMax) * (x1 - x0);
  const sy = (y: number): number => y0 - (y / yMax) * (y0 - y1);
  const fy = spec.yTick ?? siTick;

  const o: string[] = [];
  o.push(
    `<svg class="plot" data-plot="${esc(spec.id)}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${esc(spec.id)}-title">`,
  );
  o.push(`<title id="${esc(spec.id)}-title">${esc(spec.title)}</title>`);
  o.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  o.push(`<text x="${px(x0)}" y="20" class="chart-title">${esc(spec.title)}</text>`);
  o.push(
    `<rect class="plot-area" x="${px(x0)}" y="${px(y1)}" width="${px(x1 - x0)}" height="${px(y0 - y1)}" fill="#fbfbfb" stroke="#cccccc"/>`,
  );

  // Grid, ticks and tick labels.
  o.push(`<g class="axis y-axis">`);
  for (const t of yTicks) {
    const y = px(sy(t));
    o.push(`<line x1="${px(x0)}" y1="${y}" x2="${px(x1)}" y2="${y}" stroke="#e4e4e4"/>`);
    o.push(`<line x1="${px(x0 - 5)}" y1="${y}" x2="${px(x0)}" y2="${y}" stroke="#333333"/>`);
    o.push(`<text x="${px(x0 - 8)}" y="${px(sy(t) + 4)}" text-anchor="end">${esc(fy(t))}</text>`);
  }
  o.push(
    `<text transform="translate(14 ${px((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle" class="axis-label">${esc(spec.yLabel)}</text>`,
  );
  o.push(`</g>`);
  o.push(`<g class="axis x-axis">`);
  for (const t of xTicks) {
    const x = px(sx(t));
    o.push(`<line x1="${x}" y1="${px(y0)}" x2="${x}" y2="${px(y0 + 5)}" stroke="#333333"/>`);
    o.push(`<text x="${x}" y="${px(y0 + 18)}" text-anchor="middle">${esc(siTick(t))}</text>`);
  }
  o.push(
    `<text x="${px((x0 + x1) / 2)}" y="${px(H - 8)}" text-anchor="middle" class="axis-label">${esc(spec.xLabel)}</text>`,
  );
  o.push(`<line x1="${px(x0)}" y1="${px(y0)}" x2="${px(x1)}" y2="${px(y0)}" stroke="#333333"/>`);
  o.push(`<line x1="${px(x0)}" y1="${px(y0)}" x2="${px(x0)}" y2="${px(y1)}" stroke="#333333"/>`);
  o.push(`</g>`);

  // Timeline marks, labels staggered so neighbours do not overwrite each other.
  if (marks.length > 0) {
    o.push(`<g class="marks">`);
    marks.forEach((m, i) => {
      const x = sx(Math.min(Math.max(m.x, 0), xMax));
      const right = x > (x0 + x1) / 2;
      const label = m.label.length > MARK_LABEL_MAX ? `${m.label.slice(0, MARK_LABEL_MAX - 1)}…` : m.label;
      const ly = y1 + 14 + (i % 4) * 14;
      o.push(`<g class="mark"><title>${esc(`${siTick(m.x)}: ${m.label}`)}</title>`);
      o.push(
        `<line x1="${px(x)}" y1="${px(y1)}" x2="${px(x)}" y2="${px(y0)}" stroke="#555555" stroke-dasharray="4 3"/>`,
      );
      o.push(
        `<text x="${px(right ? x - 4 : x + 4)}" y="${px(ly)}" text-anchor="${right ? "end" : "start"}" class="mark-label">${esc(label)}</text></g>`,
      );
    });
    o.push(`</g>`);
  }

  // Series.
  o.push(`<g class="series-group">`);
  for (const s of spec.series) {
    if (s.points.length === 0) continue;
    const pts = s.points.map(([x, y]) => `${px(sx(x))},${px(sy(y))}`).join(" ");
    const dash = s.dashed === true ? ` stroke-dasharray="7 4"` : "";
    o.push(
      `<polyline class="series" data-series="${esc(s.name)}" points="${pts}" fill="none" stroke="${esc(s.color)}" stroke-width="2"${dash}/>`,
    );
  }
  o.push(`</g>`);
  if (spec.series.every((s) => s.points.length === 0)) {
    o.push(`<text x="${px((x0 + x1) / 2)}" y="${px((y0 + y1) / 2)}" text-anchor="middle">no samples</text>`);
  }

  // Legend, to the right of the plotting area.
  o.push(`<g class="legend">`);
  spec.series.forEach((s, i) => {
    const y = y1 + 10 + i * LEGEND_ROW;
    const dash = s.dashed === true ? ` stroke-dasharray="7 4"` : "";
    o.push(
      `<line x1="${px(x1 + 12)}" y1="${px(y)}" x2="${px(x1 + 36)}" y2="${px(y)}" stroke="${esc(s.color)}" stroke-width="2"${dash}/>`,
    );
    o.push(`<text x="${px(x1 + 42)}" y="${px(y + 4)}">${esc(s.name)}</text>`);
  });
  o.push(`</g>`);
  o.push(`</svg>`);
  return o.join("\n");
}

// `offload-emu run [SCENARIO] [--out DIR] [--seed N] [--json] [--no-color] [--quiet]`: runs a
// scenario headless (src/scenario/run.ts) — with no file, the built-in default that `npm start`
// runs — and prints the report. Captures go where the scenario says (default captures/ under
// --out); the report also goes to DIR/report.json and DIR/report.html.
//
// A progress bar is drawn on stderr when it is a terminal, and not otherwise (CI logs, pipes).
// Ctrl-C stops the run between packets: the capture files are closed so they stay readable,
// and what ran so far is reported.

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ScenarioError, loadScenarioFile } from "../scenario/load.ts";
import { RunAborted, runScenario } from "../scenario/run.ts";
import { formatJson, formatText } from "../scenario/report.ts";
import { formatHtml } from "../scenario/html.ts";
import type { Report } from "../scenario/result.ts";
import { Args, UsageError } from "./args.ts";

export const DEFAULT_SCENARIO = fileURLToPath(new URL("../scenario/builtin/default.yaml", import.meta.url));

const HELP = `usage: offload-emu run [SCENARIO.yaml] [--out DIR] [--seed N] [--json] [--no-color] [--quiet]

Runs a scenario in-process on the virtual clock, once with hw-offload on and once off (or as
its "runs" say), and prints the report. With no SCENARIO, the built-in default (one host, a
SmartNIC with four VMs) that \`npm start\` runs: ${DEFAULT_SCENARIO}. Built-in scenarios
run by name: default, overlay (two hosts, VXLAN/GENEVE/NVGRE offloaded through an underlay).
  --out DIR    where captures/ (unless the scenario says otherwise), report.json and
               report.html go (default: the current directory)
  --seed N     override the scenario's seed
  --json       print the JSON report instead of the text one
  --no-color   no terminal colours (also when NO_COLOR is set or output is not a terminal)
  --quiet      no progress bar`;

export async function main(argv: string[]): Promise<number> {
  // `offload-emu run | head`: a reader that stops early is not an error.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    else throw e;
  });
  let file: string | null = null;
  let out = ".";
  let seed: number | null = null;
  let json = false;
  let color = process.stdout.isTTY === true && !process.env["NO_COLOR"];
  let quiet = false;
  const args = new Args(argv);
  for (let a = args.next(); a !== undefined; a = args.next()) {
    const value = (): string => args.value(a);
    try {
      if (a === "--help" || a === "-h") {
        console.log(HELP);
        return 0;
      } else if (a === "--out") out = value();
      else if (a === "--seed") {
        const v = value();
        seed = Number(v);
        if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32)
          throw new UsageError(`--seed ${v}: expected an integer from 0 to 4294967295`);
      } else if (a === "--json") json = true;
      else if (a === "--no-color") color = false;
      else if (a === "--quiet" || a === "-q") quiet = true;
      else if (a.startsWith("-")) throw new UsageError(`unrecognized option '${a}'`);
      else if (file === null) file = a;
      else throw new UsageError(`one scenario at a time ('${file}', then '${a}')`);
    } catch (e) {
      if (e instanceof UsageError) {
        console.error(`offload-emu run: ${e.message}\n\n${HELP}`);
        return 2;
      }
      throw e;
    }
  }
  const path = file === null ? DEFAULT_SCENARIO : (builtin(file) ?? resolve(file));
  let sc;
  try {
    sc = loadScenarioFile(path);
  } catch (e) {
    if (e instanceof ScenarioError) {
      console.error(`offload-emu run: ${e.message}`);
      return 1;
    }
    throw e;
  }
  if (seed !== null) sc.seed = seed;
  const outDir = resolve(out);
  const bar = !quiet && process.stderr.isTTY === true ? new ProgressBar(sc.name) : null;
  const ac = new AbortController();
  const onSigint = (): void => {
    ac.abort();
  };
  process.once("SIGINT", onSigint);
  let report: Report;
  let interrupted = false;
  try {
    report = await runScenario(sc, {
      baseDir: dirname(path),
      outDir,
      signal: ac.signal,
      ...(bar ? { progress: (x: number, label: string) => bar.draw(x, label) } : {}),
    });
  } catch (e) {
    bar?.clear();
    if (e instanceof ScenarioError) {
      console.error(`offload-emu run: ${e.message}`);
      return 1;
    }
    if (!(e instanceof RunAborted)) throw e;
    report = e.partial;
    interrupted = true;
  } finally {
    process.off("SIGINT", onSigint);
  }
  bar?.clear();
  mkdirSync(outDir, { recursive: true });
  const jsonText = formatJson(report);
  writeFileSync(resolve(outDir, "report.json"), jsonText);
  writeFileSync(resolve(outDir, "report.html"), formatHtml(report));
  if (json) process.stdout.write(jsonText);
  else {
    process.stdout.write(formatText(report, { color }));
    const caps = report.runs.flatMap((r) => r.captures);
    const rel = (p: string): string => (p.startsWith(`${process.cwd()}/`) ? p.slice(process.cwd().length + 1) : p);
    process.stdout.write(
      `\nCaptures (pcapng, one interface per port, the tier in each packet's comment):\n${caps.map((c) => `  ${rel(c)}`).join("\n") || "  (none)"}\n`,
    );
    process.stdout.write(
      `Report: ${rel(resolve(outDir, "report.html"))} (plots), ${rel(resolve(outDir, "report.json"))}\n`,
    );
  }
  if (interrupted) {
    console.error(
      "offload-emu run: interrupted; the captures written so far are closed and readable, the report covers the time run",
    );
    return 130;
  }
  return 0;
}

/** A built-in scenario named by its bare name ("overlay"), unless a file of that name exists here. */
function builtin(name: string): string | null {
  if (!/^[a-z][a-z0-9-]*$/.test(name) || existsSync(name)) return null;
  const p = fileURLToPath(new URL(`../scenario/builtin/${name}.yaml`, import.meta.url));
  return existsSync(p) ? p : null;
}

/** One line on stderr, redrawn in place: [#####.....] 42% hw-offload on. */
class ProgressBar {
  private last = "";
  constructor(private readonly name: string) {}
  draw(x: number, label: string): void {
    const width = 30;
    const n = Math.max(0, Math.min(width, Math.round(x * width)));
    const line = `${this.name} [${"#".repeat(n)}${".".repeat(width - n)}] ${String(Math.floor(x * 100)).padStart(3)}% ${label}`;
    if (line === this.last) return;
    this.last = line;
    process.stderr.write(`\r${line}\x1b[K`);
  }
  clear(): void {
    if (this.last !== "") process.stderr.write("\r\x1b[K");
    this.last = "";
  }
}

// `offload-emu run` as a user runs it (the real program, in a fresh directory): the built-in
// scenario that `npm start` runs, no progress bar when output is not a terminal, the report
// files, one clear message for a bad scenario, and Ctrl-C (SIGINT) leaving capture files that
// tshark reads without complaint.

import { describe, expect, it } from "vitest";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { requireTool } from "../helpers.ts";

const BIN = resolve(__dirname, "../../bin/offload-emu.js");

describe("offload-emu run", () => {
  it("runs the built-in scenario: report on stdout, nothing on stderr, captures and report files", () => {
    const dir = mkdtempSync(join(tmpdir(), "oe-run-"));
    const r = spawnSync(process.execPath, [BIN, "run"], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(
      /^hw-offload saves [\d.]+ cores \([\d.]+ % of host CPU\) for this traffic, [\d.]+ cores for every Mpps of it$/,
    );
    expect(r.stdout).toContain("refused offloads:");
    expect(r.stdout).toContain("action userspace not supported");
    for (const f of ["captures/default-hw-on.pcapng", "captures/default-hw-off.pcapng", "report.json", "report.html"]) {
      expect(statSync(join(dir, f)).size).toBeGreaterThan(1000);
    }
    const json = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as { runs: { packets: number }[] };
    expect(json.runs).toHaveLength(2);
    expect(json.runs[0]?.packets).toBe(json.runs[1]?.packets);
  }, 60_000);

  // script(1) (util-linux) gives the program a terminal, as a user's shell does.
  it.runIf(requireTool("script"))(
    "draws a progress bar on a terminal, and clears it before the report",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "oe-run-"));
      const out = execFileSync("script", ["-qec", `${process.execPath} ${BIN} run`, "/dev/null"], {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1" },
      });
      expect(out).toMatch(/\rdefault \[#+\.+\] +\d+% hw-offload on\x1b\[K/);
      expect(out).toMatch(/\rdefault \[#+\.*\] +\d+% hw-offload off\x1b\[K/);
      // The report starts on a cleared line.
      expect(out).toMatch(/\r\x1b\[Khw-offload saves /);
    },
    60_000,
  );

  it("stops on a bad scenario with one message naming the place", () => {
    const dir = mkdtempSync(join(tmpdir(), "oe-run-"));
    writeFileSync(
      join(dir, "bad.yaml"),
      "duration: 1s\nsetup:\n  - vsctl add-br br0\ntraffic:\n  - port: br0\n    rate: -5pps\n",
    );
    const r = spawnSync(process.execPath, [BIN, "run", "bad.yaml"], { cwd: dir, encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `offload-emu run: ${join(dir, "bad.yaml")}:6:11: traffic[0].rate: expected a rate such as "20kpps" or "1.5Gbps" (more than 0), found "-5pps"\n`,
    );
    expect(existsSync(join(dir, "captures"))).toBe(false);
  });

  describe.runIf(requireTool("tshark"))("interrupted", () => {
    it("closes its captures on SIGINT so they stay readable", async () => {
      const dir = mkdtempSync(join(tmpdir(), "oe-run-"));
      writeFileSync(
        join(dir, "long.yaml"),
        `duration: 10min
runs: [on]
setup:
  - vsctl add-br br0 -- set Bridge br0 datapath_type=netdev
  - vsctl add-port br0 p1 -- set Interface p1 type=dummy
  - vsctl add-port br0 p2 -- set Interface p2 type=dummy
  - ofctl add-flow br0 in_port=p1,actions=output:p2
traffic:
  - port: p1
    rate: 20kpps
    flows: 100
`,
      );
      const child = spawn(process.execPath, [BIN, "run", "long.yaml"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      let stdout = "";
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
      });
      const file = join(dir, "captures", "long-hw-on.pcapng");
      // Wait until packets are being written, then interrupt.
      for (let i = 0; i < 300 && !(existsSync(file) && statSync(file).size > 200_000); i++)
        await new Promise((r) => setTimeout(r, 100));
      child.kill("SIGINT");
      const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
      expect(code).toBe(130);
      expect(stderr).toContain("interrupted; the captures written so far are closed and readable");
      expect(stdout).toContain('Run "hw-offload on"');
      // capinfos/tshark complain about a cut-off last block; a closed file has none.
      const out = execFileSync("tshark", ["-r", file, "-q", "-z", "io,stat,0"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
      const frames = Number(/\|\s+0(?:\.0+)? <> [\d.]+ \|\s+(\d+)/.exec(out)?.[1] ?? NaN);
      expect(frames).toBeGreaterThan(1000);
    }, 60_000);
  });
});

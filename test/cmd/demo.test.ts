// The default run (`npm start`): it must finish, be deterministic, and leave a capture that
// Wireshark's own dissector reads without a malformed packet or a bad checksum.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { requireTool } from "../helpers.ts";

const BIN = join(import.meta.dirname, "../../bin/offload-emu.js");
const dir = mkdtempSync(join(tmpdir(), "demo-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runDemo(out: string) {
  const r = spawnSync(process.execPath, [BIN, "demo", "--out", out], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe("offload-emu demo", () => {
  const first = runDemo(join(dir, "a"));
  runDemo(join(dir, "b"));

  it("prints each packet's flow and the counted malformed frame", () => {
    expect(first).toContain("tunnel(tun_id=0x1389,src=192.0.2.2,dst=192.0.2.1");
    expect(first).toContain("malformed: ipv4 truncated at byte 16");
    expect(first).toMatch(/11 packets parsed, 1 malformed/);
  });

  it("writes byte-identical captures on every run", () => {
    expect(readFileSync(join(dir, "a/demo.pcapng"))).toEqual(readFileSync(join(dir, "b/demo.pcapng")));
  });

  describe.runIf(requireTool("tshark"))("as tshark reads the capture", () => {
    const out = () =>
      execFileSync(
        "tshark",
        [
          "-n",
          "-r",
          join(dir, "a/demo.pcapng"),
          "-o",
          "ip.check_checksum:TRUE",
          "-o",
          "udp.check_checksum:TRUE",
          "-o",
          "tcp.check_checksum:TRUE",
          "-T",
          "fields",
          "-E",
          "occurrence=a",
          "-E",
          "aggregator=,",
          "-e",
          "frame.interface_name",
          "-e",
          "_ws.malformed",
          "-e",
          "ip.checksum.status",
          "-e",
          "udp.checksum.status",
          "-e",
          "tcp.checksum.status",
          "-e",
          "frame.comment",
        ],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
      )
        .trim()
        .split("\n")
        .map((l) => l.split("\t"));

    it("names each packet's port and carries its comment", () => {
      const rows = out();
      expect(rows).toHaveLength(11);
      expect(rows.map((r) => r[0])).toEqual([
        "vf0",
        "vf1",
        "vf2",
        "vf0",
        "vf1",
        "uplink",
        "uplink",
        "uplink",
        "uplink",
        "vf3",
        "vf3",
      ]);
      for (const r of rows) expect(r[5]).toMatch(/flow: /);
    });

    it("finds no bad checksum, and only the deliberately cut frame malformed", () => {
      const rows = out();
      rows.slice(0, 10).forEach((r) => {
        expect(r[1]).toBe("");
        for (const c of [r[2], r[3], r[4]])
          for (const s of (c ?? "").split(",").filter(Boolean)) expect(["1", "2", "3"]).toContain(s);
      });
    });
  });
});

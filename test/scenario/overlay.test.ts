// The built-in two-host overlay scenario (src/scenario/builtin/overlay.yaml): VMs on VFs of host
// a talk to VMs on host b over VXLAN, GENEVE and NVGRE through an underlay switch. Checked
// against things we did not write: tshark's dissection of the underlay capture (outer and inner
// headers, no expert warnings or errors) and the frames the VMs sent, recorded on host a's VF
// ports, which must come out of the tunnels byte for byte. Header sizes are the RFCs':
// Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8 (RFC 7348 §5) or GENEVE 8 without options (RFC 8926
// §3.4), and GRE with a key 8 (RFC 2890 §2; NVGRE, RFC 7637 §3.2).

import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadScenarioFile } from "../../src/scenario/load.ts";
import { runScenario } from "../../src/scenario/run.ts";
import { readCaptureFile } from "../../src/io/capture.ts";
import type { RunResult } from "../../src/scenario/result.ts";
import { DEFAULT_SCENARIO } from "../../src/cmd/run.ts";
import { requireTool } from "../helpers.ts";

const OVERLAY = DEFAULT_SCENARIO.replace(/default\.yaml$/, "overlay.yaml");

async function runOverlay(): Promise<{ dir: string; run: RunResult }> {
  const sc = loadScenarioFile(OVERLAY);
  sc.runs = [true];
  const dir = mkdtempSync(join(tmpdir(), "oe-overlay-"));
  const report = await runScenario(sc, { baseDir: dir, outDir: dir });
  return { dir, run: report.runs[0] as RunResult };
}

/** Frames of one interface (by name) of a pcapng, with their comments. */
function frames(file: string, iface: string): { data: Uint8Array; comment: string }[] {
  const r = readCaptureFile(file);
  const ids = new Set(r.interfaces.flatMap((i, n) => (i.name === iface ? [n] : [])));
  return r.packets
    .filter((p) => ids.has(p.interfaceId))
    .map((p) => ({ data: p.data.slice(0, p.caplen), comment: p.comment ?? "" }));
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

describe("two hosts over VXLAN, GENEVE and NVGRE", () => {
  it("delivers every VM's frames through its tunnel unchanged, offloaded at both ends", async () => {
    const { dir, run } = await runOverlay();
    const cap = (h: string) => join(dir, "captures", `overlay-${h}-hw-on.pcapng`);
    // The underlay switch port towards host a sees each packet a sends; rx and tx records both.
    const onWire = frames(cap("underlay"), "to-a");
    const byTunnel = new Map<string, string[]>();
    for (const { data } of onWire) {
      if (data[12] !== 0x08 || data[13] !== 0x00) continue;
      const proto = data[23];
      const src = data.subarray(26, 30).join(".");
      if (src !== "172.31.0.1") continue; // from host a
      let kind: string;
      let inner: Uint8Array;
      if (proto === 17) {
        const dport = ((data[36] as number) << 8) | (data[37] as number);
        kind = dport === 4789 ? "vxlan" : dport === 6081 ? "geneve" : `udp ${dport}`;
        inner = data.subarray(50);
      } else if (proto === 47) {
        kind = "nvgre";
        inner = data.subarray(42);
      } else continue;
      const list = byTunnel.get(kind) ?? [];
      list.push(hex(inner));
      byTunnel.set(kind, list);
    }
    // What each VM sent, as recorded when it entered host a.
    const sent = (vm: string) =>
      frames(cap("a"), vm)
        .filter((f) => !f.comment.startsWith("?"))
        .map((f) => hex(f.data));
    const vm1 = sent("vm1").filter((f) => f.startsWith("020000000b01"));
    const vm2 = sent("vm2").filter((f) => f.startsWith("020000000b02"));
    const vm3 = sent("vm3").filter((f) => f.startsWith("020000000b03"));
    expect(vm1.length).toBeGreaterThan(300);
    // The switch port towards a records what a sent as received; the inner frames are the VMs'.
    expect(byTunnel.get("vxlan")).toEqual(vm1);
    expect(byTunnel.get("geneve")).toEqual(vm2);
    expect(byTunnel.get("nvgre")).toEqual(vm3);
    // Host b hands the same frames to its VMs.
    const got = (vm: string) =>
      frames(cap("b"), vm)
        .map((f) => hex(f.data))
        .filter((f) => f.startsWith(`020000000b0${vm.slice(2)}`));
    expect(got("vm1")).toEqual(vm1);
    expect(got("vm2")).toEqual(vm2);
    expect(got("vm3")).toEqual(vm3);
    // Offloaded: after the first packets, host a's NIC encapsulates and host b's decapsulates.
    const aOut = frames(cap("a"), "pf0").map((f) => f.comment);
    expect(aOut.filter((c) => /^nic-l[12]: .*actions:tnl_push/.test(c)).length).toBeGreaterThan(vm1.length);
    const bIn = frames(cap("b"), "vm2").map((f) => f.comment);
    expect(
      bIn.filter((c) => /^nic-l[12]: tunnel\(tun_id=0xc8,src=172\.31\.0\.1,dst=172\.31\.0\.2/.test(c)).length,
    ).toBeGreaterThan(vm2.length * 0.9);
    expect(run.flows.refused).toEqual([]);
    expect(run.tiers.reduce((a, t) => a + t.packets, 0)).toBe(run.packets);
  }, 60_000);

  describe.runIf(requireTool("tshark"))("the underlay capture, read by tshark", () => {
    it("decodes outer and inner headers with no warnings or errors", async () => {
      const { dir } = await runOverlay();
      const out = execFileSync(
        "tshark",
        [
          "-r",
          join(dir, "captures", "overlay-underlay-hw-on.pcapng"),
          "-o",
          "tcp.analyze_sequence_numbers:FALSE",
          "-o",
          "ip.check_checksum:TRUE",
          "-o",
          "udp.check_checksum:TRUE",
          "-T",
          "fields",
          "-E",
          "separator=|",
          "-e",
          "frame.protocols",
          "-e",
          "_ws.expert.severity",
          "-e",
          "vxlan.vni",
          "-e",
          "geneve.vni",
          "-e",
          "gre.key",
        ],
        { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
      );
      const rows = out
        .trim()
        .split("\n")
        .map((l) => l.split("|"));
      const stacks = new Set(rows.map((r) => r[0]));
      expect([...stacks].sort()).toEqual([
        "eth:ethertype:ip:gre:eth:ethertype:ip:udp:data",
        "eth:ethertype:ip:udp:geneve:eth:ethertype:ip:udp:data",
        "eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp:data",
        "eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:udp:data",
      ]);
      // The only expert item is each packet's comment (PI_COMMENT).
      for (const r of rows) expect(r[1]).toBe(String(0x100000));
      // The keys the tunnel ports were given, as tshark prints them: VNI 100 (VXLAN), 200 (GENEVE),
      // GRE key 300 (NVGRE: VSID 1, flow id 44).
      expect(new Set(rows.map((r) => r[2]).filter(Boolean))).toEqual(new Set(["100"]));
      expect(new Set(rows.map((r) => r[3]).filter(Boolean))).toEqual(new Set(["0x0000c8"]));
      expect(new Set(rows.map((r) => r[4]).filter(Boolean))).toEqual(new Set(["0x0000012c"]));
    }, 60_000);
  });
});

// `offload-emu decode`, end to end through the real command, against tshark's dissection of a
// public capture (../shared/conformance/captures/ndpi__vxlan.pcap and its .fields.tsv).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { capturePath, readFieldsTsv } from "../conformance/tsv.ts";

const BIN = join(import.meta.dirname, "../../bin/offload-emu.js");
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, "decode", ...args], { encoding: "utf8" });
const dir = mkdtempSync(join(tmpdir(), "decode-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("offload-emu decode", () => {
  const file = capturePath("ndpi__vxlan.pcap");
  const rows = readFieldsTsv("ndpi__vxlan.pcap");

  it("prints one line per packet, inner headers of the tunnel included", () => {
    const r = run(file);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(rows.length);
    // Frame 1 per tshark: VLAN 5, outer 192.168.22.4 -> .5 to UDP 4789, VNI 1111, inner
    // 10.10.20.4:44437 -> 8.8.8.8:53.
    expect(lines[0]).toContain("vlan 5");
    expect(lines[0]).toContain("IP 192.168.22.4.60887 > 192.168.22.5.4789: VXLAN");
    expect(lines[0]).toContain("vni 1111");
    expect(lines[0]).toContain("IP 10.10.20.4.44437 > 8.8.8.8.53: UDP");
  });

  it("--json gives Wireshark's field names with tshark's values, repeated fields as lists", () => {
    const r = run(file, "--json");
    expect(r.status).toBe(0);
    const objs = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objs).toHaveLength(rows.length);
    objs.forEach((o, i) => {
      const row = rows[i] as Record<string, string>;
      expect(o["frame.number"]).toBe(Number(row["frame.number"]));
      expect(o["frame.len"]).toBe(Number(row["frame.len"]));
      expect(o["frame.cap_len"]).toBe(Number(row["frame.cap_len"]));
      for (const f of ["eth.src", "ip.src", "ip.dst", "udp.srcport", "udp.dstport", "tcp.srcport", "vxlan.vni"]) {
        const v = o[f];
        const text = v === undefined ? "" : Array.isArray(v) ? v.join(",") : String(v);
        expect(text, `frame ${i + 1} ${f}`).toBe(row[f]);
      }
      expect(o["vlan.id"]).toEqual(row["vlan.id"]?.split(","));
    });
  });

  it("prints the packets before a file fault, then the fault with its offset, and exits 1", () => {
    const bytes = readFileSync(file);
    const cut = join(dir, "cut.pcap");
    writeFileSync(cut, bytes.subarray(0, 24 + 16 + 126 + 16 + 126 + 20)); // two whole records, then part of a third
    const r = run(cut);
    expect(r.status).toBe(1);
    expect(r.stdout.trim().split("\n")).toHaveLength(2);
    // 24-byte file header + 2 × (16-byte record header + 126 bytes): where the cut record starts.
    expect(r.stderr).toMatch(/pcap: truncated at byte 308 \(after 2 packets\)/);
  });

  it("reports a malformed packet in its line and carries on", () => {
    const r = run(capturePath("suricata__decode-too-small.pcap"), "--json");
    expect(r.status).toBe(0);
    const objs = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objs).toHaveLength(8);
    // tshark marks frames 3-8 malformed (its .fields.tsv); every one of them carries an error here.
    for (const o of objs.slice(2)) expect(o["error"]).toMatch(/^(udp|tcp|gre|ipv6): \w[\w-]* at byte \d+$/);
  });

  it("rejects bad arguments with usage and status 2", () => {
    expect(run().status).toBe(2);
    expect(run("--bogus", file).status).toBe(2);
  });
});

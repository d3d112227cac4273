// Tunnel ports beyond the OVS transcripts of test/conformance/tunnel-ovs.test.ts: option parsing
// (OVS 3.1's netdev-vport.c rules and dpif/show texts), tier accounting across the two datapath
// passes of a decapsulated packet, and the checksums of what tnl_push emits, checked by tshark.
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseTunnelConfig, vportName } from "../../src/ofproto/tunnel.ts";
import { requireTool } from "../helpers.ts";
import { tunnelHost, PORTS, type TunnelHost } from "./tunnel-fixture.ts";

describe("tunnel options", () => {
  it("reads OVS's options and prints them back as dpif/show does", () => {
    const c = parseTunnelConfig(
      "t",
      "vxlan",
      new Map([
        ["remote_ip", "1.1.2.93"],
        ["out_key", "flow"],
        ["csum", "true"],
      ]),
    );
    if (typeof c === "string") throw new Error(c);
    // OVS 3.1 dpif/show: "t3 4/4789: (vxlan: csum=true, out_key=flow, remote_ip=1.1.2.93)"
    expect(c.text).toBe("csum=true, out_key=flow, remote_ip=1.1.2.93");
    expect([c.inKey, c.outKey, c.dstPort, vportName(c)]).toEqual([null, "flow", 4789, "vxlan_sys_4789"]);
    const g = parseTunnelConfig(
      "t",
      "geneve",
      new Map([
        ["remote_ip", "flow"],
        ["key", "123"],
        ["dst_port", "6082"],
      ]),
    );
    if (typeof g === "string") throw new Error(g);
    expect([g.remote, g.inKey, g.outKey, vportName(g), g.text]).toEqual([
      null,
      123n,
      123n,
      "genev_sys_6082",
      "dst_port=6082, key=123, remote_ip=flow",
    ]);
  });

  it("refuses a tunnel without a usable remote_ip, and unknown options", () => {
    // netdev-vport.c set_tunnel_config: "%s: %s type requires valid 'remote_ip' argument"
    expect(parseTunnelConfig("t9", "vxlan", new Map())).toBe("t9: vxlan type requires valid 'remote_ip' argument");
    expect(parseTunnelConfig("t9", "gre", new Map([["remote_ip", "1.2.3"]]))).toBe(
      "t9: gre type requires valid 'remote_ip' argument",
    );
    expect(
      parseTunnelConfig(
        "t9",
        "gre",
        new Map([
          ["remote_ip", "1.2.3.4"],
          ["colour", "blue"],
        ]),
      ),
    ).toBe("t9: gre type does not support option 'colour'");
  });

  it("an interface error for a bad tunnel leaves the other ports working", async () => {
    const h = await tunnelHost([...PORTS, ["t9", "vxlan", {}, 9]]);
    const row = h.int.ports.find((p) => p.name === "t9")?.interfaces[0];
    expect(row?.error).toBe("t9: vxlan type requires valid 'remote_ip' argument");
    expect(await h.app("dpif/show")).toContain("    t2 2/4789: (vxlan: key=123, remote_ip=1.1.2.92)\n");
  });
});

// VXLAN VNI 123 from 1.1.2.92 carrying ICMP 10.0.0.5 -> 10.0.0.7 (as in the conformance test).
const VXLAN =
  "aa55aa550000f8bc124434b608004500005600004000401133e20101025c01010258c85312b5004200000800000000007b0050540000000750540000000508004500002400000000400166ce0a0000050a00000708006668000100016162636465666768";

describe("two datapath passes, one packet", () => {
  it("counts a decapsulated packet once: upcall, then the tier of its first pass", async () => {
    const h = await tunnelHost(PORTS, { neigh: true });
    h.ofctl("add-flow", "int-br", "in_port=2,actions=LOCAL");
    for (let i = 0; i < 3; i++) await h.app("netdev-dummy/receive", "p0", VXLAN);
    const t = [...h.e.tiers];
    expect(t.reduce((a, b) => a + b, 0)).toBe(3);
    expect(h.e.packetsReceived).toBe(3);
    expect(t[4]).toBe(1); // the first: two upcalls, one packet
    const local = h.e.devByName("int-br");
    expect(local?.txPackets).toBe(3);
    expect(h.e.devByName("t2")?.rxPackets).toBe(3);
  });
});

/** The frames p0 sends, as a classic pcap (Ethernet). */
function pcapOf(frames: Uint8Array[]): Uint8Array {
  const parts: number[] = [];
  const u32 = (v: number) => parts.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24);
  const u16 = (v: number) => parts.push(v & 255, v >>> 8);
  u32(0xa1b2c3d4);
  u16(2);
  u16(4);
  u32(0);
  u32(0);
  u32(65535);
  u32(1);
  for (const f of frames) {
    u32(0);
    u32(0);
    u32(f.length);
    u32(f.length);
    parts.push(...f);
  }
  return Uint8Array.from(parts);
}

async function encapsulated(h: TunnelHost, action: string): Promise<Uint8Array> {
  const sent: Uint8Array[] = [];
  const p0 = h.e.devByName("p0");
  if (p0 === null) throw new Error("no p0");
  p0.driver = {
    send: (f: Uint8Array) => {
      sent.push(f.slice());
    },
    close: async () => {},
    live: false,
  } as never;
  h.ofctl("add-flow", "int-br", `in_port=LOCAL,actions=${action}`);
  await h.app(
    "netdev-dummy/receive",
    "int-br",
    "in_port(2),eth(src=50:54:00:00:00:05,dst=50:54:00:00:00:07),eth_type(0x0800),ipv4(src=10.0.0.5,dst=10.0.0.7,proto=17,tos=0,ttl=64,frag=no),udp(src=1000,dst=2000)",
  );
  expect(sent).toHaveLength(1);
  return sent[0] as Uint8Array;
}

describe.runIf(requireTool("tshark"))("tnl_push checksums, by tshark", () => {
  it.each([
    ["VXLAN over IPv4 with csum=true", "4", "udp"],
    ["VXLAN over IPv6 (checksum required, RFC 6935)", "6", "udp"],
    ["NVGRE", "3", "gre"],
  ] as const)("%s: outer and inner checksums are good", async (_n, port, outer) => {
    const h = await tunnelHost(PORTS, { neigh: true });
    const frame = await encapsulated(h, port);
    const dir = mkdtempSync(join(tmpdir(), "emu-tnl-"));
    const file = join(dir, "p0.pcap");
    writeFileSync(file, pcapOf([frame]));
    const out = execFileSync(
      "tshark",
      [
        "-r",
        file,
        "-o",
        "udp.check_checksum:TRUE",
        "-o",
        "ip.check_checksum:TRUE",
        "-T",
        "fields",
        "-e",
        "ip.checksum.status",
        "-e",
        "udp.checksum.status",
        "-e",
        "_ws.malformed",
        "-e",
        "_ws.expert.severity",
        "-e",
        "vxlan.vni",
        "-e",
        "gre.key",
      ],
      { encoding: "utf8" },
    ).trimEnd();
    // Checksum status 1 is Wireshark's "Good" (IPv6 has no header checksum, so one IPv4 status
    // over IPv6); over UDP both the outer and the inner UDP checksums are checked.
    const [ipStatus, udpStatus, malformed, expert, vni, greKey] = out.split("\t");
    expect(ipStatus).toBe(port === "6" ? "1" : "1,1");
    expect(udpStatus).toBe(outer === "udp" ? "1,1" : "1");
    expect(malformed).toBe("");
    expect(expert).toBe("");
    expect(port === "3" ? greKey : vni).toBe(port === "3" ? "0x000001c8" : port === "6" ? "789" : "0");
  });
});

import { describe, expect, it } from "vitest";
import { hex, toHex, viewOf } from "../../src/wire/bytes.ts";
import { buildInto, buildPacket, compilePacket, SpecError, type PacketSpec } from "../../src/wire/build.ts";
import { decodeFrame, type Decoded } from "../../src/wire/decode.ts";
import { CsumStatus } from "../../src/wire/checksum.ts";
import { dirtySlot } from "../helpers.ts";
import { tsharkFields } from "./tshark-run.ts";
import { requireTool } from "../helpers.ts";

// Expected values are what each spec asks for, or the defaults src/wire/build.ts documents
// (repeated here, so that changing a documented default fails a test); the built bytes are read
// back with decodeFrame and, where it matters, tshark 4.0.

const field = (d: Decoded, name: string): string[] => d.fields.get(name) ?? [];
const layerNames = (d: Decoded): string[] => d.layers.map((l) => l.name);

// Frame injected on the uplink by ../shared/tools/ovs-oracle-example.sh (VXLAN VNI 5001 from
// 192.0.2.2 carrying an ICMP echo reply 10.0.1.7 -> 10.0.0.1), which Open vSwitch 3.1
// decapsulates; tshark 4.0 verifies its IPv4, UDP and ICMP checksums (all status 1).
const OVS_VXLAN = hex(`aa55aa550001aabbcc000002 0800
  4500005e000140004011b68ac0000202c0000201 823512b5004aaca7 0800000000138900
  505400000001505400000007 0800 4500002c00010000400165c90a0001070a000001
  00003c3c00000000 78787878787878787878787878787878`);

describe("buildPacket", () => {
  it("builds the OVS example VXLAN frame byte for byte from its fields", () => {
    const spec: PacketSpec = {
      layers: [
        { eth: { src: "aa:bb:cc:00:00:02", dst: "aa:55:aa:55:00:01" } },
        { ipv4: { src: "192.0.2.2", dst: "192.0.2.1", id: 1, df: true } },
        { udp: { src: 33333, csum: true } },
        { vxlan: { vni: 5001 } },
        { eth: { src: "50:54:00:00:00:07", dst: "50:54:00:00:00:01" } },
        { ipv4: { src: "10.0.1.7", dst: "10.0.0.1", id: 1 } },
        { icmp: { type: "echo-reply", id: 0, seq: 0 } },
      ],
      payload: { hex: "78".repeat(16) },
    };
    expect(toHex(buildPacket(spec))).toBe(toHex(OVS_VXLAN));
  });

  it("fills the documented defaults", () => {
    const d = decodeFrame(buildPacket({ layers: [{ eth: {} }, { ipv4: {} }, { tcp: {} }] }));
    expect(d.error).toBeNull();
    expect(field(d, "eth.src")).toEqual(["02:00:00:00:00:01"]);
    expect(field(d, "eth.dst")).toEqual(["02:00:00:00:00:02"]);
    expect(field(d, "ip.src")).toEqual(["192.0.2.1"]);
    expect(field(d, "ip.dst")).toEqual(["192.0.2.2"]);
    const ip = d.layers[1];
    const tcp = d.layers[2];
    if (ip?.name !== "ipv4" || tcp?.name !== "tcp") throw new Error("layers");
    expect(ip.repr.ttl).toBe(64);
    expect(ip.repr.csum).toBe(CsumStatus.GOOD);
    expect(tcp.repr).toMatchObject({
      srcPort: 49152,
      dstPort: 50000,
      seq: 1,
      ack: 0,
      flags: 0x002,
      window: 65535,
      csum: CsumStatus.GOOD,
    });
    const v6 = decodeFrame(buildPacket({ layers: [{ eth: {} }, { ipv6: {} }, { udp: {} }] }));
    expect(field(v6, "ipv6.src")).toEqual(["2001:db8::1"]);
    expect(field(v6, "ipv6.dst")).toEqual(["2001:db8::2"]);
    expect(field(v6, "udp.dstport")).toEqual(["50000"]);
    // Nothing after IPv6: "no next header" (59); a payload only: 253 (RFC 3692).
    expect(field(decodeFrame(buildPacket({ layers: [{ eth: {} }, { ipv6: {} }] })), "ipv6.nxt")).toEqual(["59"]);
    expect(field(decodeFrame(buildPacket({ layers: [{ eth: {} }, { ipv6: {} }], payload: "x" })), "ipv6.nxt")).toEqual([
      "253",
    ]);
    // An Ethernet header with nothing after it: the local experimental EtherType.
    expect(toHex(buildPacket({ layers: [{ eth: {} }] }))).toBe("02000000000202000000000188b5");
  });

  it("builds the issue's VXLAN-in-IPv6 with an inner VLAN-tagged TCP segment", () => {
    const d = decodeFrame(
      buildPacket({
        layers: [
          { eth: { src: "02:00:00:00:00:0a", dst: "02:00:00:00:00:0b" } },
          { vlan: { vid: 100, pcp: 3 } },
          { ipv6: { src: "2001:db8::a", dst: "2001:db8::b" } },
          { udp: {} },
          { vxlan: { vni: 5001 } },
          { eth: { src: "02:00:00:00:01:0a", dst: "02:00:00:00:01:0b" } },
          { vlan: { vid: 10 } },
          { ipv4: { src: "10.0.0.1", dst: "10.0.0.2", ttl: 7 } },
          { tcp: { src: 1234, dst: 80, flags: ["SYN"] } },
        ],
        payload: { len: 10 },
      }),
    );
    expect(d.error).toBeNull();
    expect(layerNames(d)).toEqual(["eth", "vlan", "ipv6", "udp", "vxlan", "eth", "vlan", "ipv4", "tcp", "data"]);
    expect(field(d, "vlan.id")).toEqual(["100", "10"]);
    expect(field(d, "vlan.etype")).toEqual(["0x86dd", "0x0800"]);
    expect(field(d, "udp.dstport")).toEqual(["4789"]);
    expect(field(d, "vxlan.vni")).toEqual(["5001"]);
    expect(field(d, "eth.src")).toEqual(["02:00:00:00:00:0a", "02:00:00:00:01:0a"]);
    expect(field(d, "tcp.srcport")).toEqual(["1234"]);
    expect(field(d, "tcp.flags")).toEqual(["0x0002"]);
    // Over IPv6 the tunnel's UDP checksum is computed (RFC 8200 §8.1).
    expect(field(d, "udp.checksum.status")).toEqual(["1"]);
    expect(field(d, "tcp.checksum.status")).toEqual(["1"]);
    const outer = d.layers[0];
    const tag = d.layers[1];
    if (outer?.name !== "eth" || tag?.name !== "vlan") throw new Error("layers");
    expect(outer.repr.etherType).toBe(0x8100);
    expect(tag.repr.pcp).toBe(3);
  });

  it("uses 0x88a8 for an outer tag followed by another unless told, and a broadcast ARP request", () => {
    const qinq = buildPacket({ layers: [{ eth: {} }, { vlan: { vid: 300 } }, { vlan: { vid: 30 } }, { arp: {} }] });
    const dv = viewOf(qinq);
    expect(dv.getUint16(12)).toBe(0x88a8);
    expect(dv.getUint16(16)).toBe(0x8100);
    expect(dv.getUint16(20)).toBe(0x0806);
    const d = decodeFrame(qinq);
    expect(field(d, "ieee8021ad.id")).toEqual(["300"]);
    expect(field(d, "vlan.id")).toEqual(["30"]);
    expect(field(d, "eth.dst")).toEqual(["ff:ff:ff:ff:ff:ff"]);
    const told = viewOf(buildPacket({ layers: [{ eth: {} }, { vlan: { tpid: 0x9100 } }, { vlan: {} }, { ipv4: {} }] }));
    expect(told.getUint16(12)).toBe(0x9100);
    const arp = d.layers.find((l) => l.name === "arp");
    expect(arp?.repr).toEqual({
      op: 1,
      sha: "02:00:00:00:00:01",
      spa: "192.0.2.1",
      tha: "00:00:00:00:00:00",
      tpa: "192.0.2.2",
    });
  });

  it("writes a tunnel's UDP checksum as 0 over IPv4 unless csum is asked for", () => {
    const layers = (csum?: boolean): PacketSpec["layers"] => [
      { eth: {} },
      { ipv4: {} },
      { udp: csum === undefined ? {} : { csum } },
      { geneve: { vni: 9 } },
      { eth: {} },
      { ipv4: {} },
      { udp: {} },
    ];
    expect(field(decodeFrame(buildPacket({ layers: layers() })), "udp.checksum.status")).toEqual(["3", "1"]);
    expect(field(decodeFrame(buildPacket({ layers: layers(true) })), "udp.checksum.status")).toEqual(["1", "1"]);
    expect(
      field(decodeFrame(buildPacket({ layers: [{ eth: {} }, { ipv4: {} }, { udp: {} }] })), "udp.checksum.status"),
    ).toEqual(["1"]);
  });

  it("writes given lengths and checksums as they are", () => {
    const bytes = buildPacket({
      layers: [{ eth: {} }, { ipv4: { checksum: 0xbeef } }, { tcp: { checksum: 0x1234 } }],
      payload: "abc",
    });
    const d = decodeFrame(bytes);
    expect(field(d, "ip.checksum.status")).toEqual(["0"]);
    expect(field(d, "tcp.checksum.status")).toEqual(["0"]);
    const dv = viewOf(bytes);
    expect(dv.getUint16(14 + 10)).toBe(0xbeef);
    expect(dv.getUint16(34 + 16)).toBe(0x1234);
    const udp = viewOf(
      buildPacket({ layers: [{ eth: {} }, { ipv4: { totalLen: 100 } }, { udp: { len: 9, checksum: 0 } }] }),
    );
    expect(udp.getUint16(14 + 2)).toBe(100);
    expect(udp.getUint16(34 + 4)).toBe(9);
    expect(udp.getUint16(34 + 6)).toBe(0);
  });

  it("builds NVGRE and GRE with checksum, key and sequence number", () => {
    const nv = decodeFrame(
      buildPacket({
        layers: [
          { eth: {} },
          { ipv4: {} },
          { gre: { vsid: 0xabcd, flowId: 0x42 } },
          { eth: {} },
          { ipv4: {} },
          { udp: {} },
        ],
      }),
    );
    expect(field(nv, "gre.key")).toEqual(["0x00abcd42"]);
    expect(field(nv, "gre.proto")).toEqual(["0x6558"]);
    expect(field(nv, "ip.proto")).toEqual(["47", "17"]);
    const g = decodeFrame(
      buildPacket({
        layers: [{ eth: {} }, { ipv6: {} }, { gre: { csum: true, key: 7, seq: 9 } }, { ipv4: {} }, { icmp: {} }],
      }),
    );
    const gre = g.layers.find((l) => l.name === "gre");
    expect(gre?.repr).toMatchObject({ protocolType: 0x0800, key: 7, seq: 9 });
    expect(field(g, "gre.flags_and_version")).toEqual(["0xb000"]);
    expect(field(g, "icmp.type")).toEqual(["8"]);
  });

  it("builds GENEVE options and infers its protocol type", () => {
    const d = decodeFrame(
      buildPacket({
        layers: [
          { eth: {} },
          { ipv6: {} },
          { udp: {} },
          { geneve: { vni: 0x123456, options: [{ class: 0x0102, type: 0x80, data: "00000001" }] } },
          { ipv6: {} },
          { icmpv6: {} },
        ],
      }),
    );
    expect(d.error).toBeNull();
    expect(field(d, "udp.dstport")).toEqual(["6081"]);
    expect(field(d, "geneve.vni")).toEqual(["0x123456"]);
    expect(field(d, "geneve.option.class")).toEqual(["0x0102"]);
    const g = d.layers.find((l) => l.name === "geneve");
    expect(g?.repr).toMatchObject({ protocolType: 0x86dd, critical: true });
  });

  it("builds ICMP errors quoting the layers after them, and ICMPv6 neighbor discovery", () => {
    const e = decodeFrame(
      buildPacket({
        layers: [
          { eth: {} },
          { ipv4: { src: "198.51.100.1" } },
          { icmp: { type: "dest-unreachable", code: 4, mtu: 1400 } },
          { ipv4: { src: "192.0.2.2", dst: "192.0.2.9" } },
          { udp: { src: 1, dst: 2 } },
        ],
        payload: { len: 8 },
      }),
    );
    expect(field(e, "icmp.type")).toEqual(["3"]);
    expect(field(e, "ip.src")).toEqual(["198.51.100.1", "192.0.2.2"]);
    expect(field(e, "udp.srcport")).toEqual(["1"]);
    const icmp = e.layers.find((l) => l.name === "icmp");
    expect(icmp?.repr).toMatchObject({ code: 4, rest: 1400 });
    const ns = buildPacket({
      layers: [
        { eth: { src: "02:00:00:00:00:07" } },
        { ipv6: { dst: "ff02::1:ff00:2" } },
        { icmpv6: { type: "ns", target: "2001:db8::2" } },
      ],
    });
    // 14 + 40 + 8 + 16 target + 8 source link-layer option (RFC 4861 §4.3).
    expect(ns.length).toBe(86);
    expect(toHex(ns.subarray(62, 86))).toBe("20010db8000000000000000000000002" + "0101020000000007");
    expect(ns[21]).toBe(255); // hop limit 255 for ND (RFC 4861 §7.1.1)
    const na = buildPacket({
      layers: [{ eth: {} }, { ipv6: {} }, { icmpv6: { type: "na", flags: ["router"], tll: false } }],
    });
    expect(na.length).toBe(14 + 40 + 24);
    expect(viewOf(na).getUint32(58)).toBe(0x80000000);
  });

  it("walks IPv6 extension headers to the upper layer and sums the final destination", () => {
    const d = decodeFrame(
      buildPacket({
        layers: [
          { eth: {} },
          {
            ipv6: {
              dst: "2001:db8::10",
              ext: [
                { hopopts: { options: [{ type: 5, data: "0000" }] } },
                { dstopts: {} },
                { routing: { type: 4, segLeft: 1, addresses: ["2001:db8::99", "2001:db8::10"] } },
                { fragment: { id: 5 } },
              ],
            },
          },
          { tcp: {} },
        ],
        payload: { len: 3 },
      }),
    );
    expect(d.error).toBeNull();
    expect(d.protocols).toEqual([
      "eth",
      "ethertype",
      "ipv6",
      "ipv6.hopopts",
      "ipv6.dstopts",
      "ipv6.routing",
      "ipv6.fraghdr",
      "tcp",
      "data",
    ]);
    expect(field(d, "tcp.checksum.status")).toEqual(["1"]);
    expect(field(d, "ipv6.nxt")).toEqual(["0"]);
  });

  it("sums an IPv4 source route's final destination into the pseudo-header", () => {
    const d = decodeFrame(
      buildPacket({
        layers: [{ eth: {} }, { ipv4: { options: [{ type: 131, data: "04c6336401" }] } }, { udp: {} }],
      }),
    );
    expect(field(d, "ip.dst")).toEqual(["198.51.100.1"]);
    expect(field(d, "udp.checksum.status")).toEqual(["1"]);
  });

  it("pads the frame with zeros", () => {
    const b = buildPacket({ layers: [{ eth: {} }, { arp: {} }], pad: 60 });
    expect(b.length).toBe(60);
    expect(b.subarray(42).every((x) => x === 0)).toBe(true);
  });

  it("builds into a dirty slot at an odd offset, touching only the packet's bytes", () => {
    const spec: PacketSpec = {
      layers: [
        { eth: {} },
        { vlan: { vid: 5 } },
        { ipv4: {} },
        { udp: {} },
        { vxlan: { vni: 1 } },
        { eth: {} },
        { ipv6: {} },
        { icmpv6: {} },
      ],
      payload: { len: 5 },
      pad: 200,
    };
    const want = buildPacket(spec);
    const c = compilePacket(spec);
    const slot = dirtySlot(c.length + 8);
    for (let round = 0; round < 2; round++) {
      expect(buildInto(c, viewOf(slot), 3)).toBe(c.length);
      expect(toHex(slot.subarray(3, 3 + c.length))).toBe(toHex(want));
      expect(slot[2]).toBe(0xa5);
      expect(slot[3 + c.length]).toBe(0xa5);
    }
    expect(() => buildInto(c, viewOf(new Uint8Array(10)), 0)).toThrowError(RangeError);
  });
});

describe("buildPacket errors", () => {
  it.each([
    [
      { layers: [{ eth: {} }, { ipv4: {} }, { udp: {} }, { udp: {} }] },
      "layer 3 (udp): cannot follow udp: after udp come vxlan, geneve",
    ],
    [
      { layers: [{ eth: {} }, { vlan: { vid: 100 } }, { ipv6: {} }, { udp: { dst: 70000 } }] },
      "layer 3 (udp): dst must be 0..65535, got 70000",
    ],
    [{ layers: [{ eth: {} }, { ipv4: { ttl: "x" } }] }, 'layer 1 (ipv4): ttl must be 0..255, got "x"'],
    [
      { layers: [{ eth: { src: "02:00" } }] },
      'layer 0 (eth): src must be a MAC address like 02:00:00:00:00:01, got "02:00"',
    ],
    [
      { layers: [{ eth: {} }, { ipv4: { dst: "10.0.0.300" } }] },
      'layer 1 (ipv4): dst must be an IPv4 address like 192.0.2.1, got "10.0.0.300"',
    ],
    [
      { layers: [{ eth: {} }, { ipv4: { tll: 3 } }] },
      "layer 1 (ipv4): tll is not a field here; known: src, dst, ttl, tos, id, df, mf, offset, proto, options, totalLen, checksum",
    ],
    [{ layers: [{ ipv4: {} }] }, "layer 0 (ipv4): a packet starts with eth"],
    [
      { layers: [{ eth: {} }, { ipx: {} }] },
      'layer 1: unknown protocol "ipx"; known: eth, vlan, arp, ipv4, ipv6, udp, tcp, icmp, icmpv6, gre, vxlan, geneve',
    ],
    [
      { layers: [{ eth: {}, vlan: {} }] },
      "layer 0: must be an object with exactly one key naming the protocol (eth, vlan, arp, ipv4, ipv6, udp, tcp, icmp, icmpv6, gre, vxlan, geneve), got keys eth, vlan",
    ],
    [
      { layers: [{ eth: {} }, { ipv6: {} }, { icmp: {} }] },
      "layer 2 (icmp): cannot follow ipv6: after ipv6 come udp, tcp, icmpv6, gre, ipv4, ipv6",
    ],
    [
      { layers: [{ eth: {} }, { ipv4: {} }, { icmp: {} }, { ipv4: {} }] },
      "layer 2 (icmp): type 8 is not an error message, so nothing can follow it; give its data as payload",
    ],
    [
      { layers: [{ eth: {} }, { ipv4: {} }, { tcp: { flags: ["SYN", "FOO"] } }] },
      'layer 2 (tcp): flags has an unknown flag "FOO"; known: FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, AE, NS',
    ],
    [
      { layers: [{ eth: {} }, { ipv4: { offset: 12 } }] },
      "layer 1 (ipv4): offset must be a multiple of 8 (bytes), got 12",
    ],
    [
      {
        layers: [
          { eth: {} },
          { ipv4: {} },
          { udp: {} },
          { geneve: { options: [{ class: 1, type: 2, data: "010203" }] } },
        ],
      },
      "layer 3 (geneve): options[0].data must be a multiple of 4 bytes, at most 124 (RFC 8926 §3.5), got 3",
    ],
    [
      { layers: [{ eth: {} }, { ipv4: {} }, { udp: {} }, { geneve: { options: [{ type: 2 }] } }] },
      "layer 3 (geneve): options[0].class is required",
    ],
    [
      { layers: [{ eth: {} }, { ipv6: { ext: [{ fragment: { more: 1 } }] } }] },
      "layer 1 (ipv6): ext[0].fragment.more must be true or false, got 1",
    ],
    [
      { layers: [{ eth: {} }, { ipv6: { ext: [{ jumbo: {} }] } }] },
      "layer 1 (ipv6): ext[0] must be one of {hopopts: {…}}, {dstopts: {…}}, {routing: {…}}, {fragment: {…}}, got keys jumbo",
    ],
    [
      { layers: [{ eth: {} }, { ipv4: {} }, { gre: { key: 1, vsid: 2 } }] },
      "layer 2 (gre): vsid and key cannot both be given: NVGRE's key is vsid << 8 | flowId",
    ],
    [{ layers: [{ eth: {} }], payload: { len: -1 } }, "payload len must be 0..65535, got -1"],
    [{ layers: [] }, "layers must be a non-empty list, got a list"],
  ])("%j: %s", (spec, message) => {
    expect(() => buildPacket(spec as unknown as PacketSpec)).toThrowError(message);
  });

  it("carries the layer index and the path to the value", () => {
    try {
      buildPacket({ layers: [{ eth: {} }, { ipv6: { ext: [{ routing: { addresses: ["::1", "x"] } }] } }] });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SpecError);
      const s = e as SpecError;
      expect(s.message).toBe('layer 1 (ipv6): ext[0].routing.addresses[1] must be an IPv6 address, got "x"');
      expect(s.layer).toBe(1);
      expect(s.path).toEqual(["layers", 1, "ipv6", "ext", 0, "routing", "addresses", 1]);
    }
  });
});

// tshark's own dissection of a few built frames, as a check on decodeFrame's reading above.
describe.runIf(requireTool("tshark"))("buildPacket against tshark", () => {
  it("gives frames tshark reads with good checksums and the fields asked for", () => {
    const frames = [
      buildPacket({ layers: [{ eth: {} }, { ipv6: {} }, { icmpv6: { type: "ns", target: "2001:db8::7" } }] }),
      buildPacket({
        layers: [
          { eth: {} },
          { ipv4: {} },
          { gre: { csum: true, key: 0x10 } },
          { eth: {} },
          { ipv6: {} },
          { udp: { src: 49999 } },
        ],
      }),
      buildPacket({
        layers: [
          { eth: {} },
          { ipv6: { ext: [{ routing: { type: 2, addresses: ["2001:db8::77"] } }] } },
          { udp: { src: 49998 } },
        ],
        payload: "x",
      }),
    ];
    const rows = tsharkFields(
      frames,
      [
        "_ws.malformed",
        "icmpv6.checksum.status",
        "icmpv6.nd.ns.target_address",
        "gre.checksum.status",
        "gre.key",
        "udp.checksum.status",
      ],
      ["udp.check_checksum:TRUE"],
    );
    expect(rows).toEqual(["\t1\t2001:db8::7\t\t\t", "\t\t\t1\t0x00000010\t1", "\t\t\t\t\t1"]);
  });
});

// The exact-match mask of a packet's flow, checked through the datapath flow syntax: what Open
// vSwitch 3.1 prints for the flow of a packet is the packet's fields and nothing else. Expected
// strings are in the form `ovs-appctl dpctl/dump-flows` prints (the odp.ts tests hold OVS's own
// output); the packets are built from their descriptions.
import { describe, expect, it } from "vitest";
import { buildPacket, type PacketSpec } from "../../src/wire/build.ts";
import { PacketParser } from "../../src/wire/parse.ts";
import { OUTER, newOffsets } from "../../src/wire/offsets.ts";
import { viewOf } from "../../src/wire/bytes.ts";
import { FlowExtractor } from "../../src/flow/extract.ts";
import { FLOW_WORDS, W, newFlowKey } from "../../src/flow/key.ts";
import { exactMaskForPacket } from "../../src/flow/wildcards.ts";
import { formatOdpKey } from "../../src/flow/odp.ts";

function flowOf(spec: PacketSpec): { key: Uint32Array; mask: Uint32Array; text: string } {
  const bytes = buildPacket(spec);
  const o = newOffsets();
  expect(new PacketParser().parse(viewOf(bytes), 0, bytes.length, o)).toBe(true);
  const key = newFlowKey();
  new FlowExtractor().extract(viewOf(bytes), o, OUTER, 1, key);
  const mask = exactMaskForPacket(key, new Uint32Array(FLOW_WORDS));
  return { key, mask, text: formatOdpKey({ key, mask, packetType: false }) };
}

const E = { eth: { src: "50:54:00:00:00:01", dst: "50:54:00:00:00:02" } };

describe("exactMaskForPacket", () => {
  it("an untagged TCP packet: L2, IPv4 and TCP with its flags, no VLAN or IPv6 words", () => {
    const f = flowOf({
      layers: [E, { ipv4: { src: "10.0.0.1", dst: "10.0.0.2" } }, { tcp: { src: 1234, dst: 80, flags: ["SYN"] } }],
    });
    expect(f.text).toBe(
      "recirc_id(0),in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800)," +
        "ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1234,dst=80),tcp_flags(syn)",
    );
    expect([f.mask[W.VLAN0], f.mask[W.IPV6_SRC], f.mask[W.TUN_ID_LO]]).toEqual([0, 0, 0]);
  });
  it("a tagged UDP packet keeps its tag, and UDP has no tcp_flags", () => {
    const f = flowOf({
      layers: [
        E,
        { vlan: { vid: 10, pcp: 5 } },
        { ipv4: { src: "10.0.0.1", dst: "10.0.0.2" } },
        { udp: { src: 1, dst: 2 } },
      ],
    });
    expect(f.text).toBe(
      "recirc_id(0),in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x8100)," +
        "vlan(vid=10,pcp=5),encap(eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2))",
    );
    expect(f.mask[W.TCP_FLAGS]).toBe(0);
  });
  it("an ARP request matches the ARP fields only", () => {
    const f = flowOf({
      layers: [E, { arp: { op: "request", sha: "50:54:00:00:00:01", spa: "10.0.0.1", tpa: "10.0.0.2" } }],
    });
    expect(f.text).toBe(
      "recirc_id(0),in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0806)," +
        "arp(sip=10.0.0.1,tip=10.0.0.2,op=1,sha=50:54:00:00:00:01,tha=00:00:00:00:00:00)",
    );
  });
  it("a later IPv4 fragment has no L4 fields", () => {
    const f = flowOf({
      layers: [E, { ipv4: { src: "10.0.0.1", dst: "10.0.0.2", offset: 64, proto: 17 } }],
      payload: { len: 16 },
    });
    expect(f.text).toBe(
      "recirc_id(0),in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800)," +
        "ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=later)",
    );
    expect(f.mask[W.TP]).toBe(0);
  });
});

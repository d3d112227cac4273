// NIC capabilities: which datapath flows the eSwitch accepts and the reason it gives otherwise.
// Expected accept/refuse decisions come from Open vSwitch's tc-flower offload rules
// (lib/netdev-offload-tc.c: netdev_tc_flow_put() consumes each supported mask field,
// test_key_and_mask() refuses pkt_mark, registers, metadata, IPv6 fragments and any unconsumed
// bit such as ipv6_label or nd_target; "partial mask" for a VLAN TCI that is not VID/PCP
// all-or-nothing) and from rte_flow offload's clone rule (lib/netdev-offload-dpdk.c
// parse_clone_actions(): only tnl_push and output inside clone()). The flows are written in
// dpctl/dump-flows syntax, as OVS 3.1 prints its megaflows.
import { describe, expect, it } from "vitest";
import { checkOffload, DEFAULT_CAPS, makeCaps, supportedMask, actionName } from "../../src/nic/caps.ts";
import { parseOdpActions, parseOdpKey } from "../../src/flow/odp.ts";
import { VLAN_CFI, W } from "../../src/flow/key.ts";

const UDP_FLOW =
  "recirc_id(0),in_port(1),eth(src=52:54:00:00:00:01,dst=52:54:00:00:00:02),eth_type(0x0800)," +
  "ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2)";

function check(flow: string, actions = "2", caps = DEFAULT_CAPS): string | null {
  const k = parseOdpKey(flow);
  return checkOffload(caps, k.mask, parseOdpActions(actions), k.key);
}

describe("checkOffload, match fields", () => {
  it.each([
    ["an IPv4/UDP megaflow", UDP_FLOW],
    [
      "an exact skb_mark of 0 (ignored, as OVS does)",
      "recirc_id(0),skb_mark(0),in_port(1),eth_type(0x0800),ipv4(frag=no)",
    ],
    [
      "a VLAN tag with VID and PCP",
      "recirc_id(0),in_port(1),eth(),eth_type(0x8100),vlan(vid=5,pcp=0),encap(eth_type(0x0800),ipv4(frag=no))",
    ],
    [
      "ARP fields",
      "recirc_id(0),in_port(1),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1,sha=00:00:00:00:00:01,tha=00:00:00:00:00:00)",
    ],
    [
      "tunnel metadata",
      "recirc_id(0),tunnel(tun_id=0x5,src=1.1.1.1,dst=1.1.1.2,flags(-df-csum+key)),in_port(1),eth_type(0x0800),ipv4(frag=no)",
    ],
    ["TCP flags", "recirc_id(0),in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(dst=80),tcp_flags(syn)"],
    ["ICMPv6 type/code", "recirc_id(0),in_port(1),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=128,code=0)"],
  ])("accepts %s", (_, flow) => {
    expect(check(flow)).toBeNull();
  });

  it.each([
    [
      "skb_mark(5)",
      "recirc_id(0),skb_mark(5),in_port(1),eth_type(0x0800),ipv4(frag=no)",
      "match on pkt_mark not supported",
    ],
    [
      "recirc_id(3) without recirculation",
      "recirc_id(3),in_port(1),eth_type(0x0800),ipv4(frag=no)",
      "match on recirc_id(3) not supported",
    ],
    [
      "ipv6 label",
      "recirc_id(0),in_port(1),eth_type(0x86dd),ipv6(src=2001:db8::1,label=5,frag=no)",
      "match on ipv6_label not supported",
    ],
    [
      "nd target",
      "recirc_id(0),in_port(1),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135,code=0),nd(target=2001:db8::1)",
      "match on nd_target not supported",
    ],
    [
      "an IPv6 fragment",
      "recirc_id(0),in_port(1),eth_type(0x86dd),ipv6(proto=17,frag=first),udp(src=1)",
      "match on IPv6 fragments not supported",
    ],
  ])("refuses %s", (_, flow, reason) => {
    expect(check(flow)).toBe(reason);
  });

  it("names the field of the flow's own protocol when a shared bit is unsupported", () => {
    const caps = makeCaps({ matchFields: DEFAULT_CAPS.matchFields.filter((f) => f !== "udp_src" && f !== "tcp_src") });
    expect(check(UDP_FLOW, "2", caps)).toBe("match on udp_src not supported");
    const noTos = makeCaps({ matchFields: DEFAULT_CAPS.matchFields.filter((f) => f !== "nw_tos") });
    expect(check(UDP_FLOW, "2", noTos)).toBe("match on nw_tos not supported");
  });

  it("accepts recirc_id other than 0 when the NIC recirculates", () => {
    const caps = makeCaps({ actions: [...DEFAULT_CAPS.actions, "recirc"] });
    expect(check("recirc_id(3),in_port(1),eth_type(0x0800),ipv4(frag=no)", "2", caps)).toBeNull();
  });

  it("refuses a partial VLAN TCI mask and the inner tag unless cvlan_tci is a capability", () => {
    const k = parseOdpKey(
      "recirc_id(0),in_port(1),eth(),eth_type(0x8100),vlan(vid=5,pcp=0),encap(eth_type(0x0800),ipv4(frag=no))",
    );
    k.mask[W.VLAN0] = (((k.mask[W.VLAN0] as number) & ~0x0fff) | 0x00ff) >>> 0; // VID mask 0x0ff
    expect(checkOffload(DEFAULT_CAPS, k.mask, [], k.key)).toBe("match on partial vlan_tci mask not supported");
    const qinq = parseOdpKey(
      "recirc_id(0),in_port(1),eth(),eth_type(0x88a8),vlan(vid=5,pcp=0),encap(eth_type(0x8100),vlan(vid=7,pcp=0),encap(eth_type(0x0800),ipv4(frag=no)))",
    );
    expect(qinq.key[W.VLAN1]! & VLAN_CFI).toBe(VLAN_CFI);
    expect(checkOffload(DEFAULT_CAPS, qinq.mask, [], qinq.key)).toBe("match on cvlan_tci not supported");
    const caps = makeCaps({ matchFields: [...DEFAULT_CAPS.matchFields, "cvlan_tci"] });
    expect(checkOffload(caps, qinq.mask, [], qinq.key)).toBeNull();
  });
});

describe("checkOffload, actions", () => {
  const FLOW = "recirc_id(0),in_port(1),eth_type(0x0800),ipv4(frag=no)";
  it.each([
    ["set(ipv4(ttl=3)),push_vlan(vid=5,pcp=0),1", null],
    ["pop_vlan,set(eth(src=00:00:00:00:00:01)),set(udp(dst=53)),3", null],
    ["drop", null],
    ["userspace(pid=0)", "action userspace not supported"],
    ["recirc(0x1)", "action recirc not supported"],
    ["ct(commit),1", "action ct not supported"],
    ["set(tunnel(tun_id=0x5,dst=1.1.1.1,ttl=64,flags(df|key))),1", "action set(tunnel) not supported"],
    ["clone(push_vlan(vid=5,pcp=0),1),2", "action push_vlan inside clone not supported"],
    [
      "clone(tnl_push(tnl_port(4789),header(size=50,type=4,eth(dst=aa:bb:cc:00:00:02,src=aa:55:aa:55:00:01,dl_type=0x0800)," +
        "ipv4(src=192.0.2.1,dst=192.0.2.2,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=4789,csum=0x0),vxlan(flags=0x8000000,vni=0x1389)),out_port(4)),0),2",
      null,
    ],
  ])("actions %j: %s", (actions, reason) => {
    expect(check(FLOW, actions)).toBe(reason);
  });

  it("names actions as the capability list does", () => {
    expect(parseOdpActions("set(ipv4(ttl=3)),1,userspace(pid=0),pop_vlan").map(actionName)).toEqual([
      "set(ipv4)",
      "output",
      "userspace",
      "pop_vlan",
    ]);
  });
});

describe("supportedMask and makeCaps", () => {
  it("covers what the capabilities name and nothing else", () => {
    const m = supportedMask(DEFAULT_CAPS);
    expect(m[W.IN_PORT]).toBe(0xffffffff);
    expect(m[W.VLAN0]).toBe(0xffffffff); // TPID and TCI of the outer tag
    expect(m[W.VLAN1]).toBe(0);
    expect(m[W.PKT_MARK]).toBe(0);
    expect(m[W.IPV6_LABEL]).toBe(0);
    expect(m[W.ND_TARGET]).toBe(0);
    expect(m[W.REG0]).toBe(0);
    expect(m[W.TP]).toBe(0xffffffff);
    expect(m[W.TCP_FLAGS]).toBe(0xfff);
  });

  it("rejects unknown fields and bad sizes", () => {
    expect(() => makeCaps({ matchFields: ["in_port", "no_such_field"] })).toThrow(/no_such_field/);
    expect(makeCaps({ matchFields: ["tun_tp_src", "cvlan_tci"] }).matchFields).toHaveLength(2);
    expect(() => makeCaps({ l1Entries: 1000 })).toThrow(RangeError);
    expect(makeCaps({ l1Entries: 0 }).l1Entries).toBe(0);
    expect(makeCaps().maxMasks).toBe(16);
  });
});

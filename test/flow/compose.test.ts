import { describe, expect, it } from "vitest";
import { composeFlow } from "../../src/flow/compose.ts";
import { toHex } from "../../src/wire/bytes.ts";
import { FlowSyntaxError } from "../../src/flow/syntax.ts";

// Golden vectors from real Open vSwitch 3.1.0 (Debian openvswitch-switch): a private userspace
// ovs-vswitchd (../shared/tools/ovs-oracle.sh) with bridge br0, dummy ports p1 and
// p2 (options:tx_pcap=p2.pcap), `ovs-ofctl add-flow br0 in_port=1,actions=output:2`, then
//   ovs-appctl netdev-dummy/receive p1 'FLOW'            (and 'FLOW' --len N below)
// and each frame read back from p2.pcap. OVS writes 64 bytes 00 01 02 … 3f of payload (L7)
// after UDP, TCP without SYN/FIN/RST, and ICMP/ICMPv6 echo.
const L7 =
  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";

const GOLDEN: Array<[string, string, string]> = [
  [
    "TCP without flags: 64 bytes of payload",
    "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1234,dst=80)",
    "505400000002505400000001080045000068000000004006668e0a0000010a00000204d20050000000000000000050000000b27c0000" + L7,
  ],
  [
    "TCP SYN: no payload",
    "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1234,dst=80),tcp_flags(syn)",
    "50540000000250540000000108004500002800000000400666ce0a0000010a00000204d2005000000000000000005002000096be0000",
  ],
  [
    "UDP with tos and ttl",
    "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:03),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.3,proto=17,tos=0x10,ttl=32,frag=no),udp(src=5000,dst=53)",
    "50540000000350540000000108004510005c000000002011867e0a0000010a000003138800350048f399" + L7,
  ],
  [
    "ICMP echo request",
    "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:07),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.1.7,proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0)",
    "50540000000750540000000108004500005c000000004001659a0a0000010a000107080013fc00000000" + L7,
  ],
  [
    "ICMP destination unreachable: bare header",
    "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:07),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.1.7,proto=1,tos=0,ttl=64,frag=no),icmp(type=3,code=1)",
    "50540000000750540000000108004500001c00000000400165da0a0000010a0001070301fcfe00000000",
  ],
  [
    "ARP request",
    "in_port(1),eth(src=50:54:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1,sha=50:54:00:00:00:01,tha=00:00:00:00:00:00)",
    "ffffffffffff505400000001080600010800060400015054000000010a0000010000000000000a000002",
  ],
  [
    "ARP reply",
    "in_port(1),eth(src=50:54:00:00:00:02,dst=50:54:00:00:00:01),eth_type(0x0806),arp(sip=10.0.0.2,tip=10.0.0.1,op=2,sha=50:54:00:00:00:02,tha=50:54:00:00:00:01)",
    "505400000001505400000002080600010800060400025054000000020a0000025054000000010a000001",
  ],
  [
    "802.1Q tag with UDP",
    "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x8100),vlan(vid=100,pcp=5),encap(eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1000,dst=2000))",
    "5054000000025054000000018100a06408004500005c000000004011668f0a0000010a00000203e807d00048fb9f" + L7,
  ],
  [
    "802.1ad + 802.1Q with the default vlan-limit 1: stops after the first tag",
    "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x88a8),vlan(vid=300,pcp=1),encap(eth_type(0x8100),vlan(vid=30),encap(eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1,dst=2),tcp_flags(fin|ack)))",
    "50540000000250540000000188a8212c8100",
  ],
  [
    "IPv6 TCP ACK with flow label and traffic class",
    "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,label=0x12345,proto=6,tclass=0x20,hlimit=64,frag=no),tcp(src=40000,dst=443),tcp_flags(ack)",
    "50540000000250540000000186dd620123450054064020010db800000000000000000000000120010db80000000000000000000000029c4001bb000000000000000050100000d2200000" +
      L7,
  ],
  [
    "IPv6 UDP",
    "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,label=0,proto=17,tclass=0,hlimit=255,frag=no),udp(src=546,dst=547)",
    "50540000000250540000000186dd60000000004811ff20010db800000000000000000000000120010db8000000000000000000000002022202230048bba0" +
      L7,
  ],
  [
    "ICMPv6 neighbor solicitation with a source link-layer option",
    "in_port(1),eth(src=50:54:00:00:00:01,dst=33:33:ff:00:00:02),eth_type(0x86dd),ipv6(src=2001:db8::1,dst=ff02::1:ff00:2,label=0,proto=58,tclass=0,hlimit=255,frag=no),icmpv6(type=135,code=0),nd(target=2001:db8::2,sll=50:54:00:00:00:01,tll=00:00:00:00:00:00)",
    "3333ff00000250540000000186dd6000000000203aff20010db8000000000000000000000001ff0200000000000000000001ff0000028700cdd20000000020010db80000000000000000000000020101505400000001",
  ],
  [
    "ICMPv6 neighbor advertisement with a target link-layer option",
    "in_port(1),eth(src=50:54:00:00:00:02,dst=50:54:00:00:00:01),eth_type(0x86dd),ipv6(src=2001:db8::2,dst=2001:db8::1,label=0,proto=58,tclass=0,hlimit=255,frag=no),icmpv6(type=136,code=0),nd(target=2001:db8::2,sll=00:00:00:00:00:00,tll=50:54:00:00:00:02)",
    "50540000000150540000000286dd6000000000203aff20010db800000000000000000000000220010db800000000000000000000000188009c1d0000000020010db80000000000000000000000020201505400000002",
  ],
  [
    "ICMPv6 echo request",
    "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,label=0,proto=58,tclass=0,hlimit=64,frag=no),icmpv6(type=128,code=0)",
    "50540000000250540000000186dd6000000000483a4020010db800000000000000000000000120010db80000000000000000000000028000400400000000" +
      L7,
  ],
  [
    "IPv4 first fragment: MF",
    "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=first),udp(src=7,dst=9)",
    "50540000000250540000000108004500005c000020004011468f0a0000010a0000020007000900480748" + L7,
  ],
  [
    "IPv4 later fragment: MF, offset 800, no UDP header",
    "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=later)",
    "50540000000250540000000108004500001400002064401146730a0000010a000002",
  ],
  [
    "no eth_type: the 802.3 length 14",
    "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02)",
    "505400000002505400000001000e",
  ],
];

describe("composeFlow against Open vSwitch 3.1 netdev-dummy/receive", () => {
  it.each(GOLDEN)("%s", (_name, flow, ovs) => {
    expect(toHex(composeFlow(flow))).toBe(ovs);
  });

  // ovs-vsctl set Open_vSwitch . other_config:vlan-limit=2, then the same QinQ flow.
  it("composes both tags with vlan-limit 2", () => {
    const flow = GOLDEN[8]![1];
    expect(toHex(composeFlow(flow, { vlanLimit: 2 }))).toBe(
      "50540000000250540000000188a8212c8100001e08004500002800000000400666ce0a0000010a000002000100020000000000000000501100009bce0000",
    );
  });

  // netdev-dummy/receive p1 'FLOW' --len N: no payload, zeros up to N bytes (packet_expand()),
  // whose UDP length counts the zeros twice (0x00a4 = 164 for an 86-byte datagram).
  it.each([
    [
      "udp",
      "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2)",
      120,
      "50540000000250540000000108004500006a00000000401166810a0000010a0000020001000200a4eaee" + "00".repeat(78),
    ],
    [
      "ipv6 tcp syn",
      "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,label=0,proto=6,tclass=0,hlimit=64,frag=no),tcp(src=1,dst=2),tcp_flags(syn)",
      100,
      "50540000000250540000000186dd60000000002e064020010db800000000000000000000000120010db8000000000000000000000002000100020000000000000000500200005451" +
        "00".repeat(28),
    ],
  ] as const)("--len: %s", (_name, flow, len, ovs) => {
    const bytes = composeFlow(flow, { packetSize: len });
    expect(bytes.length).toBe(len);
    expect(toHex(bytes)).toBe(ovs);
  });

  it("rejects a size below the packet's and a flow OVS would not parse", () => {
    expect(() => composeFlow(GOLDEN[0]![1], { packetSize: 40 })).toThrowError(RangeError);
    expect(() => composeFlow("in_port(1),eth(src=50:54:00:00:00:01),ipv5(src=1)")).toThrowError(FlowSyntaxError);
  });
});

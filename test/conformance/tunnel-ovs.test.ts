// Native tunnelling against Open vSwitch 3.1, in the shape of OVS's tests/tunnel-push-pop.at.
//
// Every expected text below is what Debian's openvswitch-switch 3.1 printed, run in userspace
// with dummy ports by ../shared/tools/ovs-oracle.sh (--enable-dummy --disable-system
// --disable-system-route), after this setup (test/host/tunnel-fixture.ts builds the same):
//
//   ovs-vsctl set bridge br0 other-config:hwaddr=aa:55:aa:55:00:00 -- add-port br0 p0 \
//     -- set Interface p0 type=dummy ofport_request=1 other-config:hwaddr=aa:55:aa:55:00:00
//   ovs-vsctl add-br int-br -- set bridge int-br datapath_type=dummy
//   ovs-vsctl add-port int-br t2 -- set Interface t2 type=vxlan options:remote_ip=1.1.2.92 options:key=123 ofport_request=2 \
//     -- add-port int-br t1 -- set Interface t1 type=gre options:remote_ip=1.1.2.92 options:key=456 ofport_request=3 \
//     -- add-port int-br t3 -- set Interface t3 type=vxlan options:remote_ip=1.1.2.93 options:out_key=flow options:csum=true ofport_request=4 \
//     -- add-port int-br t4 -- set Interface t4 type=geneve options:remote_ip=flow options:key=123 ofport_request=5 \
//     -- add-port int-br t5 -- set Interface t5 type=vxlan options:remote_ip=2001:cafe::92 options:key=789 ofport_request=6 \
//     -- add-port int-br t6 -- set Interface t6 type=geneve options:remote_ip=1.1.2.92 options:key=flow options:tos=inherit options:ttl=inherit ofport_request=7
//   ovs-appctl netdev-dummy/ip4addr br0 1.1.2.88/24
//   ovs-appctl netdev-dummy/ip6addr br0 2001:cafe::88/24
//   ovs-appctl ovs/route/add 1.1.2.92/24 br0
//   ovs-appctl ovs/route/add 2001:cafe::92/24 br0
//   ovs-ofctl add-flow br0 action=normal
//
// (br0 is fail-mode secure in the oracle's bridge, as here.) Packets given as hex were made by a
// short Python script (struct + the RFC 1071 checksum) and are inputs only; the bytes expected on
// p0 are ovs-pcap's dump of p0's capture in the same OVS session.

import { describe, expect, it } from "vitest";
import { tunnelHost, PORTS, type TunnelHost } from "../host/tunnel-fixture.ts";
import { toHex } from "../../src/wire/bytes.ts";

const TRACE_IN =
  "in_port(2),eth(src=f8:bc:12:44:34:b6,dst=aa:55:aa:55:00:00),eth_type(0x0800),ipv4(src=1.1.3.88,dst=1.1.3.112,proto=47,tos=0,ttl=64,frag=no)";
const TRACE_CE = TRACE_IN.replace("tos=0,", "tos=0x3,");
const POP = (l4: string) =>
  `in_port(1),eth(src=f8:bc:12:44:34:b6,dst=aa:55:aa:55:00:00),eth_type(0x0800),ipv4(src=1.1.2.92,dst=1.1.2.88,${l4}`;
const ICMP =
  "in_port(2),eth(src=50:54:00:00:00:05,dst=50:54:00:00:00:07),eth_type(0x0800),ipv4(src=10.0.0.5,dst=10.0.0.7,proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0)";

// VXLAN VNI 123 from 1.1.2.92 to 1.1.2.88 carrying ICMP 10.0.0.5 -> 10.0.0.7; outer TOS 0, then
// outer CE (0x03) with a not-ECT inner packet, then outer CE with an ECT(0) inner packet; and
// NVGRE key 456 with the same inner frame.
const VXLAN =
  "aa55aa550000f8bc124434b608004500005600004000401133e20101025c01010258c85312b5004200000800000000007b0050540000000750540000000508004500002400000000400166ce0a0000050a00000708006668000100016162636465666768";
const VXLAN_CE =
  "aa55aa550000f8bc124434b608004503005600004000401133df0101025c01010258c85312b5004200000800000000007b0050540000000750540000000508004500002400000000400166ce0a0000050a00000708006668000100016162636465666768";
const VXLAN_CE_ECT =
  "aa55aa550000f8bc124434b608004503005600004000401133df0101025c01010258c85312b5004200000800000000007b0050540000000750540000000508004502002400000000400166cc0a0000050a00000708006668000100016162636465666768";
const NVGRE =
  "aa55aa550000f8bc124434b608004500004e00004000402f33cc0101025c0101025820006558000001c850540000000750540000000508004500002400000000400166ce0a0000050a00000708006668000100016162636465666768";

async function withNeigh(): Promise<TunnelHost> {
  const h = await tunnelHost(PORTS);
  // ovs-appctl tnl/neigh/set br0 1.1.2.92 f8:bc:12:44:34:b6 (and .93 -> :b7, 2001:cafe::92 -> :b6)
  await h.app("tnl/neigh/set", "br0", "1.1.2.92", "f8:bc:12:44:34:b6");
  await h.app("tnl/neigh/set", "br0", "1.1.2.93", "f8:bc:12:44:34:b7");
  await h.app("tnl/neigh/set", "br0", "2001:cafe::92", "f8:bc:12:44:34:b6");
  return h;
}

const sortedLines = (s: string) => s.trimEnd().split("\n").sort();

/** What p0 sends, as hex (ovs-pcap of options:pcap=p0.pcap). */
function tapP0(h: TunnelHost): string[] {
  const sent: string[] = [];
  const p0 = h.e.devByName("p0");
  if (p0 === null) throw new Error("no p0");
  p0.driver = {
    send: (f: Uint8Array) => {
      sent.push(toHex(f).replace(/ /g, ""));
    },
    close: async () => {},
    live: false,
  } as never;
  return sent;
}

describe("tunnel ports (OVS 3.1 tunnel-push-pop shapes)", () => {
  it("1. dpif/show lists each tunnel on its shared vport with its options", async () => {
    const h = await tunnelHost(PORTS);
    // ovs-appctl dpif/show
    expect(await h.app("dpif/show")).toBe(`dummy@ovs-dummy: hit:0 missed:0
  br0:
    br0 65534/100: (dummy-internal)
    p0 1/1: (dummy)
  int-br:
    int-br 65534/2: (dummy-internal)
    t1 3/3: (gre: key=456, remote_ip=1.1.2.92)
    t2 2/4789: (vxlan: key=123, remote_ip=1.1.2.92)
    t3 4/4789: (vxlan: csum=true, out_key=flow, remote_ip=1.1.2.93)
    t4 5/6081: (geneve: key=123, remote_ip=flow)
    t5 6/4789: (vxlan: key=789, remote_ip=2001:cafe::92)
    t6 7/6081: (geneve: key=flow, remote_ip=1.1.2.92, tos=inherit, ttl=inherit)
`);
  });

  it("2. ovs/route/show and tnl/ports/show (sorted, as tunnel-push-pop.at compares them)", async () => {
    const h = await tunnelHost(PORTS);
    // ovs-appctl ovs/route/show
    expect(await h.app("ovs/route/show")).toBe(`Route Table:
User: 1.1.2.0/24 dev br0 SRC 1.1.2.88
User: 2001:ca00::/24 dev br0 SRC 2001:cafe::88
`);
    // ovs-appctl tnl/ports/show | sort ; ovs-appctl tnl/ports/show -v | sort
    expect(sortedLines(await h.app("tnl/ports/show"))).toEqual([
      "Listening ports:",
      "genev_sys_6081 (6081) ref_cnt=2",
      "gre_sys (3) ref_cnt=1",
      "vxlan_sys_4789 (4789) ref_cnt=3",
    ]);
    expect(sortedLines(await h.app("tnl/ports/show", "-v"))).toEqual([
      "Listening ports:",
      "genev_sys_6081 (6081) : eth(dst=aa:55:aa:55:00:00),eth_type(0x0800),ipv4(dst=1.1.2.88,proto=17,frag=no),udp(dst=6081)",
      "genev_sys_6081 (6081) : eth(dst=aa:55:aa:55:00:00),eth_type(0x86dd),ipv6(dst=2001:cafe::88,proto=17,frag=no),udp(dst=6081)",
      "gre_sys (3) : eth(dst=aa:55:aa:55:00:00),eth_type(0x0800),ipv4(dst=1.1.2.88,proto=47,frag=no)",
      "gre_sys (3) : eth(dst=aa:55:aa:55:00:00),eth_type(0x86dd),ipv6(dst=2001:cafe::88,proto=47,frag=no)",
      "vxlan_sys_4789 (4789) : eth(dst=aa:55:aa:55:00:00),eth_type(0x0800),ipv4(dst=1.1.2.88,proto=17,frag=no),udp(dst=4789)",
      "vxlan_sys_4789 (4789) : eth(dst=aa:55:aa:55:00:00),eth_type(0x86dd),ipv6(dst=2001:cafe::88,proto=17,frag=no),udp(dst=4789)",
    ]);
  });

  it("3. an unknown neighbour: the trace says so, an ARP request leaves p0, the packet is dropped", async () => {
    const h = await tunnelHost(PORTS);
    const sent = tapP0(h);
    // ovs-ofctl add-flow int-br action=2 ; ovs-appctl ofproto/trace ovs-dummy '<TRACE_IN>'
    h.ofctl("add-flow", "int-br", "action=2");
    expect(
      await h.app("ofproto/trace", "ovs-dummy", TRACE_IN),
    ).toBe(`Flow: ip,in_port=LOCAL,vlan_tci=0x0000,dl_src=f8:bc:12:44:34:b6,dl_dst=aa:55:aa:55:00:00,nw_src=1.1.3.88,nw_dst=1.1.3.112,nw_proto=47,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no

bridge("int-br")
----------------
 0. priority 32768
    output:2
     -> output to native tunnel
     -> tunneling to 1.1.2.92 via br0
     -> neighbor cache miss for 1.1.2.92 on bridge br0, sending ARP request

Final flow: unchanged
Megaflow: recirc_id=0,eth,ip,in_port=LOCAL,nw_ecn=0,nw_frag=no
Datapath actions: drop
`);
    // ovs-pcap p0.pcap (tunnel-push-pop.at expects the same bytes)
    expect(sent).toEqual(["ffffffffffffaa55aa55000008060001080006040001aa55aa550000010102580000000000000101025c"]);
    // The request went out through br0's NORMAL from LOCAL: ovs-appctl fdb/show br0
    expect(await h.app("fdb/show", "br0")).toBe(
      " port  VLAN  MAC                Age\nLOCAL     0  aa:55:aa:55:00:00    0\n",
    );
  });

  it("4. VXLAN push: the whole trace, with br0's translation of the outer packet", async () => {
    const h = await withNeigh();
    h.ofctl("add-flow", "int-br", "action=2");
    expect(
      await h.app("ofproto/trace", "ovs-dummy", TRACE_IN),
    ).toBe(`Flow: ip,in_port=LOCAL,vlan_tci=0x0000,dl_src=f8:bc:12:44:34:b6,dl_dst=aa:55:aa:55:00:00,nw_src=1.1.3.88,nw_dst=1.1.3.112,nw_proto=47,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no

bridge("int-br")
----------------
 0. priority 32768
    output:2
     -> output to native tunnel
     -> tunneling to 1.1.2.92 via br0
     -> tunneling from aa:55:aa:55:00:00 1.1.2.88 to f8:bc:12:44:34:b6 1.1.2.92

bridge("br0")
-------------
 0. priority 32768
    NORMAL
     -> no learned MAC for destination, flooding

Final flow: unchanged
Megaflow: recirc_id=0,eth,ip,in_port=LOCAL,nw_ecn=0,nw_frag=no
Datapath actions: tnl_push(tnl_port(4789),header(size=50,type=4,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=4789,csum=0x0),vxlan(flags=0x8000000,vni=0x7b)),out_port(100)),1
`);
  });

  // ovs-ofctl mod-flows int-br "action=<A>" ; ovs-appctl ofproto/trace ovs-dummy '<TRACE_CE>' (tail -2)
  it.each([
    [
      "5. NVGRE (gre, key 456) with inner CE: outer ECT(0), ECN in the megaflow",
      "3",
      "Megaflow: recirc_id=0,eth,ip,in_port=LOCAL,nw_ecn=3,nw_frag=no",
      "Datapath actions: tnl_push(tnl_port(3),header(size=42,type=3,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=47,tos=0x2,ttl=64,frag=0x4000),gre((flags=0x2000,proto=0x6558),key=0x1c8)),out_port(100)),1",
    ],
    [
      "6. GENEVE with remote_ip=flow, set by set_field",
      "set_field:1.1.2.93->tun_dst,5",
      "Megaflow: recirc_id=0,eth,ip,in_port=LOCAL,nw_ecn=3,nw_frag=no",
      "Datapath actions: tnl_push(tnl_port(6081),header(size=50,type=5,eth(dst=f8:bc:12:44:34:b7,src=aa:55:aa:55:00:00,dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.93,proto=17,tos=0x2,ttl=64,frag=0x4000),udp(src=0,dst=6081,csum=0x0),geneve(vni=0x7b)),out_port(100)),1",
    ],
    [
      "7. IPv6 underlay: VXLAN over IPv6, UDP checksum on by default",
      "6",
      "Megaflow: recirc_id=0,eth,ip,in_port=LOCAL,nw_ecn=3,nw_frag=no",
      "Datapath actions: tnl_push(tnl_port(4789),header(size=70,type=4,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,dl_type=0x86dd),ipv6(src=2001:cafe::88,dst=2001:cafe::92,label=0,proto=17,tclass=0x2,hlimit=64),udp(src=0,dst=4789,csum=0xffff),vxlan(flags=0x8000000,vni=0x315)),out_port(100)),1",
    ],
    [
      "8. set_tunnel on out_key=flow with csum=true",
      "set_tunnel:0x1234,4",
      "Megaflow: recirc_id=0,eth,ip,in_port=LOCAL,nw_ecn=3,nw_frag=no",
      "Datapath actions: tnl_push(tnl_port(4789),header(size=50,type=4,eth(dst=f8:bc:12:44:34:b7,src=aa:55:aa:55:00:00,dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.93,proto=17,tos=0x2,ttl=64,frag=0x4000),udp(src=0,dst=4789,csum=0xffff),vxlan(flags=0x8000000,vni=0x1234)),out_port(100)),1",
    ],
    [
      "9. key=flow with tos and ttl inherited: DSCP and TTL join the megaflow",
      "set_field:0x77->tun_id,7",
      "Megaflow: recirc_id=0,eth,ip,in_port=LOCAL,nw_tos=0,nw_ecn=3,nw_ttl=64,nw_frag=no",
      "Datapath actions: tnl_push(tnl_port(6081),header(size=50,type=5,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=17,tos=0x2,ttl=64,frag=0x4000),udp(src=0,dst=6081,csum=0x0),geneve(vni=0x77)),out_port(100)),1",
    ],
  ])("%s", async (_name, action, megaflow, dp) => {
    const h = await withNeigh();
    h.ofctl("add-flow", "int-br", `action=${action}`);
    const lines = (await h.app("ofproto/trace", "ovs-dummy", TRACE_CE)).trimEnd().split("\n");
    expect(lines.slice(-2)).toEqual([megaflow, dp]);
  });

  it("10. tnl_pop: packets to our endpoint on the underlay pop to their vport", async () => {
    const h = await withNeigh();
    // ovs-appctl ofproto/trace ovs-dummy '<POP(...)>' for VXLAN, GRE, GENEVE (after test 3's ARP
    // request taught br0 that aa:55:aa:55:00:00 is LOCAL), and IPv6 VXLAN.
    h.ofctl("add-flow", "int-br", "action=2");
    await h.app("tnl/neigh/flush");
    await h.app("ofproto/trace", "ovs-dummy", TRACE_IN);
    expect(
      await h.app("ofproto/trace", "ovs-dummy", POP("proto=17,tos=0,ttl=64,frag=no),udp(src=51283,dst=4789)")),
    ).toBe(`Flow: udp,in_port=1,vlan_tci=0x0000,dl_src=f8:bc:12:44:34:b6,dl_dst=aa:55:aa:55:00:00,nw_src=1.1.2.92,nw_dst=1.1.2.88,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=51283,tp_dst=4789

bridge("br0")
-------------
 0. priority 32768
    NORMAL
     -> forwarding to learned port

Final flow: unchanged
Megaflow: recirc_id=0,eth,udp,in_port=1,dl_src=f8:bc:12:44:34:b6,dl_dst=aa:55:aa:55:00:00,nw_dst=1.1.2.88,nw_frag=no,tp_dst=4789
Datapath actions: tnl_pop(4789)
`);
    expect(await h.dpActions(POP("proto=47,tos=0,ttl=64,frag=no)"))).toBe("Datapath actions: tnl_pop(3)");
    expect(await h.dpActions(POP("proto=17,tos=0,ttl=64,frag=no),udp(src=51283,dst=6081)"))).toBe(
      "Datapath actions: tnl_pop(6081)",
    );
    expect(
      await h.dpActions(
        "in_port(1),eth(src=f8:bc:12:44:34:b6,dst=aa:55:aa:55:00:00),eth_type(0x86dd),ipv6(src=2001:cafe::92,dst=2001:cafe::88,proto=17,tclass=0,hlimit=64,frag=no),udp(src=51283,dst=4789)",
      ),
    ).toBe("Datapath actions: tnl_pop(4789)");
  });

  // ovs-ofctl add-flow int-br 'in_port=2,actions=LOCAL' ; ... 'in_port=3,actions=LOCAL' ;
  // ovs-appctl dpctl/del-flows ; ovs-appctl netdev-dummy/receive p0 <PACKET> ; ovs-appctl dpctl/dump-flows
  it.each([
    [
      "11. VXLAN decapsulation: tnl_pop, then the inner flow keyed by its tunnel",
      VXLAN,
      [
        "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=f8:bc:12:44:34:b6,dst=aa:55:aa:55:00:00),eth_type(0x0800),ipv4(dst=1.1.2.88,proto=17,frag=no),udp(dst=4789), packets:0, bytes:0, used:never, actions:tnl_pop(4789)",
        "tunnel(tun_id=0x7b,src=1.1.2.92,dst=1.1.2.88,flags(-df-csum+key)),recirc_id(0),in_port(4789),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no), packets:0, bytes:0, used:never, actions:2",
      ],
    ],
    [
      "12. ECN (RFC 6040): outer CE over a not-ECT inner packet is dropped",
      VXLAN_CE,
      [
        "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=f8:bc:12:44:34:b6,dst=aa:55:aa:55:00:00),eth_type(0x0800),ipv4(dst=1.1.2.88,proto=17,frag=no),udp(dst=4789), packets:0, bytes:0, used:never, actions:tnl_pop(4789)",
        "tunnel(tun_id=0x7b,src=1.1.2.92,dst=1.1.2.88,tos=0x3,flags(-df-csum+key)),recirc_id(0),in_port(4789),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(tos=0/0x3,frag=no), packets:0, bytes:0, used:never, actions:drop",
      ],
    ],
    [
      "13. ECN (RFC 6040): outer CE is copied into an ECT inner packet",
      VXLAN_CE_ECT,
      [
        "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=f8:bc:12:44:34:b6,dst=aa:55:aa:55:00:00),eth_type(0x0800),ipv4(dst=1.1.2.88,proto=17,frag=no),udp(dst=4789), packets:0, bytes:0, used:never, actions:tnl_pop(4789)",
        "tunnel(tun_id=0x7b,src=1.1.2.92,dst=1.1.2.88,tos=0x3,flags(-df-csum+key)),recirc_id(0),in_port(4789),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(tos=0x2/0x3,frag=no), packets:0, bytes:0, used:never, actions:set(ipv4(tos=0x3/0x3)),2",
      ],
    ],
    [
      "14. NVGRE decapsulation on gre_sys",
      NVGRE,
      [
        "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=f8:bc:12:44:34:b6,dst=aa:55:aa:55:00:00),eth_type(0x0800),ipv4(dst=1.1.2.88,proto=47,frag=no), packets:0, bytes:0, used:never, actions:tnl_pop(3)",
        "tunnel(tun_id=0x1c8,src=1.1.2.92,dst=1.1.2.88,flags(-df-csum+key)),recirc_id(0),in_port(3),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no), packets:0, bytes:0, used:never, actions:2",
      ],
    ],
  ])("%s", async (_name, packet, flows) => {
    const h = await withNeigh();
    h.ofctl("add-flow", "int-br", "in_port=2,actions=LOCAL");
    h.ofctl("add-flow", "int-br", "in_port=3,actions=LOCAL");
    await h.app("netdev-dummy/receive", "p0", packet);
    const dump = (await h.app("dpctl/dump-flows")).trimEnd().split("\n");
    expect(dump[0]).toBe("flow-dump from the main thread:");
    expect(dump.slice(1).sort()).toEqual([...flows].sort());
    // One packet, one tier, whatever the number of datapath passes.
    expect(h.e.packetsReceived).toBe(1);
  });

  it("15. ECN traces of the second pass (tunnel metadata in the flow)", async () => {
    const h = await withNeigh();
    h.ofctl("add-flow", "int-br", "in_port=2,actions=LOCAL");
    h.ofctl("add-flow", "int-br", "in_port=3,actions=LOCAL");
    const T = (tos: number) =>
      `tunnel(tun_id=0x7b,src=1.1.2.92,dst=1.1.2.88,tos=0x3,ttl=64,flags(-df-csum+key)),in_port(4789),eth(src=50:54:00:00:00:05,dst=50:54:00:00:00:07),eth_type(0x0800),ipv4(src=10.0.0.5,dst=10.0.0.7,proto=1,tos=${tos},ttl=64,frag=no),icmp(type=8,code=0)`;
    expect(
      await h.app("ofproto/trace", "ovs-dummy", T(0)),
    ).toBe(`Flow: icmp,tun_id=0x7b,tun_src=1.1.2.92,tun_dst=1.1.2.88,tun_ipv6_src=::,tun_ipv6_dst=::,tun_gbp_id=0,tun_gbp_flags=0,tun_tos=3,tun_ttl=64,tun_erspan_ver=0,gtpu_flags=0,gtpu_msgtype=0,tun_flags=key,in_port=2,vlan_tci=0x0000,dl_src=50:54:00:00:00:05,dl_dst=50:54:00:00:00:07,nw_src=10.0.0.5,nw_dst=10.0.0.7,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,icmp_type=8,icmp_code=0

bridge("int-br")
----------------
 0. in_port=2, priority 32768

Final flow: unchanged
Megaflow: recirc_id=0,eth,ip,tun_id=0x7b,tun_src=1.1.2.92,tun_dst=1.1.2.88,tun_tos=3,tun_flags=-df-csum+key,in_port=2,nw_ecn=0,nw_frag=no
Datapath actions: drop
`);
    const lines = (await h.app("ofproto/trace", "ovs-dummy", T(2))).trimEnd().split("\n");
    expect(lines.slice(-3)).toEqual([
      "Final flow: icmp,tun_id=0x7b,tun_src=1.1.2.92,tun_dst=1.1.2.88,tun_ipv6_src=::,tun_ipv6_dst=::,tun_gbp_id=0,tun_gbp_flags=0,tun_tos=3,tun_ttl=64,tun_erspan_ver=0,gtpu_flags=0,gtpu_msgtype=0,tun_flags=key,in_port=2,vlan_tci=0x0000,dl_src=50:54:00:00:00:05,dl_dst=50:54:00:00:00:07,nw_src=10.0.0.5,nw_dst=10.0.0.7,nw_tos=0,nw_ecn=3,nw_ttl=64,nw_frag=no,icmp_type=8,icmp_code=0",
      "Megaflow: recirc_id=0,eth,ip,tun_id=0x7b,tun_src=1.1.2.92,tun_dst=1.1.2.88,tun_tos=3,tun_flags=-df-csum+key,in_port=2,nw_ecn=2,nw_frag=no",
      "Datapath actions: set(ipv4(tos=0x3/0x3)),2",
    ]);
  });

  it("16. ARP resolution: request, snooped reply, revalidation, then the encapsulated packet on p0", async () => {
    const h = await tunnelHost(PORTS);
    const sent = tapP0(h);
    // ovs-ofctl add-flow int-br 'in_port=LOCAL,actions=2' ; netdev-dummy/receive int-br '<ICMP>' ;
    // ovs-ofctl mod-flows int-br 'in_port=LOCAL,actions=6' ; netdev-dummy/receive int-br '<ICMP>'
    h.ofctl("add-flow", "int-br", "in_port=LOCAL,actions=2");
    await h.app("netdev-dummy/receive", "int-br", ICMP);
    h.ofctl("mod-flows", "int-br", "in_port=LOCAL,actions=6");
    await h.app("netdev-dummy/receive", "int-br", ICMP);
    // ovs-pcap p0.pcap: the ARP request for 1.1.2.92, the neighbour solicitation for 2001:cafe::92
    // (OVS sent each more than once: once per translation of the flow).
    expect([...new Set(sent)]).toEqual([
      "ffffffffffffaa55aa55000008060001080006040001aa55aa550000010102580000000000000101025c",
      "3333ff000092aa55aa55000086dd6000000000203aff2001cafe000000000000000000000088ff0200000000000000000001ff00009287004d48000000002001cafe0000000000000000000000920101aa55aa550000",
    ]);
    // ovs-appctl netdev-dummy/receive p0 (ARP reply 1.1.2.92 is-at f8:bc:12:44:34:b6 to 1.1.2.88,
    // then one to 1.1.2.90, not our address) ; ovs-appctl tnl/neigh/show ; revalidator/wait ; dpctl/dump-flows
    await h.app(
      "netdev-dummy/receive",
      "p0",
      "recirc_id(0),in_port(1),eth(src=f8:bc:12:44:34:b6,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=1.1.2.92,tip=1.1.2.88,op=2,sha=f8:bc:12:44:34:b6,tha=00:00:00:00:00:00)",
    );
    await h.app(
      "netdev-dummy/receive",
      "p0",
      "recirc_id(0),in_port(1),eth(src=f8:bc:12:44:34:b8,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=1.1.2.94,tip=1.1.2.90,op=2,sha=f8:bc:12:44:34:b8,tha=00:00:00:00:00:00)",
    );
    expect(await h.app("tnl/neigh/show")).toBe(`IP                                            MAC                 Bridge
==========================================================================
1.1.2.92                                      f8:bc:12:44:34:b6   br0
`);
    await h.app("revalidator/wait");
    expect(sortedLines(await h.app("dpctl/dump-flows")).map((l) => l.replace(/used:[0-9.]+s/, "used:X"))).toEqual([
      "flow-dump from the main thread:",
      "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=f8:bc:12:44:34:b6,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=1.1.2.92,tip=1.1.2.88,op=2,sha=f8:bc:12:44:34:b6), packets:0, bytes:0, used:never, actions:100",
      "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=f8:bc:12:44:34:b8,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=1.1.2.94,tip=1.1.2.90,op=2), packets:0, bytes:0, used:never, actions:100",
      "recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(tos=0/0x3,frag=no), packets:1, bytes:106, used:X, actions:drop",
    ]);
    // ovs-ofctl mod-flows int-br 'in_port=LOCAL,actions=2' ; revalidator/wait ; receive ; dpctl/dump-flows ; ovs-pcap p0.pcap
    h.ofctl("mod-flows", "int-br", "in_port=LOCAL,actions=2");
    await h.app("revalidator/wait");
    sent.length = 0;
    await h.app("netdev-dummy/receive", "int-br", ICMP);
    const dump = await h.app("dpctl/dump-flows");
    expect(dump).toContain(
      "recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(tos=0/0x3,frag=no), packets:2, bytes:212, used:",
    );
    expect(dump).toContain(
      "actions:tnl_push(tnl_port(4789),header(size=50,type=4,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=4789,csum=0x0),vxlan(flags=0x8000000,vni=0x7b)),out_port(100)),1\n",
    );
    // The UDP source port 0x8f78 is OVS's: the RSS hash of the inner flow scaled into 32768..61000.
    expect(sent).toEqual([
      "f8bc124434b6aa55aa55000008004500008e00004000401133aa010102580101025c8f7812b5007a00000800000000007b0050540000000750540000000508004500005c00000000400166960a0000050a000007080013fc00000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
    ]);
  });

  it("17. GENEVE options through the TLV map: dump-tlv-map, push with options, decap into tun_metadata0", async () => {
    const h = await withNeigh();
    // ovs-ofctl add-tlv-map int-br "{class=0xffff,type=0x80,len=4}->tun_metadata0" ; the same
    // option again as tun_metadata1 ; "{class=0x1,type=0x1,len=8}->tun_metadata2" ; dump-tlv-map int-br
    h.ofctl("add-tlv-map", "int-br", "{class=0xffff,type=0x80,len=4}->tun_metadata0");
    const dup = h.e.ofctl(["add-tlv-map", "int-br", "{class=0xffff,type=0x80,len=4}->tun_metadata1"], {
      cwd: process.cwd(),
    });
    expect(dup).toEqual({
      code: 1,
      stdout: "",
      stderr: `OFPT_ERROR (xid=0x4): NXTTMFC_DUP_ENTRY
NXT_TLV_TABLE_MOD (xid=0x4):
 ADD mapping table:
  class  type  length  match field
 ------  ----  ------  --------------
 0xffff  0x80       4  tun_metadata1
`,
    });
    h.ofctl("add-tlv-map", "int-br", "{class=0x1,type=0x1,len=8}->tun_metadata2");
    expect(h.ofctl("dump-tlv-map", "int-br")).toBe(`NXT_TLV_TABLE_REPLY (xid=0x2):
 max option space=256 max fields=64
 allocated option space=12

 mapping table:
  class  type  length  match field
 ------  ----  ------  --------------
 0xffff  0x80       4  tun_metadata0
    0x1   0x1       8  tun_metadata2
`);
    // ovs-ofctl add-flow int-br "actions=set_field:1.1.2.92->tun_dst,set_field:0xa->tun_metadata0,5" ;
    // ofproto/trace ovs-dummy '<TRACE_IN>' | tail -1 (tunnel-push-pop.at has the same line)
    h.ofctl("add-flow", "int-br", "actions=set_field:1.1.2.92->tun_dst,set_field:0xa->tun_metadata0,5");
    expect(await h.dpActions(TRACE_IN)).toBe(
      "Datapath actions: tnl_push(tnl_port(6081),header(size=58,type=5,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=6081,csum=0x0),geneve(crit,vni=0x7b,options({class=0xffff,type=0x80,len=4,0xa}))),out_port(100)),1",
    );
    // ovs-ofctl del-flows int-br ; add-flow int-br "tun_metadata0=0xa,actions=LOCAL" ;
    // add-flow int-br "priority=1,actions=drop" ; receive GENEVE (option 0xffff/0x80 = 0xa, then 0xb) ;
    // ovs-ofctl dump-flows int-br: one packet on each rule, 50 bytes (the inner frame).
    h.ofctl("del-flows", "int-br");
    h.ofctl("add-flow", "int-br", "tun_metadata0=0xa,actions=LOCAL");
    h.ofctl("add-flow", "int-br", "priority=1,actions=drop");
    await h.app(
      "netdev-dummy/receive",
      "p0",
      "aa55aa550000f8bc124434b608004500005e00004000401133da0101025c01010258c85317c1004a00000200655800007b00ffff80010000000a50540000000750540000000508004500002400000000400166ce0a0000050a00000708006668000100016162636465666768",
    );
    await h.app(
      "netdev-dummy/receive",
      "p0",
      "aa55aa550000f8bc124434b608004500005e00004000401133da0101025c01010258c85317c1004a00000200655800007b00ffff80010000000b50540000000750540000000508004500002400000000400166ce0a0000050a00000708006668000100016162636465666768",
    );
    await h.app("revalidator/wait");
    const rules = h
      .ofctl("dump-flows", "int-br")
      .split("\n")
      .filter((l) => l.includes("actions="))
      .map((l) => l.replace(/duration=[^,]*, /, "").replace(/idle_age=\d+, /, ""));
    expect(rules).toEqual([
      " cookie=0x0, table=0, n_packets=1, n_bytes=50, tun_metadata0=0xa actions=LOCAL",
      " cookie=0x0, table=0, n_packets=1, n_bytes=50, priority=1 actions=drop",
    ]);
  });
});

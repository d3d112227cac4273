// The datapath actions executor against real Open vSwitch.
//
// Expected bytes: Open vSwitch 3.1.0, userspace datapath (ovs-oracle.sh), bridge br0 with dummy
// ports p1 (in), p2 (datapath port 2, options:tx_pcap) and p3 (datapath port 6, tx_pcap); an
// underlay bridge br-phy (192.0.2.1/24, 2001:db8::1/64, hwaddr aa:55:aa:55:00:01) with uplink
// p0 (datapath port 3, tx_pcap) and neighbours 192.0.2.2 / 2001:db8::2 at aa:bb:cc:00:00:02;
// tunnel ports vx1 (vxlan, remote_ip=192.0.2.2, key=flow), gn1 (geneve, remote_ip=192.0.2.2,
// key=flow, csum=true), vx6 (vxlan, remote_ip=2001:db8::2, dst_port=4790, key=flow). For each
// case: `ovs-ofctl -O OpenFlow13 add-flow br0 in_port=1,<match>,actions=<openflow>`;
// `ovs-appctl ofproto/trace br0 in_port=1 <input>` gave `datapath` (its "Datapath actions:");
// `ovs-appctl netdev-dummy/receive p1 <input>` then put `out` in the ports' tx pcaps. We run
// `datapath` (not the OpenFlow actions) and compare every byte. The inputs were written by hand
// with checksums tshark verifies. Checksums of our results are verified again with tshark below.
import { describe, expect, it } from "vitest";
import { hex, toHex, viewOf } from "../../src/wire/bytes.ts";
import { PacketPool } from "../../src/dp/pool.ts";
import { PacketParser } from "../../src/wire/parse.ts";
import { INNER, OUTER, newOffsets } from "../../src/wire/offsets.ts";
import { parseOdpActions } from "../../src/flow/odp.ts";
import {
  ActionExecutor,
  OFFSETS_STALE,
  UnsupportedActionError,
  compileActions,
  offsetsValid,
  ovsRssHash,
  tunnelSrcPort,
} from "../../src/dp/execute.ts";
import { FlowExtractor } from "../../src/flow/extract.ts";
import { newFlowKey } from "../../src/flow/key.ts";
import { expectNoGc, requireTool } from "../helpers.ts";
import { tsharkFields } from "../wire/tshark-run.ts";

const INPUTS: Record<string, string> = {
  udp4:
    "5254000000025254000000010800450000341234400040113c4ec0000201c63364029c4000350020bb7a6f66666c6f61" +
    "642d656d752074657374207061796c6f6164",
  "udp4-nocsum":
    "5254000000025254000000010800450000341234400040113c4ec0000201c63364029c400035002000006f66666c6f61" +
    "642d656d752074657374207061796c6f6164",
  tcp4:
    "5254000000025254000000010800450300401234400040063c4ac0000201c63364029c400050000003e8000007d05018" +
    "20003fae00006f66666c6f61642d656d752074657374207061796c6f6164",
  udp6:
    "52540000000252540000000186dd62eabcde0020114020010db800000000000000000000000120010db8000000000000" +
    "0000000000029c40003500204c3d6f66666c6f61642d656d752074657374207061796c6f6164",
  tcp6:
    "52540000000252540000000186dd60000000002c064020010db800000000000000000000000120010db8000000000000" +
    "0000000000029c400050000003e8000007d050182000d07000006f66666c6f61642d656d752074657374207061796c6f" +
    "6164",
  icmp6:
    "52540000000252540000000186dd6000000000203a4020010db800000000000000000000000120010db8000000000000" +
    "000000000002800068a1000700016f66666c6f61642d656d752074657374207061796c6f6164",
  "vlan-udp4":
    "5254000000025254000000018100a00a0800450000341234400040113c4ec0000201c63364029c4000350020bb7a6f66" +
    "666c6f61642d656d752074657374207061796c6f6164",
};

interface ActionCase {
  name: string;
  input: string;
  openflow: string;
  datapath: string;
  out: [number, string][];
}
const CASES: ActionCase[] = [
  {
    name: "push_vlan",
    input: "udp4",
    openflow: "mod_vlan_vid:100,mod_vlan_pcp:5,output:2",
    datapath: "push_vlan(vid=100,pcp=5),2",
    out: [
      [
        2,
        "5254000000025254000000018100a0640800450000341234400040113c4ec0000201c63364029c4000350020bb7a6f66" +
          "666c6f61642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "push_vlan 802.1ad on a tagged packet",
    input: "vlan-udp4",
    openflow: "push_vlan:0x88a8,set_field:4396->vlan_vid,output:2",
    datapath: "push_vlan(tpid=0x88a8,vid=300,pcp=0),2",
    out: [
      [
        2,
        "52540000000252540000000188a8012c8100a00a0800450000341234400040113c4ec0000201c63364029c4000350020" +
          "bb7a6f66666c6f61642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "set eth",
    input: "udp4",
    openflow: "mod_dl_src:02:00:00:00:00:aa,mod_dl_dst:02:00:00:00:00:bb,output:2",
    datapath: "set(eth(src=02:00:00:00:00:aa,dst=02:00:00:00:00:bb)),2",
    out: [
      [
        2,
        "0200000000bb0200000000aa0800450000341234400040113c4ec0000201c63364029c4000350020bb7a6f66666c6f61" +
          "642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "set ipv4 addresses tcp",
    input: "tcp4",
    openflow: "mod_nw_src:10.1.1.1,mod_nw_dst:10.2.2.2,output:2",
    datapath: "set(ipv4(src=10.1.1.1,dst=10.2.2.2)),2",
    out: [
      [
        2,
        "525400000002525400000001080045030040123440004006117c0a0101010a0202029c400050000003e8000007d05018" +
          "200014e000006f66666c6f61642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "set ipv4 addresses udp",
    input: "udp4",
    openflow: "mod_nw_src:10.1.1.1,mod_nw_dst:10.2.2.2,output:2",
    datapath: "set(ipv4(src=10.1.1.1,dst=10.2.2.2)),2",
    out: [
      [
        2,
        "52540000000252540000000108004500003412344000401111800a0101010a0202029c400035002090ac6f66666c6f61" +
          "642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "set ipv4 address udp zero checksum",
    input: "udp4-nocsum",
    openflow: "mod_nw_dst:10.2.2.2,output:2",
    datapath: "set(ipv4(dst=10.2.2.2)),2",
    out: [
      [
        2,
        "5254000000025254000000010800450000341234400040115a80c00002010a0202029c400035002000006f66666c6f61" +
          "642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "set ipv4 ttl and tos",
    input: "tcp4",
    openflow: "mod_nw_ttl:9,mod_nw_tos:0x20,output:2",
    datapath: "set(ipv4(tos=0x20/0xfc,ttl=9)),2",
    out: [
      [
        2,
        "525400000002525400000001080045230040123440000906732ac0000201c63364029c400050000003e8000007d05018" +
          "20003fae00006f66666c6f61642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "dec_ttl",
    input: "udp4",
    openflow: "dec_ttl,output:2",
    datapath: "set(ipv4(ttl=63)),2",
    out: [
      [
        2,
        "525400000002525400000001080045000034123440003f113d4ec0000201c63364029c4000350020bb7a6f66666c6f61" +
          "642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "set ipv4 masked dst",
    input: "udp4",
    openflow: "set_field:10.0.0.0/255.0.0.0->ip_dst,output:2",
    datapath: "set(ipv4(dst=10.0.0.0/255.0.0.0)),2",
    out: [
      [
        2,
        "525400000002525400000001080045000034123440004011f84ec00002010a3364029c4000350020777b6f66666c6f61" +
          "642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "set ipv6 addresses udp",
    input: "udp6",
    openflow: "set_field:2001:db8::99->ipv6_src,set_field:2001:db8::98->ipv6_dst,output:2",
    datapath: "set(ipv6(src=2001:db8::99,dst=2001:db8::98)),2",
    out: [
      [
        2,
        "52540000000252540000000186dd62eabcde0020114020010db800000000000000000000009920010db8000000000000" +
          "0000000000989c40003500204b0f6f66666c6f61642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "set ipv6 addresses tcp",
    input: "tcp6",
    openflow: "set_field:2001:db8::99->ipv6_src,output:2",
    datapath: "set(ipv6(src=2001:db8::99)),2",
    out: [
      [
        2,
        "52540000000252540000000186dd60000000002c064020010db800000000000000000000009920010db8000000000000" +
          "0000000000029c400050000003e8000007d050182000cfd800006f66666c6f61642d656d752074657374207061796c6f" +
          "6164",
      ],
    ],
  },
  {
    name: "set ipv6 addresses icmpv6",
    input: "icmp6",
    openflow: "set_field:2001:db8::98->ipv6_dst,output:2",
    datapath: "set(ipv6(dst=2001:db8::98)),2",
    out: [
      [
        2,
        "52540000000252540000000186dd6000000000203a4020010db800000000000000000000000120010db8000000000000" +
          "0000000000988000680b000700016f66666c6f61642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "set ipv6 label tclass hlimit",
    input: "udp6",
    openflow: "set_field:0x12345->ipv6_label,mod_nw_tos:0x40,mod_nw_ttl:7,output:2",
    datapath: "set(ipv6(label=0x12345,tclass=0x40/0xfc,hlimit=7)),2",
    out: [
      [
        2,
        "52540000000252540000000186dd642123450020110720010db800000000000000000000000120010db8000000000000" +
          "0000000000029c40003500204c3d6f66666c6f61642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "set tcp ports",
    input: "tcp4",
    openflow: "mod_tp_src:1111,mod_tp_dst:2222,output:2",
    datapath: "set(tcp(src=1111,dst=2222)),2",
    out: [
      [
        2,
        "5254000000025254000000010800450300401234400040063c4ac0000201c6336402045708ae000003e8000007d05018" +
          "2000cf3900006f66666c6f61642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "set udp ports",
    input: "udp4",
    openflow: "mod_tp_src:1111,mod_tp_dst:2222,output:2",
    datapath: "set(udp(src=1111,dst=2222)),2",
    out: [
      [
        2,
        "5254000000025254000000010800450000341234400040113c4ec0000201c6336402045708ae00204aeb6f66666c6f61" +
          "642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "set udp port zero checksum",
    input: "udp4-nocsum",
    openflow: "mod_tp_dst:2222,output:2",
    datapath: "set(udp(dst=2222)),2",
    out: [
      [
        2,
        "5254000000025254000000010800450000341234400040113c4ec0000201c63364029c4008ae002000006f66666c6f61" +
          "642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "two outputs",
    input: "udp4",
    openflow: "output:2,output:3",
    datapath: "2,6",
    out: [
      [
        2,
        "5254000000025254000000010800450000341234400040113c4ec0000201c63364029c4000350020bb7a6f66666c6f61" +
          "642d656d752074657374207061796c6f6164",
      ],
      [
        6,
        "5254000000025254000000010800450000341234400040113c4ec0000201c63364029c4000350020bb7a6f66666c6f61" +
          "642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "output modify output",
    input: "udp4",
    openflow: "output:2,mod_nw_ttl:1,output:3",
    datapath: "2,set(ipv4(ttl=1)),6",
    out: [
      [
        2,
        "5254000000025254000000010800450000341234400040113c4ec0000201c63364029c4000350020bb7a6f66666c6f61" +
          "642d656d752074657374207061796c6f6164",
      ],
      [
        6,
        "5254000000025254000000010800450000341234400001117b4ec0000201c63364029c4000350020bb7a6f66666c6f61" +
          "642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "tnl_push vxlan",
    input: "udp4",
    openflow: "set_field:5001->tun_id,output:7",
    datapath:
      "tnl_push(tnl_port(4789),header(size=50,type=4,eth(dst=aa:bb:cc:00:00:02,src=aa:55:aa:55:00:01,dl_type=0x0800),ipv4(src=192.0.2.1,dst=192.0.2.2,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=4789,csum=0x0),vxlan(flags=0x8000000,vni=0x1389)),out_port(4)),3",
    out: [
      [
        3,
        "aabbcc000002aa55aa550001080045000066000040004011b683c0000201c00002029bfb12b500520000080000000013" +
          "89005254000000025254000000010800450000341234400040113c4ec0000201c63364029c4000350020bb7a6f66666c" +
          "6f61642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "tnl_push geneve csum",
    input: "tcp4",
    openflow: "set_field:77->tun_id,output:8",
    datapath:
      "tnl_push(tnl_port(6081),header(size=50,type=5,eth(dst=aa:bb:cc:00:00:02,src=aa:55:aa:55:00:01,dl_type=0x0800),ipv4(src=192.0.2.1,dst=192.0.2.2,proto=17,tos=0x2,ttl=64,frag=0x4000),udp(src=0,dst=6081,csum=0xffff),geneve(vni=0x4d)),out_port(4)),3",
    out: [
      [
        3,
        "aabbcc000002aa55aa550001080045020072000040004011b675c0000201c000020291a017c1005e5f32000065580000" +
          "4d005254000000025254000000010800450300401234400040063c4ac0000201c63364029c400050000003e8000007d0" +
          "501820003fae00006f66666c6f61642d656d752074657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "tnl_push vxlan ipv6",
    input: "udp6",
    openflow: "set_field:9->tun_id,output:9",
    datapath:
      "tnl_push(tnl_port(4790),header(size=70,type=4,eth(dst=aa:bb:cc:00:00:02,src=aa:55:aa:55:00:01,dl_type=0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,label=0,proto=17,tclass=0x2,hlimit=64),udp(src=0,dst=4790,csum=0xffff),vxlan(flags=0x8000000,vni=0x9)),out_port(4)),3",
    out: [
      [
        3,
        "aabbcc000002aa55aa55000186dd602000000066114020010db800000000000000000000000120010db8000000000000" +
          "000000000002a11312b600668262080000000000090052540000000252540000000186dd62eabcde0020114020010db8" +
          "00000000000000000000000120010db80000000000000000000000029c40003500204c3d6f66666c6f61642d656d7520" +
          "74657374207061796c6f6164",
      ],
    ],
  },
  {
    name: "pop_vlan",
    input: "vlan-udp4",
    openflow: "pop_vlan,output:2",
    datapath: "pop_vlan,2",
    out: [
      [
        2,
        "5254000000025254000000010800450000341234400040113c4ec0000201c63364029c4000350020bb7a6f66666c6f61" +
          "642d656d752074657374207061796c6f6164",
      ],
    ],
  },
];

const VXLAN_IN =
  "aa55aa550001aabbcc00000208004528005e000140003d11b962c0000202c0000201823512b5004aaca7080000000013" +
  "890050540000000150540000000708004500002c00010000400165c90a0001070a00000100003c3c0000000078787878" +
  "787878787878787878787878";
const VXLAN_POPPED =
  "50540000000150540000000708004500002c00010000400165c90a0001070a00000100003c3c00000000787878787878" +
  "78787878787878787878";

const parser = new PacketParser();

/** Loads `frame` into a pool slot with its offsets and OVS's RSS hash (what dpif-netdev has). */
function load(pool: PacketPool, frame: Uint8Array): { slot: number; o: Int32Array } {
  const slot = pool.load(frame);
  const o = newOffsets();
  parser.parse(pool.dv, pool.start[slot]!, frame.length, o);
  const key = newFlowKey();
  new FlowExtractor().extract(pool.dv, o, OUTER, 1, key);
  pool.hash[slot] = ovsRssHash(key);
  return { slot, o };
}

/** Runs `datapath` on `frame`; returns [port, hex] per output and checks the offsets kept. */
function run(datapath: string, frame: Uint8Array): [number, string][] {
  const pool = new PacketPool(8);
  const { slot, o } = load(pool, frame);
  const got: [number, string][] = [];
  const ex = new ActionExecutor(pool, (port, s) => {
    got.push([port, toHex(pool.frame(s))]);
    if (s === slot && offsetsValid(pool, s, o)) {
      // Offsets the executor kept must be what a fresh parse finds.
      const fresh = newOffsets();
      parser.parse(pool.dv, pool.start[s]!, pool.len[s]!, fresh);
      expect([...o]).toEqual([...fresh]);
    }
    pool.release(s);
  });
  ex.execute(compileActions(parseOdpActions(datapath)), slot, o);
  expect(pool.available).toBe(8); // nothing leaked: every clone and the original came back
  return got;
}

describe("datapath actions give the bytes Open vSwitch sends", () => {
  it.each(CASES)("$name: $datapath", (c) => {
    const got = run(c.datapath, hex(INPUTS[c.input]!));
    expect(got).toEqual(c.out.map(([p, h]) => [p, h.replace(/\s/g, "")]));
  });

  it("tnl_pop strips VXLAN down to the inner frame OVS forwards after recirculation", () => {
    // OVS: netdev-dummy/receive p0 VXLAN_IN on br-phy (Datapath actions: tnl_pop(4789)), then
    // br0's in_port=vx1,actions=output:2 put VXLAN_POPPED in p2's tx pcap.
    const pool = new PacketPool(4);
    const { slot, o } = load(pool, hex(VXLAN_IN));
    const innerBefore = o.slice(INNER, INNER + 13);
    let popped = -1;
    const ex = new ActionExecutor(
      pool,
      () => {
        throw new Error("no output expected");
      },
      (s, tnlPort, recirc) => {
        popped = s;
        expect([tnlPort, recirc]).toEqual([4789, 0]);
      },
    );
    ex.execute(compileActions(parseOdpActions("tnl_pop(4789)")), slot, o);
    expect(popped).toBe(slot);
    expect(toHex(pool.frame(slot))).toBe(VXLAN_POPPED.replace(/\s/g, ""));
    // The inner stack became the outer one: no re-parse needed to recirculate.
    expect(offsetsValid(pool, slot, o)).toBe(true);
    expect([...o.slice(OUTER, OUTER + 13)]).toEqual([...innerBefore]);
    const fresh = newOffsets();
    parser.parse(pool.dv, pool.start[slot]!, pool.len[slot]!, fresh);
    expect([...o]).toEqual([...fresh]);
  });

  it("takes the tunnel source port from the RSS hash as OVS does", () => {
    // The three tnl_push goldens above already pin it; this names the function and a vector:
    // OVS sent udp4 through vx1 from port 0x%s (bytes 34..35 of the p0 frame).
    const c = CASES.find((x) => x.name === "tnl_push vxlan")!;
    const sent = hex(c.out[0]![1].replace(/\s/g, ""));
    const pool = new PacketPool(2);
    const { slot } = load(pool, hex(INPUTS["udp4"]!));
    expect(tunnelSrcPort(pool.hash[slot]!)).toBe(viewOf(sent).getUint16(34));
  });

  it("marks offsets stale after tnl_push and re-parses before a later set", () => {
    const pool = new PacketPool(4);
    const { slot, o } = load(pool, hex(INPUTS["udp4"]!));
    const c = CASES.find((x) => x.name === "tnl_push vxlan")!;
    const push = c.datapath.replace(/,3$/, "");
    let out = "";
    const ex = new ActionExecutor(pool, (_p, s) => {
      out = toHex(pool.frame(s));
      pool.release(s);
    });
    // After the push, set(ipv4(ttl)) applies to the outer header: it must find it by re-parsing.
    ex.execute(compileActions(parseOdpActions(`${push},set(ipv4(ttl=9)),3`)), slot, o);
    const ttlAt = 14 + 8;
    expect(parseInt(out.slice(2 * ttlAt, 2 * ttlAt + 2), 16)).toBe(9);
    expect(o[26]).not.toBe(OFFSETS_STALE); // re-parsed
  });

  it("drops a packet whose actions end without an output, and refuses actions it does not model", () => {
    const pool = new PacketPool(2);
    const { slot, o } = load(pool, hex(INPUTS["udp4"]!));
    const ex = new ActionExecutor(pool, () => {
      throw new Error("no output expected");
    });
    ex.execute(compileActions(parseOdpActions("drop")), slot, o);
    expect(ex.dropped).toBe(1);
    expect(pool.available).toBe(2);
    expect(() => compileActions(parseOdpActions("userspace(pid=0,slow_path(action))"))).toThrow(UnsupportedActionError);
  });

  it("a clone() around a tnl_push leaves the original unchanged for the next output", () => {
    const c = CASES.find((x) => x.name === "tnl_push vxlan")!;
    const got = run(`clone(${c.datapath}),2`, hex(INPUTS["udp4"]!));
    expect(got).toEqual([
      [3, c.out[0]![1].replace(/\s/g, "")],
      [2, INPUTS["udp4"]!.replace(/\s/g, "")],
    ]);
  });
});

describe.runIf(requireTool("tshark"))("checksums of the executor's output verify in tshark", () => {
  it("every IPv4, UDP, TCP and ICMPv6 checksum is good (or absent, for UDP over IPv4)", () => {
    const frames: Uint8Array[] = [];
    for (const c of CASES) for (const [, h] of run(c.datapath, hex(INPUTS[c.input]!))) frames.push(hex(h));
    const rows = tsharkFields(
      frames,
      ["ip.checksum.status", "udp.checksum.status", "tcp.checksum.status", "icmpv6.checksum.status"],
      ["ip.check_checksum:TRUE", "udp.check_checksum:TRUE", "tcp.check_checksum:TRUE", "vxlan.udp.port:4790"],
    );
    expect(rows.length).toBe(frames.length);
    for (const [i, r] of rows.entries()) {
      const [ip = "", udp = "", tcp = "", icmp6 = ""] = r.split("\t");
      const ctx = `frame ${i + 1}: ${r}`;
      for (const s of ip.split(",").filter(Boolean)) expect(s, ctx).toBe("1");
      for (const s of udp.split(",").filter(Boolean)) expect(["1", "3"], ctx).toContain(s);
      for (const s of tcp.split(",").filter(Boolean)) expect(s, ctx).toBe("1");
      for (const s of icmp6.split(",").filter(Boolean)) expect(s, ctx).toBe("1");
      expect(ip + udp + tcp + icmp6, ctx).not.toBe("");
    }
  });
});

describe("executing allocates nothing per packet", () => {
  it("runs 1 million executions (set ipv4 ttl+addr, push/pop vlan, ports, a clone, tnl_push) without a garbage collection", async () => {
    const pool = new PacketPool(8);
    const { slot, o } = load(pool, hex(INPUTS["tcp4"]!));
    const start = pool.start[slot]!;
    const len = pool.len[slot]!;
    const push = CASES.find((x) => x.name === "tnl_push vxlan")!.datapath.replace(/,3$/, "");
    const progs = [
      compileActions(parseOdpActions("set(ipv4(src=10.1.1.1,ttl=9)),2")),
      compileActions(parseOdpActions("push_vlan(vid=100,pcp=5),set(tcp(src=1111)),pop_vlan,2")),
      compileActions(parseOdpActions("2,6")),
      compileActions(parseOdpActions(`${push},3`)),
    ];
    let outs = 0;
    const ex = new ActionExecutor(pool, (_port, s) => {
      outs++;
      if (s !== slot) pool.release(s);
    });
    const loop = (n: number) => {
      for (let i = 0; i < n; i++) {
        ex.execute(progs[i & 3]!, slot, o);
        if ((i & 3) === 3) {
          pool.start[slot] = start;
          pool.len[slot] = len;
          parser.parse(pool.dv, start, len, o);
        }
      }
    };
    await expectNoGc(loop, { warmup: 100_000, iterations: 1_000_000 });
    expect(outs).toBe((1_100_000 * 5) / 4);
    expect(pool.available).toBe(7);
  });
});

// Unit tests of the translation: NORMAL's VLAN rules and MAC learning, MAC ageing, and the
// resubmit limits. Expectations come from real Open vSwitch 3.1 (userspace datapath, dummy ports
// p1..p4 with ofport_request=N, ../shared/tools/ovs-oracle.sh, `ovs-ofctl add-flow br0
// actions=NORMAL`, Port settings as listed per case) unless a case says otherwise.
import { describe, expect, it } from "vitest";
import { formatOdpActions, parseOdpActions } from "../../src/flow/odp.ts";
import { MacLearning } from "../../src/ofproto/mac-learning.ts";
import { formatMegaflow, formatTrace, formatTraceTree, parseTraceFlow } from "../../src/ofproto/trace.ts";
import {
  MAX_DEPTH,
  MAX_RESUBMITS,
  portIncludesVlan,
  portTrunksVlan,
  translate,
  type TraceNode,
} from "../../src/ofproto/xlate.ts";
import type { XPort } from "../../src/ofproto/types.ts";
import { addFlows, makeBridge, vlanSpecs } from "./bridge-fixture.ts";

const T =
  "tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80";

/** Each output as "port:tags" (outermost first): flooding order in OVS is hash order, not ours. */
function outputs(actions: string, tagged: readonly string[] = []): string[] {
  const tags: string[] = [...tagged];
  const out: string[] = [];
  for (const a of parseOdpActions(actions)) {
    if (a.type === "push_vlan") tags.unshift(`${a.tci & 0xfff}/${a.tci >>> 13}`);
    else if (a.type === "pop_vlan") tags.shift();
    else if (a.type === "output") out.push(`${a.port}:${tags.join(".")}`);
  }
  return out.sort();
}

/** The table part of a trace: the lines under bridge("br0") OVS printed. */
function tableLines(nodes: TraceNode[]): string {
  return formatTraceTree((nodes[0] as TraceNode).subs);
}

interface NormalCase {
  name: string;
  vlan: Record<string, string>; // `ovs-vsctl set Port pN …`
  learn?: string; // `ovs-appctl ofproto/trace br0 LEARN -generate` first
  flow: string; // `ovs-appctl ofproto/trace br0 FLOW`
  tree: string;
  megaflow: string;
  actions: string;
}

const FLOOD = " 0. priority 32768\n    NORMAL\n     -> no learned MAC for destination, flooding\n";

const NORMAL_CASES: NormalCase[] = [
  {
    name: "a trunk restricted to VLANs 10,20 drops untagged packets",
    vlan: { p2: "trunks=10,20" },
    flow: `in_port=2,${T}`,
    tree: " 0. priority 32768\n    NORMAL\n     >>>> dropping VLAN 0 packet received on port p2 not configured for trunking VLAN 0 <<<<\n     >> disallowed VLAN VID for this input port, dropping\n",
    megaflow: "recirc_id=0,eth,ip,in_port=2,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_frag=no",
    actions: "drop",
  },
  {
    name: "native-tagged puts untagged packets on its VLAN",
    vlan: { p2: "tag=10 vlan_mode=native-tagged", p1: "tag=10" },
    flow: `in_port=2,${T}`,
    tree: FLOOD,
    megaflow: "recirc_id=0,eth,ip,in_port=2,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_frag=no",
    actions: "push_vlan(vid=10,pcp=0),100,3,pop_vlan,1,push_vlan(vid=10,pcp=0),4",
  },
  {
    name: "native-untagged trunks its other VLANs",
    vlan: { p2: "tag=10 vlan_mode=native-untagged trunks=10,20", p1: "tag=10" },
    flow: `in_port=2,dl_vlan=20,${T}`,
    tree: FLOOD,
    megaflow: "recirc_id=0,eth,ip,in_port=2,dl_vlan=20,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_frag=no",
    actions: "100,3,4",
  },
  {
    name: "native-tagged accepts its own VLAN tagged",
    vlan: { p2: "tag=10 vlan_mode=native-tagged", p1: "tag=10" },
    flow: `in_port=2,dl_vlan=10,${T}`,
    tree: FLOOD,
    megaflow:
      "recirc_id=0,eth,ip,in_port=2,dl_vlan=10,dl_vlan_pcp=0,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_frag=no",
    actions: "100,3,pop_vlan,1,push_vlan(vid=10,pcp=0),4",
  },
  {
    name: "a MAC learned on an access port is reached from a trunk on that VLAN",
    vlan: { p1: "tag=10" },
    learn: "in_port=1,dl_src=50:54:00:00:00:02,dl_dst=50:54:00:00:00:01",
    flow: `in_port=3,dl_vlan=10,${T}`,
    tree: " 0. priority 32768\n    NORMAL\n     -> forwarding to learned port\n",
    megaflow:
      "recirc_id=0,eth,ip,in_port=3,dl_vlan=10,dl_vlan_pcp=0,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_frag=no",
    actions: "pop_vlan,1",
  },
  {
    name: "a reserved (802.1D) destination is never forwarded",
    vlan: {},
    flow: "in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=01:80:c2:00:00:00",
    tree: " 0. priority 32768\n    NORMAL\n     -> packet has reserved destination MAC, dropping\n",
    megaflow: "recirc_id=0,eth,ip,in_port=1,dl_src=50:54:00:00:00:01,dl_dst=01:80:c2:00:00:00,nw_frag=no",
    actions: "drop",
  },
  {
    name: "a destination learned on the input port is dropped",
    vlan: {},
    learn: "in_port=1,dl_src=50:54:00:00:00:02,dl_dst=50:54:00:00:00:01",
    flow: `in_port=1,${T}`,
    tree: " 0. priority 32768\n    NORMAL\n     -> learned port is input port, dropping\n",
    megaflow: "recirc_id=0,eth,ip,in_port=1,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_frag=no",
    actions: "drop",
  },
  {
    name: "vlan_mode=access without a tag is VLAN 0",
    vlan: { p2: "vlan_mode=access" },
    flow: `in_port=2,${T}`,
    tree: FLOOD,
    megaflow: "recirc_id=0,eth,ip,in_port=2,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_frag=no",
    actions: "100,3,1,4",
  },
  {
    name: "an access port keeps a priority tag's PCP on its VLAN",
    vlan: { p1: "tag=10" },
    flow: `in_port=1,dl_vlan=0,dl_vlan_pcp=5,${T}`,
    tree: FLOOD,
    megaflow:
      "recirc_id=0,eth,ip,in_port=1,dl_vlan=0,dl_vlan_pcp=5,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_frag=no",
    actions: "pop_vlan,push_vlan(vid=10,pcp=5),100,3,2,4",
  },
];

describe("NORMAL: VLANs and learning (against OVS 3.1)", () => {
  it.each(NORMAL_CASES)("$name", (c) => {
    const br = makeBridge(4, vlanSpecs(c.vlan));
    addFlows(br, ["actions=NORMAL"]);
    if (c.learn) translate(br, parseTraceFlow(br, c.learn), { nowMs: 0, sideEffects: true, trace: false });
    const key = parseTraceFlow(br, c.flow);
    const res = translate(br, key, { nowMs: 0, sideEffects: false, trace: true });
    expect(tableLines(res.trace)).toBe(c.tree);
    expect(formatMegaflow(key, res.wc)).toBe(c.megaflow);
    // The packet's own tag (dl_vlan=N in the flow), which outputs before any push or pop carry.
    const vid = /dl_vlan=(\d+)/.exec(c.flow);
    const pcp = /dl_vlan_pcp=(\d+)/.exec(c.flow);
    const tagged = vid ? [`${vid[1]}/${pcp ? pcp[1] : 0}`] : [];
    expect(outputs(formatOdpActions(res.actions), tagged)).toEqual(outputs(c.actions, tagged));
  });
  it("does not learn a multicast source (OVS 3.1: fdb/show stays empty after -generate from 01:00:00:00:00:02)", () => {
    const br = makeBridge(4);
    addFlows(br, ["actions=NORMAL"]);
    translate(br, parseTraceFlow(br, "in_port=1,dl_src=01:00:00:00:00:02,dl_dst=50:54:00:00:00:01"), {
      nowMs: 0,
      sideEffects: true,
      trace: false,
    });
    expect(br.mac.list()).toEqual([]);
  });
});

// The port VLAN table of ovs-vswitchd.conf.db(5), "VLAN Configuration": an access port carries
// only its tag's VLAN, untagged; a trunk carries the VLANs in trunks (all if empty); native-tagged
// and native-untagged also carry their tag's VLAN (and untagged packets join it), never VLAN 0.
describe("port VLAN membership (ovs-vswitchd.conf.db(5))", () => {
  const p = (spec: Partial<XPort>): XPort => ({ ...[...makeBridge(1).ports.values()][1]!, ...spec }) as XPort;
  it.each([
    [
      { tag: 10 },
      [
        [10, true],
        [20, false],
        [0, false],
      ],
    ],
    [
      { trunks: [] },
      [
        [0, true],
        [10, true],
        [4095, true],
      ],
    ],
    [
      { trunks: [10, 20] },
      [
        [10, true],
        [20, true],
        [30, false],
        [0, false],
      ],
    ],
    [
      { tag: 10, vlanMode: "native-untagged" as const, trunks: [20] },
      [
        [10, true],
        [20, true],
        [30, false],
        [0, false],
      ],
    ],
    [
      { tag: 10, vlanMode: "native-tagged" as const },
      [
        [10, true],
        [20, true],
        [0, false],
      ],
    ],
    [
      { tag: 10, vlanMode: "trunk" as const, trunks: [20] },
      [
        [10, false],
        [20, true],
      ],
    ],
  ] as const)("%j", (spec, want) => {
    const port = p(spec as Partial<XPort>);
    for (const [vid, ok] of want) expect([vid, portIncludesVlan(port, vid)]).toEqual([vid, ok]);
    if (port.tag !== null && port.vlanMode === null) expect(portTrunksVlan(port, 10)).toBe(false);
  });
});

describe("MAC ageing", () => {
  // OVS 3.1 with `other_config:mac-aging-time=20`, `ovs-appctl time/stop`, one -generate trace
  // from p1: `fdb/show br0` lists the MAC after `time/warp 19000` (Age 19) and not after two more
  // `time/warp 1000`; a trace to it then floods.
  it("forgets a MAC after the idle time, then floods to it", () => {
    const br = makeBridge(4);
    br.mac.idleMs = 20_000;
    addFlows(br, ["actions=NORMAL"]);
    translate(br, parseTraceFlow(br, "in_port=1,dl_src=50:54:00:00:00:02,dl_dst=50:54:00:00:00:01"), {
      nowMs: 0,
      sideEffects: true,
      trace: false,
    });
    const to = parseTraceFlow(br, "in_port=2,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02");
    expect(formatOdpActions(translate(br, to, { nowMs: 19_000, sideEffects: false, trace: false }).actions)).toBe("1");
    expect(br.mac.expire(19_000)).toBe(0);
    expect(br.mac.expire(21_000)).toBe(1);
    expect(
      outputs(formatOdpActions(translate(br, to, { nowMs: 21_000, sideEffects: false, trace: false }).actions)),
    ).toEqual(["100:", "1:", "3:", "4:"].sort());
  });
  // mac-learning.c mac_learning_insert: seeing a MAC again resets its expiry; when full, the
  // least recently learned entry goes (the LRU list).
  it("is refreshed by traffic from the MAC and evicts the oldest when full", () => {
    const m = new MacLearning(20, 2);
    m.learn("50:54:00:00:00:01", 0, 1, 0);
    m.learn("50:54:00:00:00:01", 0, 1, 15_000);
    expect(m.lookup("50:54:00:00:00:01", 0, 30_000)).toBe(1);
    expect(m.lookup("50:54:00:00:00:01", 0, 35_000)).toBe(-1);
    m.learn("50:54:00:00:00:02", 0, 2, 16_000);
    m.learn("50:54:00:00:00:03", 0, 3, 17_000);
    expect(
      m
        .list()
        .map((e) => e.mac)
        .sort(),
    ).toEqual(["50:54:00:00:00:02", "50:54:00:00:00:03"]);
    expect(m.lookup("50:54:00:00:00:03", 7, 17_000)).toBe(-1); // another VLAN is another table
    const s = m.serial;
    m.learn("50:54:00:00:00:03", 0, 4, 18_000);
    expect(m.serial).toBe(s + 1);
  });
});

describe("resubmit limits", () => {
  // OVS 3.1: tables 0..12 each `actions=resubmit(,N+1),resubmit(,N+1)`, table 13 `actions=output:2`,
  // `ofproto/trace br0 in_port=1,ip`: 4097 table lines, 2048 `output:2` lines, then
  // "     >>>> over 4096 resubmit actions <<<<" at line 10247, "Datapath actions: drop" and
  // "Translation failed (Too many resubmits), packet is dropped."
  it("stops after 4096 resubmits in all", () => {
    const br = makeBridge(4);
    addFlows(br, [
      ...Array.from({ length: 13 }, (_, i) => `table=${i},actions=resubmit(,${i + 1}),resubmit(,${i + 1})`),
      "table=13,actions=output:2",
    ]);
    const key = parseTraceFlow(br, "in_port=1,ip");
    const res = translate(br, key, { nowMs: 0, sideEffects: false, trace: true });
    const text = formatTrace(key, res);
    const lines = text.split("\n");
    expect(MAX_RESUBMITS).toBe(4096);
    expect(lines.filter((l) => /^ *\d+\. /.test(l)).length).toBe(4097);
    expect(lines.filter((l) => l.trim() === "output:2").length).toBe(2048);
    expect(lines.indexOf("     >>>> over 4096 resubmit actions <<<<")).toBe(10247 - 1);
    expect(text.endsWith("Datapath actions: drop\nTranslation failed (Too many resubmits), packet is dropped.\n")).toBe(
      true,
    );
    expect(res.actions).toEqual([]);
  });
  // The depth limit counts only resubmits to the same or an earlier table (ofproto-dpif-xlate.c
  // MAX_DEPTH): a 100-table forward chain is fine.
  it("does not count resubmits to later tables against the depth", () => {
    const br = makeBridge(4);
    addFlows(br, [
      ...Array.from({ length: 100 }, (_, i) => `table=${i},actions=resubmit(,${i + 1})`),
      "table=100,actions=output:2",
    ]);
    const res = translate(br, parseTraceFlow(br, "in_port=1,ip"), { nowMs: 0, sideEffects: false, trace: false });
    expect(MAX_DEPTH).toBe(64);
    expect(res.error).toBeNull();
    expect(formatOdpActions(res.actions)).toBe("2");
    expect(res.rules.length).toBe(101);
  });
});

// A bridge built by hand for translation tests, numbered as Open vSwitch 3.1's userspace datapath
// numbers the ofproto-dpif.at set-up (`ovs-appctl dpif/show` on the oracle):
//   br0 65534/100: (dummy-internal)   p1 1/1   p2 2/2   …   pN N/N
// so expected `Datapath actions:` lines copied from OVS read the same here.
import { parseActions } from "../../src/flow/actions.ts";
import { parseFlow } from "../../src/flow/ofctl.ts";
import { OfPort } from "../../src/flow/fields.ts";
import { MacLearning } from "../../src/ofproto/mac-learning.ts";
import { OfTables } from "../../src/ofproto/oftable.ts";
import type { BridgeView, PortStats, VlanMode, XPort } from "../../src/ofproto/types.ts";

export interface PortSpec {
  tag?: number;
  trunks?: number[];
  vlanMode?: VlanMode;
}

const ZERO: PortStats = {
  rxPackets: 0,
  rxBytes: 0,
  rxDropped: 0,
  rxErrors: 0,
  txPackets: 0,
  txBytes: 0,
  txDropped: 0,
  txErrors: 0,
};

function port(name: string, ofport: number, odpPort: number, type: string, spec: PortSpec = {}): XPort {
  return {
    name,
    ofport,
    odpPort,
    type,
    mac: `aa:55:aa:55:00:${ofport === OfPort.LOCAL ? "00" : ofport.toString(16).padStart(2, "0")}`,
    mtu: 1500,
    tag: spec.tag ?? null,
    trunks: spec.trunks ?? [],
    vlanMode: spec.vlanMode ?? null,
    up: true,
    stats: () => ({ ...ZERO }),
  };
}

/** br0 with its internal port (LOCAL, datapath port 100) and dummy ports p1..pN (N/N). */
export function makeBridge(nPorts = 4, vlans: Record<string, PortSpec> = {}): BridgeView {
  const list = [port("br0", OfPort.LOCAL, 100, "internal", vlans["br0"])];
  for (let i = 1; i <= nPorts; i++) list.push(port(`p${i}`, i, i, "dummy", vlans[`p${i}`]));
  return {
    name: "br0",
    datapathName: "ovs-netdev",
    tables: new OfTables(),
    ports: new Map(list.map((p) => [p.ofport, p])),
    byOdp: new Map(list.map((p) => [p.odpPort, p])),
    byName: new Map(list.map((p) => [p.name, p])),
    mac: new MacLearning(),
    failMode: "secure",
    datapathId: 0xfedcba9876543210n,
  };
}

/**
 * `ovs-ofctl add-flow br0 FLOW` for each flow. src/flow/actions.ts checks set_field prerequisites
 * against the match only, so it refuses `push_vlan:0x8100,set_field:4196->vlan_vid`, which OVS
 * accepts (ofpacts_check follows the tag push_vlan adds); such a flow is read here with the
 * check left out, until actions.ts tracks pushes.
 */
export function addFlows(br: BridgeView, flows: readonly string[], nowMs = 0): void {
  for (const f of flows) {
    let flow;
    try {
      flow = parseFlow(f);
    } catch (e) {
      const at = f.indexOf("actions=");
      if (!(e instanceof Error) || !e.message.includes("OFPBAC_MATCH_INCONSISTENT") || at < 0) throw e;
      flow = parseFlow(`${f.slice(0, at)}actions=drop`);
      flow.actions = parseActions(f, at + "actions=".length);
    }
    br.tables.add(flow, nowMs);
  }
}

/** "p1:tag=10 p2:trunks=10,20 …" as the `ovs-vsctl set Port` arguments of a case. */
export function vlanSpecs(cfg: Record<string, string>): Record<string, PortSpec> {
  const out: Record<string, PortSpec> = {};
  for (const [p, text] of Object.entries(cfg)) {
    const s: PortSpec = {};
    for (const kv of text.split(" ")) {
      const [k, v = ""] = kv.split("=");
      if (k === "tag") s.tag = Number(v);
      else if (k === "trunks") s.trunks = v.split(",").map(Number);
      else if (k === "vlan_mode") s.vlanMode = v as VlanMode;
      else throw new Error(`unknown port setting ${kv}`);
    }
    out[p] = s;
  }
  return out;
}

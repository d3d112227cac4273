// `ovs-appctl ofproto/trace`: a translation (xlate.ts) told as Open vSwitch 3.1 tells it
// (ofproto/ofproto-dpif-trace.c), so the text can be compared with real OVS line for line.
//
// The layout comes from the trace tree OVS builds while translating. A table lookup is a node in
// the list of the table that resubmitted to it, after the resubmit action, and holds that rule's
// actions; oftrace_node_print_details indents a node by 4 × (level + more), where `more` is 1
// when the node has a later sibling or is a leaf (an action, a detail, a warning), and a node's
// children print two levels deeper when it had `more`, at the same level otherwise. So a
// resubmit that is a rule's last action lists the next table flush with the first (a pipeline
// reads top to bottom), while one followed by more actions indents the table it visits.
//
// The flow to trace is given as ovs-ofctl fields (`in_port=1,tcp,nw_dst=10.0.0.2`, after a bridge
// name) or as a datapath flow (`in_port(1),eth(…),…`, optionally after a datapath name), whose
// in_port is a datapath port number mapped to the bridge port that owns it.

import { FLOW_WORDS, u32, VLAN_CFI, W, type FlowKey } from "../flow/key.ts";
import { packetMask } from "../flow/extract.ts";
import { formatOdpActions, parseOdpKey } from "../flow/odp.ts";
import { formatMatch, parseFlow } from "../flow/ofctl.ts";
import { FlowSyntaxError } from "../flow/syntax.ts";
import { EtherType } from "../wire/numbers.ts";
import type { BridgeView } from "./types.ts";
import type { TunnelEnv } from "./tunnel.ts";
import { translate, type TraceNode, type XlateOptions, type XlateResult } from "./xlate.ts";

/** A trace request OVS refuses, with OVS's message (ovs-appctl prints it and exits with 2). */
export class TraceError extends Error {
  override readonly name = "TraceError";
}

/** oftrace_node_print_details. */
export function formatTraceTree(nodes: readonly TraceNode[], level = 0): string {
  let s = "";
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i] as TraceNode;
    if (n.kind === "bridge") s += "\n";
    const terminal = n.kind !== "bridge" && n.kind !== "table";
    const more = i + 1 < nodes.length || terminal ? 1 : 0;
    const pad = " ".repeat((level + more) * 4);
    switch (n.kind) {
      case "detail":
        s += `${pad} -> ${n.text}\n`;
        break;
      case "warn":
        s += `${pad} >> ${n.text}\n`;
        break;
      case "error":
        s += `${pad} >>>> ${n.text} <<<<\n`;
        break;
      case "bridge":
        s += `${pad}${n.text}\n${pad}${"-".repeat(n.text.length)}\n`;
        break;
      default:
        s += `${pad}${n.text}\n`;
    }
    s += formatTraceTree(n.subs, level + 2 * more);
  }
  return s;
}

/**
 * flow_format: a flow as the trace's "Flow:" and "Final flow:" lines print it — every field the
 * packet has, plus the metadata (registers, metadata, pkt_mark, …) that is not zero.
 */
export function formatFlow(flow: FlowKey): string {
  const mask = packetMask(flow);
  for (let i = 0; i < 8; i++) if (flow[W.REG0 + i]) mask[W.REG0 + i] = 0xffffffff;
  if (flow[W.METADATA_HI] || flow[W.METADATA_LO]) mask[W.METADATA_HI] = mask[W.METADATA_LO] = 0xffffffff;
  if (flow[W.TUN_ID_HI] || flow[W.TUN_ID_LO]) mask[W.TUN_ID_HI] = mask[W.TUN_ID_LO] = 0xffffffff;
  if (!tunnelSet(flow)) return formatMatch({ key: flow, mask });
  // A flow with a tunnel destination shows every tunnel field (flow_format), the ERSPAN and GTP-U
  // ones this emulator has no tunnels for included, always zero.
  for (let w = W.TUN_SRC; w < W.TUN_GBP + 1; w++) mask[w] = 0xffffffff;
  const text = formatMatch({ key: flow, mask });
  return text.replace(/,tun_flags=/, ",tun_erspan_ver=0,gtpu_flags=0,gtpu_msgtype=0,tun_flags=");
}

function tunnelSet(flow: FlowKey): boolean {
  for (let w = W.TUN_DST; w < W.TUN_IPV6_DST + 4; w++)
    if (w === W.TUN_DST || w >= W.TUN_IPV6_DST) if (flow[w]) return true;
  return false;
}

/**
 * The "Megaflow:" line: match_format of the flow under the translation's mask. OVS prints a
 * match that consults recirc_id as a megaflow, with its packet type (`eth`) right after it.
 */
export function formatMegaflow(flow: FlowKey, wc: Uint32Array): string {
  const key = new Uint32Array(FLOW_WORDS);
  for (let i = 0; i < FLOW_WORDS; i++) key[i] = (u32(flow, i) & u32(wc, i)) >>> 0;
  const parts = formatMatch({ key, mask: wc }).split(",");
  if (wc[W.RECIRC_ID]) {
    const at = parts.findIndex((p) => p.startsWith("recirc_id="));
    parts.splice(at + 1, 0, "eth");
  }
  return parts.filter((p) => p !== "").join(",");
}

/** The whole ofproto/trace reply for `flow` (the flow translated, as given to translate()). */
export function formatTrace(flow: FlowKey, result: XlateResult): string {
  let s = `Flow: ${formatFlow(flow)}\n`;
  s += formatTraceTree(result.trace);
  let same = true;
  for (let i = 0; i < FLOW_WORDS; i++)
    if (flow[i] !== result.flow[i]) {
      same = false;
      break;
    }
  s += `\nFinal flow: ${same ? "unchanged" : formatFlow(result.flow)}\n`;
  s += `Megaflow: ${formatMegaflow(flow, result.wc)}\n`;
  s += `Datapath actions: ${formatOdpActions(result.actions)}`;
  if (result.error !== null) s += `\nTranslation failed (${result.error}), packet is dropped.`;
  return `${s}\n`;
}

const looksOdp = (text: string): boolean => /^\s*[a-z_0-9]+\(/.test(text);

/**
 * parse_ofp_exact_flow / odp_flow_from_string: the FLOW argument as a key with W.IN_PORT the
 * OpenFlow port. A datapath flow's in_port must belong to `bridge` (or to any bridge in `all`
 * when given, which then picks the bridge).
 */
export function parseTraceFlow(bridge: BridgeView, text: string, tunnels?: TunnelEnv): FlowKey {
  if (looksOdp(text)) {
    const k = parseOdpKey(text, 0, text.length).key;
    const odp = u32(k, W.IN_PORT);
    const xp = bridge.byOdp.get(odp) ?? tunnels?.receivePort(odp, k)?.xport;
    if (xp === undefined) throw new TraceError(`no OpenFlow port for datapath port ${odp}`);
    k[W.IN_PORT] = xp.ofport;
    return k;
  }
  // ovs-ofctl syntax; port names are the bridge's.
  const named = text.replace(/(^|,)in_port=([^,]+)/, (m, lead: string, p: string) => {
    const xp = bridge.byName.get(p);
    return xp ? `${lead}in_port=${xp.ofport}` : m;
  });
  let k: FlowKey;
  try {
    k = parseFlow(named, { command: "delete" }).match.key;
  } catch (e) {
    if (!(e instanceof FlowSyntaxError)) throw e;
    const unknown = /^unknown keyword (.*)$/.exec(e.reason);
    throw new TraceError(`Bad openflow flow syntax: ${text}: ${unknown ? `unknown field ${unknown[1]}` : e.reason}`);
  }
  // A tag given by dl_vlan/vlan_tci is an 802.1Q tag (match_set_dl_vlan sets its TPID).
  for (const w of [W.VLAN0, W.VLAN1]) {
    const v = u32(k, w);
    if (v & VLAN_CFI && !(v >>> 16)) k[w] = ((EtherType.VLAN << 16) | (v & 0xffff)) >>> 0;
  }
  return k;
}

/** What formatTraceCommand needs of the engine. */
export interface TraceHost {
  readonly bridges: ReadonlyMap<string, BridgeView>;
  readonly nowMs: number;
}

/**
 * `ofproto/trace {[dp_name] odp_flow | bridge br_flow} [-generate]`: the reply text, or a
 * TraceError with OVS's message. `-generate` lets the translation learn MACs, as the packet OVS
 * then generates and executes does.
 */
export function formatTraceCommand(host: TraceHost, argv: readonly string[], opts: Partial<XlateOptions> = {}): string {
  let generate = false;
  const args: string[] = [];
  for (const a of argv) {
    if (a === "-generate" || a === "--generate") generate = true;
    else if (a.startsWith("-")) throw new TraceError(`${a}: unknown option`);
    else args.push(a);
  }
  if (args.length === 0 || args.length > 2) throw new TraceError("Syntax error");
  const text = args[args.length - 1] as string;
  let bridge: BridgeView | undefined;
  if (looksOdp(text)) {
    // The datapath flow names its bridge through in_port; a leading dp name is optional.
    const k = parseOdpKey(text, 0, text.length).key;
    const odp = u32(k, W.IN_PORT);
    for (const b of host.bridges.values())
      if (b.byOdp.has(odp)) {
        bridge = b;
        break;
      }
    // A tunnel vport belongs to no bridge: the tunnel metadata picks the port (tnl_port_receive).
    if (bridge === undefined) bridge = opts.tunnels?.receivePort(odp, k)?.bridge;
    if (bridge === undefined) throw new TraceError(`no OpenFlow port for datapath port ${odp}`);
  } else if (args.length === 1) {
    throw new TraceError(`syntax error at ${text} (or the bridge name was omitted)`);
  } else {
    bridge = host.bridges.get(args[0] as string);
    if (bridge === undefined) throw new TraceError(`${args[0]}: unknown bridge`);
  }
  const key = parseTraceFlow(bridge, text, opts.tunnels);
  const res = translate(bridge, key, { nowMs: host.nowMs, sideEffects: generate, trace: true, ...opts });
  return formatTrace(key, res);
}

// Translation: what vswitchd does on an upcall (Open vSwitch ofproto/ofproto-dpif-xlate.c).
//
// A packet's flow key goes through a bridge's OpenFlow tables (oftable.ts) and comes out as
// datapath actions (odp.ts) plus a megaflow mask: every bit of the key that any table lookup or
// action consulted. The datapath installs (key & mask → actions), and every later packet that
// agrees on those bits gets the same actions without asking again, so the mask must hold every bit
// the answer depended on and, for cache hit rate, nothing else.
//
// The model follows OVS closely because the datapath flows, `ofproto/trace` output and megaflow
// counts are compared with real Open vSwitch 3.1:
// - The flow is modified in place as actions run; nothing reaches the datapath until an output
//   (or a controller action) "commits" it (commit.ts).
// - The mask starts with what OVS always matches (xlate_wc_init: in_port, dl_type, recirc_id, and
//   nw_frag for IP) and ends with xlate_wc_finish's clean-ups: registers and metadata are not
//   packet fields, ICMP type/code are 8 bits, later fragments have no ports, and a VLAN tag the
//   packet did not have cannot be matched on.
// - NORMAL is a MAC-learning switch with the Port table's VLAN semantics (normal.ts).
// - Output to a tunnel port translates the outer packet through the bridge its route leaves by
//   (tunnel-output.ts builds it; this file translates it).
// - Loops end as in OVS: at most 64 nested resubmits into the same or an earlier table
//   (MAX_DEPTH; resubmits to later tables always terminate) and 4096 resubmits in all
//   (MAX_RESUBMITS); either drops the packet with OVS's error text.
//
// This file is the translation's driver and its public face: translate(), the table lookups,
// the OpenFlow actions, resubmit and output. The state it works on is xlate-ctx.ts's Ctx.
//
// Control-plane code: a translation allocates its result (actions, mask, rule list, and the trace
// tree when asked for one). The per-packet path never calls it; only upcalls and revalidation do.

import { NwFrag, tunnelPresent, u32, VLAN_CFI, W, type FlowKey, type FlowMask } from "../flow/key.ts";
import { formatActions, formatSubfield, type Dialect, type OfAction, type Subfield } from "../flow/actions.ts";
import {
  field,
  formatFieldValue,
  locBits,
  OfPort,
  readLoc,
  writeLoc,
  type FieldLoc,
  type FieldSpec,
  type Prereq,
} from "../flow/fields.ts";
import { controllerUserspace } from "../flow/odp.ts";
import { formatMatch } from "../flow/ofctl.ts";
import { hexC } from "../flow/syntax.ts";
import type { OfRule } from "./oftable.ts";
import type { BridgeView } from "./types.ts";
import { commit } from "./commit.ts";
import { xlateNormal } from "./normal.ts";
import {
  nativeTunnelOutput,
  terminateNativeTunnel,
  tunnelProcessEcn,
  tunnelWcInit,
  type OuterPacket,
} from "./tunnel-output.ts";
import {
  Ctx,
  MAX_DEPTH,
  ONES,
  PTTF,
  XlateError,
  type TraceNode,
  type XlateOptions,
  type XlateResult,
} from "./xlate-ctx.ts";
import { EtherType } from "../wire/numbers.ts";

export {
  MAX_DEPTH,
  MAX_RESUBMITS,
  XlateError,
  type TraceKind,
  type TraceNode,
  type XlateOptions,
  type XlateResult,
} from "./xlate-ctx.ts";
export { portIncludesVlan, portTrunksVlan, portVlan, portVlanMode } from "./normal.ts";

/** OpenFlow packet-in reasons as the controller() datapath action numbers them (OFPR_*). */
const PACKET_IN_REASON: Readonly<Record<string, number>> = {
  no_match: 0,
  action: 1,
  invalid_ttl: 2,
  action_set: 3,
  group: 4,
  packet_out: 5,
};

const nextRecirc = new WeakMap<BridgeView, number>();
function defaultRecircId(bridge: BridgeView): number {
  const n = nextRecirc.get(bridge) ?? 1;
  nextRecirc.set(bridge, n + 1);
  return n;
}

/** A guess at the OpenFlow version a rule was added with, which decides how a trace prints it. */
export function guessDialect(rule: OfRule): Dialect {
  for (const a of rule.flow.actions) {
    if (a.type === "goto_table" || a.type === "write_actions" || a.type === "clear_actions" || a.type === "push_vlan")
      return "of13";
  }
  return "of10";
}

// --- the translation ----------------------------------------------------------------------------

// Translations in progress: native tunnel output translates the outer packet through another
// bridge while the first translation waits, and that one needs copies of its own (Ctx).
let active = 0;

/** Translate `key` (W.IN_PORT an OpenFlow port) through `bridge`'s tables. */
export function translate(bridge: BridgeView, key: FlowKey, opts: XlateOptions): XlateResult {
  const c = new Ctx(bridge, key, opts, active === 0);
  const wc = c.wc;
  // xlate_wc_init: what every megaflow matches.
  wc[W.IN_PORT] = ONES;
  wc[W.DL_TYPE] = 0xffff;
  wc[W.RECIRC_ID] = ONES;
  if (c.isIp()) wc[PTTF] = u32(wc, PTTF) | (NwFrag.ANY | NwFrag.LATER);

  if (opts.tunnels && tunnelPresent(key)) tunnelWcInit(c);
  if (c.cur !== null) {
    const b = c.report("bridge", `bridge("${bridge.name}")`) as TraceNode;
    c.cur = b.subs;
  }
  active++;
  try {
    lookupAndRun(c, 0, false);
    if (!c.exit && c.error === null && c.actionSet.length) runActionSet(c);
  } finally {
    active--;
  }
  finishWc(c);
  if (c.error !== null) c.actions.length = 0;
  return {
    actions: c.actions,
    wc,
    rules: c.rules,
    slowPath: c.slow,
    error: c.error,
    flow: c.flow,
    trace: c.top,
  };
}

/** xlate_wc_finish. */
function finishWc(c: Ctx): void {
  const wc = c.wc;
  for (let i = 0; i < 8; i++) wc[W.REG0 + i] = 0;
  wc[W.METADATA_HI] = wc[W.METADATA_LO] = 0;
  const dlType = u32(c.orig, W.DL_TYPE) & 0xffff;
  const proto = u32(c.orig, PTTF) >>> 24;
  if ((dlType === EtherType.IPV4 && proto === 1) || (dlType === EtherType.IPV6 && proto === 58)) {
    wc[W.TP] = u32(wc, W.TP) & 0x00ff00ff;
  }
  for (const w of [W.VLAN0, W.VLAN1]) {
    if (u32(wc, w) & 0xffff) wc[w] = u32(wc, w) | VLAN_CFI;
    const tpid = u32(c.orig, w) >>> 16;
    if (tpid !== EtherType.VLAN && tpid !== EtherType.QINQ) wc[w] = 0;
  }
  if (u32(c.orig, PTTF) & NwFrag.LATER) wc[W.TP] = 0;
  // A packet that came from no tunnel has no tunnel fields to match, whatever actions did with them.
  if (!tunnelPresent(c.orig)) wc.fill(0, W.TUN_ID_HI, W.METADATA_HI);
}

function resourceCheck(c: Ctx): boolean {
  if (c.depth >= MAX_DEPTH) {
    c.report("error", `over max translation depth ${MAX_DEPTH}`);
    c.error = XlateError.RECURSION_TOO_DEEP;
  } else if (c.resubmits >= c.maxResubmits) {
    c.report("error", `over ${c.maxResubmits} resubmit actions`);
    c.error = XlateError.TOO_MANY_RESUBMITS;
  } else {
    return true;
  }
  c.exit = true;
  return false;
}

/** Look `table` up (with in_port temporarily `inPort` when given) and run the rule found. */
function lookupAndRun(c: Ctx, table: number, nested: boolean, inPort: number | null = null): void {
  const f = c.flow;
  const savedIn = u32(f, W.IN_PORT);
  if (inPort !== null) f[W.IN_PORT] = inPort;
  const rule = c.br.tables.lookup(table, f, c.wc);
  f[W.IN_PORT] = savedIn;
  const savedCur = c.cur;
  if (savedCur !== null) {
    let text = `${String(table).padStart(2)}. `;
    if (rule === null) text += "No match.";
    else {
      const m = rule.flow.match;
      const mt = formatMatch(m);
      text += mt ? `${mt}, priority ${rule.flow.priority}` : `priority ${rule.flow.priority}`;
      if (rule.flow.cookie) text += `, cookie 0x${rule.flow.cookie.toString(16)}`;
    }
    c.cur = (c.report("table", text) as TraceNode).subs;
  }
  const savedTable = c.tableId;
  const savedRule = c.rule;
  c.tableId = table;
  if (rule === null) {
    // The table-miss behaviour with no controller: OVS runs its hidden "no packet-in" rule.
    c.report("action", "drop");
  } else if (!nested && c.opts.tunnels && !tunnelProcessEcn(c)) {
    // tnl_process_ecn (RFC 6040 §4.2): CE outside, not-ECT inside: the packet is dropped
    // without running the rule's actions, as OVS 3.1's trace shows (no action lines).
    c.rules.push(rule);
  } else {
    c.rules.push(rule);
    const deepens = nested && table <= savedTable ? 1 : 0;
    if (nested) c.resubmits++;
    c.depth += deepens;
    c.rule = rule;
    doActions(c, rule.flow.actions);
    c.depth -= deepens;
  }
  c.rule = savedRule;
  c.tableId = savedTable;
  c.cur = savedCur;
}

function actionText(c: Ctx, a: OfAction): string {
  const r = c.rule;
  const dialect = r === null ? "of10" : (c.opts.dialectOf ?? guessDialect)(r);
  return formatActions([a], r === null ? { dialect } : { dialect, match: r.flow.match });
}

function doActions(c: Ctx, actions: readonly OfAction[]): void {
  if (actions.length === 0) {
    c.report("action", "drop");
    return;
  }
  for (let i = 0; i < actions.length; i++) {
    if (c.exit) break;
    const a = actions[i] as OfAction;
    if (c.cur !== null && !(a.type === "write_actions" || a.type === "clear_actions"))
      c.report("action", actionText(c, a));
    c.lastAction =
      i === actions.length - 1 && c.depth === 0 && c.resubmits === 0 && c.actionSet.length === 0 && a.type === "output";
    const skip = doAction(c, a);
    c.lastAction = false;
    if (skip) return; // dec_ttl at TTL ≤ 1: the rest of this rule's actions are skipped
  }
}

/** One action; true when the rest of the current action list must be skipped. */
function doAction(c: Ctx, a: OfAction): boolean {
  const f = c.flow;
  const wc = c.wc;
  switch (a.type) {
    case "output":
      xlateOutput(c, a.port);
      return false;
    case "enqueue":
      xlateOutput(c, a.port);
      return false;
    case "output_reg": {
      const v = readSub(c, a.src, true);
      xlateOutput(c, Number(v & 0xffffn));
      return false;
    }
    case "controller":
      controller(c, a.reason ?? "action", a.maxLen, 0);
      return false;
    case "resubmit": {
      const table = a.table ?? c.tableId;
      if (!resourceCheck(c)) return true;
      lookupAndRun(c, table, true, a.port);
      return false;
    }
    case "goto_table":
      if (!resourceCheck(c)) return true;
      lookupAndRun(c, a.table, true);
      return false;
    case "mod_vlan_vid": {
      wc[W.VLAN0] = u32(wc, W.VLAN0) | 0x0fff | VLAN_CFI;
      const v = u32(f, W.VLAN0);
      const tpid = v >>> 16 || EtherType.VLAN;
      f[W.VLAN0] = ((tpid << 16) | (v & 0xe000) | VLAN_CFI | a.vid) >>> 0;
      return false;
    }
    case "mod_vlan_pcp": {
      wc[W.VLAN0] = u32(wc, W.VLAN0) | 0xe000 | VLAN_CFI;
      const v = u32(f, W.VLAN0);
      const tpid = v >>> 16 || EtherType.VLAN;
      f[W.VLAN0] = ((tpid << 16) | (v & 0x0fff) | VLAN_CFI | (a.pcp << 13)) >>> 0;
      return false;
    }
    case "push_vlan": {
      // flow_push_vlan_uninit: the existing tags are now consulted (they move inwards).
      if (u32(f, W.VLAN0) & VLAN_CFI) wc[W.VLAN0] = ONES;
      if (u32(f, W.VLAN1) & VLAN_CFI) wc[W.VLAN1] = ONES;
      f[W.VLAN1] = u32(f, W.VLAN0);
      f[W.VLAN0] = ((a.ethertype << 16) | VLAN_CFI) >>> 0;
      return false;
    }
    case "pop_vlan":
      // flow_pop_vlan: with two tags the inner one moves out and has been looked at.
      if (u32(f, W.VLAN0) & VLAN_CFI && u32(f, W.VLAN1) & VLAN_CFI) wc[W.VLAN1] = ONES;
      f[W.VLAN0] = u32(f, W.VLAN1);
      f[W.VLAN1] = 0;
      return false;
    case "dec_ttl": {
      if (!c.isIp()) return false;
      wc[PTTF] = u32(wc, PTTF) | 0xff00ff00; // nw_ttl, and nw_proto as OVS does
      const ttl = (u32(f, PTTF) >>> 8) & 0xff;
      if (ttl > 1) {
        f[PTTF] = (u32(f, PTTF) & ~0xff00) | ((ttl - 1) << 8);
        return false;
      }
      const ids = a.ids ?? [0];
      for (const id of ids) controller(c, "invalid_ttl", 0xffff, id);
      c.report("warn", `${c.dlType() === EtherType.IPV6 ? "IPv6" : "IPv4"} decrement TTL exception`);
      return true;
    }
    case "mod_nw_ttl":
      if (!c.isIp()) return false;
      wc[PTTF] = u32(wc, PTTF) | 0xff00ff00;
      f[PTTF] = (u32(f, PTTF) & ~0xff00) | (a.ttl << 8);
      return false;
    case "set_field": {
      const fs = field(a.field);
      if (!prereqOk(c, fs.prereq)) {
        c.report("warn", `unmet prerequisites for ${fs.name}, set_field ignored`);
        return false;
      }
      const width = locBits(fs.loc);
      const all = (1n << BigInt(width)) - 1n;
      let value = a.value;
      let m = a.mask ?? all;
      if (fs.name === "vlan_vid") {
        value |= BigInt(VLAN_CFI);
        m |= BigInt(VLAN_CFI);
      } else if (fs.name === "vlan_pcp") {
        // flow_set_vlan_pcp also marks the tag present.
        f[W.VLAN0] = u32(f, W.VLAN0) | VLAN_CFI;
        wc[W.VLAN0] = u32(wc, W.VLAN0) | VLAN_CFI;
      }
      maskLoc(wc, fs.loc, m);
      writeLoc(f, fs.loc, value, m);
      return false;
    }
    case "load": {
      const fs = field(a.dst.field);
      if (!prereqOk(c, fs.prereq)) return false;
      writeSub(c, a.dst, a.value);
      return false;
    }
    case "move": {
      const src = field(a.src.field);
      const dst = field(a.dst.field);
      if (!prereqOk(c, src.prereq) || !prereqOk(c, dst.prereq)) return false;
      writeSub(c, a.dst, readSub(c, a.src, true));
      reportSubfield(c, a.dst);
      return false;
    }
    case "push":
      c.stack.push(readSub(c, a.src, true));
      return false;
    case "pop": {
      const v = c.stack.pop();
      if (v === undefined) {
        c.report("warn", "stack underflow");
        return false;
      }
      writeSub(c, a.dst, v);
      reportSubfield(c, a.dst);
      return false;
    }
    case "set_tunnel":
      // Recorded in the flow only: tunnel ports (which turn it into tnl_push) come later.
      f[W.TUN_ID_HI] = Number(a.id >> 32n);
      f[W.TUN_ID_LO] = Number(a.id & 0xffffffffn);
      return false;
    case "write_actions":
      for (const w of a.actions) {
        const k = c.actionSet.findIndex((x) => x.type === w.type);
        if (k >= 0 && w.type !== "set_field") c.actionSet[k] = w;
        else c.actionSet.push(w);
      }
      return false;
    case "clear_actions":
      c.actionSet.length = 0;
      return false;
    case "note":
      return false;
  }
}

/** The OpenFlow 1.1+ action set, run when the pipeline ends (OVS: xlate_action_set), output last. */
function runActionSet(c: Ctx): void {
  const set = c.actionSet;
  c.actionSet = [];
  const rest = set.filter((a) => a.type !== "output" && a.type !== "controller" && a.type !== "enqueue");
  const outs = set.filter((a) => a.type === "output" || a.type === "controller" || a.type === "enqueue");
  for (const a of [...rest, ...outs]) {
    if (c.exit) break;
    c.report("action", actionText(c, a));
    if (doAction(c, a)) break;
  }
}

/** mf_are_prereqs_ok on the flow being translated, un-wildcarding what it looks at. */
function prereqOk(c: Ctx, p: Prereq): boolean {
  const wc = c.wc;
  if (p === "none") return true;
  if (p === "vlan") {
    wc[W.VLAN0] = u32(wc, W.VLAN0) | VLAN_CFI;
    return (u32(c.flow, W.VLAN0) & VLAN_CFI) !== 0;
  }
  const t = c.dlType();
  const ip4 = t === EtherType.IPV4;
  const ip6 = t === EtherType.IPV6;
  switch (p) {
    case "arp":
      return t === EtherType.ARP || t === EtherType.RARP;
    case "ip_or_arp":
      if (!ip4) return t === EtherType.ARP || t === EtherType.RARP;
      break;
    case "ipv4":
      if (!ip4) return false;
      break;
    case "ipv6":
      if (!ip6) return false;
      break;
    default:
      if (!ip4 && !ip6) return false;
  }
  // OVS 3.1 un-wildcards nw_proto for every L3/L4 rewrite (checked: ofproto/trace of mod_nw_dst
  // and mod_nw_ttl on a TCP flow shows `tcp` in the megaflow even when nothing is output).
  wc[PTTF] = u32(wc, PTTF) | 0xff000000;
  const proto = c.proto();
  const tpSrc = u32(c.flow, W.TP) >>> 16;
  switch (p) {
    case "tcp":
      return proto === 6;
    case "udp":
      return proto === 17;
    case "sctp":
      return proto === 132;
    case "icmpv4":
      return ip4 && proto === 1;
    case "icmpv6":
      return ip6 && proto === 58;
    case "nd":
      return ip6 && proto === 58 && (tpSrc === 135 || tpSrc === 136);
    case "nd_solicit":
      return ip6 && proto === 58 && tpSrc === 135;
    case "nd_advert":
      return ip6 && proto === 58 && tpSrc === 136;
    default:
      return true;
  }
}

function maskLoc(wc: FlowMask, loc: FieldLoc, m: bigint): void {
  writeLoc(wc, loc, readLoc(wc, loc) | m);
}

function subMask(sf: Subfield): bigint {
  return ((1n << BigInt(sf.nBits)) - 1n) << BigInt(sf.ofs);
}

function readSub(c: Ctx, sf: Subfield, consult: boolean): bigint {
  const fs = field(sf.field);
  if (consult) maskLoc(c.wc, fs.loc, subMask(sf));
  return (readLoc(c.flow, fs.loc) >> BigInt(sf.ofs)) & ((1n << BigInt(sf.nBits)) - 1n);
}

function writeSub(c: Ctx, sf: Subfield, v: bigint): void {
  const fs = field(sf.field);
  const m = subMask(sf);
  maskLoc(c.wc, fs.loc, m);
  writeLoc(c.flow, fs.loc, v << BigInt(sf.ofs), m);
}

/** xlate_report_subfield: " -> NXM_…[] is now <value>". */
function reportSubfield(c: Ctx, sf: Subfield): void {
  if (c.cur === null) return;
  const fs: FieldSpec = field(sf.field);
  const v =
    sf.ofs === 0 && sf.nBits >= fs.bits
      ? formatFieldValue(fs, readLoc(c.flow, fs.loc))
      : hexC((readLoc(c.flow, fs.loc) >> BigInt(sf.ofs)) & ((1n << BigInt(sf.nBits)) - 1n));
  c.report("detail", `${formatSubfield(sf)} is now ${v}`);
}

// --- output -------------------------------------------------------------------------------------

/** xlate_output_action. */
function xlateOutput(c: Ctx, port: number): void {
  const inPort = u32(c.flow, W.IN_PORT);
  // Only an explicit output to one port can be the packet's last use (NORMAL, FLOOD: several).
  if (port >= OfPort.IN_PORT) c.lastAction = false;
  switch (port) {
    case OfPort.IN_PORT:
      outputPort(c, inPort);
      return;
    case OfPort.TABLE:
      return; // only meaningful in a packet-out
    case OfPort.NORMAL:
      xlateNormal(c, outputPort);
      return;
    case OfPort.FLOOD:
      flood(c, false);
      return;
    case OfPort.ALL:
      flood(c, true);
      return;
    case OfPort.CONTROLLER:
      controller(c, "action", 0xffff, 0);
      return;
    case OfPort.NONE:
      return;
    default:
      if (port !== inPort) outputPort(c, port);
      else c.report("warn", "skipping output to input port");
  }
}

/** compose_output_action__: commit the flow's changes, then output to the port's datapath number
 *  (a tunnel port: native tunnel output; the bridge's own addressed port: maybe tnl_pop). */
function outputPort(c: Ctx, ofport: number): void {
  const xp = c.br.ports.get(ofport);
  if (xp === undefined) {
    c.report("warn", "Nonexistent output port");
    return;
  }
  const env = c.opts.tunnels;
  if (env !== undefined) {
    const tp = env.tunnelOf(c.br, ofport);
    if (tp !== null) {
      commit(c);
      const outer = nativeTunnelOutput(c, tp, env);
      if (outer !== null) outputOuterPacket(c, outer);
      return;
    }
    if (env.addrsOf(xp.name).length > 0) {
      commit(c);
      const vport = terminateNativeTunnel(c, xp, env);
      if (vport >= 0) {
        c.actions.push({ type: "tnl_pop", port: vport });
        return;
      }
    }
  }
  commit(c);
  c.actions.push({ type: "output", port: xp.odpPort });
}

/** The end of native_tunnel_output: the outer packet through the bridge its route leaves by, with
 *  its own wildcards (thrown away) and no side effects; its actions follow tnl_push, in a clone
 *  unless this output is the packet's last use. */
function outputOuterPacket(c: Ctx, outer: OuterPacket): void {
  const res = translate(outer.bridge, outer.key, { ...c.opts, sideEffects: false, trace: c.cur !== null });
  // OVS puts the other bridge's trace where the output is, as the last node there.
  if (c.cur !== null) for (const node of res.trace) c.cur.push(node);
  const nested = res.error === null ? res.actions : [];
  if (c.lastAction) c.actions.push(outer.push, ...nested);
  else c.actions.push({ type: "clone", actions: [outer.push, ...nested] });
}

/** flood_packets: every port but the input one, in the bridge's port order. */
function flood(c: Ctx, all: boolean): void {
  const inPort = u32(c.flow, W.IN_PORT);
  void all; // ports with OFPPC_NO_FLOOD are not modelled, so FLOOD and ALL agree
  for (const p of c.br.ports.values()) if (p.ofport !== inPort) outputPort(c, p.ofport);
}

/** A controller action: with no controller connected OVS still emits its userspace action. */
function controller(c: Ctx, reason: string, maxLen: number, controllerId: number): void {
  commit(c);
  const id = c.opts.recircId ? c.opts.recircId() : defaultRecircId(c.br);
  const cookie = c.rule?.flow.cookie ?? 0n;
  c.actions.push(
    controllerUserspace({
      reason: PACKET_IN_REASON[reason] ?? 1,
      recircId: id,
      ruleCookie: cookie,
      controllerId,
      maxLen,
    }),
  );
  c.slow = "controller";
}

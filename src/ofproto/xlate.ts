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
//   (or a controller action) "commits" it: the difference between the flow now and the flow at the
//   last commit becomes set(...) actions, in OVS's order (eth, L3, L4, then VLAN pops and pushes).
//   The userspace datapath takes masked sets, and a masked set carries only the fields that
//   changed, under the megaflow mask's bits for them (odp-util.c commit(), keycmp_mask()).
// - The mask starts with what OVS always matches (xlate_wc_init: in_port, dl_type, recirc_id, and
//   nw_frag for IP) and ends with xlate_wc_finish's clean-ups: registers and metadata are not
//   packet fields, ICMP type/code are 8 bits, later fragments have no ports, and a VLAN tag the
//   packet did not have cannot be matched on.
// - NORMAL is a MAC-learning switch with the Port table's VLAN semantics (access, trunk,
//   native-tagged, native-untagged); learning happens only when the caller allows side effects (an
//   upcall, `ofproto/trace -generate`), never on a plain trace or a revalidation.
// - Loops end as in OVS: at most 64 nested resubmits into the same or an earlier table
//   (MAX_DEPTH; resubmits to later tables always terminate) and 4096 resubmits in all
//   (MAX_RESUBMITS); either drops the packet with OVS's error text.
//
// Control-plane code: a translation allocates its result (actions, mask, rule list, and the trace
// tree when asked for one). The per-packet path never calls it; only upcalls and revalidation do.

import { FLOW_WORDS, NwFrag, VLAN_CFI, W, type FlowKey, type FlowMask } from "../flow/key.ts";
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
import { controllerUserspace, type GeneveOption, type OdpAction } from "../flow/odp.ts";
import { formatMatch } from "../flow/ofctl.ts";
import type { OfRule } from "./oftable.ts";
import type { BridgeView, VlanMode, XPort } from "./types.ts";
import {
  buildTnlHeader,
  formatIpMapped,
  isMappedIpv4,
  parseIpMapped,
  tunnelCsum,
  type TunnelEnv,
  type TunnelPort,
} from "./tunnel.ts";

/** OVS's MAX_DEPTH: nested resubmits to the same or an earlier table. */
export const MAX_DEPTH = 64;
/** OVS's MAX_RESUBMITS: resubmits in one translation, nested or not. */
export const MAX_RESUBMITS = MAX_DEPTH * MAX_DEPTH;

/** xlate_strerror texts of the failures this model can reach. */
export const XlateError = {
  RECURSION_TOO_DEEP: "Recursion too deep",
  TOO_MANY_RESUBMITS: "Too many resubmits",
} as const;

/** The kinds of ofproto/trace node (ofproto-dpif-trace.h enum oftrace_node_type). */
export type TraceKind = "bridge" | "table" | "action" | "detail" | "warn" | "error";

export interface TraceNode {
  kind: TraceKind;
  text: string;
  subs: TraceNode[];
}

export interface XlateOptions {
  nowMs: number;
  /** Learn MACs (an upcall or `-generate`); false for a plain trace or revalidation. */
  sideEffects: boolean;
  trace: boolean;
  maxResubmit?: number; // default MAX_RESUBMITS
  /** Allocates the recirculation id OVS puts in a controller action; default: a counter per bridge. */
  recircId?: () => number;
  /** How a rule's actions are printed in the trace; default: guessed from the actions. */
  dialectOf?: (rule: OfRule) => Dialect;
  /** Routes, neighbours and tunnel ports for native tunnelling; without it tunnels are plain ports. */
  tunnels?: TunnelEnv;
}

export interface XlateResult {
  actions: OdpAction[]; // output ports are datapath port numbers
  wc: FlowMask; // the megaflow mask
  rules: OfRule[]; // every rule matched, in order, for statistics
  slowPath: string | null; // "controller" when the datapath actions send the packet to userspace
  error: string | null; // XlateError text; the actions are then empty (the packet is dropped)
  flow: FlowKey; // the flow after every action ("Final flow")
  trace: TraceNode[]; // empty unless opts.trace
}

const ONES = 0xffffffff;
const PTTF = W.NW_PROTO_TOS_TTL_FRAG;
const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_ARP = 0x0806;
const ETH_RARP = 0x8035;
const TPID_8021Q = 0x8100;
const TPID_8021AD = 0x88a8;

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

const hexC = (v: bigint | number): string => (BigInt(v) === 0n ? "0" : `0x${v.toString(16)}`);

// --- VLAN configuration of a port, as bridge.c port_configure and ofproto-dpif bundle_set ------

/** The port's effective VLAN mode: vlan_mode if set, else access with a tag and trunk without. */
export function portVlanMode(p: XPort): VlanMode {
  return p.vlanMode ?? (p.tag !== null ? "access" : "trunk");
}

/** The port's VLAN (xbundle->vlan): -1 for a trunk, else its tag (0 when none is set). */
export function portVlan(p: XPort): number {
  const mode = portVlanMode(p);
  if (mode === "trunk") return -1;
  return p.tag !== null && p.tag >= 0 && p.tag <= 4095 ? p.tag : 0;
}

/**
 * xbundle_trunks_vlan: whether the port carries `vid` tagged. Native modes always trunk their
 * own VLAN and never VLAN 0 unless trunks already say so (bundle_set's forced trunk set).
 */
export function portTrunksVlan(p: XPort, vid: number): boolean {
  const mode = portVlanMode(p);
  if (mode === "access") return false;
  const t = p.trunks;
  if (mode === "native-tagged" || mode === "native-untagged") {
    const vlan = portVlan(p);
    if (vlan !== 0 && (t.length === 0 || !t.includes(vlan) || t.includes(0))) {
      if (vid === vlan) return true;
      if (vid === 0) return false;
    }
  }
  return t.length === 0 || t.includes(vid);
}

/** xbundle_includes_vlan for an outer VLAN `vid` (and inner `vid1`, 0 when single-tagged). */
export function portIncludesVlan(p: XPort, vid: number, vid1 = 0): boolean {
  const mode = portVlanMode(p);
  if (mode === "access" || mode === "dot1q-tunnel") return vid === portVlan(p) && vid1 === 0;
  return portTrunksVlan(p, vid);
}

// --- the translation ----------------------------------------------------------------------------

const BASE_SCRATCH = new Uint32Array(FLOW_WORDS);
const ORIG_SCRATCH = new Uint32Array(FLOW_WORDS);
// Translations in progress: native tunnel output translates the outer packet through another
// bridge while the first translation waits, and that one needs copies of its own.
let active = 0;

class Ctx {
  readonly flow: FlowKey;
  readonly base: FlowKey; // the flow at the last commit
  readonly orig: FlowKey;
  readonly wc: FlowMask = new Uint32Array(FLOW_WORDS);
  readonly actions: OdpAction[] = [];
  readonly rules: OfRule[] = [];
  readonly top: TraceNode[] = [];
  cur: TraceNode[] | null; // where trace nodes go now; null when not tracing
  depth = 0;
  resubmits = 0;
  tableId = 0;
  exit = false;
  error: string | null = null;
  slow: string | null = null;
  rule: OfRule | null = null;
  actionSet: OfAction[] = [];
  stack: bigint[] = [];
  readonly maxResubmits: number;
  /** Whether the action being run is the rule's last, at the top level (is_last_action). */
  lastAction = false;

  constructor(
    readonly br: BridgeView,
    key: FlowKey,
    readonly opts: XlateOptions,
  ) {
    this.flow = Uint32Array.from(key);
    // The outermost translation keeps the two copies nobody keeps in module scratch.
    this.base = active === 0 ? BASE_SCRATCH : new Uint32Array(FLOW_WORDS);
    this.orig = active === 0 ? ORIG_SCRATCH : new Uint32Array(FLOW_WORDS);
    this.base.set(key);
    this.orig.set(key);
    this.cur = opts.trace ? this.top : null;
    this.maxResubmits = opts.maxResubmit ?? MAX_RESUBMITS;
  }

  report(kind: TraceKind, text: string): TraceNode | null {
    if (this.cur === null) return null;
    const n: TraceNode = { kind, text, subs: [] };
    this.cur.push(n);
    return n;
  }

  dlType(): number {
    return (this.flow[W.DL_TYPE] as number) & 0xffff;
  }
  isIp(): boolean {
    const t = this.dlType();
    return t === ETH_IPV4 || t === ETH_IPV6;
  }
  proto(): number {
    return (this.flow[PTTF] as number) >>> 24;
  }
}

/** Translate `key` (W.IN_PORT an OpenFlow port) through `bridge`'s tables. */
export function translate(bridge: BridgeView, key: FlowKey, opts: XlateOptions): XlateResult {
  const c = new Ctx(bridge, key, opts);
  const wc = c.wc;
  // xlate_wc_init: what every megaflow matches.
  wc[W.IN_PORT] = ONES;
  wc[W.DL_TYPE] = 0xffff;
  wc[W.RECIRC_ID] = ONES;
  if (c.isIp()) wc[PTTF] = (wc[PTTF] as number) | (NwFrag.ANY | NwFrag.LATER);

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
  const dlType = (c.orig[W.DL_TYPE] as number) & 0xffff;
  const proto = (c.orig[PTTF] as number) >>> 24;
  if ((dlType === ETH_IPV4 && proto === 1) || (dlType === ETH_IPV6 && proto === 58)) {
    wc[W.TP] = (wc[W.TP] as number) & 0x00ff00ff;
  }
  for (const w of [W.VLAN0, W.VLAN1]) {
    if ((wc[w] as number) & 0xffff) wc[w] = (wc[w] as number) | VLAN_CFI;
    const tpid = (c.orig[w] as number) >>> 16;
    if (tpid !== TPID_8021Q && tpid !== TPID_8021AD) wc[w] = 0;
  }
  if ((c.orig[PTTF] as number) & NwFrag.LATER) wc[W.TP] = 0;
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
  const savedIn = f[W.IN_PORT] as number;
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
      wc[W.VLAN0] = (wc[W.VLAN0] as number) | 0x0fff | VLAN_CFI;
      const v = f[W.VLAN0] as number;
      const tpid = v >>> 16 || TPID_8021Q;
      f[W.VLAN0] = ((tpid << 16) | (v & 0xe000) | VLAN_CFI | a.vid) >>> 0;
      return false;
    }
    case "mod_vlan_pcp": {
      wc[W.VLAN0] = (wc[W.VLAN0] as number) | 0xe000 | VLAN_CFI;
      const v = f[W.VLAN0] as number;
      const tpid = v >>> 16 || TPID_8021Q;
      f[W.VLAN0] = ((tpid << 16) | (v & 0x0fff) | VLAN_CFI | (a.pcp << 13)) >>> 0;
      return false;
    }
    case "push_vlan": {
      // flow_push_vlan_uninit: the existing tags are now consulted (they move inwards).
      if ((f[W.VLAN0] as number) & VLAN_CFI) wc[W.VLAN0] = ONES;
      if ((f[W.VLAN1] as number) & VLAN_CFI) wc[W.VLAN1] = ONES;
      f[W.VLAN1] = f[W.VLAN0] as number;
      f[W.VLAN0] = ((a.ethertype << 16) | VLAN_CFI) >>> 0;
      return false;
    }
    case "pop_vlan":
      // flow_pop_vlan: with two tags the inner one moves out and has been looked at.
      if ((f[W.VLAN0] as number) & VLAN_CFI && (f[W.VLAN1] as number) & VLAN_CFI) wc[W.VLAN1] = ONES;
      f[W.VLAN0] = f[W.VLAN1] as number;
      f[W.VLAN1] = 0;
      return false;
    case "dec_ttl": {
      if (!c.isIp()) return false;
      wc[PTTF] = (wc[PTTF] as number) | 0xff00ff00; // nw_ttl, and nw_proto as OVS does
      const ttl = ((f[PTTF] as number) >>> 8) & 0xff;
      if (ttl > 1) {
        f[PTTF] = ((f[PTTF] as number) & ~0xff00) | ((ttl - 1) << 8);
        return false;
      }
      const ids = a.ids ?? [0];
      for (const id of ids) controller(c, "invalid_ttl", 0xffff, id);
      c.report("warn", `${c.dlType() === ETH_IPV6 ? "IPv6" : "IPv4"} decrement TTL exception`);
      return true;
    }
    case "mod_nw_ttl":
      if (!c.isIp()) return false;
      wc[PTTF] = (wc[PTTF] as number) | 0xff00ff00;
      f[PTTF] = ((f[PTTF] as number) & ~0xff00) | (a.ttl << 8);
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
        f[W.VLAN0] = (f[W.VLAN0] as number) | VLAN_CFI;
        wc[W.VLAN0] = (wc[W.VLAN0] as number) | VLAN_CFI;
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
    wc[W.VLAN0] = (wc[W.VLAN0] as number) | VLAN_CFI;
    return ((c.flow[W.VLAN0] as number) & VLAN_CFI) !== 0;
  }
  const t = c.dlType();
  const ip4 = t === ETH_IPV4;
  const ip6 = t === ETH_IPV6;
  switch (p) {
    case "arp":
      return t === ETH_ARP || t === ETH_RARP;
    case "ip_or_arp":
      if (!ip4) return t === ETH_ARP || t === ETH_RARP;
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
  wc[PTTF] = (wc[PTTF] as number) | 0xff000000;
  const proto = c.proto();
  const tpSrc = (c.flow[W.TP] as number) >>> 16;
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
  const inPort = c.flow[W.IN_PORT] as number;
  // Only an explicit output to one port can be the packet's last use (NORMAL, FLOOD: several).
  if (port >= OfPort.IN_PORT) c.lastAction = false;
  switch (port) {
    case OfPort.IN_PORT:
      outputPort(c, inPort);
      return;
    case OfPort.TABLE:
      return; // only meaningful in a packet-out
    case OfPort.NORMAL:
      xlateNormal(c);
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
      nativeTunnelOutput(c, tp, env);
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

// --- native tunnelling (ofproto-dpif-xlate.c native_tunnel_output, terminate_native_tunnel;
// ofproto/tunnel.c tnl_port_send, tnl_wc_init, tnl_process_ecn) ---------------------------------

const ECN_MASK = 0x03;
const ECN_CE = 0x03;
const ECN_ECT0 = 0x02;
const TOS_SHIFT = 16; // nw_tos in PTTF
const TUN_TOS_SHIFT = 24; // tun_tos in W.TUN_TOS_TTL_FLAGS

function tunnelPresent(k: FlowKey): boolean {
  return (
    (k[W.TUN_DST] as number) !== 0 ||
    (k[W.TUN_IPV6_DST] as number) !== 0 ||
    (k[W.TUN_IPV6_DST + 1] as number) !== 0 ||
    (k[W.TUN_IPV6_DST + 2] as number) !== 0 ||
    (k[W.TUN_IPV6_DST + 3] as number) !== 0
  );
}

/** tnl_wc_init: a packet from a tunnel matches its tunnel's id, endpoints and flags (df, csum,
 *  key), and, when the outer ECN is CE, the outer TOS and the inner ECN. */
function tunnelWcInit(c: Ctx): void {
  const wc = c.wc;
  const f = c.flow;
  wc[W.TUN_ID_HI] = ONES;
  wc[W.TUN_ID_LO] = ONES;
  if ((f[W.TUN_DST] as number) !== 0) {
    wc[W.TUN_SRC] = ONES;
    wc[W.TUN_DST] = ONES;
  } else
    for (let i = 0; i < 4; i++) {
      wc[W.TUN_IPV6_SRC + i] = ONES;
      wc[W.TUN_IPV6_DST + i] = ONES;
    }
  let m = (wc[W.TUN_TOS_TTL_FLAGS] as number) | 0x2 | 0x4 | 0x8; // FLOW_TNL_F_DONT_FRAGMENT | CSUM | KEY
  if ((((f[W.TUN_TOS_TTL_FLAGS] as number) >>> TUN_TOS_SHIFT) & ECN_MASK) === ECN_CE) {
    m |= 0xff << TUN_TOS_SHIFT;
    if (c.isIp()) wc[PTTF] = (wc[PTTF] as number) | (ECN_MASK << TOS_SHIFT);
  }
  wc[W.TUN_TOS_TTL_FLAGS] = m >>> 0;
}

/** tnl_process_ecn: false to drop (CE outside, not-ECT inside); CE on an ECT inner packet is
 *  copied in (RFC 6040 §4.2, the normal mode's decapsulation table). */
function tunnelProcessEcn(c: Ctx): boolean {
  const f = c.flow;
  if (!tunnelPresent(f) || !c.isIp()) return true;
  if ((((f[W.TUN_TOS_TTL_FLAGS] as number) >>> TUN_TOS_SHIFT) & ECN_MASK) !== ECN_CE) return true;
  const tos = ((f[PTTF] as number) >>> TOS_SHIFT) & 0xff;
  if ((tos & ECN_MASK) === 0) return false;
  f[PTTF] = ((f[PTTF] as number) | (ECN_CE << TOS_SHIFT)) >>> 0;
  return true;
}

function tunDst(f: FlowKey): bigint {
  if ((f[W.TUN_DST] as number) !== 0) return (0xffffn << 32n) | BigInt(f[W.TUN_DST] as number);
  let v = 0n;
  for (let i = 0; i < 4; i++) v = (v << 32n) | BigInt(f[W.TUN_IPV6_DST + i] as number);
  return v;
}

function tunSrc(f: FlowKey): bigint {
  if ((f[W.TUN_SRC] as number) !== 0) return (0xffffn << 32n) | BigInt(f[W.TUN_SRC] as number);
  let v = 0n;
  for (let i = 0; i < 4; i++) v = (v << 32n) | BigInt(f[W.TUN_IPV6_SRC + i] as number);
  return v;
}

function macWords(mac: string): [number, number] {
  const b = mac.split(":").map((x) => parseInt(x, 16));
  return [
    ((b[0] as number) << 8) | (b[1] as number),
    (((b[2] as number) << 24) | ((b[3] as number) << 16) | ((b[4] as number) << 8) | (b[5] as number)) >>> 0,
  ];
}

/** native_tunnel_output: route, neighbour, header, then the outer packet through the bridge the
 *  route leaves by (its actions follow tnl_push; a non-final output goes in a clone). */
function nativeTunnelOutput(c: Ctx, tp: TunnelPort, env: TunnelEnv): void {
  const f = c.flow;
  const wc = c.wc;
  const cfg = tp.cfg;
  c.report("detail", "output to native tunnel");
  // tnl_port_send: the tunnel fields the port imposes; TOS/TTL inherit from the inner packet.
  const ip = c.isIp();
  const tosNow = ((f[PTTF] as number) >>> TOS_SHIFT) & 0xff;
  let tos = 0;
  if (cfg.tos === "inherit") {
    if (ip) {
      wc[PTTF] = (wc[PTTF] as number) | (0xfc << TOS_SHIFT);
      tos = tosNow & 0xfc;
    }
  } else tos = cfg.tos;
  if (ip) {
    wc[PTTF] = (wc[PTTF] as number) | (ECN_MASK << TOS_SHIFT);
    tos |= (tosNow & ECN_MASK) === ECN_CE ? ECN_ECT0 : tosNow & ECN_MASK;
  }
  let ttl = 64;
  if (cfg.ttl === "inherit") {
    if (ip) {
      wc[PTTF] = (wc[PTTF] as number) | (0xff << 8);
      ttl = ((f[PTTF] as number) >>> 8) & 0xff;
    }
  } else ttl = cfg.ttl;
  const flowKey = (BigInt(f[W.TUN_ID_HI] as number) << 32n) | BigInt(f[W.TUN_ID_LO] as number);
  const key = cfg.outKey === "flow" ? flowKey : cfg.outKey;
  const dst = cfg.remote ?? tunDst(f);
  const mark = ((f[W.PKT_MARK] as number) | (cfg.egressPktMark ?? 0)) >>> 0;
  const route = dst === 0n ? null : env.routes.lookupMapped(dst, mark);
  const out = route === null ? null : env.bridgeOfDev(route.dev);
  if (route === null || out === null) {
    c.report("warn", "native tunnel routing failed");
    return;
  }
  const nextHop = route.gw !== 0n ? route.gw : dst;
  const nh = formatIpMapped(nextHop);
  c.report("detail", `tunneling to ${nh} via ${route.dev}`);
  const smac = out.port.mac;
  const src = cfg.local ?? (cfg.localFlow ? tunSrc(f) : route.src);
  const n = env.neigh.lookupMapped(nextHop, out.bridge.name);
  if (n === null) {
    const v4 = isMappedIpv4(nextHop);
    c.report(
      "detail",
      `neighbor cache miss for ${nh} on bridge ${out.bridge.name}, sending ${v4 ? "ARP" : "ND"} request`,
    );
    env.solicit(out.bridge, smac, route.src, nextHop);
    return;
  }
  c.report("detail", `tunneling from ${smac} ${formatIpMapped(src)} to ${n.mac} ${nh}`);
  const v4 = isMappedIpv4(dst);
  const header = buildTnlHeader({
    kind: cfg.kind,
    dmac: n.mac,
    smac,
    src,
    dst,
    tos,
    ttl,
    df: cfg.dfDefault,
    csum: tunnelCsum(cfg, !v4),
    key: key ?? (cfg.kind === "gre" ? null : 0n),
    dstPort: cfg.dstPort,
    geneveOptions: cfg.kind === "geneve" ? geneveOptions(f, env) : [],
  });
  const push: OdpAction = { type: "tnl_push", tnlPort: tp.xport.odpPort, header, outPort: out.port.odpPort };

  // The outer packet, as propagate_tunnel_data_to_flow leaves the flow, through the out bridge,
  // with its own wildcards (thrown away) and no side effects.
  const k = new Uint32Array(FLOW_WORDS);
  k[W.IN_PORT] = out.port.ofport;
  const [dh, dl] = macWords(n.mac);
  const [sh, sl] = macWords(smac);
  k[W.DL_DST_HI] = dh;
  k[W.DL_DST_LO] = dl;
  k[W.DL_SRC_HI] = sh;
  k[W.DL_SRC_LO] = sl;
  k[W.DL_TYPE] = v4 ? ETH_IPV4 : ETH_IPV6;
  if (v4) {
    k[W.NW_SRC] = Number(src & 0xffffffffn);
    k[W.NW_DST] = Number(dst & 0xffffffffn);
  } else
    for (let i = 0; i < 4; i++) {
      k[W.IPV6_SRC + i] = Number((src >> BigInt(96 - 32 * i)) & 0xffffffffn);
      k[W.IPV6_DST + i] = Number((dst >> BigInt(96 - 32 * i)) & 0xffffffffn);
    }
  const proto = cfg.kind === "gre" ? 47 : 17;
  k[PTTF] = ((proto << 24) | (tos << 16) | (ttl << 8)) >>> 0;
  if (proto === 17) k[W.TP] = cfg.dstPort;
  const res = translate(out.bridge, k, { ...c.opts, sideEffects: false, trace: c.cur !== null });
  // OVS puts the other bridge's trace where the output is, as the last node there.
  if (c.cur !== null) for (const node of res.trace) c.cur.push(node);
  const nested = res.error === null ? res.actions : [];
  if (c.lastAction) c.actions.push(push, ...nested);
  else c.actions.push({ type: "clone", actions: [push, ...nested] });
}

/** tun_metadata_to_geneve_header: each mapped tun_metadataN that holds a value becomes an option
 *  (its value in the option's last 4 bytes), in the map's order. */
function geneveOptions(f: FlowKey, env: TunnelEnv): GeneveOption[] {
  const out: GeneveOption[] = [];
  for (const m of env.tlvMap()) {
    if (m.index >= 8) continue;
    const v = f[W.TUN_METADATA + m.index] as number;
    if (v === 0) continue;
    const data = new Uint8Array(m.len);
    for (let i = 0; i < 4 && i < m.len; i++) data[m.len - 1 - i] = (v >>> (8 * i)) & 0xff;
    out.push({ cls: m.cls, type: m.type, data });
  }
  return out;
}

/** terminate_native_tunnel on output to a port with an address: tnl_pop for a packet to one of
 *  our tunnel endpoints (tnl_port_map_lookup), or neighbour snooping of ARP replies and neighbour
 *  advertisements to our address. Returns the vport to pop to, or -1. */
function terminateNativeTunnel(c: Ctx, xp: XPort, env: TunnelEnv): number {
  const f = c.flow;
  const wc = c.wc;
  const t = c.dlType();
  const addrs = env.addrsOf(xp.name);
  const mine = (a: bigint): boolean => addrs.some((x) => parseIpMapped(x.split("/")[0] as string) === a);
  if (t === ETH_IPV4 || t === ETH_IPV6) {
    const v4 = t === ETH_IPV4;
    // The listening ports' classifier: eth dst, eth type, IP dst, protocol, frag, UDP dst.
    wc[W.DL_DST_HI] = 0xffff;
    wc[W.DL_DST_LO] = ONES;
    const [mh, ml] = macWords(xp.mac);
    let dst: bigint;
    if (v4) {
      wc[W.NW_DST] = ONES;
      dst = (0xffffn << 32n) | BigInt(f[W.NW_DST] as number);
    } else {
      dst = 0n;
      for (let i = 0; i < 4; i++) {
        wc[W.IPV6_DST + i] = ONES;
        dst = (dst << 32n) | BigInt(f[W.IPV6_DST + i] as number);
      }
    }
    wc[PTTF] = (wc[PTTF] as number) | 0xff000000 | NwFrag.ANY | NwFrag.LATER;
    const proto = c.proto();
    if (proto === 17) wc[W.TP] = (wc[W.TP] as number) | 0xffff;
    const frag = (f[PTTF] as number) & (NwFrag.ANY | NwFrag.LATER);
    if (f[W.DL_DST_HI] !== mh || f[W.DL_DST_LO] !== ml || frag !== 0 || !mine(dst)) {
      return snoopNd(c, env, mine);
    }
    if (proto === 47) return env.listening(!v4, 47, 0);
    if (proto === 17) return env.listening(!v4, 17, (f[W.TP] as number) & 0xffff);
    return snoopNd(c, env, mine);
  }
  if (t === ETH_ARP) {
    // is_neighbor_reply_correct: the ARP is for our address; tnl_arp_snoop: replies and
    // gratuitous ARPs with a sender MAC.
    // (OVS 3.1's megaflows show sip, tip and op matched either way, sha only for our address.)
    wc[W.NW_DST] = ONES;
    wc[W.NW_SRC] = ONES;
    wc[PTTF] = (wc[PTTF] as number) | 0xff000000;
    if (!mine((0xffffn << 32n) | BigInt(f[W.NW_DST] as number))) return -1;
    wc[W.ARP_SHA_HI] = 0xffff;
    wc[W.ARP_SHA_LO] = ONES;
    if (c.opts.sideEffects) {
      const sha = macBigToText(f[W.ARP_SHA_HI] as number, f[W.ARP_SHA_LO] as number);
      env.neigh.snoopArp(c.br.name, c.proto(), sha, f[W.NW_SRC] as number, f[W.NW_DST] as number);
    }
  }
  return -1;
}

/** tnl_nd_snoop: a neighbour advertisement to our address teaches target -> target link address. */
function snoopNd(c: Ctx, env: TunnelEnv, mine: (a: bigint) => boolean): number {
  const f = c.flow;
  if (c.dlType() !== ETH_IPV6 || c.proto() !== 58 || (f[W.TP] as number) >>> 16 !== 136) return -1;
  let dst = 0n;
  let target = 0n;
  for (let i = 0; i < 4; i++) {
    dst = (dst << 32n) | BigInt(f[W.IPV6_DST + i] as number);
    target = (target << 32n) | BigInt(f[W.ND_TARGET + i] as number);
  }
  if (!mine(dst)) return -1;
  const wc = c.wc;
  wc[W.TP] = (wc[W.TP] as number) | 0xffff0000;
  for (let i = 0; i < 4; i++) wc[W.ND_TARGET + i] = ONES;
  wc[W.ARP_THA_HI] = 0xffff;
  wc[W.ARP_THA_LO] = ONES;
  if (c.opts.sideEffects)
    env.neigh.snoopNa(c.br.name, target, macBigToText(f[W.ARP_THA_HI] as number, f[W.ARP_THA_LO] as number));
  return -1;
}

function macBigToText(hi: number, lo: number): string {
  const b = [hi >>> 8, hi & 255, lo >>> 24, (lo >>> 16) & 255, (lo >>> 8) & 255, lo & 255];
  return b.map((x) => x.toString(16).padStart(2, "0")).join(":");
}

/** flood_packets: every port but the input one, in the bridge's port order. */
function flood(c: Ctx, all: boolean): void {
  const inPort = c.flow[W.IN_PORT] as number;
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

// --- commit: flow changes → datapath set actions (odp-util.c commit_odp_actions) ---------------

interface SetField {
  loc: FieldLoc;
}
const loc = (t: FieldLoc): SetField => ({ loc: t });
const words = (word: number, n: number): FieldLoc => ({ t: "words", word, n });
const sub = (word: number, shift: number, bits: number): FieldLoc => ({ t: "sub", f: { word, shift, bits } });
const macLoc = (word: number): FieldLoc => ({ t: "mac", word });

/** The writable fields of each datapath key attribute, in odp.ts's layout. */
const SET_ATTRS: Readonly<Record<string, readonly SetField[]>> = {
  eth: [loc(macLoc(W.DL_SRC_HI)), loc(macLoc(W.DL_DST_HI))],
  ipv4: [loc(words(W.NW_SRC, 1)), loc(words(W.NW_DST, 1)), loc(sub(PTTF, 16, 8)), loc(sub(PTTF, 8, 8))],
  ipv6: [
    loc(words(W.IPV6_SRC, 4)),
    loc(words(W.IPV6_DST, 4)),
    loc(sub(W.IPV6_LABEL, 0, 20)),
    loc(sub(PTTF, 16, 8)),
    loc(sub(PTTF, 8, 8)),
  ],
  arp: [
    loc(words(W.NW_SRC, 1)),
    loc(words(W.NW_DST, 1)),
    loc(sub(PTTF, 24, 8)),
    loc(macLoc(W.ARP_SHA_HI)),
    loc(macLoc(W.ARP_THA_HI)),
  ],
  tp: [loc(sub(W.TP, 16, 16)), loc(sub(W.TP, 0, 16))],
  icmp: [loc(sub(W.TP, 16, 8)), loc(sub(W.TP, 0, 8))],
};

/** Emits a masked set of the fields of `attr` that changed since the last commit. */
function commitAttr(c: Ctx, attr: string, fields: readonly SetField[]): void {
  let key: FlowKey | null = null;
  let mask: FlowMask | null = null;
  for (const sf of fields) {
    const now = readLoc(c.flow, sf.loc);
    if (now === readLoc(c.base, sf.loc)) continue;
    if (key === null) {
      key = Uint32Array.from(c.flow);
      mask = new Uint32Array(FLOW_WORDS);
    }
    let m = readLoc(c.wc, sf.loc);
    if (m === 0n) m = (1n << BigInt(locBits(sf.loc))) - 1n;
    writeLoc(mask as FlowMask, sf.loc, m);
    writeLoc(c.base, sf.loc, now);
  }
  if (key !== null) c.actions.push({ type: "set", attr, key, mask: mask as FlowMask });
}

function countVlans(k: FlowKey): number {
  if (!((k[W.VLAN0] as number) & VLAN_CFI)) return 0;
  return (k[W.VLAN1] as number) & VLAN_CFI ? 2 : 1;
}

/** Whether words [from, to) of the flow differ from the last commit (a cheap test before fields). */
function changed(c: Ctx, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (c.flow[i] !== c.base[i]) return true;
  return false;
}

function commit(c: Ctx): void {
  const f = c.flow;
  const b = c.base;
  if (
    !changed(c, W.DL_DST_HI, W.DL_SRC_LO + 1) &&
    !changed(c, W.NW_SRC, W.TP + 1) &&
    f[W.VLAN0] === b[W.VLAN0] &&
    f[W.VLAN1] === b[W.VLAN1] &&
    f[W.PKT_MARK] === b[W.PKT_MARK]
  )
    return;
  if (changed(c, W.DL_DST_HI, W.DL_SRC_LO + 1)) commitAttr(c, "eth", SET_ATTRS["eth"] as readonly SetField[]);
  const dlType = (b[W.DL_TYPE] as number) & 0xffff;
  const proto = (f[PTTF] as number) >>> 24;
  if (dlType === ETH_IPV4 && proto) commitAttr(c, "ipv4", SET_ATTRS["ipv4"] as readonly SetField[]);
  else if (dlType === ETH_IPV6 && proto) commitAttr(c, "ipv6", SET_ATTRS["ipv6"] as readonly SetField[]);
  else if (dlType === ETH_ARP || dlType === ETH_RARP) commitAttr(c, "arp", SET_ATTRS["arp"] as readonly SetField[]);
  if ((dlType === ETH_IPV4 || dlType === ETH_IPV6) && !((f[PTTF] as number) & NwFrag.LATER)) {
    if (proto === 6 || proto === 17 || proto === 132) {
      commitAttr(c, proto === 6 ? "tcp" : proto === 17 ? "udp" : "sctp", SET_ATTRS["tp"] as readonly SetField[]);
    } else if ((proto === 1 && dlType === ETH_IPV4) || (proto === 58 && dlType === ETH_IPV6)) {
      commitAttr(c, proto === 1 ? "icmp" : "icmpv6", SET_ATTRS["icmp"] as readonly SetField[]);
    }
  }
  // commit_vlan_action: pop the base's tags that differ (outermost first), push the flow's.
  let bn = countVlans(b) - 1;
  let fn = countVlans(f) - 1;
  while (bn >= 0 && fn >= 0 && b[W.VLAN0 + bn] === f[W.VLAN0 + fn]) {
    bn--;
    fn--;
  }
  for (; bn >= 0; bn--) {
    c.actions.push({ type: "pop_vlan" });
    c.wc[W.VLAN0 + bn] = ONES;
  }
  for (; fn >= 0; fn--) {
    const v = f[W.VLAN0 + fn] as number;
    c.actions.push({ type: "push_vlan", tpid: v >>> 16, tci: v & 0xffff });
  }
  b[W.VLAN0] = f[W.VLAN0] as number;
  b[W.VLAN1] = f[W.VLAN1] as number;
  if (f[W.PKT_MARK] !== b[W.PKT_MARK]) {
    const key = Uint32Array.from(f);
    const mask = new Uint32Array(FLOW_WORDS);
    mask[W.PKT_MARK] = (c.wc[W.PKT_MARK] as number) || ONES;
    c.actions.push({ type: "set", attr: "skb_mark", key, mask });
    b[W.PKT_MARK] = f[W.PKT_MARK] as number;
  }
}

// --- NORMAL: the MAC-learning switch (xlate_normal) ---------------------------------------------

/** Reserved multicast 01:80:c2:00:00:0X (802.1D), which a bridge never forwards. */
function isReservedMac(hi: number, lo: number): boolean {
  return hi === 0x0180 && (lo & 0xfffffff0) >>> 0 === 0xc2000000;
}

/** is_gratuitous_arp, which un-wildcards what it reads. */
function isGratuitousArp(c: Ctx): boolean {
  const f = c.flow;
  const wc = c.wc;
  if (c.dlType() !== ETH_ARP) return false;
  wc[W.DL_DST_HI] = 0xffff;
  wc[W.DL_DST_LO] = ONES;
  if (f[W.DL_DST_HI] !== 0xffff || f[W.DL_DST_LO] !== ONES) return false;
  wc[PTTF] = (wc[PTTF] as number) | 0xff000000;
  const op = c.proto();
  if (op === 2) return true;
  if (op !== 1) return false;
  wc[W.NW_SRC] = ONES;
  wc[W.NW_DST] = ONES;
  return f[W.NW_SRC] === f[W.NW_DST];
}

// The VLANs of the packet as NORMAL sees them (OVS's struct xvlan), kept in module scratch so a
// translation allocates nothing for them.
const xv = new Int32Array(6); // tpid0, vid0, pcp0 (tci bits), tpid1, vid1, pcp1

function xlateNormal(c: Ctx): void {
  const f = c.flow;
  const wc = c.wc;
  wc[W.DL_SRC_HI] = 0xffff;
  wc[W.DL_SRC_LO] = ONES;
  wc[W.DL_DST_HI] = 0xffff;
  wc[W.DL_DST_LO] = ONES;
  wc[W.VLAN0] = (wc[W.VLAN0] as number) | 0x0fff | VLAN_CFI;

  const inPort = f[W.IN_PORT] as number;
  const inX = c.br.ports.get(inPort);
  if (inX === undefined) {
    c.report("warn", "no input bundle, dropping");
    return;
  }
  const t = c.dlType();
  if ((t === TPID_8021Q || t === TPID_8021AD) && !((f[W.VLAN0] as number) & VLAN_CFI)) {
    c.report("warn", "partial VLAN tag, dropping");
    return;
  }

  const v0 = f[W.VLAN0] as number;
  const vid = v0 & 0x0fff;
  const mode = portVlanMode(inX);
  if (mode === "access" || mode === "dot1q-tunnel") {
    if (vid) {
      c.report(
        "error",
        `dropping VLAN ${vid} tagged packet received on port ${inX.name} configured as VLAN ${portVlan(inX)} access port`,
      );
      c.report("warn", "disallowed VLAN VID for this input port, dropping");
      return;
    }
  } else if (!(vid === 0 && mode !== "trunk") && !portTrunksVlan(inX, vid)) {
    c.report(
      "error",
      `dropping VLAN ${vid} packet received on port ${inX.name} not configured for trunking VLAN ${vid}`,
    );
    c.report("warn", "disallowed VLAN VID for this input port, dropping");
    return;
  }
  // xvlan_extract + xvlan_input_translate
  const v1 = f[W.VLAN1] as number;
  for (let i = 0; i < 2; i++) {
    const v = i === 0 ? v0 : v1;
    const present = (v & VLAN_CFI) !== 0 && (i === 0 || (v0 & VLAN_CFI) !== 0);
    xv[3 * i] = present ? v >>> 16 : 0;
    xv[3 * i + 1] = present ? v & 0x0fff : 0;
    xv[3 * i + 2] = present ? v & 0xe000 : 0;
  }
  if (mode === "access" || mode === "dot1q-tunnel") {
    xv[0] = xv[0] || TPID_8021Q;
    xv[1] = portVlan(inX);
    xv[3] = xv[4] = xv[5] = 0;
  } else if (mode !== "trunk" && xv[1] === 0) {
    xv[0] = xv[0] || TPID_8021Q;
    xv[1] = portVlan(inX);
  }
  const vlan = xv[1] as number;

  if (isReservedMac(f[W.DL_DST_HI] as number, f[W.DL_DST_LO] as number)) {
    c.report("detail", "packet has reserved destination MAC, dropping");
    return;
  }
  isGratuitousArp(c);
  const srcHi = f[W.DL_SRC_HI] as number;
  const srcLo = f[W.DL_SRC_LO] as number;
  if (c.opts.sideEffects && !(srcHi & 0x0100)) c.br.mac.learnWords(srcHi, srcLo, vlan, inPort, c.opts.nowMs);

  const dstHi = f[W.DL_DST_HI] as number;
  // mac_learning_lookup never answers for a multicast (or broadcast) destination.
  const out = dstHi & 0x0100 ? -1 : c.br.mac.lookupWords(dstHi, f[W.DL_DST_LO] as number, vlan, c.opts.nowMs);
  if (out >= 0) {
    const outX = c.br.ports.get(out);
    if (outX === undefined) c.report("warn", "learned port is unknown, dropping");
    else if (out === inPort) c.report("detail", "learned port is input port, dropping");
    else {
      c.report("detail", "forwarding to learned port");
      outputNormal(c, outX);
    }
    return;
  }
  c.report("detail", "no learned MAC for destination, flooding");
  for (const p of c.br.ports.values()) {
    if (p.ofport !== inPort && portIncludesVlan(p, vlan, xv[4] as number)) outputNormal(c, p);
  }
}

/** output_normal: the packet with the out port's VLAN translation, then the flow's tags restored. */
function outputNormal(c: Ctx, p: XPort): void {
  const f = c.flow;
  const mode = portVlanMode(p);
  let t0 = xv[0] as number,
    vid0 = xv[1] as number,
    pcp0 = xv[2] as number;
  let t1 = xv[3] as number,
    vid1 = xv[4] as number,
    pcp1 = xv[5] as number;
  if (mode === "access" || mode === "dot1q-tunnel") {
    t0 = vid0 = pcp0 = t1 = vid1 = pcp1 = 0;
  } else if (mode === "native-untagged" && vid0 === portVlan(p)) {
    t0 = t1;
    vid0 = vid1;
    pcp0 = pcp1;
    t1 = vid1 = pcp1 = 0;
  }
  const old0 = f[W.VLAN0] as number;
  const old1 = f[W.VLAN1] as number;
  // xvlan_put: a tag for every non-zero TCI; an absent tag keeps its TPID with TCI 0.
  const tci0 = vid0 | pcp0;
  const tci1 = vid1 | pcp1;
  f[W.VLAN0] = tci0 ? (((t0 || TPID_8021Q) << 16) | tci0 | VLAN_CFI) >>> 0 : ((old0 >>> 16) << 16) >>> 0;
  f[W.VLAN1] = tci1 ? (((t1 || TPID_8021Q) << 16) | tci1 | VLAN_CFI) >>> 0 : ((old1 >>> 16) << 16) >>> 0;
  outputPort(c, p.ofport);
  f[W.VLAN0] = old0;
  f[W.VLAN1] = old1;
}

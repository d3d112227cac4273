// The state of one translation (OVS's struct xlate_ctx) and the types and constants every part
// of the translation shares. xlate.ts drives a translation with it; commit.ts, normal.ts and
// tunnel-output.ts each do one job on it. This file imports none of them, so the parts form no
// cycle: xlate.ts imports the three, and of the translation they import only this file.

import { FLOW_WORDS, u32, W, type FlowKey, type FlowMask } from "../flow/key.ts";
import type { Dialect, OfAction } from "../flow/actions.ts";
import type { OdpAction } from "../flow/odp.ts";
import type { OfRule } from "./oftable.ts";
import type { BridgeView } from "./types.ts";
import type { TunnelEnv } from "./tunnel.ts";
import { EtherType } from "../wire/numbers.ts";

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

export const ONES = 0xffffffff; // a mask word that matches exactly
export const PTTF = W.NW_PROTO_TOS_TTL_FRAG; // nw_proto | nw_tos | nw_ttl | nw_frag (key.ts)

const BASE_SCRATCH = new Uint32Array(FLOW_WORDS);
const ORIG_SCRATCH = new Uint32Array(FLOW_WORDS);

export class Ctx {
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

  /** `outermost`: no other translation is in progress (translate() keeps count). */
  constructor(
    readonly br: BridgeView,
    key: FlowKey,
    readonly opts: XlateOptions,
    outermost: boolean,
  ) {
    this.flow = Uint32Array.from(key);
    // The outermost translation keeps the two copies nobody keeps in module scratch.
    this.base = outermost ? BASE_SCRATCH : new Uint32Array(FLOW_WORDS);
    this.orig = outermost ? ORIG_SCRATCH : new Uint32Array(FLOW_WORDS);
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
    return u32(this.flow, W.DL_TYPE) & 0xffff;
  }
  isIp(): boolean {
    const t = this.dlType();
    return t === EtherType.IPV4 || t === EtherType.IPV6;
  }
  proto(): number {
    return u32(this.flow, PTTF) >>> 24;
  }
}

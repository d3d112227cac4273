// The host datapath (L3 of the offload hierarchy): the megaflow cache with an exact-match cache
// in front, as Open vSwitch's userspace datapath (lib/dpif-netdev.c) keeps them.
//
// A megaflow is a masked key (the translation's wildcards) with datapath actions; megaflows do
// not overlap, so the first match is the only one. The exact-match cache (EMC) maps whole packet
// keys to megaflows and is filled with probability 1/emc-insert-inv-prob on a megaflow hit, as
// dpif-netdev does. A miss in both is an upcall, which the engine answers by translating the
// packet through the OpenFlow tables and installing a new megaflow here.
//
// Flows are kept in an array indexed by flow id; the tables hold ids. A deleted flow's id is
// reused only after its EMC entries are gone (deleteValue), so a stale cache entry can never
// name a newer flow.

import { FLOW_WORDS, W, type FlowKey, type FlowMask } from "../flow/key.ts";
import { compileActions, UnsupportedActionError, type CompiledActions } from "./execute.ts";
import { formatOdpActions, type OdpAction } from "../flow/odp.ts";
import { ExactTable } from "../tables/exact.ts";
import { flowHash5, hashWords } from "../tables/hash.ts";
import { TupleTable } from "../tables/tuple.ts";

/** other_config:flow-limit's default (ofproto-dpif-upcall.c). */
export const DEFAULT_FLOW_LIMIT = 200_000;
/** other_config:max-idle's default, in milliseconds. */
export const DEFAULT_MAX_IDLE_MS = 10_000;
/** dpif-netdev's EMC size (EM_FLOW_HASH_ENTRIES). */
export const EMC_ENTRIES = 8192;
/** other_config:emc-insert-inv-prob's default. */
export const DEFAULT_EMC_INV_PROB = 100;

/** Where a flow stands with the NIC. */
export type OffloadState = "none" | "offloaded" | "refused";

/**
 * A datapath flow: its masked key, actions and counters, and the attributes a dpif reports with
 * it (dpif_flow_attrs: whether and where it is offloaded, with the hardware's counters merged
 * into its statistics), which the offload manager (src/host/offload.ts) sets. What vswitchd
 * keeps about the flow for revalidation (the packet key, the rules it came from) is not here:
 * that is the upcall handler's ukey (src/host/upcall.ts), as in ofproto-dpif-upcall.c.
 */
export class DpFlow {
  packets = 0;
  bytes = 0;
  usedMs = -1; // -1: never (no packet since install)
  tcpFlags = 0;
  /** NIC side: whether the flow is offloaded, why not, and the eSwitch holding it. */
  offload: OffloadState = "none";
  offloadReason: string | null = null;
  nicName: string | null = null;
  /** Hardware counters last read (for dumps and ageing). */
  hwPackets = 0;
  hwBytes = 0;
  hwUsedMs = -1;
  /** Packet comment for captures, per tier (built once). */
  comment = "";

  constructor(
    readonly id: number,
    readonly ufid: string,
    readonly key: FlowKey, // masked
    readonly mask: FlowMask,
    public actions: OdpAction[],
    public prog: CompiledActions | null, // null: the actions cannot run here (slow path)
    public slowPath: string | null,
    readonly bridge: string,
    readonly createdMs: number,
  ) {}

  get totalPackets(): number {
    return this.packets + this.hwPackets;
  }
  get totalBytes(): number {
    return this.bytes + this.hwBytes;
  }
  /** Last use by either tier, or -1. */
  get lastUsedMs(): number {
    return this.usedMs > this.hwUsedMs ? this.usedMs : this.hwUsedMs;
  }
  get actionsText(): string {
    return formatOdpActions(this.actions);
  }
}

/** What a datapath lookup found, for the tier counters. */
export const DpHit = { MISS: 0, EMC: 1, MEGAFLOW: 2 } as const;

export interface DatapathOptions {
  flowLimit?: number;
  emc?: boolean;
  emcInvProb?: number;
  seed?: number;
}

/**
 * A UUID-shaped flow id derived from the masked key and mask, so the same flow gets the same
 * ufid in every run (OVS derives its ufids from the key too: dpif_flow_hash).
 */
export function flowUfid(key: FlowKey, mask: FlowMask): string {
  const h = [
    hashWords(key, 0, FLOW_WORDS, 1),
    hashWords(mask, 0, FLOW_WORDS, 2),
    hashWords(key, 0, FLOW_WORDS, 3),
    hashWords(mask, 0, FLOW_WORDS, 4),
  ];
  const x = h.map((v) => (v >>> 0).toString(16).padStart(8, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** Compiles a flow's actions for the executor; userspace actions (the slow path) are left out. */
export function compileFlowActions(actions: readonly OdpAction[]): {
  prog: CompiledActions | null;
  error: string | null;
} {
  const runnable = actions.filter((a) => a.type !== "userspace");
  try {
    return { prog: compileActions(runnable, formatOdpActions(actions)), error: null };
  } catch (e) {
    if (e instanceof UnsupportedActionError) return { prog: null, error: e.message };
    throw e;
  }
}

export class Datapath {
  readonly flows: (DpFlow | null)[] = [];
  private readonly freeIds: number[] = [];
  private readonly byUfid = new Map<string, DpFlow>();
  readonly megaflows: TupleTable;
  readonly emc: ExactTable;
  emcEnabled: boolean;
  flowLimit: number;
  /** dpctl/show's lookups: hit / missed / lost. */
  hit = 0;
  missed = 0;
  lost = 0;
  emcHits = 0;
  megaflowHits = 0;
  /** Subtables probed by megaflow hits (pmd-stats-show's average). */
  megaflowProbes = 0;
  /** Set by lookup(): which table answered. */
  lastHit: number = DpHit.MISS;
  private readonly masked = new Uint32Array(FLOW_WORDS);

  constructor(
    /** "ovs-netdev", or "ovs-dummy" once a bridge asks for the dummy datapath type. */
    public name: string,
    opts: DatapathOptions = {},
  ) {
    this.flowLimit = opts.flowLimit ?? DEFAULT_FLOW_LIMIT;
    this.megaflows = new TupleTable(FLOW_WORDS, { maxEntries: this.flowLimit });
    this.emc = new ExactTable(FLOW_WORDS, EMC_ENTRIES, {
      insertInvProb: opts.emcInvProb ?? DEFAULT_EMC_INV_PROB,
      seed: opts.seed ?? 1,
    });
    this.emcEnabled = opts.emc ?? true;
  }

  get count(): number {
    return this.byUfid.size;
  }

  /** The flow for a packet key (in_port = datapath port), or null after a miss. No allocation. */
  lookup(key: FlowKey): DpFlow | null {
    // The hash is only the EMC's (the megaflow table hashes per subtable).
    const hash = this.emcEnabled ? flowHash5(key, 0) : 0;
    if (this.emcEnabled) {
      const id = this.emc.lookup(key, 0, hash);
      if (id >= 0) {
        this.lastHit = DpHit.EMC;
        this.emcHits++;
        this.hit++;
        return this.flows[id] as DpFlow;
      }
    }
    const id = this.megaflows.lookup(key, 0);
    if (id < 0) {
      this.lastHit = DpHit.MISS;
      this.missed++;
      return null;
    }
    this.lastHit = DpHit.MEGAFLOW;
    this.megaflowHits++;
    this.megaflowProbes += this.megaflows.lastProbes;
    this.hit++;
    if (this.emcEnabled) this.emc.maybeInsert(key, 0, hash, id);
    return this.flows[id] as DpFlow;
  }

  /** The flow whose masked key equals `key` under `mask`, if installed. */
  find(key: FlowKey, mask: FlowMask): DpFlow | null {
    const id = this.megaflows.find(key, mask);
    return id < 0 ? null : (this.flows[id] ?? null);
  }

  byId(ufid: string): DpFlow | null {
    return this.byUfid.get(ufid) ?? null;
  }

  /**
   * Installs a megaflow for `key` under `mask`. Returns the flow, or a reason string when the
   * datapath refuses it (flow limit). An identical flow already present is returned as it is.
   */
  install(key: FlowKey, mask: FlowMask, actions: OdpAction[], bridge: string, nowMs: number): DpFlow | string {
    const m = this.masked;
    for (let i = 0; i < FLOW_WORDS; i++) m[i] = ((key[i] as number) & (mask[i] as number)) >>> 0;
    const existing = this.find(m, mask);
    if (existing !== null) return existing;
    if (this.count >= this.flowLimit) return `flow limit (${this.flowLimit} flows)`;
    const id = this.freeIds.length > 0 ? (this.freeIds.pop() as number) : this.flows.length;
    const { prog } = compileFlowActions(actions);
    const slow = actions.find((a) => a.type === "userspace");
    const f = new DpFlow(
      id,
      flowUfid(m, mask),
      Uint32Array.from(m),
      Uint32Array.from(mask),
      actions,
      prog,
      slow ? slow.text : null,
      bridge,
      nowMs,
    );
    const r = this.megaflows.insert(f.key, f.mask, id);
    if (r === "table-full" || r === "mask-limit") return `megaflow table: ${r}`;
    this.flows[id] = f;
    this.byUfid.set(f.ufid, f);
    return f;
  }

  /** Replaces a flow's actions in place (revalidation found new actions for the same mask). */
  modify(f: DpFlow, actions: OdpAction[]): void {
    f.actions = actions;
    f.prog = compileFlowActions(actions).prog;
    const slow = actions.find((a) => a.type === "userspace");
    f.slowPath = slow ? slow.text : null;
  }

  remove(f: DpFlow): void {
    if (this.flows[f.id] !== f) return;
    this.megaflows.remove(f.key, f.mask);
    this.emc.deleteValue(f.id);
    this.flows[f.id] = null;
    this.byUfid.delete(f.ufid);
    this.freeIds.push(f.id);
  }

  /** Installed flows in id order (dump order; deterministic). */
  /** Zeroes the lookup counters (dpif-netdev/pmd-stats-clear); flows and their counts stay. */
  clearStats(): void {
    this.hit = 0;
    this.missed = 0;
    this.lost = 0;
    this.emcHits = 0;
    this.megaflowHits = 0;
    this.megaflowProbes = 0;
  }

  list(): DpFlow[] {
    const out: DpFlow[] = [];
    for (const f of this.flows) if (f !== null) out.push(f);
    return out;
  }
}

/** tcp_flags of a key, for flow statistics (0 unless TCP). */
export function keyTcpFlags(key: FlowKey): number {
  return (key[W.TCP_FLAGS] as number) & 0xfff;
}

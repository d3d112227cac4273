// The SmartNIC's embedded switch (eSwitch) in switchdev mode: vports, an L1 exact-match flow
// tracker in front of L2 masked tables, actions run on the NIC, and the fallback path to the host.
//
// Vport 0 is the uplink (the wire side of the PF), vports 1..nVfs are the VFs (the VM side). Each
// has a representor on the host; the host's engine maps representors to vports, and a packet the
// NIC cannot handle reaches the host on the representor of the vport it arrived on (hooks.toHost)
// with the reason why. A packet the NIC handles leaves through hooks.tx on the vport its actions
// name: the uplink's wire or a VF's VM. Output ports in offloaded actions are vport numbers.
//
// Per packet (rx, or poll() of the vports' receive rings):
//   parse (offsets only) → extract the flow key (in_port = vport) → traffic for the host itself
//   or that the hardware cannot classify goes to the host → L1 exact match on the whole key →
//   hit: actions. Miss → L2 masked lookup (the offloaded copy of the host's datapath megaflows)
//   → hit: install the L1 entry (evicting if both candidate slots are busy), actions. Miss → host.
// This is the lookup hierarchy of transparent-offload NICs (Agilio's exact-match flow tracker in
// front of its "repeated hashing" masked tables): the L1 costs one hashed probe per packet
// whatever the number of masks, and L2 pays one probe per mask only for a flow's first packet
// (per L1 eviction). L1 learns every flow (insertion probability 1, unlike a host EMC) because
// the hardware tracker has the room and the cost of a miss is the masked search.
//
// L1 entries hold the index of the L2 flow they were learnt from, never a copy of its actions:
// a modified flow's new actions apply to the next L1 hit, and removing a flow deletes the L1
// entries that name it, so an L1 entry never outlives its L2 flow (ExactTable.deleteValue, a
// scan of the whole tracker, skipped for a flow that never installed an L1 entry: control-path
// work, measured in scripts/bench-nic.ts).
//
// Tunnels, as a switchdev NIC offloads them (mlx5's encap entries and decap rules chained to inner
// rules, tc "tunnel_key unset + goto chain"; rte_flow's tunnel offload in netdev-offload-dpdk):
// - Encapsulation: a flow whose actions are tnl_push(header) then an output to the uplink. The
//   NIC keeps the header bytes per flow (the compiled program) and writes them in front of each
//   packet, filling the outer lengths, the IPv4 header checksum and the UDP source port from the
//   inner flow's hash (src/dp/execute.ts). rewriteEncap() replaces the addresses in place when a
//   neighbour changes: the flow keeps its place, L1 entries and counters. offer() refuses a flow
//   whose ingress vport's MTU plus the header would not fit the egress MTU; a packet that is too
//   large all the same is counted (txDropsMtu) and dropped, never sent.
// - Decapsulation: a flow matching the outer headers on the uplink whose only action is
//   tnl_pop(port). The NIC reads the tunnel metadata from the outer headers, strips them, and
//   looks the inner frame up again with in_port TUNNEL_VPORT_BASE + port and the tunnel words
//   in the key, against the same tables (the inner flows the host offloaded for that tunnel
//   port). An inner packet the NIC cannot finish (no inner flow: MISS; one needing the host:
//   ACTION) goes to the host whole, outer headers restored, on the vport it arrived on, so the
//   host's datapath decapsulates it itself: the NIC never loses the tunnel metadata on the way.
//   Tunnel packets to the host's own MAC are looked up before the host trap when decap flows
//   exist, as tc rules on the uplink come before the PF's default rule; a miss is still HOST.
//
// The hardware counts packets, bytes and last use per flow (flowStats): the host reads them to
// age offloaded flows and to print dump-flows, as OVS reads tc's counters. Time is the owner's
// virtual clock, `nowMs`.
//
// Nothing on the per-packet path allocates: one parser, extractor, key, offsets array and action
// executor per eSwitch, typed-array counters, and callbacks bound once in the constructor.

import type { PacketPool } from "../dp/pool.ts";
import { Ring } from "./ring.ts";
import { checkOffload, makeCaps, type NicCaps } from "./caps.ts";
import { PacketParser } from "../wire/parse.ts";
import * as offsets from "../wire/offsets.ts";
import { EtherType } from "../wire/numbers.ts";
import { ipv4FromString } from "../wire/bytes.ts";
import { DEFAULT_MTU, MAX_MTU, MIN_MTU } from "../wire/ethernet.ts";
import { FlowExtractor } from "../flow/extract.ts";
import {
  FLOW_WORDS,
  isReservedMac,
  macWordsFromString,
  TUN_METADATA_WORDS,
  W,
  newFlowKey,
  type FlowKey,
  type FlowMask,
} from "../flow/key.ts";
import {
  ActionExecutor,
  compileActions,
  ovsRssHash,
  UnsupportedActionError,
  type CompiledActions,
} from "../dp/execute.ts";
import { formatOdpActions, type OdpAction } from "../flow/odp.ts";
import { ExactTable, wordMap } from "../tables/exact.ts";
import { TupleTable } from "../tables/tuple.ts";
import { flowHash5 } from "../tables/hash.ts";

/** Why a packet went to the host instead of through the NIC. */
export const FallbackReason = {
  MISS: 0, // no offloaded flow matches (yet)
  HOST: 1, // traffic for the host itself: its MACs, ARP for its IPs, link-local control frames
  UNCLASSIFIABLE: 2, // the parser failed, or an EtherType/tag the hardware does not parse
  ACTION: 3, // the matching flow needs an action only the host runs (recirculation left in software)
} as const;
export type FallbackReason = (typeof FallbackReason)[keyof typeof FallbackReason];
/** FallbackReason names for printing, by value. */
export const FALLBACK_REASON_NAMES = ["miss", "host", "unclassifiable", "action"] as const;

/**
 * in_port of an inner packet after the NIC decapsulated it: this plus the tnl_pop's port (the
 * tunnel's datapath port). Above every vport number, so inner flows never match outer packets.
 */
export const TUNNEL_VPORT_BASE = 0x10000;

/** Which table handled a packet the NIC forwarded. */
export const Tier = { L1: 1, L2: 2 } as const;

export interface ESwitchHooks {
  /** A packet leaves the NIC on `vport`; the hook owns the slot. `flow` is offer()'s handle. */
  tx(vport: number, slot: number, tier: 1 | 2, flow: number): void;
  /** A packet goes to the host on `vport`'s representor; the hook owns the slot. */
  toHost(vport: number, slot: number, reason: number): void;
}

export interface ESwitchOptions {
  name: string;
  switchId: number;
  /** VFs: vports 1..nVfs; vport 0 is the uplink. */
  nVfs: number;
  caps?: Partial<NicCaps>;
  pool: PacketPool;
  hooks: ESwitchHooks;
  /** Receive ring size per vport (a power of two). Default 1024. */
  ringSize?: number;
}

export type OfferResult = { ok: true } | { ok: false; reason: string };

export interface NicFlowStats {
  packets: number;
  bytes: number;
  /** nowMs of the last packet; -1 if none yet. */
  usedMs: number;
}

export interface NicFlowDump extends NicFlowStats {
  flow: number;
  key: FlowKey; // masked
  mask: FlowMask;
  actions: OdpAction[];
}

const ETH_HEADER = 14;
const VLAN_TAG = 4;

// Module-local copies of the constants read per packet (imports are live bindings that V8
// reloads at each use: see src/wire/parse.ts).
const OUTER_L2 = offsets.OUTER + offsets.S.L2;
const OUTER = offsets.OUTER;
const INNER_L2 = offsets.INNER + offsets.S.L2;
const O_START = offsets.P.START;
const OUTER_TUN_TYPE = offsets.OUTER + offsets.S.TUN_TYPE;
const TUN_FIRST = W.TUN_ID_HI;
const TUN_END = W.TUN_METADATA + TUN_METADATA_WORDS;
const ETH_IPV4 = EtherType.IPV4;
const ETH_IPV6 = EtherType.IPV6;
const ETH_ARP = EtherType.ARP;
const ETH_VLAN = EtherType.VLAN;
const ETH_QINQ = EtherType.QINQ;
const K_IN_PORT = W.IN_PORT;
const K_DL_DST_HI = W.DL_DST_HI;
const K_DL_DST_LO = W.DL_DST_LO;
const K_DL_TYPE = W.DL_TYPE;
const K_VLAN0 = W.VLAN0;
const K_VLAN1 = W.VLAN1;
const K_NW_DST = W.NW_DST;
const reservedMac = isReservedMac;
const R_MISS = FallbackReason.MISS;
const R_HOST = FallbackReason.HOST;
const R_UNCLASSIFIABLE = FallbackReason.UNCLASSIFIABLE;
const R_ACTION = FallbackReason.ACTION;
const TNL_BASE = TUNNEL_VPORT_BASE;

const range = (a: number, n: number): number[] => Array.from({ length: n }, (_, i) => a + i);
// The words the extractor can write for each kind of frame: L1 lookups compare just these
// (ExactTable.lookupHinted), so nothing is compacted per packet.
const L2_WORDS = [K_IN_PORT, ...range(W.DL_DST_HI, 4), K_DL_TYPE, K_VLAN0, K_VLAN1];
const HINT_IPV4 = wordMap(FLOW_WORDS, [...L2_WORDS, W.NW_SRC, W.NW_DST, W.NW_PROTO_TOS_TTL_FRAG, W.TP, W.TCP_FLAGS]);
const HINT_IPV6 = wordMap(FLOW_WORDS, [
  ...L2_WORDS,
  ...range(W.IPV6_SRC, 9),
  W.NW_PROTO_TOS_TTL_FRAG,
  ...range(W.ARP_SHA_HI, 4),
  ...range(W.ND_TARGET, 4),
  W.TP,
  W.TCP_FLAGS,
]);
const HINT_ARP = wordMap(FLOW_WORDS, [
  ...L2_WORDS,
  W.NW_SRC,
  W.NW_DST,
  W.NW_PROTO_TOS_TTL_FRAG,
  ...range(W.ARP_SHA_HI, 4),
]);
const HINT_ALL = wordMap(FLOW_WORDS, [K_IN_PORT, ...range(W.DL_DST_HI, FLOW_WORDS - W.DL_DST_HI)]);
// A decapsulated packet's key also has the tunnel words.
const HINT_TUNNEL = wordMap(FLOW_WORDS, [
  K_IN_PORT,
  ...range(TUN_FIRST, TUN_END - TUN_FIRST),
  ...range(W.DL_DST_HI, FLOW_WORDS - W.DL_DST_HI),
]);

const NO_ACTIONS: CompiledActions = compileActions([]);

/** Ports named by output actions, clones included. */
function outputPorts(actions: readonly OdpAction[], out: number[] = []): number[] {
  for (const a of actions) {
    if (a.type === "output") out.push(a.port);
    else if (a.type === "clone") outputPorts(a.actions, out);
  }
  return out;
}

/** Actions the NIC accepts (when its caps say so) but cannot finish: the packet needs the host. */
function needsHost(actions: readonly OdpAction[], inClone = false): boolean {
  return actions.some(
    (a) =>
      a.type === "recirc" || (inClone && a.type === "tnl_pop") || (a.type === "clone" && needsHost(a.actions, true)),
  );
}

/** The port of a decapsulation flow's tnl_pop (its only action), or -1. */
function decapPortOf(actions: readonly OdpAction[]): number {
  const a = actions[0];
  return actions.length === 1 && a !== undefined && a.type === "tnl_pop" ? a.port : -1;
}

/** For each tnl_push, the header size and the vport of the output that follows it. */
function encapOutputs(actions: readonly OdpAction[]): { size: number; out: number }[] {
  const r: { size: number; out: number }[] = [];
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i] as OdpAction;
    if (a.type !== "tnl_push") continue;
    const next = actions.slice(i + 1).find((x) => x.type === "output");
    r.push({ size: a.header.size, out: next?.type === "output" ? next.port : -1 });
  }
  return r;
}

function hasTnlPush(actions: readonly OdpAction[]): boolean {
  return actions.some((a) => a.type === "tnl_push" || (a.type === "clone" && hasTnlPush(a.actions)));
}

export class ESwitch {
  readonly name: string;
  readonly switchId: number;
  readonly nVfs: number;
  /** Vports: the uplink and the VFs. */
  readonly nVports: number;
  readonly caps: NicCaps;
  /** Virtual time in milliseconds, set by the owner; stamps flows' last use. */
  nowMs = 0;

  private readonly pool: PacketPool;
  private readonly hooks: ESwitchHooks;
  private readonly rings: Ring[];
  private readonly parser = new PacketParser();
  private readonly extractor = new FlowExtractor();
  private readonly executor: ActionExecutor;
  private readonly key: FlowKey = newFlowKey();
  /** The tunnel words of the packet being decapsulated, read before its outer headers go. */
  private readonly tunKey: FlowKey = newFlowKey();
  private readonly o: Int32Array = offsets.newOffsets();
  private readonly l1: ExactTable | null;
  private readonly l2: TupleTable;
  private readonly dlOk = new Uint8Array(65536);
  private readonly mtus: Int32Array;
  private pollNext = 0;

  // Host addresses (setHostAddresses).
  private hostMacHi = new Int32Array(0);
  private hostMacLo = new Int32Array(0);
  private hostIps = new Int32Array(0);

  // Flows, by index (the value stored in L1 and L2).
  private readonly idxOf = new Map<number, number>();
  private readonly handleOf: Int32Array;
  private readonly progs: CompiledActions[];
  private readonly hostOnly: Uint8Array;
  private readonly wantsHash: Uint8Array;
  /** Per flow: the tnl_pop port of a decapsulation flow, or -1. */
  private readonly decapPort: Int32Array;
  private nDecap = 0;
  /** Whether L1 ever learnt an entry for the flow: a removal skips the tracker scan if not. */
  private readonly learnt: Uint8Array;
  private readonly fPackets: Float64Array;
  private readonly fBytes: Float64Array;
  private readonly fUsed: Float64Array;
  private readonly fKeys: (FlowKey | null)[];
  private readonly fMasks: (FlowMask | null)[];
  private readonly fActions: (OdpAction[] | null)[];
  private readonly freeIdx: Int32Array;
  private nFree: number;

  // The packet being acted on, for the executor's callbacks.
  private curVport = 0;
  private curTier: 1 | 2 = 1;
  private curFlow = 0;
  /** While a decapsulation flow runs: the outer packet's vport and the bytes tnl_pop strips. */
  private decapVport = -1;
  private decapOuterLen = 0;

  // Counters.
  readonly rxPackets: Float64Array;
  readonly rxBytes: Float64Array;
  readonly txPackets: Float64Array;
  readonly txBytes: Float64Array;
  /** Per vport: packets dropped because the receive ring was full. */
  readonly rxMissedPort: Float64Array;
  /** Packets sent to the host, by FallbackReason. */
  readonly fallbacks = new Float64Array(FALLBACK_REASON_NAMES.length);
  rxMissed = 0;
  l1Hits = 0;
  l2Hits = 0;
  /** Packets a decapsulation flow handled (their inner lookup then counts as a hit or fallback). */
  decapHits = 0;
  l1Inserts = 0;
  l1Evictions = 0;
  txDrops = 0;
  txDropsMtu = 0;
  txDropsNoPort = 0;

  constructor(opts: ESwitchOptions) {
    if (!Number.isInteger(opts.nVfs) || opts.nVfs < 0 || opts.nVfs > 4094) {
      throw new RangeError(`nVfs must be 0..4094, got ${opts.nVfs}`);
    }
    this.name = opts.name;
    this.switchId = opts.switchId;
    this.nVfs = opts.nVfs;
    this.nVports = opts.nVfs + 1;
    this.caps = makeCaps({ ...opts.caps, switchId: opts.switchId });
    this.pool = opts.pool;
    this.hooks = opts.hooks;
    const ringSize = opts.ringSize ?? 1024;
    this.rings = Array.from({ length: this.nVports }, () => new Ring(ringSize));
    const c = this.caps;
    this.l1 = c.l1Entries > 0 ? new ExactTable(FLOW_WORDS, c.l1Entries, { insertInvProb: 1 }) : null;
    this.l2 = new TupleTable(FLOW_WORDS, { maxEntries: c.l2Entries, maxMasks: c.maxMasks });
    for (const t of c.dlTypes) this.dlOk[t & 0xffff] = 1;
    this.mtus = new Int32Array(this.nVports).fill(DEFAULT_MTU);
    const cap = Math.max(c.l2Entries, 1);
    this.handleOf = new Int32Array(cap);
    this.progs = new Array<CompiledActions>(cap).fill(NO_ACTIONS);
    this.hostOnly = new Uint8Array(cap);
    this.wantsHash = new Uint8Array(cap);
    this.decapPort = new Int32Array(cap).fill(-1);
    this.learnt = new Uint8Array(cap);
    this.fPackets = new Float64Array(cap);
    this.fBytes = new Float64Array(cap);
    this.fUsed = new Float64Array(cap);
    this.fKeys = new Array<FlowKey | null>(cap).fill(null);
    this.fMasks = new Array<FlowMask | null>(cap).fill(null);
    this.fActions = new Array<OdpAction[] | null>(cap).fill(null);
    this.freeIdx = new Int32Array(cap);
    for (let i = 0; i < cap; i++) this.freeIdx[i] = cap - 1 - i;
    this.nFree = cap;
    this.rxPackets = new Float64Array(this.nVports);
    this.rxBytes = new Float64Array(this.nVports);
    this.txPackets = new Float64Array(this.nVports);
    this.txBytes = new Float64Array(this.nVports);
    this.rxMissedPort = new Float64Array(this.nVports);
    this.executor = new ActionExecutor(this.pool, this.onOutput, this.onRecirculate);
  }

  // --- the per-packet path ----------------------------------------------------------------------

  /** Receives the packet in `slot` on `vport` and handles it now. The slot is consumed. */
  rx(vport: number, slot: number): void {
    if (vport >>> 0 >= this.nVports) throw new RangeError(`${this.name}: no vport ${vport}`);
    this.rxPackets[vport]! += 1;
    this.rxBytes[vport]! += this.pool.len[slot] as number;
    this.process(vport, slot);
  }

  /**
   * Queues the packet on `vport`'s receive ring for poll(). A full ring drops it: the slot goes
   * back to the pool and the drop is counted in rxMissed. Returns whether it was queued.
   */
  enqueue(vport: number, slot: number): boolean {
    if (vport >>> 0 >= this.nVports) throw new RangeError(`${this.name}: no vport ${vport}`);
    this.rxPackets[vport]! += 1;
    this.rxBytes[vport]! += this.pool.len[slot] as number;
    if ((this.rings[vport] as Ring).push(slot)) return true;
    this.rxMissed++;
    this.rxMissedPort[vport]! += 1;
    this.pool.release(slot);
    return false;
  }

  /** Handles up to `budget` queued packets, one per vport in turn; returns how many. */
  poll(budget: number): number {
    const n = this.nVports;
    const rings = this.rings;
    let v = this.pollNext;
    let done = 0;
    let idle = 0;
    while (done < budget && idle < n) {
      const slot = (rings[v] as Ring).pop();
      if (slot >= 0) {
        this.process(v, slot);
        done++;
        idle = 0;
      } else idle++;
      v = v + 1 === n ? 0 : v + 1;
    }
    this.pollNext = v;
    return done;
  }

  /** Packets waiting in the receive rings. */
  get queued(): number {
    let n = 0;
    for (const r of this.rings) n += r.size;
    return n;
  }

  private process(vport: number, slot: number): void {
    const pool = this.pool;
    const o = this.o;
    const key = this.key;
    const dv = pool.dv;
    const len = pool.len[slot] as number;
    pool.inPort[slot] = vport;
    const parsed = this.parser.parse(dv, pool.start[slot] as number, len, o);
    if ((o[OUTER_L2] as number) < 0) {
      this.fallback(vport, slot, R_UNCLASSIFIABLE);
      return;
    }
    this.extractor.extract(dv, o, OUTER, vport, key);

    // Traffic for the host itself is never looked up, except tunnel packets when decapsulation
    // flows exist: those rules come first, and a miss is still the host's.
    const dHi = key[K_DL_DST_HI] as number;
    const dLo = key[K_DL_DST_LO] as number;
    // Link-local control frames (STP, LACP, LLDP) are the host's: a bridge never forwards them.
    if (reservedMac(dHi, dLo)) {
      this.fallback(vport, slot, R_HOST);
      return;
    }
    const mh = this.hostMacHi;
    const ml = this.hostMacLo;
    let forHost = false;
    for (let i = 0; i < mh.length; i++) {
      if (mh[i] === dHi && ml[i] === (dLo | 0)) {
        if (this.nDecap === 0 || (o[OUTER_TUN_TYPE] as number) <= 0) {
          this.fallback(vport, slot, R_HOST);
          return;
        }
        forHost = true;
        break;
      }
    }
    const dlType = key[K_DL_TYPE] as number;
    if (dlType === ETH_ARP) {
      const ips = this.hostIps;
      const tpa = (key[K_NW_DST] as number) | 0;
      for (let i = 0; i < ips.length; i++)
        if (ips[i] === tpa) {
          this.fallback(vport, slot, R_HOST);
          return;
        }
    }

    // What the hardware parser cannot take.
    if (!parsed) {
      this.fallback(vport, slot, R_UNCLASSIFIABLE);
      return;
    }
    const dlOk = this.dlOk;
    const v0 = key[K_VLAN0] as number;
    const v1 = key[K_VLAN1] as number;
    if (dlOk[dlType] === 0 || (v0 !== 0 && dlOk[v0 >>> 16] === 0) || (v1 !== 0 && dlOk[v1 >>> 16] === 0)) {
      this.fallback(vport, slot, R_UNCLASSIFIABLE);
      return;
    }

    const hint =
      dlType === ETH_IPV4 ? HINT_IPV4 : dlType === ETH_IPV6 ? HINT_IPV6 : dlType === ETH_ARP ? HINT_ARP : HINT_ALL;
    const f = this.lookup(key, hint);
    if (f < 0) {
      this.fallback(vport, slot, forHost ? R_HOST : R_MISS);
      return;
    }
    if ((this.decapPort[f] as number) >= 0) {
      this.decap(vport, slot, f, len);
      return;
    }
    if (forHost) {
      this.fallback(vport, slot, R_HOST);
      return;
    }
    if (this.hostOnly[f] !== 0) {
      this.fallback(vport, slot, R_ACTION);
      return;
    }
    this.run(vport, slot, f, len);
  }

  /** L1, then L2 (which teaches L1): the flow index, or -1. Sets curTier. */
  private lookup(key: FlowKey, hint: Uint32Array): number {
    const h = flowHash5(key, 0);
    const l1 = this.l1;
    let f = l1 !== null ? l1.lookupHinted(key, 0, hint, h) : -1;
    this.curTier = 1;
    if (f < 0) {
      f = this.l2.lookup(key, 0);
      if (f < 0) return -1;
      this.curTier = 2;
      if (l1 !== null) {
        const r = l1.insert(key, 0, h, f);
        this.learnt[f] = 1;
        if (r !== "updated") this.l1Inserts++;
        if (r === "evicted") this.l1Evictions++;
      }
    }
    return f;
  }

  /** A hit on flow `f` (tier in curTier): counters, then its actions. */
  private run(vport: number, slot: number, f: number, len: number): void {
    if (this.curTier === 1) this.l1Hits++;
    else this.l2Hits++;
    this.fPackets[f]! += 1;
    this.fBytes[f]! += len;
    this.fUsed[f] = this.nowMs;
    const pool = this.pool;
    if (this.wantsHash[f] !== 0 && pool.hash[slot] === 0) pool.hash[slot] = ovsRssHash(this.key);
    this.curVport = vport;
    this.curFlow = this.handleOf[f] as number;
    this.executor.execute(this.progs[f] as CompiledActions, slot, this.o);
  }

  /**
   * A decapsulation flow: keep the tunnel words, let the executor's tnl_pop strip the outer
   * headers (it turns the INNER offsets into OUTER ones), and onRecirculate looks the inner
   * frame up.
   */
  private decap(vport: number, slot: number, f: number, len: number): void {
    const o = this.o;
    const inner = o[INNER_L2] as number;
    if (inner < 0) {
      this.fallback(vport, slot, R_UNCLASSIFIABLE);
      return;
    }
    this.decapHits++;
    this.fPackets[f]! += 1;
    this.fBytes[f]! += len;
    this.fUsed[f] = this.nowMs;
    this.extractor.extractTunnel(this.pool.dv, o, this.tunKey);
    this.decapVport = vport;
    this.decapOuterLen = inner - (this.pool.start[slot] as number);
    this.curVport = vport;
    this.curFlow = this.handleOf[f] as number;
    this.executor.execute(this.progs[f] as CompiledActions, slot, o);
    this.decapVport = -1;
  }

  /** The inner frame of a decapsulated packet: a second lookup with the tunnel metadata. */
  private innerLookup(slot: number, tnlPort: number): void {
    const vport = this.decapVport;
    const pool = this.pool;
    const o = this.o;
    const key = this.key;
    const dv = pool.dv;
    const len = pool.len[slot] as number;
    if (o[O_START] !== pool.start[slot]) this.parser.parse(dv, pool.start[slot] as number, len, o);
    this.extractor.extract(dv, o, OUTER, TNL_BASE + tnlPort, key);
    const t = this.tunKey;
    for (let w = TUN_FIRST; w < TUN_END; w++) key[w] = t[w] as number;
    const dlOk = this.dlOk;
    const v0 = key[K_VLAN0] as number;
    const v1 = key[K_VLAN1] as number;
    let f = -1;
    if (
      (o[OUTER_L2] as number) >= 0 &&
      dlOk[key[K_DL_TYPE] as number] !== 0 &&
      (v0 === 0 || dlOk[v0 >>> 16] !== 0) &&
      (v1 === 0 || dlOk[v1 >>> 16] !== 0)
    ) {
      f = this.lookup(key, HINT_TUNNEL);
    }
    if (f < 0 || this.hostOnly[f] !== 0 || (this.decapPort[f] as number) >= 0) {
      // The host gets the packet as it arrived and decapsulates it itself.
      pool.prepend(slot, this.decapOuterLen);
      this.fallback(vport, slot, f < 0 ? R_MISS : R_ACTION);
      return;
    }
    this.run(vport, slot, f, len);
  }

  private fallback(vport: number, slot: number, reason: number): void {
    this.fallbacks[reason]! += 1;
    this.hooks.toHost(vport, slot, reason);
  }

  /** The executor's output: MTU check, counters, then out through the hook. */
  private readonly onOutput = (port: number, slot: number): void => {
    const pool = this.pool;
    if (port >>> 0 >= this.nVports) {
      this.txDrops++;
      this.txDropsNoPort++;
      pool.release(slot);
      return;
    }
    const s = pool.start[slot] as number;
    const n = pool.len[slot] as number;
    // The MTU counts the payload after the Ethernet header and its VLAN tags.
    let limit = (this.mtus[port] as number) + ETH_HEADER;
    if (n > limit && n >= 18) {
      const dv = pool.dv;
      const t0 = dv.getUint16(s + 12);
      if (t0 === ETH_VLAN || t0 === ETH_QINQ) {
        limit += VLAN_TAG;
        if (n >= 22) {
          const t1 = dv.getUint16(s + 16);
          if (t1 === ETH_VLAN || t1 === ETH_QINQ) limit += VLAN_TAG;
        }
      }
    }
    if (n > limit) {
      this.txDrops++;
      this.txDropsMtu++;
      pool.release(slot);
      return;
    }
    this.txPackets[port]! += 1;
    this.txBytes[port]! += n;
    this.hooks.tx(port, slot, this.curTier, this.curFlow);
  };

  /**
   * After a decapsulation flow's tnl_pop: the inner lookup. Any other recirculation (inside a
   * clone): the NIC has none, so the copy goes to the host.
   */
  private readonly onRecirculate = (slot: number, tnlPort: number): void => {
    if (tnlPort >= 0 && this.decapVport >= 0) {
      this.innerLookup(slot, tnlPort);
      return;
    }
    this.fallback(this.curVport, slot, R_ACTION);
  };

  // --- configuration ----------------------------------------------------------------------------

  /**
   * Addresses of the host itself: frames to one of `macs`, and ARP whose target IP is one of
   * `ips` (IPv4), go to the host (FallbackReason.HOST) without a lookup. Replaces earlier ones.
   */
  setHostAddresses(macs: readonly string[], ips: readonly string[]): void {
    const hi = new Int32Array(macs.length);
    const lo = new Int32Array(macs.length);
    macs.forEach((m, i) => {
      [hi[i], lo[i]] = macWordsFromString(m);
    });
    const ip = Int32Array.from(ips, (a) => {
      if (a.includes(":")) throw new Error(`${this.name}: host address ${a}: only IPv4 (ARP) addresses are checked`);
      return ipv4FromString(a) | 0;
    });
    this.hostMacHi = hi;
    this.hostMacLo = lo;
    this.hostIps = ip;
  }

  setMtu(vport: number, mtu: number): void {
    if (vport >>> 0 >= this.nVports) throw new RangeError(`${this.name}: no vport ${vport}`);
    if (!(Number.isInteger(mtu) && mtu >= MIN_MTU && mtu <= MAX_MTU)) throw new RangeError(`MTU ${mtu} out of range`);
    this.mtus[vport] = mtu;
  }

  mtu(vport: number): number {
    return this.mtus[vport] as number;
  }

  // --- offloaded flows --------------------------------------------------------------------------

  /**
   * Installs a datapath flow in the L2 tables, if the hardware can take it: every match field and
   * action supported (caps), outputs to vports of this eSwitch, room in the table and among the
   * masks. `flow` is the caller's handle (a non-negative int32), reported by hooks.tx.
   */
  offer(flow: number, key: FlowKey, mask: FlowMask, actions: OdpAction[]): OfferResult {
    if (!Number.isInteger(flow) || flow < 0 || flow > 0x7fffffff)
      throw new RangeError(`flow handle must be a non-negative int32, got ${flow}`);
    if (this.idxOf.has(flow)) return { ok: false, reason: `flow ${flow} is already offloaded` };
    const checked = this.vet(key, mask, actions);
    if (typeof checked === "string") return { ok: false, reason: checked };
    const c = this.caps;
    if (this.l2.size >= c.l2Entries || this.nFree === 0)
      return { ok: false, reason: `table full (${c.l2Entries} entries)` };
    const same = this.l2.find(key, mask);
    if (same >= 0) return { ok: false, reason: `the same match is offloaded as flow ${this.handleOf[same]}` };
    const idx = this.freeIdx[this.nFree - 1] as number;
    const r = this.l2.insert(key, mask, idx);
    if (r === "table-full") return { ok: false, reason: `table full (${c.l2Entries} entries)` };
    if (r === "mask-limit") return { ok: false, reason: `mask limit (${c.maxMasks} masks)` };
    this.nFree--;
    const mk = Uint32Array.from(mask);
    const k = new Uint32Array(mk.length);
    for (let i = 0; i < k.length; i++) k[i] = (key[i] as number) & (mk[i] as number);
    this.idxOf.set(flow, idx);
    this.handleOf[idx] = flow;
    this.fKeys[idx] = k;
    this.fMasks[idx] = mk;
    this.fPackets[idx] = 0;
    this.fBytes[idx] = 0;
    this.fUsed[idx] = -1;
    this.setActions(idx, actions, checked);
    return { ok: true };
  }

  /**
   * Replaces an offloaded flow's actions; they apply from the next packet, L1 hits included. If
   * the hardware cannot run the new actions, the flow is removed from the NIC and the reason
   * returned: the host then handles it in software.
   */
  modify(flow: number, actions: OdpAction[]): OfferResult {
    const idx = this.idxOf.get(flow);
    if (idx === undefined) return { ok: false, reason: `flow ${flow} is not offloaded` };
    const checked = this.vet(this.fKeys[idx] as FlowKey, this.fMasks[idx] as FlowMask, actions);
    if (typeof checked === "string") {
      this.remove(flow);
      return { ok: false, reason: checked };
    }
    this.setActions(idx, actions, checked);
    return { ok: true };
  }

  /**
   * Rewrites the outer Ethernet addresses of an offloaded flow's tnl_push headers in place (the
   * neighbour or the egress device's MAC changed): the flow keeps its table entry, its L1 entries
   * and its counters, and the next packet, L1 hits included, leaves with the new header. `src`
   * null keeps the source address.
   */
  rewriteEncap(flow: number, dst: string, src: string | null = null): OfferResult {
    const idx = this.idxOf.get(flow);
    if (idx === undefined) return { ok: false, reason: `flow ${flow} is not offloaded` };
    const acts = this.fActions[idx] as OdpAction[];
    if (!acts.some((a) => a.type === "tnl_push")) return { ok: false, reason: `flow ${flow} does not encapsulate` };
    const next = acts.map(
      (a): OdpAction =>
        a.type !== "tnl_push"
          ? a
          : { ...a, header: { ...a.header, eth: { ...a.header.eth, dst, src: src ?? a.header.eth.src } } },
    );
    return this.modify(flow, next);
  }

  /** Removes the flow and every L1 entry learnt from it; false if it was not offloaded. */
  remove(flow: number): boolean {
    const idx = this.idxOf.get(flow);
    if (idx === undefined) return false;
    this.l2.remove(this.fKeys[idx] as FlowKey, this.fMasks[idx] as FlowMask);
    if (this.learnt[idx] !== 0) this.l1?.deleteValue(idx);
    this.learnt[idx] = 0;
    this.idxOf.delete(flow);
    this.progs[idx] = NO_ACTIONS;
    this.hostOnly[idx] = 0;
    this.wantsHash[idx] = 0;
    if ((this.decapPort[idx] as number) >= 0) this.nDecap--;
    this.decapPort[idx] = -1;
    this.fKeys[idx] = null;
    this.fMasks[idx] = null;
    this.fActions[idx] = null;
    this.freeIdx[this.nFree++] = idx;
    return true;
  }

  /** Hardware counters of an offloaded flow, or null if it is not offloaded. */
  flowStats(flow: number): NicFlowStats | null {
    const idx = this.idxOf.get(flow);
    if (idx === undefined) return null;
    return {
      packets: this.fPackets[idx] as number,
      bytes: this.fBytes[idx] as number,
      usedMs: this.fUsed[idx] as number,
    };
  }

  /** Every offloaded flow (copies), in handle order, for dumps. */
  flows(): NicFlowDump[] {
    return [...this.idxOf]
      .sort((a, b) => a[0] - b[0])
      .map(([flow, idx]) => ({
        flow,
        key: Uint32Array.from(this.fKeys[idx] as FlowKey),
        mask: Uint32Array.from(this.fMasks[idx] as FlowMask),
        actions: [...(this.fActions[idx] as OdpAction[])],
        packets: this.fPackets[idx] as number,
        bytes: this.fBytes[idx] as number,
        usedMs: this.fUsed[idx] as number,
      }));
  }

  /** Offloaded flows. */
  get flowCount(): number {
    return this.idxOf.size;
  }

  /** Capability, port and compile checks shared by offer() and modify(): the compiled actions,
   *  or why the hardware cannot take them. */
  private vet(key: FlowKey, mask: FlowMask, actions: OdpAction[]): CompiledActions | string {
    const why = checkOffload(this.caps, mask, actions, key);
    if (why !== null) return why;
    for (const p of outputPorts(actions)) {
      if (p >>> 0 >= this.nVports) return `output to port ${p}: not a vport of ${this.name}`;
    }
    // One lookup after decapsulation: the decap rule chains to the inner rules and does nothing else.
    if (actions.some((a) => a.type === "tnl_pop") && decapPortOf(actions) < 0)
      return "tnl_pop with other actions not supported";
    // The encapsulated packet must fit the egress MTU whenever the inner one fits the ingress MTU.
    const inPort = key[K_IN_PORT] as number;
    if (inPort < this.nVports) {
      for (const e of encapOutputs(actions)) {
        if (e.out < 0 || e.out >= this.nVports) continue;
        const inMtu = this.mtus[inPort] as number;
        const outMtu = this.mtus[e.out] as number;
        if (inMtu + e.size > outMtu) {
          return `MTU: vport ${inPort} MTU ${inMtu} + ${e.size} bytes of encapsulation exceeds vport ${e.out} MTU ${outMtu}`;
        }
      }
    }
    try {
      return compileActions(actions, formatOdpActions(actions));
    } catch (e) {
      if (e instanceof UnsupportedActionError) return e.message;
      throw e;
    }
  }

  private setActions(idx: number, actions: OdpAction[], prog: CompiledActions): void {
    this.progs[idx] = prog;
    this.fActions[idx] = [...actions];
    this.hostOnly[idx] = needsHost(actions) ? 1 : 0;
    this.wantsHash[idx] = hasTnlPush(actions) ? 1 : 0;
    const was = (this.decapPort[idx] as number) >= 0;
    const dp = decapPortOf(actions);
    this.decapPort[idx] = dp;
    this.nDecap += (dp >= 0 ? 1 : 0) - (was ? 1 : 0);
  }

  // --- counters ---------------------------------------------------------------------------------

  /** All counters as a plain object, for printing (allocates). */
  counters(): ESwitchCounters {
    const fb: Record<string, number> = {};
    FALLBACK_REASON_NAMES.forEach((n, i) => {
      fb[n] = this.fallbacks[i] as number;
    });
    return {
      rx: Array.from(this.rxPackets),
      rxBytes: Array.from(this.rxBytes),
      tx: Array.from(this.txPackets),
      txBytes: Array.from(this.txBytes),
      rxMissed: this.rxMissed,
      l1Hits: this.l1Hits,
      l2Hits: this.l2Hits,
      decapHits: this.decapHits,
      fallbacks: fb as Record<(typeof FALLBACK_REASON_NAMES)[number], number>,
      l1Inserts: this.l1Inserts,
      l1Evictions: this.l1Evictions,
      l1Entries: this.l1?.size ?? 0,
      l2Entries: this.l2.size,
      masks: this.l2.maskCount,
      txDrops: this.txDrops,
      txDropsByReason: { mtu: this.txDropsMtu, "no-port": this.txDropsNoPort },
      actionDrops: this.executor.dropped,
      cloneFailures: this.executor.cloneFailures,
      noHeadroom: this.executor.noHeadroom,
      queued: this.queued,
    };
  }
}

export interface ESwitchCounters {
  /** Per vport, packets received (rx() and enqueue(), rxMissed included). */
  rx: number[];
  rxBytes: number[];
  /** Per vport, packets sent by offloaded actions. */
  tx: number[];
  txBytes: number[];
  /** Packets dropped because a receive ring was full. */
  rxMissed: number;
  l1Hits: number;
  l2Hits: number;
  /** Packets decapsulated on the NIC; each then counts once more as an L1/L2 hit or a fallback. */
  decapHits: number;
  /** Packets sent to the host, by reason. */
  fallbacks: Record<(typeof FALLBACK_REASON_NAMES)[number], number>;
  l1Inserts: number;
  l1Evictions: number;
  l1Entries: number;
  l2Entries: number;
  masks: number;
  /** Outputs not sent: over the egress vport's MTU, or to a port that does not exist. */
  txDrops: number;
  txDropsByReason: { mtu: number; "no-port": number };
  /** Packets whose actions ended without an output (drop flows). */
  actionDrops: number;
  cloneFailures: number;
  noHeadroom: number;
  /** Packets still in the receive rings: rx = l1Hits + l2Hits + fallbacks + rxMissed + queued. */
  queued: number;
}

// The datapath actions executor: applies a flow's datapath actions (odp.ts's AST, the language of
// `dpctl/dump-flows`) to a packet in a PacketPool slot, in place, as Open vSwitch's
// odp_execute_actions() and dpif-netdev do.
//
// An action list is compiled once, when a flow is installed, into a flat Int32Array program plus
// a byte array for the tunnel headers; executing walks that program and allocates nothing.
// The packet is never copied except where it really leaves twice: every output but the last
// gets a pool.clone(), the last one gets the slot itself. Headers grow into the slot's headroom
// (push_vlan moves the 12 MAC bytes back 4 bytes, tnl_push writes the pre-built header in
// front) and shrink by moving the start forward (pop_vlan, tnl_pop); the payload never moves.
//
// The executor owns the slot it is given: the slot ends in an output, a recirculation (tnl_pop,
// recirc) or, when the actions end without either, back in the pool (a drop).
//
// The parser's offsets for the packet (src/wire/offsets.ts) come along. push_vlan, pop_vlan and
// tnl_pop keep them right (tnl_pop turns the INNER stack into the OUTER one, so the recirculated
// packet needs no re-parse); tnl_push marks them stale by setting o[P.START] to OFFSETS_STALE,
// and a later action that needs them re-parses first. offsetsValid() tells a caller which.
//
// Checksums are updated incrementally (RFC 1624) for every rewrite, as OVS's packet_set_*()
// functions do: the IPv4 header checksum for address/TOS/TTL changes; the TCP and UDP
// checksums for address (pseudo-header) and port changes, a zero UDP checksum staying zero and
// a computed zero sent as 0xffff (RFC 768); the ICMPv6 checksum for IPv6 address changes. With
// an IPv6 routing header that still has segments left, the destination in the pseudo-header is
// the final one, not the header's, so a destination rewrite leaves the L4 checksum alone (OVS's
// packet_rh_present()).

import { INNER, OUTER, P, S, STACK_LEN, TunnelType, newOffsets } from "../wire/offsets.ts";
import { PacketParser } from "../wire/parse.ts";
import type { PacketPool } from "./pool.ts";
import { TcpView } from "../wire/tcp.ts";
import { csumFinish, csumPartial, csumUpdate32, pseudoHeaderV4, pseudoHeaderV6 } from "../wire/checksum.ts";
import { EtherType, IpProto } from "../wire/numbers.ts";
import { viewOf } from "../wire/bytes.ts";
import { emitEthernet, ETHERNET_HEADER_LEN, type EthernetRepr } from "../wire/ethernet.ts";
import { emitIpv4, IPV4_HEADER_LEN, ipv4HeaderLen, Ipv4View, type Ipv4Repr } from "../wire/ipv4.ts";
import { emitIpv6, IPV6_HEADER_LEN, ipv6HeaderLen, Ipv6ExtWalker, Ipv6View, type Ipv6Repr } from "../wire/ipv6.ts";
import { emitUdp, UDP_HEADER_LEN, UdpView, type UdpRepr } from "../wire/udp.ts";
import { emitGre, greHeaderLen, GreFlag, type GreRepr } from "../wire/gre.ts";
import { emitVxlan, VXLAN_HEADER_LEN, type VxlanRepr } from "../wire/vxlan.ts";
import {
  emitGeneve,
  GENEVE_HEADER_LEN,
  GENEVE_MAX_OPTIONS_LEN,
  geneveHeaderLen,
  type GeneveRepr,
} from "../wire/geneve.ts";
import { hashAdd, hashFinish } from "../tables/hash.ts";
import { u32 as keyWord, VLAN_CFI, W, type FlowKey } from "../flow/key.ts";
import type { OdpAction, TnlPushHeader } from "../flow/odp.ts";

/** Opcodes of a compiled program; each is followed by OP_LEN[op] - 1 operands. */
const Op = {
  OUTPUT: 1, // port, last (1: hand over the slot itself, 0: a clone)
  PUSH_VLAN: 2, // tpid, tci
  POP_VLAN: 3,
  SET_ETH: 4, // dstHi, dstHiMask, dstLo, dstLoMask, srcHi, srcHiMask, srcLo, srcLoMask
  SET_IPV4: 5, // src, srcMask, dst, dstMask, tos, tosMask, ttl, ttlMask
  SET_IPV6: 6, // src[4], srcMask[4], dst[4], dstMask[4], label, labelMask, tclass, tclassMask, hlimit, hlimitMask
  SET_TCP: 7, // src, srcMask, dst, dstMask
  SET_UDP: 8, // src, srcMask, dst, dstMask
  TNL_PUSH: 9, // index in `headers`, header length, L3 offset in the header, UDP offset
  TNL_POP: 10, // tunnel port, last
  RECIRC: 11, // recirculation id, last
  CLONE: 12, // program length of the clone's actions (which follow), last
} as const;
const OP_LEN: readonly number[] = [0, 3, 3, 1, 9, 9, 23, 5, 5, 5, 3, 3, 3];
const CLONE_HEADER_LEN = 3;

/** o[P.START] of offsets that no longer describe the packet (after tnl_push). */
export const OFFSETS_STALE = -2;

/** Open vSwitch's default tunnel source port range (netdev-native-tnl.c tnl_udp_port_min/max). */
export const TNL_UDP_PORT_MIN = 32768;
export const TNL_UDP_PORT_MAX = 61000;

/** A compiled action list: run it with ActionExecutor.execute(). Immutable, shareable. */
export interface CompiledActions {
  readonly code: Int32Array;
  readonly headers: readonly Uint8Array[]; // tnl_push headers as they go on the wire, lengths and port 0
  readonly text: string; // the actions as formatOdpActions would print them, for traces
}

/** Why an action list cannot be compiled (an action the emulator does not model). */
export class UnsupportedActionError extends Error {
  override readonly name = "UnsupportedActionError";
}

// --- compiling ----------------------------------------------------------------------------------

// A module-local copy of key.ts u32, which ovsRssHash calls per packet (see parse.ts on imports).
const u32 = keyWord;
const NO_OPTIONS = new Uint8Array(0);
/** The packet parser's bound on IPv6 extension headers (parse.ts): every chain it walked to the
 *  upper layer walks here too. */
const EXT_HEADERS_MAX = 128;
/** Offset of Segments Left in a routing header (RFC 8200 §4.4). */
const RH_SEGMENTS_LEFT = 3;

/**
 * The tnl_push header as it goes on the wire, and where its L3 and UDP headers start
 * ((l3 << 8) | udp; GRE has no UDP header: 0). Built once per flow, at compile time. The lengths
 * and the IPv4 header checksum are left 0 here: tnlPush writes them for each packet, and the UDP
 * source port from the packet's hash. A GRE checksum, when the C bit asks for one, covers the
 * GRE header and payload (RFC 2784 §2.2), so it too waits for the packet.
 */
function compileTnlHeader(h: TnlPushHeader): [Uint8Array, number] {
  const eth: EthernetRepr = { dst: h.eth.dst, src: h.eth.src, etherType: h.eth.dlType };
  const i4 = h.ipv4;
  const ip4: Ipv4Repr | null = i4
    ? {
        dscp: i4.tos >>> 2,
        ecn: i4.tos & 3,
        id: 0,
        // `frag` is the flags + fragment offset word, as OVS prints it (frag=0x4000: DF).
        reservedBit: (i4.frag & 0x8000) !== 0,
        dontFrag: (i4.frag & 0x4000) !== 0,
        moreFrags: (i4.frag & 0x2000) !== 0,
        fragOffset: (i4.frag & 0x1fff) * 8,
        ttl: i4.ttl,
        protocol: i4.proto,
        src: i4.src,
        dst: i4.dst,
        options: NO_OPTIONS,
        payloadLen: -IPV4_HEADER_LEN, // a total length of 0
      }
    : null;
  const i6 = h.ipv6;
  const ip6: Ipv6Repr | null =
    !ip4 && i6
      ? {
          dscp: i6.tclass >>> 2,
          ecn: i6.tclass & 3,
          flowLabel: i6.label,
          payloadLen: 0,
          nextHeader: i6.proto,
          hopLimit: i6.hlimit,
          src: i6.src,
          dst: i6.dst,
          extHeaders: [],
        }
      : null;
  const udp: UdpRepr | null = h.udp
    ? { srcPort: h.udp.src, dstPort: h.udp.dst, length: 0, checksum: h.udp.csum }
    : null;
  const g = h.gre;
  const gre: GreRepr | null =
    !udp && g
      ? {
          version: g.flags & GreFlag.VERSION,
          protocolType: g.proto,
          checksum: g.flags & GreFlag.C ? (g.csum ?? 0) : null,
          reserved1: 0,
          key: g.flags & GreFlag.K ? (g.key ?? 0) : null,
          seq: g.flags & GreFlag.S ? (g.seq ?? 0) : null,
          ack: null,
        }
      : null;
  const vxlan: VxlanRepr | null = h.vxlan
    ? { flags: h.vxlan.flags >>> 24, reserved1: h.vxlan.flags & 0xffffff, vni: h.vxlan.vni }
    : null;
  const gv = h.geneve;
  const geneve: GeneveRepr | null =
    !vxlan && gv
      ? {
          oam: gv.oam,
          critical: gv.crit,
          protocolType: EtherType.TEB,
          vni: gv.vni,
          options: (gv.options ?? []).map((o) => ({ class: o.cls, type: o.type, data: o.data })),
        }
      : null;

  const l3 = ETHERNET_HEADER_LEN;
  const l4 = l3 + (ip4 ? ipv4HeaderLen(ip4) : ip6 ? ipv6HeaderLen(ip6) : 0);
  const tun = l4 + (udp ? UDP_HEADER_LEN : gre ? greHeaderLen(gre) : 0);
  const size = tun + (vxlan ? VXLAN_HEADER_LEN : geneve ? geneveHeaderLen(geneve) : 0);
  if (geneve && size - tun - GENEVE_HEADER_LEN > GENEVE_MAX_OPTIONS_LEN) {
    throw new UnsupportedActionError(`tnl_push: geneve options of ${size - tun - GENEVE_HEADER_LEN} bytes do not fit`);
  }
  const b = new Uint8Array(size);
  const dv = viewOf(b);
  emitEthernet(eth, dv, 0);
  if (ip4) emitIpv4(ip4, dv, l3, false);
  else if (ip6) emitIpv6(ip6, dv, l3);
  if (udp) emitUdp(udp, dv, l4);
  else if (gre && g) {
    emitGre(gre, dv, l4);
    // The flags word as given: bits the GRE emitter does not model (R, recursion, …) pass through.
    dv.setUint16(l4, g.flags);
  }
  if (vxlan) emitVxlan(vxlan, dv, tun);
  else if (geneve) emitGeneve(geneve, dv, tun);
  if (size !== h.size) {
    throw new UnsupportedActionError(
      `tnl_push: header(size=${h.size}) but its parts make ${size} bytes (options are not modelled)`,
    );
  }
  return [b, (l3 << 8) | (udp ? l4 : 0)];
}

function isConsumer(a: OdpAction): boolean {
  return a.type === "output" || a.type === "tnl_pop" || a.type === "recirc" || a.type === "clone";
}

function compileInto(actions: readonly OdpAction[], code: number[], headers: Uint8Array[], lastIsFinal: boolean): void {
  for (const a of actions) {
    if (a.type === "raw" || a.type === "userspace") {
      throw new UnsupportedActionError(`datapath action ${a.text} is not modelled by the executor`);
    }
  }
  let last = -1;
  for (let i = 0; i < actions.length; i++) if (isConsumer(actions[i] as OdpAction)) last = i;
  // Actions after the last output change a packet nobody sees: drop them, as OVS does.
  for (let i = 0; i <= last; i++) {
    const a = actions[i] as OdpAction;
    const fin = lastIsFinal && i === last ? 1 : 0;
    switch (a.type) {
      case "output":
        code.push(Op.OUTPUT, a.port, fin);
        break;
      case "push_vlan":
        code.push(Op.PUSH_VLAN, a.tpid, a.tci);
        break;
      case "pop_vlan":
        code.push(Op.POP_VLAN);
        break;
      case "tnl_pop":
        code.push(Op.TNL_POP, a.port, fin);
        break;
      case "recirc":
        code.push(Op.RECIRC, a.id | 0, fin);
        break;
      case "tnl_push": {
        const [hdr, l3udp] = compileTnlHeader(a.header);
        code.push(Op.TNL_PUSH, headers.length, a.header.size, l3udp >>> 8, l3udp & 255);
        headers.push(hdr);
        break;
      }
      case "set": {
        const k = a.key;
        const m = a.mask;
        const vm = (w: number, bits = 0xffffffff): [number, number] => [
          (u32(k, w) & u32(m, w) & bits) | 0,
          (u32(m, w) & bits) | 0,
        ];
        if (a.attr === "eth") {
          code.push(
            Op.SET_ETH,
            ...vm(W.DL_DST_HI, 0xffff),
            ...vm(W.DL_DST_LO),
            ...vm(W.DL_SRC_HI, 0xffff),
            ...vm(W.DL_SRC_LO),
          );
        } else if (a.attr === "ipv4") {
          const t = W.NW_PROTO_TOS_TTL_FRAG;
          code.push(
            Op.SET_IPV4,
            ...vm(W.NW_SRC),
            ...vm(W.NW_DST),
            ((u32(k, t) & u32(m, t)) >>> 16) & 255,
            (u32(m, t) >>> 16) & 255,
            ((u32(k, t) & u32(m, t)) >>> 8) & 255,
            (u32(m, t) >>> 8) & 255,
          );
        } else if (a.attr === "ipv6") {
          const t = W.NW_PROTO_TOS_TTL_FRAG;
          code.push(Op.SET_IPV6);
          for (let w = 0; w < 4; w++) code.push(vm(W.IPV6_SRC + w)[0]);
          for (let w = 0; w < 4; w++) code.push(vm(W.IPV6_SRC + w)[1]);
          for (let w = 0; w < 4; w++) code.push(vm(W.IPV6_DST + w)[0]);
          for (let w = 0; w < 4; w++) code.push(vm(W.IPV6_DST + w)[1]);
          code.push(
            ...vm(W.IPV6_LABEL, 0xfffff),
            ((u32(k, t) & u32(m, t)) >>> 16) & 255,
            (u32(m, t) >>> 16) & 255,
            ((u32(k, t) & u32(m, t)) >>> 8) & 255,
            (u32(m, t) >>> 8) & 255,
          );
        } else if (a.attr === "tcp" || a.attr === "udp") {
          const v = u32(k, W.TP) & u32(m, W.TP);
          const mm = u32(m, W.TP);
          code.push(a.attr === "tcp" ? Op.SET_TCP : Op.SET_UDP, v >>> 16, mm >>> 16, v & 0xffff, mm & 0xffff);
        } else {
          throw new UnsupportedActionError(`set(${a.attr}(…)) is not modelled by the executor`);
        }
        break;
      }
      case "clone": {
        const at = code.length;
        code.push(Op.CLONE, 0, fin);
        compileInto(a.actions, code, headers, fin === 1);
        code[at + 1] = code.length - at - CLONE_HEADER_LEN;
        break;
      }
    }
  }
}

/** Compile once, at flow install; throws UnsupportedActionError for actions not modelled. */
export function compileActions(actions: readonly OdpAction[], text = ""): CompiledActions {
  const code: number[] = [];
  const headers: Uint8Array[] = [];
  compileInto(actions, code, headers, true);
  return { code: Int32Array.from(code), headers, text };
}

// --- the RSS hash OVS picks tunnel source ports from ----------------------------------------------

const bswap = (v: number): number =>
  (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;

/**
 * miniflow_hash_5tuple(flow, 0) of lib/flow.c as an x86-64 build of Open vSwitch computes it
 * (Murmur3 mhash, fields read in host byte order): the hash dpif-netdev stores as a packet's RSS
 * hash when the NIC gave none, and tnl_push's UDP source port is taken from. Allocates nothing.
 */
export function ovsRssHash(key: FlowKey): number {
  let h = 0;
  const dlType = u32(key, W.DL_TYPE);
  if (dlType === EtherType.IPV6) {
    for (let w = 0; w < 8; w++) h = hashAdd(h, bswap(u32(key, W.IPV6_SRC + w)));
  } else if (dlType === EtherType.IPV4 || dlType === EtherType.ARP) {
    h = hashAdd(h, bswap(u32(key, W.NW_SRC)));
    h = hashAdd(h, bswap(u32(key, W.NW_DST)));
  } else {
    return hashFinish(h, 42);
  }
  const proto = u32(key, W.NW_PROTO_TOS_TTL_FRAG) >>> 24;
  h = hashAdd(h, proto);
  if (
    proto === IpProto.TCP ||
    proto === IpProto.UDP ||
    proto === 132 ||
    proto === IpProto.ICMP ||
    proto === IpProto.ICMPV6
  ) {
    h = hashAdd(h, bswap(u32(key, W.TP)));
  }
  return hashFinish(h, 42);
}

/** netdev_tnl_get_src_port(): the RSS hash scaled into [TNL_UDP_PORT_MIN, TNL_UDP_PORT_MAX). */
export function tunnelSrcPort(hash: number): number {
  return Math.floor(((hash >>> 0) * (TNL_UDP_PORT_MAX - TNL_UDP_PORT_MIN)) / 0x100000000) + TNL_UDP_PORT_MIN;
}

// --- executing ----------------------------------------------------------------------------------

export type OutputFn = (port: number, slot: number) => void;
/** After tnl_pop (tnlPort ≥ 0) or recirc (recircId): the caller looks the packet up again. */
export type RecirculateFn = (slot: number, tnlPort: number, recircId: number) => void;

/** Whether `o` still describes the packet in `slot` (false after tnl_push until re-parsed). */
export function offsetsValid(pool: PacketPool, slot: number, o: Int32Array): boolean {
  return o[P.START] === pool.start[slot];
}

export class ActionExecutor {
  private readonly parser = new PacketParser();
  private readonly ip4 = new Ipv4View();
  private readonly tcp = new TcpView();
  private readonly udp = new UdpView();
  private readonly ip6 = new Ipv6View();
  private readonly ext = new Ipv6ExtWalker(EXT_HEADERS_MAX);
  /** Packets whose actions ended without an output or recirculation. */
  dropped = 0;
  /** Outputs lost because the pool had no slot for a clone. */
  cloneFailures = 0;
  /** Packets dropped because the headroom could not take a pushed header. */
  noHeadroom = 0;
  /** After a tnl_pop, until the next: the offsets of the packet as it arrived, outer headers
   *  included (they are still in the slot, before its start). */
  readonly popped = newOffsets();

  constructor(
    private readonly pool: PacketPool,
    private readonly output: OutputFn,
    private readonly recirculate: RecirculateFn = (slot) => {
      pool.release(slot);
    },
  ) {}

  /**
   * Runs `prog` on the packet in `slot`, whose parser offsets are `o` (OFFSETS_LEN long, kept
   * valid or marked stale as the file comment says). The slot is consumed.
   */
  execute(prog: CompiledActions, slot: number, o: Int32Array): void {
    if (!this.run(prog, 0, prog.code.length, slot, o)) {
      this.dropped++;
      this.pool.release(slot);
    }
  }

  /** Runs code[from, to) on `slot`; true when the slot was handed on (final output etc.). */
  private run(prog: CompiledActions, from: number, to: number, slot: number, o: Int32Array): boolean {
    const c = prog.code;
    const pool = this.pool;
    for (let pc = from; pc < to; pc += OP_LEN[c[pc] as number] as number) {
      switch (c[pc]) {
        case Op.OUTPUT: {
          if (c[pc + 2]) {
            this.output(c[pc + 1] as number, slot);
            return true;
          }
          const copy = pool.clone(slot);
          if (copy < 0) this.cloneFailures++;
          else this.output(c[pc + 1] as number, copy);
          break;
        }
        case Op.PUSH_VLAN:
          if (!this.pushVlan(slot, o, c[pc + 1] as number, c[pc + 2] as number)) {
            this.noHeadroom++;
            return false;
          }
          break;
        case Op.POP_VLAN:
          this.popVlan(slot, o);
          break;
        case Op.SET_ETH:
          this.setEth(slot, c, pc + 1);
          break;
        case Op.SET_IPV4:
          this.setIpv4(slot, o, c, pc + 1);
          break;
        case Op.SET_IPV6:
          this.setIpv6(slot, o, c, pc + 1);
          break;
        case Op.SET_TCP:
        case Op.SET_UDP:
          this.setPorts(slot, o, c[pc] === Op.SET_TCP, c, pc + 1);
          break;
        case Op.TNL_PUSH:
          if (!this.tnlPush(slot, o, prog.headers[c[pc + 1] as number] as Uint8Array, c, pc + 1)) {
            this.noHeadroom++;
            return false;
          }
          break;
        case Op.TNL_POP:
        case Op.RECIRC: {
          const isPop = c[pc] === Op.TNL_POP;
          let s = slot;
          if (!c[pc + 2]) {
            s = pool.clone(slot);
            if (s < 0) {
              this.cloneFailures++;
              break;
            }
          }
          if (isPop && !this.tnlPop(s, s === slot ? o : null)) {
            if (s !== slot) pool.release(s);
            break;
          }
          this.recirculate(s, isPop ? (c[pc + 1] as number) : -1, isPop ? 0 : (c[pc + 1] as number));
          if (s === slot) return true;
          break;
        }
        case Op.CLONE: {
          const len = c[pc + 1] as number;
          const body = pc + CLONE_HEADER_LEN;
          if (c[pc + 2]) return this.run(prog, body, body + len, slot, o);
          const copy = pool.clone(slot);
          if (copy < 0) this.cloneFailures++;
          else {
            // The copy's offsets start stale (it sits elsewhere in the pool); actions that need
            // them re-parse into this scratch array.
            this.scratch[P.START] = OFFSETS_STALE;
            if (!this.run(prog, body, body + len, copy, this.scratch)) {
              this.dropped++;
              pool.release(copy);
            }
          }
          pc += len;
          break;
        }
      }
    }
    return false;
  }

  private readonly scratch = new Int32Array(2 * STACK_LEN + 5);

  /** Offsets for `slot`, re-parsing when they went stale. */
  private fresh(slot: number, o: Int32Array): void {
    const start = this.pool.start[slot] as number;
    if (o[P.START] !== start) this.parser.parse(this.pool.dv, start, this.pool.len[slot] as number, o);
  }

  private pushVlan(slot: number, o: Int32Array, tpid: number, tci: number): boolean {
    const pool = this.pool;
    if (!pool.prepend(slot, 4)) return false;
    const s = pool.start[slot] as number;
    pool.bytes.copyWithin(s, s + 4, s + 16);
    pool.dv.setUint16(s + 12, tpid);
    // The action's TCI carries OVS's "tag present" CFI bit (key.ts); the wire's DEI bit is clear.
    pool.dv.setUint16(s + 14, tci & ~VLAN_CFI);
    if (o[P.START] === s + 4) {
      // The bytes after the MACs kept their place: the new tag's TPID sits 4 bytes before the old
      // first TPID/EtherType, every other offset is unchanged.
      o[P.START] = s;
      if ((o[OUTER + S.L2] as number) >= 0) {
        const n = o[OUTER + S.VLAN_N] as number;
        if (n >= 2 || n < 0)
          o[P.START] = OFFSETS_STALE; // a third tag: the parser would stop elsewhere
        else {
          o[OUTER + S.L2] = s;
          o[OUTER + S.VLAN1] = o[OUTER + S.VLAN0] as number;
          o[OUTER + S.VLAN0] = s + 12;
          o[OUTER + S.VLAN_N] = n + 1;
          if (n === 0) o[OUTER + S.VLAN1] = -1;
        }
      }
    } else {
      o[P.START] = OFFSETS_STALE;
    }
    return true;
  }

  private popVlan(slot: number, o: Int32Array): void {
    const pool = this.pool;
    const s = pool.start[slot] as number;
    const len = pool.len[slot] as number;
    if (len < 18) return;
    const t = pool.dv.getUint16(s + 12);
    if (t !== EtherType.VLAN && t !== EtherType.QINQ) return; // eth_pop_vlan: only a real tag
    pool.bytes.copyWithin(s + 4, s, s + 12);
    pool.adj(slot, 4);
    if (o[P.START] === s && (o[OUTER + S.VLAN_N] as number) >= 1) {
      o[P.START] = s + 4;
      o[OUTER + S.L2] = s + 4;
      o[OUTER + S.VLAN0] = o[OUTER + S.VLAN1] as number;
      o[OUTER + S.VLAN1] = -1;
      o[OUTER + S.VLAN_N] = (o[OUTER + S.VLAN_N] as number) - 1;
    } else {
      o[P.START] = OFFSETS_STALE;
    }
  }

  private setEth(slot: number, c: Int32Array, a: number): void {
    const dv = this.pool.dv;
    const s = this.pool.start[slot] as number;
    // dst then src, each as a 16-bit high part and a 32-bit low part (key.ts's MAC split).
    for (let i = 0; i < 2; i++) {
      const off = s + 6 * i;
      const b = a + 4 * i;
      const hm = c[b + 1] as number;
      if (hm) dv.setUint16(off, (dv.getUint16(off) & ~hm) | (c[b] as number));
      const lm = c[b + 3] as number;
      if (lm) dv.setUint32(off + 2, ((dv.getUint32(off + 2) & ~lm) | (c[b + 2] as number)) >>> 0);
    }
  }

  /** odp_set_ipv4 + packet_set_ipv4_addr: masked rewrite with header and L4 checksum updates. */
  private setIpv4(slot: number, o: Int32Array, c: Int32Array, a: number): void {
    this.fresh(slot, o);
    if ((o[OUTER + S.DL_TYPE] as number) !== EtherType.IPV4) return;
    const l3 = o[OUTER + S.L3] as number;
    if (l3 < 0) return;
    const dv = this.pool.dv;
    const ip = this.ip4.wrap(dv, l3, 20);
    for (let i = 0; i < 2; i++) {
      const m = c[a + 2 * i + 1] as number;
      if (!m) continue;
      const old = i === 0 ? ip.srcNum : ip.dstNum;
      const nu = ((old & ~m) | (c[a + 2 * i] as number)) >>> 0;
      if (nu === old) continue;
      this.l4Csum32(dv, o, ip.protocol, old, nu);
      if (i === 0) ip.setSrcUpdateCsum(nu);
      else ip.setDstUpdateCsum(nu);
    }
    const tosM = c[a + 5] as number;
    if (tosM) {
      const t = (ip.tos & ~tosM) | (c[a + 4] as number);
      if (t !== ip.tos) ip.setTosUpdateCsum(t);
    }
    const ttlM = c[a + 7] as number;
    if (ttlM) {
      const t = (ip.ttl & ~ttlM) | (c[a + 6] as number);
      if (t !== ip.ttl) ip.setTtlUpdateCsum(t);
    }
  }

  /** The L4 checksum's share of a 32-bit pseudo-header word changing (TCP, UDP, ICMPv6). */
  private l4Csum32(dv: DataView, o: Int32Array, proto: number, old: number, nu: number): void {
    const l4 = o[OUTER + S.L4] as number;
    if (l4 < 0) return;
    const size = (o[OUTER + S.L3_END] as number) - l4;
    if (proto === IpProto.TCP && size >= 20) this.tcp.wrap(dv, l4, size).adjustChecksum32(old, nu);
    else if (proto === IpProto.UDP && size >= 8) this.udp.wrap(dv, l4, size).adjustChecksum32(old, nu);
    else if (proto === IpProto.ICMPV6 && size >= 4) dv.setUint16(l4 + 2, csumUpdate32(dv.getUint16(l4 + 2), old, nu));
  }

  private setIpv6(slot: number, o: Int32Array, c: Int32Array, a: number): void {
    this.fresh(slot, o);
    if ((o[OUTER + S.DL_TYPE] as number) !== EtherType.IPV6) return;
    const l3 = o[OUTER + S.L3] as number;
    if (l3 < 0) return;
    const dv = this.pool.dv;
    const proto = o[OUTER + S.NW_PROTO] as number;
    for (let half = 0; half < 2; half++) {
      const base = a + 8 * half;
      const addr = l3 + 8 + 16 * half;
      // With segments left in a routing header, the pseudo-header holds the final destination.
      const fixL4 = half === 0 || !this.routingPending(dv, o);
      for (let w = 0; w < 4; w++) {
        const m = c[base + 4 + w] as number;
        if (!m) continue;
        const old = dv.getUint32(addr + 4 * w);
        const nu = ((old & ~m) | (c[base + w] as number)) >>> 0;
        if (nu === old) continue;
        if (fixL4) this.l4Csum32(dv, o, proto, old, nu);
        dv.setUint32(addr + 4 * w, nu);
      }
    }
    let vtf = dv.getUint32(l3);
    const labelM = c[a + 17] as number;
    vtf = ((vtf & ~labelM) | (c[a + 16] as number)) >>> 0;
    const tcM = (c[a + 19] as number) << 20;
    vtf = ((vtf & ~tcM) | ((c[a + 18] as number) << 20)) >>> 0;
    dv.setUint32(l3, vtf);
    const hlM = c[a + 21] as number;
    if (hlM) dv.setUint8(l3 + 7, (dv.getUint8(l3 + 7) & ~hlM) | (c[a + 20] as number));
  }

  /** packet_rh_present(): a routing header with segments left among the extension headers. */
  private routingPending(dv: DataView, o: Int32Array): boolean {
    const l3 = o[OUTER + S.L3] as number;
    const l4 = o[OUTER + S.L4] as number;
    // Without an L4 header there is no checksum to fix, whatever the answer; with L4 right after
    // the fixed header there are no extension headers. Both skip the walk (the common case).
    if (l4 < 0 || l4 === l3 + IPV6_HEADER_LEN) return false;
    // L4 is set, so the parser walked this chain to the upper layer: this walk, as deep as the
    // parser's, does too.
    const w = this.ext;
    const end = o[OUTER + S.L3_END] as number;
    if (this.ip6.wrap(dv, l3, end - l3).walkExtensions(w) !== null) return false;
    for (let i = 0; i < w.extCount; i++) {
      if (w.extProto[i] === IpProto.ROUTING && dv.getUint8((w.extOff[i] as number) + RH_SEGMENTS_LEFT) !== 0)
        return true;
    }
    return false;
  }

  private setPorts(slot: number, o: Int32Array, isTcp: boolean, c: Int32Array, a: number): void {
    this.fresh(slot, o);
    const proto = o[OUTER + S.NW_PROTO] as number;
    const l4 = o[OUTER + S.L4] as number;
    if (l4 < 0 || proto !== (isTcp ? IpProto.TCP : IpProto.UDP)) return;
    const size = (o[OUTER + S.L3_END] as number) - l4;
    const v = isTcp ? this.tcp.wrap(this.pool.dv, l4, size) : this.udp.wrap(this.pool.dv, l4, size);
    const sm = c[a + 1] as number;
    const dm = c[a + 3] as number;
    if (sm) {
      const p = (v.srcPort & ~sm) | (c[a] as number);
      if (p !== v.srcPort) v.rewriteSrcPort(p);
    }
    if (dm) {
      const p = (v.dstPort & ~dm) | (c[a + 2] as number);
      if (p !== v.dstPort) v.rewriteDstPort(p);
    }
  }

  /** netdev_tnl_push_udp_header(): the pre-built header in front, lengths, port, checksums. */
  private tnlPush(slot: number, o: Int32Array, header: Uint8Array, c: Int32Array, a: number): boolean {
    const pool = this.pool;
    const hLen = c[a + 1] as number;
    const l3r = c[a + 2] as number;
    const udpR = c[a + 3] as number;
    const innerLen = pool.len[slot] as number;
    if (!pool.prepend(slot, hLen)) return false;
    const s = pool.start[slot] as number;
    pool.bytes.set(header, s);
    const dv = pool.dv;
    const l3 = s + l3r;
    const udp = s + udpR;
    const l3Len = hLen - l3r + innerLen;
    const isV4 = dv.getUint8(l3) >>> 4 === 4;
    if (isV4) {
      dv.setUint16(l3 + 2, l3Len);
      dv.setUint16(l3 + 10, 0);
      dv.setUint16(l3 + 10, csumFinish(csumPartial(dv, l3, 20)));
    } else {
      dv.setUint16(l3 + 4, l3Len - 40);
    }
    if (udpR === 0) {
      // GRE: with the C bit, the checksum of the GRE header and everything after it.
      const gre = l3 + (isV4 ? 20 : 40);
      if (dv.getUint16(gre) & 0x8000) {
        dv.setUint16(gre + 4, 0);
        dv.setUint16(gre + 4, csumFinish(csumPartial(dv, gre, s + hLen + innerLen - gre)));
      }
      o[P.START] = OFFSETS_STALE;
      return true;
    }
    const udpLen = hLen - udpR + innerLen;
    dv.setUint16(udp, tunnelSrcPort(pool.hash[slot] as number));
    dv.setUint16(udp + 4, udpLen);
    if (dv.getUint16(udp + 6) !== 0) {
      dv.setUint16(udp + 6, 0);
      const pseudo = isV4 ? pseudoHeaderV4(dv, l3, IpProto.UDP, udpLen) : pseudoHeaderV6(dv, l3, IpProto.UDP, udpLen);
      const sum = csumFinish(csumPartial(dv, udp, udpLen, pseudo));
      dv.setUint16(udp + 6, sum === 0 ? 0xffff : sum);
    }
    o[P.START] = OFFSETS_STALE;
    return true;
  }

  /** Strips everything before the inner frame; with offsets, INNER becomes OUTER. */
  private tnlPop(slot: number, o: Int32Array | null): boolean {
    const pool = this.pool;
    if (o) this.fresh(slot, o);
    const oo = o ?? this.scratch;
    if (!o) {
      this.scratch[P.START] = OFFSETS_STALE;
      this.fresh(slot, oo);
    }
    const inner = oo[INNER + S.L2] as number;
    if ((oo[OUTER + S.TUN_TYPE] as number) === TunnelType.NONE || inner < 0) return false;
    // The outer headers stay in the headroom until something prepends again, so the offsets
    // that describe them let the recirculation read the tunnel metadata (extractTunnel).
    this.popped.set(oo);
    pool.adj(slot, inner - (pool.start[slot] as number));
    if (!o) return true;
    const nested = (o[INNER + S.TUN_TYPE] as number) !== TunnelType.NONE;
    o.copyWithin(OUTER, INNER, INNER + STACK_LEN);
    o.fill(-1, INNER, INNER + STACK_LEN);
    o[INNER + S.TUN_TYPE] = TunnelType.NONE;
    o[P.START] = nested ? OFFSETS_STALE : inner;
    return true;
  }
}

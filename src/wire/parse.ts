// The hot-path parser: finds where every header of a packet starts, following one tunnel into
// its inner frame, and records only offsets and protocol numbers (src/wire/offsets.ts).
//
// It is Open vSwitch's miniflow_extract() split in two: this walk validates and records offsets;
// src/flow/extract.ts then reads the flow key from them. Each header is checked by its own view
// (the views hold the format knowledge; this file holds only the order of layers), and a header
// that fails its check stops the walk with (layer, code, offset) recorded and counted. The layers
// before it keep their offsets, so the datapath can still classify on what was understood, as
// OVS does with a packet it cannot fully parse. Nothing here throws on packet bytes or allocates.
//
// Tunnels followed: VXLAN (UDP 4789), GENEVE (UDP 6081) and GRE/NVGRE carrying Ethernet (0x6558).
// Only one level: a tunnel inside the inner frame is recorded in the inner stack's TUN_TYPE/TUN
// but not entered, because a datapath decapsulates one tunnel per pass (tnl_pop, then recirculate).
//
// Speed, `npx tsx scripts/bench-parse.ts` (node 20, this project's shared 2-core machine; medians
// of 7 runs, then the median of 3 or more such invocations): the VXLAN workload went from 7.8 to
// 14.6 M packets/s and the mixed one from 11.0 to 15.9 M/s, the bare walk being ~155 and ~115 M/s
// in the same runs. What did it, measured one step at a time against the previous parser in one
// process (the machine is too noisy to compare separate runs):
// - views keep the fields check() read (checkedTotalLen …) and the parser uses those, instead of
//   reading them again through getters that V8 did not inline here: x1.3 VXLAN, x1.07 mixed;
// - each offsets field written once per packet: o.fill(-1) is a builtin call that cost ~33 ns,
//   about a third of a VXLAN frame, and written-out stores of -1 that the walk then overwrote
//   still cost ~15%: x1.1 VXLAN, x1.2 mixed;
// - module-local copies of imported constants (below): x1.25 VXLAN, x1.14 mixed.
// Reading bytes through a Uint8Array instead of the DataView measured no faster (V8 inlines both
// to a bounds check and a load), so the views keep their DataView.

import { CODE_ID, LAYER_ID, LAYERS, PARSE_ERROR_CODES, type Layer, type ParseErrorCode } from "./errors.ts";
import * as ethernet from "./ethernet.ts";
import * as vlan from "./vlan.ts";
import * as arp from "./arp.ts";
import { Ipv4View } from "./ipv4.ts";
import * as ipv6 from "./ipv6.ts";
import * as icmp from "./icmp.ts";
import * as icmpv6 from "./icmpv6.ts";
import * as udp from "./udp.ts";
import * as tcp from "./tcp.ts";
import { GreView } from "./gre.ts";
import * as vxlan from "./vxlan.ts";
import { GeneveView } from "./geneve.ts";
import * as numbers from "./numbers.ts";
import * as offsets from "./offsets.ts";

// Module-local copies of the constants read per packet. An import is a live binding, so V8's
// optimized code reloads it, and each property of an imported object, at every use; a const of
// this module is folded into the instructions instead (measured: see the header).
const { INNER, OUTER, MAX_VLANS, OFFSETS_LEN, STACK_LEN } = offsets;
const S = { ...offsets.S } as const;
const P = { ...offsets.P } as const;
const TunnelType = { ...offsets.TunnelType } as const;
const EtherType = { ...numbers.EtherType } as const;
const IpProto = { ...numbers.IpProto } as const;
const UdpPort = { ...numbers.UdpPort } as const;
const NwFrag = { ...offsets.NwFrag } as const;
const ETHERNET_HEADER_LEN = ethernet.ETHERNET_HEADER_LEN;
const VLAN_HEADER_LEN = vlan.VLAN_HEADER_LEN;
const ARP_HEADER_LEN = arp.ARP_HEADER_LEN;
const IPV6_HEADER_LEN = ipv6.IPV6_HEADER_LEN;
const ICMP_HEADER_LEN = icmp.ICMP_HEADER_LEN;
const ICMPV6_HEADER_LEN = icmpv6.ICMPV6_HEADER_LEN;
const UDP_HEADER_LEN = udp.UDP_HEADER_LEN;
const TCP_HEADER_LEN = tcp.TCP_HEADER_LEN;
const VXLAN_HEADER_LEN = vxlan.VXLAN_HEADER_LEN;

// The walk writes each offsets field once rather than clearing the array first (see the header).
// These write "absent" (-1; TunnelType.NONE is 0) from one layer up, for the layers not reached.

/** The whole stack: its Ethernet header failed, or it was not reached (no tunnel). */
function clearStack(o: Int32Array, b: number): void {
  o[b + S.L2] = -1;
  o[b + S.VLAN_N] = -1;
  o[b + S.VLAN0] = -1;
  o[b + S.VLAN1] = -1;
  o[b + S.DL_TYPE] = -1;
  o[b + S.NW_FRAG] = -1;
  noL3(o, b);
}
function noL3(o: Int32Array, b: number): void {
  o[b + S.L3] = -1;
  o[b + S.L3_END] = -1;
  o[b + S.NW_PROTO] = -1;
  noL4(o, b);
}
function noL4(o: Int32Array, b: number): void {
  o[b + S.L4] = -1;
  noL7(o, b);
}
function noL7(o: Int32Array, b: number): void {
  o[b + S.L7] = -1;
  noTunnel(o, b);
}
function noTunnel(o: Int32Array, b: number): void {
  o[b + S.TUN_TYPE] = TunnelType.NONE;
  o[b + S.TUN] = -1;
}
// These, parse() and vlans() name every field and handle exactly two tags; a field added to
// offsets.ts, or a third tag, must be added there too.
if (STACK_LEN !== 13 || OFFSETS_LEN !== 2 * STACK_LEN + 5 || MAX_VLANS !== 2) {
  throw new Error("parse.ts: the offsets layout in offsets.ts changed; update clearStack() and vlans()");
}

/** What the L3 step tells the stack walk: stop (ok or not), or go on to the upper layer. */
const DONE = 0;
const FAILED = 1;
const CONTINUE = 2;

export class PacketParser {
  private readonly eth = new ethernet.EthernetView();
  private readonly vlan = new vlan.VlanView();
  private readonly arp = new arp.ArpView();
  private readonly ip4 = new Ipv4View();
  private readonly ip6 = new ipv6.Ipv6View();
  // Open vSwitch walks any number of extension headers; each one advances, so a generous bound
  // costs nothing and keeps the walker's arrays fixed.
  private readonly ext = new ipv6.Ipv6ExtWalker(128);
  private readonly icmp = new icmp.IcmpView();
  private readonly icmp6 = new icmpv6.Icmpv6View();
  private readonly udp = new udp.UdpView();
  private readonly tcp = new tcp.TcpView();
  private readonly gre = new GreView();
  private readonly vxlan = new vxlan.VxlanView();
  private readonly geneve = new GeneveView();

  /** Malformed packets seen, indexed layerId * PARSE_ERROR_CODES.length + codeId. */
  readonly errors = new Float64Array(LAYERS.length * PARSE_ERROR_CODES.length);
  /** Packets parsed, malformed or not. */
  packets = 0;

  /**
   * Parses the Ethernet frame of `len` bytes at `start` in `dv` into `o` (OFFSETS_LEN long).
   * True when every header that was reached checked out; false when one did not, with the
   * failure in o[P.ERR_LAYER], o[P.ERR_CODE] and o[P.ERR_OFF].
   */
  parse(dv: DataView, start: number, len: number, o: Int32Array): boolean {
    this.packets++;
    o[P.START] = start;
    o[P.END] = start + len;
    o[P.ERR_LAYER] = -1;
    o[P.ERR_CODE] = -1;
    o[P.ERR_OFF] = -1;
    // Each stack() writes every field of its stack; the inner one is cleared when not reached.
    if (!this.stack(dv, start, start + len, o, OUTER)) {
      clearStack(o, INNER);
      return false;
    }
    if (o[OUTER + S.TUN_TYPE] === TunnelType.NONE) {
      clearStack(o, INNER);
      return true;
    }
    return this.stack(dv, this.innerOff, o[OUTER + S.L3_END] as number, o, INNER);
  }

  /** Count of one (layer, code), for reports and tests. */
  errorCount(layer: Layer, code: ParseErrorCode): number {
    return this.errors[(LAYER_ID[layer] as number) * PARSE_ERROR_CODES.length + (CODE_ID[code] as number)] as number;
  }

  private fail(o: Int32Array, layer: Layer, code: ParseErrorCode, at: number): false {
    const l = LAYER_ID[layer] as number;
    const c = CODE_ID[code] as number;
    o[P.ERR_LAYER] = l;
    o[P.ERR_CODE] = c;
    o[P.ERR_OFF] = at;
    const i = l * PARSE_ERROR_CODES.length + c;
    this.errors[i] = (this.errors[i] as number) + 1;
    return false;
  }

  private firstFragment(o: Int32Array, b: number, proto: number, l4Off: number, avail: number): boolean {
    o[b + S.L4] = l4Off;
    noL7(o, b);
    switch (proto) {
      case IpProto.TCP:
        return avail >= TCP_HEADER_LEN || this.fail(o, "tcp", "truncated", l4Off);
      case IpProto.UDP:
        return avail >= UDP_HEADER_LEN || this.fail(o, "udp", "truncated", l4Off);
      case IpProto.ICMP:
        return avail >= ICMP_HEADER_LEN || this.fail(o, "icmp", "truncated", l4Off);
      case IpProto.ICMPV6:
        return avail >= ICMPV6_HEADER_LEN || this.fail(o, "icmpv6", "truncated", l4Off);
      default:
        return true;
    }
  }

  // Where the L3 step leaves the upper layer for the L4 step (fields, so nothing is allocated).
  private l4Off = 0;
  private l4End = 0;
  private proto = 0;
  // Where the inner frame starts, set with the outer stack's TUN_TYPE.
  private innerOff = 0;

  /**
   * One header stack: Ethernet, up to two VLAN tags, L3, L4, and the tunnel header if any. Split
   * into small methods so that V8 inlines the views' checks into each (measured: the single
   * large method ran at 7 M/s on VXLAN frames, before the changes in the header). Every path writes each
   * field of the stack once: the walk's own value, or "absent" through noL3() and its kin for
   * the layers it did not reach.
   */
  private stack(dv: DataView, off: number, end: number, o: Int32Array, b: number): boolean {
    const eth = this.eth.wrap(dv, off, end - off);
    const code = eth.check();
    if (code !== null) {
      clearStack(o, b);
      return this.fail(o, "ethernet", code, eth.failAt);
    }
    o[b + S.L2] = off;
    let type = eth.checkedEtherType;
    let p = off + ETHERNET_HEADER_LEN;
    if (type === EtherType.VLAN || type === EtherType.QINQ || type === EtherType.QINQ_OLD) {
      type = this.vlans(dv, p, end, o, b);
      if (type < 0) return false;
      p += (o[b + S.VLAN_N] as number) * VLAN_HEADER_LEN;
    } else {
      o[b + S.VLAN_N] = 0;
      o[b + S.VLAN0] = -1;
      o[b + S.VLAN1] = -1;
    }
    o[b + S.DL_TYPE] = type;
    o[b + S.NW_FRAG] = 0;
    let r: number;
    if (type === EtherType.IPV4) r = this.ipv4(dv, p, end, o, b);
    else if (type === EtherType.IPV6) r = this.ipv6(dv, p, end, o, b);
    else if (type === EtherType.ARP) return this.arpHeader(dv, p, end, o, b);
    else {
      noL3(o, b);
      return true;
    } // an EtherType we do not parse is payload, not an error
    if (r !== CONTINUE) return r === DONE;
    const avail = this.l4End - this.l4Off;
    // An IP datagram with no payload has no upper layer to parse (and OVS extracts none).
    if (avail <= 0) {
      noL4(o, b);
      return true;
    }
    // A first fragment holds the upper-layer header but not the datagram its lengths describe:
    // like OVS, read the header and leave the lengths alone.
    if (o[b + S.NW_FRAG] !== 0) return this.firstFragment(o, b, this.proto, this.l4Off, avail);
    switch (this.proto) {
      case IpProto.TCP:
        return this.tcpHeader(dv, this.l4Off, avail, o, b);
      case IpProto.UDP:
        return this.udpHeader(dv, this.l4Off, avail, o, b);
      case IpProto.GRE:
        return this.greHeader(dv, this.l4Off, avail, o, b);
      case IpProto.ICMP:
        return this.icmpHeader(dv, this.l4Off, avail, o, b, type === EtherType.IPV4);
      case IpProto.ICMPV6:
        return this.icmp6Header(dv, this.l4Off, avail, o, b, type === EtherType.IPV6);
      default:
        o[b + S.L4] = this.l4Off; // an upper layer we do not parse: its start is still known
        noL7(o, b);
        return true;
    }
  }

  /**
   * Up to MAX_VLANS tags from `p`, the first announced by the Ethernet header: writes VLAN_N,
   * VLAN0 and VLAN1 and returns the EtherType after the tags, or -1 when a tag fails its check
   * (the stack's other fields then written too).
   */
  private vlans(dv: DataView, p: number, end: number, o: Int32Array, b: number): number {
    const vlan = this.vlan.wrap(dv, p, end - p);
    const c = vlan.check();
    if (c !== null) {
      const l2 = o[b + S.L2] as number;
      clearStack(o, b);
      o[b + S.L2] = l2;
      this.fail(o, "vlan", c, vlan.failAt);
      return -1;
    }
    o[b + S.VLAN0] = p - 2; // the TPID is the EtherType field that announced the tag
    const type = vlan.checkedEtherType;
    if (type !== EtherType.VLAN && type !== EtherType.QINQ && type !== EtherType.QINQ_OLD) {
      o[b + S.VLAN_N] = 1;
      o[b + S.VLAN1] = -1;
      return type;
    }
    const q = p + VLAN_HEADER_LEN;
    const inner = this.vlan.wrap(dv, q, end - q);
    const c2 = inner.check();
    if (c2 !== null) {
      const l2 = o[b + S.L2] as number;
      clearStack(o, b);
      o[b + S.L2] = l2;
      o[b + S.VLAN0] = p - 2;
      this.fail(o, "vlan", c2, inner.failAt);
      return -1;
    }
    o[b + S.VLAN1] = q - 2;
    o[b + S.VLAN_N] = 2;
    return inner.checkedEtherType;
  }

  private ipv4(dv: DataView, p: number, end: number, o: Int32Array, b: number): number {
    const ip = this.ip4.wrap(dv, p, end - p);
    const code = ip.check();
    if (code !== null) {
      noL3(o, b);
      this.fail(o, "ipv4", code, ip.failAt);
      return FAILED;
    }
    o[b + S.L3] = p;
    const l4End = p + ip.checkedTotalLen;
    o[b + S.L3_END] = l4End;
    const proto = ip.checkedProtocol;
    o[b + S.NW_PROTO] = proto;
    if (ip.checkedFragment) {
      const later = ip.checkedLaterFragment;
      o[b + S.NW_FRAG] = later ? NwFrag.ANY | NwFrag.LATER : NwFrag.ANY;
      if (later) {
        noL4(o, b);
        return DONE;
      }
    }
    this.l4Off = p + ip.checkedHeaderLen;
    this.l4End = l4End;
    this.proto = proto;
    return CONTINUE;
  }

  private ipv6(dv: DataView, p: number, end: number, o: Int32Array, b: number): number {
    const ip = this.ip6.wrap(dv, p, end - p);
    const code = ip.check();
    if (code !== null) {
      noL3(o, b);
      this.fail(o, "ipv6", code, ip.failAt);
      return FAILED;
    }
    o[b + S.L3] = p;
    // A payload length of 0 is taken literally, as Open vSwitch's ipv6_sanity_check() does.
    const l4End = p + IPV6_HEADER_LEN + ip.checkedPayloadLen;
    o[b + S.L3_END] = l4End;
    const ext = this.ext;
    const wcode = ext.walk(dv, p + IPV6_HEADER_LEN, l4End, ip.checkedNextHeader);
    if (wcode !== null) {
      o[b + S.NW_PROTO] = -1;
      noL4(o, b);
      this.fail(o, "ipv6", wcode, ext.failAt);
      return FAILED;
    }
    o[b + S.NW_PROTO] = ext.upperProto;
    if (ext.hasFragment) {
      o[b + S.NW_FRAG] = ext.laterFragment ? NwFrag.ANY | NwFrag.LATER : NwFrag.ANY;
      if (ext.laterFragment) {
        noL4(o, b);
        return DONE;
      }
    }
    this.l4Off = ext.upperOff;
    this.l4End = l4End;
    this.proto = ext.upperProto;
    return CONTINUE;
  }

  private arpHeader(dv: DataView, p: number, end: number, o: Int32Array, b: number): boolean {
    const arp = this.arp.wrap(dv, p, end - p);
    const code = arp.check();
    if (code !== null) {
      noL3(o, b);
      return this.fail(o, "arp", code, arp.failAt);
    }
    o[b + S.L3] = p;
    o[b + S.L3_END] = p + ARP_HEADER_LEN;
    o[b + S.NW_PROTO] = -1;
    noL4(o, b);
    return true;
  }

  private tcpHeader(dv: DataView, l4: number, avail: number, o: Int32Array, b: number): boolean {
    const tcp = this.tcp.wrap(dv, l4, avail, avail);
    const code = tcp.check();
    if (code !== null) {
      noL4(o, b);
      return this.fail(o, "tcp", code, tcp.failAt);
    }
    o[b + S.L4] = l4;
    o[b + S.L7] = l4 + tcp.checkedHeaderLen;
    noTunnel(o, b);
    return true;
  }

  private udpHeader(dv: DataView, l4: number, avail: number, o: Int32Array, b: number): boolean {
    const udp = this.udp.wrap(dv, l4, avail, avail);
    const code = udp.check();
    if (code !== null) {
      noL4(o, b);
      return this.fail(o, "udp", code, udp.failAt);
    }
    o[b + S.L4] = l4;
    const l7 = l4 + UDP_HEADER_LEN;
    o[b + S.L7] = l7;
    const dport = udp.checkedDstPort;
    if (dport === UdpPort.VXLAN)
      return this.vxlanHeader(dv, l7, avail - UDP_HEADER_LEN, udp.checkedLength - UDP_HEADER_LEN, o, b);
    if (dport === UdpPort.GENEVE)
      return this.geneveHeader(dv, l7, avail - UDP_HEADER_LEN, udp.checkedLength - UDP_HEADER_LEN, o, b);
    noTunnel(o, b);
    return true;
  }

  private vxlanHeader(dv: DataView, p: number, avail: number, len: number, o: Int32Array, b: number): boolean {
    const vx = this.vxlan.wrap(dv, p, avail, len);
    const code = vx.check();
    if (code !== null) {
      noTunnel(o, b);
      return this.fail(o, "vxlan", code, vx.failAt);
    }
    o[b + S.TUN_TYPE] = TunnelType.VXLAN;
    o[b + S.TUN] = p;
    this.innerOff = p + VXLAN_HEADER_LEN;
    return true;
  }

  private geneveHeader(dv: DataView, p: number, avail: number, len: number, o: Int32Array, b: number): boolean {
    const gn = this.geneve.wrap(dv, p, avail, len);
    const code = gn.check();
    if (code !== null) {
      noTunnel(o, b);
      return this.fail(o, "geneve", code, gn.failAt);
    }
    // Only an Ethernet payload is a frame to parse; GENEVE may also carry bare IP.
    if (gn.checkedProtocolType === EtherType.TEB) {
      o[b + S.TUN_TYPE] = TunnelType.GENEVE;
      o[b + S.TUN] = p;
      this.innerOff = p + gn.checkedHeaderLen;
    } else {
      noTunnel(o, b);
    }
    return true;
  }

  private greHeader(dv: DataView, l4: number, avail: number, o: Int32Array, b: number): boolean {
    const gre = this.gre.wrap(dv, l4, avail, avail);
    const code = gre.check();
    if (code !== null) {
      noL4(o, b);
      return this.fail(o, "gre", code, gre.failAt);
    }
    o[b + S.L4] = l4;
    const payloadOff = l4 + gre.checkedHeaderLen;
    o[b + S.L7] = payloadOff;
    if (gre.checkedVersion === 0 && gre.checkedProtocolType === EtherType.TEB) {
      o[b + S.TUN_TYPE] = TunnelType.GRE;
      o[b + S.TUN] = l4;
      this.innerOff = payloadOff;
    } else {
      noTunnel(o, b);
    }
    return true;
  }

  private icmpHeader(dv: DataView, l4: number, avail: number, o: Int32Array, b: number, overIpv4: boolean): boolean {
    if (!overIpv4) {
      o[b + S.L4] = l4;
      noL7(o, b);
      return true;
    }
    const icmp = this.icmp.wrap(dv, l4, avail);
    const code = icmp.check();
    if (code !== null) {
      noL4(o, b);
      return this.fail(o, "icmp", code, icmp.failAt);
    }
    o[b + S.L4] = l4;
    o[b + S.L7] = l4 + ICMP_HEADER_LEN;
    noTunnel(o, b);
    return true;
  }

  private icmp6Header(dv: DataView, l4: number, avail: number, o: Int32Array, b: number, overIpv6: boolean): boolean {
    if (!overIpv6) {
      o[b + S.L4] = l4;
      noL7(o, b);
      return true;
    }
    const icmp = this.icmp6.wrap(dv, l4, avail);
    const code = icmp.check();
    if (code !== null) {
      noL4(o, b);
      return this.fail(o, "icmpv6", code, icmp.failAt);
    }
    o[b + S.L4] = l4;
    o[b + S.L7] = l4 + ICMPV6_HEADER_LEN;
    noTunnel(o, b);
    return true;
  }
}

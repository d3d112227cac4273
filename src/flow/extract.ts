// Flow key extraction: the second half of Open vSwitch's miniflow_extract() (lib/flow.c).
//
// The hot-path parser (src/wire/parse.ts) has already walked the headers and left their offsets
// in an Int32Array (src/wire/offsets.ts); this file reads the flow key (src/flow/key.ts) out of
// those offsets, for either header stack: OUTER for the packet as it arrived, INNER for the frame
// a tunnel carried. extractTunnel() then fills the tunnel metadata words from the OUTER stack, as
// Open vSwitch's tnl_pop (lib/netdev-native-tnl.c) leaves them for the recirculated inner flow:
//
//   parser.parse(dv, start, len, o);
//   extractor.extract(dv, o, INNER, tunnelPort, key);   // zeroes the key, fills L2..L4
//   extractor.extractTunnel(dv, o, key);                // fills the tunnel words
//
// Everything follows what OVS 3.1 puts in its struct flow, field by field, because the key is
// compared word by word with megaflows and OpenFlow matches a user typed in OVS syntax:
// - VLAN words hold TPID << 16 | TCI | CFI. Only 0x8100 and 0x88a8 are tags (eth_type_vlan), so a
//   0x9100 TPID the parser stepped over becomes the dl_type, and so does a tag beyond `vlanLimit`
//   (OVS's other_config:vlan-limit; the flow key holds 2).
// - An 802.3 frame (length < 0x600) has dl_type 0x05ff (FLOW_DL_TYPE_NONE), unless it carries
//   LLC/SNAP with OUI 0, whose type is then the dl_type (parse_ethertype). The parser does not
//   walk past LLC/SNAP, so such a frame has no L3 fields here; OVS would extract them.
// - IPv4/IPv6 fill nw_tos (the whole TOS/traffic-class byte), nw_ttl, nw_proto and nw_frag; a
//   later fragment has nw_frag "later" and no transport fields, and for IPv6 nw_proto 44
//   (IPPROTO_FRAGMENT). An IPv6 fragment header whose offset/flags word is all zero (an atomic
//   fragment) is not a fragment. An IPv6 payload length of 0 leaves OVS nothing to parse after the
//   fixed header. If the extension-header walk fails, only the addresses are set.
// - ARP and RARP (Ethernet/IPv4 only) put the opcode in nw_proto when it fits in 8 bits, the
//   protocol addresses in nw_src/nw_dst, the hardware addresses in arp_sha/arp_tha.
// - TCP/UDP/SCTP ports, ICMP/ICMPv6/IGMP type and code in tp_src/tp_dst; TCP flags (12 bits).
// - ICMPv6 Neighbor Solicitation/Advertisement: nd_target, SLL in arp_sha, TLL in arp_tha, and
//   the type of the first link-layer option in the tcp_flags word (OVS's nd_options_type shares
//   that storage). nd_reserved and igmp_group_ip4 have no place in this key.
//
// Nothing here allocates: the views are wrapped per packet and the key is overwritten in place.

import * as flowKey from "./key.ts";
import type { FlowKey, FlowMask } from "./key.ts";
import * as offsets from "../wire/offsets.ts";
import * as numbers from "../wire/numbers.ts";
import { Icmpv6View } from "../wire/icmpv6.ts";
import * as ipv6 from "../wire/ipv6.ts";
import { GeneveView } from "../wire/geneve.ts";
import { GreView } from "../wire/gre.ts";
import { VxlanView } from "../wire/vxlan.ts";

// Module-local copies of the constants read per packet, as src/wire/parse.ts keeps them: an
// import is a live binding that V8's optimized code reloads, with each property of an imported
// object, at every use, where a const of this module is folded into the instructions.
const W = { ...flowKey.W } as const;
const NwFrag = { ...flowKey.NwFrag } as const;
const TunFlag = { ...flowKey.TunFlag } as const;
const { FLOW_WORDS, TUN_METADATA_WORDS, VLAN_CFI, setMac, tunnelPresent } = flowKey;
const { OUTER } = offsets;
const S = { ...offsets.S } as const;
const P = { ...offsets.P } as const;
const TunnelType = { ...offsets.TunnelType } as const;
const EtherType = { ...numbers.EtherType } as const;
const IpProto = { ...numbers.IpProto } as const;
const IPV6_HEADER_LEN = ipv6.IPV6_HEADER_LEN;

/** OVS's FLOW_DL_TYPE_NONE: the dl_type of an 802.3 frame without a SNAP EtherType. */
export const FLOW_DL_TYPE_NONE = 0x05ff;
const ETH_TYPE_MIN = 0x0600; // below this the EtherType field is an 802.3 length
const IPPROTO_SCTP = 132;
const LLC_SNAP_LEN = 8; // DSAP, SSAP, control, OUI (3), type: struct llc_snap_header
const ARP_LEN = 28;
const SCTP_HEADER_LEN = 12;
const ICMP_HEADER_LEN = 8; // OVS asks for 8 bytes before reading ICMP/ICMPv6/IGMP type and code
const MAX_VLANS = 2;

export interface FlowExtractorOptions {
  /** OVS's other_config:vlan-limit: tags beyond it stay in the payload. Default 2, the key's room. */
  vlanLimit?: number;
  /**
   * Set TunFlag.DONT_FRAGMENT when the outer IPv4 header has DF. Off by default because Open
   * vSwitch 3.1's userspace tnl_pop does not (checked: flags(-df+csum+key) for a DF packet).
   */
  tunnelDf?: boolean;
}

export class FlowExtractor {
  private readonly icmp6 = new Icmpv6View();
  private readonly vxlan = new VxlanView();
  private readonly geneve = new GeneveView();
  private readonly gre = new GreView();
  private readonly vlanLimit: number;
  private readonly tunnelDf: boolean;

  constructor(opts: FlowExtractorOptions = {}) {
    this.vlanLimit = Math.min(MAX_VLANS, Math.max(0, opts.vlanLimit ?? MAX_VLANS));
    this.tunnelDf = opts.tunnelDf ?? false;
  }

  /**
   * Fills `key` (FLOW_WORDS long, reused) from the `stack` (OUTER or INNER) of the offsets `o`
   * that PacketParser.parse() left for the frame in `dv`. Every word is written: the ones this
   * packet has no field for are zeroed, the tunnel words included (see extractTunnel).
   */
  extract(dv: DataView, o: Int32Array, stack: number, inPort: number, key: FlowKey): void {
    this.zero(key);
    key[W.IN_PORT] = inPort >>> 0;
    const l2 = o[stack + S.L2] as number;
    if (l2 < 0) return;
    const end = o[P.END] as number;
    setMac(key, W.DL_DST_HI, dv, l2);
    setMac(key, W.DL_SRC_HI, dv, l2 + 6);

    // Tags the parser recorded; after a failure inside the tag loop VLAN_N is unset.
    let nVlan = o[stack + S.VLAN_N] as number;
    if (nVlan < 0) nVlan = (o[stack + S.VLAN1] as number) >= 0 ? 2 : (o[stack + S.VLAN0] as number) >= 0 ? 1 : 0;
    let typeOff = l2 + 12; // the EtherType field, or the TPID of the next tag
    let i = 0;
    for (; i < nVlan && i < this.vlanLimit; i++) {
      const tpidOff = o[stack + S.VLAN0 + i] as number;
      const tpid = dv.getUint16(tpidOff);
      if (tpid !== EtherType.VLAN && tpid !== EtherType.QINQ) break;
      key[W.VLAN0 + i] = ((tpid << 16) | dv.getUint16(tpidOff + 2) | VLAN_CFI) >>> 0;
      typeOff = tpidOff + 4;
    }
    const dlType = o[stack + S.DL_TYPE] as number;
    if (i < nVlan || dlType < 0) {
      // A tag OVS does not take (beyond the limit, 0x9100) or one cut short: its TPID is the type.
      key[W.DL_TYPE] = typeOff + 2 <= end ? dv.getUint16(typeOff) : 0;
      return;
    }
    if (dlType < ETH_TYPE_MIN) {
      key[W.DL_TYPE] = llcSnapType(dv, typeOff + 2, end);
      return;
    }
    key[W.DL_TYPE] = dlType;

    const l3 = o[stack + S.L3] as number;
    if (dlType === EtherType.IPV4) {
      if (l3 < 0) return;
      key[W.NW_SRC] = dv.getUint32(l3 + 12);
      key[W.NW_DST] = dv.getUint32(l3 + 16);
      const proto = dv.getUint8(l3 + 9);
      const frag = o[stack + S.NW_FRAG] as number;
      key[W.NW_PROTO_TOS_TTL_FRAG] =
        ((proto << 24) | (dv.getUint8(l3 + 1) << 16) | (dv.getUint8(l3 + 8) << 8) | frag) >>> 0;
      if (frag & NwFrag.LATER) return;
      this.l4(dv, o, stack, proto, key);
    } else if (dlType === EtherType.IPV6) {
      if (l3 < 0) return;
      for (let w = 0; w < 4; w++) {
        key[W.IPV6_SRC + w] = dv.getUint32(l3 + 8 + 4 * w);
        key[W.IPV6_DST + w] = dv.getUint32(l3 + 24 + 4 * w);
      }
      const vtf = dv.getUint32(l3);
      const hlim = dv.getUint8(l3 + 7);
      let proto = o[stack + S.NW_PROTO] as number;
      let frag = o[stack + S.NW_FRAG] as number;
      const plen = dv.getUint16(l3 + 4);
      if (plen === 0) {
        // OVS takes the payload length literally: nothing follows the fixed header.
        const nh = dv.getUint8(l3 + 6);
        if (isIpv6Ext(nh)) return;
        key[W.IPV6_LABEL] = vtf & 0xfffff;
        key[W.NW_PROTO_TOS_TTL_FRAG] = ((nh << 24) | (((vtf >>> 20) & 0xff) << 16) | (hlim << 8)) >>> 0;
        return;
      }
      if (proto < 0) return; // the extension-header walk failed: OVS keeps only the addresses
      if (frag & NwFrag.LATER) proto = IpProto.FRAGMENT;
      else if (frag & NwFrag.ANY && this.atomicFragment(dv, l3, o[stack + S.L3_END] as number)) frag = 0;
      key[W.IPV6_LABEL] = vtf & 0xfffff;
      key[W.NW_PROTO_TOS_TTL_FRAG] = ((proto << 24) | (((vtf >>> 20) & 0xff) << 16) | (hlim << 8) | frag) >>> 0;
      if (frag & NwFrag.LATER) return;
      this.l4(dv, o, stack, proto, key);
    } else if (dlType === EtherType.ARP || dlType === EtherType.RARP) {
      // The parser does not walk RARP; its header sits where ARP's would.
      const a = dlType === EtherType.ARP ? l3 : typeOff + 2;
      if (a < 0 || a + ARP_LEN > end) return;
      if (dv.getUint32(a) !== ((1 << 16) | EtherType.IPV4) || dv.getUint16(a + 4) !== 0x0604) return;
      key[W.NW_SRC] = dv.getUint32(a + 14);
      key[W.NW_DST] = dv.getUint32(a + 24);
      const op = dv.getUint16(a + 6);
      if (op <= 0xff) key[W.NW_PROTO_TOS_TTL_FRAG] = (op << 24) >>> 0;
      setMac(key, W.ARP_SHA_HI, dv, a + 8);
      setMac(key, W.ARP_THA_HI, dv, a + 18);
    }
  }

  /**
   * Fills the tunnel words of `key` from the OUTER stack of `o`: tun_id (the VXLAN/GENEVE VNI or
   * the whole 32-bit GRE key, in the low bits), tun_src/tun_dst or tun_ipv6_src/tun_ipv6_dst,
   * tun_tos, tun_ttl, tun_flags (KEY with a VNI or GRE key, CSUM when the outer UDP or GRE
   * checksum is present), tun_tp_src/tun_tp_dst for UDP tunnels. GENEVE options go into the
   * TUN_METADATA words as OVS's tnl_pop keeps them before a TLV map applies (the raw "UDPIF"
   * form): the option TLVs in wire order, headers included, big-endian, the first
   * TUN_METADATA_WORDS * 4 = 32 bytes; words past the options are zero. Returns false, leaving
   * the key alone, when the OUTER stack carried no tunnel. Call it after extract(), which zeroes
   * the tunnel words.
   */
  extractTunnel(dv: DataView, o: Int32Array, key: FlowKey): boolean {
    const tun = o[OUTER + S.TUN_TYPE] as number;
    if (tun === TunnelType.NONE || tun < 0) return false;
    const l3 = o[OUTER + S.L3] as number;
    const l4 = o[OUTER + S.L4] as number;
    const tunOff = o[OUTER + S.TUN] as number;
    key.fill(0, W.TUN_ID_HI, W.TUN_METADATA + TUN_METADATA_WORDS);
    let flags = 0;
    let tosTtl: number;
    if ((o[OUTER + S.DL_TYPE] as number) === EtherType.IPV4) {
      key[W.TUN_SRC] = dv.getUint32(l3 + 12);
      key[W.TUN_DST] = dv.getUint32(l3 + 16);
      tosTtl = (dv.getUint8(l3 + 1) << 8) | dv.getUint8(l3 + 8);
      if (this.tunnelDf && dv.getUint16(l3 + 6) & 0x4000) flags |= TunFlag.DONT_FRAGMENT;
    } else {
      for (let w = 0; w < 4; w++) {
        key[W.TUN_IPV6_SRC + w] = dv.getUint32(l3 + 8 + 4 * w);
        key[W.TUN_IPV6_DST + w] = dv.getUint32(l3 + 24 + 4 * w);
      }
      tosTtl = (((dv.getUint32(l3) >>> 20) & 0xff) << 8) | dv.getUint8(l3 + 7);
    }
    if (tun === TunnelType.GRE) {
      const gre = this.gre.wrap(dv, tunOff, 16, -1);
      if (gre.checksumPresent) flags |= TunFlag.CSUM;
      if (gre.keyPresent) {
        key[W.TUN_ID_LO] = gre.key >>> 0;
        flags |= TunFlag.KEY;
      }
    } else {
      if (dv.getUint16(l4 + 6) !== 0) flags |= TunFlag.CSUM;
      key[W.TUN_TP] = dv.getUint32(l4);
      flags |= TunFlag.KEY;
      if (tun === TunnelType.VXLAN) {
        key[W.TUN_ID_LO] = this.vxlan.wrap(dv, tunOff, 8).vni;
      } else {
        const gn = this.geneve.wrap(dv, tunOff, 8);
        key[W.TUN_ID_LO] = gn.vni;
        const optOff = gn.optionsOff;
        const n = Math.min(gn.optionsLen >>> 2, TUN_METADATA_WORDS);
        for (let w = 0; w < n; w++) key[W.TUN_METADATA + w] = dv.getUint32(optOff + 4 * w);
      }
    }
    key[W.TUN_TOS_TTL_FLAGS] = ((tosTtl << 16) | flags) >>> 0;
    return true;
  }

  // key.fill(0) is a call into the runtime that cost ~20 ns, half of extract() for a UDP packet;
  // 32 stores of a double 0 through a Float64Array over the key's first 64 words, and one store
  // for the 65th, take ~8. The view is made when the key object changes (callers reuse theirs);
  // a key of another length or alignment is filled as before.
  private zeroFor: FlowKey | null = null;
  private zeroView: Float64Array = new Float64Array(0);
  private zero(key: FlowKey): void {
    if (key !== this.zeroFor) {
      this.zeroFor = key;
      this.zeroView =
        key.length === 65 && (key.byteOffset & 7) === 0
          ? new Float64Array(key.buffer, key.byteOffset, 32)
          : new Float64Array(0);
    }
    const z = this.zeroView;
    if (z.length !== 32) {
      key.fill(0);
      return;
    }
    z[0] = 0;
    z[1] = 0;
    z[2] = 0;
    z[3] = 0;
    z[4] = 0;
    z[5] = 0;
    z[6] = 0;
    z[7] = 0;
    z[8] = 0;
    z[9] = 0;
    z[10] = 0;
    z[11] = 0;
    z[12] = 0;
    z[13] = 0;
    z[14] = 0;
    z[15] = 0;
    z[16] = 0;
    z[17] = 0;
    z[18] = 0;
    z[19] = 0;
    z[20] = 0;
    z[21] = 0;
    z[22] = 0;
    z[23] = 0;
    z[24] = 0;
    z[25] = 0;
    z[26] = 0;
    z[27] = 0;
    z[28] = 0;
    z[29] = 0;
    z[30] = 0;
    z[31] = 0;
    key[64] = 0;
  }

  /** Transport fields; `proto` is the upper-layer protocol, the packet not a later fragment. */
  private l4(dv: DataView, o: Int32Array, stack: number, proto: number, key: FlowKey): void {
    const l4 = o[stack + S.L4] as number;
    if (l4 < 0) return;
    const size = (o[stack + S.L3_END] as number) - l4;
    switch (proto) {
      case IpProto.TCP: // the parser checked the data offset against the segment
        key[W.TP] = dv.getUint32(l4);
        key[W.TCP_FLAGS] = dv.getUint16(l4 + 12) & 0x0fff;
        return;
      case IpProto.UDP:
        key[W.TP] = dv.getUint32(l4);
        return;
      case IPPROTO_SCTP:
        if (size >= SCTP_HEADER_LEN) key[W.TP] = dv.getUint32(l4);
        return;
      case IpProto.ICMP:
      case IpProto.IGMP:
        if (size >= ICMP_HEADER_LEN) key[W.TP] = ((dv.getUint8(l4) << 16) | dv.getUint8(l4 + 1)) >>> 0;
        return;
      case IpProto.ICMPV6:
        if (size >= ICMP_HEADER_LEN) this.icmpv6(dv, l4, size, key);
        return;
    }
  }

  /**
   * ICMPv6 type and code, and Neighbor Discovery's target and link-layer addresses. Kept out of
   * l4() so that V8 inlines l4() into extract(): with this inside, it did not, and the call cost
   * ~3 ns of a UDP packet's ~25.
   */
  private icmpv6(dv: DataView, l4: number, size: number, key: FlowKey): void {
    key[W.TP] = ((dv.getUint8(l4) << 16) | dv.getUint8(l4 + 1)) >>> 0;
    const v = this.icmp6.wrap(dv, l4, size);
    if (!v.isNd) return;
    v.scanNd(size);
    if (v.ndTargetOff >= 0) {
      for (let w = 0; w < 4; w++) key[W.ND_TARGET + w] = dv.getUint32(v.ndTargetOff + 4 * w);
    }
    if (v.ndSllOff >= 0) setMac(key, W.ARP_SHA_HI, dv, v.ndSllOff);
    if (v.ndTllOff >= 0) setMac(key, W.ARP_THA_HI, dv, v.ndTllOff);
    key[W.TCP_FLAGS] = v.ndOptType;
  }

  /**
   * Whether the fragment headers of an IPv6 packet the parser called a first fragment all have an
   * all-zero offset/flags word: then OVS does not call it a fragment (parse_ipv6_ext_hdrs__ sets
   * FLOW_NW_FRAG_ANY only for a non-zero word). Walks like OVS, with no bound on the chain.
   */
  private atomicFragment(dv: DataView, l3: number, end: number): boolean {
    let nh = dv.getUint8(l3 + 6);
    let p = l3 + IPV6_HEADER_LEN;
    while (isIpv6Ext(nh) && p + 8 <= end) {
      const next = dv.getUint8(p);
      if (nh === IpProto.FRAGMENT) {
        if (dv.getUint16(p + 2) !== 0) return false;
        p += 8;
      } else {
        p += nh === IpProto.AH ? (dv.getUint8(p + 1) + 2) * 4 : (dv.getUint8(p + 1) + 1) * 8;
      }
      nh = next;
    }
    return true;
  }
}

function isIpv6Ext(nh: number): boolean {
  return (
    nh === IpProto.HOPOPTS ||
    nh === IpProto.ROUTING ||
    nh === IpProto.DSTOPTS ||
    nh === IpProto.AH ||
    nh === IpProto.FRAGMENT
  );
}

/** parse_ethertype for a length field: the SNAP type behind LLC AA-AA-03 and OUI 0, or NONE. */
function llcSnapType(dv: DataView, off: number, end: number): number {
  if (end - off < LLC_SNAP_LEN) return FLOW_DL_TYPE_NONE;
  if (dv.getUint16(off) !== 0xaaaa || dv.getUint32(off + 2) !== 0x03000000) return FLOW_DL_TYPE_NONE;
  const t = dv.getUint16(off + 6);
  return t >= ETH_TYPE_MIN ? t : FLOW_DL_TYPE_NONE;
}

// --- printing a packet's flow (tools and tests) -------------------------------------------------

/**
 * The fields a packet of this kind has, as a mask: Open vSwitch's flow_wildcards_init_for_packet()
 * less what flow_format() then hides (zero metadata: in_port 0, pkt_mark, recirc_id, registers).
 */
export function packetMask(key: FlowKey, mask: FlowMask = new Uint32Array(FLOW_WORDS)): FlowMask {
  mask.fill(0);
  const u = (w: number) => key[w] as number;
  if (tunnelPresent(key)) {
    if (u(W.TUN_TOS_TTL_FLAGS) & TunFlag.KEY) mask[W.TUN_ID_HI] = mask[W.TUN_ID_LO] = 0xffffffff;
    mask.fill(0xffffffff, W.TUN_SRC, W.TUN_TP + 1);
  } else if (u(W.TUN_ID_HI) || u(W.TUN_ID_LO)) {
    mask[W.TUN_ID_HI] = mask[W.TUN_ID_LO] = 0xffffffff;
  }
  for (const w of [W.PKT_MARK, W.RECIRC_ID, W.IN_PORT]) if (u(w)) mask[w] = 0xffffffff;
  mask.fill(0xffffffff, W.DL_DST_HI, W.DL_TYPE + 1);
  mask[W.VLAN0] = 0xffff; // flow_format prints vlan_tci even when there is no tag
  if (u(W.VLAN0)) mask[W.VLAN1] = 0xffff;
  const dlType = u(W.DL_TYPE);
  const proto = u(W.NW_PROTO_TOS_TTL_FRAG) >>> 24;
  if (dlType === EtherType.IPV4) {
    mask[W.NW_SRC] = mask[W.NW_DST] = 0xffffffff;
  } else if (dlType === EtherType.IPV6) {
    mask.fill(0xffffffff, W.IPV6_SRC, W.IPV6_DST + 4);
    mask[W.IPV6_LABEL] = 0xfffff;
    const t = u(W.TP) >>> 16;
    if (proto === IpProto.ICMPV6 && (t === 135 || t === 136)) mask.fill(0xffffffff, W.ARP_SHA_HI, W.ND_TARGET + 4);
  } else if (dlType === EtherType.ARP || dlType === EtherType.RARP) {
    mask[W.NW_SRC] = mask[W.NW_DST] = 0xffffffff;
    mask[W.NW_PROTO_TOS_TTL_FRAG] = 0xff000000;
    mask.fill(0xffffffff, W.ARP_SHA_HI, W.ARP_THA_LO + 1);
    return mask;
  } else {
    return mask;
  }
  mask[W.NW_PROTO_TOS_TTL_FRAG] = 0xffffffff;
  if (
    !(u(W.NW_PROTO_TOS_TTL_FRAG) & NwFrag.LATER) &&
    (proto === IpProto.ICMP ||
      proto === IpProto.ICMPV6 ||
      proto === IpProto.TCP ||
      proto === IpProto.UDP ||
      proto === IPPROTO_SCTP ||
      proto === IpProto.IGMP)
  ) {
    mask[W.TP] = 0xffffffff;
    if (proto === IpProto.TCP) mask[W.TCP_FLAGS] = 0xfff;
  }
  return mask;
}

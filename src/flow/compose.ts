// A packet from a datapath flow description, byte for byte what Open vSwitch builds for
// `ovs-appctl netdev-dummy/receive PORT 'in_port(1),eth(…),eth_type(0x0800),ipv4(…),tcp(…)'`.
//
// OVS parses the flow (lib/odp-util.c), then lib/flow.c flow_compose() writes "a packet that
// flow_extract() would parse as having the given flow": every field the flow does not give is 0
// (MACs, TTL, IPv4 id, TCP sequence numbers and window), and the rules that decide the rest are
// few and worth knowing when reading OVS's tests:
// - VLAN tags are pushed for each tag whose TCI has the CFI bit (OVS's "tag present"), outer
//   first, with that bit cleared on the wire.
// - IPv4 has no options and no DF; frag=first sets MF, frag=later sets MF and an offset of 100
//   (800 bytes) and leaves out the upper layer. IPv6 gets no fragment header at all.
// - 64 bytes of payload 0, 1, 2 … 63 (netdev-dummy's l7_len without --len) follow UDP, TCP unless
//   SYN, FIN or RST is set, and ICMP/ICMPv6 echo request and reply with code 0. Other ICMP types
//   get the bare 8-byte header (OVS: "XXX Add inner IP packet for e.g. destination unreachable?").
// - ICMP type/code come from the flow's tp_src/tp_dst. A Neighbor Solicitation/Advertisement with
//   code 0 carries nd.target and a source (sll) and a target (tll) link-layer option for each
//   non-zero address, in that order. NA flags and the reserved word stay 0.
// - ARP: hardware Ethernet, protocol IPv4, opcode from arp(op); addresses only for op 1 or 2.
// - Without eth_type the frame is the 14-byte header with the 802.3 length (14) as its type.
// - Checksums: IPv4 header, TCP/UDP/ICMPv6 over their pseudo-headers, ICMP over the message.
// With `packetSize` (netdev-dummy/receive FLOW --len N), there is no payload and the frame is
// then padded with zeros to that size, the zeros counted in the IP length (packet_expand(),
// whose UDP length counts them twice: reproduced, see grow() below).
//
// The bytes are built by src/wire/build.ts from a spec with every field explicit, so that only
// the rules above, not the builder's defaults, decide them.

import { parseOdpKey, type OdpKey } from "./odp.ts";
import {
  ipv6WordsToString,
  macWordsToString,
  NwFrag,
  SUBFIELD,
  VLAN_CFI,
  u32,
  W,
  getField,
  type FlowKey,
} from "./key.ts";
import { buildPacket, type LayerSpec, type PacketSpec } from "../wire/build.ts";
import { ipv4NumToString, toHex } from "../wire/bytes.ts";
import { csumFinish, csumPartial } from "../wire/checksum.ts";
import { EtherType, IpProto } from "../wire/numbers.ts";
import { IcmpType } from "../wire/icmp.ts";
import { Icmpv6Type } from "../wire/icmpv6.ts";
import { TcpFlag } from "../wire/tcp.ts";

/** netdev-dummy's payload length when --len is not given (lib/netdev-dummy.c eth_from_flow_str). */
export const COMPOSE_L7_LEN = 64;
const FRAG_LATER_OFFSET = 800; // flow_compose: ip_frag_off |= htons(100), in 8-byte units
const ARP_OP_REQUEST = 1;
const ARP_OP_REPLY = 2;
const IPPROTO_SCTP = 132;
const SCTP_HEADER_LEN = 12;
const IGMP_HEADER_LEN = 8;
/** An Ethernet header with no type: OVS's FLOW_DL_TYPE_NONE frame carries its own length. */
const ETH_ONLY_LEN = 14;

export interface ComposeOptions {
  /** netdev-dummy/receive FLOW --len N: the frame size; no payload, zeros up to it. */
  packetSize?: number;
  /**
   * ovs-vswitchd's other_config:vlan-limit: how many tags the flow parser reads (default 1, as in
   * OVS; 0 = no limit). Beyond it the next tag's TPID becomes the EtherType and nothing after it
   * is composed: `eth_type(0x88a8),vlan(…),encap(eth_type(0x8100),vlan(…),encap(…))` gives an
   * 18-byte frame ending in 0x8100 with the default.
   */
  vlanLimit?: number;
}

/**
 * The packet OVS composes for a datapath flow: `flow` is its text (as netdev-dummy/receive takes
 * it) or an already parsed key. Throws FlowSyntaxError for text OVS would not parse, and
 * RangeError when `packetSize` is smaller than the packet (OVS: "too small").
 */
export function composeFlow(flow: string | OdpKey, opts: ComposeOptions = {}): Uint8Array {
  const k = typeof flow === "string" ? parseOdpKey(flow) : flow;
  const spec = composeSpec(k.key, k.mask, opts.packetSize === undefined ? COMPOSE_L7_LEN : 0, opts.vlanLimit ?? 1);
  const bytes = buildPacket(spec.packet);
  if (opts.packetSize === undefined || opts.packetSize === bytes.length) return bytes;
  if (opts.packetSize < bytes.length) {
    throw new RangeError(
      `packet size ${opts.packetSize} is smaller than the ${bytes.length}-byte packet the flow needs`,
    );
  }
  // packet_expand(): the zeros become payload, counted in the lengths and checksums.
  const extra = opts.packetSize - bytes.length;
  const grown = spec.grow(extra);
  return buildPacket(grown);
}

/** The builder spec for a flow; `grow(n)` is the same with n zero bytes added as packet_expand does. */
function composeSpec(
  key: FlowKey,
  mask: FlowKey,
  l7Len: number,
  vlanLimit: number,
): { packet: PacketSpec; grow: (n: number) => PacketSpec } {
  let dlType = getField(key, SUBFIELD.dl_type);
  const layers: LayerSpec[] = [];
  const eth = { src: macWordsToString(key, W.DL_SRC_HI), dst: macWordsToString(key, W.DL_DST_HI) };
  if (u32(mask, W.DL_TYPE) === 0) {
    layers.push({ eth: { ...eth, type: ETH_ONLY_LEN } });
    return {
      packet: { layers },
      grow: (n) => ({ layers: [{ eth: { ...eth, type: ETH_ONLY_LEN + n } }], payload: { hex: "00".repeat(n) } }),
    };
  }
  // Tags present (CFI set), outer first; each tag's TPID is written by the header before it.
  const tags = [u32(key, W.VLAN0), u32(key, W.VLAN1)].filter((t) => (t & VLAN_CFI) !== 0);
  if (vlanLimit > 0 && tags.length > vlanLimit) {
    // odp_flow_key_to_flow() stops at the limit: the next tag's TPID is the flow's dl_type.
    dlType = (tags[vlanLimit] as number) >>> 16;
    tags.length = vlanLimit;
  }
  const ethType = tags.length ? (tags[0] as number) >>> 16 : dlType;
  layers.push({ eth: { ...eth, type: ethType } });
  tags.forEach((t, i) => {
    const tci = t & 0xffff;
    const next = i + 1 < tags.length ? (tags[i + 1] as number) >>> 16 : dlType;
    layers.push({ vlan: { vid: tci & 0x0fff, pcp: tci >>> 13, dei: 0, type: next } });
  });

  const proto = getField(key, SUBFIELD.nw_proto);
  const tos = getField(key, SUBFIELD.nw_tos);
  const ttl = getField(key, SUBFIELD.nw_ttl);
  const frag = getField(key, SUBFIELD.nw_frag);
  const tpSrc = getField(key, SUBFIELD.tp_src);
  const tpDst = getField(key, SUBFIELD.tp_dst);
  let payload: Uint8Array | null = null; // raw upper-layer bytes the builder has no layer for
  let l7 = 0; // pattern bytes after the upper layer
  let udp = false;
  const ip = dlType === EtherType.IPV4 || dlType === EtherType.IPV6;

  if (dlType === EtherType.IPV4) {
    layers.push({
      ipv4: {
        src: ipv4NumToString(u32(key, W.NW_SRC)),
        dst: ipv4NumToString(u32(key, W.NW_DST)),
        tos,
        ttl,
        proto,
        id: 0,
        df: false,
        mf: (frag & NwFrag.ANY) !== 0,
        offset: frag & NwFrag.LATER ? FRAG_LATER_OFFSET : 0,
      },
    });
  } else if (dlType === EtherType.IPV6) {
    layers.push({
      ipv6: {
        src: ipv6WordsToString(key, W.IPV6_SRC),
        dst: ipv6WordsToString(key, W.IPV6_DST),
        tclass: tos,
        hlimit: ttl,
        proto,
        label: getField(key, SUBFIELD.ipv6_label),
      },
    });
  } else if (dlType === EtherType.ARP || dlType === EtherType.RARP) {
    // RARP too, as flow_compose
    const op = proto;
    const full = op === ARP_OP_REQUEST || op === ARP_OP_REPLY;
    // Only an Ethernet/IPv4 ARP layer: the builder writes the RARP body the same way.
    layers.push({
      arp: {
        op,
        sha: full ? macWordsToString(key, W.ARP_SHA_HI) : "00:00:00:00:00:00",
        spa: full ? ipv4NumToString(u32(key, W.NW_SRC)) : "0.0.0.0",
        tha: full ? macWordsToString(key, W.ARP_THA_HI) : "00:00:00:00:00:00",
        tpa: full ? ipv4NumToString(u32(key, W.NW_DST)) : "0.0.0.0",
      },
    });
  }

  if (ip && !(frag & NwFrag.LATER)) {
    const v6 = dlType === EtherType.IPV6;
    if (proto === IpProto.TCP) {
      const flags = getField(key, SUBFIELD.tcp_flags);
      layers.push({ tcp: { src: tpSrc, dst: tpDst, seq: 0, ack: 0, flags, window: 0, urgent: 0 } });
      if (!(flags & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST))) l7 = l7Len;
    } else if (proto === IpProto.UDP) {
      layers.push({ udp: { src: tpSrc, dst: tpDst } });
      l7 = l7Len;
      udp = true;
    } else if (proto === IpProto.ICMP && !v6) {
      layers.push({ icmp: { type: tpSrc & 0xff, code: tpDst & 0xff, rest: 0 } });
      if ((tpSrc === IcmpType.ECHO_REQUEST || tpSrc === IcmpType.ECHO_REPLY) && tpDst === 0) l7 = l7Len;
    } else if (proto === IpProto.ICMPV6 && v6) {
      const type = tpSrc & 0xff;
      const code = tpDst & 0xff;
      const nd =
        code === 0 && (type === Icmpv6Type.NEIGHBOR_SOLICITATION || type === Icmpv6Type.NEIGHBOR_ADVERTISEMENT);
      const sll = macWordsToString(key, W.ARP_SHA_HI);
      const tll = macWordsToString(key, W.ARP_THA_HI);
      const zero = "00:00:00:00:00:00";
      layers.push({
        icmpv6: nd
          ? {
              type,
              code,
              rest: 0,
              target: ipv6WordsToString(key, W.ND_TARGET),
              sll: sll === zero ? false : sll,
              tll: tll === zero ? false : tll,
            }
          : { type, code, rest: 0 },
      });
      if (!nd && code === 0 && (type === Icmpv6Type.ECHO_REQUEST || type === Icmpv6Type.ECHO_REPLY)) l7 = l7Len;
    } else if (proto === IPPROTO_SCTP) {
      // Ports only; OVS computes no SCTP checksum (CRC32c) here.
      payload = new Uint8Array(SCTP_HEADER_LEN);
      const dv = new DataView(payload.buffer);
      dv.setUint16(0, tpSrc);
      dv.setUint16(2, tpDst);
    } else if (proto === IpProto.IGMP && !v6) {
      // Type and code from tp_src/tp_dst, group 0 (the key holds no igmp_group_ip4).
      payload = new Uint8Array(IGMP_HEADER_LEN);
      const dv = new DataView(payload.buffer);
      dv.setUint8(0, tpSrc & 0xff);
      dv.setUint8(1, tpDst & 0xff);
      dv.setUint16(2, csumFinish(csumPartial(dv, 0, IGMP_HEADER_LEN)));
    }
  }

  const pattern = new Uint8Array(l7);
  for (let i = 0; i < l7; i++) pattern[i] = i & 0xff;
  const body = payload ?? pattern;
  const packet: PacketSpec = { layers, ...(body.length ? { payload: { hex: toHex(body) } } : {}) };
  const grow = (n: number): PacketSpec => {
    // The zeros join the IP payload (zeros change no checksum). OVS 3.1's packet_expand() sets
    // the UDP length to the grown datagram's length plus `n` once more (l4_len already counts
    // the zeros); the checksum then covers that length field as written.
    const grown = new Uint8Array(body.length + n);
    grown.set(body);
    const out = layers.map(
      (l): LayerSpec => ("udp" in l && udp ? { udp: { ...l.udp, len: 8 + grown.length + n } } : l),
    );
    return { layers: out, payload: { hex: toHex(grown) } };
  };
  return { packet, grow };
}

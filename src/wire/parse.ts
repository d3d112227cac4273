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

import { CODE_ID, LAYER_ID, LAYERS, PARSE_ERROR_CODES, type Layer, type ParseErrorCode } from "./errors.ts";
import { ETHERNET_HEADER_LEN, EthernetView } from "./ethernet.ts";
import { VlanView } from "./vlan.ts";
import { ArpView } from "./arp.ts";
import { Ipv4View } from "./ipv4.ts";
import { Ipv6ExtWalker, Ipv6View } from "./ipv6.ts";
import { IcmpView } from "./icmp.ts";
import { Icmpv6View } from "./icmpv6.ts";
import { UdpView } from "./udp.ts";
import { TcpView } from "./tcp.ts";
import { GreView } from "./gre.ts";
import { VxlanView } from "./vxlan.ts";
import { GeneveView } from "./geneve.ts";
import { EtherType, IpProto, UdpPort } from "./numbers.ts";
import { INNER, MAX_VLANS, OUTER, P, S, TunnelType } from "./offsets.ts";
import { NwFrag } from "../flow/key.ts";

export class PacketParser {
  private readonly eth = new EthernetView();
  private readonly vlan = new VlanView();
  private readonly arp = new ArpView();
  private readonly ip4 = new Ipv4View();
  private readonly ip6 = new Ipv6View();
  // Open vSwitch walks any number of extension headers; each one advances, so a generous bound
  // costs nothing and keeps the walker's arrays fixed.
  private readonly ext = new Ipv6ExtWalker(128);
  private readonly icmp = new IcmpView();
  private readonly icmp6 = new Icmpv6View();
  private readonly udp = new UdpView();
  private readonly tcp = new TcpView();
  private readonly gre = new GreView();
  private readonly vxlan = new VxlanView();
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
    o.fill(-1);
    o[P.START] = start;
    o[P.END] = start + len;
    o[OUTER + S.TUN_TYPE] = TunnelType.NONE;
    o[INNER + S.TUN_TYPE] = TunnelType.NONE;
    if (!this.stack(dv, start, start + len, o, OUTER)) return false;
    const tun = o[OUTER + S.TUN_TYPE] as number;
    if (tun === TunnelType.NONE) return true;
    return this.stack(dv, this.innerStart(tun), o[OUTER + S.L3_END] as number, o, INNER);
  }

  /** Count of one (layer, code), for reports and tests. */
  errorCount(layer: Layer, code: ParseErrorCode): number {
    return this.errors[(LAYER_ID[layer] as number) * PARSE_ERROR_CODES.length + (CODE_ID[code] as number)] as number;
  }

  private innerStart(tun: number): number {
    switch (tun) {
      case TunnelType.VXLAN: return this.vxlan.payloadOff;
      case TunnelType.GENEVE: return this.geneve.payloadOff;
      default: return this.gre.payloadOff;
    }
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
    const need = proto === IpProto.TCP ? 20 : proto === IpProto.UDP || proto === IpProto.ICMP || proto === IpProto.ICMPV6 ? 8 : 0;
    if (avail < need) return this.fail(o, proto === IpProto.TCP ? "tcp" : proto === IpProto.UDP ? "udp" : proto === IpProto.ICMP ? "icmp" : "icmpv6", "truncated", l4Off);
    return true;
  }

  /** One header stack: Ethernet, up to two VLAN tags, L3, L4, and the tunnel header if any. */
  private stack(dv: DataView, off: number, end: number, o: Int32Array, b: number): boolean {
    const eth = this.eth.wrap(dv, off, end - off);
    let code = eth.check();
    if (code !== null) return this.fail(o, "ethernet", code, eth.failAt);
    o[b + S.L2] = off;
    let type = eth.etherType;
    let p = off + ETHERNET_HEADER_LEN;
    let nVlan = 0;
    while ((type === EtherType.VLAN || type === EtherType.QINQ || type === EtherType.QINQ_OLD) && nVlan < MAX_VLANS) {
      const vlan = this.vlan.wrap(dv, p, end - p);
      code = vlan.check();
      if (code !== null) return this.fail(o, "vlan", code, vlan.failAt);
      o[b + S.VLAN0 + nVlan] = p - 2; // the TPID is the EtherType field that announced the tag
      nVlan++;
      type = vlan.etherType;
      p += vlan.headerLen;
    }
    o[b + S.VLAN_N] = nVlan;
    o[b + S.DL_TYPE] = type;
    o[b + S.NW_FRAG] = 0;

    let l4Off: number;
    let l4End: number;
    let proto: number;
    let ipVersion: number;
    if (type === EtherType.IPV4) {
      const ip = this.ip4.wrap(dv, p, end - p);
      code = ip.check();
      if (code !== null) return this.fail(o, "ipv4", code, ip.failAt);
      o[b + S.L3] = p;
      l4End = p + ip.totalLen;
      o[b + S.L3_END] = l4End;
      proto = ip.protocol;
      o[b + S.NW_PROTO] = proto;
      if (ip.isFragment) {
        o[b + S.NW_FRAG] = ip.isLaterFragment ? NwFrag.ANY | NwFrag.LATER : NwFrag.ANY;
        if (ip.isLaterFragment) return true;
      }
      l4Off = ip.payloadOff;
      ipVersion = 4;
    } else if (type === EtherType.IPV6) {
      const ip = this.ip6.wrap(dv, p, end - p);
      code = ip.check();
      if (code !== null) return this.fail(o, "ipv6", code, ip.failAt);
      o[b + S.L3] = p;
      // A payload length of 0 is taken literally, as Open vSwitch's ipv6_sanity_check() does.
      l4End = ip.payloadOff + ip.payloadLen;
      o[b + S.L3_END] = l4End;
      code = this.ext.walk(dv, ip.payloadOff, l4End, ip.nextHeader);
      if (code !== null) return this.fail(o, "ipv6", code, this.ext.failAt);
      proto = this.ext.upperProto;
      o[b + S.NW_PROTO] = proto;
      if (this.ext.hasFragment) {
        o[b + S.NW_FRAG] = this.ext.laterFragment ? NwFrag.ANY | NwFrag.LATER : NwFrag.ANY;
        if (this.ext.laterFragment) return true;
      }
      l4Off = this.ext.upperOff;
      ipVersion = 6;
    } else if (type === EtherType.ARP) {
      const arp = this.arp.wrap(dv, p, end - p);
      code = arp.check();
      if (code !== null) return this.fail(o, "arp", code, arp.failAt);
      o[b + S.L3] = p;
      o[b + S.L3_END] = p + arp.headerLen;
      return true;
    } else {
      return true; // an EtherType we do not parse is payload, not an error
    }

    const avail = l4End - l4Off;
    // An IP datagram with no payload has no upper layer to parse (and OVS extracts none).
    if (avail <= 0) return true;
    // A first fragment holds the upper-layer header but not the datagram its lengths describe:
    // like OVS, read the header and leave the lengths alone.
    if (o[b + S.NW_FRAG] !== 0) return this.firstFragment(o, b, proto, l4Off, avail);
    switch (proto) {
      case IpProto.TCP: {
        const tcp = this.tcp.wrap(dv, l4Off, avail, avail);
        code = tcp.check();
        if (code !== null) return this.fail(o, "tcp", code, tcp.failAt);
        o[b + S.L4] = l4Off;
        o[b + S.L7] = tcp.payloadOff;
        return true;
      }
      case IpProto.UDP: {
        const udp = this.udp.wrap(dv, l4Off, avail, avail);
        code = udp.check();
        if (code !== null) return this.fail(o, "udp", code, udp.failAt);
        o[b + S.L4] = l4Off;
        const l7 = udp.payloadOff;
        o[b + S.L7] = l7;
        const dport = udp.dstPort;
        const payload = udp.length - udp.headerLen;
        if (dport === UdpPort.VXLAN) {
          const vx = this.vxlan.wrap(dv, l7, avail - udp.headerLen, payload);
          code = vx.check();
          if (code !== null) return this.fail(o, "vxlan", code, vx.failAt);
          o[b + S.TUN_TYPE] = TunnelType.VXLAN;
          o[b + S.TUN] = l7;
        } else if (dport === UdpPort.GENEVE) {
          const gn = this.geneve.wrap(dv, l7, avail - udp.headerLen, payload);
          code = gn.check();
          if (code !== null) return this.fail(o, "geneve", code, gn.failAt);
          // Only an Ethernet payload is a frame to parse; GENEVE may also carry bare IP.
          if (gn.protocolType === EtherType.TEB) {
            o[b + S.TUN_TYPE] = TunnelType.GENEVE;
            o[b + S.TUN] = l7;
          }
        }
        return true;
      }
      case IpProto.GRE: {
        const gre = this.gre.wrap(dv, l4Off, avail, avail);
        code = gre.check();
        if (code !== null) return this.fail(o, "gre", code, gre.failAt);
        o[b + S.L4] = l4Off;
        o[b + S.L7] = gre.payloadOff;
        if (gre.version === 0 && gre.protocolType === EtherType.TEB) {
          o[b + S.TUN_TYPE] = TunnelType.GRE;
          o[b + S.TUN] = l4Off;
        }
        return true;
      }
      case IpProto.ICMP: {
        if (ipVersion !== 4) return true;
        const icmp = this.icmp.wrap(dv, l4Off, avail);
        code = icmp.check();
        if (code !== null) return this.fail(o, "icmp", code, icmp.failAt);
        o[b + S.L4] = l4Off;
        o[b + S.L7] = icmp.payloadOff;
        return true;
      }
      case IpProto.ICMPV6: {
        if (ipVersion !== 6) return true;
        const icmp = this.icmp6.wrap(dv, l4Off, avail);
        code = icmp.check();
        if (code !== null) return this.fail(o, "icmpv6", code, icmp.failAt);
        o[b + S.L4] = l4Off;
        o[b + S.L7] = l4Off + icmp.headerLen;
        return true;
      }
      default:
        o[b + S.L4] = l4Off; // an upper layer we do not parse: its start is still known
        return true;
    }
  }
}

// The whole-stack dissector, for tools and tests: every layer of a frame with its fields, built on
// the same views as the hot-path parser (src/wire/parse.ts).
//
// Where the parser records offsets and stops at one tunnel, the dissector goes as deep as the
// bytes go (tunnels in tunnels, the IP header quoted inside an ICMP error) and returns, for each
// layer, its plain Repr and the fields under Wireshark's names (`ip.src`, `vxlan.vni` …), a
// repeated field listing every occurrence outermost first, as `tshark -T fields -E occurrence=a`
// prints it. The conformance tests compare those fields with tshark's own dissection of public
// captures, `offload-emu decode --json` prints them, and the tcpdump-style one-liner is built from
// the Reprs.
//
// Like Wireshark, it reports what it could read before a malformed or truncated header and then
// stops with a ParseError; it never throws on packet bytes.

import { ParseError, type Layer, type ParseErrorCode } from "./errors.ts";
import { CsumStatus, csumPartial } from "./checksum.ts";
import { ipv4NumToString } from "./bytes.ts";
import { ETHERNET_HEADER_LEN, EthernetView, readEthernet, type EthernetRepr } from "./ethernet.ts";
import { VlanView, readVlan, type VlanRepr } from "./vlan.ts";
import { ArpView, readArp, type ArpRepr } from "./arp.ts";
import { Ipv4View, readIpv4, type Ipv4Repr } from "./ipv4.ts";
import { Ipv6ExtWalker, Ipv6View, readIpv6, type Ipv6Repr } from "./ipv6.ts";
import { IcmpView, readIcmp, type IcmpRepr } from "./icmp.ts";
import { UdpView, readUdp, type UdpRepr } from "./udp.ts";
import { TcpView, readTcp, type TcpRepr } from "./tcp.ts";
import { GreView, readGre, type GreRepr } from "./gre.ts";
import { VxlanView, readVxlan, type VxlanRepr } from "./vxlan.ts";
import { GeneveView, readGeneve, type GeneveRepr } from "./geneve.ts";
import { CookedView, LinkType } from "./linktype.ts";
import { EtherType, IpProto, UdpPort } from "./numbers.ts";

export type DecodedLayer =
  | { name: "eth"; off: number; len: number; repr: EthernetRepr }
  | { name: "cooked"; off: number; len: number; repr: { linkType: number; etherType: number } }
  | { name: "vlan"; off: number; len: number; repr: VlanRepr & { tpid: number } }
  | { name: "arp"; off: number; len: number; repr: ArpRepr }
  | { name: "ipv4"; off: number; len: number; repr: Ipv4Repr & { checksum: number; csum: CsumStatus } }
  | { name: "ipv6"; off: number; len: number; repr: Ipv6Repr }
  | { name: "icmp"; off: number; len: number; repr: IcmpRepr }
  | { name: "icmpv6"; off: number; len: number; repr: { type: number; code: number; checksum: number } }
  | { name: "udp"; off: number; len: number; repr: UdpRepr & { csum: CsumStatus } }
  | { name: "tcp"; off: number; len: number; repr: TcpRepr & { csum: CsumStatus } }
  | { name: "gre"; off: number; len: number; repr: GreRepr }
  | { name: "vxlan"; off: number; len: number; repr: Required<VxlanRepr> }
  | { name: "geneve"; off: number; len: number; repr: GeneveRepr }
  | { name: "data"; off: number; len: number; repr: null };

export interface Decoded {
  /** Captured bytes. */
  caplen: number;
  /** Length on the wire. */
  len: number;
  linkType: number;
  layers: DecodedLayer[];
  /** Wireshark field name → every occurrence, outermost first. */
  fields: Map<string, string[]>;
  /** Wireshark's frame.protocols chain for the layers we dissect. */
  protocols: string[];
  /** Why dissection stopped early: a malformed or truncated header. */
  error: ParseError | null;
}

const hex = (v: number, digits: number) => `0x${v.toString(16).padStart(digits, "0")}`;

/** IPv6 extension headers, by Next Header value, with Wireshark's protocol names. */
const IPV6_EXT_NAME: Record<number, string> = {
  [IpProto.HOPOPTS]: "ipv6.hopopts",
  [IpProto.ROUTING]: "ipv6.routing",
  [IpProto.FRAGMENT]: "ipv6.fraghdr",
  [IpProto.DSTOPTS]: "ipv6.dstopts",
  [IpProto.AH]: "ah",
};

/** Below this an EtherType field is an 802.3 length, and LLC follows (IEEE 802.3 §3.2.6). */
const ETHERTYPE_MIN = 0x0600;

const CISCO_METADATA = 0x8909;
const CMD_HEADER_LEN = 8;

/** How deep tunnels and quoted headers may nest before we stop (a crafted packet can loop). */
const MAX_DEPTH = 16;

interface IpCtx {
  version: 4 | 6;
  off: number; // the IP header
  pseudo: number; // pseudo-header sum, -1 when a checksum cannot be verified (a fragment)
  quoted: boolean; // inside an ICMP error, which quotes only the start of the datagram
  partial: boolean; // the datagram is not all here (first fragment, cut capture, quoted)
}

class Dissector {
  private readonly eth = new EthernetView();
  private readonly vlan = new VlanView();
  private readonly cooked = new CookedView();
  private readonly arp = new ArpView();
  private readonly ip4 = new Ipv4View();
  private readonly ip6 = new Ipv6View();
  // Wireshark walks any number of extension headers; the datapath's limit is for the hot path.
  private readonly ext = new Ipv6ExtWalker(256);
  private readonly icmp = new IcmpView();
  private readonly udp = new UdpView();
  private readonly tcp = new TcpView();
  private readonly gre = new GreView();
  private readonly vxlan = new VxlanView();
  private readonly geneve = new GeneveView();

  private dv!: DataView;
  private out!: Decoded;
  private depth = 0;

  run(frame: Uint8Array, linkType: number, origLen: number): Decoded {
    this.dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    this.depth = 0;
    this.out = {
      caplen: frame.length,
      len: origLen,
      linkType,
      layers: [],
      fields: new Map(),
      protocols: [],
      error: null,
    };
    const end = frame.length;
    if (linkType === LinkType.ETHERNET) {
      this.ethernet(0, end);
    } else {
      const v = this.cooked.wrap(this.dv, 0, end, linkType);
      if (v.check() !== null) {
        this.fail("ethernet", "truncated", v.failAt);
      } else {
        const et = v.etherType;
        const hl = v.headerLen;
        this.out.layers.push({ name: "cooked", off: 0, len: hl, repr: { linkType, etherType: et } });
        // Wireshark names both Linux cooked formats "sll" in frame.protocols.
        if (linkType === LinkType.LINUX_SLL || linkType === LinkType.LINUX_SLL2) this.proto("sll", "ethertype");
        else if (linkType === LinkType.NULL) this.proto("null");
        this.etherType(et, hl, end);
      }
    }
    return this.out;
  }

  private field(name: string, value: string | number): void {
    const v = typeof value === "number" ? String(value) : value;
    const list = this.out.fields.get(name);
    if (list) list.push(v);
    else this.out.fields.set(name, [v]);
  }

  private proto(...names: string[]): void {
    this.out.protocols.push(...names);
  }

  private fail(layer: Layer, code: ParseErrorCode, at: number): void {
    if (!this.out.error) this.out.error = new ParseError(layer, code, at);
  }

  private data(off: number, end: number): void {
    if (end > off) {
      this.out.layers.push({ name: "data", off, len: end - off, repr: null });
      this.proto("data");
    }
  }

  private ethernet(off: number, end: number): void {
    if (++this.depth > MAX_DEPTH) {
      this.fail("ethernet", "too-deep", off);
      return;
    }
    const v = this.eth.wrap(this.dv, off, end - off);
    this.proto("eth");
    if (v.check() !== null) {
      this.fail("ethernet", "truncated", v.failAt);
      return;
    }
    const repr = readEthernet(v);
    this.out.layers.push({ name: "eth", off, len: ETHERNET_HEADER_LEN, repr });
    this.field("eth.dst", repr.dst);
    this.field("eth.src", repr.src);
    if (repr.etherType < ETHERTYPE_MIN) return this.data(off + ETHERNET_HEADER_LEN, end);
    this.proto("ethertype");
    this.etherType(repr.etherType, off + ETHERNET_HEADER_LEN, end);
  }

  /** Dispatch on an EtherType (or GRE/GENEVE protocol type) for the payload at `off`. */
  private etherType(type: number, off: number, end: number): void {
    switch (type) {
      case EtherType.VLAN:
      case EtherType.QINQ:
      case EtherType.QINQ_OLD:
        return this.vlanTag(type, off, end);
      case EtherType.IPV4:
        return this.ipv4(off, end, false);
      case EtherType.IPV6:
        return this.ipv6(off, end, false);
      case EtherType.ARP:
        return this.arpLayer(off, end);
      case EtherType.TEB:
        return this.ethernet(off, end);
      case CISCO_METADATA:
        return this.cmd(off, end);
      default:
        return this.data(off, end);
    }
  }

  /**
   * Cisco MetaData (TrustSec SGT tag), which GRE tunnels between Cisco routers carry in front of
   * IP. After GRE's protocol type 0x8909 come the EtherType of what follows, then version,
   * length, options and SGT (8 bytes in all, as Wireshark's packet-cmd.c reads it). Only the
   * dissector knows it, so that such captures decode as deep as Wireshark's.
   */
  private cmd(off: number, end: number): void {
    this.proto("cmd");
    if (end - off < CMD_HEADER_LEN) {
      this.fail("ethernet", "truncated", off);
      return;
    }
    this.etherType(this.dv.getUint16(off), off + CMD_HEADER_LEN, end);
  }

  private vlanTag(tpid: number, off: number, end: number): void {
    const v = this.vlan.wrap(this.dv, off, end - off);
    // Wireshark names the 802.1ad S-tag's fields ieee8021ad.*; 0x8100 and 0x9100 are vlan.*.
    const ad = tpid === EtherType.QINQ;
    this.proto(ad ? "ieee8021ad" : "vlan");
    if (v.check() !== null) {
      this.fail("vlan", "truncated", v.failAt);
      return;
    }
    const repr = { ...readVlan(v), tpid };
    this.out.layers.push({ name: "vlan", off, len: v.headerLen, repr });
    this.field(ad ? "ieee8021ad.id" : "vlan.id", repr.vid);
    if (repr.etherType < ETHERTYPE_MIN) return this.data(off + v.headerLen, end);
    if (!ad) this.field("vlan.etype", hex(repr.etherType, 4));
    this.proto("ethertype");
    this.etherType(repr.etherType, off + v.headerLen, end);
  }

  private arpLayer(off: number, end: number): void {
    const v = this.arp.wrap(this.dv, off, end - off);
    this.proto("arp");
    const code = v.check();
    if (code !== null) {
      this.fail("arp", code, v.failAt);
      return;
    }
    const repr = readArp(v);
    this.out.layers.push({ name: "arp", off, len: v.headerLen, repr });
    this.field("arp.opcode", repr.op);
  }

  private ipv4(off: number, end: number, quoted: boolean): void {
    if (++this.depth > MAX_DEPTH) {
      this.fail("ipv4", "too-deep", off);
      return;
    }
    const v = this.ip4.wrap(this.dv, off, end - off);
    this.proto("ip");
    const code = v.check();
    // A datagram longer than the capture is still dissected as far as it goes (a short snaplen,
    // or an ICMP error that quotes only the start of the offending datagram).
    const cut = code === "truncated" && v.failAt === off + 2;
    if (code !== null && !cut) {
      this.ipv4Partial(v);
      this.fail("ipv4", code, v.failAt);
      return;
    }
    if (cut && !quoted) this.fail("ipv4", "truncated", v.failAt);
    const hl = v.headerLen;
    const csum = v.checksumOk() ? CsumStatus.GOOD : CsumStatus.BAD;
    const repr = { ...readIpv4(v), checksum: v.checksum, csum };
    this.out.layers.push({ name: "ipv4", off, len: hl, repr });
    // Wireshark shows a source route's final hop as ip.dst, and the pseudo-header uses it too.
    const routeDst = this.ipv4Options(v);
    this.ipv4Fields(v, csum, routeDst);
    const payloadEnd = Math.min(end, off + v.totalLen);
    if (repr.fragOffset > 0) {
      this.data(off + hl, payloadEnd);
      return;
    }
    // No payload at all: Wireshark does not start the upper-layer dissector, and neither do we.
    if (v.totalLen <= hl) return;
    const pseudo = repr.moreFrags
      ? -1
      : csumPartial(this.dv, off + 12, 4) +
        (routeDst >= 0 ? Math.floor(routeDst / 0x10000) + (routeDst & 0xffff) : csumPartial(this.dv, off + 16, 4)) +
        repr.protocol +
        (v.totalLen - hl);
    this.l4(repr.protocol, off + hl, payloadEnd, {
      version: 4,
      off,
      pseudo,
      quoted,
      partial: repr.moreFrags || cut || quoted,
    });
  }

  private ipv4Fields(v: Ipv4View, csum: CsumStatus, routeDst = -1): void {
    this.field("ip.hdr_len", v.headerLen);
    this.field("ip.flags.mf", v.moreFrags ? 1 : 0);
    this.field("ip.frag_offset", v.fragOffset / 8);
    this.field("ip.proto", v.protocol);
    this.field("ip.checksum.status", csum);
    this.field("ip.src", ipv4NumToString(v.srcNum));
    this.field("ip.dst", ipv4NumToString(routeDst >= 0 ? routeDst : v.dstNum));
  }

  /**
   * Fields Wireshark still shows for an IPv4 header that fails its checks: the length it read
   * for a bad IHL, and the fixed fields (checksum unverified) when only the options are cut off.
   */
  private ipv4Partial(v: Ipv4View): void {
    if (v.avail < 20 || v.version !== 4) return;
    if (v.headerLen < 20) this.field("ip.hdr_len", v.headerLen);
    else this.ipv4Fields(v, CsumStatus.UNKNOWN);
  }

  /**
   * Records each option's type (ip.opt.type) and returns the final destination of a loose or
   * strict source route (RFC 791 §3.1: types 131 and 137), or -1 when there is none.
   */
  private ipv4Options(v: Ipv4View): number {
    const end = v.off + v.headerLen;
    let routeDst = -1;
    for (let p = v.optionsOff; p < end; ) {
      const type = this.dv.getUint8(p);
      this.field("ip.opt.type", type);
      if (type === 0) break; // End of Option List
      if (type === 1) {
        p++;
        continue;
      } // No Operation
      if (p + 1 >= end) break;
      const len = this.dv.getUint8(p + 1);
      if (len < 2) break;
      if ((type === 131 || type === 137) && len >= 7 && p + len <= end) routeDst = this.dv.getUint32(p + len - 4);
      p += len;
    }
    return routeDst;
  }

  private ipv6(off: number, end: number, quoted: boolean): void {
    if (++this.depth > MAX_DEPTH) {
      this.fail("ipv6", "too-deep", off);
      return;
    }
    const v = this.ip6.wrap(this.dv, off, end - off);
    this.proto("ipv6");
    const code = v.check();
    const cut = code === "truncated" && v.failAt === off + 4;
    if (code !== null && !cut) {
      this.fail("ipv6", code, v.failAt);
      return;
    }
    if (cut && !quoted) this.fail("ipv6", "truncated", v.failAt);
    this.field("ipv6.nxt", v.nextHeader);
    this.field("ipv6.src", v.src);
    this.field("ipv6.dst", v.dst);
    // A payload length of 0 is taken literally, as both Wireshark (without its TSO preference) and
    // Open vSwitch do: only a hop-by-hop jumbo option could make it mean more (RFC 2675).
    const payloadEnd = Math.min(end, v.payloadOff + v.payloadLen);
    const w = this.ext;
    const wcode = w.walk(this.dv, v.payloadOff, payloadEnd, v.nextHeader);
    if (wcode === null) {
      this.out.layers.push({ name: "ipv6", off, len: w.upperOff - off, repr: readIpv6(v, 256) });
    }
    for (let i = 0; i < w.extCount; i++) {
      const nh = w.extProto[i] as number;
      this.proto(IPV6_EXT_NAME[nh] ?? "ipv6.ext");
      if (nh === IpProto.FRAGMENT) {
        const at = w.extOff[i] as number;
        this.field("ipv6.fraghdr.offset", this.dv.getUint16(at + 2) >>> 3);
        this.field("ipv6.fraghdr.more", this.dv.getUint16(at + 2) & 1);
      }
    }
    if (wcode !== null) {
      // Wireshark has entered the header it failed in, so it names it.
      const nh = w.extCount === 0 ? v.nextHeader : this.dv.getUint8(w.extOff[w.extCount - 1] as number);
      this.proto(IPV6_EXT_NAME[nh] ?? "ipv6.ext");
      this.fail("ipv6", wcode, w.failAt);
      return;
    }
    if (w.laterFragment) {
      this.data(w.upperOff, payloadEnd);
      return;
    }
    const l4Len = payloadEnd - w.upperOff;
    // An atomic fragment (offset 0, no more fragments: RFC 6946) is a whole datagram.
    const fragmented = w.hasFragment && w.moreFragments;
    const pseudo = fragmented ? -1 : this.pseudoV6(v, w, l4Len);
    this.l4(w.upperProto, w.upperOff, payloadEnd, {
      version: 6,
      off,
      pseudo,
      quoted,
      partial: fragmented || cut || quoted,
    });
  }

  /**
   * IPv6 pseudo-header sum. With a routing header, the destination is the final one (RFC 8200
   * §8.1): the last address of a type 0 routing header or the first segment of an SRH.
   */
  private pseudoV6(v: Ipv6View, w: Ipv6ExtWalker, l4Len: number): number {
    let dstOff = v.dstOff;
    for (let i = 0; i < w.extCount; i++) {
      if (w.extProto[i] !== IpProto.ROUTING) continue;
      const at = w.extOff[i] as number;
      const type = this.dv.getUint8(at + 2);
      const segLeft = this.dv.getUint8(at + 3);
      const hdrLen = this.dv.getUint8(at + 1);
      if (segLeft === 0) continue;
      if (type === 0 && hdrLen >= 2) dstOff = at + 8 + (hdrLen / 2 - 1) * 16;
      else if (type === 4 && hdrLen >= 2) dstOff = at + 8; // SRH: Segment List[0] is the final hop
    }
    return (
      csumPartial(this.dv, v.srcOff, 16) +
      csumPartial(this.dv, dstOff, 16) +
      Math.floor(l4Len / 0x10000) +
      (l4Len & 0xffff) +
      w.upperProto
    );
  }

  private l4(proto: number, off: number, end: number, ip: IpCtx): void {
    switch (proto) {
      case IpProto.UDP:
        return this.udpLayer(off, end, ip);
      case IpProto.TCP:
        return this.tcpLayer(off, end, ip);
      case IpProto.GRE:
        return this.greLayer(off, end);
      case IpProto.ICMP:
        return this.icmpLayer(off, end, ip);
      case IpProto.ICMPV6:
        return this.icmpv6Layer(off, end, ip);
      case IpProto.IPIP:
        return this.ipv4(off, end, false);
      case IpProto.IPV6:
        return this.ipv6(off, end, false);
      default:
        return this.data(off, end);
    }
  }

  private udpLayer(off: number, end: number, ip: IpCtx): void {
    const v = this.udp.wrap(this.dv, off, end - off, ip.partial ? -1 : end - off);
    this.proto("udp");
    const code = v.check();
    // Part of a datagram (a first fragment, a quoted one, a short capture) is read as far as it
    // goes; only a header that is itself incomplete or inconsistent is an error.
    if (code !== null && !(code === "truncated" && v.avail >= 8)) {
      if (v.avail >= 4) {
        this.field("udp.srcport", v.srcPort);
        this.field("udp.dstport", v.dstPort);
      }
      this.fail("udp", code, v.failAt);
      return;
    }
    if (code !== null && !ip.partial) this.fail("udp", code, v.failAt);
    let csum: CsumStatus = CsumStatus.UNKNOWN;
    if (v.checksum === 0 && ip.version === 4) csum = CsumStatus.NOT_PRESENT;
    else if (ip.pseudo >= 0 && code === null) csum = v.verifyChecksumFrom(ip.pseudo, ip.version === 6);
    const repr = { ...readUdp(v), csum };
    this.out.layers.push({ name: "udp", off, len: v.headerLen, repr });
    this.field("udp.srcport", repr.srcPort);
    this.field("udp.dstport", repr.dstPort);
    this.field("udp.checksum.status", csum);
    if (code !== null) return;
    const payloadEnd = Math.min(end, off + repr.length);
    const p = off + v.headerLen;
    if (repr.dstPort === UdpPort.VXLAN) return this.vxlanLayer(p, payloadEnd);
    if (repr.dstPort === UdpPort.GENEVE) return this.geneveLayer(p, payloadEnd);
    this.data(p, payloadEnd);
  }

  private tcpLayer(off: number, end: number, ip: IpCtx): void {
    const v = this.tcp.wrap(this.dv, off, end - off, ip.partial ? -1 : end - off);
    this.proto("tcp");
    const code = v.check();
    if (code !== null) {
      if (v.avail >= 4) {
        this.field("tcp.srcport", v.srcPort);
        this.field("tcp.dstport", v.dstPort);
      }
      this.fail("tcp", code, v.failAt);
      return;
    }
    const csum = ip.pseudo >= 0 && !ip.partial ? v.verifyChecksumFrom(ip.pseudo) : CsumStatus.UNKNOWN;
    const repr = { ...readTcp(v), csum };
    this.out.layers.push({ name: "tcp", off, len: v.headerLen, repr });
    this.field("tcp.srcport", repr.srcPort);
    this.field("tcp.dstport", repr.dstPort);
    this.field("tcp.flags", hex(v.flags, 4));
    this.field("tcp.checksum.status", csum);
    this.data(v.payloadOff, end);
  }

  private greLayer(off: number, end: number): void {
    const v = this.gre.wrap(this.dv, off, end - off, end - off);
    this.proto("gre");
    const code = v.check();
    if (code !== null) {
      this.fail("gre", code, v.failAt);
      return;
    }
    const repr = readGre(v);
    this.out.layers.push({ name: "gre", off, len: v.headerLen, repr });
    this.field("gre.flags_and_version", hex(v.flagsAndVersion, 4));
    this.field("gre.proto", hex(v.protocolType, 4));
    // Enhanced GRE (PPTP) splits the key into payload length and call ID, with their own names.
    if (v.keyPresent && v.version === 0) this.field("gre.key", hex(v.key >>> 0, 8));
    const p = v.payloadOff;
    if (v.version === 1) return this.data(p, end);
    this.etherType(v.protocolType, p, end);
  }

  private vxlanLayer(off: number, end: number): void {
    const v = this.vxlan.wrap(this.dv, off, end - off, end - off);
    this.proto("vxlan");
    const code = v.check();
    if (code !== null) {
      this.fail("vxlan", code, v.failAt);
      return;
    }
    const repr = readVxlan(v);
    this.out.layers.push({ name: "vxlan", off, len: v.headerLen, repr });
    this.field("vxlan.flags", hex(v.flags, 4));
    this.field("vxlan.vni", repr.vni);
    this.ethernet(v.payloadOff, end);
  }

  private geneveLayer(off: number, end: number): void {
    const v = this.geneve.wrap(this.dv, off, end - off, end - off);
    this.proto("geneve");
    const code = v.check();
    if (code !== null) {
      if (v.avail >= 8) this.field("geneve.vni", hex(v.vni, 6));
      this.fail("geneve", code, v.failAt);
      return;
    }
    const repr = readGeneve(v);
    this.out.layers.push({ name: "geneve", off, len: v.headerLen, repr });
    this.field("geneve.vni", hex(repr.vni, 6));
    for (let ok = v.optFirst(); ok; ok = v.optNext()) {
      this.field("geneve.option.class", hex(v.optClass, 4));
      this.field("geneve.option.type", hex(v.optType, 2));
    }
    this.etherType(v.protocolType, v.payloadOff, end);
  }

  private icmpLayer(off: number, end: number, ip: IpCtx): void {
    const v = this.icmp.wrap(this.dv, off, end - off);
    this.proto("icmp");
    const code = v.check();
    if (code !== null) {
      this.fail("icmp", code, v.failAt);
      return;
    }
    const repr = readIcmp(v);
    this.out.layers.push({ name: "icmp", off, len: v.headerLen, repr });
    this.field("icmp.type", repr.type);
    this.field("icmp.code", repr.code);
    // An ICMP error quotes the offending datagram's IP header and first bytes (RFC 792).
    if (v.isError && !ip.quoted) return this.ipv4(v.payloadOff, end, true);
    this.data(v.payloadOff, end);
  }

  private icmpv6Layer(off: number, end: number, ip: IpCtx): void {
    this.proto("icmpv6");
    if (end - off < 4) {
      this.fail("icmpv6", "truncated", off);
      return;
    }
    const type = this.dv.getUint8(off);
    const codeV = this.dv.getUint8(off + 1);
    const checksum = this.dv.getUint16(off + 2);
    this.out.layers.push({ name: "icmpv6", off, len: end - off, repr: { type, code: codeV, checksum } });
    this.field("icmpv6.type", type);
    this.field("icmpv6.code", codeV);
    // Errors (types below 128) quote the offending packet (RFC 4443 §2.1), after 4 more bytes.
    if (type < 128 && !ip.quoted && end - off >= 8) return this.ipv6(off + 8, end, true);
  }
}

const dissector = new Dissector();

/** Dissects one captured frame. `origLen` is its length on the wire (defaults to the capture). */
export function decodeFrame(frame: Uint8Array, linkType: number = LinkType.ETHERNET, origLen = frame.length): Decoded {
  return dissector.run(frame, linkType, origLen);
}

// UDP header, RFC 768; checksum over the IPv4 (RFC 768) or IPv6 (RFC 8200 §8.1) pseudo-header.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          Source Port          |       Destination Port        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |            Length             |           Checksum            |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Sits on ipv4.ts/ipv6.ts; the hot-path parser looks at dstPort to hand the payload to vxlan.ts
// (4789) or geneve.ts (6081). The view is wrapped with two lengths: `avail`, the bytes captured
// from the header on, and `len`, the bytes the IP header gives to UDP (IPv4 total length − IHL×4,
// IPv6 payload length − extension headers; -1 when unknown). A UDP length that exceeds `len` is
// impossible, so "bad-length"; one that fits `len` but not `avail` means the capture was cut
// (caplen < len on the wire), so "truncated" — tcpdump's udp-length-heapoverflow.pcap is the
// second kind.

import { ParseError, type ParseErrorCode } from "./errors.ts";
import {
  CsumStatus,
  csumFinish,
  csumPartial,
  csumUpdate16,
  csumUpdate32,
  pseudoHeaderV4,
  pseudoHeaderV6,
} from "./checksum.ts";
import { IpProto } from "./numbers.ts";

const F = {
  SRC_PORT: 0, // u16
  DST_PORT: 2, // u16
  LENGTH: 4, // u16 header + payload, bytes
  CHECKSUM: 6, // u16 over pseudo-header + header + payload; 0 = none (IPv4 only)
} as const;
export const UDP_HEADER_LEN = 8;

const EMPTY = new DataView(new ArrayBuffer(0));

export class UdpView {
  private dv: DataView = EMPTY;
  off = 0; // absolute offset of the header in the slot
  avail = 0; // bytes captured from `off` on
  len = -1; // bytes the IP header gives this datagram, -1 when not known
  failAt = -1; // after a failed check(): absolute offset of the offending field
  // Values a successful check() read, kept so the hot-path parser does not read each field a
  // second time through its getter; stale once the header is rewritten.
  checkedLength = 0;
  checkedDstPort = 0;

  wrap(dv: DataView, off: number, avail: number, len = -1): this {
    this.dv = dv;
    this.off = off;
    this.avail = avail;
    this.len = len;
    this.failAt = -1;
    return this;
  }

  /**
   * null when every getter is safe and the whole datagram (`length` bytes) is present; otherwise
   * why not. Allocates nothing.
   */
  check(): ParseErrorCode | null {
    if (this.len >= 0 && this.len < UDP_HEADER_LEN) return this.fail("bad-length", 0);
    if (this.avail < UDP_HEADER_LEN) return this.fail("truncated", 0);
    const length = this.dv.getUint16(this.off + F.LENGTH);
    if (length < UDP_HEADER_LEN) return this.fail("bad-length", F.LENGTH);
    if (this.len >= 0 && length > this.len) return this.fail("bad-length", F.LENGTH);
    if (length > this.avail) return this.fail("truncated", F.LENGTH);
    this.checkedLength = length;
    this.checkedDstPort = this.dv.getUint16(this.off + F.DST_PORT);
    return null;
  }

  /** check() for tools and tests: throws a ParseError instead of returning a code. */
  parse(): this {
    const code = this.check();
    if (code !== null) throw new ParseError("udp", code, this.failAt);
    return this;
  }

  private fail(code: ParseErrorCode, field: number): ParseErrorCode {
    this.failAt = this.off + field;
    return code;
  }

  get srcPort(): number {
    return this.dv.getUint16(this.off + F.SRC_PORT);
  }
  set srcPort(v: number) {
    this.dv.setUint16(this.off + F.SRC_PORT, v);
  }
  get dstPort(): number {
    return this.dv.getUint16(this.off + F.DST_PORT);
  }
  set dstPort(v: number) {
    this.dv.setUint16(this.off + F.DST_PORT, v);
  }
  /** Header + payload, bytes, as on the wire. */
  get length(): number {
    return this.dv.getUint16(this.off + F.LENGTH);
  }
  set length(v: number) {
    this.dv.setUint16(this.off + F.LENGTH, v);
  }
  get checksum(): number {
    return this.dv.getUint16(this.off + F.CHECKSUM);
  }
  set checksum(v: number) {
    this.dv.setUint16(this.off + F.CHECKSUM, v);
  }
  get headerLen(): number {
    return UDP_HEADER_LEN;
  }
  /** Absolute offset of the payload (a VXLAN or GENEVE header, for tunnel ports). */
  get payloadOff(): number {
    return this.off + UDP_HEADER_LEN;
  }
  get payloadLen(): number {
    return this.length - UDP_HEADER_LEN;
  }

  /**
   * Partial sum of the pseudo-header for this datagram: the UDP length field is the length used
   * (RFC 768; RFC 8200 §8.1 "that is the length used in the pseudo-header"). `ipOff` is the
   * absolute offset of the IP header. With an IPv6 routing header the final destination belongs
   * in the pseudo-header instead; such callers compute the sum themselves and use the *From
   * methods below.
   */
  pseudoSum(ipOff: number, ipVersion: number): number {
    return ipVersion === 6
      ? pseudoHeaderV6(this.dv, ipOff, IpProto.UDP, this.length)
      : pseudoHeaderV4(this.dv, ipOff, IpProto.UDP, this.length);
  }

  verifyChecksum(ipOff: number, ipVersion: number): CsumStatus {
    if (this.checksum === 0) return ipVersion === 6 ? CsumStatus.BAD : CsumStatus.NOT_PRESENT;
    return this.verifyChecksumFrom(this.pseudoSum(ipOff, ipVersion), ipVersion === 6);
  }

  /**
   * A zero checksum means "none" over IPv4 (RFC 768). Over IPv6 it is invalid (RFC 8200 §8.1)
   * and reported BAD, as Wireshark does ("Illegal"): RFC 6935/6936 let a tunnel endpoint accept
   * it, which is the tunnel port's decision, not the header's. UNKNOWN when the datagram is not
   * all present (call check() first to avoid that).
   */
  verifyChecksumFrom(pseudo: number, overIpv6: boolean): CsumStatus {
    if (this.checksum === 0) return overIpv6 ? CsumStatus.BAD : CsumStatus.NOT_PRESENT;
    const length = this.length;
    if (length < UDP_HEADER_LEN || length > this.avail) return CsumStatus.UNKNOWN;
    return csumFinish(csumPartial(this.dv, this.off, length, pseudo)) === 0 ? CsumStatus.GOOD : CsumStatus.BAD;
  }

  fillChecksum(ipOff: number, ipVersion: number): void {
    this.fillChecksumFrom(this.pseudoSum(ipOff, ipVersion));
  }

  /** A computed 0 is sent as 0xffff, since 0 means "no checksum" (RFC 768). */
  fillChecksumFrom(pseudo: number): void {
    this.checksum = 0;
    const c = csumFinish(csumPartial(this.dv, this.off, this.length, pseudo));
    this.checksum = c === 0 ? 0xffff : c;
  }

  /**
   * Adjust the checksum for a 16-bit word of the datagram or pseudo-header changing (RFC 1624).
   * A zero checksum ("none", IPv4) stays zero; a result of 0 is sent as 0xffff, as Open vSwitch's
   * packet_set_udp_port() does.
   */
  adjustChecksum16(oldWord: number, newWord: number): void {
    const c = this.checksum;
    if (c === 0) return;
    const n = csumUpdate16(c, oldWord, newWord);
    this.checksum = n === 0 ? 0xffff : n;
  }

  /** The same for a 32-bit pseudo-header word (an IPv4 address rewritten by NAT). */
  adjustChecksum32(oldWord: number, newWord: number): void {
    const c = this.checksum;
    if (c === 0) return;
    const n = csumUpdate32(c, oldWord, newWord);
    this.checksum = n === 0 ? 0xffff : n;
  }

  /** Rewrite a port (set_field tp_src) keeping the checksum valid without re-summing. */
  rewriteSrcPort(v: number): void {
    this.adjustChecksum16(this.srcPort, v);
    this.srcPort = v;
  }

  rewriteDstPort(v: number): void {
    this.adjustChecksum16(this.dstPort, v);
    this.dstPort = v;
  }
}

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  length: number; // header + payload, bytes
  checksum: number; // as written; fill it after the payload with UdpView.fillChecksum
}

export function udpHeaderLen(_r: UdpRepr): number {
  return UDP_HEADER_LEN;
}

export function emitUdp(r: UdpRepr, dv: DataView, off: number): number {
  dv.setUint16(off + F.SRC_PORT, r.srcPort);
  dv.setUint16(off + F.DST_PORT, r.dstPort);
  dv.setUint16(off + F.LENGTH, r.length);
  dv.setUint16(off + F.CHECKSUM, r.checksum);
  return off + UDP_HEADER_LEN;
}

export function readUdp(v: UdpView): UdpRepr {
  return { srcPort: v.srcPort, dstPort: v.dstPort, length: v.length, checksum: v.checksum };
}

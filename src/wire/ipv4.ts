// IPv4 header, RFC 791 §3.1; DSCP/ECN split of the TOS byte per RFC 2474 §3 and RFC 3168 §5.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Version|  IHL  |   DSCP    |ECN|          Total Length         |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |         Identification        |R|D|M|      Fragment Offset    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  Time to Live |    Protocol   |         Header Checksum       |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                       Source Address                          |
//  |                    Destination Address                        |
//  |                    Options (IHL > 5)                          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Follows ethernet.ts/vlan.ts (EtherType 0x0800), or a tunnel's inner frame; the hot-path parser
// hands `payloadOff`..`payloadOff + payloadAvail` to the `protocol`'s view (udp.ts, tcp.ts,
// icmp.ts, gre.ts). Options are passed through as bytes: nothing the emulator does reads them,
// and Open vSwitch does not either. Rewrites done by datapath actions (TTL, TOS, addresses) keep
// the header checksum right incrementally (RFC 1624) instead of re-summing the header.

import { ParseError, type ParseErrorCode } from "./errors.ts";
import { csumFinish, csumPartial, csumUpdate16, csumUpdate32 } from "./checksum.ts";
import { ipv4FromString, ipv4NumToString, ipv4ToString } from "./bytes.ts";

const F = {
  VER_IHL: 0, // u8  version (4) | header length in 32-bit words (4)
  TOS: 1, // u8  DSCP (6) | ECN (2)
  TOTAL_LEN: 2, // u16 header + payload, bytes
  ID: 4, // u16 identification, groups fragments
  FLAGS_FRAG: 6, // u16 reserved | DF | MF | fragment offset in 8-byte units (13)
  TTL: 8, // u8
  PROTOCOL: 9, // u8  IpProto of the payload
  CHECKSUM: 10, // u16 over the header only
  SRC: 12, // u32
  DST: 16, // u32
  OPTIONS: 20, // IHL * 4 - 20 bytes
} as const;
export const IPV4_HEADER_LEN = 20;
/** IHL is 4 bits of 32-bit words: at most 60 bytes of header, 40 of them options. */
export const IPV4_MAX_HEADER_LEN = 60;

const FLAG_RESERVED = 0x8000;
const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const FRAG_MASK = 0x1fff;

const EMPTY = new DataView(new ArrayBuffer(0));

export class Ipv4View {
  private dv: DataView = EMPTY;
  off = 0; // absolute offset of the header in the slot
  avail = 0; // bytes from `off` to the end of the enclosing payload (or of the capture)
  failAt = -1; // after a failed check(): absolute offset of the offending field
  // Values a successful check() read, kept so the hot-path parser does not read each field a
  // second time through its getter; stale once the header is rewritten.
  checkedHeaderLen = 0; // bytes
  checkedTotalLen = 0;
  checkedProtocol = 0;
  checkedFragment = false; // isFragment
  checkedLaterFragment = false; // isLaterFragment

  wrap(dv: DataView, off: number, avail: number): this {
    this.dv = dv;
    this.off = off;
    this.avail = avail;
    this.failAt = -1;
    return this;
  }

  /**
   * null when the header and the whole datagram (`totalLen` bytes) are present and consistent;
   * otherwise why not. Allocates nothing. A header or datagram longer than the bytes present is
   * `truncated` (a short snaplen: more bytes would help), reported at the length field that
   * claims more; lengths that contradict each other are bad contents. After `truncated` at
   * TOTAL_LEN the header itself is whole: every getter works, and payloadAvail says how much
   * of the payload was captured.
   */
  check(): ParseErrorCode | null {
    if (this.avail < IPV4_HEADER_LEN) return this.fail("truncated", 0);
    const verIhl = this.dv.getUint8(this.off + F.VER_IHL);
    if (verIhl >>> 4 !== 4) return this.fail("bad-version", F.VER_IHL);
    const hl = (verIhl & 0x0f) * 4;
    if (hl < IPV4_HEADER_LEN) return this.fail("bad-header-len", F.VER_IHL);
    const total = this.dv.getUint16(this.off + F.TOTAL_LEN);
    if (total < hl) return this.fail("bad-total-len", F.TOTAL_LEN);
    if (hl > this.avail) return this.fail("truncated", F.VER_IHL);
    if (total > this.avail) return this.fail("truncated", F.TOTAL_LEN);
    this.checkedHeaderLen = hl;
    this.checkedTotalLen = total;
    this.checkedProtocol = this.dv.getUint8(this.off + F.PROTOCOL);
    const flagsFrag = this.dv.getUint16(this.off + F.FLAGS_FRAG);
    this.checkedFragment = (flagsFrag & (FLAG_MF | FRAG_MASK)) !== 0;
    this.checkedLaterFragment = (flagsFrag & FRAG_MASK) !== 0;
    return null;
  }

  /** check() for tools and tests: throws a ParseError instead of returning a code. */
  parse(): this {
    const code = this.check();
    if (code !== null) throw new ParseError("ipv4", code, this.failAt);
    return this;
  }

  private fail(code: ParseErrorCode, field: number): ParseErrorCode {
    this.failAt = this.off + field;
    return code;
  }

  get version(): number {
    return this.dv.getUint8(this.off + F.VER_IHL) >>> 4;
  }
  /** IHL in bytes: the options end and the payload starts here. */
  get headerLen(): number {
    return (this.dv.getUint8(this.off + F.VER_IHL) & 0x0f) * 4;
  }
  get tos(): number {
    return this.dv.getUint8(this.off + F.TOS);
  }
  set tos(v: number) {
    this.dv.setUint8(this.off + F.TOS, v);
  }
  /** Differentiated Services codepoint, the top 6 bits of TOS (RFC 2474). */
  get dscp(): number {
    return this.tos >>> 2;
  }
  /** Explicit Congestion Notification, the low 2 bits of TOS (RFC 3168). */
  get ecn(): number {
    return this.tos & 3;
  }
  get totalLen(): number {
    return this.dv.getUint16(this.off + F.TOTAL_LEN);
  }
  set totalLen(v: number) {
    this.dv.setUint16(this.off + F.TOTAL_LEN, v);
  }
  get id(): number {
    return this.dv.getUint16(this.off + F.ID);
  }
  set id(v: number) {
    this.dv.setUint16(this.off + F.ID, v);
  }
  /** RFC 791's "must be zero" flag bit; passed through, never interpreted. */
  get reservedBit(): boolean {
    return (this.dv.getUint16(this.off + F.FLAGS_FRAG) & FLAG_RESERVED) !== 0;
  }
  get dontFrag(): boolean {
    return (this.dv.getUint16(this.off + F.FLAGS_FRAG) & FLAG_DF) !== 0;
  }
  get moreFrags(): boolean {
    return (this.dv.getUint16(this.off + F.FLAGS_FRAG) & FLAG_MF) !== 0;
  }
  /** In bytes, not the 8-byte units on the wire. */
  get fragOffset(): number {
    return (this.dv.getUint16(this.off + F.FLAGS_FRAG) & FRAG_MASK) * 8;
  }
  /** Any fragment, first included (Open vSwitch's FLOW_NW_FRAG_ANY). */
  get isFragment(): boolean {
    return (this.dv.getUint16(this.off + F.FLAGS_FRAG) & (FLAG_MF | FRAG_MASK)) !== 0;
  }
  /** A fragment other than the first: no upper-layer header (FLOW_NW_FRAG_LATER). */
  get isLaterFragment(): boolean {
    return (this.dv.getUint16(this.off + F.FLAGS_FRAG) & FRAG_MASK) !== 0;
  }
  get ttl(): number {
    return this.dv.getUint8(this.off + F.TTL);
  }
  /** Raw write; the checksum is left as it was (for ports that fill it on transmit). */
  set ttl(v: number) {
    this.dv.setUint8(this.off + F.TTL, v);
  }
  /** IpProto of the payload: the next header to parse. */
  get protocol(): number {
    return this.dv.getUint8(this.off + F.PROTOCOL);
  }
  set protocol(v: number) {
    this.dv.setUint8(this.off + F.PROTOCOL, v);
  }
  get checksum(): number {
    return this.dv.getUint16(this.off + F.CHECKSUM);
  }
  set checksum(v: number) {
    this.dv.setUint16(this.off + F.CHECKSUM, v);
  }
  /** Addresses as unsigned 32-bit numbers (the flow key's nw_src / nw_dst). */
  get srcNum(): number {
    return this.dv.getUint32(this.off + F.SRC);
  }
  set srcNum(v: number) {
    this.dv.setUint32(this.off + F.SRC, v >>> 0);
  }
  get dstNum(): number {
    return this.dv.getUint32(this.off + F.DST);
  }
  set dstNum(v: number) {
    this.dv.setUint32(this.off + F.DST, v >>> 0);
  }
  /** Absolute offsets of the addresses, for pseudo-header sums and in-place copies. */
  get srcOff(): number {
    return this.off + F.SRC;
  }
  get dstOff(): number {
    return this.off + F.DST;
  }
  /** Dotted quads, for tools (they build a string). */
  get src(): string {
    return ipv4ToString(this.dv, this.off + F.SRC);
  }
  get dst(): string {
    return ipv4ToString(this.dv, this.off + F.DST);
  }
  get optionsOff(): number {
    return this.off + F.OPTIONS;
  }
  get optionsLen(): number {
    return this.headerLen - IPV4_HEADER_LEN;
  }
  /** Absolute offset of the payload (the upper-layer header). */
  get payloadOff(): number {
    return this.off + this.headerLen;
  }
  /** Payload length as the header states it. */
  get payloadLen(): number {
    return this.totalLen - this.headerLen;
  }
  /** Payload bytes actually present: the stated length, cut to what was captured. */
  get payloadAvail(): number {
    const end = Math.min(this.totalLen, this.avail) - this.headerLen;
    return end > 0 ? end : 0;
  }

  /** A copy of the option bytes (allocates: for tools and Reprs, not the hot path). */
  copyOptions(): Uint8Array {
    const start = this.dv.byteOffset + this.off + F.OPTIONS;
    return new Uint8Array(this.dv.buffer, start, this.optionsLen).slice();
  }

  /** Whether the header checksum verifies (RFC 1071: the sum over the header is all ones). */
  checksumOk(): boolean {
    return csumFinish(csumPartial(this.dv, this.off, this.headerLen)) === 0;
  }

  fillChecksum(): void {
    this.dv.setUint16(this.off + F.CHECKSUM, 0);
    this.dv.setUint16(this.off + F.CHECKSUM, csumFinish(csumPartial(this.dv, this.off, this.headerLen)));
  }

  /** TTL rewrite (dec_ttl, set_field) keeping the checksum right: RFC 1624 on the TTL|protocol word. */
  setTtlUpdateCsum(ttl: number): void {
    const old = this.dv.getUint16(this.off + F.TTL);
    this.ttl = ttl;
    this.checksum = csumUpdate16(this.checksum, old, this.dv.getUint16(this.off + F.TTL));
  }

  /** TOS rewrite (DSCP and ECN together; mask before calling to change one). */
  setTosUpdateCsum(tos: number): void {
    const old = this.dv.getUint16(this.off + F.VER_IHL);
    this.tos = tos;
    this.checksum = csumUpdate16(this.checksum, old, this.dv.getUint16(this.off + F.VER_IHL));
  }

  setSrcUpdateCsum(addr: number): void {
    const old = this.srcNum;
    this.srcNum = addr;
    this.checksum = csumUpdate32(this.checksum, old, addr >>> 0);
  }

  setDstUpdateCsum(addr: number): void {
    const old = this.dstNum;
    this.dstNum = addr;
    this.checksum = csumUpdate32(this.checksum, old, addr >>> 0);
  }
}

export interface Ipv4Repr {
  dscp: number; // 0..63
  ecn: number; // 0..3
  id: number;
  dontFrag: boolean;
  moreFrags: boolean;
  fragOffset: number; // bytes, a multiple of 8
  ttl: number;
  protocol: number;
  src: string; // "192.0.2.1"
  dst: string;
  options: Uint8Array; // raw option bytes, a multiple of 4 long (emit pads with EOL), at most 40
  payloadLen: number; // bytes after the header (total length − header length)
  reservedBit?: boolean; // the "must be zero" flag, passed through when set
}

export function ipv4HeaderLen(r: Ipv4Repr): number {
  return IPV4_HEADER_LEN + ((r.options.length + 3) & ~3);
}

/**
 * Writes the header, options and all, and returns where the payload starts. With
 * `fillChecksum` false the checksum is 0, for a port that fills it on transmit.
 */
export function emitIpv4(r: Ipv4Repr, dv: DataView, off: number, fillChecksum: boolean): number {
  const hl = ipv4HeaderLen(r);
  if (hl > IPV4_MAX_HEADER_LEN) throw new RangeError(`IPv4 options: ${r.options.length} bytes, at most 40 fit`);
  if (r.fragOffset % 8 !== 0) throw new RangeError(`IPv4 fragment offset ${r.fragOffset} is not a multiple of 8`);
  dv.setUint8(off + F.VER_IHL, 0x40 | (hl >>> 2));
  dv.setUint8(off + F.TOS, ((r.dscp & 0x3f) << 2) | (r.ecn & 3));
  dv.setUint16(off + F.TOTAL_LEN, hl + r.payloadLen);
  dv.setUint16(off + F.ID, r.id);
  dv.setUint16(
    off + F.FLAGS_FRAG,
    (r.reservedBit ? FLAG_RESERVED : 0) |
      (r.dontFrag ? FLAG_DF : 0) |
      (r.moreFrags ? FLAG_MF : 0) |
      ((r.fragOffset / 8) & FRAG_MASK),
  );
  dv.setUint8(off + F.TTL, r.ttl);
  dv.setUint8(off + F.PROTOCOL, r.protocol);
  dv.setUint16(off + F.CHECKSUM, 0);
  dv.setUint32(off + F.SRC, ipv4FromString(r.src));
  dv.setUint32(off + F.DST, ipv4FromString(r.dst));
  for (let i = F.OPTIONS; i < hl; i++) {
    const k = i - F.OPTIONS;
    dv.setUint8(off + i, k < r.options.length ? (r.options[k] as number) : 0); // 0 = End of Option List
  }
  if (fillChecksum) dv.setUint16(off + F.CHECKSUM, csumFinish(csumPartial(dv, off, hl)));
  return off + hl;
}

/** A Repr of the header; `options` is a copy, so it outlives the slot. */
export function readIpv4(v: Ipv4View): Ipv4Repr {
  return {
    dscp: v.dscp,
    ecn: v.ecn,
    id: v.id,
    dontFrag: v.dontFrag,
    moreFrags: v.moreFrags,
    fragOffset: v.fragOffset,
    ttl: v.ttl,
    protocol: v.protocol,
    src: ipv4NumToString(v.srcNum),
    dst: ipv4NumToString(v.dstNum),
    options: v.copyOptions(),
    payloadLen: v.payloadLen,
    ...(v.reservedBit ? { reservedBit: true } : {}),
  };
}

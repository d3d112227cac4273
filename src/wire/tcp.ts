// TCP header, RFC 9293 §3.1; checksum over the IPv4 or IPv6 (RFC 8200 §8.1) pseudo-header.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          Source Port          |       Destination Port        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                        Sequence Number                        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                    Acknowledgment Number                      |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  Data |     |A|C|E|U|A|P|R|S|F|                               |
//  | Offset| Rsv |E|W|C|R|C|S|S|Y|I|            Window             |
//  |       |     | |R|E|G|K|H|T|N|N|                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |           Checksum            |         Urgent Pointer        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                    Options (data offset × 4 − 20 bytes)       |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The 12 bits after the data offset are handled as one value, the way tshark prints tcp.flags
// (0x0012 for SYN+ACK): the 3 reserved bits, AE (was NS, RFC 3540; AccECN reuses it) and the
// eight RFC 9293 flags. Options pass through untouched: the emulator never interprets them.
//
// Wrapped like udp.ts with `avail` (bytes captured) and `len` (bytes the IP header gives the
// segment, -1 when unknown): a data offset beyond `len` is "bad-header-len", one that fits `len`
// but not `avail` is "truncated". check() needs only the header; the checksum needs the whole
// segment and reports UNKNOWN without it.

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
  SEQ: 4, // u32
  ACK: 8, // u32
  OFF_FLAGS: 12, // u16 data offset in 32-bit words (4) | reserved (3) | AE | CWR … FIN
  WINDOW: 14, // u16, bytes before any window scaling
  CHECKSUM: 16, // u16
  URGENT: 18, // u16
  OPTIONS: 20,
} as const;
export const TCP_HEADER_LEN = 20; // without options
export const TCP_MAX_HEADER_LEN = 60; // data offset 15

/** Bits of the 12-bit flags value (RFC 9293 §3.1; AE from RFC 3540/AccECN). */
export const TcpFlag = {
  FIN: 0x001,
  SYN: 0x002,
  RST: 0x004,
  PSH: 0x008,
  ACK: 0x010,
  URG: 0x020,
  ECE: 0x040,
  CWR: 0x080,
  AE: 0x100,
} as const;

const EMPTY = new DataView(new ArrayBuffer(0));
const NO_OPTIONS = new Uint8Array(0);

export class TcpView {
  private dv: DataView = EMPTY;
  off = 0; // absolute offset of the header in the slot
  avail = 0; // bytes captured from `off` on
  len = -1; // bytes the IP header gives this segment, -1 when not known
  failAt = -1; // after a failed check(): absolute offset of the offending field
  // The value a successful check() read, kept so the hot-path parser does not read the field a
  // second time through its getter; stale once the header is rewritten.
  checkedHeaderLen = 0; // bytes

  wrap(dv: DataView, off: number, avail: number, len = -1): this {
    this.dv = dv;
    this.off = off;
    this.avail = avail;
    this.len = len;
    this.failAt = -1;
    return this;
  }

  /** null when every getter is safe to call; otherwise why not. Allocates nothing. */
  check(): ParseErrorCode | null {
    if (this.len >= 0 && this.len < TCP_HEADER_LEN) return this.fail("bad-header-len", 0);
    if (this.avail < TCP_HEADER_LEN) return this.fail("truncated", 0);
    const hl = (this.dv.getUint8(this.off + F.OFF_FLAGS) >>> 4) * 4;
    if (hl < TCP_HEADER_LEN) return this.fail("bad-header-len", F.OFF_FLAGS);
    if (this.len >= 0 && hl > this.len) return this.fail("bad-header-len", F.OFF_FLAGS);
    if (hl > this.avail) return this.fail("truncated", F.OFF_FLAGS);
    this.checkedHeaderLen = hl;
    return null;
  }

  /** check() for tools and tests: throws a ParseError instead of returning a code. */
  parse(): this {
    const code = this.check();
    if (code !== null) throw new ParseError("tcp", code, this.failAt);
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
  get seq(): number {
    return this.dv.getUint32(this.off + F.SEQ);
  }
  get ack(): number {
    return this.dv.getUint32(this.off + F.ACK);
  }
  /** Data offset in bytes, not the 32-bit words on the wire. */
  get headerLen(): number {
    return (this.dv.getUint8(this.off + F.OFF_FLAGS) >>> 4) * 4;
  }
  /** The 12 bits after the data offset, as tshark's tcp.flags prints them (0x0012 = SYN+ACK). */
  get flags(): number {
    return this.dv.getUint16(this.off + F.OFF_FLAGS) & 0x0fff;
  }
  get fin(): boolean {
    return (this.flags & TcpFlag.FIN) !== 0;
  }
  get syn(): boolean {
    return (this.flags & TcpFlag.SYN) !== 0;
  }
  get rst(): boolean {
    return (this.flags & TcpFlag.RST) !== 0;
  }
  get ackFlag(): boolean {
    return (this.flags & TcpFlag.ACK) !== 0;
  }
  /** Window, bytes, before the scaling a SYN's option may have agreed. */
  get window(): number {
    return this.dv.getUint16(this.off + F.WINDOW);
  }
  get checksum(): number {
    return this.dv.getUint16(this.off + F.CHECKSUM);
  }
  set checksum(v: number) {
    this.dv.setUint16(this.off + F.CHECKSUM, v);
  }
  get urgent(): number {
    return this.dv.getUint16(this.off + F.URGENT);
  }
  get optionsOff(): number {
    return this.off + F.OPTIONS;
  }
  get optionsLen(): number {
    return this.headerLen - TCP_HEADER_LEN;
  }
  get payloadOff(): number {
    return this.off + this.headerLen;
  }
  /** Header + payload, bytes: `len` when the IP header gave it, else what was captured. */
  get segLen(): number {
    return this.len >= 0 ? this.len : this.avail;
  }

  /** Partial sum of the pseudo-header (RFC 9293 §3.1), `ipOff` the IP header's absolute offset. */
  pseudoSum(ipOff: number, ipVersion: number): number {
    return ipVersion === 6
      ? pseudoHeaderV6(this.dv, ipOff, IpProto.TCP, this.segLen)
      : pseudoHeaderV4(this.dv, ipOff, IpProto.TCP, this.segLen);
  }

  verifyChecksum(ipOff: number, ipVersion: number): CsumStatus {
    return this.verifyChecksumFrom(this.pseudoSum(ipOff, ipVersion));
  }

  /** TCP has no "no checksum" value: 0 is verified like any other. UNKNOWN if bytes are missing. */
  verifyChecksumFrom(pseudo: number): CsumStatus {
    const n = this.segLen;
    if (n < TCP_HEADER_LEN || n > this.avail) return CsumStatus.UNKNOWN;
    return csumFinish(csumPartial(this.dv, this.off, n, pseudo)) === 0 ? CsumStatus.GOOD : CsumStatus.BAD;
  }

  fillChecksum(ipOff: number, ipVersion: number): void {
    this.fillChecksumFrom(this.pseudoSum(ipOff, ipVersion));
  }

  fillChecksumFrom(pseudo: number): void {
    this.checksum = 0;
    this.checksum = csumFinish(csumPartial(this.dv, this.off, this.segLen, pseudo));
  }

  /** Adjust the checksum for a 16-bit word of the segment or pseudo-header changing (RFC 1624). */
  adjustChecksum16(oldWord: number, newWord: number): void {
    this.checksum = csumUpdate16(this.checksum, oldWord, newWord);
  }

  /** The same for a 32-bit pseudo-header word (an IPv4 address rewritten by NAT). */
  adjustChecksum32(oldWord: number, newWord: number): void {
    this.checksum = csumUpdate32(this.checksum, oldWord, newWord);
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

  /** A copy of the option bytes, for readTcp (tools and tests only). */
  copyOptions(): Uint8Array {
    const n = this.optionsLen;
    if (n === 0) return NO_OPTIONS;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.dv.getUint8(this.off + F.OPTIONS + i);
    return out;
  }
}

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number; // 12 bits, as TcpView.flags
  window: number;
  checksum: number; // as written; fill it after the payload with TcpView.fillChecksum
  urgent: number;
  options: Uint8Array; // raw, a multiple of 4 bytes, at most 40 (RFC 9293 §3.1)
}

export function tcpHeaderLen(r: TcpRepr): number {
  return TCP_HEADER_LEN + r.options.length;
}

export function emitTcp(r: TcpRepr, dv: DataView, off: number): number {
  const hl = tcpHeaderLen(r);
  if (r.options.length % 4 !== 0 || hl > TCP_MAX_HEADER_LEN) {
    throw new Error(`tcp: options must be a multiple of 4 bytes, at most 40 (got ${r.options.length})`);
  }
  dv.setUint16(off + F.SRC_PORT, r.srcPort);
  dv.setUint16(off + F.DST_PORT, r.dstPort);
  dv.setUint32(off + F.SEQ, r.seq);
  dv.setUint32(off + F.ACK, r.ack);
  dv.setUint16(off + F.OFF_FLAGS, ((hl / 4) << 12) | (r.flags & 0x0fff));
  dv.setUint16(off + F.WINDOW, r.window);
  dv.setUint16(off + F.CHECKSUM, r.checksum);
  dv.setUint16(off + F.URGENT, r.urgent);
  for (let i = 0; i < r.options.length; i++) dv.setUint8(off + F.OPTIONS + i, r.options[i] as number);
  return off + hl;
}

export function readTcp(v: TcpView): TcpRepr {
  return {
    srcPort: v.srcPort,
    dstPort: v.dstPort,
    seq: v.seq,
    ack: v.ack,
    flags: v.flags,
    window: v.window,
    checksum: v.checksum,
    urgent: v.urgent,
    options: v.copyOptions(),
  };
}

// GRE, RFC 2784 with the key and sequence number of RFC 2890; enhanced GRE (version 1) of PPTP,
// RFC 2637 §4.1; NVGRE, RFC 7637.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |C|R|K|S|s|Recur|A| Flags | Ver |         Protocol Type         |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |      Checksum (optional)      |       Reserved1 (optional)    |  if C
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                         Key (optional)                        |  if K
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                  Sequence Number (optional)                   |  if S
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |              Acknowledgment Number (version 1 only)           |  if A
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Version 0: R, s and the top Recur bit (bits 1, 4, 5) belong to the obsolete RFC 1701 source
// routing, and a receiver not implementing it MUST discard the packet (RFC 2784 §2.3): "bad-flags".
// Bits 6-12 are sent as zero and ignored on receipt. Version 1 (PPTP) requires K, forbids C, R
// and s, and its key is payload length (16) | call id (16); A adds an acknowledgment number.
// NVGRE is version 0 with K set and protocol 0x6558: the key is VSID (24) | FlowID (8).
//
// Sits on ipv4.ts/ipv6.ts (protocol 47); the parser continues at `payloadOff` with the
// EtherType in `protocolType` (0x6558 = an Ethernet frame). Wrapped like udp.ts with `avail`
// (bytes captured) and `len` (bytes the IP header gives GRE, -1 when unknown); the checksum
// covers `len` bytes.

import { ParseError, type ParseErrorCode } from "./errors.ts";
import { CsumStatus, csumFinish, csumPartial } from "./checksum.ts";
import { EtherType } from "./numbers.ts";

const F = {
  FLAGS_VER: 0, // u16 C R K S s Recur(3) A Flags(4) Ver(3), as tshark's gre.flags_and_version
  PROTOCOL: 2, // u16 EtherType of the payload
  OPTIONAL: 4, // checksum+reserved1, key, sequence, ack: each 4 bytes, present per the bits
} as const;
export const GRE_HEADER_LEN = 4; // without optional fields
export const NVGRE_HEADER_LEN = 8;

/** Bits of the first 16-bit word. */
export const GreFlag = {
  C: 0x8000, // checksum present
  R: 0x4000, // routing present (RFC 1701, obsolete)
  K: 0x2000, // key present
  S: 0x1000, // sequence number present
  SSR: 0x0800, // strict source route (RFC 1701, obsolete)
  RECUR: 0x0700, // recursion control (RFC 1701, obsolete)
  A: 0x0080, // acknowledgment present (version 1 only)
  VERSION: 0x0007,
} as const;

// RFC 2784 §2.3: bits 1-5 other than K and S (RFC 2890).
const V0_DISCARD = GreFlag.R | GreFlag.SSR | 0x0400;
// RFC 2637 §4.1: C, R, s and Recur are 0 in enhanced GRE; K is 1.
const V1_ZERO = GreFlag.C | GreFlag.R | GreFlag.SSR | GreFlag.RECUR;

export const PPTP_PROTOCOL = 0x880b; // PPP, RFC 2637 §4.1

const EMPTY = new DataView(new ArrayBuffer(0));

/** Header length in bytes for a flags-and-version word: 4, plus 4 per optional field present. */
function headerLenOf(fv: number): number {
  let n = GRE_HEADER_LEN;
  if (fv & GreFlag.C) n += 4;
  if (fv & GreFlag.K) n += 4;
  if (fv & GreFlag.S) n += 4;
  if ((fv & (GreFlag.A | GreFlag.VERSION)) === (GreFlag.A | 1)) n += 4;
  return n;
}

export class GreView {
  private dv: DataView = EMPTY;
  off = 0; // absolute offset of the header in the slot
  avail = 0; // bytes captured from `off` on
  len = -1; // bytes the IP header gives GRE header + payload, -1 when not known
  failAt = -1; // after a failed check(): absolute offset of the offending field
  // Values a successful check() read, kept so the hot-path parser does not read each field a
  // second time through its getter; stale once the header is rewritten.
  checkedHeaderLen = 0; // bytes, optional fields included
  checkedVersion = 0;
  checkedProtocolType = 0;

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
    if (this.len >= 0 && this.len < GRE_HEADER_LEN) return this.fail("bad-length", 0);
    if (this.avail < GRE_HEADER_LEN) return this.fail("truncated", 0);
    const fv = this.dv.getUint16(this.off + F.FLAGS_VER);
    const ver = fv & GreFlag.VERSION;
    if (ver > 1) return this.fail("bad-version", F.FLAGS_VER);
    if (ver === 0 && (fv & V0_DISCARD) !== 0) return this.fail("bad-flags", F.FLAGS_VER);
    if (ver === 1 && ((fv & V1_ZERO) !== 0 || (fv & GreFlag.K) === 0)) return this.fail("bad-flags", F.FLAGS_VER);
    const hl = headerLenOf(fv);
    if (this.len >= 0 && hl > this.len) return this.fail("bad-header-len", F.FLAGS_VER);
    if (hl > this.avail) return this.fail("truncated", F.FLAGS_VER);
    this.checkedHeaderLen = hl;
    this.checkedVersion = ver;
    this.checkedProtocolType = this.dv.getUint16(this.off + F.PROTOCOL);
    return null;
  }

  /** check() for tools and tests: throws a ParseError instead of returning a code. */
  parse(): this {
    const code = this.check();
    if (code !== null) throw new ParseError("gre", code, this.failAt);
    return this;
  }

  private fail(code: ParseErrorCode, field: number): ParseErrorCode {
    this.failAt = this.off + field;
    return code;
  }

  /** The first 16 bits as tshark's gre.flags_and_version prints them (0x2000 = key present). */
  get flagsAndVersion(): number {
    return this.dv.getUint16(this.off + F.FLAGS_VER);
  }
  get version(): number {
    return this.dv.getUint8(this.off + 1) & GreFlag.VERSION;
  }
  get checksumPresent(): boolean {
    return (this.flagsAndVersion & GreFlag.C) !== 0;
  }
  get keyPresent(): boolean {
    return (this.flagsAndVersion & GreFlag.K) !== 0;
  }
  get seqPresent(): boolean {
    return (this.flagsAndVersion & GreFlag.S) !== 0;
  }
  /** Only version 1 has an acknowledgment; in version 0 the bit is reserved and ignored. */
  get ackPresent(): boolean {
    return (this.flagsAndVersion & (GreFlag.A | GreFlag.VERSION)) === (GreFlag.A | 1);
  }
  /** EtherType of the payload; 0x6558 means an Ethernet frame follows. */
  get protocolType(): number {
    return this.dv.getUint16(this.off + F.PROTOCOL);
  }
  set protocolType(v: number) {
    this.dv.setUint16(this.off + F.PROTOCOL, v);
  }

  /** Header length in bytes, optional fields included; the payload starts here. */
  get headerLen(): number {
    return headerLenOf(this.flagsAndVersion);
  }
  get payloadOff(): number {
    return this.off + this.headerLen;
  }

  private get keyOff(): number {
    return this.off + F.OPTIONAL + (this.flagsAndVersion & GreFlag.C ? 4 : 0);
  }
  private get seqOff(): number {
    return this.keyOff + (this.flagsAndVersion & GreFlag.K ? 4 : 0);
  }

  /** -1 when the C bit is clear. */
  get checksum(): number {
    return this.checksumPresent ? this.dv.getUint16(this.off + F.OPTIONAL) : -1;
  }
  set checksum(v: number) {
    if (this.checksumPresent) this.dv.setUint16(this.off + F.OPTIONAL, v);
  }
  get reserved1(): number {
    return this.checksumPresent ? this.dv.getUint16(this.off + F.OPTIONAL + 2) : 0;
  }
  /** -1 when the K bit is clear. */
  get key(): number {
    return this.keyPresent ? this.dv.getUint32(this.keyOff) : -1;
  }
  set key(v: number) {
    if (this.keyPresent) this.dv.setUint32(this.keyOff, v);
  }
  /** -1 when the S bit is clear. */
  get seq(): number {
    return this.seqPresent ? this.dv.getUint32(this.seqOff) : -1;
  }
  /** -1 unless version 1 with the A bit. */
  get ack(): number {
    return this.ackPresent ? this.dv.getUint32(this.seqOff + (this.seqPresent ? 4 : 0)) : -1;
  }

  /** NVGRE (RFC 7637 §3.2): version 0, key present, an Ethernet payload. */
  get isNvgre(): boolean {
    return (this.flagsAndVersion & (GreFlag.K | GreFlag.VERSION)) === GreFlag.K && this.protocolType === EtherType.TEB;
  }
  /** Virtual Subnet ID: the top 24 bits of the key (meaningful when isNvgre). */
  get vsid(): number {
    return this.dv.getUint32(this.keyOff) >>> 8;
  }
  /** FlowID: the low 8 bits of the key (meaningful when isNvgre). */
  get flowId(): number {
    return this.dv.getUint8(this.keyOff + 3);
  }
  /** PPTP (version 1): the key's top half is the payload length, bytes, without the GRE header. */
  get pptpPayloadLen(): number {
    return this.dv.getUint16(this.keyOff);
  }
  /** PPTP (version 1): the key's low half is the peer's call id. */
  get callId(): number {
    return this.dv.getUint16(this.keyOff + 2);
  }

  /** GRE header + payload, bytes: `len` when the IP header gave it, else what was captured. */
  get segLen(): number {
    return this.len >= 0 ? this.len : this.avail;
  }

  /**
   * Over the GRE header and payload with the checksum field as received (RFC 2784 §2.5); no
   * pseudo-header. NOT_PRESENT without the C bit, UNKNOWN when bytes are missing.
   */
  verifyChecksum(): CsumStatus {
    if (!this.checksumPresent) return CsumStatus.NOT_PRESENT;
    const n = this.segLen;
    if (n < this.headerLen || n > this.avail) return CsumStatus.UNKNOWN;
    return csumFinish(csumPartial(this.dv, this.off, n)) === 0 ? CsumStatus.GOOD : CsumStatus.BAD;
  }

  /** Computes the checksum over `segLen` bytes; does nothing without the C bit. */
  fillChecksum(): void {
    if (!this.checksumPresent) return;
    this.dv.setUint16(this.off + F.OPTIONAL, 0);
    this.dv.setUint16(this.off + F.OPTIONAL, csumFinish(csumPartial(this.dv, this.off, this.segLen)));
  }
}

export interface GreRepr {
  version: number; // 0 (RFC 2784) or 1 (enhanced GRE, RFC 2637)
  protocolType: number;
  checksum: number | null; // null: C clear; else written as given (fill it after the payload)
  reserved1: number; // written only with a checksum
  key: number | null; // null: K clear
  seq: number | null; // null: S clear
  ack: number | null; // null: A clear; version 1 only
}

export function greHeaderLen(r: GreRepr): number {
  return (
    GRE_HEADER_LEN +
    (r.checksum !== null ? 4 : 0) +
    (r.key !== null ? 4 : 0) +
    (r.seq !== null ? 4 : 0) +
    (r.ack !== null ? 4 : 0)
  );
}

export function emitGre(r: GreRepr, dv: DataView, off: number): number {
  if (r.ack !== null && r.version !== 1) throw new Error("gre: an acknowledgment needs version 1");
  const fv =
    (r.checksum !== null ? GreFlag.C : 0) |
    (r.key !== null ? GreFlag.K : 0) |
    (r.seq !== null ? GreFlag.S : 0) |
    (r.ack !== null ? GreFlag.A : 0) |
    (r.version & GreFlag.VERSION);
  dv.setUint16(off + F.FLAGS_VER, fv);
  dv.setUint16(off + F.PROTOCOL, r.protocolType);
  let p = off + F.OPTIONAL;
  if (r.checksum !== null) {
    dv.setUint16(p, r.checksum);
    dv.setUint16(p + 2, r.reserved1);
    p += 4;
  }
  if (r.key !== null) {
    dv.setUint32(p, r.key);
    p += 4;
  }
  if (r.seq !== null) {
    dv.setUint32(p, r.seq);
    p += 4;
  }
  if (r.ack !== null) {
    dv.setUint32(p, r.ack);
    p += 4;
  }
  return p;
}

/**
 * NVGRE header (RFC 7637 §3.2: C = 0, S = 0, K = 1, protocol 0x6558, key = VSID << 8 | FlowID),
 * allocation-free for the encapsulation path.
 */
export function emitNvgre(vsid: number, flowId: number, dv: DataView, off: number): number {
  dv.setUint16(off + F.FLAGS_VER, GreFlag.K);
  dv.setUint16(off + F.PROTOCOL, EtherType.TEB);
  dv.setUint32(off + F.OPTIONAL, ((vsid & 0xffffff) * 256 + (flowId & 0xff)) >>> 0);
  return off + NVGRE_HEADER_LEN;
}

export function readGre(v: GreView): GreRepr {
  return {
    version: v.version,
    protocolType: v.protocolType,
    checksum: v.checksumPresent ? v.checksum : null,
    reserved1: v.reserved1,
    key: v.keyPresent ? v.key : null,
    seq: v.seqPresent ? v.seq : null,
    ack: v.ackPresent ? v.ack : null,
  };
}

// GENEVE header, RFC 8926 §3.4, with its option TLVs (§3.5); carried in UDP to port 6081.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |        Virtual Network Identifier (VNI)       |    Reserved   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                    Variable-Length Options                    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Each option (§3.5):
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          Option Class         |      Type     |R|R|R| Length  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                 Variable-Length Option Data                   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Opt Len and Length count 4-byte words; the top bit of Type marks a critical option.
//
// A version other than 0 is "bad-version" (§3.4: a tunnel endpoint MUST NOT process it). The
// option lengths must add up exactly to Opt Len, else "bad-option" at the option that overruns.
// Reserved bits are ignored on receipt and sent as 0. The parser continues at `payloadOff`
// (after the options) with the EtherType in `protocolType`: 0x6558 is an Ethernet frame, IPv4 or
// IPv6 payloads pass through (Open vSwitch's userspace tunnel accepts only 0x6558; that is the
// tunnel port's policy). Options are walked without allocating via optFirst()/optNext(), which
// move a cursor (optOff, optClass, optType, optLen) along the list.

import { ParseError, type ParseErrorCode } from "./errors.ts";

const F = {
  VER_OPTLEN: 0, // u8 version (2) | option length in 4-byte words (6)
  FLAGS: 1, // u8 O | C | reserved (6)
  PROTOCOL: 2, // u16 EtherType of the payload
  VNI: 4, // u24
  RESERVED: 7, // u8
  OPTIONS: 8,
} as const;
const OPT = {
  CLASS: 0, // u16
  TYPE: 2, // u8, top bit: critical
  LEN: 3, // u8 reserved (3) | data length in 4-byte words (5)
  DATA: 4,
} as const;
export const GENEVE_HEADER_LEN = 8; // without options
export const GENEVE_MAX_OPTIONS_LEN = 63 * 4;
export const GENEVE_MAX_OPTION_DATA_LEN = 31 * 4;
export const GeneveFlag = { OAM: 0x80, CRITICAL: 0x40 } as const;
export const GENEVE_OPT_CRITICAL = 0x80; // in an option's type

const EMPTY = new DataView(new ArrayBuffer(0));

export class GeneveView {
  private dv: DataView = EMPTY;
  off = 0; // absolute offset of the header in the slot
  avail = 0; // bytes captured from `off` on
  len = -1; // bytes the UDP length gives GENEVE header + payload, -1 when not known
  failAt = -1; // after a failed check(): absolute offset of the offending field
  // Option cursor, moved by optFirst()/optNext()/findOpt(); optOff is -1 past the last option.
  optOff = -1; // absolute offset of the current option's class field
  optClass = 0;
  optType = 0; // critical bit included
  optLen = 0; // data length, bytes (the 4-byte option header not included)
  // Values a successful check() read, kept so the hot-path parser does not read each field a
  // second time through its getter; stale once the header is rewritten.
  checkedHeaderLen = 0; // bytes, options included
  checkedProtocolType = 0;

  wrap(dv: DataView, off: number, avail: number, len = -1): this {
    this.dv = dv;
    this.off = off;
    this.avail = avail;
    this.len = len;
    this.failAt = -1;
    this.optOff = -1;
    return this;
  }

  /** null when every getter and the option cursor are safe; otherwise why not. Allocates nothing. */
  check(): ParseErrorCode | null {
    if (this.len >= 0 && this.len < GENEVE_HEADER_LEN) return this.fail("bad-length", 0);
    if (this.avail < GENEVE_HEADER_LEN) return this.fail("truncated", 0);
    const verOptLen = this.dv.getUint8(this.off + F.VER_OPTLEN);
    if (verOptLen >>> 6 !== 0) return this.fail("bad-version", F.VER_OPTLEN);
    const hl = GENEVE_HEADER_LEN + (verOptLen & 0x3f) * 4;
    if (this.len >= 0 && hl > this.len) return this.fail("bad-header-len", F.VER_OPTLEN);
    if (hl > this.avail) return this.fail("truncated", F.VER_OPTLEN);
    const end = this.off + hl;
    for (let p = this.off + F.OPTIONS; p < end; ) {
      if (end - p < OPT.DATA) return this.fail("bad-option", p - this.off);
      const next = p + OPT.DATA + (this.dv.getUint8(p + OPT.LEN) & 0x1f) * 4;
      if (next > end) return this.fail("bad-option", p - this.off);
      p = next;
    }
    this.checkedHeaderLen = hl;
    this.checkedProtocolType = this.dv.getUint16(this.off + F.PROTOCOL);
    return null;
  }

  /** check() for tools and tests: throws a ParseError instead of returning a code. */
  parse(): this {
    const code = this.check();
    if (code !== null) throw new ParseError("geneve", code, this.failAt);
    return this;
  }

  private fail(code: ParseErrorCode, field: number): ParseErrorCode {
    this.failAt = this.off + field;
    return code;
  }

  get version(): number {
    return this.dv.getUint8(this.off + F.VER_OPTLEN) >>> 6;
  }
  /** Length of the options, bytes (the wire counts 4-byte words). */
  get optionsLen(): number {
    return (this.dv.getUint8(this.off + F.VER_OPTLEN) & 0x3f) * 4;
  }
  /** O: an OAM frame, not data. */
  get oam(): boolean {
    return (this.dv.getUint8(this.off + F.FLAGS) & GeneveFlag.OAM) !== 0;
  }
  /** C: at least one option is critical; a receiver that does not know it must drop (§3.4). */
  get critical(): boolean {
    return (this.dv.getUint8(this.off + F.FLAGS) & GeneveFlag.CRITICAL) !== 0;
  }
  get protocolType(): number {
    return this.dv.getUint16(this.off + F.PROTOCOL);
  }
  get vni(): number {
    return this.dv.getUint32(this.off + F.VNI) >>> 8;
  }
  /** Rewrites the VNI in place (a template patched per flow); the reserved byte is kept. */
  set vni(v: number) {
    this.dv.setUint16(this.off + F.VNI, (v >>> 8) & 0xffff);
    this.dv.setUint8(this.off + F.VNI + 2, v & 0xff);
  }
  /** Header length in bytes, options included; the payload starts here. */
  get headerLen(): number {
    return GENEVE_HEADER_LEN + this.optionsLen;
  }
  get payloadOff(): number {
    return this.off + this.headerLen;
  }
  get optionsOff(): number {
    return this.off + F.OPTIONS;
  }

  /** Put the cursor on the first option; false (optOff -1) when there is none. */
  optFirst(): boolean {
    return this.optAt(this.off + F.OPTIONS);
  }

  /** Move the cursor to the next option; false (optOff -1) after the last. */
  optNext(): boolean {
    return this.optOff < 0 ? false : this.optAt(this.optOff + OPT.DATA + this.optLen);
  }

  get optDataOff(): number {
    return this.optOff + OPT.DATA;
  }
  get optCritical(): boolean {
    return (this.optType & GENEVE_OPT_CRITICAL) !== 0;
  }

  /**
   * Put the cursor on the first option with this class and type (critical bit included) and
   * return its data offset, or -1 when absent.
   */
  findOpt(optClass: number, optType: number): number {
    for (let ok = this.optFirst(); ok; ok = this.optNext()) {
      if (this.optClass === optClass && this.optType === optType) return this.optOff + OPT.DATA;
    }
    return -1;
  }

  /** A copy of the current option's data, for readGeneve (tools and tests only). */
  copyOptData(): Uint8Array {
    const out = new Uint8Array(this.optOff < 0 ? 0 : this.optLen);
    for (let i = 0; i < out.length; i++) out[i] = this.dv.getUint8(this.optOff + OPT.DATA + i);
    return out;
  }

  // Never reads past the options or the captured bytes, even when check() was not called.
  private optAt(p: number): boolean {
    const hl = this.headerLen;
    const end = this.off + (hl < this.avail ? hl : this.avail);
    if (p + OPT.DATA > end) {
      this.optOff = -1;
      return false;
    }
    const dataLen = (this.dv.getUint8(p + OPT.LEN) & 0x1f) * 4;
    if (p + OPT.DATA + dataLen > end) {
      this.optOff = -1;
      return false;
    }
    this.optOff = p;
    this.optClass = this.dv.getUint16(p + OPT.CLASS);
    this.optType = this.dv.getUint8(p + OPT.TYPE);
    this.optLen = dataLen;
    return true;
  }
}

export interface GeneveOption {
  class: number; // u16
  type: number; // u8, critical bit included
  data: Uint8Array; // a multiple of 4 bytes, at most 124
}

export interface GeneveRepr {
  oam: boolean;
  critical?: boolean; // the C bit; when omitted, set iff an option's type is critical
  protocolType: number;
  vni: number; // 24 bits
  options: GeneveOption[];
}

export function geneveHeaderLen(r: GeneveRepr): number {
  let n = GENEVE_HEADER_LEN;
  for (const o of r.options) n += OPT.DATA + o.data.length;
  return n;
}

export function emitGeneve(r: GeneveRepr, dv: DataView, off: number): number {
  const hl = geneveHeaderLen(r);
  if (hl - GENEVE_HEADER_LEN > GENEVE_MAX_OPTIONS_LEN) {
    throw new Error(`geneve: options take ${hl - GENEVE_HEADER_LEN} bytes, at most ${GENEVE_MAX_OPTIONS_LEN}`);
  }
  let critical = false;
  for (const o of r.options) {
    if (o.data.length % 4 !== 0 || o.data.length > GENEVE_MAX_OPTION_DATA_LEN) {
      throw new Error(`geneve: option data must be a multiple of 4 bytes, at most 124 (got ${o.data.length})`);
    }
    if (o.type & GENEVE_OPT_CRITICAL) critical = true;
  }
  dv.setUint8(off + F.VER_OPTLEN, (hl - GENEVE_HEADER_LEN) / 4);
  dv.setUint8(off + F.FLAGS, (r.oam ? GeneveFlag.OAM : 0) | ((r.critical ?? critical) ? GeneveFlag.CRITICAL : 0));
  dv.setUint16(off + F.PROTOCOL, r.protocolType);
  dv.setUint32(off + F.VNI, (r.vni & 0xffffff) * 256);
  let p = off + F.OPTIONS;
  for (const o of r.options) {
    dv.setUint16(p + OPT.CLASS, o.class);
    dv.setUint8(p + OPT.TYPE, o.type);
    dv.setUint8(p + OPT.LEN, o.data.length / 4);
    for (let i = 0; i < o.data.length; i++) dv.setUint8(p + OPT.DATA + i, o.data[i] as number);
    p += OPT.DATA + o.data.length;
  }
  return p;
}

export function readGeneve(v: GeneveView): GeneveRepr {
  const options: GeneveOption[] = [];
  for (let ok = v.optFirst(); ok; ok = v.optNext()) {
    options.push({ class: v.optClass, type: v.optType, data: v.copyOptData() });
  }
  return { oam: v.oam, critical: v.critical, protocolType: v.protocolType, vni: v.vni, options };
}

// ICMPv6, RFC 4443 §2.1, and the Neighbor Discovery messages Open vSwitch matches on,
// RFC 4861 §4.3 (Neighbor Solicitation, type 135) and §4.4 (Neighbor Advertisement, type 136):
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |     Type      |     Code      |          Checksum             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  type-specific: id | seq (echo), MTU, pointer, NA R|S|O flags  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  NS/NA: Target Address (16 bytes)                             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  NS/NA options: Type | Length (8-byte units) | value ...      |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Follows ipv6.ts (upper-layer protocol 58, after any extension headers). The checksum covers an
// IPv6 pseudo-header (RFC 4443 §2.3, RFC 8200 §8.1), so verifying needs the IPv6 header's offset
// and the message length. scanNd() finds, without allocating, the offsets behind Open vSwitch's
// nd_target, nd_sll and nd_tll flow fields, following flow.c's parse_icmpv6().

import { ParseError, type ParseErrorCode } from "./errors.ts";
import { csumFinish, csumPartial, pseudoHeaderV6 } from "./checksum.ts";
import { IpProto } from "./numbers.ts";

const F = {
  TYPE: 0, // u8
  CODE: 1, // u8
  CHECKSUM: 2, // u16 over pseudo-header + message
  REST: 4, // u32 type-specific (NA: R|S|O flags and reserved; NS: reserved)
  ID: 4, // u16 echo identifier
  SEQ: 6, // u16 echo sequence number
  ND_TARGET: 8, // 16 bytes, NS and NA
  ND_OPTIONS: 24, // NS and NA options
} as const;
/** The 4-byte header of RFC 4443 §2.1 plus the 4 type-specific bytes every message has. */
export const ICMPV6_HEADER_LEN = 8;
const ND_OPT_UNIT = 8; // option lengths count 8-byte units (RFC 4861 §4.6)
const ND_OPT_SOURCE_LL = 1;
const ND_OPT_TARGET_LL = 2;

/** ICMPv6 types the emulator names (IANA "ICMPv6 Parameters"); others pass through. */
export const Icmpv6Type = {
  DEST_UNREACHABLE: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  PARAMETER_PROBLEM: 4,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  ROUTER_SOLICITATION: 133,
  ROUTER_ADVERTISEMENT: 134,
  NEIGHBOR_SOLICITATION: 135,
  NEIGHBOR_ADVERTISEMENT: 136,
  REDIRECT: 137,
} as const;

const EMPTY = new DataView(new ArrayBuffer(0));

export class Icmpv6View {
  private dv: DataView = EMPTY;
  off = 0; // absolute offset of the header in the slot
  avail = 0; // bytes from `off` to the end of the enclosing payload (or of the capture)
  failAt = -1; // after a failed check() or scanNd(): absolute offset of the offending field
  /** After scanNd(): absolute offsets of the target address and of the 6-byte link-layer
   * addresses in the source / target link-layer address options; -1 where absent. */
  ndTargetOff = -1;
  ndSllOff = -1;
  ndTllOff = -1;
  /** After scanNd(): type (1 or 2) of the first link-layer address option, 0 if none. */
  ndOptType = 0;

  wrap(dv: DataView, off: number, avail: number): this {
    this.dv = dv;
    this.off = off;
    this.avail = avail;
    this.failAt = -1;
    this.ndTargetOff = -1;
    this.ndSllOff = -1;
    this.ndTllOff = -1;
    this.ndOptType = 0;
    return this;
  }

  /** null when every getter is safe to call; otherwise why not. Allocates nothing. */
  check(): ParseErrorCode | null {
    if (this.avail < ICMPV6_HEADER_LEN) return this.fail("truncated", 0);
    return null;
  }

  /** check() for tools and tests: throws a ParseError instead of returning a code. */
  parse(): this {
    const code = this.check();
    if (code !== null) throw new ParseError("icmpv6", code, this.failAt);
    return this;
  }

  private fail(code: ParseErrorCode, field: number): ParseErrorCode {
    this.failAt = this.off + field;
    return code;
  }

  get type(): number {
    return this.dv.getUint8(this.off + F.TYPE);
  }
  set type(v: number) {
    this.dv.setUint8(this.off + F.TYPE, v);
  }
  get code(): number {
    return this.dv.getUint8(this.off + F.CODE);
  }
  set code(v: number) {
    this.dv.setUint8(this.off + F.CODE, v);
  }
  get checksum(): number {
    return this.dv.getUint16(this.off + F.CHECKSUM);
  }
  set checksum(v: number) {
    this.dv.setUint16(this.off + F.CHECKSUM, v);
  }
  /** The 4 type-specific bytes (Open vSwitch's nd_reserved for NS/NA). */
  get rest(): number {
    return this.dv.getUint32(this.off + F.REST);
  }
  set rest(v: number) {
    this.dv.setUint32(this.off + F.REST, v >>> 0);
  }
  get id(): number {
    return this.dv.getUint16(this.off + F.ID);
  }
  get seq(): number {
    return this.dv.getUint16(this.off + F.SEQ);
  }
  /** A Neighbor Solicitation or Advertisement with code 0: what Open vSwitch parses as ND. */
  get isNd(): boolean {
    const t = this.type;
    return (t === Icmpv6Type.NEIGHBOR_SOLICITATION || t === Icmpv6Type.NEIGHBOR_ADVERTISEMENT) && this.code === 0;
  }
  /** Error messages (types below 128, RFC 4443 §2.1) quote the offending packet at payloadOff. */
  get isError(): boolean {
    return this.type < 128;
  }
  get headerLen(): number {
    return ICMPV6_HEADER_LEN;
  }
  get payloadOff(): number {
    return this.off + ICMPV6_HEADER_LEN;
  }

  /**
   * For an NS/NA (isNd) of `len` bytes (the upper-layer length from IPv6), finds the target
   * address and the link-layer address options and leaves their offsets in ndTargetOff, ndSllOff,
   * ndTllOff and ndOptType. null when the options parse cleanly, or when the message is not ND
   * (offsets stay -1). Allocates nothing. As Open vSwitch does, a link-layer option counts only
   * with length 1 (an Ethernet address), whatever the message type.
   * - truncated: the target is cut (at the target), or an option runs past the message (at its
   *   length byte; the options found before it are kept, as Open vSwitch keeps them).
   * - bad-option: an option of length 0, invalid (RFC 4861 §4.6) and a loop for a naive parser
   *   (at its length byte; earlier finds kept); or a second option of the same link-layer type,
   *   which Open vSwitch treats as invalid, clearing the target and both addresses (at the
   *   repeated option; the offsets are reset to -1).
   */
  scanNd(len: number): ParseErrorCode | null {
    this.ndTargetOff = -1;
    this.ndSllOff = -1;
    this.ndTllOff = -1;
    this.ndOptType = 0;
    this.failAt = -1;
    if (!this.isNd) return null;
    const end = this.off + Math.min(len, this.avail);
    if (this.off + F.ND_OPTIONS > end) return this.fail("truncated", F.ND_TARGET);
    this.ndTargetOff = this.off + F.ND_TARGET;
    for (let p = this.off + F.ND_OPTIONS; p < end; ) {
      if (p + 2 > end) return this.fail("truncated", p - this.off);
      const units = this.dv.getUint8(p + 1);
      if (units === 0) return this.fail("bad-option", p + 1 - this.off);
      if (p + units * ND_OPT_UNIT > end) return this.fail("truncated", p + 1 - this.off);
      const t = this.dv.getUint8(p);
      if (units === 1 && (t === ND_OPT_SOURCE_LL || t === ND_OPT_TARGET_LL)) {
        if ((t === ND_OPT_SOURCE_LL ? this.ndSllOff : this.ndTllOff) >= 0) {
          this.ndTargetOff = -1;
          this.ndSllOff = -1;
          this.ndTllOff = -1;
          this.ndOptType = 0;
          return this.fail("bad-option", p - this.off);
        }
        if (t === ND_OPT_SOURCE_LL) this.ndSllOff = p + 2;
        else this.ndTllOff = p + 2;
        if (this.ndOptType === 0) this.ndOptType = t;
      }
      p += units * ND_OPT_UNIT;
    }
    return null;
  }

  /**
   * Whether the checksum over the `len`-byte message verifies; `ipOff` is the IPv6 header whose
   * addresses form the pseudo-header. false as well when fewer than `len` bytes are present.
   * With a routing header the final destination belongs in the pseudo-header (RFC 8200 §8.1):
   * such callers sum it themselves and use checksumOkFrom().
   */
  checksumOk(ipOff: number, len: number): boolean {
    return this.checksumOkFrom(pseudoHeaderV6(this.dv, ipOff, IpProto.ICMPV6, len), len);
  }

  checksumOkFrom(pseudo: number, len: number): boolean {
    if (len < ICMPV6_HEADER_LEN || len > this.avail) return false;
    return csumFinish(csumPartial(this.dv, this.off, len, pseudo)) === 0;
  }

  /** Sum the `len`-byte message (data already in place) into the checksum field. */
  fillChecksum(ipOff: number, len: number): void {
    this.fillChecksumFrom(pseudoHeaderV6(this.dv, ipOff, IpProto.ICMPV6, len), len);
  }

  fillChecksumFrom(pseudo: number, len: number): void {
    this.checksum = 0;
    this.checksum = csumFinish(csumPartial(this.dv, this.off, len, pseudo));
  }
}

export interface Icmpv6Repr {
  type: number;
  code: number;
  checksum: number; // as written; fill it once the data is in place with Icmpv6View.fillChecksum
  rest: number; // u32 type-specific
}

export function icmpv6HeaderLen(_r: Icmpv6Repr): number {
  return ICMPV6_HEADER_LEN;
}

/** Writes the 8-byte header; an NS/NA's target and options are the caller's data after it. */
export function emitIcmpv6(r: Icmpv6Repr, dv: DataView, off: number): number {
  dv.setUint8(off + F.TYPE, r.type);
  dv.setUint8(off + F.CODE, r.code);
  dv.setUint16(off + F.CHECKSUM, r.checksum);
  dv.setUint32(off + F.REST, r.rest >>> 0);
  return off + ICMPV6_HEADER_LEN;
}

export function readIcmpv6(v: Icmpv6View): Icmpv6Repr {
  return { type: v.type, code: v.code, checksum: v.checksum, rest: v.rest };
}

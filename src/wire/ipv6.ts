// IPv6 fixed header and extension-header chain, RFC 8200 §3 and §4; traffic class split into
// DSCP/ECN as in RFC 2474 §3 and RFC 3168 §5.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Version| Traffic Class |           Flow Label                  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |         Payload Length        |  Next Header  |   Hop Limit   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                  Source Address (16 bytes)                    |
//  |               Destination Address (16 bytes)                  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Follows ethernet.ts/vlan.ts (EtherType 0x86dd) or a tunnel's inner frame. The view covers the
// 40-byte fixed header; Ipv6ExtWalker then steps over the extension headers that Open vSwitch
// steps over (flow.c, parse_ipv6_ext_hdrs__: hop-by-hop, routing, fragment, destination options
// and AH) to find the upper-layer protocol and where it starts, and the fragment fields the flow
// key needs. Every other Next Header value, ESP and "No Next Header" (59) included, is the upper
// layer. IPv6 has no header checksum, so rewrites are plain stores; upper-layer checksums cover
// the addresses through the pseudo-header (checksum.ts, pseudoHeaderV6).

import { ParseError, type ParseErrorCode } from "./errors.ts";
import { ipv6FromString, ipv6ToString } from "./bytes.ts";
import * as numbers from "./numbers.ts";

const F = {
  VER_TC_FLOW: 0, // u32 version (4) | traffic class (8) | flow label (20)
  PAYLOAD_LEN: 4, // u16 bytes after the fixed header, extension headers included
  NEXT_HEADER: 6, // u8  IpProto of the first extension header or of the upper layer
  HOP_LIMIT: 7, // u8
  SRC: 8, // 16 bytes
  DST: 24, // 16 bytes
} as const;
export const IPV6_HEADER_LEN = 40;

/** Extension-header fields common to the ones the walker steps over (RFC 8200 §4.2-§4.6). */
const EXT = {
  NEXT_HEADER: 0, // u8
  LEN: 1, // u8 length in 8-byte units not counting the first 8 (AH: 4-byte units minus 2)
  FRAG_OFFLG: 2, // u16 fragment offset in 8-byte units (13) | reserved (2) | M (1)
  FRAG_ID: 4, // u32 fragment identification
} as const;
const FRAG_HEADER_LEN = 8;
/** Default bound on the extension headers walked. RFC 8200 §4.1 allows each type once (two
 * destination options headers), so a legitimate chain has at most 6 of the kinds walked here. */
export const IPV6_MAX_EXT_HEADERS = 16;

const EMPTY = new DataView(new ArrayBuffer(0));
// A module-local copy: V8's optimized code reloads an imported object and its properties at
// every use (an import is a live binding) but folds a const of this module into the walk.
const IpProto = { ...numbers.IpProto } as const;

export class Ipv6View {
  private dv: DataView = EMPTY;
  off = 0; // absolute offset of the header in the slot
  avail = 0; // bytes from `off` to the end of the enclosing payload (or of the capture)
  failAt = -1; // after a failed check(): absolute offset of the offending field
  // Values a successful check() read, kept so the hot-path parser does not read each field a
  // second time through its getter; stale once the header is rewritten.
  checkedPayloadLen = 0;
  checkedNextHeader = 0;

  wrap(dv: DataView, off: number, avail: number): this {
    this.dv = dv;
    this.off = off;
    this.avail = avail;
    this.failAt = -1;
    return this;
  }

  /**
   * null when the fixed header and the whole payload are present; otherwise why not. Allocates
   * nothing. A payload longer than the bytes present is `truncated` at PAYLOAD_LEN, after which
   * every getter still works and payloadAvail says how much was captured. A payload length of 0
   * is accepted: a jumbogram (RFC 2675) or a segmentation-offload capture, which tshark also
   * reads as "use what is there"; payloadLen and payloadAvail are then 0.
   */
  check(): ParseErrorCode | null {
    if (this.avail < IPV6_HEADER_LEN) return this.fail("truncated", 0);
    if (this.dv.getUint8(this.off + F.VER_TC_FLOW) >>> 4 !== 6) return this.fail("bad-version", F.VER_TC_FLOW);
    const payloadLen = this.dv.getUint16(this.off + F.PAYLOAD_LEN);
    if (IPV6_HEADER_LEN + payloadLen > this.avail) return this.fail("truncated", F.PAYLOAD_LEN);
    this.checkedPayloadLen = payloadLen;
    this.checkedNextHeader = this.dv.getUint8(this.off + F.NEXT_HEADER);
    return null;
  }

  /** check() for tools and tests: throws a ParseError instead of returning a code. */
  parse(): this {
    const code = this.check();
    if (code !== null) throw new ParseError("ipv6", code, this.failAt);
    return this;
  }

  private fail(code: ParseErrorCode, field: number): ParseErrorCode {
    this.failAt = this.off + field;
    return code;
  }

  get version(): number {
    return this.dv.getUint8(this.off + F.VER_TC_FLOW) >>> 4;
  }
  get trafficClass(): number {
    return (this.dv.getUint16(this.off + F.VER_TC_FLOW) >>> 4) & 0xff;
  }
  set trafficClass(v: number) {
    const w = this.dv.getUint16(this.off + F.VER_TC_FLOW);
    this.dv.setUint16(this.off + F.VER_TC_FLOW, (w & 0xf00f) | ((v & 0xff) << 4));
  }
  /** Differentiated Services codepoint, the top 6 bits of the traffic class. */
  get dscp(): number {
    return this.trafficClass >>> 2;
  }
  /** Explicit Congestion Notification, the low 2 bits of the traffic class. */
  get ecn(): number {
    return this.trafficClass & 3;
  }
  /** 20 bits (Open vSwitch's ipv6_label). */
  get flowLabel(): number {
    return this.dv.getUint32(this.off + F.VER_TC_FLOW) & 0xfffff;
  }
  set flowLabel(v: number) {
    const w = this.dv.getUint32(this.off + F.VER_TC_FLOW);
    this.dv.setUint32(this.off + F.VER_TC_FLOW, ((w & 0xfff00000) | (v & 0xfffff)) >>> 0);
  }
  /** Bytes after the fixed header, extension headers included (RFC 8200 §3). */
  get payloadLen(): number {
    return this.dv.getUint16(this.off + F.PAYLOAD_LEN);
  }
  set payloadLen(v: number) {
    this.dv.setUint16(this.off + F.PAYLOAD_LEN, v);
  }
  /** The first extension header or the upper layer; give it to Ipv6ExtWalker.walk(). */
  get nextHeader(): number {
    return this.dv.getUint8(this.off + F.NEXT_HEADER);
  }
  set nextHeader(v: number) {
    this.dv.setUint8(this.off + F.NEXT_HEADER, v);
  }
  get hopLimit(): number {
    return this.dv.getUint8(this.off + F.HOP_LIMIT);
  }
  set hopLimit(v: number) {
    this.dv.setUint8(this.off + F.HOP_LIMIT, v);
  }
  /** Absolute offsets of the addresses, for pseudo-header sums, keys and in-place copies. */
  get srcOff(): number {
    return this.off + F.SRC;
  }
  get dstOff(): number {
    return this.off + F.DST;
  }
  /** RFC 5952 text, for tools (they build a string). */
  get src(): string {
    return ipv6ToString(this.dv, this.off + F.SRC);
  }
  get dst(): string {
    return ipv6ToString(this.dv, this.off + F.DST);
  }
  /** The fixed header's length: the first extension header (or the upper layer) starts here. */
  get headerLen(): number {
    return IPV6_HEADER_LEN;
  }
  get payloadOff(): number {
    return this.off + IPV6_HEADER_LEN;
  }
  /** Payload bytes actually present: the stated length, cut to what was captured. */
  get payloadAvail(): number {
    const n = Math.min(this.payloadLen, this.avail - IPV6_HEADER_LEN);
    return n > 0 ? n : 0;
  }

  /** Walks the extension headers within the captured payload (see Ipv6ExtWalker.walk). */
  walkExtensions(w: Ipv6ExtWalker): ParseErrorCode | null {
    return w.walk(this.dv, this.payloadOff, this.payloadOff + this.payloadAvail, this.nextHeader);
  }

  /** A copy of `len` bytes at absolute offset `at` (allocates: for tools and Reprs). */
  copyBytes(at: number, len: number): Uint8Array {
    return new Uint8Array(this.dv.buffer, this.dv.byteOffset + at, len).slice();
  }
}

/**
 * Steps over an extension-header chain and leaves what it found in numeric fields, allocating
 * nothing: one walker per worker, reused for every packet.
 *
 * A fragment header with a non-zero offset ends the walk (RFC 8200 §4.5: only the first fragment
 * carries the upper-layer header): `laterFragment` is set and `upperProto`/`upperOff` describe
 * the fragment header's Next Header and where its fragment data starts, which is not a header.
 * Open vSwitch's flow key records nw_proto 44 for such a packet instead (FLOW_NW_FRAG_LATER);
 * that translation belongs to the key extractor.
 */
export class Ipv6ExtWalker {
  upperProto = -1; // Next Header value of the upper layer
  upperOff = -1; // absolute offset of the upper-layer header (or later fragment's data)
  extCount = 0; // extension headers stepped over (whole ones)
  hasFragment = false;
  fragHeaderOff = -1; // absolute offset of the (last) fragment header, -1 if none
  fragOffset = 0; // bytes, not the 8-byte units on the wire
  moreFragments = false;
  fragId = 0;
  laterFragment = false; // a fragment header with offset > 0 stopped the walk
  failAt = -1; // after a failed walk: absolute offset of the offending field
  /** extOff[i], extProto[i]: start and Next Header value of the i-th extension header walked. */
  readonly extOff: Int32Array;
  readonly extProto: Uint8Array;

  constructor(readonly maxHeaders = IPV6_MAX_EXT_HEADERS) {
    this.extOff = new Int32Array(maxHeaders);
    this.extProto = new Uint8Array(maxHeaders);
  }

  /**
   * Walks from `off` (the byte after the fixed header) up to `end` (exclusive; pass the end of
   * the payload as the IPv6 header states it, cut to the capture), `firstNextHeader` being the
   * fixed header's Next Header. null when the upper layer was reached; otherwise `truncated`
   * (a header runs past `end`: at its start when its length byte is missing, else at the length
   * byte) or `too-deep` (more than maxHeaders, at the first header beyond the limit).
   */
  walk(dv: DataView, off: number, end: number, firstNextHeader: number): ParseErrorCode | null {
    this.upperProto = -1;
    this.upperOff = -1;
    this.extCount = 0;
    this.failAt = -1;
    this.hasFragment = false;
    this.fragHeaderOff = -1;
    this.fragOffset = 0;
    this.moreFragments = false;
    this.fragId = 0;
    this.laterFragment = false;
    let nh = firstNextHeader;
    let p = off;
    for (;;) {
      if (
        nh !== IpProto.HOPOPTS &&
        nh !== IpProto.ROUTING &&
        nh !== IpProto.DSTOPTS &&
        nh !== IpProto.AH &&
        nh !== IpProto.FRAGMENT
      ) {
        this.upperProto = nh;
        this.upperOff = p;
        return null;
      }
      if (this.extCount >= this.maxHeaders) return this.fail("too-deep", p);
      // Every kind walked here is at least 8 bytes (AH's minimum is (0 + 2) * 4).
      if (p + 8 > end) return this.fail("truncated", p + 2 > end ? p : p + EXT.LEN);
      this.extOff[this.extCount] = p;
      this.extProto[this.extCount] = nh;
      const next = dv.getUint8(p + EXT.NEXT_HEADER);
      if (nh === IpProto.FRAGMENT) {
        this.extCount++;
        const offlg = dv.getUint16(p + EXT.FRAG_OFFLG);
        this.hasFragment = true;
        this.fragHeaderOff = p;
        this.fragOffset = offlg & 0xfff8; // (offlg >> 3) * 8
        this.moreFragments = (offlg & 1) !== 0;
        this.fragId = dv.getUint32(p + EXT.FRAG_ID);
        p += FRAG_HEADER_LEN;
        nh = next;
        if (this.fragOffset !== 0) {
          this.laterFragment = true;
          this.upperProto = nh;
          this.upperOff = p;
          return null;
        }
        continue;
      }
      const len = dv.getUint8(p + EXT.LEN);
      const size = nh === IpProto.AH ? (len + 2) * 4 : (len + 1) * 8; // RFC 4302 §2.2
      if (p + size > end) return this.fail("truncated", p + EXT.LEN);
      this.extCount++;
      p += size;
      nh = next;
    }
  }

  /** Length of the i-th extension header walked (i < extCount), from the offsets recorded. */
  extLen(i: number): number {
    const start = this.extOff[i] as number;
    const next = i + 1 < this.extCount ? (this.extOff[i + 1] as number) : this.upperOff;
    return next - start;
  }

  private fail(code: ParseErrorCode, at: number): ParseErrorCode {
    this.failAt = at;
    return code;
  }
}

export interface Ipv6Repr {
  dscp: number; // 0..63
  ecn: number; // 0..3
  flowLabel: number; // 20 bits
  payloadLen: number; // as on the wire: extension headers + upper layer
  nextHeader: number; // the fixed header's: first extension header or the upper layer
  hopLimit: number;
  src: string; // RFC 5952 text
  dst: string;
  /** Extension headers in order, raw (each carries its own Next Header byte), re-emitted as is. */
  extHeaders: Uint8Array[];
}

export function ipv6HeaderLen(r: Ipv6Repr): number {
  let n = IPV6_HEADER_LEN;
  for (const e of r.extHeaders) n += e.length;
  return n;
}

/** Writes the fixed header and the extension headers; returns where the upper layer starts. */
export function emitIpv6(r: Ipv6Repr, dv: DataView, off: number): number {
  const tc = ((r.dscp & 0x3f) << 2) | (r.ecn & 3);
  dv.setUint32(off + F.VER_TC_FLOW, ((6 << 28) | (tc << 20) | (r.flowLabel & 0xfffff)) >>> 0);
  dv.setUint16(off + F.PAYLOAD_LEN, r.payloadLen);
  dv.setUint8(off + F.NEXT_HEADER, r.nextHeader);
  dv.setUint8(off + F.HOP_LIMIT, r.hopLimit);
  const src = ipv6FromString(r.src);
  const dst = ipv6FromString(r.dst);
  for (let i = 0; i < 16; i++) {
    dv.setUint8(off + F.SRC + i, src[i] as number);
    dv.setUint8(off + F.DST + i, dst[i] as number);
  }
  let p = off + IPV6_HEADER_LEN;
  for (const e of r.extHeaders) {
    for (let i = 0; i < e.length; i++) dv.setUint8(p + i, e[i] as number);
    p += e.length;
  }
  return p;
}

/**
 * A Repr of the fixed header and its extension headers (copies: they outlive the slot). Walks the
 * chain within the captured payload and throws a ParseError("ipv6", …) if that walk fails.
 */
export function readIpv6(v: Ipv6View, maxHeaders = IPV6_MAX_EXT_HEADERS): Ipv6Repr {
  const w = new Ipv6ExtWalker(maxHeaders);
  const code = v.walkExtensions(w);
  if (code !== null) throw new ParseError("ipv6", code, w.failAt);
  const extHeaders: Uint8Array[] = [];
  for (let i = 0; i < w.extCount; i++) extHeaders.push(v.copyBytes(w.extOff[i] as number, w.extLen(i)));
  return {
    dscp: v.dscp,
    ecn: v.ecn,
    flowLabel: v.flowLabel,
    payloadLen: v.payloadLen,
    nextHeader: v.nextHeader,
    hopLimit: v.hopLimit,
    src: v.src,
    dst: v.dst,
    extHeaders,
  };
}

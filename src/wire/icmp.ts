// ICMP for IPv4, RFC 792. Every message starts with the same 8 bytes:
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |     Type      |     Code      |          Checksum             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  rest of header: identifier | sequence (echo, timestamp),     |
//  |  gateway (redirect), pointer (parameter problem), unused ...  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Follows ipv4.ts (protocol 1). The checksum covers the whole message, header and data, with no
// pseudo-header, so the view needs the message length from the IPv4 header (its payloadLen).
// Error messages (unreachable, time exceeded, parameter problem, redirect, source quench) carry
// the offending datagram's IPv4 header and first 8 payload bytes at `payloadOff`. Open vSwitch
// puts type and code in the flow key's tp_src/tp_dst (src/flow/key.ts).

import { ParseError, type ParseErrorCode } from "./errors.ts";
import { csumFinish, csumPartial, csumUpdate16 } from "./checksum.ts";

const F = {
  TYPE: 0, // u8
  CODE: 1, // u8
  CHECKSUM: 2, // u16 over the whole message
  REST: 4, // u32 type-specific; echo: identifier (u16) | sequence number (u16)
  ID: 4, // u16 echo / timestamp / information identifier
  SEQ: 6, // u16 echo / timestamp / information sequence number
} as const;
export const ICMP_HEADER_LEN = 8;

/** ICMP types the emulator names (IANA "ICMP Type Numbers"); others pass through. */
export const IcmpType = {
  ECHO_REPLY: 0,
  DEST_UNREACHABLE: 3,
  SOURCE_QUENCH: 4,
  REDIRECT: 5,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
  PARAMETER_PROBLEM: 12,
  TIMESTAMP: 13,
  TIMESTAMP_REPLY: 14,
} as const;

const EMPTY = new DataView(new ArrayBuffer(0));

export class IcmpView {
  private dv: DataView = EMPTY;
  off = 0; // absolute offset of the header in the slot
  avail = 0; // bytes from `off` to the end of the enclosing payload (or of the capture)
  failAt = -1; // after a failed check(): absolute offset of the offending field

  wrap(dv: DataView, off: number, avail: number): this {
    this.dv = dv;
    this.off = off;
    this.avail = avail;
    this.failAt = -1;
    return this;
  }

  /** null when every getter is safe to call; otherwise why not. Allocates nothing. */
  check(): ParseErrorCode | null {
    if (this.avail < ICMP_HEADER_LEN) return this.fail("truncated", 0);
    return null;
  }

  /** check() for tools and tests: throws a ParseError instead of returning a code. */
  parse(): this {
    const code = this.check();
    if (code !== null) throw new ParseError("icmp", code, this.failAt);
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
  /** The 4 type-specific bytes as one unsigned number. */
  get rest(): number {
    return this.dv.getUint32(this.off + F.REST);
  }
  set rest(v: number) {
    this.dv.setUint32(this.off + F.REST, v >>> 0);
  }
  /** Echo (and timestamp) identifier and sequence number: the halves of `rest`. */
  get id(): number {
    return this.dv.getUint16(this.off + F.ID);
  }
  set id(v: number) {
    this.dv.setUint16(this.off + F.ID, v);
  }
  get seq(): number {
    return this.dv.getUint16(this.off + F.SEQ);
  }
  set seq(v: number) {
    this.dv.setUint16(this.off + F.SEQ, v);
  }
  /** Error messages quote the offending IPv4 datagram (RFC 792, RFC 1812 §4.3.2.3). */
  get isError(): boolean {
    const t = this.type;
    return (
      t === IcmpType.DEST_UNREACHABLE ||
      t === IcmpType.SOURCE_QUENCH ||
      t === IcmpType.REDIRECT ||
      t === IcmpType.TIME_EXCEEDED ||
      t === IcmpType.PARAMETER_PROBLEM
    );
  }
  get headerLen(): number {
    return ICMP_HEADER_LEN;
  }
  /** Absolute offset of the data: echo payload, or the quoted IPv4 header of an error. */
  get payloadOff(): number {
    return this.off + ICMP_HEADER_LEN;
  }

  /**
   * Whether the checksum over the `len`-byte message verifies (len: the IPv4 payload length).
   * false as well when fewer than `len` bytes are present, since it cannot be verified.
   */
  checksumOk(len: number): boolean {
    if (len < ICMP_HEADER_LEN || len > this.avail) return false;
    return csumFinish(csumPartial(this.dv, this.off, len)) === 0;
  }

  /** Sum the `len`-byte message (payload already in place) into the checksum field. */
  fillChecksum(len: number): void {
    this.checksum = 0;
    this.checksum = csumFinish(csumPartial(this.dv, this.off, len));
  }

  /**
   * Rewrite the echo identifier keeping the checksum valid without re-summing the message
   * (RFC 1624), as a port rewrite does for UDP and TCP: the identifier is what tells ICMP flows
   * apart (a traffic generator stamps one template with many of them).
   */
  rewriteId(v: number): void {
    this.checksum = csumUpdate16(this.checksum, this.id, v);
    this.id = v;
  }
}

export interface IcmpRepr {
  type: number;
  code: number;
  checksum: number; // as written; fill it once the data is in place with IcmpView.fillChecksum
  rest: number; // u32: id << 16 | seq for echo
}

export function icmpHeaderLen(_r: IcmpRepr): number {
  return ICMP_HEADER_LEN;
}

export function emitIcmp(r: IcmpRepr, dv: DataView, off: number): number {
  dv.setUint8(off + F.TYPE, r.type);
  dv.setUint8(off + F.CODE, r.code);
  dv.setUint16(off + F.CHECKSUM, r.checksum);
  dv.setUint32(off + F.REST, r.rest >>> 0);
  return off + ICMP_HEADER_LEN;
}

export function readIcmp(v: IcmpView): IcmpRepr {
  return { type: v.type, code: v.code, checksum: v.checksum, rest: v.rest };
}

// Ethernet II (DIX) frame header, IEEE 802.3 clause 3.1.1; no FCS (captures and ports omit it).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                    destination MAC (6 bytes)                  |
//  +                               +-------------------------------+
//  |                               |                               |
//  +-------------------------------+    source MAC (6 bytes)       +
//  |                                                               |
//  +-------------------------------+-------------------------------+
//  |           EtherType           |
//  +-------------------------------+
//
// An EtherType of 0x8100/0x88a8/0x9100 means a VLAN tag follows (vlan.ts); values below 0x0600
// are 802.3 lengths, which the emulator passes through as opaque payload.

import { ParseError, type ParseErrorCode } from "./errors.ts";
import { macFromString, macToString } from "./bytes.ts";

const F = {
  DST: 0, // 6 bytes
  SRC: 6, // 6 bytes
  ETHER_TYPE: 12, // u16
} as const;
export const ETHERNET_HEADER_LEN = 14;
/** A port's MTU until one is configured: the largest payload of an Ethernet II frame (RFC 894). */
export const DEFAULT_MTU = 1500;
/** The MTUs a port takes: IPv4's minimum (RFC 791 §3.2) to the largest an IPv4 total length allows. */
export const MIN_MTU = 68;
export const MAX_MTU = 65535;

const EMPTY = new DataView(new ArrayBuffer(0));

export class EthernetView {
  private dv: DataView = EMPTY;
  off = 0; // absolute offset of the header in the slot
  avail = 0; // bytes from `off` to the end of the frame
  failAt = -1; // after a failed check(): absolute offset of the offending field
  // The value a successful check() read, kept so the hot-path parser does not read the field a
  // second time through its getter; stale once the header is rewritten.
  checkedEtherType = 0;

  wrap(dv: DataView, off: number, avail: number): this {
    this.dv = dv;
    this.off = off;
    this.avail = avail;
    this.failAt = -1;
    return this;
  }

  /** null when every getter is safe to call; otherwise why not. Allocates nothing. */
  check(): ParseErrorCode | null {
    if (this.avail < ETHERNET_HEADER_LEN) return this.fail("truncated", 0);
    this.checkedEtherType = this.dv.getUint16(this.off + F.ETHER_TYPE);
    return null;
  }

  /** check() for tools and tests: throws a ParseError instead of returning a code. */
  parse(): this {
    const code = this.check();
    if (code !== null) throw new ParseError("ethernet", code, this.failAt);
    return this;
  }

  private fail(code: ParseErrorCode, field: number): ParseErrorCode {
    this.failAt = this.off + field;
    return code;
  }

  get etherType(): number {
    return this.dv.getUint16(this.off + F.ETHER_TYPE);
  }
  set etherType(v: number) {
    this.dv.setUint16(this.off + F.ETHER_TYPE, v);
  }
  /** Absolute offsets of the addresses, for code that compares or copies them in place. */
  get dstOff(): number {
    return this.off + F.DST;
  }
  get srcOff(): number {
    return this.off + F.SRC;
  }
  get dst(): string {
    return macToString(this.dv, this.off + F.DST);
  }
  get src(): string {
    return macToString(this.dv, this.off + F.SRC);
  }
  /** The header's length; the payload starts here. */
  get headerLen(): number {
    return ETHERNET_HEADER_LEN;
  }
}

export interface EthernetRepr {
  dst: string; // "aa:bb:cc:dd:ee:ff"
  src: string;
  etherType: number;
}

export function ethernetHeaderLen(_r: EthernetRepr): number {
  return ETHERNET_HEADER_LEN;
}

export function emitEthernet(r: EthernetRepr, dv: DataView, off: number): number {
  const dst = macFromString(r.dst);
  const src = macFromString(r.src);
  for (let i = 0; i < 6; i++) {
    dv.setUint8(off + F.DST + i, dst[i] as number);
    dv.setUint8(off + F.SRC + i, src[i] as number);
  }
  dv.setUint16(off + F.ETHER_TYPE, r.etherType);
  return off + ETHERNET_HEADER_LEN;
}

export function readEthernet(v: EthernetView): EthernetRepr {
  return { dst: v.dst, src: v.src, etherType: v.etherType };
}

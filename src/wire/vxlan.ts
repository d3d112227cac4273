// VXLAN header, RFC 7348 §5; carried in UDP to port 4789, always followed by an Ethernet frame.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |R|R|R|R|I|R|R|R|            Reserved                           |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                VXLAN Network Identifier (VNI) |   Reserved    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// check() asks only that the 8 bytes are there. The rest is the tunnel port's policy, so the view
// exposes both instead of choosing:
// - RFC 7348 §5: reserved bits MUST be ignored on receipt, and the I flag MUST be set for a valid
//   VNI. Wireshark decodes any flags (suricata's vxlan-non-zero-reserved-fields.pcap shows 0xff01).
// - Open vSwitch's userspace tunnel (netdev_vxlan_pop_header, lib/netdev-native-tnl.c) drops the
//   packet unless the first word is exactly 0x08000000 and the last byte 0 (GPE aside): `strict`.
// A receiver following the RFC checks `iFlag`; one emulating OVS checks `strict`.
//
// The parser continues at `payloadOff` with an Ethernet header (ethernet.ts).

import { ParseError, type ParseErrorCode } from "./errors.ts";

const F = {
  FLAGS: 0, // u8 R R R R I R R R
  RESERVED1: 1, // u24
  VNI: 4, // u24
  RESERVED2: 7, // u8
} as const;
export const VXLAN_HEADER_LEN = 8;
export const VXLAN_FLAG_I = 0x08; // in the flags byte: the VNI is valid

const EMPTY = new DataView(new ArrayBuffer(0));

export class VxlanView {
  private dv: DataView = EMPTY;
  off = 0; // absolute offset of the header in the slot
  avail = 0; // bytes captured from `off` on
  len = -1; // bytes the UDP length gives VXLAN header + payload, -1 when not known
  failAt = -1; // after a failed check(): absolute offset of the offending field

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
    if (this.len >= 0 && this.len < VXLAN_HEADER_LEN) return this.fail("bad-length", 0);
    if (this.avail < VXLAN_HEADER_LEN) return this.fail("truncated", 0);
    return null;
  }

  /** check() for tools and tests: throws a ParseError instead of returning a code. */
  parse(): this {
    const code = this.check();
    if (code !== null) throw new ParseError("vxlan", code, this.failAt);
    return this;
  }

  private fail(code: ParseErrorCode, field: number): ParseErrorCode {
    this.failAt = this.off + field;
    return code;
  }

  /** The first 16 bits, as tshark's vxlan.flags prints them (0x0800 = I set, nothing else). */
  get flags(): number {
    return this.dv.getUint16(this.off + F.FLAGS);
  }
  get iFlag(): boolean {
    return (this.dv.getUint8(this.off + F.FLAGS) & VXLAN_FLAG_I) !== 0;
  }
  get vni(): number {
    return this.dv.getUint32(this.off + F.VNI) >>> 8;
  }
  /** Rewrites the VNI in place (a template patched per flow); the reserved byte is kept. */
  set vni(v: number) {
    this.dv.setUint16(this.off + F.VNI, (v >>> 8) & 0xffff);
    this.dv.setUint8(this.off + F.VNI + 2, v & 0xff);
  }
  get reserved1(): number {
    return this.dv.getUint32(this.off + F.FLAGS) & 0xffffff;
  }
  get reserved2(): number {
    return this.dv.getUint8(this.off + F.RESERVED2);
  }
  /** What Open vSwitch's userspace datapath accepts: flags exactly I, every reserved bit 0. */
  get strict(): boolean {
    return this.dv.getUint32(this.off + F.FLAGS) === 0x08000000 && this.reserved2 === 0;
  }
  get headerLen(): number {
    return VXLAN_HEADER_LEN;
  }
  /** The inner Ethernet header starts here. */
  get payloadOff(): number {
    return this.off + VXLAN_HEADER_LEN;
  }
}

export interface VxlanRepr {
  vni: number; // 24 bits
  flags?: number; // the flags byte; VXLAN_FLAG_I when omitted
  reserved1?: number; // 24 bits, 0 when omitted
  reserved2?: number; // 8 bits, 0 when omitted
}

export function vxlanHeaderLen(_r: VxlanRepr): number {
  return VXLAN_HEADER_LEN;
}

/** With only a VNI given, writes flags 0x08000000 (tshark: vxlan.flags 0x0800) and zero reserved. */
export function emitVxlan(r: VxlanRepr, dv: DataView, off: number): number {
  const flags = r.flags ?? VXLAN_FLAG_I;
  const reserved1 = r.reserved1 ?? 0;
  dv.setUint32(off + F.FLAGS, ((flags & 0xff) * 0x1000000 + (reserved1 & 0xffffff)) >>> 0);
  dv.setUint32(off + F.VNI, ((r.vni & 0xffffff) * 256 + ((r.reserved2 ?? 0) & 0xff)) >>> 0);
  return off + VXLAN_HEADER_LEN;
}

export function readVxlan(v: VxlanView): Required<VxlanRepr> {
  return { vni: v.vni, flags: v.flags >>> 8, reserved1: v.reserved1, reserved2: v.reserved2 };
}

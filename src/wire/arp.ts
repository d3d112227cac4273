// ARP for Ethernet and IPv4, RFC 826 (packet format under "Packet format"), 28 bytes:
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |     hardware type (1)         |    protocol type (0x0800)     |
//  +---------------+---------------+-------------------------------+
//  |  hw len (6)   | proto len (4) |            opcode             |
//  +---------------+---------------+-------------------------------+
//  |         sender hardware address (6) ...  sender IPv4 (4)      |
//  |         target hardware address (6) ...  target IPv4 (4)      |
//  +---------------------------------------------------------------+
//
// Only the 6/4 address lengths give this layout, so check() rejects others (the getters would
// read the wrong bytes). A hardware or protocol type other than Ethernet/IPv4 with those lengths
// is left to the caller: Open vSwitch then skips the ARP fields of the flow key (flow.c,
// miniflow_extract) but does not call the packet malformed; `isEthernetIpv4` is that test.
// Frames are padded to 60 bytes on the wire; the padding is not part of this header.

import { ParseError, type ParseErrorCode } from "./errors.ts";
import { EtherType } from "./numbers.ts";
import { ipv4FromString, ipv4NumToString, macFromString, macToString } from "./bytes.ts";

const F = {
  HTYPE: 0, // u16 hardware type, 1 = Ethernet
  PTYPE: 2, // u16 protocol type, an EtherType
  HLEN: 4, // u8  hardware address length, bytes
  PLEN: 5, // u8  protocol address length, bytes
  OP: 6, // u16 1 request, 2 reply (RFC 5494 lists the rest)
  SHA: 8, // 6 bytes sender hardware address
  SPA: 14, // u32 sender protocol address
  THA: 18, // 6 bytes target hardware address
  TPA: 24, // u32 target protocol address
} as const;
export const ARP_HEADER_LEN = 28;
/** The part before the addresses, whose lengths it gives. */
const ARP_FIXED_LEN = 8;

export const ArpOp = { REQUEST: 1, REPLY: 2 } as const;
export const ARP_HTYPE_ETHERNET = 1;

const EMPTY = new DataView(new ArrayBuffer(0));

export class ArpView {
  private dv: DataView = EMPTY;
  off = 0; // absolute offset of the header in the slot
  avail = 0; // bytes from `off` to the end of the frame
  failAt = -1; // after a failed check(): absolute offset of the offending field

  wrap(dv: DataView, off: number, avail: number): this {
    this.dv = dv;
    this.off = off;
    this.avail = avail;
    this.failAt = -1;
    return this;
  }

  /**
   * null when every getter is safe to call; otherwise why not. Allocates nothing.
   * bad-header-len: an address length other than 6 (hardware) or 4 (protocol), which changes
   * where every later field sits. truncated: at the first address field cut short.
   */
  check(): ParseErrorCode | null {
    if (this.avail < ARP_FIXED_LEN) return this.fail("truncated", 0);
    if (this.dv.getUint8(this.off + F.HLEN) !== 6) return this.fail("bad-header-len", F.HLEN);
    if (this.dv.getUint8(this.off + F.PLEN) !== 4) return this.fail("bad-header-len", F.PLEN);
    if (this.avail < ARP_HEADER_LEN) {
      const a = this.avail;
      return this.fail("truncated", a < F.SPA ? F.SHA : a < F.THA ? F.SPA : a < F.TPA ? F.THA : F.TPA);
    }
    return null;
  }

  /** check() for tools and tests: throws a ParseError instead of returning a code. */
  parse(): this {
    const code = this.check();
    if (code !== null) throw new ParseError("arp", code, this.failAt);
    return this;
  }

  private fail(code: ParseErrorCode, field: number): ParseErrorCode {
    this.failAt = this.off + field;
    return code;
  }

  get htype(): number {
    return this.dv.getUint16(this.off + F.HTYPE);
  }
  get ptype(): number {
    return this.dv.getUint16(this.off + F.PTYPE);
  }
  get hlen(): number {
    return this.dv.getUint8(this.off + F.HLEN);
  }
  get plen(): number {
    return this.dv.getUint8(this.off + F.PLEN);
  }
  /** Hardware type Ethernet and protocol type IPv4: the only ARP Open vSwitch extracts. */
  get isEthernetIpv4(): boolean {
    return this.htype === ARP_HTYPE_ETHERNET && this.ptype === EtherType.IPV4;
  }
  get op(): number {
    return this.dv.getUint16(this.off + F.OP);
  }
  set op(v: number) {
    this.dv.setUint16(this.off + F.OP, v);
  }
  /** Absolute offsets of the hardware addresses, for code that compares or copies them in place. */
  get shaOff(): number {
    return this.off + F.SHA;
  }
  get thaOff(): number {
    return this.off + F.THA;
  }
  get sha(): string {
    return macToString(this.dv, this.off + F.SHA);
  }
  get tha(): string {
    return macToString(this.dv, this.off + F.THA);
  }
  /** Protocol addresses as unsigned 32-bit numbers (Open vSwitch's nw_src / nw_dst for ARP). */
  get spa(): number {
    return this.dv.getUint32(this.off + F.SPA);
  }
  set spa(v: number) {
    this.dv.setUint32(this.off + F.SPA, v >>> 0);
  }
  get tpa(): number {
    return this.dv.getUint32(this.off + F.TPA);
  }
  set tpa(v: number) {
    this.dv.setUint32(this.off + F.TPA, v >>> 0);
  }
  /** The header's length; Ethernet padding, if any, starts here. */
  get headerLen(): number {
    return ARP_HEADER_LEN;
  }
}

export interface ArpRepr {
  op: number;
  sha: string; // "aa:bb:cc:dd:ee:ff"
  spa: string; // "192.0.2.1"
  tha: string;
  tpa: string;
}

export function arpHeaderLen(_r: ArpRepr): number {
  return ARP_HEADER_LEN;
}

/** Always Ethernet/IPv4: the only kind the emulator originates. */
export function emitArp(r: ArpRepr, dv: DataView, off: number): number {
  const sha = macFromString(r.sha);
  const tha = macFromString(r.tha);
  dv.setUint16(off + F.HTYPE, ARP_HTYPE_ETHERNET);
  dv.setUint16(off + F.PTYPE, EtherType.IPV4);
  dv.setUint8(off + F.HLEN, 6);
  dv.setUint8(off + F.PLEN, 4);
  dv.setUint16(off + F.OP, r.op);
  for (let i = 0; i < 6; i++) {
    dv.setUint8(off + F.SHA + i, sha[i] as number);
    dv.setUint8(off + F.THA + i, tha[i] as number);
  }
  dv.setUint32(off + F.SPA, ipv4FromString(r.spa));
  dv.setUint32(off + F.TPA, ipv4FromString(r.tpa));
  return off + ARP_HEADER_LEN;
}

export function readArp(v: ArpView): ArpRepr {
  return { op: v.op, sha: v.sha, spa: ipv4NumToString(v.spa), tha: v.tha, tpa: ipv4NumToString(v.tpa) };
}

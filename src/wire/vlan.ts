// IEEE 802.1Q VLAN tag (C-tag) and 802.1ad service tag (S-tag), IEEE 802.1Q-2018 §9.6.
//
// The tag is the 4 bytes that follow an EtherType of 0x8100, 0x88a8 or 0x9100. That EtherType is
// the tag's TPID, so it belongs to the previous header (ethernet.ts, or the outer tag of a QinQ
// pair); this view covers the TCI and the encapsulated EtherType:
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  | PCP |D|         VID           |      encapsulated EtherType   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//        DEI (was CFI)
//
// QinQ is two tags in a row: the parser loops, wrapping this view once per tag. Open vSwitch
// stores a tag as TPID << 16 | TCI with the DEI/CFI bit forced on to mean "present"
// (src/flow/key.ts); that convention is the flow key's, not the wire's, and is not applied here.

import { ParseError, type ParseErrorCode } from "./errors.ts";

const F = {
  TCI: 0, // u16 priority code point (3) | drop eligible indicator (1) | VLAN id (12)
  ETHER_TYPE: 2, // u16 type of what follows the tag
} as const;
export const VLAN_HEADER_LEN = 4;

const EMPTY = new DataView(new ArrayBuffer(0));

export class VlanView {
  private dv: DataView = EMPTY;
  off = 0; // absolute offset of the TCI in the slot
  avail = 0; // bytes from `off` to the end of the frame
  failAt = -1; // after a failed check(): absolute offset of the offending field
  // The value a successful check() read, kept so the hot-path parser does not read the field a
  // second time through its getter; stale once the tag is rewritten.
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
    if (this.avail < VLAN_HEADER_LEN) return this.fail("truncated", 0);
    this.checkedEtherType = this.dv.getUint16(this.off + F.ETHER_TYPE);
    return null;
  }

  /** check() for tools and tests: throws a ParseError instead of returning a code. */
  parse(): this {
    const code = this.check();
    if (code !== null) throw new ParseError("vlan", code, this.failAt);
    return this;
  }

  private fail(code: ParseErrorCode, field: number): ParseErrorCode {
    this.failAt = this.off + field;
    return code;
  }

  get tci(): number {
    return this.dv.getUint16(this.off + F.TCI);
  }
  set tci(v: number) {
    this.dv.setUint16(this.off + F.TCI, v);
  }
  /** Priority code point, 0..7. */
  get pcp(): number {
    return this.dv.getUint8(this.off + F.TCI) >>> 5;
  }
  set pcp(v: number) {
    this.tci = (this.tci & 0x1fff) | ((v & 7) << 13);
  }
  /** Drop eligible indicator (the former CFI bit), 0 or 1. */
  get dei(): number {
    return (this.dv.getUint8(this.off + F.TCI) >>> 4) & 1;
  }
  /** VLAN id, 0..4095 (0: priority tag only; 4095 reserved, passed through). */
  get vid(): number {
    return this.tci & 0x0fff;
  }
  set vid(v: number) {
    this.tci = (this.tci & 0xf000) | (v & 0x0fff);
  }
  /** The EtherType of what the tag encapsulates (another tag's TPID for QinQ). */
  get etherType(): number {
    return this.dv.getUint16(this.off + F.ETHER_TYPE);
  }
  set etherType(v: number) {
    this.dv.setUint16(this.off + F.ETHER_TYPE, v);
  }
  /** The tag's length; the encapsulated header starts here. */
  get headerLen(): number {
    return VLAN_HEADER_LEN;
  }
}

export interface VlanRepr {
  pcp: number; // 0..7
  dei: number; // 0 or 1
  vid: number; // 0..4095
  etherType: number; // of the encapsulated header
}

export function vlanHeaderLen(_r: VlanRepr): number {
  return VLAN_HEADER_LEN;
}

export function emitVlan(r: VlanRepr, dv: DataView, off: number): number {
  dv.setUint16(off + F.TCI, ((r.pcp & 7) << 13) | ((r.dei & 1) << 12) | (r.vid & 0x0fff));
  dv.setUint16(off + F.ETHER_TYPE, r.etherType);
  return off + VLAN_HEADER_LEN;
}

export function readVlan(v: VlanView): VlanRepr {
  return { pcp: v.pcp, dei: v.dei, vid: v.vid, etherType: v.etherType };
}

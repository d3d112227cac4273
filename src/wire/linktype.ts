// Link-layer headers other than Ethernet that captures carry in front of IP: Linux "cooked"
// captures (SLL, SLL2), BSD loopback (NULL) and raw IP. The emulator's own ports are Ethernet;
// these exist so that `decode` and the conformance tests read real-world captures.
//
// LINKTYPE values: https://www.tcpdump.org/linktypes.html
//
// Linux SLL (LINKTYPE_LINUX_SLL, 113), 16 bytes:
//   u16 packet type | u16 ARPHRD type | u16 address length | 8 bytes address | u16 protocol
// Linux SLL2 (LINKTYPE_LINUX_SLL2, 276), 20 bytes:
//   u16 protocol | u16 reserved | u32 interface index | u16 ARPHRD type | u8 packet type |
//   u8 address length | 8 bytes address
// NULL (LINKTYPE_NULL, 0), 4 bytes: the AF_ value in the byte order of the capturing host.

import { ParseError, type ParseErrorCode } from "./errors.ts";
import { EtherType } from "./numbers.ts";

export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101, // raw IPv4 or IPv6, told apart by the version nibble
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** Wireshark's WTAP encapsulation numbers, which tshark prints as frame.encap_type. */
export function wiresharkEncap(linkType: number): number | undefined {
  switch (linkType) {
    case LinkType.ETHERNET:
      return 1;
    case LinkType.RAW:
      return 7;
    case LinkType.NULL:
      return 15;
    case LinkType.LINUX_SLL:
      return 25;
    case LinkType.IPV4:
      return 129;
    case LinkType.IPV6:
      return 130;
    case LinkType.LINUX_SLL2:
      return 210;
    default:
      return undefined;
  }
}

const SLL = { PROTOCOL: 14 } as const;
export const SLL_HEADER_LEN = 16;
const SLL2 = { PROTOCOL: 0 } as const;
export const SLL2_HEADER_LEN = 20;
export const NULL_HEADER_LEN = 4;

/** BSD address families seen in NULL headers; the IPv6 value differs between BSDs. */
const AF_INET = 2;
const AF_INET6 = [10, 24, 28, 30];

const EMPTY = new DataView(new ArrayBuffer(0));

/**
 * A view over any of the non-Ethernet link headers above: what they share is a length and the
 * EtherType of what follows, which is all the parser needs.
 */
export class CookedView {
  private dv: DataView = EMPTY;
  off = 0;
  avail = 0;
  failAt = -1;
  linkType: number = LinkType.LINUX_SLL;

  wrap(dv: DataView, off: number, avail: number, linkType: number): this {
    this.dv = dv;
    this.off = off;
    this.avail = avail;
    this.failAt = -1;
    this.linkType = linkType;
    return this;
  }

  get headerLen(): number {
    switch (this.linkType) {
      case LinkType.LINUX_SLL:
        return SLL_HEADER_LEN;
      case LinkType.LINUX_SLL2:
        return SLL2_HEADER_LEN;
      case LinkType.NULL:
        return NULL_HEADER_LEN;
      default:
        return 0;
    }
  }

  check(): ParseErrorCode | null {
    if (this.avail < this.headerLen) {
      this.failAt = this.off;
      return "truncated";
    }
    return null;
  }

  parse(): this {
    const code = this.check();
    if (code !== null) throw new ParseError("ethernet", code, this.failAt);
    return this;
  }

  /** EtherType of the payload (0 when not known, e.g. an unknown NULL address family). */
  get etherType(): number {
    switch (this.linkType) {
      case LinkType.LINUX_SLL:
        return this.dv.getUint16(this.off + SLL.PROTOCOL);
      case LinkType.LINUX_SLL2:
        return this.dv.getUint16(this.off + SLL2.PROTOCOL);
      case LinkType.NULL: {
        // Written in the capturing host's byte order: whichever reading is small is right.
        const be = this.dv.getUint32(this.off);
        const af = be > 0xffff ? this.dv.getUint32(this.off, true) : be;
        if (af === AF_INET) return EtherType.IPV4;
        return AF_INET6.includes(af) ? EtherType.IPV6 : 0;
      }
      default: {
        if (this.avail < 1) return 0;
        const version = this.dv.getUint8(this.off) >> 4;
        return version === 4 ? EtherType.IPV4 : version === 6 ? EtherType.IPV6 : 0;
      }
    }
  }
}

// Where the outermost IP header and its upper-layer header sit in a captured frame, for the L4
// and tunnel tests. Deliberately independent of src/wire/ipv4.ts/ipv6.ts (written in parallel,
// and not what these tests are about): fixed offsets by link type, VLAN tags, IPv4 IHL and the
// IPv6 extension headers the conformance captures use.
import { csumPartial } from "../../src/wire/checksum.ts";

export interface L4Location {
  ipOff: number; // absolute offset of the IP header
  ipVersion: 4 | 6;
  proto: number; // upper-layer protocol after extension headers
  l4Off: number;
  l4Len: number; // as the IP header gives it
  fragment: boolean; // a fragment (first or later): the checksum cannot be verified from it
  pseudoDstOff: number; // address for the pseudo-header: the final destination (RFC 8200 §8.1)
  plainDst: boolean; // the final destination is the IP header's own, so pseudoHeaderV4/V6 apply
}

const LINK_ETHERNET = 1;
const LINK_SLL = 113;
const LINK_SLL2 = 276;
const LINK_IPV4 = 228;
const LINK_IPV6 = 229;

export function locateL4(d: Uint8Array, linkType: number): L4Location | null {
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  let off: number;
  let type: number;
  if (linkType === LINK_ETHERNET) {
    off = 12;
    type = dv.getUint16(off);
    while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
      off += 4;
      type = dv.getUint16(off);
    }
    off += 2;
  } else if (linkType === LINK_SLL) {
    type = dv.getUint16(14);
    off = 16;
  } else if (linkType === LINK_SLL2) {
    type = dv.getUint16(0);
    off = 20;
  } else if (linkType === LINK_IPV4) {
    type = 0x0800;
    off = 0;
  } else if (linkType === LINK_IPV6) {
    type = 0x86dd;
    off = 0;
  } else return null;
  if (type === 0x0800 && off + 20 <= d.length) {
    const ihl = (dv.getUint8(off) & 0x0f) * 4;
    const ff = dv.getUint16(off + 6);
    let pseudoDstOff = off + 16;
    // A loose or strict source route (RFC 791 §3.1) names the final destination last.
    for (let p = off + 20; p < off + ihl; ) {
      const type = dv.getUint8(p);
      if (type === 0) break;
      if (type === 1) {
        p++;
        continue;
      }
      const optLen = dv.getUint8(p + 1);
      if (optLen < 2) break;
      if ((type === 0x83 || type === 0x89) && optLen >= 7) pseudoDstOff = p + optLen - 4;
      p += optLen;
    }
    return {
      ipOff: off,
      ipVersion: 4,
      proto: dv.getUint8(off + 9),
      l4Off: off + ihl,
      l4Len: dv.getUint16(off + 2) - ihl,
      fragment: (ff & 0x3fff) !== 0,
      pseudoDstOff,
      plainDst: pseudoDstOff === off + 16,
    };
  }
  if (type === 0x86dd && off + 40 <= d.length) {
    let nh = dv.getUint8(off + 6);
    let p = off + 40;
    let fragment = false;
    let pseudoDstOff = off + 24;
    for (;;) {
      if (nh === 0 || nh === 43 || nh === 60) {
        if (nh === 43 && dv.getUint8(p + 3) > 0) {
          const rtype = dv.getUint8(p + 2);
          const addrs = dv.getUint8(p + 1) / 2;
          if (rtype === 0) pseudoDstOff = p + 8 + 16 * (addrs - 1); // last address listed
          if (rtype === 4) pseudoDstOff = p + 8; // SRH: Segment List[0] is the final one
        }
        const next = dv.getUint8(p);
        p += (dv.getUint8(p + 1) + 1) * 8;
        nh = next;
      } else if (nh === 44) {
        if ((dv.getUint16(p + 2) & 0xfff9) !== 0) fragment = true; // offset or M: not atomic
        nh = dv.getUint8(p);
        p += 8;
      } else break;
    }
    return {
      ipOff: off,
      ipVersion: 6,
      proto: nh,
      l4Off: p,
      l4Len: dv.getUint16(off + 4) - (p - off - 40),
      fragment,
      pseudoDstOff,
      plainDst: pseudoDstOff === off + 24,
    };
  }
  return null;
}

/** The pseudo-header sum with the final destination, which pseudoHeaderV4/V6 cannot know. */
export function pseudoSum(dv: DataView, loc: L4Location, l4Len: number): number {
  if (loc.ipVersion === 4)
    return csumPartial(dv, loc.ipOff + 12, 4) + csumPartial(dv, loc.pseudoDstOff, 4) + loc.proto + l4Len;
  return (
    csumPartial(dv, loc.ipOff + 8, 16) +
    csumPartial(dv, loc.pseudoDstOff, 16) +
    Math.floor(l4Len / 0x10000) +
    (l4Len & 0xffff) +
    loc.proto
  );
}

/** tshark's *.checksum.status as a CsumStatus: 4 ("Illegal", a zero UDP checksum over IPv6) is BAD. */
export function wiresharkStatus(s: string): number {
  const n = Number(s);
  return n === 4 ? 0 : n;
}

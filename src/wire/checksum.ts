// The Internet checksum (RFC 1071), split the way offload hardware splits it: a partial sum that
// can be chained (pseudo-header, then segment), a final fold-and-complement, and the incremental
// update of RFC 1624 for rewrites (TTL, NAT, set-field) that must not re-sum the whole packet.

/**
 * One's-complement partial sum of `len` bytes at `off`, added to `acc`. The result is not folded:
 * callers chain it, and csumFinish() folds once. An odd trailing byte is padded with zero on the
 * right (RFC 1071 §4.1). Stays exact up to ~2^37 bytes of input, far beyond any packet.
 */
export function csumPartial(dv: DataView, off: number, len: number, acc = 0): number {
  let sum = acc;
  const end = off + (len & ~1);
  let i = off;
  for (; i + 8 <= end; i += 8) {
    sum += dv.getUint16(i) + dv.getUint16(i + 2) + dv.getUint16(i + 4) + dv.getUint16(i + 6);
  }
  for (; i < end; i += 2) sum += dv.getUint16(i);
  if (len & 1) sum += dv.getUint8(off + len - 1) << 8;
  return sum;
}

/** Fold the partial sum to 16 bits and complement it. */
export function csumFinish(acc: number): number {
  let sum = acc;
  // `>>>` would drop bits above 2^32; division keeps them.
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit word changing from oldWord to newWord. */
export function csumUpdate16(csum: number, oldWord: number, newWord: number): number {
  let sum = (~csum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The same for a 32-bit field (an IPv4 address), as two 16-bit updates. */
export function csumUpdate32(csum: number, oldWord: number, newWord: number): number {
  return csumUpdate16(csumUpdate16(csum, oldWord >>> 16, newWord >>> 16), oldWord & 0xffff, newWord & 0xffff);
}

/** Partial sum of the IPv4 pseudo-header (RFC 768, RFC 9293 §3.1) for an upper-layer segment. */
export function pseudoHeaderV4(dv: DataView, ipOff: number, proto: number, l4Len: number): number {
  return csumPartial(dv, ipOff + 12, 8) + proto + l4Len;
}

/** Partial sum of the IPv6 pseudo-header (RFC 8200 §8.1), addresses read from the fixed header. */
export function pseudoHeaderV6(dv: DataView, ipOff: number, nextHeader: number, l4Len: number): number {
  return csumPartial(dv, ipOff + 8, 32) + Math.floor(l4Len / 0x10000) + (l4Len & 0xffff) + nextHeader;
}

/** Checksum status as Wireshark reports it, and as packets carry it for outer and inner layers. */
export const CsumStatus = { BAD: 0, GOOD: 1, UNKNOWN: 2, NOT_PRESENT: 3 } as const;
export type CsumStatus = (typeof CsumStatus)[keyof typeof CsumStatus];

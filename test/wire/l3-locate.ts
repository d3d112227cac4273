// Where the outermost L3 header of a captured frame starts, for wire tests that sweep every
// conformance capture. A plain reading of the link header and up to two VLAN tags, independent of
// the hot-path parser (which is itself under test elsewhere).
import type { CapturedFrame } from "./capture-bytes.ts";

/** { etherType, off } of the first L3 header, or null for link types and frames it skips. */
export function locateL3(f: CapturedFrame): { etherType: number; off: number } | null {
  const d = f.data;
  const u16 = (o: number) => ((d[o] as number) << 8) | (d[o + 1] as number);
  switch (f.linkType) {
    case 1: {
      // LINKTYPE_ETHERNET
      let off = 12;
      for (let tags = 0; tags <= 2; tags++) {
        if (off + 2 > d.length) return null;
        const t = u16(off);
        if (t !== 0x8100 && t !== 0x88a8 && t !== 0x9100) return { etherType: t, off: off + 2 };
        off += 4;
      }
      return null;
    }
    case 113: // LINKTYPE_LINUX_SLL: protocol at 14, 16-byte header
      return d.length >= 16 ? { etherType: u16(14), off: 16 } : null;
    case 276: // LINKTYPE_LINUX_SLL2: protocol at 0, 20-byte header
      return d.length >= 20 ? { etherType: u16(0), off: 20 } : null;
    case 228: // LINKTYPE_IPV4
      return { etherType: 0x0800, off: 0 };
    case 229: // LINKTYPE_IPV6
      return { etherType: 0x86dd, off: 0 };
    default:
      return null;
  }
}

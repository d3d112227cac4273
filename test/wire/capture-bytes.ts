// Frame bytes out of the public conformance captures, for wire-format tests that take their
// vectors from real traffic. Deliberately tiny and independent of src/io (the pcap reader under
// test elsewhere): classic pcap (either byte order, µs or ns) and just enough pcapng (Enhanced
// and Simple Packet Blocks) to reach the frames. It throws on anything else; it is a test tool.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readFieldsTsv, type TsharkRow } from "../conformance/tsv.ts";

export const CAPTURES = fileURLToPath(new URL("../../../shared/conformance/captures/", import.meta.url));

export interface CapturedFrame {
  data: Uint8Array; // captured bytes (caplen of them)
  origLen: number; // length on the wire
  linkType: number; // LINKTYPE_* of the frame's interface
}

/** Every frame of `file` (a name in ../shared/conformance/captures or an absolute path). */
export function captureFrames(file: string): CapturedFrame[] {
  const buf = readFileSync(file.startsWith("/") ? file : CAPTURES + file);
  const u8 = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const magicBe = dv.getUint32(0, false);
  if (magicBe === 0x0a0d0d0a) return pcapngFrames(u8, dv);
  const le = magicBe === 0xd4c3b2a1 || magicBe === 0x4d3cb2a1;
  if (!le && magicBe !== 0xa1b2c3d4 && magicBe !== 0xa1b23c4d) {
    throw new Error(`${file}: not a pcap or pcapng file`);
  }
  const linkType = dv.getUint32(20, le) & 0x0fffffff;
  const out: CapturedFrame[] = [];
  for (let off = 24; off + 16 <= u8.length; ) {
    const capLen = dv.getUint32(off + 8, le);
    const origLen = dv.getUint32(off + 12, le);
    out.push({ data: u8.subarray(off + 16, off + 16 + capLen), origLen, linkType });
    off += 16 + capLen;
  }
  return out;
}

/** Frame `n` (1-based, as tshark numbers them) of `file`. */
export function captureFrame(file: string, n: number): CapturedFrame {
  const f = captureFrames(file)[n - 1];
  if (!f) throw new Error(`${file}: no frame ${n}`);
  return f;
}

function pcapngFrames(u8: Uint8Array, dv: DataView): CapturedFrame[] {
  const out: CapturedFrame[] = [];
  let le = true;
  let links: number[] = [];
  for (let off = 0; off + 12 <= u8.length; ) {
    if (dv.getUint32(off, false) === 0x0a0d0d0a) {
      le = dv.getUint32(off + 8, true) === 0x1a2b3c4d;
      links = [];
    }
    const type = dv.getUint32(off, le);
    const len = dv.getUint32(off + 4, le);
    if (len < 12) throw new Error(`pcapng: block length ${len} at ${off}`);
    if (type === 1) links.push(dv.getUint16(off + 8, le));
    if (type === 6) {
      const capLen = dv.getUint32(off + 20, le);
      out.push({
        data: u8.subarray(off + 28, off + 28 + capLen),
        origLen: dv.getUint32(off + 24, le),
        linkType: links[dv.getUint32(off + 8, le)] ?? -1,
      });
    }
    if (type === 3) {
      const origLen = dv.getUint32(off + 8, le);
      out.push({
        data: u8.subarray(off + 12, off + 12 + Math.min(origLen, len - 16)),
        origLen,
        linkType: links[0] ?? -1,
      });
    }
    off += len;
  }
  return out;
}

/** One column of a capture's .fields.tsv, one string per frame (empty when absent). */
export function fieldColumn(file: string, field: string): string[] {
  const rows = readFieldsTsv(file);
  if (rows.length > 0 && !(field in (rows[0] as TsharkRow)))
    throw new Error(`${file}.fields.tsv has no column ${field}`);
  return rows.map((r) => r[field] ?? "");
}

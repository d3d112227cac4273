// Reads a capture file of either kind: dispatches on the first four bytes to pcap.ts (classic
// libpcap, magic a1b2c3d4 / a1b23c4d in either byte order) or pcapng.ts (a Section Header Block,
// 0a0d0d0a). Anything else goes to the pcap reader, which reports it as bad-magic at byte 0.

import { readFileSync } from "node:fs";
import { readPcap, type PcapReadResult } from "./pcap.ts";
import { BlockType, readPcapng, type PcapngReadResult } from "./pcapng.ts";

export type CaptureReadResult = PcapReadResult | PcapngReadResult;

export function readCapture(bytes: Uint8Array): CaptureReadResult {
  const isPcapng =
    bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0) === BlockType.SECTION_HEADER;
  return isPcapng ? readPcapng(bytes) : readPcap(bytes);
}

/** readCapture() on a file read whole from disk; packet data are views of that one buffer. */
export function readCaptureFile(path: string): CaptureReadResult {
  const buf = readFileSync(path);
  return readCapture(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
}

// Classic libpcap capture files: reader and streaming writer. pcapng.ts is the richer format the
// emulator writes by default; capture.ts picks between the two by magic number.
//
// Layout (draft-ietf-opsawg-pcap §4 file header, §5 packet record):
//
//   file header, 24 bytes                     packet record, 16 bytes + caplen
//   0  u32 magic  a1b2c3d4 µs / a1b23c4d ns    0  u32 ts seconds
//   4  u16 major (2)   6 u16 minor (4)         4  u32 ts µs or ns (by the magic)
//   8  u32 reserved (thiszone)                 8  u32 caplen: bytes that follow
//   12 u32 reserved (sigfigs)                  12 u32 origLen: bytes on the wire
//   16 u32 snaplen                             16 caplen bytes of packet data
//   20 u32 FCS bits (4) | reserved | link type (16)
//
// Every field is in the writer's byte order, which the magic tells (read as little-endian,
// d4c3b2a1 / 4d3cb2a1 mean the file is big-endian). We write little-endian.

import { readFileSync } from "node:fs";
import { openSync } from "node:fs";
import type { Writable } from "node:stream";
import { ParseError } from "../wire/errors.ts";
import {
  type ByteSink,
  type CaptureInterface,
  type CapturePacket,
  divU64,
  FdSink,
  MAX_CAPLEN,
  MemorySink,
  OutBuffer,
  splitNs,
  u64,
  WritableSink,
} from "./common.ts";

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_FILE_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;
export const LINKTYPE_ETHERNET = 1;

const H = { MAGIC: 0, MAJOR: 4, MINOR: 6, SNAPLEN: 16, LINKTYPE: 20 } as const;
const R = { SEC: 0, FRAC: 4, CAPLEN: 8, ORIG_LEN: 12 } as const;

export type PcapResolution = "us" | "ns";

export interface PcapHeader {
  littleEndian: boolean;
  resolution: PcapResolution;
  versionMajor: number;
  versionMinor: number;
  snaplen: number;
  linkType: number; // low 16 bits of the link-type field
  fcsBits: number; // the top bits of that field (FCS length present flag and length), raw
}

export interface PcapReadResult {
  format: "pcap";
  header: PcapHeader | null; // null when the file header itself is bad
  interfaces: CaptureInterface[]; // one, standing for the file header
  packets: CapturePacket[]; // every whole, valid record before `error`
  error?: ParseError; // the first problem; reading stops there
}

/**
 * Every record of a classic pcap file held in memory. Packet data are subarrays of `bytes`
 * (valid while `bytes` is). A malformed or cut-off file yields the packets before the fault and
 * a ParseError("pcap", code, absolute file offset) instead of throwing.
 */
export function readPcap(bytes: Uint8Array): PcapReadResult {
  const out: PcapReadResult = { format: "pcap", header: null, interfaces: [], packets: [] };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (code: ParseError["code"], offset: number): PcapReadResult => {
    out.error = new ParseError("pcap", code, offset);
    return out;
  };
  if (bytes.length < 4) return fail("truncated", 0);
  const magicLe = dv.getUint32(H.MAGIC, true);
  const magicBe = dv.getUint32(H.MAGIC, false);
  let le: boolean;
  let resolution: PcapResolution;
  if (magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS) {
    le = true;
    resolution = magicLe === PCAP_MAGIC_NS ? "ns" : "us";
  } else if (magicBe === PCAP_MAGIC_US || magicBe === PCAP_MAGIC_NS) {
    le = false;
    resolution = magicBe === PCAP_MAGIC_NS ? "ns" : "us";
  } else {
    return fail("bad-magic", H.MAGIC);
  }
  if (bytes.length < PCAP_FILE_HEADER_LEN) return fail("truncated", 0);
  const versionMajor = dv.getUint16(H.MAJOR, le);
  // libpcap reads major version 2 only (§4: "incompatible changes" bump the major version).
  if (versionMajor !== 2) return fail("bad-version", H.MAJOR);
  const rawLinkType = dv.getUint32(H.LINKTYPE, le);
  const header: PcapHeader = {
    littleEndian: le,
    resolution,
    versionMajor,
    versionMinor: dv.getUint16(H.MINOR, le),
    snaplen: dv.getUint32(H.SNAPLEN, le),
    linkType: rawLinkType & 0xffff,
    fcsBits: rawLinkType >>> 16,
  };
  out.header = header;
  out.interfaces.push({
    id: 0,
    section: 0,
    linkType: header.linkType,
    snaplen: header.snaplen,
    ticksPerSecond: resolution === "ns" ? 1_000_000_000n : 1_000_000n,
    tsOffsetSeconds: 0n,
  });
  const fracToNs = resolution === "ns" ? 1n : 1000n;
  let off = PCAP_FILE_HEADER_LEN;
  while (off < bytes.length) {
    if (bytes.length - off < PCAP_RECORD_HEADER_LEN) return fail("truncated", off);
    const caplen = dv.getUint32(off + R.CAPLEN, le);
    // A snaplen of 0 appears in some writers' files to mean "no limit"; 256 KiB still applies.
    if (caplen > MAX_CAPLEN || (header.snaplen !== 0 && caplen > header.snaplen)) {
      return fail("bad-caplen", off + R.CAPLEN);
    }
    if (bytes.length - off - PCAP_RECORD_HEADER_LEN < caplen) return fail("truncated", off);
    const sec = dv.getUint32(off + R.SEC, le);
    const frac = dv.getUint32(off + R.FRAC, le);
    const start = off + PCAP_RECORD_HEADER_LEN;
    out.packets.push({
      interfaceId: 0,
      linkType: header.linkType,
      ts: BigInt(sec) * 1_000_000_000n + BigInt(frac) * fracToNs,
      caplen,
      origLen: dv.getUint32(off + R.ORIG_LEN, le),
      data: bytes.subarray(start, start + caplen),
      offset: off,
    });
    off = start + caplen;
  }
  return out;
}

/** readPcap() on a file read whole from disk. */
export function readPcapFile(path: string): PcapReadResult {
  const buf = readFileSync(path);
  return readPcap(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
}

export interface PcapWriterOptions {
  resolution?: PcapResolution; // default "us", the form every reader knows
  linkType?: number; // default Ethernet (1)
  snaplen?: number; // default 262144; longer packets are cut to it (origLen kept)
}

/**
 * Streams a classic pcap file into a sink: the header at once, then one record per
 * writePacket(), batched in a reusable buffer (see OutBuffer). The per-packet path allocates
 * nothing. A write error is thrown by the call that flushes and by every later call.
 */
export class PcapWriter {
  private readonly out: OutBuffer;
  readonly resolution: PcapResolution;
  readonly linkType: number;
  readonly snaplen: number;

  constructor(
    readonly sink: ByteSink,
    opts: PcapWriterOptions = {},
  ) {
    this.out = new OutBuffer(sink);
    this.resolution = opts.resolution ?? "us";
    this.linkType = opts.linkType ?? LINKTYPE_ETHERNET;
    this.snaplen = opts.snaplen ?? MAX_CAPLEN;
    const o = this.out.reserve(PCAP_FILE_HEADER_LEN);
    const dv = this.out.dv;
    dv.setUint32(o + H.MAGIC, this.resolution === "ns" ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
    dv.setUint16(o + H.MAJOR, 2, true);
    dv.setUint16(o + H.MINOR, 4, true);
    dv.setUint32(o + 8, 0, true);
    dv.setUint32(o + 12, 0, true);
    dv.setUint32(o + H.SNAPLEN, this.snaplen, true);
    dv.setUint32(o + H.LINKTYPE, this.linkType, true);
    this.out.pos = o + PCAP_FILE_HEADER_LEN;
  }

  /** One record; `data` is copied into the buffer before this returns. */
  writePacket(tsNs: bigint, data: Uint8Array, origLen: number = data.length): void {
    const caplen = data.length < this.snaplen ? data.length : this.snaplen;
    const o = this.out.reserve(PCAP_RECORD_HEADER_LEN + caplen);
    splitNs(tsNs);
    divU64(1_000_000_000);
    if (u64.hi !== 0) throw new RangeError(`timestamp past 2106 does not fit a pcap record: ${tsNs} ns`);
    const dv = this.out.dv;
    dv.setUint32(o + R.SEC, u64.lo, true);
    dv.setUint32(o + R.FRAC, this.resolution === "ns" ? u64.rem : Math.floor(u64.rem / 1000), true);
    dv.setUint32(o + R.CAPLEN, caplen, true);
    dv.setUint32(o + R.ORIG_LEN, origLen > caplen ? origLen : caplen, true);
    this.out.buf.set(caplen === data.length ? data : data.subarray(0, caplen), o + PCAP_RECORD_HEADER_LEN);
    this.out.pos = o + PCAP_RECORD_HEADER_LEN + caplen;
  }

  /** Hands every whole record written so far to the sink. */
  flush(): void {
    this.out.flush();
  }
  /** Flushes and completes the file; rejects with any write error. */
  close(): Promise<void> {
    return this.out.close();
  }
  /** close() for file descriptors and memory: the file is complete when this returns. */
  closeSync(): void {
    this.out.closeSync();
  }
}

/** A pcap writer onto a new file (created or truncated) at `path`. */
export function openPcapFile(path: string, opts?: PcapWriterOptions): PcapWriter {
  return new PcapWriter(new FdSink(openSync(path, "w")), opts);
}

/** A pcap writer onto a Node Writable (a socket, a pipe, a file stream). */
export function pcapToWritable(stream: Writable, opts?: PcapWriterOptions): PcapWriter {
  return new PcapWriter(new WritableSink(stream), opts);
}

/** A pcap writer that keeps the file in memory: `sink.bytes()` after close. */
export function pcapToMemory(opts?: PcapWriterOptions): PcapWriter & { sink: MemorySink } {
  return new PcapWriter(new MemorySink(), opts) as PcapWriter & { sink: MemorySink };
}

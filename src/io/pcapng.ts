// pcapng capture files (draft-ietf-opsawg-pcapng, "PCAP Next Generation Capture File Format"):
// reader and streaming writer. The emulator writes its captures with PcapngWriter, one interface
// per port and a comment on each packet naming the datapath tier that handled it; the reader
// serves the tests, replay ports and tools. capture.ts picks pcap or pcapng by magic number.
//
// A file is a sequence of blocks, each framed the same way (§3.1):
//
//   0  u32 block type            8  block body (type specific), options (§3.5)
//   4  u32 block total length    …  u32 block total length again (lets readers walk backwards)
//
// Lengths count the whole block and are multiples of 4. A Section Header Block (§4.1) starts
// each section and fixes its byte order through its byte-order magic 1a2b3c4d; interface ids
// are indices of Interface Description Blocks (§4.2) within the section, counted from 0, and an
// IDB may come anywhere in the section. Enhanced Packet Blocks (§4.3) carry an interface id, a
// 64-bit timestamp in that interface's if_tsresol ticks, caplen, origLen, the data padded to
// 32 bits, then options. Simple Packet Blocks (§4.4) belong to interface 0 and have no
// timestamp. Every other block (name resolution, statistics, custom, unknown) is skipped by its
// length. Options are (u16 code, u16 length, value padded to 32 bits), ended by opt_endofopt.

import { openSync, readFileSync } from "node:fs";
import type { Writable } from "node:stream";
import { ParseError, type ParseErrorCode } from "../wire/errors.ts";
import {
  type ByteSink,
  type CaptureInterface,
  type CapturePacket,
  divU64,
  FdSink,
  MAX_CAPLEN,
  MemorySink,
  OutBuffer,
  pad4,
  splitNs,
  ticksToNs,
  u64,
  WritableSink,
} from "./common.ts";
import { LINKTYPE_ETHERNET } from "./pcap.ts";

export const BlockType = {
  SECTION_HEADER: 0x0a0d0d0a, // §4.1; the same in either byte order
  INTERFACE_DESCRIPTION: 0x00000001, // §4.2
  PACKET: 0x00000002, // obsolete (Appendix A), still read
  SIMPLE_PACKET: 0x00000003, // §4.4
  NAME_RESOLUTION: 0x00000004, // §4.5
  INTERFACE_STATISTICS: 0x00000005, // §4.6
  ENHANCED_PACKET: 0x00000006, // §4.3
  DECRYPTION_SECRETS: 0x0000000a,
  CUSTOM: 0x00000bad, // §4.8
  CUSTOM_NO_COPY: 0x40000bad,
} as const;

export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Option codes (§3.5, §4.1, §4.2, §4.3); codes a block does not know are skipped. */
export const Opt = {
  ENDOFOPT: 0,
  COMMENT: 1,
  SHB_HARDWARE: 2,
  SHB_OS: 3,
  SHB_USERAPPL: 4,
  IF_NAME: 2,
  IF_DESCRIPTION: 3,
  IF_TSRESOL: 9,
  IF_TSOFFSET: 14,
  EPB_FLAGS: 2,
} as const;

// Offsets from the start of the block.
const B = { TYPE: 0, LEN: 4, BODY: 8 } as const;
const SHB = { BOM: 8, MAJOR: 12, MINOR: 14, SECTION_LEN: 16, OPTIONS: 24 } as const;
const IDB = { LINKTYPE: 8, RESERVED: 10, SNAPLEN: 12, OPTIONS: 16 } as const;
const EPB = { IFACE: 8, TS_HIGH: 12, TS_LOW: 16, CAPLEN: 20, ORIG_LEN: 24, DATA: 28 } as const;
const PB = { IFACE: 8, DROPS: 10 } as const; // then as EPB from TS_HIGH on
const SPB = { ORIG_LEN: 8, DATA: 12 } as const;

/** Smallest legal total length of each block type: header, fixed fields, trailing length. */
const MIN_LEN = { SHB: 28, IDB: 20, EPB: 32, PB: 32, SPB: 16, ANY: 12 } as const;

export interface PcapngSection {
  offset: number;
  littleEndian: boolean;
  versionMajor: number;
  versionMinor: number;
  hardware?: string;
  os?: string;
  userAppl?: string;
  comment?: string;
}

export interface PcapngReadResult {
  format: "pcapng";
  sections: PcapngSection[];
  interfaces: CaptureInterface[]; // every IDB of every section, in file order
  packets: CapturePacket[]; // every packet before `error`, in file order
  error?: ParseError; // the first problem; reading stops there
}

const utf8 = new TextDecoder("utf-8");

/** Calls `fn` for each option in [start, end); stops at opt_endofopt or at a malformed one. */
function eachOption(
  dv: DataView,
  start: number,
  end: number,
  le: boolean,
  fn: (code: number, valueOff: number, len: number) => void,
): void {
  for (let p = start; p + 4 <= end; ) {
    const code = dv.getUint16(p, le);
    const len = dv.getUint16(p + 2, le);
    if (code === Opt.ENDOFOPT) return;
    // An option running past its block is ignored with everything after it, as Wireshark warns
    // and goes on: the packet itself is intact.
    if (p + 4 + len > end) return;
    fn(code, p + 4, len);
    p += 4 + pad4(len);
  }
}

function text(bytes: Uint8Array, off: number, len: number): string {
  return utf8.decode(bytes.subarray(off, off + len));
}

/**
 * Every packet of a pcapng file held in memory, in order, from every section. Packet data are
 * subarrays of `bytes` (valid while `bytes` is). A malformed or cut-off file yields the packets
 * before the fault and a ParseError("pcapng", code, absolute file offset) instead of throwing:
 * bad-magic (not a Section Header Block, or a bad byte-order magic), bad-version, bad-block-len
 * (not a multiple of 4, below the type's minimum: at the leading length; trailing length
 * differs: at the trailing length), bad-caplen (over the interface's snaplen, over 256 KiB or
 * past its block: at the caplen field), bad-interface (an interface id with no IDB in the
 * section: at the id field; a Simple Packet Block before any IDB: at the block), truncated (the
 * file ends inside a block: at the block).
 */
export function readPcapng(bytes: Uint8Array): PcapngReadResult {
  const out: PcapngReadResult = { format: "pcapng", sections: [], interfaces: [], packets: [] };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (code: ParseErrorCode, offset: number): PcapngReadResult => {
    out.error = new ParseError("pcapng", code, offset);
    return out;
  };
  let le = true;
  let ifaces: CaptureInterface[] = []; // of the current section
  const n = bytes.length;
  if (n === 0) return fail("truncated", 0);
  for (let off = 0; off < n; ) {
    if (n - off < 4) return fail("truncated", off);
    const type = dv.getUint32(off + B.TYPE, le);
    if (type === BlockType.SECTION_HEADER) {
      if (n - off < 12) return fail("truncated", off);
      const bom = dv.getUint32(off + SHB.BOM, true);
      if (bom === BYTE_ORDER_MAGIC) le = true;
      else if (dv.getUint32(off + SHB.BOM, false) === BYTE_ORDER_MAGIC) le = false;
      else return fail("bad-magic", off + SHB.BOM);
    } else if (out.sections.length === 0) {
      return fail("bad-magic", off); // a pcapng file starts with a Section Header Block
    }
    if (n - off < 8) return fail("truncated", off);
    const len = dv.getUint32(off + B.LEN, le);
    const min =
      type === BlockType.SECTION_HEADER
        ? MIN_LEN.SHB
        : type === BlockType.INTERFACE_DESCRIPTION
          ? MIN_LEN.IDB
          : type === BlockType.ENHANCED_PACKET
            ? MIN_LEN.EPB
            : type === BlockType.PACKET
              ? MIN_LEN.PB
              : type === BlockType.SIMPLE_PACKET
                ? MIN_LEN.SPB
                : MIN_LEN.ANY;
    if (len % 4 !== 0 || len < min) return fail("bad-block-len", off + B.LEN);
    if (len > n - off) return fail("truncated", off);
    const end = off + len - 4; // the trailing length; options end here
    if (dv.getUint32(end, le) !== len) return fail("bad-block-len", end);

    switch (type) {
      case BlockType.SECTION_HEADER: {
        const major = dv.getUint16(off + SHB.MAJOR, le);
        // §4.1: a reader must not read a section whose major version it does not know.
        if (major !== 1) return fail("bad-version", off + SHB.MAJOR);
        const s: PcapngSection = {
          offset: off,
          littleEndian: le,
          versionMajor: major,
          versionMinor: dv.getUint16(off + SHB.MINOR, le),
        };
        eachOption(dv, off + SHB.OPTIONS, end, le, (code, v, l) => {
          if (code === Opt.COMMENT) s.comment ??= text(bytes, v, l);
          else if (code === Opt.SHB_HARDWARE) s.hardware = text(bytes, v, l);
          else if (code === Opt.SHB_OS) s.os = text(bytes, v, l);
          else if (code === Opt.SHB_USERAPPL) s.userAppl = text(bytes, v, l);
        });
        out.sections.push(s);
        ifaces = [];
        break;
      }
      case BlockType.INTERFACE_DESCRIPTION: {
        const iface: CaptureInterface = {
          id: ifaces.length,
          section: out.sections.length - 1,
          linkType: dv.getUint16(off + IDB.LINKTYPE, le),
          snaplen: dv.getUint32(off + IDB.SNAPLEN, le),
          ticksPerSecond: 1_000_000n,
          tsOffsetSeconds: 0n, // §4.2: 10^-6 when if_tsresol is absent
        };
        eachOption(dv, off + IDB.OPTIONS, end, le, (code, v, l) => {
          if (code === Opt.IF_NAME) iface.name = text(bytes, v, l);
          else if (code === Opt.IF_DESCRIPTION) iface.description = text(bytes, v, l);
          else if (code === Opt.IF_TSRESOL && l >= 1) {
            const r = dv.getUint8(v);
            // High bit set: a negative power of 2; otherwise a negative power of 10.
            iface.ticksPerSecond = r & 0x80 ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r);
          } else if (code === Opt.IF_TSOFFSET && l >= 8) iface.tsOffsetSeconds = dv.getBigInt64(v, le);
        });
        ifaces.push(iface);
        out.interfaces.push(iface);
        break;
      }
      case BlockType.ENHANCED_PACKET:
      case BlockType.PACKET: {
        const enhanced = type === BlockType.ENHANCED_PACKET;
        const id = enhanced ? dv.getUint32(off + EPB.IFACE, le) : dv.getUint16(off + PB.IFACE, le);
        const iface = ifaces[id];
        if (!iface) return fail("bad-interface", off + EPB.IFACE);
        const caplen = dv.getUint32(off + EPB.CAPLEN, le);
        if (
          caplen > MAX_CAPLEN ||
          (iface.snaplen !== 0 && caplen > iface.snaplen) ||
          off + EPB.DATA + pad4(caplen) > end
        ) {
          return fail("bad-caplen", off + EPB.CAPLEN);
        }
        const data = off + EPB.DATA;
        const p: CapturePacket = {
          interfaceId: id,
          linkType: iface.linkType,
          ts: ticksToNs(
            dv.getUint32(off + EPB.TS_HIGH, le),
            dv.getUint32(off + EPB.TS_LOW, le),
            iface.ticksPerSecond,
            iface.tsOffsetSeconds,
          ),
          caplen,
          origLen: dv.getUint32(off + EPB.ORIG_LEN, le),
          data: bytes.subarray(data, data + caplen),
          offset: off,
        };
        // The obsolete Packet Block's options use code 2 for pack_flags, laid out as epb_flags.
        eachOption(dv, data + pad4(caplen), end, le, (code, v, l) => {
          if (code === Opt.COMMENT) p.comment ??= text(bytes, v, l);
          else if (code === Opt.EPB_FLAGS && l >= 4) p.flags = dv.getUint32(v, le);
        });
        out.packets.push(p);
        break;
      }
      case BlockType.SIMPLE_PACKET: {
        const iface = ifaces[0];
        if (!iface) return fail("bad-interface", off);
        const origLen = dv.getUint32(off + SPB.ORIG_LEN, le);
        // §4.4: caplen is min(origLen, snaplen); the block's own size bounds it as well.
        let caplen = origLen;
        if (iface.snaplen !== 0 && caplen > iface.snaplen) caplen = iface.snaplen;
        if (caplen > MAX_CAPLEN) return fail("bad-caplen", off + SPB.ORIG_LEN);
        if (off + SPB.DATA + caplen > end) caplen = end - off - SPB.DATA;
        const data = off + SPB.DATA;
        out.packets.push({
          interfaceId: 0,
          linkType: iface.linkType,
          ts: null,
          caplen,
          origLen,
          data: bytes.subarray(data, data + caplen),
          offset: off,
        });
        break;
      }
      default:
        break; // NRB, ISB, DSB, custom and unknown blocks: skipped by their length
    }
    off += len;
  }
  return out;
}

/** readPcapng() on a file read whole from disk. */
export function readPcapngFile(path: string): PcapngReadResult {
  const buf = readFileSync(path);
  return readPcapng(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
}

// --- writer ------------------------------------------------------------------------------------

export interface PcapngWriterOptions {
  userAppl?: string; // shb_userappl; default "offload-emu"
  hardware?: string; // shb_hardware
  os?: string; // shb_os
}

export interface PcapngInterfaceOptions {
  name?: string; // if_name, e.g. the port name
  description?: string; // if_description
  linkType?: number; // default Ethernet (1)
  snaplen?: number; // default 262144; longer packets are cut to it (origLen kept)
  /** if_tsresol as a negative power of 10, 0..9; default 9 (nanoseconds). */
  tsresol?: number;
}

/** epb_flags direction bits (§4.3.1). */
export const EpbFlags = { INBOUND: 1, OUTBOUND: 2 } as const;

const OPT_HEADER_LEN = 4;
const COMMENT_CACHE_MAX = 64; // distinct comments kept encoded; others are encoded per packet
const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

/**
 * Streams a little-endian pcapng file with one section into a sink: the Section Header Block at
 * once, an IDB per addInterface() (at any point, also after packets), an Enhanced Packet Block
 * per writePacket(). Blocks are batched whole in a reusable buffer (see OutBuffer); the
 * per-packet path allocates nothing (a comment is copied from a small cache of encoded comments,
 * or encoded straight into the buffer). A write
 * error is thrown by the call that flushes and by every later call; close() rejects with it.
 */
export class PcapngWriter {
  private readonly out: OutBuffer;
  private readonly snaplens: number[] = [];
  private readonly tickDivisors: number[] = []; // nanoseconds per tick of each interface
  /**
   * UTF-8 bytes of recent comments. The emulator's comments are a handful of constant strings
   * (tier names); copying cached bytes is ~2x faster per 64-byte packet than encoding each time
   * (scripts/bench-pcapng.ts). Map.get() on a string allocates nothing.
   */
  private readonly commentBytes = new Map<string, Uint8Array>();

  constructor(
    readonly sink: ByteSink,
    opts: PcapngWriterOptions = {},
  ) {
    this.out = new OutBuffer(sink);
    const userAppl = opts.userAppl ?? "offload-emu";
    const len = MIN_LEN.SHB + strOptLen(opts.hardware) + strOptLen(opts.os) + strOptLen(userAppl) + OPT_HEADER_LEN;
    const o = this.out.reserve(len);
    const dv = this.out.dv;
    dv.setUint32(o + B.TYPE, BlockType.SECTION_HEADER, true);
    dv.setUint32(o + B.LEN, len, true);
    dv.setUint32(o + SHB.BOM, BYTE_ORDER_MAGIC, true);
    dv.setUint16(o + SHB.MAJOR, 1, true);
    dv.setUint16(o + SHB.MINOR, 0, true);
    dv.setBigInt64(o + SHB.SECTION_LEN, -1n, true); // §4.1: -1 = length not given (we stream)
    let p = o + SHB.OPTIONS;
    p = this.strOpt(p, Opt.SHB_HARDWARE, opts.hardware);
    p = this.strOpt(p, Opt.SHB_OS, opts.os);
    p = this.strOpt(p, Opt.SHB_USERAPPL, userAppl);
    dv.setUint32(p, 0, true); // opt_endofopt
    dv.setUint32(p + 4, len, true);
    this.out.pos = o + len;
  }

  /** Describes an interface (writes its IDB now) and returns its id for writePacket(). */
  addInterface(opts: PcapngInterfaceOptions = {}): number {
    const tsresol = opts.tsresol ?? 9;
    if (!Number.isInteger(tsresol) || tsresol < 0 || tsresol > 9) {
      throw new RangeError(`tsresol must be a power of 10 from 0 to 9, got ${tsresol}`);
    }
    const snaplen = opts.snaplen ?? MAX_CAPLEN;
    const len = MIN_LEN.IDB + strOptLen(opts.name) + strOptLen(opts.description) + OPT_HEADER_LEN + 4 + OPT_HEADER_LEN;
    const o = this.out.reserve(len);
    const dv = this.out.dv;
    dv.setUint32(o + B.TYPE, BlockType.INTERFACE_DESCRIPTION, true);
    dv.setUint32(o + B.LEN, len, true);
    dv.setUint16(o + IDB.LINKTYPE, opts.linkType ?? LINKTYPE_ETHERNET, true);
    dv.setUint16(o + IDB.RESERVED, 0, true);
    dv.setUint32(o + IDB.SNAPLEN, snaplen, true);
    let p = o + IDB.OPTIONS;
    p = this.strOpt(p, Opt.IF_NAME, opts.name);
    p = this.strOpt(p, Opt.IF_DESCRIPTION, opts.description);
    dv.setUint16(p, Opt.IF_TSRESOL, true);
    dv.setUint16(p + 2, 1, true);
    dv.setUint32(p + 4, tsresol, true); // the value byte, then three zero padding bytes
    dv.setUint32(p + 8, 0, true); // opt_endofopt
    dv.setUint32(p + 12, len, true);
    this.out.pos = o + len;
    this.snaplens.push(snaplen);
    this.tickDivisors.push(POW10[9 - tsresol] as number);
    return this.snaplens.length - 1;
  }

  /**
   * One Enhanced Packet Block; `data` (cut to the interface's snaplen) and `comment` are copied
   * into the buffer before this returns. `flags` is epb_flags (EpbFlags), written when non-zero.
   */
  writePacket(
    interfaceId: number,
    tsNs: bigint,
    data: Uint8Array,
    origLen: number = data.length,
    comment?: string,
    flags = 0,
  ): void {
    const snaplen = this.snaplens[interfaceId];
    if (snaplen === undefined) throw new RangeError(`no interface ${interfaceId} was added`);
    const caplen = data.length < snaplen ? data.length : snaplen;
    let encoded: Uint8Array | undefined;
    if (comment !== undefined) {
      encoded = this.commentBytes.get(comment);
      if (encoded === undefined && this.commentBytes.size < COMMENT_CACHE_MAX) {
        encoded = Buffer.from(comment, "utf8");
        this.commentBytes.set(comment, encoded);
      }
    }
    const commentLen =
      comment === undefined ? 0 : encoded !== undefined ? encoded.length : Buffer.byteLength(comment, "utf8");
    if (commentLen > 0xffff) throw new RangeError("comment longer than 65535 bytes");
    let optLen = 0;
    if (comment !== undefined) optLen += OPT_HEADER_LEN + pad4(commentLen);
    if (flags !== 0) optLen += OPT_HEADER_LEN + 4;
    if (optLen !== 0) optLen += OPT_HEADER_LEN; // opt_endofopt
    const dataLen = pad4(caplen);
    const len = MIN_LEN.EPB + dataLen + optLen;
    const o = this.out.reserve(len);
    splitNs(tsNs);
    const div = this.tickDivisors[interfaceId] as number;
    if (div !== 1) divU64(div);
    const dv = this.out.dv;
    const buf = this.out.buf;
    dv.setUint32(o + B.TYPE, BlockType.ENHANCED_PACKET, true);
    dv.setUint32(o + B.LEN, len, true);
    dv.setUint32(o + EPB.IFACE, interfaceId, true);
    dv.setUint32(o + EPB.TS_HIGH, u64.hi, true);
    dv.setUint32(o + EPB.TS_LOW, u64.lo, true);
    dv.setUint32(o + EPB.CAPLEN, caplen, true);
    dv.setUint32(o + EPB.ORIG_LEN, origLen > caplen ? origLen : caplen, true);
    buf.set(caplen === data.length ? data : data.subarray(0, caplen), o + EPB.DATA);
    let p = o + EPB.DATA + caplen;
    while (p < o + EPB.DATA + dataLen) buf[p++] = 0;
    if (comment !== undefined) {
      dv.setUint16(p, Opt.COMMENT, true);
      dv.setUint16(p + 2, commentLen, true);
      if (encoded !== undefined) buf.set(encoded, p + OPT_HEADER_LEN);
      else buf.write(comment, p + OPT_HEADER_LEN, commentLen, "utf8");
      p += OPT_HEADER_LEN + commentLen;
      while (((p - o) & 3) !== 0) buf[p++] = 0;
    }
    if (flags !== 0) {
      dv.setUint16(p, Opt.EPB_FLAGS, true);
      dv.setUint16(p + 2, 4, true);
      dv.setUint32(p + 4, flags, true);
      p += 8;
    }
    if (optLen !== 0) {
      dv.setUint32(p, 0, true);
      p += 4;
    }
    dv.setUint32(p, len, true);
    this.out.pos = o + len;
  }

  /** Hands every whole block written so far to the sink. */
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

  /** A string option at `p` (nothing when `value` is undefined); returns where the next goes. */
  private strOpt(p: number, code: number, value: string | undefined): number {
    if (value === undefined) return p;
    const len = Buffer.byteLength(value, "utf8");
    if (len > 0xffff) throw new RangeError(`option ${code} longer than 65535 bytes`);
    this.out.dv.setUint16(p, code, true);
    this.out.dv.setUint16(p + 2, len, true);
    this.out.buf.write(value, p + OPT_HEADER_LEN, len, "utf8");
    const end = p + OPT_HEADER_LEN + pad4(len);
    this.out.buf.fill(0, p + OPT_HEADER_LEN + len, end);
    return end;
  }
}

function strOptLen(value: string | undefined): number {
  return value === undefined ? 0 : OPT_HEADER_LEN + pad4(Buffer.byteLength(value, "utf8"));
}

/** A pcapng writer onto a new file (created or truncated) at `path`. */
export function openPcapngFile(path: string, opts?: PcapngWriterOptions): PcapngWriter {
  return new PcapngWriter(new FdSink(openSync(path, "w")), opts);
}

/** A pcapng writer onto a Node Writable (a socket, a pipe, a file stream). */
export function pcapngToWritable(stream: Writable, opts?: PcapngWriterOptions): PcapngWriter {
  return new PcapngWriter(new WritableSink(stream), opts);
}

/** A pcapng writer that keeps the file in memory: `sink.bytes()` after close. */
export function pcapngToMemory(opts?: PcapngWriterOptions): PcapngWriter & { sink: MemorySink } {
  return new PcapngWriter(new MemorySink(), opts) as PcapngWriter & { sink: MemorySink };
}

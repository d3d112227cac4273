// What the pcap and pcapng readers and writers share: the packet record a reader returns, the
// byte sinks a writer streams into (a file descriptor, a Node Writable, memory), the reusable
// output buffer that batches whole records between flushes, and allocation-free arithmetic that
// turns a bigint nanosecond timestamp into the (seconds, fraction) or tick counts the formats
// store.
//
// Timestamps are bigint nanoseconds since 1970-01-01 UTC everywhere (reader records and writer
// arguments): exact for every resolution up to 1 ns, comparable with `<`, and printable as
// tshark's frame.time_epoch by formatTsEpoch().

import { closeSync, writeSync } from "node:fs";
import type { Writable } from "node:stream";

/** The largest caplen either reader accepts, as Wireshark and libpcap do (256 KiB). */
export const MAX_CAPLEN = 262144;

export interface CapturePacket {
  interfaceId: number; // pcapng: index of its IDB within its section; pcap: always 0
  linkType: number; // LINKTYPE_* of its interface (https://www.tcpdump.org/linktypes.html)
  /** Nanoseconds since the epoch; null for a pcapng Simple Packet Block, which has none. */
  ts: bigint | null;
  caplen: number; // bytes present in `data`
  origLen: number; // bytes on the wire; larger than caplen when the record was cut short
  /**
   * A subarray of the bytes given to the reader (no copy): valid for as long as the caller keeps
   * those bytes unchanged. Copy it before reusing or mutating the input buffer.
   */
  data: Uint8Array;
  comment?: string; // pcapng opt_comment (the first one, UTF-8)
  flags?: number; // pcapng epb_flags (direction, reception type, FCS length, errors)
  offset: number; // absolute file offset of the record or block
}

export interface CaptureInterface {
  id: number; // pcapng: index within its section; pcap: 0
  section: number; // pcapng: index of its Section Header Block; pcap: 0
  linkType: number;
  snaplen: number; // 0 = no limit (pcapng)
  name?: string; // if_name
  description?: string; // if_description
  /** Timestamp ticks per second: 10^n, or 2^n when if_tsresol has its high bit set. */
  ticksPerSecond: bigint;
  tsOffsetSeconds: bigint; // if_tsoffset, added to every timestamp
}

/** "1340954905.298858000": seconds and nine decimals, as tshark prints frame.time_epoch. */
export function formatTsEpoch(ts: bigint): string {
  const sec = ts / 1_000_000_000n;
  const ns = ts % 1_000_000_000n;
  return `${sec}.${ns.toString().padStart(9, "0")}`;
}

/** ticks (a u64 split in two u32 halves) at `ticksPerSecond`, plus an offset, as nanoseconds. */
export function ticksToNs(hi: number, lo: number, ticksPerSecond: bigint, offsetSeconds: bigint): bigint {
  const t = (BigInt(hi) << 32n) | BigInt(lo);
  // Whole seconds first, then the fraction, so no intermediate product overflows a u64 in
  // Wireshark's arithmetic, which this reproduces (it truncates, and so do we).
  const sec = t / ticksPerSecond;
  const frac = t % ticksPerSecond;
  return (sec + offsetSeconds) * 1_000_000_000n + (frac * 1_000_000_000n) / ticksPerSecond;
}

// --- allocation-free u64 arithmetic for the writers' per-packet path --------------------------

const SCRATCH = new DataView(new ArrayBuffer(8));
/** Results of splitNs() and divU64(), in module state so the per-packet path allocates nothing. */
export const u64 = { hi: 0, lo: 0, rem: 0 };

/** Splits a non-negative bigint below 2^64 into u64.hi and u64.lo. */
export function splitNs(ts: bigint): void {
  if (ts < 0n || ts > 0xffffffffffffffffn) throw new RangeError(`timestamp out of range: ${ts} ns`);
  SCRATCH.setBigUint64(0, ts);
  u64.hi = SCRATCH.getUint32(0);
  u64.lo = SCRATCH.getUint32(4);
}

/**
 * (u64.hi, u64.lo) / d in place, remainder in u64.rem; d < 2^31. Long division in 16-bit digits
 * keeps every intermediate below 2^47, where doubles are exact.
 */
export function divU64(d: number): void {
  let x = u64.hi >>> 16;
  const q3 = Math.floor(x / d);
  x = (x - q3 * d) * 65536 + (u64.hi & 0xffff);
  const q2 = Math.floor(x / d);
  x = (x - q2 * d) * 65536 + (u64.lo >>> 16);
  const q1 = Math.floor(x / d);
  x = (x - q1 * d) * 65536 + (u64.lo & 0xffff);
  const q0 = Math.floor(x / d);
  u64.rem = x - q0 * d;
  u64.hi = q3 * 65536 + q2;
  u64.lo = q1 * 65536 + q0;
}

// --- sinks -------------------------------------------------------------------------------------

/**
 * Where a writer's bytes go. write() receives the writer's own buffer, valid only during the
 * call (a sink that keeps the bytes must copy them), and throws on failure; end() completes the
 * output. An asynchronous sink reports a failure it learns of later through `failure`.
 */
export interface ByteSink {
  write(buf: Uint8Array, len: number): void;
  end(): Promise<void>;
  /** Whether end() finishes its work before returning (then closeSync() is allowed). */
  readonly sync: boolean;
  readonly failure: Error | null;
}

/** Writes straight to a file descriptor with writeSync; closes it on end() if it owns it. */
export class FdSink implements ByteSink {
  readonly sync = true;
  readonly failure: Error | null = null;
  constructor(
    readonly fd: number,
    private readonly ownsFd = true,
  ) {}
  write(buf: Uint8Array, len: number): void {
    // writeSync may write less than asked (a pipe, a signal): loop until all of it is out.
    for (let done = 0; done < len; ) done += writeSync(this.fd, buf, done, len - done);
  }
  end(): Promise<void> {
    if (this.ownsFd) closeSync(this.fd);
    return Promise.resolve();
  }
}

/** Keeps copies of everything written, for tests and tools: bytes() is the file so far. */
export class MemorySink implements ByteSink {
  readonly sync = true;
  readonly failure: Error | null = null;
  private chunks: Uint8Array[] = [];
  private total = 0;
  write(buf: Uint8Array, len: number): void {
    this.chunks.push(buf.slice(0, len)); // copies: `buf` is reused by the writer
    this.total += len;
  }
  end(): Promise<void> {
    return Promise.resolve();
  }
  /** A fresh copy of every byte written so far. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.total);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

/**
 * Hands each flushed batch (copied: the stream keeps it until written) to a Node Writable. The
 * first 'error' the stream emits is kept in `failure`; the writer throws it on its next call and
 * close() rejects with it. Backpressure is not applied: batches are few and bounded by the
 * writer's buffer size, and the emulator's own capture path uses FdSink.
 */
export class WritableSink implements ByteSink {
  readonly sync = false;
  failure: Error | null = null;
  constructor(private readonly stream: Writable) {
    stream.on("error", (err: Error) => {
      this.failure ??= err;
    });
  }
  write(buf: Uint8Array, len: number): void {
    if (this.failure) throw this.failure;
    this.stream.write(Buffer.from(buf.subarray(0, len)));
  }
  end(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.failure) {
        reject(this.failure);
        return;
      }
      this.stream.once("error", reject);
      this.stream.end(() => {
        if (this.failure) reject(this.failure);
        else resolve();
      });
    });
  }
}

// --- the reusable output buffer ----------------------------------------------------------------

export const OUT_BUFFER_LEN = 64 * 1024;

/**
 * Batches whole records in one reusable Buffer and hands it to the sink when the next record
 * would not fit, on flush() and on close. A record is always reserved in full before it is
 * written and flushed only once complete, so whatever reached the sink is a sequence of whole
 * records: if the process dies, the file is a valid (shorter) capture. A record larger than the
 * buffer grows it once (to the next power of two), rather than being split across flushes.
 */
export class OutBuffer {
  buf: Buffer;
  dv: DataView;
  pos = 0;
  private error: Error | null = null;
  private closed = false;

  constructor(
    private readonly sink: ByteSink,
    capacity = OUT_BUFFER_LEN,
  ) {
    this.buf = Buffer.alloc(capacity);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Makes room for `len` contiguous bytes at `pos`; throws an earlier or new write error. */
  reserve(len: number): number {
    this.check();
    if (this.pos + len > this.buf.length) {
      this.flush();
      if (len > this.buf.length) {
        let cap = this.buf.length;
        while (cap < len) cap *= 2;
        this.buf = Buffer.alloc(cap);
        this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
      }
    }
    return this.pos;
  }

  flush(): void {
    this.check();
    if (this.pos === 0) return;
    try {
      this.sink.write(this.buf, this.pos);
    } catch (err) {
      this.error = err instanceof Error ? err : new Error(String(err));
      throw this.error;
    }
    this.pos = 0;
  }

  /** Flushes, then completes the sink. Errors (now or reported earlier) reject. */
  async close(): Promise<void> {
    this.flush();
    this.closed = true;
    await this.sink.end();
  }

  /** For synchronous sinks: when this returns, the file is complete. */
  closeSync(): void {
    if (!this.sink.sync) throw new Error("closeSync() needs a synchronous sink; use close()");
    this.flush();
    this.closed = true;
    void this.sink.end();
  }

  private check(): void {
    if (this.closed) throw new Error("capture writer is closed");
    const err = this.error ?? this.sink.failure;
    if (err) {
      this.error = err;
      throw err;
    }
  }
}

/** Bytes of `n` rounded up to a multiple of 4 (pcapng pads every field to 32 bits). */
export function pad4(n: number): number {
  return (n + 3) & ~3;
}

// The pcap and pcapng writers: what they write is read back by our readers and, independently,
// by tshark 4.0 and capinfos, whose output must equal the packets the test wrote (the expected
// rows below are the test's own inputs, never bytes from our emitter). Also: streaming (whatever
// was flushed is a valid capture), buffer growth for large packets, and write errors.
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { readCaptureFile } from "../../src/io/capture.ts";
import { type FdSink, formatTsEpoch } from "../../src/io/common.ts";
import { openPcapFile, pcapToMemory, readPcap, type PcapResolution } from "../../src/io/pcap.ts";
import {
  EpbFlags,
  openPcapngFile,
  pcapngToMemory,
  pcapngToWritable,
  readPcapng,
  readPcapngFile,
} from "../../src/io/pcapng.ts";
import { expectNoGc, requireTool } from "../helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "offload-emu-io-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An Ethernet frame of `len` bytes: broadcast, from 02:00:00:00:00:01, EtherType 0x88b5 (local experimental). */
function frame(len: number, seed: number): Uint8Array {
  const f = new Uint8Array(len);
  f.fill(0xff, 0, 6);
  f.set([2, 0, 0, 0, 0, 1, 0x88, 0xb5], 6);
  for (let i = 14; i < len; i++) f[i] = (i * 7 + seed) & 0xff;
  return f;
}

/**
 * Wireshark's tools print this one line when run as root (as in CI containers); it is about the
 * user, not the file, so it is the only stderr text we accept.
 */
const ROOT_WARNING = 'Running as user "root" and group "root". This could be dangerous.\n';

function run(cmd: string, args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return { stdout: r.stdout, stderr: r.stderr.replace(ROOT_WARNING, ""), status: r.status };
}

/** tshark's per-frame fields, one array per frame; stderr must be empty and the exit code 0. */
function tsharkFields(file: string): string[][] {
  const r = run("tshark", [
    "-r",
    file,
    "-T",
    "fields",
    "-e",
    "frame.number",
    "-e",
    "frame.len",
    "-e",
    "frame.cap_len",
    "-e",
    "frame.interface_id",
    "-e",
    "frame.comment",
    "-e",
    "frame.time_epoch",
  ]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t"));
}

function capinfos(file: string): string {
  const r = run("capinfos", [file]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout;
}

// 2023-11-14T22:13:20.123456789Z and neighbours; the last digits show whether ns survive.
const T0 = 1_700_000_000_123_456_789n;

interface Sent {
  iface: number;
  ts: bigint;
  len: number;
  origLen: number;
  comment?: string;
  flags?: number;
}

describe.each(["us", "ns"] as const)("pcap writer, %s", (resolution: PcapResolution) => {
  const snaplen = 1600;
  const sent: Sent[] = [
    { iface: 0, ts: T0, len: 60, origLen: 60 },
    { iface: 0, ts: T0 + 1_000_000_001n, len: 1514, origLen: 1514 },
    { iface: 0, ts: T0 + 2_500_000_999n, len: 1514, origLen: 9000 }, // a cut-short record
    { iface: 0, ts: T0 + 3n, len: 2000, origLen: 2000 }, // longer than snaplen: cut to it
    { iface: 0, ts: 0n, len: 14, origLen: 14 }, // the epoch itself
  ];
  const unit = resolution === "ns" ? 1n : 1000n;
  const file = join(dir, `w-${resolution}.pcap`);
  const w = openPcapFile(file, { resolution, snaplen });
  sent.forEach((s, i) => w.writePacket(s.ts, frame(s.len, i), s.origLen));
  w.closeSync();
  const caplen = (s: Sent) => Math.min(s.len, snaplen);

  it("reads back what was written", () => {
    const r = readCaptureFile(file);
    expect(r.error).toBeUndefined();
    expect(r.format).toBe("pcap");
    expect(r.interfaces[0]).toMatchObject({ linkType: 1, snaplen });
    expect(r.packets.map((p) => [p.ts, p.caplen, p.origLen, p.linkType])).toEqual(
      sent.map((s) => [s.ts - (s.ts % unit), caplen(s), Math.max(s.origLen, caplen(s)), 1]),
    );
    r.packets.forEach((p, i) => expect(p.data).toEqual(frame(sent[i]!.len, i).subarray(0, caplen(sent[i]!))));
  });

  it("is the same in memory as on disk", () => {
    const m = pcapToMemory({ resolution, snaplen });
    sent.forEach((s, i) => m.writePacket(s.ts, frame(s.len, i), s.origLen));
    m.closeSync();
    expect(m.sink.bytes()).toEqual(new Uint8Array(readFileSync(file)));
  });

  describe.runIf(requireTool("tshark"))("tshark", () => {
    it("reads it without complaint and sees every field as written", () => {
      expect(tsharkFields(file)).toEqual(
        sent.map((s, i) => [
          String(i + 1),
          String(Math.max(s.origLen, caplen(s))),
          String(caplen(s)),
          "",
          "",
          formatTsEpoch(s.ts - (s.ts % unit)),
        ]),
      );
    });
    it("capinfos agrees on count, encapsulation and resolution", () => {
      const out = capinfos(file);
      expect(out).toMatch(
        new RegExp(`File type:\\s+Wireshark/tcpdump/\\.\\.\\. - ${resolution === "ns" ? "nanosecond " : ""}pcap\n`),
      );
      expect(out).toMatch(/File encapsulation:\s+Ethernet/);
      expect(out).toMatch(/Number of packets:\s+5\n/);
      expect(out).toMatch(new RegExp(`File timestamp precision:\\s+${resolution === "ns" ? "nano" : "micro"}seconds`));
    });
  });
});

describe("pcapng writer: three interfaces, comments, both resolutions", () => {
  const file = join(dir, "w.pcapng");
  const w = openPcapngFile(file);
  const ifaces = [
    w.addInterface({ name: "vf0_rep", description: "representor of VF 0", tsresol: 9 }),
    w.addInterface({ name: "uplink", description: "PF uplink p0", tsresol: 6 }),
  ];
  const sent: Sent[] = [
    { iface: 0, ts: T0, len: 60, origLen: 60, comment: "tier=nic-l1 exact-match" },
    { iface: 1, ts: T0 + 1n, len: 1514, origLen: 1514, comment: "tier=host-kernel megaflow", flags: EpbFlags.INBOUND },
    { iface: 0, ts: T0 + 2n, len: 61, origLen: 61 },
    { iface: 1, ts: T0 + 999_999n, len: 62, origLen: 62, comment: "tier=slow-path upcall → installé" }, // UTF-8
    { iface: 0, ts: T0 + 4n, len: 63, origLen: 63, comment: "abc" }, // comment lengths 1..4 mod 4
    { iface: 0, ts: T0 + 5n, len: 64, origLen: 64, comment: "abcd" },
  ];
  sent.forEach((s, i) => w.writePacket(s.iface, s.ts, frame(s.len, i), s.origLen, s.comment, s.flags));
  // An interface described after packets were written, with a small snaplen.
  ifaces.push(w.addInterface({ name: "vf1", tsresol: 9, snaplen: 100 }));
  const later: Sent[] = [
    { iface: 2, ts: T0 + 7n, len: 300, origLen: 300, comment: "ab", flags: EpbFlags.OUTBOUND },
    { iface: 0, ts: T0 + 8n, len: 65, origLen: 1500, comment: "a" },
  ];
  later.forEach((s, i) => w.writePacket(s.iface, s.ts, frame(s.len, 100 + i), s.origLen, s.comment, s.flags));
  w.closeSync();
  const all = [...sent, ...later];
  const snap = [262144, 262144, 100];
  const unit = [1n, 1000n, 1n];
  const caplen = (s: Sent) => Math.min(s.len, snap[s.iface]!);
  const tsOf = (s: Sent) => s.ts - (s.ts % unit[s.iface]!);

  it("reads back what was written", () => {
    const r = readPcapngFile(file);
    expect(r.error).toBeUndefined();
    expect(r.sections).toMatchObject([{ littleEndian: true, versionMajor: 1, userAppl: "offload-emu" }]);
    expect(r.interfaces.map((i) => [i.id, i.name, i.description, i.snaplen, i.ticksPerSecond])).toEqual([
      [0, "vf0_rep", "representor of VF 0", 262144, 1_000_000_000n],
      [1, "uplink", "PF uplink p0", 262144, 1_000_000n],
      [2, "vf1", undefined, 100, 1_000_000_000n],
    ]);
    expect(r.packets.map((p) => [p.interfaceId, p.ts, p.caplen, p.origLen, p.comment, p.flags])).toEqual(
      all.map((s) => [s.iface, tsOf(s), caplen(s), s.origLen, s.comment, s.flags]),
    );
    r.packets.forEach((p, i) => {
      const seed = i < sent.length ? i : 100 + i - sent.length;
      expect(p.data).toEqual(frame(all[i]!.len, seed).subarray(0, caplen(all[i]!)));
    });
    expect(ifaces).toEqual([0, 1, 2]);
  });

  describe.runIf(requireTool("tshark"))("tshark", () => {
    it("reads it without complaint and sees every field as written", () => {
      expect(tsharkFields(file)).toEqual(
        all.map((s, i) => [
          String(i + 1),
          String(s.origLen),
          String(caplen(s)),
          String(s.iface),
          s.comment ?? "",
          formatTsEpoch(tsOf(s)),
        ]),
      );
    });
    it("capinfos agrees on count, interfaces and the application", () => {
      const out = capinfos(file);
      expect(out).toMatch(/File type:\s+Wireshark\/\.\.\. - pcapng/);
      expect(out).toMatch(/Number of packets:\s+8\n/);
      expect(out).toMatch(/Capture application:\s+offload-emu/);
      expect(out).toMatch(/Number of interfaces in file: 3/);
      expect(out).toMatch(/Name = vf0_rep[\s\S]*Name = uplink[\s\S]*Name = vf1/);
    });
  });
});

describe("streaming", () => {
  it("leaves a valid capture of whole blocks on disk at every flush, before close", () => {
    const file = join(dir, "stream.pcapng");
    const w = openPcapngFile(file);
    w.addInterface({ name: "p0" });
    w.writePacket(0, T0, frame(1500, 0), 1500, "tier=xdp");
    expect(statSync(file).size).toBe(0); // batched, not yet flushed
    w.flush();
    expect(readPcapngFile(file)).toMatchObject({ packets: { length: 1 } });
    // ~120 KiB more without an explicit flush: the 64 KiB buffer flushes itself, whole blocks only.
    for (let i = 1; i <= 80; i++) w.writePacket(0, T0 + BigInt(i), frame(1500, i), 1500, "tier=xdp");
    const mid = readPcapngFile(file);
    expect(mid.error).toBeUndefined();
    expect(mid.packets.length).toBeGreaterThan(1);
    expect(mid.packets.length).toBeLessThan(81);
    w.closeSync();
    const done = readPcapngFile(file);
    expect(done.error).toBeUndefined();
    expect(done.packets).toHaveLength(81);
  });

  it("writes a packet larger than its buffer whole (the buffer grows)", () => {
    const m = pcapngToMemory();
    m.addInterface();
    m.writePacket(0, T0, frame(200_000, 1));
    m.writePacket(0, T0, frame(262_144, 2));
    m.closeSync();
    const r = readPcapng(m.sink.bytes());
    expect(r.error).toBeUndefined();
    expect(r.packets.map((p) => p.caplen)).toEqual([200_000, 262_144]);
    expect(Buffer.from(r.packets[1]!.data).equals(frame(262_144, 2))).toBe(true);
  });

  it("streams to a Node Writable and resolves close() when it has finished", async () => {
    const chunks: Buffer[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    });
    const w = pcapngToWritable(stream);
    w.addInterface({ name: "tap0" });
    w.writePacket(0, T0, frame(64, 0), 64, "tier=nic-l2 masked");
    await w.close();
    const r = readPcapng(new Uint8Array(Buffer.concat(chunks)));
    expect(r.error).toBeUndefined();
    expect(r.packets.map((p) => p.comment)).toEqual(["tier=nic-l2 masked"]);
  });
});

describe("write errors are reported, never swallowed", () => {
  it("/dev/full: the flushing call throws ENOSPC, later calls throw it again, close() rejects", async () => {
    const w = openPcapngFile("/dev/full");
    w.addInterface();
    let thrown: unknown;
    try {
      for (let i = 0; i < 100; i++) w.writePacket(0, T0, frame(1500, i));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: "ENOSPC" });
    expect(() => w.writePacket(0, T0, frame(60, 0))).toThrow(thrown as Error);
    await expect(w.close()).rejects.toBe(thrown);
  });

  it("a closed file descriptor: flush() throws EBADF", () => {
    const w = openPcapFile(join(dir, "closed.pcap"));
    closeSync((w.sink as FdSink).fd);
    w.writePacket(T0, frame(60, 0));
    expect(() => w.flush()).toThrow(expect.objectContaining({ code: "EBADF" }) as unknown as Error);
  });

  it("a Writable that fails: the next call throws its error and close() rejects", async () => {
    const fire = new Error("disk on fire");
    const stream = new Writable({
      write(_chunk, _enc, cb) {
        cb(fire);
      },
    });
    const w = pcapngToWritable(stream);
    w.addInterface();
    w.flush();
    await new Promise((resolve) => setImmediate(resolve));
    expect(() => w.writePacket(0, T0, frame(60, 0))).toThrow(fire);
    await expect(w.close()).rejects.toBe(fire);
  });

  it("rejects timestamps a format cannot hold and unknown interfaces", () => {
    const p = pcapToMemory();
    expect(() => p.writePacket(-1n, frame(60, 0))).toThrow(RangeError);
    expect(() => p.writePacket((1n << 32n) * 1_000_000_000n, frame(60, 0))).toThrow(RangeError);
    const n = pcapngToMemory();
    expect(() => n.writePacket(0, T0, frame(60, 0))).toThrow(RangeError);
    expect(() => n.addInterface({ tsresol: 12 })).toThrow(RangeError);
    p.closeSync();
    expect(readPcap(p.sink.bytes())).toMatchObject({ packets: [] });
    expect(readPcap(p.sink.bytes()).error).toBeUndefined();
  });
});

describe("the per-packet write path allocates nothing", () => {
  it("runs 3 million writes to /dev/null without a garbage collection", async () => {
    // Why counting collections shows an allocation: expectNoGc (test/helpers.ts). The warm-up
    // also fills the comment cache.
    const w = openPcapngFile("/dev/null");
    w.addInterface({ name: "p0" });
    const p = openPcapFile("/dev/null", { resolution: "us" });
    const f = frame(64, 0);
    const tiers = ["tier=nic-l1", "tier=host-kernel"];
    const loop = (n: number) => {
      for (let i = 0; i < n; i++) {
        w.writePacket(0, T0, f, 64, tiers[i & 1], EpbFlags.INBOUND);
        p.writePacket(T0, f);
      }
    };
    await expectNoGc(loop, { warmup: 100_000, iterations: 1_500_000 });
    w.closeSync();
    p.closeSync();
  });
});

// Capture write throughput: pcapng (Enhanced Packet Blocks, with and without a tier comment)
// against classic pcap, for 64-byte and 1500-byte Ethernet frames, written through the
// synchronous file writers the emulator uses (64 KiB buffer, writeSync) to a file in
// os.tmpdir(). Each figure is the median of 5 runs after one warm-up run; MB/s counts the bytes
// of the finished file (10^6 bytes per MB), and a run's time spans open to closeSync().
//
//   npx tsx scripts/bench-pcapng.ts
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPcapFile } from "../src/io/pcap.ts";
import { openPcapngFile } from "../src/io/pcapng.ts";

const RUNS = 5;
const COMMENT = "tier=nic-l1 exact-match";
const dir = mkdtempSync(join(tmpdir(), "bench-pcapng-"));

// Timestamps made up front, so the loop measures the writer and not BigInt arithmetic.
const T0 = 1_700_000_000_000_000_000n;
const TS: bigint[] = Array.from({ length: 1024 }, (_, i) => T0 + BigInt(i) * 1_234n);

interface Case {
  format: "pcapng" | "pcap";
  size: number;
  comment: boolean;
  packets: number;
}

function runOnce(c: Case, file: string): { seconds: number; bytes: number } {
  const frame = new Uint8Array(c.size).fill(0x5a);
  const start = process.hrtime.bigint();
  if (c.format === "pcapng") {
    const w = openPcapngFile(file);
    w.addInterface({ name: "p0" });
    const comment = c.comment ? COMMENT : undefined;
    for (let i = 0; i < c.packets; i++) w.writePacket(0, TS[i & 1023] as bigint, frame, c.size, comment);
    w.closeSync();
  } else {
    const w = openPcapFile(file, { resolution: "ns" });
    for (let i = 0; i < c.packets; i++) w.writePacket(TS[i & 1023] as bigint, frame, c.size);
    w.closeSync();
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const bytes = statSync(file).size;
  rmSync(file);
  return { seconds, bytes };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const cases: Case[] = [];
for (const size of [64, 1500]) {
  const packets = size === 64 ? 500_000 : 100_000;
  cases.push({ format: "pcapng", size, comment: false, packets });
  cases.push({ format: "pcapng", size, comment: true, packets });
  cases.push({ format: "pcap", size, comment: false, packets });
}

console.log(`capture write throughput, median of ${RUNS} runs, file in ${tmpdir()}, node ${process.version}`);
console.log("format   frame  comment  packets    Mpkt/s   MB/s (file)  file bytes/pkt");
for (const c of cases) {
  const file = join(dir, `bench.${c.format}`);
  runOnce(c, file); // warm-up: JIT and page cache
  const runs = Array.from({ length: RUNS }, () => runOnce(c, file));
  const secs = median(runs.map((r) => r.seconds));
  const bytes = runs[0]!.bytes;
  console.log(
    `${c.format.padEnd(8)} ${String(c.size).padStart(5)}  ${(c.comment ? "yes" : "no").padEnd(7)}  ${String(c.packets).padStart(7)}` +
      `  ${(c.packets / secs / 1e6).toFixed(2).padStart(8)}  ${(bytes / secs / 1e6).toFixed(0).padStart(11)}` +
      `  ${(bytes / c.packets).toFixed(1).padStart(14)}`,
  );
}
rmSync(dir, { recursive: true });

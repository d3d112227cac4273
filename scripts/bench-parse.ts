// Hot-path parse throughput: PacketParser.parse() (validate + offsets, following one tunnel)
// against a bare DataView walk that validates nothing, and against tshark and tcpdump reading
// the same packets from a file, in the same run. Packets are real frames from the public
// conformance captures: "vxlan" is every frame of ndpi__vxlan.pcap (802.1Q + VXLAN + inner
// TCP/UDP), "mixed" every Ethernet frame of every capture there (tunnels, IPv6 extension headers,
// QinQ, fragments, malformed frames).
//
//   npx tsx scripts/bench-parse.ts [--runs N] [--tools]
//
// Prints medians of N runs (default 7) in packets/s and the ratio to the bare walk.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readCaptureFile } from "../src/io/capture.ts";
import { openPcapFile } from "../src/io/pcap.ts";
import { PacketParser } from "../src/wire/parse.ts";
import { newOffsets } from "../src/wire/offsets.ts";
import { captureFiles, capturePath } from "../test/conformance/tsv.ts";

const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf("--runs") + 1]) || 7;
const TOOLS = args.includes("--tools");

/** All frames copied back to back into one buffer, as they would sit in a packet pool. */
function pool(frames: Uint8Array[]) {
  const total = frames.reduce((n, f) => n + f.length, 0);
  const bytes = new Uint8Array(total);
  const start = new Int32Array(frames.length);
  const len = new Int32Array(frames.length);
  let off = 0;
  frames.forEach((f, i) => {
    bytes.set(f, off);
    start[i] = off;
    len[i] = f.length;
    off += f.length;
  });
  return { dv: new DataView(bytes.buffer), start, len, n: frames.length };
}

/** The floor: find each layer with no validation at all, recording the same offsets. */
function bareWalk(dv: DataView, start: number, len: number, o: Int32Array): void {
  let p = start;
  const end = start + len;
  let type = dv.getUint16(p + 12);
  p += 14;
  while ((type === 0x8100 || type === 0x88a8) && p + 4 <= end) {
    type = dv.getUint16(p + 2);
    p += 4;
  }
  o[0] = p;
  if (type !== 0x0800 || p + 20 > end) return;
  const proto = dv.getUint8(p + 9);
  p += (dv.getUint8(p) & 15) * 4;
  o[1] = p;
  if (proto !== 17 || p + 8 > end) return;
  if (dv.getUint16(p + 2) !== 4789) return;
  p += 16;
  o[2] = p;
  if (p + 14 > end) return;
  type = dv.getUint16(p + 12);
  p += 14;
  o[3] = p;
  if (type !== 0x0800 || p + 20 > end) return;
  o[4] = p + (dv.getUint8(p) & 15) * 4;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function rate(fn: () => void, packets: number): number {
  const t0 = process.hrtime.bigint();
  fn();
  return packets / (Number(process.hrtime.bigint() - t0) / 1e9);
}

function measure(name: string, frames: Uint8Array[]) {
  const { dv, start, len, n } = pool(frames);
  const parser = new PacketParser();
  const o = newOffsets();
  const reps = Math.max(1, Math.ceil(2_000_000 / n));
  const ours = () => {
    for (let r = 0; r < reps; r++)
      for (let i = 0; i < n; i++) parser.parse(dv, start[i] as number, len[i] as number, o);
  };
  const bare = () => {
    for (let r = 0; r < reps; r++) for (let i = 0; i < n; i++) bareWalk(dv, start[i] as number, len[i] as number, o);
  };
  ours();
  bare(); // warm up
  const a: number[] = [];
  const b: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    a.push(rate(ours, reps * n));
    b.push(rate(bare, reps * n));
  }
  return { name, n, ours: median(a), bare: median(b) };
}

function toolRate(frames: Uint8Array[], cmd: string, argv: (file: string) => string[]): number {
  const dir = mkdtempSync(join(tmpdir(), "bench-parse-"));
  try {
    const file = join(dir, "w.pcap");
    const w = openPcapFile(file, { resolution: "us" });
    const total = 100_000;
    for (let i = 0; i < total; i++) w.writePacket(BigInt(i) * 1000n, frames[i % frames.length] as Uint8Array);
    w.closeSync();
    const rates: number[] = [];
    for (let k = 0; k < 3; k++) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(cmd, argv(file), { stdio: ["ignore", "ignore", "ignore"] });
      if (r.error) throw r.error;
      rates.push(total / (Number(process.hrtime.bigint() - t0) / 1e9));
    }
    return median(rates);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const all = captureFiles().flatMap((f) =>
  readCaptureFile(capturePath(f))
    .packets.filter((p) => p.linkType === 1)
    .map((p) => p.data),
);
const vxlan = readCaptureFile(capturePath("ndpi__vxlan.pcap")).packets.map((p) => p.data);

const fmt = (x: number) => `${(x / 1e6).toFixed(2)} M/s`;
console.log(`node ${process.version}, ${RUNS} runs, medians`);
for (const r of [measure("vxlan", vxlan), measure("mixed", all)]) {
  console.log(
    `${r.name.padEnd(6)} ${String(r.n).padStart(4)} frames  parser ${fmt(r.ours)}  bare walk ${fmt(r.bare)}  ratio ${(r.ours / r.bare).toFixed(2)}`,
  );
  if (TOOLS) {
    const frames = r.name === "vxlan" ? vxlan : all;
    const has = (c: string) => {
      try {
        execFileSync("sh", ["-c", `command -v ${c}`]);
        return true;
      } catch {
        return false;
      }
    };
    if (has("tshark")) {
      const t = toolRate(frames, "tshark", (f) => [
        "-n",
        "-r",
        f,
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "ip.src",
        "-e",
        "udp.dstport",
        "-e",
        "vxlan.vni",
      ]);
      console.log(`${"".padEnd(6)}       tshark -T fields ${fmt(t)}  (parser is ${(r.ours / t).toFixed(0)}x)`);
    }
    if (has("tcpdump")) {
      const t = toolRate(frames, "tcpdump", (f) => ["-nn", "-v", "-r", f]);
      console.log(`${"".padEnd(6)}       tcpdump -nn -v   ${fmt(t)}  (parser is ${(r.ours / t).toFixed(0)}x)`);
    }
  }
}

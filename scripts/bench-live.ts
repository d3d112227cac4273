// Frames per second through the live ports, round trip: a frame leaves one driver and comes back
// into it. For links, a second driver of the same type in this process echoes each frame back
// (dgram, stream over TCP, stream over a UNIX socket); for TAP, the frame is written to one TAP
// device, crosses a Linux bridge in a private network namespace and is read from a second TAP
// (needs root and the addon; skipped with the reason otherwise). No emulated switch is involved:
// these are the edge costs a live port adds.
//
// Two figures per port, medians of 5 runs:
//   window 64: up to 64 frames in flight, each arrival sends the next (throughput, frames/s)
//   ping-pong: one frame in flight (latency, µs per round trip)
//
//   npx tsx scripts/bench-live.ts [frame bytes, default 64]

import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PortDriver, PortDriverContext } from "../src/ports/port-driver.ts";
import { DgramPort } from "../src/ports/dgram.ts";
import { StreamPort } from "../src/ports/stream.ts";
import { TapPort, tapAddon } from "../src/ports/tap.ts";

const FRAME_BYTES = Number(process.argv[2] ?? 64);
const RUN_MS = 500;
const RUNS = 5;

const frame = new Uint8Array(FRAME_BYTES);
for (let i = 0; i < FRAME_BYTES; i++) frame[i] = i & 0xff;
frame.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5]); // unicast MACs, local experimental EtherType

interface Pair {
  a: PortDriver;
  setOnA(f: () => void): void;
  close(): Promise<void>;
}

function ctx(name: string, onFrame: (f: Uint8Array) => void): PortDriverContext {
  return {
    name,
    receive: onFrame,
    fail: (e) => {
      throw new Error(`${name}: ${e}`);
    },
    recover: () => {},
    log: () => {},
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Builds A and an echoing B of one kind; resolves once they can talk. */
async function linkPair(kind: "dgram" | "tcp" | "unix", port: number): Promise<Pair> {
  let onA: () => void = () => {};
  let b: PortDriver | null = null;
  const ctxA = ctx("a", () => onA());
  const ctxB = ctx("b", (f) => b?.send(f));
  let a: PortDriver;
  if (kind === "dgram") {
    a = new DgramPort(
      { local: { kind: "udp", host: "127.0.0.1", port }, remote: { kind: "udp", host: "127.0.0.1", port: port + 1 } },
      ctxA,
    );
    b = new DgramPort(
      { local: { kind: "udp", host: "127.0.0.1", port: port + 1 }, remote: { kind: "udp", host: "127.0.0.1", port } },
      ctxB,
    );
  } else {
    const ep =
      kind === "tcp"
        ? { kind: "tcp" as const, host: "127.0.0.1", port }
        : { kind: "unix" as const, path: join(tmpdir(), `bench-live-${process.pid}.sock`) };
    b = new StreamPort({ mode: "listen", endpoint: ep, reconnectS: 0 }, ctxB);
    await sleep(50);
    a = new StreamPort({ mode: "connect", endpoint: ep, reconnectS: 0 }, ctxA);
  }
  await sleep(100);
  const bb = b;
  return {
    a,
    setOnA: (f) => {
      onA = f;
    },
    close: async () => {
      await a.close();
      await bb.close();
    },
  };
}

/** Two TAPs in one Linux bridge inside a private namespace: what A writes, the other TAP reads. */
async function tapPair(): Promise<Pair | string> {
  const addon = tapAddon();
  if (typeof addon === "string") return addon;
  if (process.getuid?.() !== 0) return "needs root";
  const ns = `oe-bench-${process.pid}`;
  const t1 = `oeb${process.pid % 100000}a`;
  const t2 = `oeb${process.pid % 100000}b`;
  let onA: () => void = () => {};
  const a = new TapPort(
    addon,
    t1,
    ctx("a", () => {}),
  );
  const b = new TapPort(
    addon,
    t2,
    ctx("b", () => onA()),
  );
  const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
  try {
    ip("netns", "add", ns);
    ip("link", "set", t1, "netns", ns);
    ip("link", "set", t2, "netns", ns);
    ip("-n", ns, "link", "add", "oebr", "type", "bridge", "ageing_time", "0"); // flood: no learning needed
    for (const t of [t1, t2]) {
      ip("-n", ns, "link", "set", t, "master", "oebr");
      ip("-n", ns, "link", "set", t, "up");
    }
    ip("-n", ns, "link", "set", "oebr", "up");
  } catch (e) {
    a.close();
    b.close();
    try {
      ip("netns", "del", ns);
    } catch {
      /* never made */
    }
    return `ip failed: ${(e as { stderr?: Buffer }).stderr?.toString().trim() ?? String(e)}`;
  }
  await sleep(200);
  return {
    a,
    setOnA: (f) => {
      onA = f;
    },
    close: async () => {
      a.close();
      b.close();
      try {
        ip("netns", "del", ns);
      } catch {
        /* gone */
      }
    },
  };
}

/** One run: frames back per second with `window` in flight. */
async function run(p: Pair, window: number): Promise<number> {
  let back = 0;
  let stop = false;
  p.setOnA(() => {
    back++;
    if (!stop) p.a.send(frame);
  });
  const t0 = performance.now();
  for (let i = 0; i < window; i++) p.a.send(frame);
  await sleep(RUN_MS);
  stop = true;
  const dt = performance.now() - t0;
  await sleep(50); // let the frames in flight land before the next run
  return (back / dt) * 1000;
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;

async function bench(name: string, make: () => Promise<Pair | string>): Promise<void> {
  const p = await make();
  if (typeof p === "string") {
    console.log(`${name.padEnd(22)} skipped: ${p}`);
    return;
  }
  try {
    await run(p, 64); // warm-up
    const win: number[] = [];
    const pp: number[] = [];
    for (let i = 0; i < RUNS; i++) win.push(await run(p, 64));
    for (let i = 0; i < RUNS; i++) pp.push(await run(p, 1));
    const w = median(win);
    const q = median(pp);
    console.log(
      `${name.padEnd(22)} window 64: ${Math.round(w).toLocaleString("en-US").padStart(9)} frames/s   ping-pong: ${Math.round(q).toLocaleString("en-US").padStart(7)} round trips/s (${(1e6 / q).toFixed(1)} µs)`,
    );
  } finally {
    await p.close();
  }
}

const base = 30000 + (process.pid % 10000) * 2;
console.log(
  `live ports, ${FRAME_BYTES}-byte frames, round trip, median of ${RUNS} runs of ${RUN_MS} ms (node ${process.version})`,
);
await bench("dgram (UDP loopback)", () => linkPair("dgram", base));
await bench("stream tcp (loopback)", () => linkPair("tcp", base + 2));
await bench("stream unix", () => linkPair("unix", 0));
await bench("tap (kernel bridge)", tapPair);
process.exit(0);

// Benchmarks for the per-packet flow path: parse (src/wire/parse.ts) + extract (src/flow/extract.ts)
// on a 64-byte UDP frame and on a VXLAN frame (both stacks and the tunnel metadata), and the
// datapath actions executor (src/dp/execute.ts) for set(ipv4(ttl)) and push_vlan. Run with
// `npx tsx scripts/bench-extract.ts` (`--quick` for fewer runs). Prints packets per second, the
// median of several runs; the machine is shared, so read the figures as orders of magnitude.

import { hex } from "../src/wire/bytes.ts";
import { PacketParser } from "../src/wire/parse.ts";
import { INNER, OUTER, newOffsets } from "../src/wire/offsets.ts";
import { PacketPool } from "../src/dp/pool.ts";
import { FlowExtractor } from "../src/flow/extract.ts";
import { newFlowKey, W } from "../src/flow/key.ts";
import { ActionExecutor, compileActions } from "../src/dp/execute.ts";
import { parseOdpActions } from "../src/flow/odp.ts";

const QUICK = process.argv.includes("--quick");
const RUNS = QUICK ? 3 : 7;
const N = QUICK ? 300_000 : 2_000_000;

// 64 bytes on the wire with the FCS (60 here): Ethernet 52:54:00:00:00:01 -> :02, IPv4
// 192.0.2.1 -> 198.51.100.2 (total length 46, DF, TTL 64, header checksum 0x3c54), UDP 40000 -> 9
// (discard; length 26, no checksum), 18 bytes 00..11. tshark 4.0 with ip.check_checksum and
// udp.check_checksum on reads it with no expert info and nothing malformed (port 53 made it
// dissect the payload as a malformed DNS message). The frame this replaced was 61 bytes with a
// total length of 50, so the parse baseline timed a failed parse.
const UDP64 = hex(
  "52540000000252540000000108004500002e1234400040113c54c0000201c63364029c400009001a0000" +
    "000102030405060708090a0b0c0d0e0f1011",
);
// VXLAN (VNI 5001) from 192.0.2.2 carrying an ICMP echo reply 10.0.1.7 -> 10.0.0.1 (98 bytes).
const VXLAN = hex(
  "aa55aa550001aabbcc00000208004500005e000140004011b68ac0000202c0000201823512b5004aaca7" +
    "080000000013890050540000000150540000000708004500002c00010000400165c90a0001070a00000100003c3c" +
    "0000000078787878787878787878787878787878",
);

let sink = 0;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

function measure(name: string, fn: (n: number) => number): void {
  sink ^= fn(N / 10); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    sink ^= fn(N);
    rates.push(N / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  console.log(`${name.padEnd(44)} ${(median(rates) / 1e6).toFixed(2).padStart(7)} Mpps`);
}

const pool = new PacketPool(4);
const parser = new PacketParser();
const x = new FlowExtractor();
const key = newFlowKey();
const o = newOffsets();
const udpSlot = pool.load(UDP64);
const vxSlot = pool.load(VXLAN);
const dv = pool.dv;
// The baselines must time a successful parse of the whole frame.
if (!parser.parse(dv, pool.start[udpSlot] as number, UDP64.length, o)) throw new Error("UDP64 does not parse");
if (!parser.parse(dv, pool.start[vxSlot] as number, VXLAN.length, o)) throw new Error("VXLAN does not parse");

measure("parse only, 64-byte UDP", (n) => {
  const s = pool.start[udpSlot] as number;
  for (let i = 0; i < n; i++) parser.parse(dv, s, UDP64.length, o);
  return o[OUTER + 9] as number;
});
measure("parse + extract, 64-byte UDP", (n) => {
  const s = pool.start[udpSlot] as number;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    parser.parse(dv, s, UDP64.length, o);
    x.extract(dv, o, OUTER, 1, key);
    acc ^= key[W.TP] as number;
  }
  return acc;
});
measure("parse + extract outer + inner + tunnel, VXLAN", (n) => {
  const s = pool.start[vxSlot] as number;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    parser.parse(dv, s, VXLAN.length, o);
    x.extract(dv, o, OUTER, 1, key);
    acc ^= key[W.TP] as number;
    x.extract(dv, o, INNER, 4789, key);
    x.extractTunnel(dv, o, key);
    acc ^= key[W.TUN_ID_LO] as number;
  }
  return acc;
});

// The executor hands the slot to the output callback; the callback keeps it, so one slot serves
// every iteration (push_vlan is followed by resetting the start, as a fresh receive would).
let outs = 0;
const ex = new ActionExecutor(pool, () => {
  outs++;
});
const ttl = compileActions(parseOdpActions("set(ipv4(ttl=9)),2"));
const ttlDec = compileActions(parseOdpActions("set(ipv4(ttl=8)),2"));
const push = compileActions(parseOdpActions("push_vlan(vid=100,pcp=5),2"));
parser.parse(dv, pool.start[udpSlot] as number, UDP64.length, o);
measure("execute set(ipv4(ttl)),output, 64-byte UDP", (n) => {
  for (let i = 0; i < n; i++) ex.execute(i & 1 ? ttl : ttlDec, udpSlot, o);
  return outs;
});
const s0 = pool.start[udpSlot] as number;
const o0 = o.slice();
measure("execute push_vlan,output, 64-byte UDP", (n) => {
  for (let i = 0; i < n; i++) {
    ex.execute(push, udpSlot, o);
    pool.start[udpSlot] = s0;
    pool.len[udpSlot] = UDP64.length;
    pool.origLen[udpSlot] = UDP64.length;
    o.set(o0);
  }
  return outs;
});

if (sink === 0.5) console.log(sink);

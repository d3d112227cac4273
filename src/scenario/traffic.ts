// Traffic generators on the virtual clock. Each generator is a sequence of (time, frame) in time
// order; the runner merges them. Everything is seeded, so the same scenario and seed give the
// same packets in the same order at the same times.
//
// A generated flow is a 5-tuple. With `lifetime`, flow slot i is re-drawn every `lifetime` ms
// (slots staggered so that they do not all change at once): that is how "many short flows"
// look to a flow cache — a steady stream of new 5-tuples, each needing a setup. Flows are told
// apart by source port first, then source address, then destination address, so the number of
// distinct flows is limited only by the pools given.
//
// Frames are built once per size as templates; a packet is its template with the flow's addresses
// and ports written in and the checksums adjusted incrementally (RFC 1624), in a buffer kept per
// size — no allocation per packet, and no per-flow state however many short flows come and go.
// The writes go through the header views of src/wire/, one of each per generator, re-pointed at
// the packet's buffer with wrap(): their setters keep the checksums right.

import { buildPacket, type LayerSpec } from "../wire/build.ts";
import { ipv4FromString, viewOf } from "../wire/bytes.ts";
import { ARP_HEADER_LEN, ArpView } from "../wire/arp.ts";
import { ETHERNET_HEADER_LEN } from "../wire/ethernet.ts";
import { IPV4_HEADER_LEN, Ipv4View } from "../wire/ipv4.ts";
import { UDP_HEADER_LEN, UdpView } from "../wire/udp.ts";
import { TCP_HEADER_LEN, TcpView } from "../wire/tcp.ts";
import { ICMP_HEADER_LEN, IcmpView } from "../wire/icmp.ts";
import { readCaptureFile } from "../io/capture.ts";
import { ScenarioError, avgSize, type GeneratedTraffic, type ReplayTraffic, type Traffic } from "./load.ts";

export interface Generator {
  readonly spec: Traffic;
  /** Virtual time of the next packet, ms from the run's start; Infinity once done. */
  readonly nextMs: number;
  /** The next packet's frame: valid until advance(). */
  frame(): Uint8Array;
  advance(): void;
  sent: number;
}

/** mulberry32: a small seeded generator with good enough statistics for traffic draws. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** Seed for generator `index` of a scenario: distinct streams from one scenario seed. */
function streamSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
}

/** Cumulative Zipf(s) weights over ranks 1..n, for draws by binary search. */
function zipfCdf(n: number, s: number): Float64Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += 1 / (i + 1) ** s;
    cdf[i] = sum;
  }
  for (let i = 0; i < n; i++) cdf[i] = (cdf[i] as number) / sum;
  return cdf;
}

function search(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cdf[mid] as number) < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Outer headers of tunnelled traffic: Ethernet, IPv4, UDP and VXLAN/GENEVE (8, no options); or GRE with a key (8). */
const UDP_TUNNEL_OUTER = 14 + 20 + 8 + 8;
const NVGRE_OUTER = 14 + 20 + 8;
/** Where the outer UDP header of a UDP tunnel starts. */
const OUTER_UDP = ETHERNET_HEADER_LEN + IPV4_HEADER_LEN;

class FlowGenerator implements Generator {
  nextMs: number;
  sent = 0;
  private j = 0; // packets emitted so far
  private readonly intervalMs: number;
  private readonly rng: Rng;
  private readonly cdf: Float64Array | null;
  private readonly sizeCdf: Float64Array;
  private readonly templates: DataView[];
  private readonly frames: Uint8Array[];
  private readonly views: DataView[];
  private readonly l3: number;
  /** Bytes of outer headers in front of the generated frame (tunnelled traffic). */
  private readonly outer: number;
  private readonly src: Uint32Array;
  private readonly dst: Uint32Array;
  private readonly portSpan: number;
  private cur: Uint8Array = new Uint8Array(0);
  private readonly ip = new Ipv4View();
  private readonly udp = new UdpView();
  private readonly tcp = new TcpView();
  private readonly icmp = new IcmpView();
  private readonly arp = new ArpView();

  constructor(
    readonly spec: GeneratedTraffic,
    seed: number,
  ) {
    this.rng = new Rng(seed);
    const pps = spec.rate.bits ? spec.rate.value / (8 * avgSize(spec.size)) : spec.rate.value;
    this.intervalMs = 1000 / pps;
    this.cdf = spec.distribution.kind === "zipf" ? zipfCdf(spec.flows, spec.distribution.s) : null;
    let w = 0;
    for (const x of spec.size.weights) w += x;
    this.sizeCdf = new Float64Array(spec.size.weights.length);
    let acc = 0;
    spec.size.weights.forEach((x, i) => {
      acc += x / w;
      this.sizeCdf[i] = acc;
    });
    this.portSpan = spec.srcPorts[1] - spec.srcPorts[0] + 1;
    this.src = Uint32Array.from(spec.ipSrc, ipv4FromString);
    this.dst = Uint32Array.from(spec.ipDst, ipv4FromString);
    this.outer = spec.tunnel === null ? 0 : spec.tunnel.type === "nvgre" ? NVGRE_OUTER : UDP_TUNNEL_OUTER;
    this.l3 = this.outer + 14 + (spec.vlan !== null ? 4 : 0);
    const built = spec.size.sizes.map((n) => this.build(n));
    this.templates = built.map(viewOf);
    this.frames = built.map((t) => t.slice());
    this.views = this.frames.map(viewOf);
    this.nextMs = this.timeOf(0);
    this.draw();
  }

  /** Time of packet j: evenly spaced in "on" time, bursts cutting that time into windows. */
  private timeOf(j: number): number {
    const s = this.spec;
    const on = j * this.intervalMs;
    let t: number;
    if (s.burst === null) t = s.startMs + on;
    else {
      const cycles = Math.floor(on / s.burst.onMs);
      t = s.startMs + cycles * (s.burst.onMs + s.burst.offMs) + (on - cycles * s.burst.onMs);
    }
    return t < s.stopMs ? t : Infinity;
  }

  private draw(): void {
    if (this.nextMs === Infinity) return;
    const s = this.spec;
    const u = this.rng.next();
    const slot = this.cdf === null ? Math.floor(u * s.flows) : search(this.cdf, u);
    let gen = 0;
    if (s.lifetimeMs !== Infinity) {
      // Slots are staggered by a fixed fraction of the lifetime, so replacements are spread out.
      const phase = ((slot * 0.6180339887498949) % 1) * s.lifetimeMs;
      gen = Math.floor((this.nextMs - s.startMs + phase) / s.lifetimeMs);
    }
    const sizeIdx = this.sizeCdf.length === 1 ? 0 : search(this.sizeCdf, this.rng.next());
    const id = gen * s.flows + slot;
    const sport = s.srcPorts[0] + (id % this.portSpan);
    const q = Math.floor(id / this.portSpan);
    const src = this.src[q % this.src.length] as number;
    const dst = this.dst[Math.floor(q / this.src.length) % this.dst.length] as number;
    const f = this.views[sizeIdx] as DataView;
    this.patch(this.templates[sizeIdx] as DataView, f, src, dst, sport, id & 0xffff);
    // Outer UDP source port from the flow, for ECMP entropy (RFC 7348 §5); its checksum is zero,
    // which rewriteSrcPort leaves zero.
    if (this.outer === UDP_TUNNEL_OUTER)
      this.udp.wrap(f, OUTER_UDP, UDP_HEADER_LEN).rewriteSrcPort(49152 + (id % 16384));
    this.cur = this.frames[sizeIdx] as Uint8Array;
  }

  /**
   * Writes the flow's fields into `f` (a copy of template `t`), with the checksums updated from
   * the template's (RFC 1624): the addresses count in the IPv4 header checksum and, through the
   * pseudo-header, in the TCP/UDP one; the source port (or ICMP id) in the L4 one.
   */
  private patch(t: DataView, f: DataView, src: number, dst: number, sport: number, icmpId: number): void {
    const l3 = this.l3;
    const proto = this.spec.protocol;
    if (proto === "arp") {
      const arp = this.arp.wrap(f, l3, ARP_HEADER_LEN);
      arp.spa = src;
      arp.tpa = dst;
      return;
    }
    const l4 = l3 + IPV4_HEADER_LEN;
    const hdr = l4 + (proto === "tcp" ? TCP_HEADER_LEN : proto === "udp" ? UDP_HEADER_LEN : ICMP_HEADER_LEN);
    // The template's headers first, so that every update below starts from the template's values.
    for (let i = 0; i < hdr; i++) f.setUint8(i, t.getUint8(i));
    const ip = this.ip.wrap(f, l3, IPV4_HEADER_LEN);
    const oldSrc = ip.srcNum;
    const oldDst = ip.dstNum;
    ip.setSrcUpdateCsum(src);
    ip.setDstUpdateCsum(dst);
    if (proto === "icmp") {
      this.icmp.wrap(f, l4, ICMP_HEADER_LEN).rewriteId(icmpId); // no pseudo-header
    } else if (proto === "tcp") {
      const tcp = this.tcp.wrap(f, l4, TCP_HEADER_LEN);
      tcp.rewriteSrcPort(sport);
      tcp.adjustChecksum32(oldSrc, src);
      tcp.adjustChecksum32(oldDst, dst);
    } else {
      // The UDP view keeps RFC 768's two rules: a template without a checksum (0) keeps none, and
      // a computed 0 goes out as 0xffff.
      const udp = this.udp.wrap(f, l4, UDP_HEADER_LEN);
      udp.rewriteSrcPort(sport);
      udp.adjustChecksum32(oldSrc, src);
      udp.adjustChecksum32(oldDst, dst);
    }
  }

  private build(size: number): Uint8Array {
    const s = this.spec;
    const sport = s.srcPorts[0];
    const src = s.ipSrc[0] as string;
    const dst = s.ipDst[0] as string;
    const layers: LayerSpec[] = [];
    const t = s.tunnel;
    if (t !== null) {
      layers.push({ eth: { src: t.ethSrc, dst: t.ethDst } }, { ipv4: { src: t.ipSrc, dst: t.ipDst, ttl: 64 } });
      if (t.type === "vxlan") layers.push({ udp: { src: 49152, dst: 4789 } }, { vxlan: { vni: t.key } });
      else if (t.type === "geneve") layers.push({ udp: { src: 49152, dst: 6081 } }, { geneve: { vni: t.key } });
      else layers.push({ gre: { vsid: t.key >>> 8, flowId: t.key & 0xff } });
    }
    const inner = layers.length;
    layers.push({ eth: { src: s.ethSrc, dst: s.ethDst } });
    if (s.vlan !== null) layers.push({ vlan: { vid: s.vlan } });
    if (s.protocol === "arp") {
      // An ARP request from src for dst (RFC 826), broadcast.
      layers[inner] = { eth: { src: s.ethSrc, dst: "ff:ff:ff:ff:ff:ff" } };
      layers.push({ arp: { op: "request", sha: s.ethSrc, spa: src, tha: "00:00:00:00:00:00", tpa: dst } });
      return buildPacket({ layers, pad: Math.max(60, size) });
    }
    layers.push({ ipv4: { src, dst, ttl: 64 } });
    let hdr = this.outer + 14 + (s.vlan !== null ? 4 : 0) + 20;
    if (s.protocol === "udp") {
      layers.push({ udp: { src: sport, dst: s.dstPort } });
      hdr += 8;
    } else if (s.protocol === "tcp") {
      layers.push({ tcp: { src: sport, dst: s.dstPort, flags: "ACK" } });
      hdr += 20;
    } else {
      layers.push({ icmp: { type: 8, code: 0, id: 0, seq: 1 } });
      hdr += 8;
    }
    const payload =
      s.payload !== null ? { hex: Buffer.from(s.payload).toString("hex") } : { len: Math.max(0, size - hdr) };
    return buildPacket({ layers, payload, pad: 60 });
  }

  frame(): Uint8Array {
    return this.cur;
  }

  advance(): void {
    this.sent++;
    this.nextMs = this.timeOf(++this.j);
    this.draw();
  }
}

class ReplayGenerator implements Generator {
  nextMs: number;
  sent = 0;
  private i = 0;
  private round = 0;
  private readonly frames: Uint8Array[];
  private readonly offsets: number[]; // ms from the first packet
  private readonly periodMs: number;

  constructor(
    readonly spec: ReplayTraffic,
    baseDir: string,
  ) {
    const path = spec.file.startsWith("/") ? spec.file : `${baseDir}/${spec.file}`;
    let res;
    try {
      res = readCaptureFile(path);
    } catch (e) {
      throw new ScenarioError(
        `${spec.where}: ${spec.name}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      );
    }
    if (res.packets.length === 0) {
      throw new ScenarioError(
        `${spec.where}: ${spec.name}: ${path} has no packets${res.error ? ` (${res.error.message})` : ""}`,
      );
    }
    const eth = res.packets.filter((p) => (res.interfaces[p.interfaceId]?.linkType ?? 1) === 1);
    if (eth.length === 0)
      throw new ScenarioError(`${spec.where}: ${spec.name}: ${path} has no Ethernet packets (link type 1)`);
    this.frames = eth.map((p) => p.data.slice(0, p.caplen));
    const t0 = eth[0]?.ts ?? 0n;
    const timing = spec.timing;
    if (timing === "recorded") {
      this.offsets = eth.map((p) => Number((p.ts ?? t0) - t0) / 1e6);
      const last = this.offsets[this.offsets.length - 1] as number;
      this.periodMs = last + (this.offsets.length > 1 ? last / (this.offsets.length - 1) : 1);
    } else {
      const bytes = this.frames.reduce((a, f) => a + f.length, 0) / this.frames.length;
      const pps = timing.bits ? timing.value / (8 * bytes) : timing.value;
      this.offsets = this.frames.map((_, i) => i * (1000 / pps));
      this.periodMs = this.frames.length * (1000 / pps);
    }
    this.nextMs = spec.startMs + (this.offsets[0] as number);
  }

  frame(): Uint8Array {
    return this.frames[this.i] as Uint8Array;
  }

  advance(): void {
    this.sent++;
    if (++this.i === this.frames.length) {
      if (!this.spec.loop) {
        this.nextMs = Infinity;
        return;
      }
      this.i = 0;
      this.round++;
    }
    this.nextMs = this.spec.startMs + this.round * this.periodMs + (this.offsets[this.i] as number);
  }
}

/** The generators of a scenario's traffic, each seeded from the scenario seed and its position. */
export function makeGenerators(traffic: readonly Traffic[], seed: number, baseDir: string): Generator[] {
  return traffic.map((t, i) =>
    t.kind === "generated" ? new FlowGenerator(t, streamSeed(seed, i)) : new ReplayGenerator(t, baseDir),
  );
}

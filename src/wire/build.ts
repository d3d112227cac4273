// Build real packets from a layered description, for tools, tests and traffic templates.
//
// A PacketSpec lists the headers outermost first, each an object with one key naming the
// protocol, plus the bytes that follow the last header:
//
//   { layers: [ {eth: {src: "02:00:00:00:00:01"}}, {vlan: {vid: 100}}, {ipv6: {}}, {udp: {}},
//               {vxlan: {vni: 5001}}, {eth: {}}, {ipv4: {ttl: 9}}, {tcp: {dst: 80}} ],
//     payload: {len: 32} }
//
// Whatever the spec leaves out is filled in the way a sender's stack would fill it: addresses
// from the documentation ranges, every "next protocol" field from the layer that follows, every
// length from what follows, and every checksum over the right bytes (innermost first, since an
// outer UDP or ICMP checksum covers the inner ones). Any of those can be given explicitly, and
// the given value is written as is, so a deliberately wrong length or checksum is one field away.
//
// Building is three passes over a compiled list of layers: header lengths back to front (each
// layer's lengths need the size of everything after it), headers front to back with emitXxx()
// from the protocol files, then checksums back to front. compilePacket() does the validating and
// defaulting once; buildInto() of a compiled packet then only writes bytes into the slot it is
// given, so a traffic generator can stamp a template repeatedly (its emitters still parse
// address text: this is not the per-packet hot path, which patches templates through views).
//
// Defaults (BUILD_DEFAULTS):
//   eth      src 02:00:00:00:00:01, dst 02:00:00:00:00:02 (locally administered, IEEE 802
//            §8.4); dst ff:ff:ff:ff:ff:ff before an ARP request (VLAN tags between allowed).
//            type: from the next layer, 0x88b5 (IEEE local experimental) when nothing follows.
//   vlan     vid 1, pcp 0, dei 0. Its TPID, written by the header before it, is 0x88a8 (802.1ad
//            S-tag) when another tag follows and 0x8100 otherwise, unless `tpid` is given.
//   arp      op request; sha/spa from the enclosing eth src and 192.0.2.1; tha 0 for a
//            request, the eth dst for a reply; tpa 192.0.2.2.
//   ipv4     src 192.0.2.1, dst 192.0.2.2 (RFC 5737), ttl 64, tos 0, id 0, no flags.
//   ipv6     src 2001:db8::1, dst 2001:db8::2 (RFC 3849), hlimit 64 (255 for neighbor
//            discovery, RFC 4861 §7.1), tclass 0, label 0.
//            proto (the upper layer): from the next layer, 253 (RFC 3692, experimentation)
//            when only a payload follows, 59 (no next header) when nothing does.
//   udp      src 49152, dst 4789 before VXLAN, 6081 before GENEVE, else 50000. Checksum:
//            computed, except 0 for a tunnel over IPv4 (as Open vSwitch sends it unless the
//            tunnel has csum=true; RFC 7348 §5); give csum: true to compute it there too.
//   tcp      src 49152, dst 50000, seq 1, ack 0, flags SYN (ACK when `ack` is given), window
//            65535, urgent 0.
//   icmp     echo-request, id 1, seq 1; errors quote the layers that follow.
//   icmpv6   echo-request, id 1, seq 1. NS (code 0): target = IPv6 dst, a source link-layer
//            option (eth src); NA (code 0): target = IPv6 src, flags solicited+override, a
//            target link-layer option (eth src); `sll: false` / `tll: false` leave one out.
//   gre      protocol from the next layer (0x6558 for Ethernet); no checksum, key or sequence
//            number unless given; `vsid` (and `flowId`) make it NVGRE (RFC 7637 §3.2).
//   vxlan    vni 0, flags 0x08.  geneve  vni 0, protocol from the next layer, no options.
//   payload  none. A string is UTF-8, {hex} is bytes, {len: n} is n bytes of 0, 1, 2 … 255, 0 …

import { ipv4FromString, ipv6FromString, macFromString, viewOf } from "./bytes.ts";
import { csumFinish, csumPartial } from "./checksum.ts";
import { EtherType, IpProto, UdpPort } from "./numbers.ts";
import { emitEthernet, ETHERNET_HEADER_LEN } from "./ethernet.ts";
import { emitVlan, VLAN_HEADER_LEN } from "./vlan.ts";
import { ARP_HEADER_LEN, ArpOp, emitArp } from "./arp.ts";
import { emitIpv4, IPV4_HEADER_LEN } from "./ipv4.ts";
import { emitIpv6, IPV6_HEADER_LEN } from "./ipv6.ts";
import { emitUdp, UDP_HEADER_LEN } from "./udp.ts";
import { emitTcp, TCP_HEADER_LEN, TcpFlag } from "./tcp.ts";
import { emitIcmp, ICMP_HEADER_LEN, IcmpType } from "./icmp.ts";
import { emitIcmpv6, ICMPV6_HEADER_LEN, Icmpv6Type } from "./icmpv6.ts";
import { emitGre, greHeaderLen, type GreRepr } from "./gre.ts";
import { emitVxlan, VXLAN_FLAG_I, VXLAN_HEADER_LEN } from "./vxlan.ts";
import {
  emitGeneve,
  GENEVE_MAX_OPTION_DATA_LEN,
  GENEVE_MAX_OPTIONS_LEN,
  geneveHeaderLen,
  type GeneveOption,
} from "./geneve.ts";

// --- the description ---------------------------------------------------------------------------

/** A number, or its text (decimal or 0x-prefixed hex, for JSON files). */
export type Num = number | string;
/** Bytes as hex text ("0a0b 0c:0d"), or {hex}. */
export type HexSpec = string | { hex: string };
/** Option TLVs: raw bytes, or a list of {type, data} (data hex; IPv4/TCP types 0 and 1 are one byte). */
export type OptionsSpec = HexSpec | Array<{ type: Num; data?: HexSpec }>;
export type PayloadSpec = string | { hex: string } | { len: Num };

export interface EthSpec {
  src?: string;
  dst?: string;
  type?: Num;
}
export interface VlanSpec {
  vid?: Num;
  pcp?: Num;
  dei?: Num;
  tpid?: Num;
  type?: Num;
}
export interface ArpSpec {
  op?: Num | "request" | "reply";
  sha?: string;
  spa?: string;
  tha?: string;
  tpa?: string;
}
export interface Ipv4Spec {
  src?: string;
  dst?: string;
  ttl?: Num;
  tos?: Num;
  id?: Num;
  df?: boolean;
  mf?: boolean;
  offset?: Num; // fragment offset, bytes (a multiple of 8)
  proto?: Num;
  options?: OptionsSpec;
  totalLen?: Num;
  checksum?: Num;
}
export type Ipv6ExtSpec =
  | { hopopts: { options?: OptionsSpec } }
  | { dstopts: { options?: OptionsSpec } }
  | { routing: { type?: Num; segLeft?: Num; addresses?: string[] } }
  | { fragment: { offset?: Num; more?: boolean; id?: Num } };
export interface Ipv6Spec {
  src?: string;
  dst?: string;
  hlimit?: Num;
  tclass?: Num;
  label?: Num;
  proto?: Num; // the upper-layer protocol, written in the last header of the chain
  ext?: Ipv6ExtSpec[];
  payloadLen?: Num;
}
export interface UdpSpec {
  src?: Num;
  dst?: Num;
  len?: Num;
  checksum?: Num;
  csum?: boolean;
}
export interface TcpSpec {
  src?: Num;
  dst?: Num;
  seq?: Num;
  ack?: Num;
  flags?: Num | string | string[];
  window?: Num;
  urgent?: Num;
  options?: OptionsSpec;
  checksum?: Num;
}
export interface IcmpSpec {
  type?: Num;
  code?: Num;
  id?: Num;
  seq?: Num;
  mtu?: Num;
  pointer?: Num;
  gateway?: string;
  rest?: Num;
  checksum?: Num;
}
export interface Icmpv6Spec {
  type?: Num;
  code?: Num;
  id?: Num;
  seq?: Num;
  mtu?: Num;
  pointer?: Num;
  target?: string;
  sll?: string | false;
  tll?: string | false;
  flags?: string | string[] | Num;
  rest?: Num;
  checksum?: Num;
}
export interface GreSpec {
  proto?: Num;
  csum?: boolean;
  checksum?: Num;
  key?: Num;
  seq?: Num;
  vsid?: Num;
  flowId?: Num;
}
export interface VxlanSpec {
  vni?: Num;
  flags?: Num;
}
export interface GeneveSpec {
  vni?: Num;
  proto?: Num;
  oam?: boolean;
  critical?: boolean;
  options?: Array<{ class: Num; type: Num; data?: HexSpec }>;
}

export type LayerSpec =
  | { eth: EthSpec }
  | { vlan: VlanSpec }
  | { arp: ArpSpec }
  | { ipv4: Ipv4Spec }
  | { ipv6: Ipv6Spec }
  | { udp: UdpSpec }
  | { tcp: TcpSpec }
  | { icmp: IcmpSpec }
  | { icmpv6: Icmpv6Spec }
  | { gre: GreSpec }
  | { vxlan: VxlanSpec }
  | { geneve: GeneveSpec };

export interface PacketSpec {
  layers: LayerSpec[];
  payload?: PayloadSpec;
  /** Pad the frame with zero bytes to at least this length (60: Ethernet's minimum without FCS). */
  pad?: Num;
}

export const LAYER_NAMES = [
  "eth",
  "vlan",
  "arp",
  "ipv4",
  "ipv6",
  "udp",
  "tcp",
  "icmp",
  "icmpv6",
  "gre",
  "vxlan",
  "geneve",
] as const;
export type LayerName = (typeof LAYER_NAMES)[number];

export const BUILD_DEFAULTS = {
  ethSrc: "02:00:00:00:00:01",
  ethDst: "02:00:00:00:00:02",
  ethType: 0x88b5, // IEEE 802 local experimental EtherType 1
  vid: 1,
  ipv4Src: "192.0.2.1", // RFC 5737 TEST-NET-1
  ipv4Dst: "192.0.2.2",
  ipv6Src: "2001:db8::1", // RFC 3849
  ipv6Dst: "2001:db8::2",
  ttl: 64,
  ndHopLimit: 255, // RFC 4861 §7.1.1: ND messages are sent with hop limit 255
  ipProtoExperimental: 253, // RFC 3692
  srcPort: 49152, // first dynamic port, RFC 6335 §6
  dstPort: 50000,
  tcpSeq: 1,
  tcpWindow: 65535,
  icmpId: 1,
  icmpSeq: 1,
  icmpv6Mtu: 1280, // RFC 8200 §5 minimum link MTU
} as const;

/**
 * A spec that cannot be built. `layer` is the index in `layers` (-1 for the packet itself),
 * `path` leads from the PacketSpec to the offending value (["layers", 3, "udp", "dst"]), for
 * tools that map it back to a position in the file it came from.
 */
export class SpecError extends Error {
  override readonly name = "SpecError";
  constructor(
    message: string,
    readonly layer: number,
    readonly path: ReadonlyArray<string | number>,
  ) {
    super(message);
  }
}

// --- reading a layer's fields ------------------------------------------------------------------

type Path = Array<string | number>;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const show = (v: unknown): string =>
  typeof v === "string" ? JSON.stringify(v) : Array.isArray(v) ? "a list" : isObj(v) ? "an object" : String(v);

/** Reads and checks one object of the spec (a layer, or an object inside one), naming what is wrong. */
class Fields {
  constructor(
    private readonly prefix: string, // "layer 3 (udp): "
    readonly layer: number,
    readonly path: Path, // to this object
    readonly obj: Record<string, unknown>,
    private readonly sub = "", // "ext[1].routing." for nested objects
  ) {}

  static of(prefix: string, layer: number, path: Path, v: unknown, known: readonly string[], sub = ""): Fields {
    if (!isObj(v)) {
      const what = sub === "" ? "the layer's fields" : sub.slice(0, -1);
      throw new SpecError(`${prefix}${what} must be an object, got ${show(v)}`, layer, path);
    }
    const f = new Fields(prefix, layer, path, v, sub);
    for (const k of Object.keys(v)) {
      if (!known.includes(k)) f.fail(k, `is not a field here; known: ${known.join(", ")}`);
    }
    return f;
  }

  /** An object inside this one, at `rel` from it, named `label` in messages. */
  nested(rel: Path, v: unknown, known: readonly string[], label: string): Fields {
    return Fields.of(this.prefix, this.layer, [...this.path, ...rel], v, known, `${this.sub}${label}.`);
  }

  fail(field: string | number, msg: string, extra: Path = []): never {
    const name = typeof field === "number" ? `${this.sub.replace(/\.$/, "")}[${field}]` : `${this.sub}${field}`;
    throw new SpecError(`${this.prefix}${name} ${msg}`, this.layer, [...this.path, field, ...extra]);
  }

  /** fail() for the `j`-th item of the list in field `k`. */
  failItem(k: string, j: number, msg: string): never {
    throw new SpecError(`${this.prefix}${this.sub}${k}[${j}] ${msg}`, this.layer, [...this.path, k, j]);
  }

  has(k: string): boolean {
    return this.obj[k] !== undefined && this.obj[k] !== null;
  }

  num(k: string, min: number, max: number): number | undefined {
    const v = this.obj[k];
    if (v === undefined || v === null) return undefined;
    const n = toNum(v);
    if (n === null || n < min || n > max) this.fail(k, `must be ${rangeText(min, max)}, got ${show(v)}`);
    return n;
  }

  /** num() for a field that must be there. */
  need(k: string, min: number, max: number): number {
    return this.num(k, min, max) ?? this.fail(k, "is required");
  }

  bool(k: string): boolean | undefined {
    const v = this.obj[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") this.fail(k, `must be true or false, got ${show(v)}`);
    return v;
  }

  str(k: string): string | undefined {
    const v = this.obj[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") this.fail(k, `must be text, got ${show(v)}`);
    return v;
  }

  mac(k: string): string | undefined {
    const s = this.str(k);
    if (s === undefined) return undefined;
    try {
      macFromString(s);
    } catch {
      this.fail(k, `must be a MAC address like 02:00:00:00:00:01, got ${show(s)}`);
    }
    return s;
  }

  ipv4(k: string): string | undefined {
    const s = this.str(k);
    if (s === undefined) return undefined;
    try {
      ipv4FromString(s);
    } catch {
      this.fail(k, `must be an IPv4 address like 192.0.2.1, got ${show(s)}`);
    }
    return s;
  }

  ipv6(k: string): string | undefined {
    const s = this.str(k);
    if (s === undefined) return undefined;
    try {
      ipv6FromString(s);
    } catch {
      this.fail(k, `must be an IPv6 address like 2001:db8::1, got ${show(s)}`);
    }
    return s;
  }

  bytes(k: string): Uint8Array | undefined {
    const v = this.obj[k];
    if (v === undefined || v === null) return undefined;
    const b = hexBytes(v);
    if (b === null) this.fail(k, `must be hex bytes ("0a0b0c" or {hex: "0a0b0c"}), got ${show(v)}`);
    return b;
  }
}

function rangeText(min: number, max: number): string {
  return max === 0xffffffff ? `${min}..4294967295 (0x${max.toString(16)})` : `${min}..${max}`;
}

function toNum(v: unknown): number | null {
  if (typeof v === "number") return Number.isInteger(v) ? v : null;
  if (typeof v === "string") {
    const t = v.trim();
    if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t.slice(2), 16);
    if (/^\d+$/.test(t)) return Number(t);
  }
  return null;
}

function hexBytes(v: unknown): Uint8Array | null {
  const text =
    typeof v === "string"
      ? v
      : isObj(v) && typeof v["hex"] === "string" && Object.keys(v).length === 1
        ? v["hex"]
        : null;
  if (text === null) return null;
  const clean = text.replace(/[\s:]/g, "").replace(/^0x/i, "");
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) return null;
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * TLV options as bytes. `singleByte` types have no length byte (IPv4 and TCP: 0 end of list,
 * 1 no-operation, RFC 791 §3.1, RFC 9293 §3.1; IPv6 Pad1 is 0, RFC 8200 §4.2). The length byte
 * counts the type and length bytes in IPv4 and TCP, and only the data in IPv6 (`dataLenOnly`).
 */
function optionBytes(f: Fields, k: string, singleByte: readonly number[], dataLenOnly = false): Uint8Array {
  const v = f.obj[k];
  if (v === undefined || v === null) return new Uint8Array(0);
  if (!Array.isArray(v)) return f.bytes(k) as Uint8Array;
  const parts: number[] = [];
  v.forEach((o, i) => {
    const of = f.nested([k, i], o, ["type", "data"], `${k}[${i}]`);
    const type = of.need("type", 0, 255);
    const data = of.bytes("data") ?? new Uint8Array(0);
    if (singleByte.includes(type)) {
      if (data.length) of.fail("data", `must be empty: option type ${type} is a single byte`);
      parts.push(type);
    } else {
      const max = dataLenOnly ? 255 : 253;
      if (data.length > max) of.fail("data", `is ${data.length} bytes, at most ${max} fit an option`);
      parts.push(type, dataLenOnly ? data.length : data.length + 2, ...data);
    }
  });
  return Uint8Array.from(parts);
}

/** 65535 bytes of IP datagram (RFC 791, RFC 8200 without jumbograms) after up to 64 bytes of link headers. */
const MAX_PACKET_LEN = 0xffff + 64;

// --- compiling ---------------------------------------------------------------------------------

/** What a layer's checksum pass needs to know about the IP header around it. */
interface IpInfo {
  version: 4 | 6;
  off: number; // absolute offset of the IP header, set when it is written
  srcRel: number; // pseudo-header addresses, relative to the IP header
  dstRel: number; // the final destination of a source route (RFC 791 §3.1, RFC 8200 §8.1)
}

interface Node {
  name: LayerName;
  hl: number; // header length
  /** Writes the header at `off`; `rest` is the byte count of everything after it. */
  emit(dv: DataView, off: number, rest: number): void;
  /** Fills a checksum once everything after the header is in place. */
  fill: ((dv: DataView, off: number, rest: number) => void) | null;
}

/** A validated spec with every default resolved: buildInto() of it only writes bytes. */
export interface CompiledPacket {
  readonly length: number;
  readonly nodes: readonly Node[];
  readonly payload: Uint8Array;
  readonly offs: Int32Array; // scratch: where each header went in the last build
}

const LAYER_FIELDS: Readonly<Record<LayerName, readonly string[]>> = {
  eth: ["src", "dst", "type"],
  vlan: ["vid", "pcp", "dei", "tpid", "type"],
  arp: ["op", "sha", "spa", "tha", "tpa"],
  ipv4: ["src", "dst", "ttl", "tos", "id", "df", "mf", "offset", "proto", "options", "totalLen", "checksum"],
  ipv6: ["src", "dst", "hlimit", "tclass", "label", "proto", "ext", "payloadLen"],
  udp: ["src", "dst", "len", "checksum", "csum"],
  tcp: ["src", "dst", "seq", "ack", "flags", "window", "urgent", "options", "checksum"],
  icmp: ["type", "code", "id", "seq", "mtu", "pointer", "gateway", "rest", "checksum"],
  icmpv6: ["type", "code", "id", "seq", "mtu", "pointer", "target", "sll", "tll", "flags", "rest", "checksum"],
  gre: ["proto", "csum", "checksum", "key", "seq", "vsid", "flowId"],
  vxlan: ["vni", "flags"],
  geneve: ["vni", "proto", "oam", "critical", "options"],
};

/** Which layers may directly follow each one. ICMP errors quote an IP packet (checked below). */
const NEXT: Readonly<Record<LayerName, readonly LayerName[]>> = {
  eth: ["vlan", "arp", "ipv4", "ipv6"],
  vlan: ["vlan", "arp", "ipv4", "ipv6"],
  arp: [],
  ipv4: ["udp", "tcp", "icmp", "gre", "ipv4", "ipv6"],
  ipv6: ["udp", "tcp", "icmpv6", "gre", "ipv4", "ipv6"],
  udp: ["vxlan", "geneve"],
  tcp: [],
  icmp: ["ipv4"],
  icmpv6: ["ipv6"],
  gre: ["eth", "ipv4", "ipv6"],
  vxlan: ["eth"],
  geneve: ["eth", "ipv4", "ipv6"],
};

const ICMP_TYPES: Readonly<Record<string, number>> = {
  "echo-reply": IcmpType.ECHO_REPLY,
  "dest-unreachable": IcmpType.DEST_UNREACHABLE,
  "source-quench": IcmpType.SOURCE_QUENCH,
  redirect: IcmpType.REDIRECT,
  "echo-request": IcmpType.ECHO_REQUEST,
  "time-exceeded": IcmpType.TIME_EXCEEDED,
  "parameter-problem": IcmpType.PARAMETER_PROBLEM,
};
const ICMP_ERRORS: readonly number[] = [3, 4, 5, 11, 12];
const ICMPV6_TYPES: Readonly<Record<string, number>> = {
  "dest-unreachable": Icmpv6Type.DEST_UNREACHABLE,
  "packet-too-big": Icmpv6Type.PACKET_TOO_BIG,
  "time-exceeded": Icmpv6Type.TIME_EXCEEDED,
  "parameter-problem": Icmpv6Type.PARAMETER_PROBLEM,
  "echo-request": Icmpv6Type.ECHO_REQUEST,
  "echo-reply": Icmpv6Type.ECHO_REPLY,
  ns: Icmpv6Type.NEIGHBOR_SOLICITATION,
  "neighbor-solicitation": Icmpv6Type.NEIGHBOR_SOLICITATION,
  na: Icmpv6Type.NEIGHBOR_ADVERTISEMENT,
  "neighbor-advertisement": Icmpv6Type.NEIGHBOR_ADVERTISEMENT,
};
const TCP_FLAG_NAMES: Readonly<Record<string, number>> = { ...TcpFlag, NS: TcpFlag.AE };
/** Neighbor Advertisement flags, RFC 4861 §4.4. */
const NA_FLAGS: Readonly<Record<string, number>> = {
  router: 0x80000000,
  r: 0x80000000,
  solicited: 0x40000000,
  s: 0x40000000,
  override: 0x20000000,
  o: 0x20000000,
};

/** Pseudo-header partial sum (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1) for `len` bytes of `proto`. */
function pseudoSum(dv: DataView, ip: IpInfo, proto: number, len: number): number {
  const n = ip.version === 4 ? 4 : 16;
  return (
    csumPartial(dv, ip.off + ip.srcRel, n) +
    csumPartial(dv, ip.off + ip.dstRel, n) +
    proto +
    Math.floor(len / 0x10000) +
    (len & 0xffff)
  );
}

/** Sum `len` bytes at `off` (plus `acc`) into the u16 at `off + at`, cleared first. */
function fillAt(dv: DataView, off: number, at: number, len: number, acc: number, zeroAsOnes: boolean): void {
  dv.setUint16(off + at, 0);
  const c = csumFinish(csumPartial(dv, off, len, acc));
  dv.setUint16(off + at, c === 0 && zeroAsOnes ? 0xffff : c);
}

function payloadBytes(v: unknown): Uint8Array {
  const bad = (msg: string): never => {
    throw new SpecError(`payload ${msg}`, -1, ["payload"]);
  };
  if (v === undefined || v === null) return new Uint8Array(0);
  if (typeof v === "string") return new Uint8Array(Buffer.from(v, "utf8"));
  if (isObj(v) && Object.keys(v).length === 1 && "hex" in v) {
    return hexBytes(v) ?? bad(`hex must be an even run of hex digits, got ${show(v["hex"])}`);
  }
  if (isObj(v) && Object.keys(v).length === 1 && "len" in v) {
    const n = toNum(v["len"]);
    if (n === null || n < 0 || n > 65535) bad(`len must be 0..65535, got ${show(v["len"])}`);
    const out = new Uint8Array(n as number);
    for (let i = 0; i < out.length; i++) out[i] = i & 0xff;
    return out;
  }
  return bad(`must be text, {hex: "..."} or {len: N}, got ${show(v)}`);
}

/** Validates `spec`, resolves every default, and returns what buildInto() needs. Throws SpecError. */
export function compilePacket(spec: PacketSpec): CompiledPacket {
  const s: unknown = spec;
  if (!isObj(s)) throw new SpecError(`a packet must be an object with "layers", got ${show(s)}`, -1, []);
  for (const k of Object.keys(s)) {
    if (k !== "layers" && k !== "payload" && k !== "pad") {
      throw new SpecError(`"${k}" is not a packet field; known: layers, payload, pad`, -1, [k]);
    }
  }
  const list = s["layers"];
  if (!Array.isArray(list) || list.length === 0) {
    throw new SpecError(`layers must be a non-empty list, got ${show(list)}`, -1, ["layers"]);
  }
  // Names first, so each layer can look at the next one's name when inferring its fields.
  const names: LayerName[] = list.map((l: unknown, i) => {
    const keys = isObj(l) ? Object.keys(l) : [];
    const name = keys[0];
    if (keys.length !== 1 || name === undefined) {
      throw new SpecError(
        `layer ${i}: must be an object with exactly one key naming the protocol (${LAYER_NAMES.join(", ")}), got ${isObj(l) ? `keys ${keys.join(", ") || "none"}` : show(l)}`,
        i,
        ["layers", i],
      );
    }
    if (!(LAYER_NAMES as readonly string[]).includes(name)) {
      throw new SpecError(`layer ${i}: unknown protocol "${name}"; known: ${LAYER_NAMES.join(", ")}`, i, [
        "layers",
        i,
        name,
      ]);
    }
    return name as LayerName;
  });
  if (names[0] !== "eth") throw new SpecError(`layer 0 (${names[0]}): a packet starts with eth`, 0, ["layers", 0]);
  for (let i = 1; i < names.length; i++) {
    const prev = names[i - 1] as LayerName;
    const cur = names[i] as LayerName;
    if (!NEXT[prev].includes(cur)) {
      const allowed = NEXT[prev].length
        ? `after ${prev} come ${NEXT[prev].join(", ")}`
        : `nothing follows ${prev}; give its data as payload`;
      throw new SpecError(`layer ${i} (${cur}): cannot follow ${prev}: ${allowed}`, i, ["layers", i]);
    }
  }
  const payload = payloadBytes(s["payload"]);
  const padV = s["pad"];
  const pad = padV === undefined ? 0 : toNum(padV);
  if (pad === null || pad < 0 || pad > 65535)
    throw new SpecError(`pad must be 0..65535, got ${show(padV)}`, -1, ["pad"]);

  const fields = (i: number): Fields => {
    const name = names[i] as LayerName;
    const layer = list[i] as Record<string, unknown>;
    return Fields.of(`layer ${i} (${name}): `, i, ["layers", i, name], layer[name] ?? {}, LAYER_FIELDS[name]);
  };
  const all = names.map((_, i) => fields(i));

  const nodes: Node[] = [];
  let eth = { src: BUILD_DEFAULTS.ethSrc as string, dst: BUILD_DEFAULTS.ethDst as string };
  let ip: IpInfo | null = null;
  let ipv6Dst = "";
  let ipv6Src = "";

  /** The EtherType that announces layer i (for eth/vlan/gre/geneve "type" inference). */
  const typeOf = (i: number): number | undefined => {
    const n = names[i];
    if (n === undefined) return undefined;
    switch (n) {
      case "vlan":
        return all[i]?.num("tpid", 0, 0xffff) ?? (names[i + 1] === "vlan" ? EtherType.QINQ : EtherType.VLAN);
      case "arp":
        return EtherType.ARP;
      case "ipv4":
        return EtherType.IPV4;
      case "ipv6":
        return EtherType.IPV6;
      case "eth":
        return EtherType.TEB;
      default:
        return undefined;
    }
  };
  /** The IP protocol number of layer i. */
  const protoOf = (i: number): number | undefined => {
    switch (names[i]) {
      case "udp":
        return IpProto.UDP;
      case "tcp":
        return IpProto.TCP;
      case "icmp":
        return IpProto.ICMP;
      case "icmpv6":
        return IpProto.ICMPV6;
      case "gre":
        return IpProto.GRE;
      case "ipv4":
        return IpProto.IPIP;
      case "ipv6":
        return IpProto.IPV6;
      default:
        return undefined;
    }
  };

  for (let i = 0; i < names.length; i++) {
    const f = all[i] as Fields;
    const name = names[i] as LayerName;
    const last = i === names.length - 1;
    switch (name) {
      case "eth": {
        const src = f.mac("src") ?? BUILD_DEFAULTS.ethSrc;
        let j = i + 1;
        while (names[j] === "vlan") j++;
        const arpRequest = names[j] === "arp" && arpOp(all[j] as Fields) === ArpOp.REQUEST;
        const dst = f.mac("dst") ?? (arpRequest ? "ff:ff:ff:ff:ff:ff" : BUILD_DEFAULTS.ethDst);
        const etherType = f.num("type", 0, 0xffff) ?? typeOf(i + 1) ?? BUILD_DEFAULTS.ethType;
        eth = { src, dst };
        const repr = { src, dst, etherType };
        nodes.push({
          name,
          hl: ETHERNET_HEADER_LEN,
          emit: (dv, off) => {
            emitEthernet(repr, dv, off);
          },
          fill: null,
        });
        break;
      }
      case "vlan": {
        f.num("tpid", 0, 0xffff); // checked here too when the tag is first
        const repr = {
          vid: f.num("vid", 0, 4095) ?? BUILD_DEFAULTS.vid,
          pcp: f.num("pcp", 0, 7) ?? 0,
          dei: f.num("dei", 0, 1) ?? 0,
          etherType: f.num("type", 0, 0xffff) ?? typeOf(i + 1) ?? BUILD_DEFAULTS.ethType,
        };
        nodes.push({
          name,
          hl: VLAN_HEADER_LEN,
          emit: (dv, off) => {
            emitVlan(repr, dv, off);
          },
          fill: null,
        });
        break;
      }
      case "arp": {
        const op = arpOp(f);
        const repr = {
          op,
          sha: f.mac("sha") ?? eth.src,
          spa: f.ipv4("spa") ?? BUILD_DEFAULTS.ipv4Src,
          tha: f.mac("tha") ?? (op === ArpOp.REPLY ? eth.dst : "00:00:00:00:00:00"),
          tpa: f.ipv4("tpa") ?? BUILD_DEFAULTS.ipv4Dst,
        };
        nodes.push({
          name,
          hl: ARP_HEADER_LEN,
          emit: (dv, off) => {
            emitArp(repr, dv, off);
          },
          fill: null,
        });
        break;
      }
      case "ipv4": {
        const options = optionBytes(f, "options", [0, 1]);
        if (options.length > 40) f.fail("options", `take ${options.length} bytes, at most 40 fit (RFC 791 §3.1)`);
        const offset = f.num("offset", 0, 0xfff8) ?? 0;
        if (offset % 8) f.fail("offset", `must be a multiple of 8 (bytes), got ${offset}`);
        const tos = f.num("tos", 0, 255) ?? 0;
        const repr = {
          dscp: tos >>> 2,
          ecn: tos & 3,
          id: f.num("id", 0, 0xffff) ?? 0,
          dontFrag: f.bool("df") ?? false,
          moreFrags: f.bool("mf") ?? false,
          fragOffset: offset,
          ttl: f.num("ttl", 0, 255) ?? BUILD_DEFAULTS.ttl,
          protocol: f.num("proto", 0, 255) ?? protoOf(i + 1) ?? BUILD_DEFAULTS.ipProtoExperimental,
          src: f.ipv4("src") ?? BUILD_DEFAULTS.ipv4Src,
          dst: f.ipv4("dst") ?? BUILD_DEFAULTS.ipv4Dst,
          options,
          payloadLen: 0,
        };
        const hl = IPV4_HEADER_LEN + ((options.length + 3) & ~3);
        const info: IpInfo = { version: 4, off: 0, srcRel: 12, dstRel: 16 + sourceRouteDstRel(options) };
        ip = info;
        const totalLen = f.num("totalLen", 0, 0xffff);
        const checksum = f.num("checksum", 0, 0xffff);
        nodes.push({
          name,
          hl,
          emit: (dv, off, rest) => {
            info.off = off;
            repr.payloadLen = rest;
            emitIpv4(repr, dv, off, false);
            if (totalLen !== undefined) dv.setUint16(off + 2, totalLen);
            if (checksum !== undefined) dv.setUint16(off + 10, checksum);
          },
          // Last, after the length override: the header checksum covers the total length field.
          fill:
            checksum !== undefined
              ? null
              : (dv, off) => {
                  fillAt(dv, off, 10, hl, 0, false);
                },
        });
        break;
      }
      case "ipv6": {
        const upperOf = names[i + 1] === "icmpv6" ? (all[i + 1] as Fields) : null;
        const nd = upperOf !== null && isNdType(icmpv6Type(upperOf));
        const upper =
          f.num("proto", 0, 255) ??
          protoOf(i + 1) ??
          (last && payload.length === 0 ? IpProto.NONE : BUILD_DEFAULTS.ipProtoExperimental);
        const src = f.ipv6("src") ?? BUILD_DEFAULTS.ipv6Src;
        const dst = f.ipv6("dst") ?? BUILD_DEFAULTS.ipv6Dst;
        const { headers, firstNh, dstRel } = ipv6Extensions(f, upper, dst);
        const repr = {
          dscp: 0,
          ecn: 0,
          flowLabel: f.num("label", 0, 0xfffff) ?? 0,
          payloadLen: 0,
          nextHeader: firstNh,
          hopLimit: f.num("hlimit", 0, 255) ?? (nd ? BUILD_DEFAULTS.ndHopLimit : BUILD_DEFAULTS.ttl),
          src,
          dst,
          extHeaders: headers,
        };
        const tclass = f.num("tclass", 0, 255) ?? 0;
        repr.dscp = tclass >>> 2;
        repr.ecn = tclass & 3;
        let extLen = 0;
        for (const h of headers) extLen += h.length;
        const info: IpInfo = { version: 6, off: 0, srcRel: 8, dstRel };
        ip = info;
        ipv6Src = src;
        ipv6Dst = dst;
        const payloadLen = f.num("payloadLen", 0, 0xffff);
        nodes.push({
          name,
          hl: IPV6_HEADER_LEN + extLen,
          emit: (dv, off, rest) => {
            info.off = off;
            repr.payloadLen = payloadLen ?? extLen + rest;
            emitIpv6(repr, dv, off);
          },
          fill: null,
        });
        break;
      }
      case "udp": {
        const ipc = ip as IpInfo;
        const tunnel = names[i + 1] === "vxlan" || names[i + 1] === "geneve";
        const dstDefault =
          names[i + 1] === "vxlan"
            ? UdpPort.VXLAN
            : names[i + 1] === "geneve"
              ? UdpPort.GENEVE
              : BUILD_DEFAULTS.dstPort;
        const repr = {
          srcPort: f.num("src", 0, 0xffff) ?? BUILD_DEFAULTS.srcPort,
          dstPort: f.num("dst", 0, 0xffff) ?? dstDefault,
          length: 0,
          checksum: 0,
        };
        const len = f.num("len", 0, 0xffff);
        const checksum = f.num("checksum", 0, 0xffff);
        const csum = f.bool("csum");
        if (checksum !== undefined && csum !== undefined) f.fail("csum", "and checksum cannot both be given");
        const compute = checksum === undefined && (csum ?? !(tunnel && ipc.version === 4));
        if (checksum !== undefined) repr.checksum = checksum;
        nodes.push({
          name,
          hl: UDP_HEADER_LEN,
          emit: (dv, off, rest) => {
            repr.length = len ?? UDP_HEADER_LEN + rest;
            emitUdp(repr, dv, off);
          },
          // A computed 0 goes out as 0xffff: 0 means "no checksum" (RFC 768).
          fill: compute
            ? (dv, off, rest) => {
                const n = UDP_HEADER_LEN + rest;
                fillAt(dv, off, 6, n, pseudoSum(dv, ipc, IpProto.UDP, n), true);
              }
            : null,
        });
        break;
      }
      case "tcp": {
        const ipc = ip as IpInfo;
        const options = optionBytes(f, "options", [0, 1]);
        const padded = new Uint8Array((options.length + 3) & ~3);
        padded.set(options);
        if (padded.length > 40) f.fail("options", `take ${options.length} bytes, at most 40 fit (RFC 9293 §3.1)`);
        const ack = f.num("ack", 0, 0xffffffff);
        const repr = {
          srcPort: f.num("src", 0, 0xffff) ?? BUILD_DEFAULTS.srcPort,
          dstPort: f.num("dst", 0, 0xffff) ?? BUILD_DEFAULTS.dstPort,
          seq: f.num("seq", 0, 0xffffffff) ?? BUILD_DEFAULTS.tcpSeq,
          ack: ack ?? 0,
          flags: tcpFlags(f) ?? (ack !== undefined ? TcpFlag.ACK : TcpFlag.SYN),
          window: f.num("window", 0, 0xffff) ?? BUILD_DEFAULTS.tcpWindow,
          checksum: f.num("checksum", 0, 0xffff) ?? 0,
          urgent: f.num("urgent", 0, 0xffff) ?? 0,
          options: padded,
        };
        const hl = TCP_HEADER_LEN + padded.length;
        nodes.push({
          name,
          hl,
          emit: (dv, off) => {
            emitTcp(repr, dv, off);
          },
          fill: f.has("checksum")
            ? null
            : (dv, off, rest) => {
                const n = hl + rest;
                fillAt(dv, off, 16, n, pseudoSum(dv, ipc, IpProto.TCP, n), false);
              },
        });
        break;
      }
      case "icmp": {
        const type = icmpType(f);
        const error = ICMP_ERRORS.includes(type);
        if (!last && !error)
          f.fail("type", `${type} is not an error message, so nothing can follow it; give its data as payload`);
        let rest = 0;
        if (
          type === IcmpType.ECHO_REQUEST ||
          type === IcmpType.ECHO_REPLY ||
          type === IcmpType.TIMESTAMP ||
          type === IcmpType.TIMESTAMP_REPLY
        ) {
          rest =
            (f.num("id", 0, 0xffff) ?? BUILD_DEFAULTS.icmpId) * 0x10000 +
            (f.num("seq", 0, 0xffff) ?? BUILD_DEFAULTS.icmpSeq);
        } else if (type === IcmpType.DEST_UNREACHABLE) {
          rest = f.num("mtu", 0, 0xffff) ?? 0; // RFC 1191 §4: next-hop MTU with code 4
        } else if (type === IcmpType.PARAMETER_PROBLEM) {
          rest = (f.num("pointer", 0, 255) ?? 0) * 0x1000000; // RFC 792
        } else if (type === IcmpType.REDIRECT) {
          rest = ipv4FromString(f.ipv4("gateway") ?? BUILD_DEFAULTS.ipv4Dst);
        }
        const repr = {
          type,
          code: f.num("code", 0, 255) ?? 0,
          checksum: f.num("checksum", 0, 0xffff) ?? 0,
          rest: f.num("rest", 0, 0xffffffff) ?? rest,
        };
        nodes.push({
          name,
          hl: ICMP_HEADER_LEN,
          emit: (dv, off) => {
            emitIcmp(repr, dv, off);
          },
          fill: f.has("checksum")
            ? null
            : (dv, off, r) => {
                fillAt(dv, off, 2, ICMP_HEADER_LEN + r, 0, false);
              },
        });
        break;
      }
      case "icmpv6": {
        const ipc = ip as IpInfo;
        const type = icmpv6Type(f);
        const error = type < 128;
        if (!last && !error)
          f.fail("type", `${type} is not an error message, so nothing can follow it; give its data as payload`);
        let rest = 0;
        let body = new Uint8Array(0); // ND target and options, RFC 4861 §4.3/§4.4
        if (type === Icmpv6Type.ECHO_REQUEST || type === Icmpv6Type.ECHO_REPLY) {
          rest =
            (f.num("id", 0, 0xffff) ?? BUILD_DEFAULTS.icmpId) * 0x10000 +
            (f.num("seq", 0, 0xffff) ?? BUILD_DEFAULTS.icmpSeq);
        } else if (type === Icmpv6Type.PACKET_TOO_BIG) {
          rest = f.num("mtu", 0, 0xffffffff) ?? BUILD_DEFAULTS.icmpv6Mtu;
        } else if (type === Icmpv6Type.PARAMETER_PROBLEM) {
          rest = f.num("pointer", 0, 0xffffffff) ?? 0;
        } else if (isNdType(type) && (f.num("code", 0, 255) ?? 0) === 0) {
          // Only code 0 is a valid NS/NA (RFC 4861 §7.1.1); another code gets the bare header.
          const ns = type === Icmpv6Type.NEIGHBOR_SOLICITATION;
          if (!ns) rest = naFlags(f) ?? NA_FLAGS["solicited"]! + NA_FLAGS["override"]!;
          const target = f.ipv6("target") ?? (ns ? ipv6Dst : ipv6Src);
          const sll = linkOpt(f, "sll", ns ? eth.src : undefined);
          const tll = linkOpt(f, "tll", ns ? undefined : eth.src);
          body = new Uint8Array(16 + (sll ? 8 : 0) + (tll ? 8 : 0));
          body.set(ipv6FromString(target), 0);
          let p = 16;
          for (const [t, m] of [
            [1, sll],
            [2, tll],
          ] as const) {
            if (!m) continue;
            body[p] = t;
            body[p + 1] = 1; // type, length in 8-byte units (RFC 4861 §4.6.1)
            body.set(macFromString(m), p + 2);
            p += 8;
          }
        }
        const fixedRest = f.num("rest", 0, 0xffffffff);
        const repr = {
          type,
          code: f.num("code", 0, 255) ?? 0,
          checksum: f.num("checksum", 0, 0xffff) ?? 0,
          rest: fixedRest ?? rest,
        };
        const hl = ICMPV6_HEADER_LEN + body.length;
        nodes.push({
          name,
          hl,
          emit: (dv, off) => {
            emitIcmpv6(repr, dv, off);
            for (let k = 0; k < body.length; k++) dv.setUint8(off + ICMPV6_HEADER_LEN + k, body[k] as number);
          },
          fill: f.has("checksum")
            ? null
            : (dv, off, r) => {
                const n = hl + r;
                fillAt(dv, off, 2, n, pseudoSum(dv, ipc, IpProto.ICMPV6, n), false);
              },
        });
        break;
      }
      case "gre": {
        const vsid = f.num("vsid", 0, 0xffffff);
        const flowId = f.num("flowId", 0, 255);
        if (flowId !== undefined && vsid === undefined) f.fail("flowId", "needs vsid (NVGRE, RFC 7637 §3.2)");
        let key = f.num("key", 0, 0xffffffff) ?? null;
        if (vsid !== undefined) {
          if (key !== null) f.fail("vsid", "and key cannot both be given: NVGRE's key is vsid << 8 | flowId");
          key = (vsid * 256 + (flowId ?? 0)) >>> 0;
        }
        const checksum = f.num("checksum", 0, 0xffff);
        const csum = f.bool("csum");
        if (checksum !== undefined && csum !== undefined) f.fail("csum", "and checksum cannot both be given");
        const repr: GreRepr = {
          version: 0,
          protocolType: f.num("proto", 0, 0xffff) ?? typeOf(i + 1) ?? EtherType.TEB,
          checksum: checksum ?? (csum ? 0 : null),
          reserved1: 0,
          key,
          seq: f.num("seq", 0, 0xffffffff) ?? null,
          ack: null,
        };
        const hl = greHeaderLen(repr);
        nodes.push({
          name,
          hl,
          emit: (dv, off) => {
            emitGre(repr, dv, off);
          },
          fill: csum
            ? (dv, off, rest) => {
                fillAt(dv, off, 4, hl + rest, 0, false);
              }
            : null, // RFC 2784 §2.5
        });
        break;
      }
      case "vxlan": {
        const repr = { vni: f.num("vni", 0, 0xffffff) ?? 0, flags: f.num("flags", 0, 255) ?? VXLAN_FLAG_I };
        nodes.push({
          name,
          hl: VXLAN_HEADER_LEN,
          emit: (dv, off) => {
            emitVxlan(repr, dv, off);
          },
          fill: null,
        });
        break;
      }
      case "geneve": {
        const options: GeneveOption[] = [];
        const ov = f.obj["options"];
        if (ov !== undefined && ov !== null) {
          const arr: unknown[] = Array.isArray(ov)
            ? ov
            : f.fail("options", `must be a list of {class, type, data}, got ${show(ov)}`);
          arr.forEach((o: unknown, k) => {
            const of = f.nested(["options", k], o, ["class", "type", "data"], `options[${k}]`);
            const cls = of.need("class", 0, 0xffff);
            const typ = of.need("type", 0, 255);
            const data = of.bytes("data") ?? new Uint8Array(0);
            if (data.length % 4 || data.length > GENEVE_MAX_OPTION_DATA_LEN) {
              of.fail(
                "data",
                `must be a multiple of 4 bytes, at most ${GENEVE_MAX_OPTION_DATA_LEN} (RFC 8926 §3.5), got ${data.length}`,
              );
            }
            options.push({ class: cls, type: typ, data });
          });
        }
        const repr = {
          oam: f.bool("oam") ?? false,
          ...(f.has("critical") ? { critical: f.bool("critical") as boolean } : {}),
          protocolType: f.num("proto", 0, 0xffff) ?? typeOf(i + 1) ?? EtherType.TEB,
          vni: f.num("vni", 0, 0xffffff) ?? 0,
          options,
        };
        const hl = geneveHeaderLen(repr);
        if (hl - 8 > GENEVE_MAX_OPTIONS_LEN)
          f.fail("options", `take ${hl - 8} bytes, at most ${GENEVE_MAX_OPTIONS_LEN} (RFC 8926 §3.4)`);
        nodes.push({
          name,
          hl,
          emit: (dv, off) => {
            emitGeneve(repr, dv, off);
          },
          fill: null,
        });
        break;
      }
    }
  }
  let length = payload.length;
  for (const n of nodes) length += n.hl;
  if (length < pad) length = pad;
  if (length > MAX_PACKET_LEN) {
    throw new SpecError(
      `the packet would be ${length} bytes, more than the ${MAX_PACKET_LEN} an IP length field allows`,
      -1,
      [],
    );
  }
  return { length, nodes, payload, offs: new Int32Array(nodes.length) };
}

function arpOp(f: Fields): number {
  const v = f.obj["op"];
  if (v === "request") return ArpOp.REQUEST;
  if (v === "reply") return ArpOp.REPLY;
  return f.num("op", 0, 0xffff) ?? ArpOp.REQUEST;
}

function namedType(f: Fields, table: Readonly<Record<string, number>>): number | undefined {
  const v = f.obj["type"];
  if (typeof v === "string" && toNum(v) === null) {
    const t = table[v.toLowerCase()];
    if (t === undefined) f.fail("type", `must be 0..255 or one of ${Object.keys(table).join(", ")}, got ${show(v)}`);
    return t;
  }
  return f.num("type", 0, 255);
}
const icmpType = (f: Fields): number => namedType(f, ICMP_TYPES) ?? IcmpType.ECHO_REQUEST;
const icmpv6Type = (f: Fields): number => namedType(f, ICMPV6_TYPES) ?? Icmpv6Type.ECHO_REQUEST;
const isNdType = (t: number): boolean =>
  t === Icmpv6Type.NEIGHBOR_SOLICITATION || t === Icmpv6Type.NEIGHBOR_ADVERTISEMENT;

/** A link-layer address option: the given MAC, none for `false`, else the default (or none). */
function linkOpt(f: Fields, k: string, dflt: string | undefined): string | undefined {
  if (f.obj[k] === false) return undefined;
  return f.mac(k) ?? dflt;
}

function flagList(f: Fields, k: string, table: Readonly<Record<string, number>>, max: number): number | undefined {
  const v = f.obj[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number" || (typeof v === "string" && toNum(v) !== null)) return f.num(k, 0, max);
  const list = typeof v === "string" ? v.split(/[\s,|+]+/).filter((x) => x !== "") : v;
  if (!Array.isArray(list))
    f.fail(k, `must be a list of flag names (${Object.keys(table).join(", ")}) or a number, got ${show(v)}`);
  let out = 0;
  list.forEach((x: unknown, j) => {
    const bit = typeof x === "string" ? (table[x] ?? table[x.toUpperCase()] ?? table[x.toLowerCase()]) : undefined;
    if (bit === undefined) f.fail(k, `has an unknown flag ${show(x)}; known: ${Object.keys(table).join(", ")}`, [j]);
    out = (out | bit) >>> 0;
  });
  return out;
}
const tcpFlags = (f: Fields): number | undefined => flagList(f, "flags", TCP_FLAG_NAMES, 0xfff);
const naFlags = (f: Fields): number | undefined => flagList(f, "flags", NA_FLAGS, 0xffffffff);

/**
 * Where a loose or strict source route option (RFC 791 §3.1, types 131 and 137) keeps the final
 * destination, relative to the fixed header's destination field; 0 without one.
 */
function sourceRouteDstRel(options: Uint8Array): number {
  for (let p = 0; p < options.length; ) {
    const type = options[p] as number;
    if (type === 0) break;
    if (type === 1) {
      p++;
      continue;
    }
    const len = options[p + 1] ?? 0;
    if (len < 2 || p + len > options.length) break;
    if ((type === 131 || type === 137) && len >= 7) return IPV4_HEADER_LEN + p + len - 4 - 16;
    p += len;
  }
  return 0;
}

const EXT_PROTO: Readonly<Record<string, number>> = {
  hopopts: IpProto.HOPOPTS,
  routing: IpProto.ROUTING,
  fragment: IpProto.FRAGMENT,
  dstopts: IpProto.DSTOPTS,
};

/**
 * The extension headers as bytes with their Next Header chain filled in (RFC 8200 §4), the
 * fixed header's Next Header, and where the pseudo-header's destination is (relative to the
 * IPv6 header): the final one of a routing header with segments left (RFC 8200 §8.1).
 */
function ipv6Extensions(
  f: Fields,
  upper: number,
  dst: string,
): { headers: Uint8Array[]; firstNh: number; dstRel: number } {
  const v = f.obj["ext"];
  if (v === undefined || v === null) return { headers: [], firstNh: upper, dstRel: 24 };
  if (!Array.isArray(v)) f.fail("ext", `must be a list like [{hopopts: {}}, {fragment: {id: 1}}], got ${show(v)}`);
  const kinds: number[] = [];
  const bodies: Uint8Array[] = [];
  let dstRel = 24;
  let at = IPV6_HEADER_LEN;
  v.forEach((e: unknown, k) => {
    const keys = isObj(e) ? Object.keys(e) : [];
    const kind = keys[0];
    if (keys.length !== 1 || kind === undefined || EXT_PROTO[kind] === undefined) {
      f.failItem(
        "ext",
        k,
        `must be one of {hopopts: {…}}, {dstopts: {…}}, {routing: {…}}, {fragment: {…}}, got ${isObj(e) ? `keys ${keys.join(", ") || "none"}` : show(e)}`,
      );
    }
    const body = (e as Record<string, unknown>)[kind] ?? {};
    let bytes: Uint8Array;
    if (kind === "hopopts" || kind === "dstopts") {
      const ef = f.nested(["ext", k, kind], body, ["options"], `ext[${k}].${kind}`);
      const opts = optionBytes(ef, "options", [0], true);
      // Pad with Pad1/PadN to a multiple of 8 (RFC 8200 §4.2).
      const total = (2 + opts.length + 7) & ~7;
      if (total > 2048) ef.fail("options", "are too long for one header");
      bytes = new Uint8Array(total);
      bytes.set(opts, 2);
      const padLen = total - 2 - opts.length;
      if (padLen === 1) bytes[2 + opts.length] = 0;
      else if (padLen > 1) {
        bytes[2 + opts.length] = 1;
        bytes[3 + opts.length] = padLen - 2;
      }
    } else if (kind === "routing") {
      const ef = f.nested(["ext", k, kind], body, ["type", "segLeft", "addresses"], `ext[${k}].${kind}`);
      const type = ef.num("type", 0, 255) ?? 4;
      const av = ef.obj["addresses"];
      let addrs: string[];
      if (av === undefined || av === null) addrs = [dst];
      else {
        const arr: unknown[] = Array.isArray(av)
          ? av
          : ef.fail("addresses", `must be a list of IPv6 addresses, got ${show(av)}`);
        addrs = arr.map((a, j) => {
          const bad = (): never => ef.failItem("addresses", j, `must be an IPv6 address, got ${show(a)}`);
          if (typeof a !== "string") return bad();
          try {
            ipv6FromString(a);
          } catch {
            bad();
          }
          return a;
        });
      }
      if (addrs.length > 127) ef.fail("addresses", "hold at most 127 addresses");
      const segLeft = ef.num("segLeft", 0, 255) ?? (type === 4 ? 0 : addrs.length);
      // Types 0 and 2 (RFC 2460 §4.4, RFC 6275 §6.4): 4 reserved bytes, then the addresses.
      // Type 4, the SRH (RFC 8754 §2): last entry, flags, tag, then Segment List[0..n-1].
      bytes = new Uint8Array(8 + 16 * addrs.length);
      bytes[1] = 2 * addrs.length;
      bytes[2] = type;
      bytes[3] = segLeft;
      if (type === 4) bytes[4] = Math.max(addrs.length - 1, 0);
      addrs.forEach((a, j) => bytes.set(ipv6FromString(a), 8 + 16 * j));
      if (segLeft > 0 && addrs.length > 0) {
        const finalIndex = type === 4 ? 0 : addrs.length - 1;
        dstRel = at + 8 + 16 * finalIndex;
      }
    } else {
      const ef = f.nested(["ext", k, kind], body, ["offset", "more", "id"], `ext[${k}].${kind}`);
      const offset = ef.num("offset", 0, 0xfff8) ?? 0;
      if (offset % 8) ef.fail("offset", `must be a multiple of 8 (bytes), got ${offset}`);
      bytes = new Uint8Array(8);
      const dv = viewOf(bytes);
      dv.setUint16(2, offset | (ef.bool("more") ? 1 : 0)); // RFC 8200 §4.5
      dv.setUint32(4, ef.num("id", 0, 0xffffffff) ?? 0);
    }
    kinds.push(EXT_PROTO[kind] as number);
    bodies.push(bytes);
    at += bytes.length;
  });
  bodies.forEach((b, k) => {
    b[0] = kinds[k + 1] ?? upper;
  });
  return { headers: bodies, firstNh: kinds[0] ?? upper, dstRel };
}

// --- building ----------------------------------------------------------------------------------

function isCompiled(p: PacketSpec | CompiledPacket): p is CompiledPacket {
  return (p as CompiledPacket).offs instanceof Int32Array;
}

/**
 * Writes the packet at `off` in `dv` and returns its length. Every byte of the packet is written
 * (slots are reused, never zeroed). Give a CompiledPacket to build the same packet repeatedly
 * without validating again.
 */
export function buildInto(spec: PacketSpec | CompiledPacket, dv: DataView, off: number): number {
  const c = isCompiled(spec) ? spec : compilePacket(spec);
  if (off < 0 || off + c.length > dv.byteLength) {
    throw new RangeError(`the packet is ${c.length} bytes; ${Math.max(dv.byteLength - off, 0)} fit at offset ${off}`);
  }
  const nodes = c.nodes;
  let rest = c.payload.length;
  for (const n of nodes) rest += n.hl;
  let p = off;
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i] as Node;
    rest -= n.hl;
    c.offs[i] = p;
    n.emit(dv, p, rest);
    p += n.hl;
  }
  for (let i = 0; i < c.payload.length; i++) dv.setUint8(p + i, c.payload[i] as number);
  for (let q = p + c.payload.length; q < off + c.length; q++) dv.setUint8(q, 0); // padding
  // Innermost first: an outer checksum covers the inner ones.
  let after = c.payload.length;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i] as Node;
    if (n.fill) n.fill(dv, c.offs[i] as number, after);
    after += n.hl;
  }
  return c.length;
}

/** The packet as new bytes. Throws SpecError when the spec is wrong. */
export function buildPacket(spec: PacketSpec | CompiledPacket): Uint8Array {
  const c = isCompiled(spec) ? spec : compilePacket(spec);
  const out = new Uint8Array(c.length);
  buildInto(c, viewOf(out), 0);
  return out;
}

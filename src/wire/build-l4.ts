// The transport layer of compilePacket() (build.ts): UDP, TCP, ICMP and ICMPv6, with the names
// their specs may use for types and flags. UDP, TCP and ICMPv6 sum a pseudo-header over the IP
// header the Compiling context (build-compiled.ts) last saw (build-l3.ts records it); ICMPv6
// neighbor discovery takes its default target and link-layer options from the IPv6 and Ethernet
// headers around it. A UDP layer before VXLAN or GENEVE (build-tunnel.ts) picks that port.

import { ipv4FromString, ipv6FromString, macFromString } from "./bytes.ts";
import { IpProto, UdpPort } from "./numbers.ts";
import { emitUdp, UDP_HEADER_LEN } from "./udp.ts";
import { emitTcp, TCP_HEADER_LEN, TcpFlag } from "./tcp.ts";
import { emitIcmp, ICMP_HEADER_LEN, IcmpType } from "./icmp.ts";
import { emitIcmpv6, ICMPV6_HEADER_LEN, Icmpv6Type } from "./icmpv6.ts";
import { type Fields, flagList, namedType, optionBytes } from "./build-fields.ts";
import { BUILD_DEFAULTS } from "./build-spec.ts";
import { type Compiling, fillAt, type IpInfo, pseudoSum } from "./build-compiled.ts";

/** Compiles layer i, a udp, tcp, icmp or icmpv6 layer. */
export function compileL4(c: Compiling, i: number): void {
  switch (c.names[i]) {
    case "udp":
      return compileUdp(c, i);
    case "tcp":
      return compileTcp(c, i);
    case "icmp":
      return compileIcmp(c, i);
    case "icmpv6":
      return compileIcmpv6(c, i);
    default:
      throw new Error(`layer ${i} (${c.names[i]}) is not a transport layer`);
  }
}

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

const icmpType = (f: Fields): number => namedType(f, ICMP_TYPES) ?? IcmpType.ECHO_REQUEST;
export const icmpv6Type = (f: Fields): number => namedType(f, ICMPV6_TYPES) ?? Icmpv6Type.ECHO_REQUEST;
export const isNdType = (t: number): boolean =>
  t === Icmpv6Type.NEIGHBOR_SOLICITATION || t === Icmpv6Type.NEIGHBOR_ADVERTISEMENT;

/** A link-layer address option: the given MAC, none for `false`, else the default (or none). */
function linkOpt(f: Fields, k: string, dflt: string | undefined): string | undefined {
  if (f.obj[k] === false) return undefined;
  return f.mac(k) ?? dflt;
}

const tcpFlags = (f: Fields): number | undefined => flagList(f, "flags", TCP_FLAG_NAMES, 0xfff);
const naFlags = (f: Fields): number | undefined => flagList(f, "flags", NA_FLAGS, 0xffffffff);

function compileUdp(c: Compiling, i: number): void {
  const f = c.all[i] as Fields;
  const ipc = c.ip as IpInfo;
  const tunnel = c.names[i + 1] === "vxlan" || c.names[i + 1] === "geneve";
  const dstDefault =
    c.names[i + 1] === "vxlan" ? UdpPort.VXLAN : c.names[i + 1] === "geneve" ? UdpPort.GENEVE : BUILD_DEFAULTS.dstPort;
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
  c.nodes.push({
    name: "udp",
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
}

function compileTcp(c: Compiling, i: number): void {
  const f = c.all[i] as Fields;
  const ipc = c.ip as IpInfo;
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
  c.nodes.push({
    name: "tcp",
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
}

function compileIcmp(c: Compiling, i: number): void {
  const f = c.all[i] as Fields;
  const last = i === c.names.length - 1;
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
      (f.num("id", 0, 0xffff) ?? BUILD_DEFAULTS.icmpId) * 0x10000 + (f.num("seq", 0, 0xffff) ?? BUILD_DEFAULTS.icmpSeq);
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
  c.nodes.push({
    name: "icmp",
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
}

function compileIcmpv6(c: Compiling, i: number): void {
  const f = c.all[i] as Fields;
  const last = i === c.names.length - 1;
  const ipc = c.ip as IpInfo;
  const type = icmpv6Type(f);
  const error = type < 128;
  if (!last && !error)
    f.fail("type", `${type} is not an error message, so nothing can follow it; give its data as payload`);
  let rest = 0;
  let body = new Uint8Array(0); // ND target and options, RFC 4861 §4.3/§4.4
  if (type === Icmpv6Type.ECHO_REQUEST || type === Icmpv6Type.ECHO_REPLY) {
    rest =
      (f.num("id", 0, 0xffff) ?? BUILD_DEFAULTS.icmpId) * 0x10000 + (f.num("seq", 0, 0xffff) ?? BUILD_DEFAULTS.icmpSeq);
  } else if (type === Icmpv6Type.PACKET_TOO_BIG) {
    rest = f.num("mtu", 0, 0xffffffff) ?? BUILD_DEFAULTS.icmpv6Mtu;
  } else if (type === Icmpv6Type.PARAMETER_PROBLEM) {
    rest = f.num("pointer", 0, 0xffffffff) ?? 0;
  } else if (isNdType(type) && (f.num("code", 0, 255) ?? 0) === 0) {
    // Only code 0 is a valid NS/NA (RFC 4861 §7.1.1); another code gets the bare header.
    const ns = type === Icmpv6Type.NEIGHBOR_SOLICITATION;
    if (!ns) rest = naFlags(f) ?? NA_FLAGS["solicited"]! + NA_FLAGS["override"]!;
    const target = f.ipv6("target") ?? (ns ? c.ipv6Dst : c.ipv6Src);
    const sll = linkOpt(f, "sll", ns ? c.eth.src : undefined);
    const tll = linkOpt(f, "tll", ns ? undefined : c.eth.src);
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
  c.nodes.push({
    name: "icmpv6",
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
}

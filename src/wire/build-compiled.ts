// The compiled form of a packet description, and what the per-layer compilers share while they
// produce it. compilePacket() (build.ts) walks the layers in order and hands each to the compiler
// of its layer (build-l2.ts, build-l3.ts, build-l4.ts, build-tunnel.ts), which appends a Node:
// its header length, an emitter and, for a checksummed header, a fill step. buildInto() then only
// runs the nodes. The walk carries state from outer to inner layers in a Compiling context: the
// innermost Ethernet and IP headers so far, whose addresses inner layers default to or sum over.

import { csumFinish, csumPartial } from "./checksum.ts";
import { EtherType, IpProto } from "./numbers.ts";
import type { Fields } from "./build-fields.ts";
import type { LayerName } from "./build-spec.ts";

/** What a layer's checksum pass needs to know about the IP header around it. */
export interface IpInfo {
  version: 4 | 6;
  off: number; // absolute offset of the IP header, set when it is written
  srcRel: number; // pseudo-header addresses, relative to the IP header
  dstRel: number; // the final destination of a source route (RFC 791 §3.1, RFC 8200 §8.1)
}

export interface Node {
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

/** compilePacket()'s walk so far, shared by the per-layer compilers. */
export interface Compiling {
  readonly names: readonly LayerName[];
  readonly all: readonly Fields[]; // each layer's fields, checked for unknown keys up front
  readonly payload: Uint8Array;
  readonly nodes: Node[];
  /** The innermost Ethernet header so far: ARP and neighbor discovery default to its addresses. */
  eth: { src: string; dst: string };
  /** The innermost IP header so far: the pseudo-header of UDP, TCP and ICMPv6 checksums. */
  ip: IpInfo | null;
  ipv6Src: string; // an NA's default target
  ipv6Dst: string; // an NS's default target
}

/** The EtherType that announces layer i (for eth/vlan/gre/geneve "type" inference). */
export function typeOf(c: Compiling, i: number): number | undefined {
  const n = c.names[i];
  if (n === undefined) return undefined;
  switch (n) {
    case "vlan":
      return c.all[i]?.num("tpid", 0, 0xffff) ?? (c.names[i + 1] === "vlan" ? EtherType.QINQ : EtherType.VLAN);
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
}

/** The IP protocol number of layer i. */
export function protoOf(c: Compiling, i: number): number | undefined {
  switch (c.names[i]) {
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
}

/** Pseudo-header partial sum (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1) for `len` bytes of `proto`. */
export function pseudoSum(dv: DataView, ip: IpInfo, proto: number, len: number): number {
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
export function fillAt(dv: DataView, off: number, at: number, len: number, acc: number, zeroAsOnes: boolean): void {
  dv.setUint16(off + at, 0);
  const c = csumFinish(csumPartial(dv, off, len, acc));
  dv.setUint16(off + at, c === 0 && zeroAsOnes ? 0xffff : c);
}

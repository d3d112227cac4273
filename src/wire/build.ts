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
//
// This module is the entry point; the work is split by job. build-spec.ts holds the description
// (types, defaults, SpecError), build-fields.ts reads and checks its fields, build-compiled.ts
// the compiled form; build-l2.ts, build-l3.ts, build-l4.ts and build-tunnel.ts compile one layer
// each, called in order by compilePacket() below.

import { viewOf } from "./bytes.ts";
import { Fields, isObj, payloadBytes, show, toNum } from "./build-fields.ts";
import {
  BUILD_DEFAULTS,
  LAYER_FIELDS,
  LAYER_NAMES,
  type LayerName,
  NEXT,
  type PacketSpec,
  SpecError,
} from "./build-spec.ts";
import type { CompiledPacket, Compiling, Node } from "./build-compiled.ts";
import { compileL2 } from "./build-l2.ts";
import { compileL3 } from "./build-l3.ts";
import { compileL4 } from "./build-l4.ts";
import { compileTunnel } from "./build-tunnel.ts";

export {
  type ArpSpec,
  BUILD_DEFAULTS,
  type EthSpec,
  type GeneveSpec,
  type GreSpec,
  type HexSpec,
  type IcmpSpec,
  type Icmpv6Spec,
  type Ipv4Spec,
  type Ipv6ExtSpec,
  type Ipv6Spec,
  LAYER_NAMES,
  type LayerName,
  type LayerSpec,
  type Num,
  type OptionsSpec,
  type PacketSpec,
  type PayloadSpec,
  SpecError,
  type TcpSpec,
  type UdpSpec,
  type VxlanSpec,
} from "./build-spec.ts";
export type { CompiledPacket } from "./build-compiled.ts";

/** 65535 bytes of IP datagram (RFC 791, RFC 8200 without jumbograms) after up to 64 bytes of link headers. */
const MAX_PACKET_LEN = 0xffff + 64;

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

  const c: Compiling = {
    names,
    all,
    payload,
    nodes: [],
    eth: { src: BUILD_DEFAULTS.ethSrc, dst: BUILD_DEFAULTS.ethDst },
    ip: null,
    ipv6Src: "",
    ipv6Dst: "",
  };
  // Outermost first: a layer's defaults come from the headers around it (addresses, the IP
  // header of a checksum) and from the name of the one after it (next-protocol fields).
  for (let i = 0; i < names.length; i++) {
    switch (names[i] as LayerName) {
      case "eth":
      case "vlan":
      case "arp":
        compileL2(c, i);
        break;
      case "ipv4":
      case "ipv6":
        compileL3(c, i);
        break;
      case "udp":
      case "tcp":
      case "icmp":
      case "icmpv6":
        compileL4(c, i);
        break;
      case "gre":
      case "vxlan":
      case "geneve":
        compileTunnel(c, i);
        break;
    }
  }
  const nodes = c.nodes;
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

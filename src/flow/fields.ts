// Match fields by their Open vSwitch names, mapped onto the flow key layout of key.ts.
//
// One table serves the OpenFlow flow language (ofctl.ts: `nw_dst=10.0.0.0/24`), the actions that
// name a field (actions.ts: `set_field:…->tun_id`, `load:…->NXM_NX_REG0[0..7]`) and anything else
// that must turn a field name into words and bits. Each field carries what Open vSwitch's
// meta-flow.h carries for it: its canonical name (the one `set_field` prints), the names users
// may type instead, its NXM/OXM name (the one `load`/`move` print), its width in bytes (the one
// OVS's "value too large for N-byte field" error counts), how its value is written, whether a
// mask is allowed, and its prerequisite.
//
// Values are bigints here: this is tool code (parsing what a user typed), never the per-packet
// path, and 64- and 128-bit fields (tun_id, metadata, IPv6 addresses) need them.

import {
  bigToWords,
  FLOW_WORDS,
  SUBFIELD,
  u32,
  W,
  wordsToBig,
  type FlowKey,
  type FlowMask,
  type WordField,
  VLAN_CFI,
} from "./key.ts";
import {
  bigFromBytes,
  bigToBytes,
  ipv4FromString,
  ipv4NumToString,
  ipv6FromString,
  ipv6ToString,
  macFromString,
  macToString,
  viewOf,
} from "../wire/bytes.ts";
import { EtherType } from "../wire/numbers.ts";

/** Where a field's bits live in the key. */
export type FieldLoc =
  | { readonly t: "sub"; readonly f: WordField } // inside one word
  | { readonly t: "words"; readonly word: number; readonly n: number } // n whole words, big-endian
  | { readonly t: "mac"; readonly word: number }; // the HI (16 bits) / LO (32 bits) pair of key.ts

/** How a value is written and printed, after Open vSwitch's enum mf_string. */
export type FieldFormat = "dec" | "hex" | "mac" | "ipv4" | "ipv6" | "port" | "frag" | "tcp_flags" | "tun_flags";

/**
 * A field's prerequisite, after Open vSwitch's enum mf_prereqs. OpenFlow matches that name a
 * field without its prerequisite are normalised (the field is dropped, as ovs-ofctl does); a
 * set_field/load on such a field is refused ("set_field tcp_src lacks correct prerequisites").
 */
export type Prereq =
  | "none"
  | "vlan"
  | "arp"
  | "ipv4"
  | "ipv6"
  | "ip_any"
  | "ip_or_arp"
  | "tcp"
  | "udp"
  | "sctp"
  | "icmpv4"
  | "icmpv6"
  | "nd"
  | "nd_solicit"
  | "nd_advert";

export interface FieldSpec {
  readonly name: string; // Open vSwitch's canonical name (mf->name), printed by set_field
  readonly aliases: readonly string[]; // other names ovs-ofctl accepts for it
  readonly nxm: string; // NXM/OXM name printed by load, move, push and pop
  readonly bytes: number; // mf->n_bytes: the width OVS's range errors report
  readonly bits: number; // mf->n_bits: the width of subfield ranges [a..b]
  readonly loc: FieldLoc;
  readonly format: FieldFormat;
  readonly maskable: boolean;
  readonly prereq: Prereq;
  readonly writable: boolean; // OVS answers "X is read-only" to set_field on the others
}

const sub = (f: WordField): FieldLoc => ({ t: "sub", f });
const words = (word: number, n: number): FieldLoc => ({ t: "words", word, n });
const mac = (word: number): FieldLoc => ({ t: "mac", word });

function spec(
  name: string,
  aliases: string[],
  nxm: string,
  bytes: number,
  bits: number,
  loc: FieldLoc,
  format: FieldFormat,
  maskable: boolean,
  prereq: Prereq,
  writable = true,
): FieldSpec {
  return { name, aliases, nxm, bytes, bits, loc, format, maskable, prereq, writable };
}

const TP_SRC = sub(SUBFIELD.tp_src);
const TP_DST = sub(SUBFIELD.tp_dst);

/** Every field the emulator's key can hold, in Open vSwitch's meta-flow order. */
export const FIELDS: readonly FieldSpec[] = [
  spec("recirc_id", [], "NXM_NX_RECIRC_ID", 4, 32, words(W.RECIRC_ID, 1), "dec", false, "none", false),
  spec("tun_id", ["tunnel_id"], "NXM_NX_TUN_ID", 8, 64, words(W.TUN_ID_HI, 2), "hex", true, "none"),
  spec("tun_src", [], "NXM_NX_TUN_IPV4_SRC", 4, 32, words(W.TUN_SRC, 1), "ipv4", true, "none"),
  spec("tun_dst", [], "NXM_NX_TUN_IPV4_DST", 4, 32, words(W.TUN_DST, 1), "ipv4", true, "none"),
  spec("tun_ipv6_src", [], "NXM_NX_TUN_IPV6_SRC", 16, 128, words(W.TUN_IPV6_SRC, 4), "ipv6", true, "none"),
  spec("tun_ipv6_dst", [], "NXM_NX_TUN_IPV6_DST", 16, 128, words(W.TUN_IPV6_DST, 4), "ipv6", true, "none"),
  spec("tun_flags", [], "NXM_NX_TUN_FLAGS", 2, 16, sub(SUBFIELD.tun_flags), "tun_flags", true, "none"),
  spec("tun_ttl", [], "NXM_NX_TUN_TTL", 1, 8, sub(SUBFIELD.tun_ttl), "dec", false, "none", false),
  spec("tun_tos", [], "NXM_NX_TUN_TOS", 1, 8, sub(SUBFIELD.tun_tos), "dec", false, "none", false),
  spec("tun_gbp_id", [], "NXM_NX_TUN_GBP_ID", 2, 16, sub(SUBFIELD.tun_gbp_id), "dec", true, "none"),
  spec("tun_gbp_flags", [], "NXM_NX_TUN_GBP_FLAGS", 1, 8, sub(SUBFIELD.tun_gbp_flags), "dec", true, "none"),
  ...Array.from({ length: 8 }, (_, i) =>
    spec(`tun_metadata${i}`, [], `NXM_NX_TUN_METADATA${i}`, 4, 32, words(W.TUN_METADATA + i, 1), "hex", true, "none"),
  ),
  spec("metadata", [], "OXM_OF_METADATA", 8, 64, words(W.METADATA_HI, 2), "hex", true, "none"),
  spec("in_port", [], "NXM_OF_IN_PORT", 2, 16, words(W.IN_PORT, 1), "port", false, "none"),
  spec("pkt_mark", [], "NXM_NX_PKT_MARK", 4, 32, words(W.PKT_MARK, 1), "hex", true, "none"),
  ...Array.from({ length: 8 }, (_, i) =>
    spec(`reg${i}`, [], `NXM_NX_REG${i}`, 4, 32, words(W.REG0 + i, 1), "hex", true, "none"),
  ),
  spec("eth_src", ["dl_src"], "NXM_OF_ETH_SRC", 6, 48, mac(W.DL_SRC_HI), "mac", true, "none"),
  spec("eth_dst", ["dl_dst"], "NXM_OF_ETH_DST", 6, 48, mac(W.DL_DST_HI), "mac", true, "none"),
  spec("eth_type", ["dl_type"], "NXM_OF_ETH_TYPE", 2, 16, sub(SUBFIELD.dl_type), "hex", false, "none", false),
  spec("vlan_tci", [], "NXM_OF_VLAN_TCI", 2, 16, sub({ word: W.VLAN0, shift: 0, bits: 16 }), "hex", true, "none"),
  spec("dl_vlan", [], "", 2, 12, sub({ word: W.VLAN0, shift: 0, bits: 12 }), "dec", false, "none"),
  spec("vlan_vid", [], "OXM_OF_VLAN_VID", 2, 12, sub({ word: W.VLAN0, shift: 0, bits: 13 }), "dec", true, "vlan"),
  spec("dl_vlan_pcp", [], "", 1, 3, sub({ word: W.VLAN0, shift: 13, bits: 3 }), "dec", false, "none"),
  spec("vlan_pcp", [], "OXM_OF_VLAN_PCP", 1, 3, sub({ word: W.VLAN0, shift: 13, bits: 3 }), "dec", false, "vlan"),
  spec("ip_src", ["nw_src"], "NXM_OF_IP_SRC", 4, 32, words(W.NW_SRC, 1), "ipv4", true, "ipv4"),
  spec("ip_dst", ["nw_dst"], "NXM_OF_IP_DST", 4, 32, words(W.NW_DST, 1), "ipv4", true, "ipv4"),
  spec("ipv6_src", [], "NXM_NX_IPV6_SRC", 16, 128, words(W.IPV6_SRC, 4), "ipv6", true, "ipv6"),
  spec("ipv6_dst", [], "NXM_NX_IPV6_DST", 16, 128, words(W.IPV6_DST, 4), "ipv6", true, "ipv6"),
  spec("ipv6_label", [], "NXM_NX_IPV6_LABEL", 4, 20, sub(SUBFIELD.ipv6_label), "hex", true, "ipv6"),
  spec("nw_proto", ["ip_proto"], "NXM_OF_IP_PROTO", 1, 8, sub(SUBFIELD.nw_proto), "dec", false, "ip_any", false),
  spec("nw_ttl", [], "NXM_NX_IP_TTL", 1, 8, sub(SUBFIELD.nw_ttl), "dec", false, "ip_any"),
  spec("ip_frag", ["nw_frag"], "NXM_NX_IP_FRAG", 1, 2, sub(SUBFIELD.nw_frag), "frag", true, "ip_any", false),
  spec("nw_tos", [], "NXM_OF_IP_TOS", 1, 8, sub(SUBFIELD.nw_tos), "dec", false, "ip_any"),
  spec(
    "ip_dscp",
    [],
    "OXM_OF_IP_DSCP",
    1,
    6,
    sub({ word: W.NW_PROTO_TOS_TTL_FRAG, shift: 18, bits: 6 }),
    "dec",
    false,
    "ip_any",
  ),
  spec(
    "nw_ecn",
    ["ip_ecn"],
    "NXM_NX_IP_ECN",
    1,
    2,
    sub({ word: W.NW_PROTO_TOS_TTL_FRAG, shift: 16, bits: 2 }),
    "dec",
    false,
    "ip_any",
  ),
  spec("arp_op", [], "NXM_OF_ARP_OP", 2, 16, sub(SUBFIELD.nw_proto), "dec", false, "arp"),
  spec("arp_spa", [], "NXM_OF_ARP_SPA", 4, 32, words(W.NW_SRC, 1), "ipv4", true, "arp"),
  spec("arp_tpa", [], "NXM_OF_ARP_TPA", 4, 32, words(W.NW_DST, 1), "ipv4", true, "arp"),
  spec("arp_sha", [], "NXM_NX_ARP_SHA", 6, 48, mac(W.ARP_SHA_HI), "mac", true, "arp"),
  spec("arp_tha", [], "NXM_NX_ARP_THA", 6, 48, mac(W.ARP_THA_HI), "mac", true, "arp"),
  spec("tcp_src", ["tp_src"], "NXM_OF_TCP_SRC", 2, 16, TP_SRC, "dec", true, "tcp"),
  spec("tcp_dst", ["tp_dst"], "NXM_OF_TCP_DST", 2, 16, TP_DST, "dec", true, "tcp"),
  spec("tcp_flags", [], "NXM_NX_TCP_FLAGS", 2, 12, sub(SUBFIELD.tcp_flags), "tcp_flags", true, "tcp", false),
  spec("udp_src", [], "NXM_OF_UDP_SRC", 2, 16, TP_SRC, "dec", true, "udp"),
  spec("udp_dst", [], "NXM_OF_UDP_DST", 2, 16, TP_DST, "dec", true, "udp"),
  spec("sctp_src", [], "OXM_OF_SCTP_SRC", 2, 16, TP_SRC, "dec", true, "sctp"),
  spec("sctp_dst", [], "OXM_OF_SCTP_DST", 2, 16, TP_DST, "dec", true, "sctp"),
  spec("icmp_type", ["icmpv4_type"], "NXM_OF_ICMP_TYPE", 1, 8, TP_SRC, "dec", false, "icmpv4"),
  spec("icmp_code", ["icmpv4_code"], "NXM_OF_ICMP_CODE", 1, 8, TP_DST, "dec", false, "icmpv4"),
  spec("icmpv6_type", [], "NXM_NX_ICMPV6_TYPE", 1, 8, TP_SRC, "dec", false, "icmpv6"),
  spec("icmpv6_code", [], "NXM_NX_ICMPV6_CODE", 1, 8, TP_DST, "dec", false, "icmpv6"),
  spec("nd_target", [], "NXM_NX_ND_TARGET", 16, 128, words(W.ND_TARGET, 4), "ipv6", true, "nd"),
  spec("nd_sll", [], "NXM_NX_ND_SLL", 6, 48, mac(W.ARP_SHA_HI), "mac", true, "nd_solicit"),
  spec("nd_tll", [], "NXM_NX_ND_TLL", 6, 48, mac(W.ARP_THA_HI), "mac", true, "nd_advert"),
];

const BY_NAME = new Map<string, FieldSpec>();
for (const f of FIELDS) {
  BY_NAME.set(f.name, f);
  for (const a of f.aliases) BY_NAME.set(a, f);
  if (f.nxm) BY_NAME.set(f.nxm, f);
}

/** A field by any of its names (canonical, alias, NXM/OXM), or undefined. */
export function fieldByName(name: string): FieldSpec | undefined {
  return BY_NAME.get(name);
}

/** A field that must exist (for code naming fields it knows); throws on a typo. */
export function field(name: string): FieldSpec {
  const f = BY_NAME.get(name);
  if (!f) throw new Error(`unknown field ${name}`);
  return f;
}

// --- reading and writing a field's bits in a key (or mask) ------------------------------------

/** Width in bits of the key space a field occupies (icmp_type is 8 bits wide but owns tp_src). */
export function locBits(loc: FieldLoc): number {
  return loc.t === "sub" ? loc.f.bits : loc.t === "mac" ? 48 : 32 * loc.n;
}

export function readLoc(key: Uint32Array, loc: FieldLoc): bigint {
  switch (loc.t) {
    case "sub": {
      const v = u32(key, loc.f.word) >>> loc.f.shift;
      return BigInt(loc.f.bits === 32 ? v >>> 0 : v & ((1 << loc.f.bits) - 1));
    }
    case "mac":
      return (BigInt(u32(key, loc.word) & 0xffff) << 32n) | BigInt(u32(key, loc.word + 1));
    case "words":
      return wordsToBig(key, loc.word, loc.n);
  }
}

/** Replace the bits of `loc` selected by `bitMask` (in field coordinates) with those of `value`. */
export function writeLoc(key: Uint32Array, loc: FieldLoc, value: bigint, bitMask: bigint = -1n): void {
  const width = locBits(loc);
  const all = (1n << BigInt(width)) - 1n;
  const m = bitMask & all;
  const v = (readLoc(key, loc) & ~m) | (value & m);
  switch (loc.t) {
    case "sub": {
      const fm = ((loc.f.bits === 32 ? 0xffffffff : (1 << loc.f.bits) - 1) << loc.f.shift) >>> 0;
      key[loc.f.word] = ((u32(key, loc.f.word) & ~fm) | ((Number(v) << loc.f.shift) & fm)) >>> 0;
      return;
    }
    case "mac":
      key[loc.word] = ((u32(key, loc.word) & 0xffff0000) | Number(v >> 32n)) >>> 0;
      key[loc.word + 1] = Number(v & 0xffffffffn);
      return;
    case "words":
      bigToWords(key, loc.word, loc.n, v);
  }
}

/** Set a field in a match: key bits under `mask` take `value`, and the mask gains those bits. */
export function setMasked(key: FlowKey, mask: FlowMask, loc: FieldLoc, value: bigint, m: bigint): void {
  writeLoc(key, loc, value & m, m);
  writeLoc(mask, loc, readLoc(mask, loc) | m);
}

export function newMatch(): { key: FlowKey; mask: FlowMask } {
  return { key: new Uint32Array(FLOW_WORDS), mask: new Uint32Array(FLOW_WORDS) };
}

// --- value text -------------------------------------------------------------------------------

/** OpenFlow reserved port numbers (OpenFlow 1.0 numbering, as ovs-ofctl prints them). */
export const OfPort = {
  MAX: 0xff00,
  IN_PORT: 0xfff8,
  TABLE: 0xfff9,
  NORMAL: 0xfffa,
  FLOOD: 0xfffb,
  ALL: 0xfffc,
  CONTROLLER: 0xfffd,
  LOCAL: 0xfffe,
  NONE: 0xffff, // printed "ANY" in a match, "NONE" elsewhere
} as const;

const PORT_NAMES: Readonly<Record<string, number>> = {
  IN_PORT: OfPort.IN_PORT,
  TABLE: OfPort.TABLE,
  NORMAL: OfPort.NORMAL,
  FLOOD: OfPort.FLOOD,
  ALL: OfPort.ALL,
  CONTROLLER: OfPort.CONTROLLER,
  LOCAL: OfPort.LOCAL,
  ANY: OfPort.NONE,
  NONE: OfPort.NONE,
};

/**
 * An OpenFlow port as ovs-ofctl reads it: a reserved name (any case), a decimal number below
 * 0xff00 or one of the reserved numbers, or a 32-bit OpenFlow 1.1 number. null if none of those.
 */
export function parsePort(text: string): number | null {
  const named = PORT_NAMES[text.toUpperCase()];
  if (named !== undefined) return named;
  if (!/^\d+$/.test(text)) return null; // ovs-ofctl refuses "0xfffe" for a port too
  const n = Number(text);
  if (n < 0x10000) return n;
  // OpenFlow 1.1 numbers: 0xffffff00 and up are the reserved ports, the rest must fit 16 bits.
  if (n >= 0xffffff00 && n <= 0xffffffff) return n - 0xffff0000;
  return null;
}

/** ofputil_format_port: a reserved port by name, others as a decimal number. */
export function portToString(port: number): string {
  switch (port) {
    case OfPort.IN_PORT:
      return "IN_PORT";
    case OfPort.TABLE:
      return "TABLE";
    case OfPort.NORMAL:
      return "NORMAL";
    case OfPort.FLOOD:
      return "FLOOD";
    case OfPort.ALL:
      return "ALL";
    case OfPort.CONTROLLER:
      return "CONTROLLER";
    case OfPort.LOCAL:
      return "LOCAL";
    case OfPort.NONE:
      return "ANY";
    default:
      return String(port);
  }
}

/** Unsigned integer text as OVS reads it: decimal, or hex with 0x. null if neither. */
export function parseUint(text: string): bigint | null {
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return BigInt(text);
  if (/^\d+$/.test(text)) return BigInt(text);
  return null;
}

export function macBigFromString(text: string): bigint | null {
  try {
    return bigFromBytes(macFromString(text));
  } catch {
    return null;
  }
}

export function macBigToString(v: bigint): string {
  return macToString(viewOf(bigToBytes(v, 6)), 0);
}

export function ipv6BigFromString(text: string): bigint | null {
  try {
    return bigFromBytes(ipv6FromString(text));
  } catch {
    return null;
  }
}

export function ipv6BigToString(v: bigint): string {
  return ipv6ToString(viewOf(bigToBytes(v, 16)), 0);
}

export function ipv4BigFromString(text: string): bigint | null {
  try {
    return BigInt(ipv4FromString(text));
  } catch {
    return null;
  }
}

/** If `mask` (of `width` bits) is a run of ones from the top, its length; otherwise -1. */
export function prefixLen(mask: bigint, width: number): number {
  const all = (1n << BigInt(width)) - 1n;
  const inv = ~mask & all;
  if ((inv & (inv + 1n)) !== 0n) return -1;
  let n = 0;
  for (let x = inv; x; x >>= 1n) n++;
  return width - n;
}

export function prefixMask(len: number, width: number): bigint {
  const all = (1n << BigInt(width)) - 1n;
  return len === 0 ? 0n : (all << BigInt(width - len)) & all;
}

/** ip_format_masked: "a.b.c.d", "a.b.c.d/len", or "a.b.c.d/m.m.m.m" for a non-prefix mask. */
export function ipv4MaskedToString(v: bigint, m: bigint): string {
  const a = ipv4NumToString(Number(v));
  if (m === 0xffffffffn) return a;
  const len = prefixLen(m, 32);
  return len >= 0 ? `${a}/${len}` : `${a}/${ipv4NumToString(Number(m))}`;
}

export function ipv6MaskedToString(v: bigint, m: bigint): string {
  const a = ipv6BigToString(v);
  const all = (1n << 128n) - 1n;
  if (m === all) return a;
  const len = prefixLen(m, 128);
  return len >= 0 ? `${a}/${len}` : `${a}/${ipv6BigToString(m)}`;
}

export function macMaskedToString(v: bigint, m: bigint): string {
  return m === 0xffffffffffffn ? macBigToString(v) : `${macBigToString(v)}/${macBigToString(m)}`;
}

/** TCP flag names by bit, packet_tcp_flag_to_string. */
const TCP_FLAG_NAMES = ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns"] as const;
/** Tunnel flag names by bit, flow_tun_flag_to_string (bits as in key.ts TunFlag). */
const TUN_FLAG_NAMES = ["oam", "df", "csum", "key"] as const;
/** Tunnel flags an OpenFlow match may name (FLOW_TNL_PUB_F_MASK); all four print. */
export const TUN_FLAGS_PUB_MASK = 0x1;
export const TUN_FLAGS_ALL_MASK = 0xf;
export const TCP_FLAGS_MASK = 0xfff;

function flagName(names: readonly string[], bit: number): string {
  const i = 31 - Math.clz32(bit);
  return names[i] ?? `0x${bit.toString(16)}`;
}

/** format_flags: names joined by '|', "0" for none. */
export function flagsToString(names: readonly string[], flags: number): string {
  if (!flags) return "0";
  const parts: string[] = [];
  for (let bits = flags; bits; bits &= bits - 1) parts.push(flagName(names, bits & -bits));
  return parts.join("|");
}

/** format_flags_masked: full mask as format_flags, else +name/-name per masked bit, low first. */
export function flagsMaskedToString(names: readonly string[], flags: number, mask: number, max: number): string {
  if (mask === max) return flagsToString(names, flags);
  if (!mask) return "0/0";
  let s = "";
  for (let bits = mask; bits; bits &= bits - 1) {
    const bit = bits & -bits;
    s += `${flags & bit ? "+" : "-"}${flagName(names, bit)}`;
  }
  return s;
}

export function tcpFlagsToString(flags: number, mask: number): string {
  return flagsMaskedToString(TCP_FLAG_NAMES, flags, mask, TCP_FLAGS_MASK);
}

export function tunFlagsToString(flags: number, mask: number): string {
  return flagsMaskedToString(TUN_FLAG_NAMES, flags, mask, TUN_FLAGS_ALL_MASK);
}

/**
 * parse_flags: "syn|ack" (exact, mask = all allowed), "+syn-ack" (only the named bits), or a
 * number with optional /mask. Returns [value, mask] or an error message in OVS's words.
 */
export function parseFlags(
  text: string,
  names: readonly string[],
  allowed: number,
  what: string,
): [number, number] | string {
  const num = /^(0[xX][0-9a-fA-F]+|\d+)(?:\/(0[xX][0-9a-fA-F]+|\d+))?$/.exec(text);
  if (num) {
    const v = Number(num[1]);
    const m = num[2] === undefined ? allowed : Number(num[2]);
    if ((v | m) & ~allowed) return `${text}: value too large for ${what}`;
    return [v & m, m];
  }
  const lookup = (n: string): number => {
    const i = names.indexOf(n);
    return i >= 0 && (1 << i) & allowed ? 1 << i : 0;
  };
  if (text.startsWith("+") || text.startsWith("-")) {
    let v = 0;
    let m = 0;
    for (const part of text.matchAll(/([+-])([^+-]*)/g)) {
      const bit = lookup(part[2] as string);
      if (!bit) return `${part[2]}: unknown ${what}(s)`;
      if (m & bit) return `${part[2]}: Each ${what} can be specified only once`;
      m |= bit;
      if (part[1] === "+") v |= bit;
    }
    return [v, m];
  }
  let v = 0;
  for (const n of text.split("|")) {
    if (n === "0") continue;
    const bit = lookup(n);
    if (!bit) return `${n}: unknown ${what}(s)`;
    v |= bit;
  }
  return [v, allowed];
}

export const TCP_FLAG_LIST: readonly string[] = TCP_FLAG_NAMES;
export const TUN_FLAG_LIST: readonly string[] = TUN_FLAG_NAMES;

/** nw_frag keywords and the value/mask each stands for (NwFrag bits of key.ts). */
export const FRAG_KEYWORDS: Readonly<Record<string, readonly [number, number]>> = {
  no: [0, 1],
  yes: [1, 1],
  first: [1, 3],
  later: [3, 3],
  not_later: [0, 2],
};

/**
 * A field value with optional "/mask" as `mf_parse` reads it. Returns [value, mask] in the
 * field's own bit coordinates (0..bits-1), or an error message worded as ovs-ofctl words it.
 */
export function parseFieldValue(f: FieldSpec, text: string): [bigint, bigint] | string {
  const full = (1n << BigInt(f.format === "port" ? 16 : f.bytes * 8)) - 1n;
  switch (f.format) {
    case "frag": {
      const kv = FRAG_KEYWORDS[text];
      if (!kv) return `${text}: unknown fragment type (valid types are "no", "yes", "first", "later", "not_later"`;
      return [BigInt(kv[0]), BigInt(kv[1])];
    }
    case "tcp_flags": {
      const r = parseFlags(text, TCP_FLAG_NAMES, TCP_FLAGS_MASK, "TCP flag");
      return typeof r === "string" ? r : [BigInt(r[0]), BigInt(r[1])];
    }
    case "tun_flags": {
      const r = parseFlags(text, TUN_FLAG_NAMES, TUN_FLAGS_PUB_MASK, "tunnel flag");
      return typeof r === "string" ? r : [BigInt(r[0]), BigInt(r[1])];
    }
    case "port": {
      const p = parsePort(text);
      if (p === null) return `${text}: invalid or unknown port for ${f.name}`;
      return [BigInt(p), 0xffffn];
    }
    default:
  }
  const slash = text.indexOf("/");
  const vText = slash < 0 ? text : text.slice(0, slash);
  const mText = slash < 0 ? null : text.slice(slash + 1);
  if (mText !== null && !f.maskable) return `${f.name} does not support masking`;
  switch (f.format) {
    case "mac": {
      const v = macBigFromString(vText);
      if (v === null) return `${text}: invalid Ethernet address`;
      if (mText === null) return [v, full];
      const m = macBigFromString(mText);
      if (m === null) return `${text}: invalid Ethernet address`;
      return [v & m, m];
    }
    case "ipv4": {
      const v = ipv4BigFromString(vText);
      if (v === null) return `${text}: invalid IP address`;
      if (mText === null) return [v, full];
      if (/^\d+$/.test(mText)) {
        const len = Number(mText);
        if (len > 32) return `${text}: IPv4 network prefix bits not between 0 and 32, inclusive`;
        const m = prefixMask(len, 32);
        return [v & m, m];
      }
      const m = ipv4BigFromString(mText);
      if (m === null) return `${text}: invalid IP address`;
      return [v & m, m];
    }
    case "ipv6": {
      const v = ipv6BigFromString(vText);
      if (v === null) return `${text}: invalid IPv6 address`;
      if (mText === null) return [v, full];
      if (/^\d+$/.test(mText)) {
        const len = Number(mText);
        if (len > 128) return `${text}: IPv6 network prefix bits not between 0 and 128, inclusive`;
        const m = prefixMask(len, 128);
        return [v & m, m];
      }
      const m = ipv6BigFromString(mText);
      if (m === null) return `${text}: invalid IPv6 address`;
      return [v & m, m];
    }
    default: {
      const v = parseUint(vText);
      if (v === null) return `invalid numeric format ${vText}`;
      if (v > full) return `${vText}: value too large for ${f.bytes}-byte field ${f.name}`;
      if (mText === null) return [v, full];
      const m = parseUint(mText);
      if (m === null) return `invalid numeric format ${mText}`;
      if (m > full) return `${mText}: value too large for ${f.bytes}-byte field ${f.name}`;
      return [v & m, m];
    }
  }
}

/** mf_format: a value (and mask, omitted when exact) in the field's own text form. */
export function formatFieldValue(f: FieldSpec, v: bigint, m?: bigint): string {
  const full = (1n << BigInt(f.format === "port" ? 16 : f.bytes * 8)) - 1n;
  const exact = m === undefined || m === full;
  switch (f.format) {
    case "mac":
      return exact ? macBigToString(v) : macMaskedToString(v, m);
    case "ipv4":
      return exact ? ipv4NumToString(Number(v)) : ipv4MaskedToString(v, m);
    case "ipv6":
      return exact ? ipv6BigToString(v) : ipv6MaskedToString(v, m);
    case "port":
      return portToString(Number(v));
    case "tcp_flags":
      return tcpFlagsToString(Number(v), exact ? TCP_FLAGS_MASK : Number(m));
    case "tun_flags":
      return tunFlagsToString(Number(v), exact ? TUN_FLAGS_ALL_MASK : Number(m));
    case "frag":
      return String(v);
    case "hex":
      return exact ? `0x${v.toString(16)}` : `0x${v.toString(16)}/0x${m.toString(16)}`;
    case "dec":
      return exact ? String(v) : `0x${v.toString(16)}/0x${m.toString(16)}`;
  }
}

/** Whether a match (key + mask) satisfies a prerequisite, as mf_are_prereqs_ok decides. */
export function prereqsOk(p: Prereq, key: FlowKey, mask: FlowMask): boolean {
  const dlType = u32(mask, W.DL_TYPE) & 0xffff ? u32(key, W.DL_TYPE) & 0xffff : -1;
  const proto = u32(mask, W.NW_PROTO_TOS_TTL_FRAG) >>> 24 ? u32(key, W.NW_PROTO_TOS_TTL_FRAG) >>> 24 : -1;
  const tpSrc = u32(mask, W.TP) >>> 16 === 0xffff ? u32(key, W.TP) >>> 16 : -1;
  const ip4 = dlType === EtherType.IPV4;
  const ip6 = dlType === EtherType.IPV6;
  switch (p) {
    case "none":
      return true;
    case "vlan":
      return (u32(mask, W.VLAN0) & VLAN_CFI) !== 0 && (u32(key, W.VLAN0) & VLAN_CFI) !== 0;
    case "arp":
      return dlType === EtherType.ARP || dlType === EtherType.RARP;
    case "ipv4":
      return ip4;
    case "ipv6":
      return ip6;
    case "ip_any":
      return ip4 || ip6;
    case "ip_or_arp":
      return ip4 || dlType === EtherType.ARP || dlType === EtherType.RARP;
    case "tcp":
      return (ip4 || ip6) && proto === 6;
    case "udp":
      return (ip4 || ip6) && proto === 17;
    case "sctp":
      return (ip4 || ip6) && proto === 132;
    case "icmpv4":
      return ip4 && proto === 1;
    case "icmpv6":
      return ip6 && proto === 58;
    case "nd":
      return ip6 && proto === 58 && (tpSrc === 135 || tpSrc === 136);
    case "nd_solicit":
      return ip6 && proto === 58 && tpSrc === 135;
    case "nd_advert":
      return ip6 && proto === 58 && tpSrc === 136;
  }
}

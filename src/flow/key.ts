// The flow key: one fixed layout of 32-bit words shared by every table and tier.
//
// Open vSwitch keeps one `struct flow` for the OpenFlow classifier, the datapath megaflow cache
// and (through tc flower or rte_flow) the hardware; a NIC entry, a megaflow and an OpenFlow match
// then compare word by word, and a mask is just another key whose set bits say "this bit
// matters". This file is that layout. Words are grouped in the order of Open vSwitch's staged
// lookup (metadata, then L2, then L3, then L4: classifier.h "Staged Lookup"), so that a classifier
// can examine a prefix of the words and un-wildcard only what it looked at.
//
// Small fields share a word (TP_SRC and TP_DST, the IP protocol/TOS/TTL/frag byte quartet); a
// field is a (word, shift, bits) triple, or several whole words for addresses. Masks live in
// the same layout, so masking a key is a word-wise AND with no knowledge of fields.
//
// Conventions borrowed from Open vSwitch, because users read them back through ovs-ofctl syntax:
// - VLAN words hold TPID << 16 | TCI, with the CFI/DEI bit (0x1000) set when a tag is present
//   (OVS's VLAN_CFI "tag present" convention); a missing tag is 0.
// - ARP puts its opcode in NW_PROTO, its sender/target IPv4 addresses in NW_SRC/NW_DST.
// - ICMP and ICMPv6 put type and code in TP_SRC and TP_DST.
// - NW_FRAG: bit 0 = is a fragment, bit 1 = a later fragment (FLOW_NW_FRAG_ANY / _LATER).
// - MACs are split as HI (first 2 bytes, in the low 16 bits) and LO (last 4 bytes).

import { ipv6ToString, macFromString, macToString, viewOf } from "../wire/bytes.ts";

export const W = {
  // --- metadata stage ---
  RECIRC_ID: 0,
  IN_PORT: 1,
  PKT_MARK: 2,
  TUN_ID_HI: 3,
  TUN_ID_LO: 4,
  TUN_SRC: 5,
  TUN_DST: 6,
  TUN_IPV6_SRC: 7, // 4 words
  TUN_IPV6_DST: 11, // 4 words
  TUN_TOS_TTL_FLAGS: 15, // tun_tos << 24 | tun_ttl << 16 | tun_flags (16 bits)
  TUN_GBP: 16, // gbp_id << 16 | gbp_flags << 8
  TUN_TP: 17, // tun_tp_src << 16 | tun_tp_dst
  TUN_METADATA: 18, // TUN_METADATA_WORDS words: GENEVE option values, placed by the TLV map
  METADATA_HI: 26,
  METADATA_LO: 27,
  REG0: 28, // REGS words: reg0 .. reg7
  // --- L2 stage ---
  DL_DST_HI: 36,
  DL_DST_LO: 37,
  DL_SRC_HI: 38,
  DL_SRC_LO: 39,
  DL_TYPE: 40,
  VLAN0: 41, // outer tag: tpid << 16 | tci (CFI set = present)
  VLAN1: 42, // inner tag
  // --- L3 stage ---
  NW_SRC: 43, // IPv4 source, ARP spa
  NW_DST: 44, // IPv4 destination, ARP tpa
  IPV6_SRC: 45, // 4 words
  IPV6_DST: 49, // 4 words
  IPV6_LABEL: 53,
  NW_PROTO_TOS_TTL_FRAG: 54, // nw_proto << 24 | nw_tos << 16 | nw_ttl << 8 | nw_frag
  ARP_SHA_HI: 55, // also ND source link-layer address
  ARP_SHA_LO: 56,
  ARP_THA_HI: 57, // also ND target link-layer address
  ARP_THA_LO: 58,
  ND_TARGET: 59, // 4 words
  // --- L4 stage ---
  TP: 63, // tp_src << 16 | tp_dst
  TCP_FLAGS: 64,
} as const;

export const FLOW_WORDS = 65;
export const TUN_METADATA_WORDS = 8;
export const REGS = 8;

/** Staged lookup boundaries: each stage is the words [start, end). */
export const STAGES = [
  { name: "metadata", start: 0, end: W.DL_DST_HI },
  { name: "l2", start: W.DL_DST_HI, end: W.NW_SRC },
  { name: "l3", start: W.NW_SRC, end: W.TP },
  { name: "l4", start: W.TP, end: FLOW_WORDS },
] as const;

/** NW_FRAG bits: the parser's encoding (src/wire/offsets.ts), which the key stores as it is. */
export { NwFrag } from "../wire/offsets.ts";
/** tun_flags bits, Open vSwitch's FLOW_TNL_F_*. */
export const TunFlag = { OAM: 1, DONT_FRAGMENT: 2, CSUM: 4, KEY: 8 } as const;
/** The VLAN TCI bit Open vSwitch uses to mean "a tag is present" (VLAN_CFI). */
export const VLAN_CFI = 0x1000;

export type FlowKey = Uint32Array; // always FLOW_WORDS long
export type FlowMask = Uint32Array;

export function newFlowKey(): FlowKey {
  return new Uint32Array(FLOW_WORDS);
}

/** A field inside one word: `bits` wide starting `shift` bits above the word's least bit. */
export interface WordField {
  readonly word: number;
  readonly shift: number;
  readonly bits: number;
}

export function getField(key: FlowKey, f: WordField): number {
  const v = u32(key, f.word) >>> f.shift;
  return f.bits === 32 ? v >>> 0 : v & ((1 << f.bits) - 1);
}

export function setField(key: FlowKey, f: WordField, value: number): void {
  if (f.bits === 32) {
    key[f.word] = value >>> 0;
    return;
  }
  const m = ((1 << f.bits) - 1) << f.shift;
  key[f.word] = ((u32(key, f.word) & ~m) | ((value << f.shift) & m)) >>> 0;
}

/** Packed sub-word fields, named as in Open vSwitch's ovs-fields(7). */
export const SUBFIELD = {
  tun_tos: { word: W.TUN_TOS_TTL_FLAGS, shift: 24, bits: 8 },
  tun_ttl: { word: W.TUN_TOS_TTL_FLAGS, shift: 16, bits: 8 },
  tun_flags: { word: W.TUN_TOS_TTL_FLAGS, shift: 0, bits: 16 },
  tun_gbp_id: { word: W.TUN_GBP, shift: 16, bits: 16 },
  tun_gbp_flags: { word: W.TUN_GBP, shift: 8, bits: 8 },
  tun_tp_src: { word: W.TUN_TP, shift: 16, bits: 16 },
  tun_tp_dst: { word: W.TUN_TP, shift: 0, bits: 16 },
  dl_type: { word: W.DL_TYPE, shift: 0, bits: 16 },
  nw_proto: { word: W.NW_PROTO_TOS_TTL_FRAG, shift: 24, bits: 8 },
  nw_tos: { word: W.NW_PROTO_TOS_TTL_FRAG, shift: 16, bits: 8 }, // DSCP << 2 | ECN
  nw_ttl: { word: W.NW_PROTO_TOS_TTL_FRAG, shift: 8, bits: 8 },
  nw_frag: { word: W.NW_PROTO_TOS_TTL_FRAG, shift: 0, bits: 8 },
  ipv6_label: { word: W.IPV6_LABEL, shift: 0, bits: 20 },
  tp_src: { word: W.TP, shift: 16, bits: 16 },
  tp_dst: { word: W.TP, shift: 0, bits: 16 },
  tcp_flags: { word: W.TCP_FLAGS, shift: 0, bits: 12 },
} as const satisfies Record<string, WordField>;

/**
 * A word of a key or mask. Under noUncheckedIndexedAccess `k[w]` is `number | undefined`; every
 * `w` here is a W offset inside FLOW_WORDS, so the word is always there.
 */
export function u32(k: Uint32Array, w: number): number {
  return k[w] as number;
}

/** Write a 6-byte MAC from `dv` at `off` into the HI/LO word pair starting at `hiWord`. */
export function setMac(key: FlowKey, hiWord: number, dv: DataView, off: number): void {
  key[hiWord] = dv.getUint16(off);
  key[hiWord + 1] = dv.getUint32(off + 2);
}

/** MAC text (as macFromString reads it, which throws on anything else) as its [HI, LO] words. */
export function macWordsFromString(text: string): [hi: number, lo: number] {
  const dv = viewOf(macFromString(text));
  return [dv.getUint16(0), dv.getUint32(2)];
}

const MAC_SCRATCH = new DataView(new ArrayBuffer(6));

/** The text of the MAC in the HI/LO pair at `hiWord` of `words` (a key, or just [hi, lo]). */
export function macWordsToString(words: ArrayLike<number>, hiWord: number): string {
  MAC_SCRATCH.setUint16(0, words[hiWord] as number);
  MAC_SCRATCH.setUint32(2, words[hiWord + 1] as number);
  return macToString(MAC_SCRATCH, 0);
}

/**
 * 01:80:c2:00:00:00 to 01:80:c2:00:00:0f, given as HI/LO words: the IEEE 802.1D/802.1Q reserved
 * link-local addresses (STP, LACP, LLDP, …), which a bridge never forwards.
 */
export function isReservedMac(hi: number, lo: number): boolean {
  return hi === 0x0180 && (lo & 0xfffffff0) >>> 0 === 0xc2000000;
}

/** The IPv6 address in the 4 words at `w`, as RFC 5952 text. */
export function ipv6WordsToString(key: FlowKey, w: number): string {
  const dv = new DataView(new ArrayBuffer(16));
  for (let i = 0; i < 4; i++) dv.setUint32(4 * i, u32(key, w + i));
  return ipv6ToString(dv, 0);
}

/** The `n` words at `w` as one big-endian number (tun_id and metadata: 2, IPv6 addresses: 4). */
export function wordsToBig(key: Uint32Array, w: number, n: number): bigint {
  let v = 0n;
  for (let i = 0; i < n; i++) v = (v << 32n) | BigInt(u32(key, w + i));
  return v;
}

/** The low 32·n bits of `v` into the `n` words at `w`: wordsToBig's inverse. */
export function bigToWords(key: Uint32Array, w: number, n: number, v: bigint): void {
  for (let i = 0; i < n; i++) key[w + i] = Number((v >> BigInt(32 * (n - 1 - i))) & 0xffffffffn);
}

/** ::ffff:a.b.c.d (Open vSwitch's in6_addr_mapped_ipv4), the form tunnel addresses and routes
 *  are kept in, so that IPv4 and IPv6 share one 128-bit space. */
export function ipv4Mapped(v4: number): bigint {
  return (0xffffn << 32n) | BigInt(v4 >>> 0);
}

/** flow_tnl_dst_is_set: the packet came from a tunnel (or an action set a tunnel destination). */
export function tunnelPresent(key: FlowKey): boolean {
  return (
    u32(key, W.TUN_DST) !== 0 ||
    u32(key, W.TUN_IPV6_DST) !== 0 ||
    u32(key, W.TUN_IPV6_DST + 1) !== 0 ||
    u32(key, W.TUN_IPV6_DST + 2) !== 0 ||
    u32(key, W.TUN_IPV6_DST + 3) !== 0
  );
}

/** flow_tnl_src: the tunnel source in mapped form, IPv4 when its word is set, else IPv6. */
export function tunnelSrc(key: FlowKey): bigint {
  const v4 = u32(key, W.TUN_SRC);
  return v4 !== 0 ? ipv4Mapped(v4) : wordsToBig(key, W.TUN_IPV6_SRC, 4);
}

/** flow_tnl_dst: the tunnel destination in mapped form, IPv4 when its word is set, else IPv6. */
export function tunnelDst(key: FlowKey): bigint {
  const v4 = u32(key, W.TUN_DST);
  return v4 !== 0 ? ipv4Mapped(v4) : wordsToBig(key, W.TUN_IPV6_DST, 4);
}

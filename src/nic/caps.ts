// What the SmartNIC's eSwitch can do: which flow fields it can match, which datapath actions it
// can run, which EtherTypes its parser understands, and how big its tables are.
//
// The offload manager offers every new datapath flow to the eSwitch of its ingress port
// (eswitch.ts offer()), which first asks checkOffload() here. A refusal is a sentence naming the
// first thing the hardware lacks ("match on ipv6_label not supported", "action userspace not
// supported"), recorded with the flow and printed by dpctl/dump-flows, the way Open vSwitch logs
// why netdev-offload-tc turned a flow down.
//
// The defaults follow what Open vSwitch 3.x offloads through tc flower (lib/netdev-offload-tc.c,
// netdev_tc_flow_put() and test_key_and_mask(), which refuse any mask bit they did not consume):
// - match: in_port; eth src/dst/type; the outer VLAN tag with its VID and PCP each fully masked
//   or not at all ("partial mask" is refused; the inner tag, cvlan_tci here, is an option);
//   IPv4/IPv6 addresses, ip proto/tos/ttl/frag (but not an IPv6 fragment); TCP/UDP/SCTP ports and
//   TCP flags; ICMP/ICMPv6 type and code; ARP op/spa/tpa/sha/tha; tunnel id/addresses/tos/ttl/
//   ports/gbp and GENEVE options. Refused: pkt_mark (except an exact 0, which OVS ignores),
//   registers, metadata, ipv6_label, nd_target/nd_sll/nd_tll, recirc_id other than 0 unless the
//   NIC recirculates (tc chains), and anything else not named.
// - actions: output, drop, push_vlan/pop_vlan, set of eth/ipv4/ipv6/tcp/udp (tc pedit), the
//   encapsulation of the userspace datapath, tnl_push, plus clone() holding only tnl_push and
//   output, as rte_flow offload accepts it (lib/netdev-offload-dpdk.c parse_clone_actions():
//   "Unsupported nested action inside clone()"), and tnl_pop as the only action of a decap rule,
//   which the eSwitch chains to one lookup of the inner packet (tc's tunnel_key unset + goto
//   chain; netdev-offload-dpdk's tunnel offload). options:hw-actions=-tnl_push,-tnl_pop removes
//   either. Refused by default: recirc (no general recirculation), userspace/controller, ct,
//   sample, meter and the rest of the raw actions.
// - maxMasks = 16 is an assumption, not a datasheet figure: hardware that hashes per mask (mlx5
//   builds one flow group per distinct mask, Agilio one hash table per mask) has some limit that
//   depends on the part and firmware; 16 keeps the L2 search cost bounded and makes the limit
//   reachable in tests. l1Entries/l2Entries are likewise round figures, configurable per NIC.
//
// Everything here runs at flow install, never per packet, so it allocates freely.

import {
  FLOW_WORDS,
  NwFrag,
  SUBFIELD,
  TUN_METADATA_WORDS,
  u32,
  VLAN_CFI,
  W,
  type FlowKey,
  type FlowMask,
} from "../flow/key.ts";
import { FIELDS, fieldByName, locBits, prereqsOk, writeLoc, type FieldLoc, type Prereq } from "../flow/fields.ts";
import type { OdpAction } from "../flow/odp.ts";
import { EtherType } from "../wire/numbers.ts";

export interface NicCaps {
  /** Open vSwitch field names (flow/fields.ts) the hardware matches, plus cvlan_tci (inner tag). */
  readonly matchFields: readonly string[];
  /** Action names, as actionName() gives them: "output", "set(ipv4)", "tnl_push", "userspace" … */
  readonly actions: readonly string[];
  /** EtherTypes the parser understands; a frame with another (or a tag with another TPID) goes
   *  to the host as unclassifiable. */
  readonly dlTypes: readonly number[];
  /** L1 exact-match flow tracker entries (a power of two; 0 disables the tracker). */
  readonly l1Entries: number;
  /** L2 masked table entries: the offloaded flows. */
  readonly l2Entries: number;
  /** Distinct masks in the L2 tables. */
  readonly maxMasks: number;
  /** Ports whose eSwitches share this id can be joined by one offloaded flow. */
  readonly switchId: number;
}

/** Pseudo-fields of the capability list that flow/fields.ts has no name for. */
const EXTRA_FIELDS: Readonly<Record<string, FieldLoc>> = {
  cvlan_tci: { t: "words", word: W.VLAN1, n: 1 }, // the inner tag (tc flower's cvlan_*)
  tun_tp_src: { t: "sub", f: SUBFIELD.tun_tp_src }, // tunnel UDP ports (OVS's tun_tp_src/dst
  tun_tp_dst: { t: "sub", f: SUBFIELD.tun_tp_dst }, // in the datapath key, no OpenFlow field)
};

export const DEFAULT_MATCH_FIELDS: readonly string[] = [
  "recirc_id",
  "in_port",
  "tun_id",
  "tun_src",
  "tun_dst",
  "tun_ipv6_src",
  "tun_ipv6_dst",
  "tun_flags",
  "tun_tos",
  "tun_ttl",
  "tun_gbp_id",
  "tun_gbp_flags",
  "tun_tp_src",
  "tun_tp_dst",
  ...Array.from({ length: 8 }, (_, i) => `tun_metadata${i}`),
  "eth_src",
  "eth_dst",
  "eth_type",
  "vlan_tci",
  "ip_src",
  "ip_dst",
  "ipv6_src",
  "ipv6_dst",
  "nw_proto",
  "nw_tos",
  "nw_ttl",
  "ip_frag",
  "arp_op",
  "arp_spa",
  "arp_tpa",
  "arp_sha",
  "arp_tha",
  "tcp_src",
  "tcp_dst",
  "tcp_flags",
  "udp_src",
  "udp_dst",
  "sctp_src",
  "sctp_dst",
  "icmp_type",
  "icmp_code",
  "icmpv6_type",
  "icmpv6_code",
];

export const DEFAULT_ACTIONS: readonly string[] = [
  "output",
  "drop",
  "push_vlan",
  "pop_vlan",
  "set(eth)",
  "set(ipv4)",
  "set(ipv6)",
  "set(tcp)",
  "set(udp)",
  "tnl_push",
  "tnl_pop",
  "clone",
];

export const DEFAULT_DL_TYPES: readonly number[] = [EtherType.IPV4, EtherType.IPV6, EtherType.ARP, EtherType.VLAN];

export const DEFAULT_CAPS: NicCaps = Object.freeze({
  matchFields: DEFAULT_MATCH_FIELDS,
  actions: DEFAULT_ACTIONS,
  dlTypes: DEFAULT_DL_TYPES,
  l1Entries: 65536,
  l2Entries: 8192,
  maxMasks: 16,
  switchId: 0,
});

/** The defaults with `over` applied. */
export function makeCaps(over: Partial<NicCaps> = {}): NicCaps {
  const c: NicCaps = { ...DEFAULT_CAPS, ...over };
  for (const f of c.matchFields) {
    if (!fieldByName(f) && !EXTRA_FIELDS[f]) throw new Error(`caps: unknown match field ${f}`);
  }
  const l1 = c.l1Entries;
  if (!Number.isInteger(l1) || l1 < 0 || (l1 !== 0 && (l1 & (l1 - 1)) !== 0)) {
    throw new RangeError(`caps: l1Entries must be 0 or a power of two, got ${l1}`);
  }
  for (const [n, v] of [
    ["l2Entries", c.l2Entries],
    ["maxMasks", c.maxMasks],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`caps: ${n} must be a non-negative integer, got ${v}`);
  }
  return c;
}

function locOf(name: string): FieldLoc {
  const f = fieldByName(name);
  if (f) return f.loc;
  const x = EXTRA_FIELDS[name];
  if (!x) throw new Error(`caps: unknown match field ${name}`);
  return x;
}

function allOnes(loc: FieldLoc): bigint {
  return (1n << BigInt(locBits(loc))) - 1n;
}

/** The bits of `loc` as a mask in the key layout. */
function locMask(loc: FieldLoc): FlowMask {
  const m = new Uint32Array(FLOW_WORDS);
  writeLoc(m, loc, allOnes(loc));
  return m;
}

/**
 * A mask of every key bit the hardware can match with these caps, whatever the flow's type (a
 * field shared by two protocols, like arp_sha and nd_sll, counts if either is supported; the
 * per-flow check is checkOffload's).
 */
export function supportedMask(caps: NicCaps): FlowMask {
  const m = new Uint32Array(FLOW_WORDS);
  for (const name of caps.matchFields) {
    const lm = locMask(locOf(name));
    for (let w = 0; w < FLOW_WORDS; w++) m[w] = (u32(m, w) | u32(lm, w)) >>> 0;
    // A VLAN word is TPID << 16 | TCI (key.ts); matching the tag means matching its TPID too.
    if (name === "vlan_tci") m[W.VLAN0] = 0xffffffff;
  }
  return m;
}

/** The name checkOffload() and the dumps use for an action. */
export function actionName(a: OdpAction): string {
  switch (a.type) {
    case "set":
      return `set(${a.attr})`;
    case "raw": {
      const p = a.text.indexOf("(");
      return p < 0 ? a.text : a.text.slice(0, p);
    }
    // "clone" and "userspace", like the other typed actions, are named by their type.
    default:
      return a.type;
  }
}

function checkActions(caps: NicCaps, actions: readonly OdpAction[], inClone: boolean): string | null {
  for (const a of actions) {
    const name = actionName(a);
    if (!caps.actions.includes(name)) return `action ${name} not supported`;
    if (inClone && name !== "output" && name !== "tnl_push") return `action ${name} inside clone not supported`;
    if (a.type === "clone") {
      const r = checkActions(caps, a.actions, true);
      if (r) return r;
    }
  }
  return null;
}

/** Whether the VLAN word's TCI mask is one tc flower takes: VID and PCP each all or nothing. */
function vlanMaskOk(key: FlowKey, mask: FlowMask, word: number): boolean {
  const tci = u32(mask, word) & 0xffff;
  if (tci === 0) return true;
  if (tci === 0xffff && (u32(key, word) & 0xffff) === 0) return true; // exact "no tag"
  const vid = tci & 0x0fff;
  const pcp = tci & 0xe000;
  return (
    (tci & VLAN_CFI) !== 0 &&
    (u32(key, word) & VLAN_CFI) !== 0 &&
    (vid === 0 || vid === 0x0fff) &&
    (pcp === 0 || pcp === 0xe000) &&
    (vid | pcp) !== 0
  );
}

/** A field's bits in the key layout, as (word, bits) pairs, and whether the caps match it. */
interface FieldBits {
  readonly name: string;
  readonly prereq: Prereq;
  readonly words: readonly number[];
  readonly bits: readonly number[];
  readonly supported: boolean;
}

function fieldBits(name: string, prereq: Prereq, loc: FieldLoc, supported: boolean): FieldBits {
  const m = locMask(loc);
  const words: number[] = [];
  const bits: number[] = [];
  for (let w = 0; w < FLOW_WORDS; w++)
    if (m[w] !== 0) {
      words.push(w);
      bits.push(u32(m, w));
    }
  // A VLAN field covers its tag's TPID too (key.ts: TPID << 16 | TCI).
  if (name === "vlan_tci") bits[0] = 0xffffffff;
  if (name === "cvlan_tci") bits[0] = 0xffffffff;
  return { name, prereq, words, bits, supported };
}

// Built once per caps object: checkOffload runs once per flow offered, so the bigint work of
// turning field locations into bits stays out of it.
const TABLES = new WeakMap<NicCaps, readonly FieldBits[]>();
function fieldTable(caps: NicCaps): readonly FieldBits[] {
  let t = TABLES.get(caps);
  if (!t) {
    const sup = new Set(caps.matchFields);
    t = [
      ...FIELDS.map((f) => fieldBits(f.name, f.prereq, f.loc, sup.has(f.name))),
      ...Object.entries(EXTRA_FIELDS).map(([n, loc]) => fieldBits(n, "none", loc, sup.has(n))),
    ];
    TABLES.set(caps, t);
  }
  return t;
}

function overlaps(m: Uint32Array, f: FieldBits): boolean {
  for (let j = 0; j < f.words.length; j++)
    if ((u32(m, f.words[j] as number) & (f.bits[j] as number)) !== 0) return true;
  return false;
}

/**
 * null when the hardware can take a flow matching (key, mask) with these actions; otherwise why
 * not, naming the first field (in Open vSwitch's meta-flow order) or action it lacks. `key`
 * decides which of the fields sharing key bits is meant (tcp_src or udp_src, arp_sha or nd_sll)
 * and the value-dependent rules (recirc_id, pkt_mark, IPv6 fragments); without it, a zero key.
 */
export function checkOffload(
  caps: NicCaps,
  mask: FlowMask,
  actions: readonly OdpAction[],
  key: FlowKey = new Uint32Array(FLOW_WORDS),
): string | null {
  const left = Uint32Array.from(mask);
  // Value-dependent rules first, as netdev_tc_flow_put() applies them before test_key_and_mask().
  if (left[W.RECIRC_ID] !== 0) {
    if (key[W.RECIRC_ID] !== 0 && !caps.actions.includes("recirc"))
      return `match on recirc_id(${key[W.RECIRC_ID]}) not supported`;
  }
  if (left[W.PKT_MARK] === 0xffffffff && key[W.PKT_MARK] === 0) left[W.PKT_MARK] = 0; // "ignore exact match on skb_mark of 0"
  let tunnelled = false;
  for (let w = W.TUN_SRC; w < W.TUN_TOS_TTL_FLAGS; w++) if (key[w] !== 0) tunnelled = true;
  // No tunnel addresses: the tunnel mask bits are translation artefacts, which OVS clears.
  if (!tunnelled) left.fill(0, W.TUN_ID_HI, W.TUN_METADATA + TUN_METADATA_WORDS);
  const dlType = u32(mask, W.DL_TYPE) & 0xffff ? u32(key, W.DL_TYPE) & 0xffff : -1;
  if (dlType === EtherType.IPV6) {
    const frag = u32(key, W.NW_PROTO_TOS_TTL_FRAG);
    const fm = u32(mask, W.NW_PROTO_TOS_TTL_FRAG);
    if ((fm >>> 24 && frag >>> 24 === 44) || frag & fm & NwFrag.ANY) return "match on IPv6 fragments not supported";
  }
  if (!vlanMaskOk(key, mask, W.VLAN0)) return "match on partial vlan_tci mask not supported";
  if (!vlanMaskOk(key, mask, W.VLAN1)) return "match on partial cvlan_tci mask not supported";

  // Each field whose prerequisites the flow meets, in meta-flow order, takes its bits off the
  // mask if the hardware matches it. What is left names the first field the hardware lacks.
  const fields = fieldTable(caps);
  const applies = new Uint8Array(fields.length);
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as FieldBits;
    applies[i] = f.prereq === "none" || prereqsOk(f.prereq, key, mask) ? 1 : 0;
    if (!applies[i] || !f.supported || !overlaps(left, f)) continue;
    for (let j = 0; j < f.words.length; j++) {
      const w = f.words[j] as number;
      left[w] = (u32(left, w) & ~(f.bits[j] as number)) >>> 0;
    }
  }
  for (let w = 0; w < FLOW_WORDS; w++) {
    if (left[w] === 0) continue;
    // Name the field: one whose prerequisites hold, else any that covers the bits.
    const covers = (f: FieldBits) => f.words.some((x, j) => x === w && ((f.bits[j] as number) & u32(left, w)) !== 0);
    const named = fields.find((f, i) => applies[i] && covers(f)) ?? fields.find(covers);
    return `match on ${named?.name ?? `key word ${w}`} not supported`;
  }
  return checkActions(caps, actions, false);
}

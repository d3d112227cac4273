// The OpenFlow flow language of `ovs-ofctl add-flow` and `ovs-ofctl dump-flows`.
//
// parseFlow() reads what a user types after `ovs-ofctl add-flow br0` into a key + mask in the
// layout of key.ts plus an action list (actions.ts); formatMatch() and formatFlowStats() print
// them back exactly as Open vSwitch 3.1 prints them (lib/match.c match_format and
// lib/ofp-flow.c ofputil_flow_stats_format), so output can be compared with real OVS byte for
// byte.
//
// Like ovs-ofctl, a field whose prerequisite is missing ("tp_src=80" without "tcp") is not an
// error: OVS drops it and logs "normalization changed ofp_match" (ofputil_normalize_match). We
// do the same and report that log line in `warnings`; pass `strict: true` to get an error
// instead, which is usually what a scenario author wants.

import { FLOW_WORDS, NwFrag, SUBFIELD, u32, VLAN_CFI, W, wordsToBig, type FlowKey, type FlowMask } from "./key.ts";
import { EtherType } from "../wire/numbers.ts";
import {
  fieldByName,
  formatFieldValue,
  ipv4MaskedToString,
  ipv6MaskedToString,
  locBits,
  macMaskedToString,
  parseFieldValue,
  portToString,
  readLoc,
  setMasked,
  tcpFlagsToString,
  tunFlagsToString,
  type FieldSpec,
  TCP_FLAGS_MASK,
  TUN_FLAGS_ALL_MASK,
} from "./fields.ts";
import { FlowSyntaxError, hexC, keyValues } from "./syntax.ts";
import { packetMask } from "./extract.ts";
import { formatActions, parseActions, type Dialect, type OfAction } from "./actions.ts";

export const OFP_DEFAULT_PRIORITY = 0x8000;

/** ofputil_flow_mod_flags, in the order dump-flows prints them. */
export const FLOW_MOD_FLAGS = [
  "send_flow_rem",
  "check_overlap",
  "reset_counts",
  "no_packet_counts",
  "no_byte_counts",
] as const;
export type FlowModFlag = (typeof FLOW_MOD_FLAGS)[number];

export interface OfMatch {
  key: FlowKey;
  mask: FlowMask;
}

export interface OfFlow {
  table: number; // 0..254; 255 ("all tables") only for modify/delete
  priority: number;
  cookie: bigint;
  cookieMask: bigint; // 0 unless the text said cookie=V/M (modify and delete only)
  idleTimeout: number; // seconds, 0 = none
  hardTimeout: number;
  importance: number;
  flags: FlowModFlag[];
  outPort: number | null; // out_port=, a delete/modify filter
  match: OfMatch;
  actions: OfAction[];
  warnings: string[]; // what ovs-ofctl would have logged (match normalisation)
}

export type FlowCommand = "add" | "modify" | "delete";

export interface ParseFlowOptions {
  command?: FlowCommand; // default "add": needs actions, refuses a cookie mask
  strict?: boolean; // refuse fields whose prerequisites are missing instead of dropping them
}

/** The protocol shorthands of ovs-ofctl(8): dl_type and, for some, nw_proto. */
export const SHORTHANDS: Readonly<Record<string, readonly [number, number | null]>> = {
  ip: [EtherType.IPV4, null],
  ipv4: [EtherType.IPV4, null],
  icmp: [EtherType.IPV4, 1],
  igmp: [EtherType.IPV4, 2],
  tcp: [EtherType.IPV4, 6],
  udp: [EtherType.IPV4, 17],
  sctp: [EtherType.IPV4, 132],
  ipv6: [EtherType.IPV6, null],
  icmp6: [EtherType.IPV6, 58],
  tcp6: [EtherType.IPV6, 6],
  udp6: [EtherType.IPV6, 17],
  sctp6: [EtherType.IPV6, 132],
  arp: [EtherType.ARP, null],
  rarp: [EtherType.RARP, null],
};

const U16_KEYWORDS = ["idle_timeout", "hard_timeout", "importance"] as const;

function findActions(text: string): number {
  const re = /(^|[,\s])(actions?)\s*[=:]/g;
  const m = re.exec(text);
  return m ? m.index + (m[1] as string).length : -1;
}

/** Parse one flow as `ovs-ofctl add-flow` (or mod-flows/del-flows) takes it. */
export function parseFlow(text: string, opts: ParseFlowOptions = {}): OfFlow {
  const command = opts.command ?? "add";
  const err = (reason: string, pos: number): never => {
    throw new FlowSyntaxError(reason, pos, text);
  };
  const flow: OfFlow = {
    table: command === "add" ? 0 : 255,
    priority: OFP_DEFAULT_PRIORITY,
    cookie: 0n,
    cookieMask: 0n,
    idleTimeout: 0,
    hardTimeout: 0,
    importance: 0,
    flags: [],
    outPort: null,
    match: { key: new Uint32Array(FLOW_WORDS), mask: new Uint32Array(FLOW_WORDS) },
    actions: [],
    warnings: [],
  };
  const actAt = findActions(text);
  const matchEnd = actAt < 0 ? text.length : actAt;
  const fieldPos = new Map<FieldSpec, number>();
  for (const kv of keyValues(text, 0, matchEnd)) {
    const { key, value, valuePos } = kv;
    const short = SHORTHANDS[key];
    if (short && kv.delim === "") {
      setMasked(flow.match.key, flow.match.mask, { t: "sub", f: SUBFIELD.dl_type }, BigInt(short[0]), 0xffffn);
      if (short[1] !== null) {
        setMasked(flow.match.key, flow.match.mask, { t: "sub", f: SUBFIELD.nw_proto }, BigInt(short[1]), 0xffn);
      }
      continue;
    }
    if (key === "table") {
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!(n <= 255)) err(`invalid table "${value}"`, valuePos);
      flow.table = n;
      continue;
    }
    if (key === "priority") {
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!(n <= 0xffff)) err(`invalid priority "${value}"`, valuePos);
      flow.priority = n;
      continue;
    }
    if ((U16_KEYWORDS as readonly string[]).includes(key)) {
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!(n <= 0xffff)) err(`invalid ${key} "${value}"`, valuePos);
      if (key === "idle_timeout") flow.idleTimeout = n;
      else if (key === "hard_timeout") flow.hardTimeout = n;
      else flow.importance = n;
      continue;
    }
    if (key === "cookie") {
      const [v, m] = value.split("/") as [string, string | undefined];
      const num = (s: string, at: number): bigint => {
        if (!/^(0[xX][0-9a-fA-F]+|\d+)$/.test(s) || BigInt(s) > 0xffffffffffffffffn) {
          return err(`invalid numeric format ${s}`, at);
        }
        return BigInt(s);
      };
      flow.cookie = num(v, valuePos);
      if (m !== undefined) {
        if (command === "add") err("flow additions cannot use a cookie mask", kv.keyPos);
        flow.cookieMask = num(m, valuePos + v.length + 1);
      }
      continue;
    }
    if ((FLOW_MOD_FLAGS as readonly string[]).includes(key) && kv.delim === "") {
      flow.flags.push(key as FlowModFlag);
      continue;
    }
    if (key === "out_port") {
      const f = fieldByName("in_port") as FieldSpec;
      const r = parseFieldValue(f, value);
      if (typeof r === "string") err(r.replace("in_port", "out_port"), valuePos);
      flow.outPort = Number((r as [bigint, bigint])[0]);
      continue;
    }
    const f = fieldByName(key);
    if (!f) err(`unknown keyword ${key}`, kv.keyPos);
    const spec = f as FieldSpec;
    setMatchField(flow.match, spec, value === "" ? "0/0" : value, valuePos, err);
    fieldPos.set(spec, kv.keyPos);
  }
  if (actAt >= 0) {
    const eq = text.indexOf(text[text.indexOf("=", actAt)] === "=" ? "=" : ":", actAt);
    flow.actions = parseActions(text, eq + 1, text.length, flow.match);
  } else if (command === "add" || command === "modify") {
    err("must specify an action", text.length);
  }
  const maskBefore = flow.match.mask.slice();
  const changed = normalizeMatch(flow.match);
  if (changed && opts.strict) {
    for (const [f, at] of fieldPos) {
      if (readLoc(maskBefore, f.loc) === readLoc(flow.match.mask, f.loc)) continue;
      const typed = text.slice(at).match(/^[A-Za-z0-9_]+/)?.[0] ?? f.name;
      // tp_src/tp_dst serve every transport; nw_src/nw_dst also name the ARP addresses.
      const need =
        typed === "tp_src" || typed === "tp_dst"
          ? "tcp, udp, sctp, icmp or their IPv6 forms"
          : PREREQ_TEXT[f.prereq === "ipv4" ? "ip_or_arp" : f.prereq];
      err(`${typed}: prerequisites not met (needs ${need})`, at);
    }
  }
  if (changed) flow.warnings.push(changed);
  return flow;
}

/** What each prerequisite asks for, in the words of ovs-fields(7). */
export const PREREQ_TEXT: Readonly<Record<string, string>> = {
  none: "none",
  vlan: "a VLAN tag (dl_vlan or vlan_tci with the CFI bit)",
  arp: "arp or rarp",
  ipv4: "ip",
  ipv6: "ipv6",
  ip_any: "ip or ipv6",
  ip_or_arp: "ip, arp or rarp",
  tcp: "tcp or tcp6",
  udp: "udp or udp6",
  sctp: "sctp or sctp6",
  icmpv4: "icmp",
  icmpv6: "icmp6",
  nd: "icmp6 with icmp_type=135 or 136",
  nd_solicit: "icmp6 with icmp_type=135",
  nd_advert: "icmp6 with icmp_type=136",
};

/** Add one `name=value` to a match, with the special cases of OVS's match_set_* functions. */
export function setMatchField(
  m: OfMatch,
  f: FieldSpec,
  value: string,
  pos: number,
  err: (reason: string, pos: number) => never,
): void {
  const vlan = { t: "sub", f: { word: W.VLAN0, shift: 0, bits: 16 } } as const;
  if (f.name === "dl_vlan") {
    const n = /^(0[xX][0-9a-fA-F]+|\d+)$/.test(value) ? Number(value) : NaN;
    if (n === 0xffff) {
      setMasked(m.key, m.mask, vlan, 0n, 0xffffn);
      return;
    }
    if (!(n <= 4095)) err(`${value}: not a valid VLAN VID`, pos);
    setMasked(m.key, m.mask, vlan, BigInt(VLAN_CFI | n), 0x1fffn);
    return;
  }
  if (f.name === "dl_vlan_pcp" || f.name === "vlan_pcp") {
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!(n <= 7)) err(`${value}: not a valid VLAN PCP`, pos);
    setMasked(m.key, m.mask, vlan, BigInt(VLAN_CFI | (n << 13)), 0xf000n);
    return;
  }
  const r = parseFieldValue(f, value);
  if (typeof r === "string") return err(r, pos);
  let [v, mk] = r;
  if (f.name === "nw_tos") {
    v &= 0xfcn;
    mk &= 0xfcn;
  }
  // A field narrower than its place in the key (icmp_type in tp_src) matches all of it exactly,
  // as match_set_icmp_type does; a partial mask stays as given.
  const full = (1n << BigInt(f.bytes * 8)) - 1n;
  if (mk === full && f.format !== "port") mk = (1n << BigInt(locBits(f.loc))) - 1n;
  setMasked(m.key, m.mask, f.loc, v, mk);
}

// --- normalisation ----------------------------------------------------------------------------

/**
 * ofputil_normalize_match: clear what this dl_type/nw_proto cannot have. Returns OVS's log text
 * when something changed, else null.
 */
export function normalizeMatch(m: OfMatch): string | null {
  const { key, mask } = m;
  const before = formatMatch(m);
  const dlType = u32(mask, W.DL_TYPE) & 0xffff ? u32(key, W.DL_TYPE) & 0xffff : -1;
  const proto = u32(key, W.NW_PROTO_TOS_TTL_FRAG) >>> 24;
  const tpSrc = u32(key, W.TP) >>> 16;
  let nwAddr = false,
    tpAddr = false,
    nwProto = false,
    ipvx = false,
    arpSha = false,
    arpTha = false;
  let ipv6 = false,
    ndTarget = false;
  if (dlType === EtherType.IPV4) {
    nwProto = ipvx = nwAddr = true;
    tpAddr = proto === 6 || proto === 17 || proto === 132 || proto === 1;
  } else if (dlType === EtherType.IPV6) {
    nwProto = ipvx = ipv6 = true;
    if (proto === 6 || proto === 17 || proto === 132) tpAddr = true;
    else if (proto === 58) {
      tpAddr = true;
      if (tpSrc === 135) ndTarget = arpSha = true;
      else if (tpSrc === 136) ndTarget = arpTha = true;
    }
  } else if (dlType === EtherType.ARP || dlType === EtherType.RARP) {
    nwProto = nwAddr = arpSha = arpTha = true;
  }
  if (!nwAddr) mask[W.NW_SRC] = mask[W.NW_DST] = 0;
  if (!tpAddr) mask[W.TP] = 0;
  const pttf = W.NW_PROTO_TOS_TTL_FRAG;
  if (!nwProto) mask[pttf] = u32(mask, pttf) & 0x00ffffff;
  if (!ipvx) mask[pttf] = u32(mask, pttf) & 0xff000000;
  if (!arpSha) mask[W.ARP_SHA_HI] = mask[W.ARP_SHA_LO] = 0;
  if (!arpTha) mask[W.ARP_THA_HI] = mask[W.ARP_THA_LO] = 0;
  if (!ipv6) {
    mask.fill(0, W.IPV6_SRC, W.IPV6_DST + 4);
    mask[W.IPV6_LABEL] = 0;
  }
  if (!ndTarget) mask.fill(0, W.ND_TARGET, W.ND_TARGET + 4);
  if (!(tpAddr && proto === 6)) mask[W.TCP_FLAGS] = 0;
  for (let i = 0; i < FLOW_WORDS; i++) key[i] = u32(key, i) & u32(mask, i);
  const after = formatMatch(m);
  return after === before ? null : `normalization changed ofp_match, details:\n pre: ${before}\npost: ${after}`;
}

// --- printing ---------------------------------------------------------------------------------

function _fmtMasked(parts: string[], name: string, f: string, v: bigint, m: bigint): void {
  if (m === 0n) return;
  parts.push(`${name}=${formatFieldValue(fieldByName(f) as FieldSpec, v, m)}`);
}

function be16(parts: string[], name: string, v: number, m: number): void {
  if (!m) return;
  parts.push(m === 0xffff ? `${name}=${v}` : `${name}=0x${v.toString(16)}/0x${m.toString(16)}`);
}

function u32hex(parts: string[], name: string, v: number, m: number): void {
  if (!m) return;
  parts.push(m === 0xffffffff ? `${name}=${hexC(v)}` : `${name}=${hexC(v)}/${hexC(m)}`);
}

function be64(parts: string[], name: string, v: bigint, m: bigint): void {
  if (!m) return;
  parts.push(m === 0xffffffffffffffffn ? `${name}=${hexC(v)}` : `${name}=${hexC(v)}/${hexC(m)}`);
}

const big2 = (k: Uint32Array, w: number) => wordsToBig(k, w, 2);
const big4 = (k: Uint32Array, w: number) => wordsToBig(k, w, 4);
const macAt = (k: Uint32Array, w: number) => readLoc(k, { t: "mac", word: w });

function eth(parts: string[], name: string, key: Uint32Array, mask: Uint32Array, w: number): void {
  const m = macAt(mask, w);
  if (m) parts.push(`${name}=${macMaskedToString(macAt(key, w), m)}`);
}
function ip4(parts: string[], name: string, v: number, m: number): void {
  if (m) parts.push(`${name}=${ipv4MaskedToString(BigInt(v), BigInt(m >>> 0))}`);
}
function ip6(parts: string[], name: string, key: Uint32Array, mask: Uint32Array, w: number): void {
  const m = big4(mask, w);
  if (m) parts.push(`${name}=${ipv6MaskedToString(big4(key, w), m)}`);
}

/**
 * match_format of lib/match.c: the match in OVS's normalised order and form, with
 * `priority=N,` first unless it is the default 32768. `portName` may map ports to names.
 */
export function formatMatch(m: OfMatch, priority: number = OFP_DEFAULT_PRIORITY): string {
  const { key, mask } = m;
  const p: string[] = [];
  if (priority !== OFP_DEFAULT_PRIORITY) p.push(`priority=${priority}`);
  u32hex(p, "pkt_mark", u32(key, W.PKT_MARK), u32(mask, W.PKT_MARK));
  if (u32(mask, W.RECIRC_ID)) u32hex(p, "recirc_id", u32(key, W.RECIRC_ID), u32(mask, W.RECIRC_ID));
  const pttf = W.NW_PROTO_TOS_TTL_FRAG;
  const dlType = u32(key, W.DL_TYPE) & 0xffff;
  const dlTypeMasked = (u32(mask, W.DL_TYPE) & 0xffff) !== 0;
  const proto = u32(key, pttf) >>> 24;
  const protoMasked = u32(mask, pttf) >>> 24 !== 0;
  let skipType = false;
  let skipProto = false;
  if (dlTypeMasked) {
    skipType = true;
    const pick = (names: Record<number, string>, plain: string) => {
      const n = protoMasked ? names[proto] : undefined;
      if (n) {
        skipProto = true;
        p.push(n);
      } else p.push(plain);
    };
    if (dlType === EtherType.IPV4) pick({ 1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 132: "sctp" }, "ip");
    else if (dlType === EtherType.IPV6) pick({ 58: "icmp6", 6: "tcp6", 17: "udp6", 132: "sctp6" }, "ipv6");
    else if (dlType === EtherType.ARP) p.push("arp");
    else if (dlType === EtherType.RARP) p.push("rarp");
    else skipType = false;
  }
  for (let i = 0; i < 8; i++) u32hex(p, `reg${i}`, u32(key, W.REG0 + i), u32(mask, W.REG0 + i));
  // format_flow_tunnel
  be64(p, "tun_id", big2(key, W.TUN_ID_HI), big2(mask, W.TUN_ID_HI));
  ip4(p, "tun_src", u32(key, W.TUN_SRC), u32(mask, W.TUN_SRC));
  ip4(p, "tun_dst", u32(key, W.TUN_DST), u32(mask, W.TUN_DST));
  ip6(p, "tun_ipv6_src", key, mask, W.TUN_IPV6_SRC);
  ip6(p, "tun_ipv6_dst", key, mask, W.TUN_IPV6_DST);
  const gbpK = u32(key, W.TUN_GBP);
  const gbpM = u32(mask, W.TUN_GBP);
  be16(p, "tun_gbp_id", gbpK >>> 16, gbpM >>> 16);
  if ((gbpM >>> 8) & 0xff) p.push(`tun_gbp_flags=${hexC((gbpK >>> 8) & 0xff)}`);
  const ttfK = u32(key, W.TUN_TOS_TTL_FLAGS);
  const ttfM = u32(mask, W.TUN_TOS_TTL_FLAGS);
  if (ttfM >>> 24) p.push(`tun_tos=${(ttfK >>> 24).toString(16)}`); // OVS prints it in hex, no 0x
  if ((ttfM >>> 16) & 0xff) p.push(`tun_ttl=${(ttfK >>> 16) & 0xff}`);
  if (ttfM & TUN_FLAGS_ALL_MASK) {
    p.push(`tun_flags=${tunFlagsToString(ttfK & TUN_FLAGS_ALL_MASK, ttfM & TUN_FLAGS_ALL_MASK)}`);
  }
  for (let i = 0; i < 8; i++)
    u32hex(p, `tun_metadata${i}`, u32(key, W.TUN_METADATA + i), u32(mask, W.TUN_METADATA + i));
  be64(p, "metadata", big2(key, W.METADATA_HI), big2(mask, W.METADATA_HI));
  if (u32(mask, W.IN_PORT)) p.push(`in_port=${portToString(u32(key, W.IN_PORT))}`);
  for (let i = 0; i < 2; i++) {
    const tm = u32(mask, W.VLAN0 + i) & 0xffff;
    if (!tm) break;
    const tci = u32(key, W.VLAN0 + i) & 0xffff;
    const sfx = i ? String(i) : "";
    const vidM = tm & 0x0fff;
    const pcpM = tm & 0xe000;
    if (tm & VLAN_CFI && tci & VLAN_CFI && (!vidM || vidM === 0x0fff) && (!pcpM || pcpM === 0xe000) && (vidM || pcpM)) {
      if (vidM) p.push(`dl_vlan${sfx}=${tci & 0xfff}`);
      if (pcpM) p.push(`dl_vlan_pcp${sfx}=${tci >>> 13}`);
    } else if (tm === 0xffff) {
      p.push(`vlan_tci${sfx}=0x${tci.toString(16).padStart(4, "0")}`);
    } else {
      p.push(`vlan_tci${sfx}=0x${tci.toString(16).padStart(4, "0")}/0x${tm.toString(16).padStart(4, "0")}`);
    }
  }
  eth(p, "dl_src", key, mask, W.DL_SRC_HI);
  eth(p, "dl_dst", key, mask, W.DL_DST_HI);
  if (!skipType && dlTypeMasked) p.push(`dl_type=0x${dlType.toString(16).padStart(4, "0")}`);
  const isArp = dlType === EtherType.ARP || dlType === EtherType.RARP;
  if (dlType === EtherType.IPV6) {
    ip6(p, "ipv6_src", key, mask, W.IPV6_SRC);
    ip6(p, "ipv6_dst", key, mask, W.IPV6_DST);
    const lm = u32(mask, W.IPV6_LABEL) & 0xfffff;
    if (lm) {
      const lv = (u32(key, W.IPV6_LABEL) & 0xfffff).toString(16).padStart(5, "0");
      p.push(lm === 0xfffff ? `ipv6_label=0x${lv}` : `ipv6_label=0x${lv}/0x${lm.toString(16).padStart(5, "0")}`);
    }
  } else if (isArp) {
    ip4(p, "arp_spa", u32(key, W.NW_SRC), u32(mask, W.NW_SRC));
    ip4(p, "arp_tpa", u32(key, W.NW_DST), u32(mask, W.NW_DST));
  } else {
    ip4(p, "nw_src", u32(key, W.NW_SRC), u32(mask, W.NW_SRC));
    ip4(p, "nw_dst", u32(key, W.NW_DST), u32(mask, W.NW_DST));
  }
  if (!skipProto && protoMasked) p.push(`${isArp ? "arp_op" : "nw_proto"}=${proto}`);
  if (isArp) {
    eth(p, "arp_sha", key, mask, W.ARP_SHA_HI);
    eth(p, "arp_tha", key, mask, W.ARP_THA_HI);
  }
  const tosK = (u32(key, pttf) >>> 16) & 0xff;
  const tosM = (u32(mask, pttf) >>> 16) & 0xff;
  if (tosM & 0xfc) p.push(`nw_tos=${tosK & 0xfc}`);
  if (tosM & 0x03) p.push(`nw_ecn=${tosK & 0x03}`);
  if ((u32(mask, pttf) >>> 8) & 0xff) p.push(`nw_ttl=${(u32(key, pttf) >>> 8) & 0xff}`);
  const fragK = u32(key, pttf) & 3;
  const fragM = u32(mask, pttf) & 3;
  const A = NwFrag.ANY;
  const L = NwFrag.LATER;
  if (fragM === (A | L))
    p.push(`nw_frag=${fragK & A ? (fragK & L ? "later" : "first") : fragK & L ? "<error>" : "no"}`);
  else if (fragM === A) p.push(`nw_frag=${fragK & A ? "yes" : "no"}`);
  else if (fragM === L) p.push(`nw_frag=${fragK & L ? "later" : "not_later"}`);
  const tpK = u32(key, W.TP);
  const tpM = u32(mask, W.TP);
  if ((dlType === EtherType.IPV4 && proto === 1) || (dlType === EtherType.IPV6 && proto === 58)) {
    be16(p, "icmp_type", tpK >>> 16, tpM >>> 16);
    be16(p, "icmp_code", tpK & 0xffff, tpM & 0xffff);
    if (dlType === EtherType.IPV6) {
      ip6(p, "nd_target", key, mask, W.ND_TARGET);
      eth(p, "nd_sll", key, mask, W.ARP_SHA_HI);
      eth(p, "nd_tll", key, mask, W.ARP_THA_HI);
    }
  } else if (dlType === EtherType.IPV4 && proto === 2) {
    be16(p, "igmp_type", tpK >>> 16, tpM >>> 16);
    be16(p, "igmp_code", tpK & 0xffff, tpM & 0xffff);
  } else {
    be16(p, "tp_src", tpK >>> 16, tpM >>> 16);
    be16(p, "tp_dst", tpK & 0xffff, tpM & 0xffff);
  }
  const tfM = u32(mask, W.TCP_FLAGS) & TCP_FLAGS_MASK;
  if ((dlType === EtherType.IPV4 || dlType === EtherType.IPV6) && proto === 6 && tfM) {
    p.push(`tcp_flags=${tcpFlagsToString(u32(key, W.TCP_FLAGS) & TCP_FLAGS_MASK, tfM)}`);
  }
  return p.join(",");
}

// --- whole flows ------------------------------------------------------------------------------

export interface FlowStats {
  durationNs: number; // since the flow was added (the caller's virtual clock)
  packets: number;
  bytes: number;
  idleAgeSec?: number; // printed as idle_age= when given
  hardAgeSec?: number; // printed as hard_age= when given and different from the duration
}

export interface FormatFlowOptions {
  dialect?: Dialect; // "of10" (plain `ovs-ofctl dump-flows`, the default) or "of13" (-O OpenFlow13)
}

/** ofp_print_duration: whole seconds, then 3 decimals for whole milliseconds, else up to 9. */
export function formatDuration(ns: number): string {
  const sec = Math.floor(ns / 1e9);
  const nsec = Math.round(ns - sec * 1e9);
  if (nsec <= 0) return `${sec}s`;
  if (nsec % 1e6 === 0) return `${sec}.${String(nsec / 1e6).padStart(3, "0")}s`;
  return `${sec}.${String(nsec).padStart(9, "0").replace(/0+$/, "")}s`;
}

/**
 * One line of `ovs-ofctl dump-flows` (ofputil_flow_stats_format), with the leading space OVS
 * prints. Without `stats` this is the `--no-stats` form.
 */
export function formatFlowStats(flow: OfFlow, stats?: FlowStats, opts: FormatFlowOptions = {}): string {
  let s = " ";
  if (stats || flow.cookie) s += `cookie=0x${flow.cookie.toString(16)}, `;
  if (stats) s += `duration=${formatDuration(stats.durationNs)}, `;
  if (stats || flow.table) s += `table=${flow.table}, `;
  if (stats) s += `n_packets=${stats.packets}, n_bytes=${stats.bytes}, `;
  if (flow.idleTimeout) s += `idle_timeout=${flow.idleTimeout}, `;
  if (flow.hardTimeout) s += `hard_timeout=${flow.hardTimeout}, `;
  // OpenFlow 1.0 flow statistics carry no flags; importance needs OpenFlow 1.4, which neither
  // dialect uses, so OVS does not show it.
  if (opts.dialect === "of13") for (const f of FLOW_MOD_FLAGS) if (flow.flags.includes(f)) s += `${f} `;
  if (stats?.idleAgeSec !== undefined) s += `idle_age=${stats.idleAgeSec}, `;
  if (stats?.hardAgeSec !== undefined && stats.hardAgeSec !== Math.floor(stats.durationNs / 1e9)) {
    s += `hard_age=${stats.hardAgeSec}, `;
  }
  const m = formatMatch(flow.match, flow.priority);
  if (m) s += `${m} `;
  return `${s}actions=${formatActions(flow.actions, { dialect: opts.dialect ?? "of10", match: flow.match })}`;
}

/** The flow as `ovs-ofctl add-flow` would take it back (no statistics). */
export function formatFlow(flow: OfFlow, opts: FormatFlowOptions = {}): string {
  return formatFlowStats(flow, undefined, opts).slice(1);
}

/** flow_format(): a packet's key as ofproto/trace prints it on its "Flow:" line (allocates). */
export function flowToString(key: FlowKey): string {
  return formatMatch({ key, mask: packetMask(key) });
}

// The datapath flow language of `ovs-appctl dpctl/dump-flows`, `ofproto/trace` and
// `netdev-dummy/receive` (Open vSwitch lib/odp-util.c).
//
// A datapath flow is a list of attributes, `recirc_id(0),in_port(1),eth(…),eth_type(0x0800),
// ipv4(…),tcp(…)`, each field optionally `/mask`. parseOdpKey() reads one into a key + mask in
// the layout of key.ts; formatOdpKey() prints a key + mask exactly as dpctl/dump-flows does:
// without -m, a field whose mask is zero is left out (and an attribute with nothing left is left
// out), an exact field prints its value, a partial one `value/mask`; with -m (verbose) every
// field of every attribute the packet has is printed, wildcarded ones as `value/0`.
//
// Key values are printed unmasked, as OVS does (its megaflow keys keep the packet's bits under a
// zero mask: `dst=10.0.1.7/255.255.255.0`), so parse keeps them unmasked too.
//
// Datapath actions (`2`, `set(ipv4(ttl=2))`, `push_vlan(vid=100,pcp=0)`, `tnl_push(…)`,
// `clone(…)`, …) are an AST of plain objects, clone's nested actions included, so no consumer
// parses action text again. userspace(…) is typed but keeps its text (only its presence matters:
// the slow path); actions this emulator does not model (ct, sample, …) are kept as their text
// ("raw"). Whole dpctl/dump-flows lines, with lib/dpctl.c's `offloaded:yes, dp:tc` fields, are
// odp-flow-line.ts's.

import { FLOW_WORDS, tunnelPresent, u32, VLAN_CFI, W, type FlowKey, type FlowMask } from "./key.ts";
import {
  ipv4BigFromString,
  ipv6BigFromString,
  ipv6BigToString,
  macBigFromString,
  macBigToString,
  readLoc,
  tcpFlagsToString,
  TCP_FLAG_LIST,
  TUN_FLAG_LIST,
  TUN_FLAGS_ALL_MASK,
  parseFlags,
  TCP_FLAGS_MASK,
  writeLoc,
  flagsMaskedToString,
  flagsToString,
  type FieldLoc,
} from "./fields.ts";
import { bigFromBytes, bigToBytes, ipv4NumToString } from "../wire/bytes.ts";
import { EtherType } from "../wire/numbers.ts";
import { FlowSyntaxError, hexC, splitTop } from "./syntax.ts";

export interface OdpKey {
  key: FlowKey;
  mask: FlowMask;
  packetType: boolean; // a packet_type(ns=0,id=0) attribute (userspace datapath) was present
}

export interface OdpFormatOptions {
  verbose?: boolean; // dpctl/dump-flows -m
  portNames?: ReadonlyMap<number, string>; // -m prints in_port(p1), output p2
}

type Err = (reason: string, pos: number) => never;

/** Port names being resolved by the parse in progress (set by the public parse functions). */
let portByName: ReadonlyMap<string, number> = new Map();
function withPortNames<T>(names: ReadonlyMap<number, string> | undefined, fn: () => T): T {
  const saved = portByName;
  portByName = new Map([...(names ?? new Map<number, string>())].map(([n, s]) => [s, n]));
  try {
    return fn();
  } finally {
    portByName = saved;
  }
}
/** A port number, or a name from the port map (dpctl -m prints names). */
function portNum(t: string): bigint | null {
  const n = portByName.get(t);
  return n !== undefined ? BigInt(n) : parseNum(t);
}

// --- locations of the datapath fields in the key ----------------------------------------------

const sub = (word: number, shift: number, bits: number): FieldLoc => ({ t: "sub", f: { word, shift, bits } });
const words = (word: number, n: number): FieldLoc => ({ t: "words", word, n });
const mac = (word: number): FieldLoc => ({ t: "mac", word });
const PTTF = W.NW_PROTO_TOS_TTL_FRAG;

type Fmt = "u" | "x" | "ip4" | "ip6" | "mac" | "frag" | "tunflags" | "hex64";
interface OdpField {
  name: string;
  loc: FieldLoc;
  fmt: Fmt;
  bits: number;
}
const fld = (name: string, loc: FieldLoc, fmt: Fmt, bits: number): OdpField => ({ name, loc, fmt, bits });

/** Each attribute's fields, in the order OVS prints them. */
const ATTR_FIELDS: Readonly<Record<string, readonly OdpField[]>> = {
  eth: [fld("src", mac(W.DL_SRC_HI), "mac", 48), fld("dst", mac(W.DL_DST_HI), "mac", 48)],
  ipv4: [
    fld("src", words(W.NW_SRC, 1), "ip4", 32),
    fld("dst", words(W.NW_DST, 1), "ip4", 32),
    fld("proto", sub(PTTF, 24, 8), "u", 8),
    fld("tos", sub(PTTF, 16, 8), "x", 8),
    fld("ttl", sub(PTTF, 8, 8), "u", 8),
    fld("frag", sub(PTTF, 0, 2), "frag", 2),
  ],
  ipv6: [
    fld("src", words(W.IPV6_SRC, 4), "ip6", 128),
    fld("dst", words(W.IPV6_DST, 4), "ip6", 128),
    fld("label", sub(W.IPV6_LABEL, 0, 20), "x", 20),
    fld("proto", sub(PTTF, 24, 8), "u", 8),
    fld("tclass", sub(PTTF, 16, 8), "x", 8),
    fld("hlimit", sub(PTTF, 8, 8), "u", 8),
    fld("frag", sub(PTTF, 0, 2), "frag", 2),
  ],
  tcp: [fld("src", sub(W.TP, 16, 16), "u", 16), fld("dst", sub(W.TP, 0, 16), "u", 16)],
  udp: [fld("src", sub(W.TP, 16, 16), "u", 16), fld("dst", sub(W.TP, 0, 16), "u", 16)],
  sctp: [fld("src", sub(W.TP, 16, 16), "u", 16), fld("dst", sub(W.TP, 0, 16), "u", 16)],
  icmp: [fld("type", sub(W.TP, 16, 8), "u", 8), fld("code", sub(W.TP, 0, 8), "u", 8)],
  icmpv6: [fld("type", sub(W.TP, 16, 8), "u", 8), fld("code", sub(W.TP, 0, 8), "u", 8)],
  arp: [
    fld("sip", words(W.NW_SRC, 1), "ip4", 32),
    fld("tip", words(W.NW_DST, 1), "ip4", 32),
    fld("op", sub(PTTF, 24, 8), "u", 8),
    fld("sha", mac(W.ARP_SHA_HI), "mac", 48),
    fld("tha", mac(W.ARP_THA_HI), "mac", 48),
  ],
  nd: [
    fld("target", words(W.ND_TARGET, 4), "ip6", 128),
    fld("sll", mac(W.ARP_SHA_HI), "mac", 48),
    fld("tll", mac(W.ARP_THA_HI), "mac", 48),
  ],
  tunnel: [
    fld("tun_id", words(W.TUN_ID_HI, 2), "hex64", 64),
    fld("src", words(W.TUN_SRC, 1), "ip4", 32),
    fld("dst", words(W.TUN_DST, 1), "ip4", 32),
    fld("ipv6_src", words(W.TUN_IPV6_SRC, 4), "ip6", 128),
    fld("ipv6_dst", words(W.TUN_IPV6_DST, 4), "ip6", 128),
    fld("tos", sub(W.TUN_TOS_TTL_FLAGS, 24, 8), "x", 8),
    fld("ttl", sub(W.TUN_TOS_TTL_FLAGS, 16, 8), "u", 8),
    fld("tp_src", sub(W.TUN_TP, 16, 16), "u", 16),
    fld("tp_dst", sub(W.TUN_TP, 0, 16), "u", 16),
    fld("flags", sub(W.TUN_TOS_TTL_FLAGS, 0, 4), "tunflags", 4),
  ],
};

/** Single-value attributes: name(value[/mask]). */
const SCALAR: Readonly<Record<string, { loc: FieldLoc; fmt: Fmt; bits: number }>> = {
  recirc_id: { loc: words(W.RECIRC_ID, 1), fmt: "x", bits: 32 },
  skb_mark: { loc: words(W.PKT_MARK, 1), fmt: "x", bits: 32 },
  in_port: { loc: words(W.IN_PORT, 1), fmt: "u", bits: 32 },
};

/** Attributes OVS prints that the key does not hold; accepted when fully wildcarded or zero. */
const IGNORED = new Set(["skb_priority", "ct_state", "ct_zone", "ct_mark", "ct_label", "dp_hash"]);

// --- values -----------------------------------------------------------------------------------

const FRAG_NAMES: Readonly<Record<string, number>> = { no: 0, first: 1, later: 3 };
const fragName = (v: number): string => (v & 1 ? (v & 2 ? "later" : "first") : v & 2 ? "<error>" : "no");

function parseNum(text: string): bigint | null {
  if (/^0[xX][0-9a-fA-F]+$/.test(text) || /^\d+$/.test(text)) return BigInt(text);
  return null;
}

/** One `value[/mask]` in a field's format, as [value, mask]; the mask is full when absent. */
function parseValue(
  f: { fmt: Fmt; bits: number; name?: string },
  text: string,
  pos: number,
  err: Err,
): [bigint, bigint] {
  const full = (1n << BigInt(f.bits)) - 1n;
  const slash = text.indexOf("/");
  const vt = slash < 0 ? text : text.slice(0, slash);
  const mt = slash < 0 ? null : text.slice(slash + 1);
  const one = (t: string, at: number): bigint => {
    let v: bigint | null;
    switch (f.fmt) {
      case "ip4":
        v = ipv4BigFromString(t);
        break;
      case "ip6":
        v = ipv6BigFromString(t);
        break;
      case "mac":
        v = macBigFromString(t);
        break;
      case "frag":
        v = t in FRAG_NAMES ? BigInt(FRAG_NAMES[t] as number) : parseNum(t);
        break;
      default:
        v = parseNum(t);
    }
    if (v === null) return err(`${f.name ?? "value"}: cannot parse ${JSON.stringify(t)}`, at);
    if (v > full) return err(`${f.name ?? "value"}: ${t} does not fit in ${f.bits} bits`, at);
    return v;
  };
  const v = one(vt, pos);
  return [v, mt === null ? full : one(mt, pos + vt.length + 1)];
}

function formatValue(fmt: Fmt, v: bigint, m: bigint, bits: number): string {
  const full = (1n << BigInt(bits)) - 1n;
  const partial = m !== full;
  switch (fmt) {
    case "ip4":
      return ipv4NumToString(Number(v)) + (partial ? `/${ipv4NumToString(Number(m))}` : "");
    case "ip6":
      return ipv6BigToString(v) + (partial ? `/${ipv6BigToString(m)}` : "");
    case "mac":
      return macBigToString(v) + (partial ? `/${macBigToString(m)}` : "");
    case "frag":
      return fragName(Number(v)) + (partial ? `/${hexC(m)}` : "");
    case "u":
      return `${v}` + (partial ? `/${hexC(m)}` : "");
    case "x":
    case "hex64":
      return hexC(v) + (partial ? `/${hexC(m)}` : "");
    case "tunflags":
      return "";
  }
}

// --- parsing keys -----------------------------------------------------------------------------

/** `name(inner)` at `pos`, or a bare number. */
function splitAttr(text: string, pos: number, err: Err): { name: string; inner: string; innerPos: number } {
  const m = /^([a-z_0-9]+)\((.*)\)$/s.exec(text.trim());
  if (!m) return err(`expected name(...) but found ${JSON.stringify(text)}`, pos);
  const lead = text.length - text.trimStart().length;
  return { name: m[1] as string, inner: m[2] as string, innerPos: pos + lead + (m[1] as string).length + 1 };
}

function setField(k: OdpKey, loc: FieldLoc, v: bigint, m: bigint): void {
  writeLoc(k.key, loc, v);
  writeLoc(k.mask, loc, m);
}

function parseFields(k: OdpKey, attr: string, inner: string, innerPos: number, err: Err): void {
  const fields = ATTR_FIELDS[attr] as readonly OdpField[];
  for (const part of splitTop(inner, innerPos)) {
    if (!part.text) continue;
    if (attr === "tunnel" && part.text.startsWith("flags(")) {
      const body = part.text.slice(6, -1);
      const r =
        body === ""
          ? ([0, TUN_FLAGS_ALL_MASK] as [number, number])
          : parseFlags(body, TUN_FLAG_LIST, TUN_FLAGS_ALL_MASK, "tunnel flag");
      if (typeof r === "string") return err(r, part.pos + 6);
      setField(k, sub(W.TUN_TOS_TTL_FLAGS, 0, 4), BigInt(r[0]), BigInt(r[1]));
      continue;
    }
    if (attr === "tunnel" && /^(geneve|vxlan|gbp|erspan)/.test(part.text)) continue; // options: not in the key
    const eq = part.text.indexOf("=");
    const name = eq < 0 ? part.text : part.text.slice(0, eq);
    const f = fields.find((x) => x.name === name);
    if (!f || eq < 0)
      return err(
        `${attr}: unknown field ${JSON.stringify(name)} (expected one of ${fields.map((x) => x.name).join(", ")})`,
        part.pos,
      );
    const [v, m] = parseValue(f, part.text.slice(eq + 1), part.pos + eq + 1, err);
    setField(k, f.loc, v, m);
  }
}

function parseAttrs(k: OdpKey, text: string, start: number, end: number, err: Err): void {
  const parts = splitTop(text.slice(start, end), start).filter((p) => p.text.trim() !== "");
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as { text: string; pos: number };
    const { name, inner, innerPos } = splitAttr(part.text, part.pos, err);
    const scalar = SCALAR[name];
    if (scalar) {
      const named = name === "in_port" ? portByName.get(inner) : undefined;
      const [v, m] =
        named !== undefined ? [BigInt(named), 0xffffffffn] : parseValue({ ...scalar, name }, inner, innerPos, err);
      setField(k, scalar.loc, v, m);
    } else if (IGNORED.has(name)) {
      if (!/^(0|0x0)?(\/0)?$/.test(inner) && !/\/0$/.test(inner)) {
        err(`${name}: only a zero or wildcarded ${name} is supported`, innerPos);
      }
    } else if (name === "packet_type") {
      if (!/^ns=0(\/0)?,id=0(\/0)?$/.test(inner)) err("packet_type: only Ethernet (ns=0,id=0) is supported", innerPos);
      k.packetType = true;
    } else if (name === "eth_type") {
      const [v, m] = parseValue({ fmt: "x", bits: 16, name }, inner, innerPos, err);
      const next = parts[i + 1];
      if (next && /^\s*vlan\(/.test(next.text)) {
        // eth_type(0x8100),vlan(…),encap(…): this eth_type is the tag's TPID.
        const word = u32(k.mask, W.VLAN0) ? W.VLAN1 : W.VLAN0;
        setField(k, sub(word, 16, 16), v, m);
      } else {
        setField(k, sub(W.DL_TYPE, 0, 16), v, m);
      }
    } else if (name === "vlan") {
      const word = u32(k.mask, W.VLAN1) || u32(k.mask, W.VLAN0) & 0xffff ? W.VLAN1 : W.VLAN0;
      let tci = VLAN_CFI;
      let tm = VLAN_CFI;
      for (const p of splitTop(inner, innerPos)) {
        const [n, val = ""] = p.text.split("=") as [string, string | undefined];
        const spec =
          n === "vid"
            ? { bits: 12, shift: 0 }
            : n === "pcp"
              ? { bits: 3, shift: 13 }
              : n === "cfi"
                ? { bits: 1, shift: 12 }
                : null;
        if (!spec) return err(`vlan: unknown field ${JSON.stringify(n)} (expected vid, pcp or cfi)`, p.pos);
        const [v, m] = parseValue({ fmt: "u", bits: spec.bits, name: n }, val, p.pos + n.length + 1, err);
        const fm = ((1 << spec.bits) - 1) << spec.shift;
        tci = (tci & ~fm) | (Number(v) << spec.shift);
        tm = (tm & ~fm) | (Number(m) << spec.shift);
      }
      setField(k, sub(word, 0, 16), BigInt(tci), BigInt(tm));
    } else if (name === "encap") {
      parseAttrs(k, text, innerPos, innerPos + inner.length, err);
    } else if (name === "tcp_flags") {
      const r = parseFlags(inner, TCP_FLAG_LIST, TCP_FLAGS_MASK, "TCP flag");
      if (typeof r === "string") err(r, innerPos);
      const [v, m] = r as [number, number];
      setField(k, sub(W.TCP_FLAGS, 0, 12), BigInt(v), BigInt(m));
    } else if (ATTR_FIELDS[name]) {
      parseFields(k, name, inner, innerPos, err);
    } else {
      err(`unknown datapath key attribute ${JSON.stringify(name)}`, part.pos);
    }
  }
}

/**
 * Parse a datapath flow key such as `in_port(1),eth(…),eth_type(0x0800),ipv4(…)`; `portNames`
 * resolves the names dpctl/dump-flows -m prints (in_port(p1)).
 */
export function parseOdpKey(
  text: string,
  start = 0,
  end = text.length,
  portNames?: ReadonlyMap<number, string>,
): OdpKey {
  const err: Err = (reason, pos) => {
    throw new FlowSyntaxError(reason, pos, text);
  };
  const k: OdpKey = { key: new Uint32Array(FLOW_WORDS), mask: new Uint32Array(FLOW_WORDS), packetType: false };
  withPortNames(portNames, () => parseAttrs(k, text, start, end, err));
  return k;
}

// --- printing keys ----------------------------------------------------------------------------

function fieldsText(
  attr: string,
  key: FlowKey,
  mask: FlowMask,
  verbose: boolean,
  present?: (f: OdpField) => boolean,
): string {
  const out: string[] = [];
  for (const f of ATTR_FIELDS[attr] as readonly OdpField[]) {
    const v = readLoc(key, f.loc);
    const m = readLoc(mask, f.loc);
    if (f.fmt === "tunflags") {
      out.push(
        `flags(${verbose && !m ? "" : flagsMaskedToString(TUN_FLAG_LIST, Number(v), Number(m), TUN_FLAGS_ALL_MASK)})`,
      );
      continue;
    }
    if (present && !present(f)) continue;
    if (!m && !verbose) continue;
    out.push(`${f.name}=${formatValue(f.fmt, v, f.fmt === "frag" && m === 3n ? 3n : m, f.bits)}`);
  }
  return out.join(",");
}

const anyMask = (mask: FlowMask, attr: string): boolean =>
  (ATTR_FIELDS[attr] as readonly OdpField[]).some((f) => readLoc(mask, f.loc) !== 0n);

function portText(port: number, opts: OdpFormatOptions): string {
  return opts.verbose ? (opts.portNames?.get(port) ?? String(port)) : String(port);
}

/** odp_flow_format: a key + mask as dpctl/dump-flows prints it. */
export function formatOdpKey(k: OdpKey, opts: OdpFormatOptions = {}): string {
  const { key, mask } = k;
  const verbose = !!opts.verbose;
  const out: string[] = [];
  if (verbose) out.push("skb_priority(0/0)");
  // The tunnel attribute exists when the packet came from a tunnel (OVS: tun_dst set).
  if (verbose ? tunnelPresent(key) : anyMask(mask, "tunnel")) {
    const flagsKey = u32(key, W.TUN_TOS_TTL_FLAGS) & 0xf;
    // OVS only puts a tunnel field in the key when it is set (tun_id: the key flag; ttl always).
    const present = (f: OdpField): boolean => {
      if (!verbose) return true;
      if (f.name === "tun_id") return (flagsKey & 8) !== 0;
      if (f.name === "ttl") return true;
      return readLoc(key, f.loc) !== 0n;
    };
    out.push(`tunnel(${fieldsText("tunnel", key, mask, verbose, present)})`);
  }
  const scalar = (name: string, fmt: Fmt, w: number): void => {
    const v = u32(key, w);
    const m = u32(mask, w);
    if (!m && !verbose) return;
    out.push(`${name}(${formatValue(fmt, BigInt(v), BigInt(m), 32)})`);
  };
  scalar("skb_mark", "x", W.PKT_MARK);
  if (verbose) out.push("ct_state(0/0),ct_zone(0/0),ct_mark(0/0),ct_label(0/0)");
  scalar("recirc_id", "x", W.RECIRC_ID);
  if (verbose) out.push("dp_hash(0/0)");
  if (u32(mask, W.IN_PORT) || verbose) out.push(`in_port(${portText(u32(key, W.IN_PORT), opts)})`);
  if (k.packetType) out.push("packet_type(ns=0,id=0)");
  if (verbose || anyMask(mask, "eth")) out.push(`eth(${fieldsText("eth", key, mask, verbose)})`);
  // 802.1Q: eth_type(TPID),vlan(…),encap(<the rest>)
  let close = 0;
  for (const w of [W.VLAN0, W.VLAN1]) {
    if (!u32(mask, w) && !(verbose && u32(key, w))) break;
    const tpid = u32(key, w) >>> 16;
    const tpidM = u32(mask, w) >>> 16;
    out.push(
      `eth_type(0x${tpid.toString(16).padStart(4, "0")}${tpidM && tpidM !== 0xffff ? `/0x${tpidM.toString(16)}` : ""})`,
    );
    const tci = u32(key, w) & 0xffff;
    const tm = u32(mask, w) & 0xffff;
    const vt: string[] = [];
    if (verbose || tci & 0xfff || tm & 0xfff)
      vt.push(`vid=${tci & 0xfff}${(tm & 0xfff) !== 0xfff ? `/0x${(tm & 0xfff).toString(16)}` : ""}`);
    if (verbose || tci >>> 13 || tm >>> 13)
      vt.push(`pcp=${tci >>> 13}${(tm >>> 13) !== 7 ? `/0x${(tm >>> 13).toString(16)}` : ""}`);
    if (!(tci & VLAN_CFI)) vt.push("cfi=0");
    out.push(`vlan(${vt.join(",")})`);
    out.push("encap(");
    close++;
  }
  const dlType = u32(key, W.DL_TYPE) & 0xffff;
  const dlM = u32(mask, W.DL_TYPE) & 0xffff;
  if (dlM || verbose) {
    out.push(
      `eth_type(0x${dlType.toString(16).padStart(4, "0")}${dlM !== 0xffff ? `/0x${dlM.toString(16).padStart(4, "0")}` : ""})`,
    );
  }
  const proto = u32(key, PTTF) >>> 24;
  const later = (u32(key, PTTF) & 3) === 3;
  const l3 =
    dlType === EtherType.IPV4
      ? "ipv4"
      : dlType === EtherType.IPV6
        ? "ipv6"
        : dlType === EtherType.ARP || dlType === EtherType.RARP
          ? "arp"
          : null;
  if (l3 && (verbose || anyMask(mask, l3))) out.push(`${l3}(${fieldsText(l3, key, mask, verbose)})`);
  let l4: string | null = null;
  if ((l3 === "ipv4" || l3 === "ipv6") && !later) {
    l4 =
      proto === 6
        ? "tcp"
        : proto === 17
          ? "udp"
          : proto === 132
            ? "sctp"
            : proto === 1 && l3 === "ipv4"
              ? "icmp"
              : proto === 58 && l3 === "ipv6"
                ? "icmpv6"
                : null;
  }
  if (l4 && (verbose || anyMask(mask, l4))) out.push(`${l4}(${fieldsText(l4, key, mask, verbose)})`);
  const tfM = u32(mask, W.TCP_FLAGS) & TCP_FLAGS_MASK;
  if (l4 === "tcp" && tfM) {
    // the userspace datapath has no tcp_flags key unless matched
    const tf = u32(key, W.TCP_FLAGS) & TCP_FLAGS_MASK;
    out.push(`tcp_flags(${tfM === TCP_FLAGS_MASK ? flagsToString(TCP_FLAG_LIST, tf) : tcpFlagsToString(tf, tfM)})`);
  }
  const tpSrc = u32(key, W.TP) >>> 16;
  if (l4 === "icmpv6" && (tpSrc === 135 || tpSrc === 136) && (verbose || anyMask(mask, "nd"))) {
    out.push(`nd(${fieldsText("nd", key, mask, verbose)})`);
  }
  let s = out.join(",").replace(/encap\(,/g, "encap(");
  s += ")".repeat(close);
  return s;
}

// --- datapath actions -------------------------------------------------------------------------

export interface TnlPushHeader {
  size: number;
  type: number; // OVS_VPORT_TYPE_*: 4 VXLAN, 5 GENEVE
  eth: { dst: string; src: string; dlType: number };
  ipv4?: { src: string; dst: string; proto: number; tos: number; ttl: number; frag: number };
  ipv6?: { src: string; dst: string; label: number; proto: number; tclass: number; hlimit: number };
  udp?: { src: number; dst: number; csum: number }; // absent for GRE
  vxlan?: { flags: number; vni: number };
  geneve?: { vni: number; oam: boolean; crit: boolean; options?: GeneveOption[] };
  /** GRE (RFC 2890): flags word (C 0x8000, K 0x2000, S 0x1000), payload protocol, optional fields. */
  gre?: { flags: number; proto: number; csum?: number; key?: number; seq?: number };
}

/** One GENEVE option TLV (RFC 8926 §3.5); `data` is a multiple of 4 bytes. */
export interface GeneveOption {
  cls: number;
  type: number;
  data: Uint8Array;
}

export type OdpAction =
  | { type: "output"; port: number }
  | { type: "set"; attr: string; key: FlowKey; mask: FlowMask }
  | { type: "push_vlan"; tpid: number; tci: number }
  | { type: "pop_vlan" }
  | { type: "recirc"; id: number }
  | { type: "tnl_pop"; port: number }
  | { type: "tnl_push"; tnlPort: number; header: TnlPushHeader; outPort: number }
  /** OVS_ACTION_ATTR_CLONE: the nested actions run on a copy; the packet goes on unchanged. */
  | { type: "clone"; actions: OdpAction[] }
  /** The slow path (OVS_ACTION_ATTR_USERSPACE): `text` is the whole action as OVS prints it,
   *  `userspace(pid=0,controller(…))`; nothing here reads its arguments. */
  | { type: "userspace"; text: string }
  | { type: "raw"; text: string }; // ct(…), sample(…), …: actions not modelled, kept as OVS printed them

/** kv list `a=1,b=2` inside one attribute, with offsets. */
function kvs(inner: string, pos: number): Map<string, { v: string; pos: number }> {
  const m = new Map<string, { v: string; pos: number }>();
  for (const p of splitTop(inner, pos)) {
    const eq = p.text.indexOf("=");
    if (eq > 0) m.set(p.text.slice(0, eq), { v: p.text.slice(eq + 1), pos: p.pos + eq + 1 });
    else if (p.text) m.set(p.text, { v: "", pos: p.pos });
  }
  return m;
}

function parseTnlPush(inner: string, pos: number, err: Err): OdpAction {
  let tnlPort = -1;
  let outPort = -1;
  let header: TnlPushHeader | null = null;
  const num = (t: { v: string; pos: number } | undefined, what: string): number => {
    const n = t ? portNum(t.v) : null;
    if (n === null) return err(`tnl_push: ${what} expected`, t?.pos ?? pos);
    return Number(n);
  };
  for (const part of splitTop(inner, pos)) {
    const a = splitAttr(part.text, part.pos, err);
    if (a.name === "tnl_port") tnlPort = num({ v: a.inner, pos: a.innerPos }, "tnl_port number");
    else if (a.name === "out_port") outPort = num({ v: a.inner, pos: a.innerPos }, "out_port number");
    else if (a.name === "header") {
      const h: Partial<TnlPushHeader> = {};
      for (const hp of splitTop(a.inner, a.innerPos)) {
        if (hp.text.startsWith("size=")) {
          h.size = num({ v: hp.text.slice(5), pos: hp.pos + 5 }, "size");
          continue;
        }
        if (hp.text.startsWith("type=")) {
          h.type = num({ v: hp.text.slice(5), pos: hp.pos + 5 }, "type");
          continue;
        }
        const s = splitAttr(hp.text, hp.pos, err);
        const f = kvs(s.inner, s.innerPos);
        const str = (n: string) => f.get(n)?.v ?? err(`tnl_push: ${s.name}(${n}=…) expected`, s.innerPos);
        const n = (x: string) => num(f.get(x), `${s.name}(${x}=…)`);
        if (s.name === "eth") h.eth = { dst: str("dst"), src: str("src"), dlType: n("dl_type") };
        else if (s.name === "ipv4")
          h.ipv4 = {
            src: str("src"),
            dst: str("dst"),
            proto: n("proto"),
            tos: n("tos"),
            ttl: n("ttl"),
            frag: n("frag"),
          };
        else if (s.name === "ipv6")
          h.ipv6 = {
            src: str("src"),
            dst: str("dst"),
            label: n("label"),
            proto: n("proto"),
            tclass: n("tclass"),
            hlimit: n("hlimit"),
          };
        else if (s.name === "udp") h.udp = { src: n("src"), dst: n("dst"), csum: n("csum") };
        else if (s.name === "vxlan") h.vxlan = { flags: n("flags"), vni: n("vni") };
        else if (s.name === "geneve") {
          h.geneve = { vni: n("vni"), oam: f.has("oam"), crit: f.has("crit") };
          const o = /options\((.*)\)$/s.exec(s.inner);
          if (o) h.geneve.options = parseGeneveOptions(o[1] as string, s.innerPos, err);
        } else if (s.name === "gre") {
          // gre((flags=0x2000,proto=0x6558),csum=0x0,key=0x1c8,seq=0x1)
          const m = /^\(flags=(0x[0-9a-f]+),proto=(0x[0-9a-f]+)\)(.*)$/i.exec(s.inner);
          if (!m) return err("tnl_push: gre((flags=…,proto=…)…) expected", s.innerPos);
          const rest = kvs((m[3] as string).replace(/^,/, ""), s.innerPos);
          const opt = (x: string) => (rest.has(x) ? num(rest.get(x), `gre(${x}=…)`) : undefined);
          h.gre = { flags: Number(m[1]), proto: Number(m[2]) };
          const cs = opt("csum");
          if (cs !== undefined) h.gre.csum = cs;
          const k = opt("key");
          if (k !== undefined) h.gre.key = k;
          const q = opt("seq");
          if (q !== undefined) h.gre.seq = q;
        } else err(`tnl_push: unsupported header ${s.name}`, hp.pos);
      }
      if (h.size === undefined || h.type === undefined || !h.eth || !(h.udp || h.gre) || !(h.ipv4 || h.ipv6)) {
        err("tnl_push: header needs size, type, eth, ipv4 or ipv6, and udp or gre", a.innerPos);
      }
      header = h as TnlPushHeader;
    } else err(`tnl_push: unknown part ${a.name}`, part.pos);
  }
  if (tnlPort < 0 || outPort < 0 || !header) err("tnl_push: needs tnl_port(…), header(…) and out_port(…)", pos);
  return { type: "tnl_push", tnlPort, header: header as TnlPushHeader, outPort };
}

const RAW_ACTIONS = new Set([
  "ct",
  "ct_clear",
  "sample",
  "meter",
  "hash",
  "trunc",
  "check_pkt_len",
  "lb_output",
  "drop",
]);

/** Parse datapath actions: `drop`, `1,2`, `set(ipv4(ttl=2))`, `push_vlan(vid=100,pcp=0)`, … */
export function parseOdpActions(
  text: string,
  start = 0,
  end = text.length,
  portNames?: ReadonlyMap<number, string>,
): OdpAction[] {
  return withPortNames(portNames, () => parseActionsIn(text, start, end));
}

function parseActionsIn(text: string, start: number, end: number): OdpAction[] {
  const err: Err = (reason, pos) => {
    throw new FlowSyntaxError(reason, pos, text);
  };
  const body = text.slice(start, end);
  if (body.trim() === "drop") return [];
  const out: OdpAction[] = [];
  for (const part of splitTop(body, start)) {
    const t = part.text.trim();
    const at = part.pos + (part.text.length - part.text.trimStart().length);
    if (/^\d+$/.test(t) || portByName.has(t)) {
      out.push({ type: "output", port: Number(portNum(t)) });
      continue;
    }
    if (t === "pop_vlan") {
      out.push({ type: "pop_vlan" });
      continue;
    }
    const a = splitAttr(t, at, err);
    switch (a.name) {
      case "set":
      case "set_masked": {
        const s = splitAttr(a.inner, a.innerPos, err);
        const k: OdpKey = { key: new Uint32Array(FLOW_WORDS), mask: new Uint32Array(FLOW_WORDS), packetType: false };
        parseAttrs(k, text, a.innerPos, a.innerPos + a.inner.length, err);
        out.push({ type: "set", attr: s.name, key: k.key, mask: k.mask });
        break;
      }
      case "push_vlan": {
        const f = kvs(a.inner, a.innerPos);
        const n = (x: string, d: number) =>
          f.has(x) ? Number(parseValue({ fmt: "u", bits: 16, name: x }, f.get(x)!.v, f.get(x)!.pos, err)[0]) : d;
        const vid = n("vid", 0);
        const pcp = n("pcp", 0);
        const cfi = n("cfi", 1);
        if (vid > 4095 || pcp > 7) err("push_vlan: vid or pcp out of range", a.innerPos);
        out.push({ type: "push_vlan", tpid: n("tpid", EtherType.VLAN), tci: (pcp << 13) | (cfi ? VLAN_CFI : 0) | vid });
        break;
      }
      case "recirc":
        out.push({
          type: "recirc",
          id: Number(parseValue({ fmt: "x", bits: 32, name: "recirc" }, a.inner, a.innerPos, err)[0]),
        });
        break;
      case "tnl_pop": {
        const p = portNum(a.inner);
        if (p === null) return err(`tnl_pop: port expected, found ${JSON.stringify(a.inner)}`, a.innerPos);
        out.push({ type: "tnl_pop", port: Number(p) });
        break;
      }
      case "tnl_push":
        out.push(parseTnlPush(a.inner, a.innerPos, err));
        break;
      case "clone":
        out.push({ type: "clone", actions: parseActionsIn(text, a.innerPos, a.innerPos + a.inner.length) });
        break;
      case "userspace":
        out.push({ type: "userspace", text: t });
        break;
      default:
        if (!RAW_ACTIONS.has(a.name)) err(`unknown datapath action ${JSON.stringify(a.name)}`, at);
        out.push({ type: "raw", text: t });
    }
  }
  return out;
}

/** format_geneve_opts: {class=0xffff,type=0x80,len=4,0xa} per option (len in bytes of data). */
function formatGeneveOption(o: GeneveOption): string {
  const v = bigFromBytes(o.data);
  return `{class=0x${o.cls.toString(16)},type=0x${o.type.toString(16)},len=${o.data.length}${o.data.length ? `,0x${v.toString(16)}` : ""}}`;
}

function parseGeneveOptions(text: string, pos: number, err: Err): GeneveOption[] {
  const out: GeneveOption[] = [];
  const re = /\{class=(0x[0-9a-f]+|\d+),type=(0x[0-9a-f]+|\d+),len=(\d+)(?:,(0x[0-9a-f]+|\d+))?\}/giy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const len = Number(m[3]);
    if (len % 4 !== 0 || len > 124)
      return err(`tnl_push: geneve option len=${len} is not a multiple of 4 up to 124`, pos);
    const data = bigToBytes(m[4] === undefined ? 0n : BigInt(m[4]), len);
    out.push({ cls: Number(m[1]), type: Number(m[2]), data });
    if (re.lastIndex === text.length) return out;
  }
  return err("tnl_push: geneve options({class=…,type=…,len=…,value}…) expected", pos);
}

function formatTnlPush(a: Extract<OdpAction, { type: "tnl_push" }>, opts: OdpFormatOptions): string {
  const h = a.header;
  let s = `tnl_push(tnl_port(${portText(a.tnlPort, opts)}),header(size=${h.size},type=${h.type},`;
  s += `eth(dst=${h.eth.dst},src=${h.eth.src},dl_type=0x${h.eth.dlType.toString(16).padStart(4, "0")}),`;
  if (h.ipv4) {
    const i = h.ipv4;
    s += `ipv4(src=${i.src},dst=${i.dst},proto=${i.proto},tos=${hexC(i.tos)},ttl=${i.ttl},frag=${hexC(i.frag)}),`;
  } else if (h.ipv6) {
    const i = h.ipv6;
    s += `ipv6(src=${i.src},dst=${i.dst},label=${i.label},proto=${i.proto},tclass=${hexC(i.tclass)},hlimit=${i.hlimit}),`;
  }
  if (h.udp) s += `udp(src=${h.udp.src},dst=${h.udp.dst},csum=0x${h.udp.csum.toString(16)}),`;
  if (h.vxlan) s += `vxlan(flags=${hexC(h.vxlan.flags)},vni=${hexC(h.vxlan.vni)})`;
  if (h.geneve) {
    const g = h.geneve;
    s += `geneve(${g.oam ? "oam," : ""}${g.crit ? "crit," : ""}vni=${hexC(g.vni)}`;
    if (g.options && g.options.length > 0) s += `,options(${g.options.map(formatGeneveOption).join("")})`;
    s += ")";
  }
  if (h.gre) {
    // format_odp_tnl_push_header: the optional fields in wire order, each shown when its flag is set.
    const g = h.gre;
    s += `gre((flags=0x${g.flags.toString(16)},proto=0x${g.proto.toString(16)})`;
    if (g.flags & 0x8000) s += `,csum=0x${(g.csum ?? 0).toString(16)}`;
    if (g.flags & 0x2000) s += `,key=0x${(g.key ?? 0).toString(16)}`;
    if (g.flags & 0x1000) s += `,seq=0x${(g.seq ?? 0).toString(16)}`;
    s += ")";
  }
  s = s.replace(/,$/, "");
  return `${s}),out_port(${portText(a.outPort, opts)}))`;
}

/** The controller() userdata of a userspace action (odp-util.h's user_action_cookie). */
export interface ControllerCookie {
  reason: number; // OFPR_*
  recircId: number;
  ruleCookie: bigint;
  controllerId: number;
  maxLen: number;
}

/**
 * The userspace action of a controller action when no controller is connected, as
 * format_odp_userspace_action prints it (dont_send=1: OVS still emits it, and sends nothing).
 */
export function controllerUserspace(c: ControllerCookie): OdpAction {
  return {
    type: "userspace",
    text:
      `userspace(pid=0,controller(reason=${c.reason},dont_send=1,continuation=0,recirc_id=${c.recircId},` +
      `rule_cookie=${hexC(c.ruleCookie)},controller_id=${c.controllerId},max_len=${c.maxLen}))`,
  };
}

/** format_odp_actions: as dpctl/dump-flows and ofproto/trace print them; "drop" when empty. */
export function formatOdpActions(actions: readonly OdpAction[], opts: OdpFormatOptions = {}): string {
  if (!actions.length) return "drop";
  return actions
    .map((a) => {
      switch (a.type) {
        case "output":
          return portText(a.port, opts);
        case "set": {
          const k: OdpKey = { key: a.key, mask: a.mask, packetType: false };
          const body = ATTR_FIELDS[a.attr]
            ? `${a.attr}(${fieldsText(a.attr, a.key, a.mask, false)})`
            : formatOdpKey(k, {});
          return `set(${body})`;
        }
        case "push_vlan": {
          const parts: string[] = [];
          if (a.tpid !== EtherType.VLAN) parts.push(`tpid=0x${a.tpid.toString(16).padStart(4, "0")}`);
          parts.push(`vid=${a.tci & 0xfff}`, `pcp=${a.tci >>> 13}`);
          if (!(a.tci & VLAN_CFI)) parts.push("cfi=0");
          return `push_vlan(${parts.join(",")})`;
        }
        case "pop_vlan":
          return "pop_vlan";
        case "recirc":
          return `recirc(${hexC(a.id)})`;
        case "tnl_pop":
          return `tnl_pop(${portText(a.port, opts)})`;
        case "tnl_push":
          return formatTnlPush(a, opts);
        case "clone":
          // Ports inside print as numbers even with -m, as they did when clone travelled as text;
          // OVS's format_odp_clone_action would name them.
          return `clone(${formatOdpActions(a.actions)})`;
        case "userspace":
        case "raw":
          return a.text;
      }
    })
    .join(",");
}

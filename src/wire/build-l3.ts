// The network layer of compilePacket() (build.ts): IPv4 with its options and IPv6 with its
// extension headers. Each records in the Compiling context (build-compiled.ts) where its
// pseudo-header addresses will be, for the UDP, TCP and ICMPv6 checksums inside it (build-l4.ts),
// including the final destination of a source route, which is what those checksums cover.

import { ipv6FromString, viewOf } from "./bytes.ts";
import { IpProto } from "./numbers.ts";
import { emitIpv4, IPV4_HEADER_LEN } from "./ipv4.ts";
import { emitIpv6, IPV6_HEADER_LEN } from "./ipv6.ts";
import { type Fields, isObj, optionBytes, show } from "./build-fields.ts";
import { BUILD_DEFAULTS } from "./build-spec.ts";
import { type Compiling, fillAt, type IpInfo, protoOf } from "./build-compiled.ts";
import { icmpv6Type, isNdType } from "./build-l4.ts";

/** Compiles layer i, an ipv4 or ipv6 layer. */
export function compileL3(c: Compiling, i: number): void {
  switch (c.names[i]) {
    case "ipv4":
      return compileIpv4(c, i);
    case "ipv6":
      return compileIpv6(c, i);
    default:
      throw new Error(`layer ${i} (${c.names[i]}) is not a network layer`);
  }
}

function compileIpv4(c: Compiling, i: number): void {
  const f = c.all[i] as Fields;
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
    protocol: f.num("proto", 0, 255) ?? protoOf(c, i + 1) ?? BUILD_DEFAULTS.ipProtoExperimental,
    src: f.ipv4("src") ?? BUILD_DEFAULTS.ipv4Src,
    dst: f.ipv4("dst") ?? BUILD_DEFAULTS.ipv4Dst,
    options,
    payloadLen: 0,
  };
  const hl = IPV4_HEADER_LEN + ((options.length + 3) & ~3);
  const info: IpInfo = { version: 4, off: 0, srcRel: 12, dstRel: 16 + sourceRouteDstRel(options) };
  c.ip = info;
  const totalLen = f.num("totalLen", 0, 0xffff);
  const checksum = f.num("checksum", 0, 0xffff);
  c.nodes.push({
    name: "ipv4",
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
}

function compileIpv6(c: Compiling, i: number): void {
  const f = c.all[i] as Fields;
  const last = i === c.names.length - 1;
  const upperOf = c.names[i + 1] === "icmpv6" ? (c.all[i + 1] as Fields) : null;
  const nd = upperOf !== null && isNdType(icmpv6Type(upperOf));
  const upper =
    f.num("proto", 0, 255) ??
    protoOf(c, i + 1) ??
    (last && c.payload.length === 0 ? IpProto.NONE : BUILD_DEFAULTS.ipProtoExperimental);
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
  c.ip = info;
  c.ipv6Src = src;
  c.ipv6Dst = dst;
  const payloadLen = f.num("payloadLen", 0, 0xffff);
  c.nodes.push({
    name: "ipv6",
    hl: IPV6_HEADER_LEN + extLen,
    emit: (dv, off, rest) => {
      info.off = off;
      repr.payloadLen = payloadLen ?? extLen + rest;
      emitIpv6(repr, dv, off);
    },
    fill: null,
  });
}

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

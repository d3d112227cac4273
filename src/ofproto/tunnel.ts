// Tunnel ports (vxlan, geneve, gre) as Open vSwitch's userspace datapath does native tunnelling
// (lib/netdev-vport.c for the options, ofproto/tunnel.c for sending and receiving,
// lib/netdev-native-tnl.c for the headers, lib/tnl-ports.c for the listening ports).
//
// A tunnel Interface is an OpenFlow port of its bridge, but not a datapath port of its own: every
// tunnel of one type and UDP port shares one datapath vport (vxlan_sys_4789, genev_sys_6081,
// gre_sys). Sending translates to tnl_push(header) and the translation of the outer packet through
// the bridge the route to the remote endpoint names; receiving is the underlay bridge's output to
// its own address turned into tnl_pop(vport), then a second pass in which tnl_port_receive picks
// the OpenFlow port from the tunnel metadata (remote and local address, key).

import { formatIpMapped, isMappedIpv4, parseIpMapped, type RouteTable } from "./route.ts";
import type { NeighTable } from "./neigh.ts";
import type { BridgeView, XPort } from "./types.ts";
import type { GeneveOption, TnlPushHeader } from "../flow/odp.ts";
import { EtherType } from "../wire/numbers.ts";
import { ETHERNET_HEADER_LEN } from "../wire/ethernet.ts";
import { IPV4_HEADER_LEN } from "../wire/ipv4.ts";
import { IPV6_HEADER_LEN } from "../wire/ipv6.ts";
import { UDP_HEADER_LEN } from "../wire/udp.ts";
import { VXLAN_HEADER_LEN } from "../wire/vxlan.ts";
import { GENEVE_HEADER_LEN } from "../wire/geneve.ts";
import { GRE_HEADER_LEN } from "../wire/gre.ts";

/** A GRE optional field (checksum + reserved, or key): RFC 2890 §2, 4 bytes each. */
const GRE_OPTION_LEN = 4;

export type TunnelKind = "vxlan" | "geneve" | "gre";

export function isTunnelType(type: string): type is TunnelKind {
  return type === "vxlan" || type === "geneve" || type === "gre";
}

/** OVS_VPORT_TYPE_* as tnl_push(header(type=…)) prints it. */
export const VportType = { gre: 3, vxlan: 4, geneve: 5 } as const;
/** IANA ports: VXLAN RFC 7348 §5, GENEVE RFC 8926 §3.3. GRE is IP protocol 47, no port. */
export const DEFAULT_DST_PORT = { vxlan: 4789, geneve: 6081, gre: 0 } as const;
const DEFAULT_TTL = 64;
const VXLAN_FLAGS = 0x08000000; // I flag: the VNI is valid (RFC 7348 §5)
const GRE_KEY = 0x2000;
const GRE_CSUM = 0x8000;

export interface TunnelConfig {
  readonly kind: TunnelKind;
  /** Mapped address; null when remote_ip=flow. */
  readonly remote: bigint | null;
  /** Mapped address, or null: unset (any local address) or flow (localFlow). */
  readonly local: bigint | null;
  readonly localFlow: boolean;
  readonly inKey: bigint | "flow" | null; // null: no key (matches tun_id 0)
  readonly outKey: bigint | "flow" | null;
  readonly dstPort: number;
  readonly tos: number | "inherit";
  readonly ttl: number | "inherit";
  /** The csum option as given; null when not given (IPv6 then defaults to on, IPv4 to off). */
  readonly csum: boolean | null;
  readonly dfDefault: boolean;
  readonly egressPktMark: number | null;
  /** dpif/show's "(vxlan: key=123, remote_ip=1.1.2.92)" part after the type. */
  readonly text: string;
}

function parseKey(v: string | undefined): bigint | "flow" | null | string {
  if (v === undefined) return null;
  if (v === "flow") return "flow";
  try {
    const n = BigInt(v);
    if (n >= 0n && n < 1n << 64n) return n;
  } catch {
    /* fall through */
  }
  return `bad key ${v}`;
}

/** netdev-vport.c set_tunnel_config: the options of a tunnel Interface, or OVS's error text. */
export function parseTunnelConfig(
  name: string,
  kind: TunnelKind,
  options: ReadonlyMap<string, string>,
): TunnelConfig | string {
  const known = new Set([
    "remote_ip",
    "local_ip",
    "key",
    "in_key",
    "out_key",
    "dst_port",
    "tos",
    "ttl",
    "csum",
    "df_default",
    "egress_pkt_mark",
  ]);
  for (const k of options.keys()) {
    if (!known.has(k)) return `${name}: ${kind} type does not support option '${k}'`;
  }
  const rv = options.get("remote_ip");
  let remote: bigint | null = null;
  if (rv !== "flow") {
    remote = rv === undefined ? null : parseIpMapped(rv);
    if (remote === null) return `${name}: ${kind} type requires valid 'remote_ip' argument`;
  }
  const lv = options.get("local_ip");
  let local: bigint | null = null;
  if (lv !== undefined && lv !== "flow") {
    local = parseIpMapped(lv);
    if (local === null) return `${name}: ${kind} type requires valid 'local_ip' argument`;
  }
  const key = parseKey(options.get("key"));
  const inKey = options.has("in_key") ? parseKey(options.get("in_key")) : key;
  const outKey = options.has("out_key") ? parseKey(options.get("out_key")) : key;
  for (const k of [inKey, outKey]) if (typeof k === "string" && k !== "flow") return `${name}: ${k}`;
  const dp = options.get("dst_port");
  const dstPort = dp === undefined ? DEFAULT_DST_PORT[kind] : Number(dp);
  if (!Number.isInteger(dstPort) || dstPort < 0 || dstPort > 65535) return `${name}: bad dst_port ${dp}`;
  const num8 = (k: string, def: number | "inherit"): number | "inherit" | string => {
    const v = options.get(k);
    if (v === undefined) return def;
    if (v === "inherit") return "inherit";
    const n = Number(v);
    return Number.isInteger(n) && n >= 0 && n <= 255 ? n : `${name}: invalid ${k} ${v}`;
  };
  const tos = num8("tos", 0);
  const ttl = num8("ttl", DEFAULT_TTL);
  if (typeof tos === "string" && tos !== "inherit") return tos;
  if (typeof ttl === "string" && ttl !== "inherit") return ttl;
  const cv = options.get("csum");
  const dv = options.get("df_default");
  const mv = options.get("egress_pkt_mark");
  const cfg = {
    kind,
    remote,
    local,
    localFlow: lv === "flow",
    inKey: inKey as bigint | "flow" | null,
    outKey: outKey as bigint | "flow" | null,
    dstPort,
    tos: tos as number | "inherit",
    ttl: ttl as number | "inherit",
    csum: cv === undefined ? null : cv === "true",
    dfDefault: dv !== "false",
    egressPktMark: mv === undefined ? null : Number(mv) >>> 0,
  };
  return { ...cfg, text: configText(cfg, rv === "flow") };
}

/** get_tunnel_config: the options as OVS reads them back, sorted as dpif/show prints them. */
function configText(c: Omit<TunnelConfig, "text">, remoteFlow: boolean): string {
  const kv = new Map<string, string>();
  kv.set("remote_ip", remoteFlow ? "flow" : formatIpMapped(c.remote as bigint));
  if (c.localFlow) kv.set("local_ip", "flow");
  else if (c.local !== null) kv.set("local_ip", formatIpMapped(c.local));
  const ks = (k: bigint | "flow") => (k === "flow" ? "flow" : k.toString());
  if (c.inKey === "flow" && c.outKey === "flow") kv.set("key", "flow");
  else if (c.inKey !== null && c.outKey !== null && c.inKey === c.outKey) kv.set("key", ks(c.inKey));
  else {
    if (c.inKey !== null) kv.set("in_key", ks(c.inKey));
    if (c.outKey !== null) kv.set("out_key", ks(c.outKey));
  }
  if (c.dstPort !== DEFAULT_DST_PORT[c.kind]) kv.set("dst_port", String(c.dstPort));
  if (c.ttl === "inherit") kv.set("ttl", "inherit");
  else if (c.ttl !== DEFAULT_TTL) kv.set("ttl", String(c.ttl));
  if (c.tos === "inherit") kv.set("tos", "inherit");
  else if (c.tos !== 0) kv.set("tos", `0x${c.tos.toString(16)}`);
  if (c.csum === true) kv.set("csum", "true");
  if (!c.dfDefault) kv.set("df_default", "false");
  if (c.egressPktMark !== null) kv.set("egress_pkt_mark", String(c.egressPktMark));
  return [...kv]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

/** The datapath vport all tunnels of this kind and port share (dpif_port names of netdev-vport). */
export function vportName(c: Pick<TunnelConfig, "kind" | "dstPort">): string {
  return c.kind === "gre" ? "gre_sys" : `${c.kind === "geneve" ? "genev" : "vxlan"}_sys_${c.dstPort}`;
}

/** One tunnel Interface as translation sees it. */
export interface TunnelPort {
  readonly xport: XPort;
  readonly bridge: BridgeView;
  readonly cfg: TunnelConfig;
}

/** A GENEVE option mapped to a tun_metadata field (ofctl add-tlv-map). */
export interface TlvMapping {
  cls: number;
  type: number;
  len: number; // bytes, a multiple of 4 up to 124
  index: number; // tun_metadataN
}

/** What translation needs from the host for tunnels (the engine implements it). */
export interface TunnelEnv {
  readonly routes: RouteTable;
  readonly neigh: NeighTable;
  /** The tunnel behind an OpenFlow port of a bridge, or null. */
  tunnelOf(bridge: BridgeView, ofport: number): TunnelPort | null;
  /** The bridge whose internal port is `dev` (a route's output device), with that port. */
  bridgeOfDev(dev: string): { bridge: BridgeView; port: XPort } | null;
  /** The addresses ("ip/plen") of a port's device: xport_has_ip. */
  addrsOf(dev: string): readonly string[];
  /** The datapath port of the vport a packet to this IP protocol/UDP port is received on, if some
   *  tunnel listens there (tnl_port_map_lookup), else -1. */
  listening(ipv6: boolean, proto: number, udpDstPort: number): number;
  /** tnl_port_receive: the tunnel port a decapsulated packet belongs to, from its metadata. */
  receivePort(vport: number, key: Uint32Array): TunnelPort | null;
  /** The GENEVE option map (ofctl add-tlv-map). */
  tlvMap(): readonly TlvMapping[];
  /** Send an ARP request (IPv4) or a neighbour solicitation (IPv6) out of `bridge`'s uplinks. */
  solicit(bridge: BridgeView, smac: string, src: bigint, dst: bigint): void;
}

export interface HeaderParams {
  kind: TunnelKind;
  dmac: string;
  smac: string;
  src: bigint; // mapped
  dst: bigint; // mapped
  tos: number;
  ttl: number;
  df: boolean;
  csum: boolean;
  key: bigint | null; // null: no key (GRE without K)
  dstPort: number;
  geneveOptions: GeneveOption[];
}

/** netdev_*_build_header: the tnl_push header for one packet of a flow. */
export function buildTnlHeader(p: HeaderParams): TnlPushHeader {
  const v4 = isMappedIpv4(p.dst);
  const h: Partial<TnlPushHeader> & { size: number } = {
    size: ETHERNET_HEADER_LEN + (v4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN),
    type: VportType[p.kind],
  };
  h.eth = { dst: p.dmac, src: p.smac, dlType: v4 ? EtherType.IPV4 : EtherType.IPV6 };
  const proto = p.kind === "gre" ? 47 : 17;
  if (v4) {
    h.ipv4 = {
      src: formatIpMapped(p.src),
      dst: formatIpMapped(p.dst),
      proto,
      tos: p.tos,
      ttl: p.ttl,
      frag: p.df ? 0x4000 : 0,
    };
  } else {
    h.ipv6 = { src: formatIpMapped(p.src), dst: formatIpMapped(p.dst), label: 0, proto, tclass: p.tos, hlimit: p.ttl };
  }
  const vni = Number((p.key ?? 0n) & 0xffffffn);
  if (p.kind === "gre") {
    let flags = 0;
    h.size += GRE_HEADER_LEN;
    h.gre = { flags: 0, proto: EtherType.TEB }; // NVGRE's payload (RFC 7637 §3.2)
    if (p.csum) {
      flags |= GRE_CSUM;
      h.gre.csum = 0;
      h.size += GRE_OPTION_LEN;
    }
    if (p.key !== null) {
      flags |= GRE_KEY;
      h.gre.key = Number(p.key & 0xffffffffn);
      h.size += GRE_OPTION_LEN;
    }
    h.gre.flags = flags;
  } else {
    // netdev_tnl_push_udp_header fills the checksum; the template says whether there is one.
    h.udp = { src: 0, dst: p.dstPort, csum: p.csum ? 0xffff : 0 };
    h.size += UDP_HEADER_LEN + (p.kind === "vxlan" ? VXLAN_HEADER_LEN : GENEVE_HEADER_LEN);
    if (p.kind === "vxlan") h.vxlan = { flags: VXLAN_FLAGS, vni };
    else {
      const crit = p.geneveOptions.some((o) => (o.type & 0x80) !== 0);
      h.geneve = { vni, oam: false, crit };
      if (p.geneveOptions.length > 0) h.geneve.options = p.geneveOptions;
      for (const o of p.geneveOptions) h.size += 4 + o.data.length;
    }
  }
  return h as TnlPushHeader;
}

/** The IPv6 default of csum: on, unless the option says otherwise (RFC 6935/6936: a zero UDP
 *  checksum over IPv6 is an exception a tunnel must opt into). */
export function tunnelCsum(cfg: TunnelConfig, ipv6: boolean): boolean {
  return cfg.csum ?? ipv6;
}

export { parseIpMapped, formatIpMapped, isMappedIpv4 };

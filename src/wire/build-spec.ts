// The packet description that src/wire/build.ts compiles: the PacketSpec types, the names and
// order of the layers it accepts, the defaults a sender's stack would fill in, and SpecError.
// Plain data with no imports, so that tools and tests can type a spec without the builder; the
// field readers (build-fields.ts) and the per-layer compilers (build-l2.ts … build-tunnel.ts)
// check a spec against LAYER_FIELDS and NEXT.

/** A number, or its text (decimal or 0x-prefixed hex, for JSON files). */
export type Num = number | string;
/** Bytes as hex text ("0a0b 0c:0d"), or {hex}. */
export type HexSpec = string | { hex: string };
/** Option TLVs: raw bytes, or a list of {type, data} (data hex; IPv4/TCP types 0 and 1 are one byte). */
export type OptionsSpec = HexSpec | Array<{ type: Num; data?: HexSpec }>;
export type PayloadSpec = string | { hex: string } | { len: Num };

export interface EthSpec {
  src?: string;
  dst?: string;
  type?: Num;
}
export interface VlanSpec {
  vid?: Num;
  pcp?: Num;
  dei?: Num;
  tpid?: Num;
  type?: Num;
}
export interface ArpSpec {
  op?: Num | "request" | "reply";
  sha?: string;
  spa?: string;
  tha?: string;
  tpa?: string;
}
export interface Ipv4Spec {
  src?: string;
  dst?: string;
  ttl?: Num;
  tos?: Num;
  id?: Num;
  df?: boolean;
  mf?: boolean;
  offset?: Num; // fragment offset, bytes (a multiple of 8)
  proto?: Num;
  options?: OptionsSpec;
  totalLen?: Num;
  checksum?: Num;
}
export type Ipv6ExtSpec =
  | { hopopts: { options?: OptionsSpec } }
  | { dstopts: { options?: OptionsSpec } }
  | { routing: { type?: Num; segLeft?: Num; addresses?: string[] } }
  | { fragment: { offset?: Num; more?: boolean; id?: Num } };
export interface Ipv6Spec {
  src?: string;
  dst?: string;
  hlimit?: Num;
  tclass?: Num;
  label?: Num;
  proto?: Num; // the upper-layer protocol, written in the last header of the chain
  ext?: Ipv6ExtSpec[];
  payloadLen?: Num;
}
export interface UdpSpec {
  src?: Num;
  dst?: Num;
  len?: Num;
  checksum?: Num;
  csum?: boolean;
}
export interface TcpSpec {
  src?: Num;
  dst?: Num;
  seq?: Num;
  ack?: Num;
  flags?: Num | string | string[];
  window?: Num;
  urgent?: Num;
  options?: OptionsSpec;
  checksum?: Num;
}
export interface IcmpSpec {
  type?: Num;
  code?: Num;
  id?: Num;
  seq?: Num;
  mtu?: Num;
  pointer?: Num;
  gateway?: string;
  rest?: Num;
  checksum?: Num;
}
export interface Icmpv6Spec {
  type?: Num;
  code?: Num;
  id?: Num;
  seq?: Num;
  mtu?: Num;
  pointer?: Num;
  target?: string;
  sll?: string | false;
  tll?: string | false;
  flags?: string | string[] | Num;
  rest?: Num;
  checksum?: Num;
}
export interface GreSpec {
  proto?: Num;
  csum?: boolean;
  checksum?: Num;
  key?: Num;
  seq?: Num;
  vsid?: Num;
  flowId?: Num;
}
export interface VxlanSpec {
  vni?: Num;
  flags?: Num;
}
export interface GeneveSpec {
  vni?: Num;
  proto?: Num;
  oam?: boolean;
  critical?: boolean;
  options?: Array<{ class: Num; type: Num; data?: HexSpec }>;
}

export type LayerSpec =
  | { eth: EthSpec }
  | { vlan: VlanSpec }
  | { arp: ArpSpec }
  | { ipv4: Ipv4Spec }
  | { ipv6: Ipv6Spec }
  | { udp: UdpSpec }
  | { tcp: TcpSpec }
  | { icmp: IcmpSpec }
  | { icmpv6: Icmpv6Spec }
  | { gre: GreSpec }
  | { vxlan: VxlanSpec }
  | { geneve: GeneveSpec };

export interface PacketSpec {
  layers: LayerSpec[];
  payload?: PayloadSpec;
  /** Pad the frame with zero bytes to at least this length (60: Ethernet's minimum without FCS). */
  pad?: Num;
}

export const LAYER_NAMES = [
  "eth",
  "vlan",
  "arp",
  "ipv4",
  "ipv6",
  "udp",
  "tcp",
  "icmp",
  "icmpv6",
  "gre",
  "vxlan",
  "geneve",
] as const;
export type LayerName = (typeof LAYER_NAMES)[number];

/** The defaults listed at the top of build.ts. */
export const BUILD_DEFAULTS = {
  ethSrc: "02:00:00:00:00:01",
  ethDst: "02:00:00:00:00:02",
  ethType: 0x88b5, // IEEE 802 local experimental EtherType 1
  vid: 1,
  ipv4Src: "192.0.2.1", // RFC 5737 TEST-NET-1
  ipv4Dst: "192.0.2.2",
  ipv6Src: "2001:db8::1", // RFC 3849
  ipv6Dst: "2001:db8::2",
  ttl: 64,
  ndHopLimit: 255, // RFC 4861 §7.1.1: ND messages are sent with hop limit 255
  ipProtoExperimental: 253, // RFC 3692
  srcPort: 49152, // first dynamic port, RFC 6335 §6
  dstPort: 50000,
  tcpSeq: 1,
  tcpWindow: 65535,
  icmpId: 1,
  icmpSeq: 1,
  icmpv6Mtu: 1280, // RFC 8200 §5 minimum link MTU
} as const;

/**
 * A spec that cannot be built. `layer` is the index in `layers` (-1 for the packet itself),
 * `path` leads from the PacketSpec to the offending value (["layers", 3, "udp", "dst"]), for
 * tools that map it back to a position in the file it came from.
 */
export class SpecError extends Error {
  override readonly name = "SpecError";
  constructor(
    message: string,
    readonly layer: number,
    readonly path: ReadonlyArray<string | number>,
  ) {
    super(message);
  }
}

/** The fields each layer accepts; any other key is a SpecError naming these. */
export const LAYER_FIELDS: Readonly<Record<LayerName, readonly string[]>> = {
  eth: ["src", "dst", "type"],
  vlan: ["vid", "pcp", "dei", "tpid", "type"],
  arp: ["op", "sha", "spa", "tha", "tpa"],
  ipv4: ["src", "dst", "ttl", "tos", "id", "df", "mf", "offset", "proto", "options", "totalLen", "checksum"],
  ipv6: ["src", "dst", "hlimit", "tclass", "label", "proto", "ext", "payloadLen"],
  udp: ["src", "dst", "len", "checksum", "csum"],
  tcp: ["src", "dst", "seq", "ack", "flags", "window", "urgent", "options", "checksum"],
  icmp: ["type", "code", "id", "seq", "mtu", "pointer", "gateway", "rest", "checksum"],
  icmpv6: ["type", "code", "id", "seq", "mtu", "pointer", "target", "sll", "tll", "flags", "rest", "checksum"],
  gre: ["proto", "csum", "checksum", "key", "seq", "vsid", "flowId"],
  vxlan: ["vni", "flags"],
  geneve: ["vni", "proto", "oam", "critical", "options"],
};

/** Which layers may directly follow each one. Only an ICMP error may quote a packet (build-l4.ts checks its type). */
export const NEXT: Readonly<Record<LayerName, readonly LayerName[]>> = {
  eth: ["vlan", "arp", "ipv4", "ipv6"],
  vlan: ["vlan", "arp", "ipv4", "ipv6"],
  arp: [],
  ipv4: ["udp", "tcp", "icmp", "gre", "ipv4", "ipv6"],
  ipv6: ["udp", "tcp", "icmpv6", "gre", "ipv4", "ipv6"],
  udp: ["vxlan", "geneve"],
  tcp: [],
  icmp: ["ipv4"],
  icmpv6: ["ipv6"],
  gre: ["eth", "ipv4", "ipv6"],
  vxlan: ["eth"],
  geneve: ["eth", "ipv4", "ipv6"],
};

// The link layer of compilePacket() (build.ts): Ethernet, 802.1Q/802.1ad tags and ARP, each read
// from its spec with Fields (build-fields.ts) into a Node (build-compiled.ts) that writes it with
// the emitter of its protocol file. Ethernet records its addresses in the Compiling context for
// the ARP and ICMPv6 neighbor-discovery layers inside it.

import { emitEthernet, ETHERNET_HEADER_LEN } from "./ethernet.ts";
import { emitVlan, VLAN_HEADER_LEN } from "./vlan.ts";
import { ARP_HEADER_LEN, ArpOp, emitArp } from "./arp.ts";
import type { Fields } from "./build-fields.ts";
import { BUILD_DEFAULTS } from "./build-spec.ts";
import { type Compiling, typeOf } from "./build-compiled.ts";

/** Compiles layer i, an eth, vlan or arp layer. */
export function compileL2(c: Compiling, i: number): void {
  switch (c.names[i]) {
    case "eth":
      return compileEth(c, i);
    case "vlan":
      return compileVlan(c, i);
    case "arp":
      return compileArp(c, i);
    default:
      throw new Error(`layer ${i} (${c.names[i]}) is not a link layer`);
  }
}

function compileEth(c: Compiling, i: number): void {
  const f = c.all[i] as Fields;
  const src = f.mac("src") ?? BUILD_DEFAULTS.ethSrc;
  let j = i + 1;
  while (c.names[j] === "vlan") j++;
  const arpRequest = c.names[j] === "arp" && arpOp(c.all[j] as Fields) === ArpOp.REQUEST;
  const dst = f.mac("dst") ?? (arpRequest ? "ff:ff:ff:ff:ff:ff" : BUILD_DEFAULTS.ethDst);
  const etherType = f.num("type", 0, 0xffff) ?? typeOf(c, i + 1) ?? BUILD_DEFAULTS.ethType;
  c.eth = { src, dst };
  const repr = { src, dst, etherType };
  c.nodes.push({
    name: "eth",
    hl: ETHERNET_HEADER_LEN,
    emit: (dv, off) => {
      emitEthernet(repr, dv, off);
    },
    fill: null,
  });
}

function compileVlan(c: Compiling, i: number): void {
  const f = c.all[i] as Fields;
  f.num("tpid", 0, 0xffff); // checked here too when the tag is first
  const repr = {
    vid: f.num("vid", 0, 4095) ?? BUILD_DEFAULTS.vid,
    pcp: f.num("pcp", 0, 7) ?? 0,
    dei: f.num("dei", 0, 1) ?? 0,
    etherType: f.num("type", 0, 0xffff) ?? typeOf(c, i + 1) ?? BUILD_DEFAULTS.ethType,
  };
  c.nodes.push({
    name: "vlan",
    hl: VLAN_HEADER_LEN,
    emit: (dv, off) => {
      emitVlan(repr, dv, off);
    },
    fill: null,
  });
}

function compileArp(c: Compiling, i: number): void {
  const f = c.all[i] as Fields;
  const op = arpOp(f);
  const repr = {
    op,
    sha: f.mac("sha") ?? c.eth.src,
    spa: f.ipv4("spa") ?? BUILD_DEFAULTS.ipv4Src,
    tha: f.mac("tha") ?? (op === ArpOp.REPLY ? c.eth.dst : "00:00:00:00:00:00"),
    tpa: f.ipv4("tpa") ?? BUILD_DEFAULTS.ipv4Dst,
  };
  c.nodes.push({
    name: "arp",
    hl: ARP_HEADER_LEN,
    emit: (dv, off) => {
      emitArp(repr, dv, off);
    },
    fill: null,
  });
}

function arpOp(f: Fields): number {
  const v = f.obj["op"];
  if (v === "request") return ArpOp.REQUEST;
  if (v === "reply") return ArpOp.REPLY;
  return f.num("op", 0, 0xffff) ?? ArpOp.REQUEST;
}

// Native tunnelling in translation (Open vSwitch ofproto-dpif-xlate.c native_tunnel_output and
// terminate_native_tunnel; ofproto/tunnel.c tnl_port_send, tnl_wc_init, tnl_process_ecn), over
// the routes, neighbours and tunnel ports of tunnel.ts's TunnelEnv.
//
// Output to a tunnel port (nativeTunnelOutput) picks the route and neighbour, builds the
// tnl_push header and the outer packet's flow, and hands both back: xlate.ts translates the outer
// packet through the bridge the route leaves by and puts its actions after tnl_push, so this file
// never calls translate() and imports nothing of xlate.ts. Output to a port with an address
// (terminateNativeTunnel) is where tunnel packets are popped (tnl_pop) and ARP replies and
// neighbour advertisements to us are snooped. A packet that came from a tunnel matches its tunnel
// fields (tunnelWcInit) and has its ECN decapsulated (tunnelProcessEcn, RFC 6040).

import {
  bigToWords,
  FLOW_WORDS,
  ipv4Mapped,
  macWordsFromString,
  macWordsToString,
  NwFrag,
  tunnelDst,
  tunnelPresent,
  tunnelSrc,
  u32,
  W,
  wordsToBig,
  type FlowKey,
} from "../flow/key.ts";
import type { GeneveOption, OdpAction } from "../flow/odp.ts";
import type { BridgeView, XPort } from "./types.ts";
import {
  buildTnlHeader,
  formatIpMapped,
  isMappedIpv4,
  parseIpMapped,
  tunnelCsum,
  type TunnelEnv,
  type TunnelPort,
} from "./tunnel.ts";
import { type Ctx, ONES, PTTF } from "./xlate-ctx.ts";
import { EtherType } from "../wire/numbers.ts";

/** What a tunnel output sends: tnl_push, then the outer packet's flow through `bridge`. */
export interface OuterPacket {
  push: OdpAction;
  bridge: BridgeView;
  key: FlowKey;
}

const ECN_MASK = 0x03;
const ECN_CE = 0x03;
const ECN_ECT0 = 0x02;
const TOS_SHIFT = 16; // nw_tos in PTTF
const TUN_TOS_SHIFT = 24; // tun_tos in W.TUN_TOS_TTL_FLAGS

/** tnl_wc_init: a packet from a tunnel matches its tunnel's id, endpoints and flags (df, csum,
 *  key), and, when the outer ECN is CE, the outer TOS and the inner ECN. */
export function tunnelWcInit(c: Ctx): void {
  const wc = c.wc;
  const f = c.flow;
  wc[W.TUN_ID_HI] = ONES;
  wc[W.TUN_ID_LO] = ONES;
  if (u32(f, W.TUN_DST) !== 0) {
    wc[W.TUN_SRC] = ONES;
    wc[W.TUN_DST] = ONES;
  } else
    for (let i = 0; i < 4; i++) {
      wc[W.TUN_IPV6_SRC + i] = ONES;
      wc[W.TUN_IPV6_DST + i] = ONES;
    }
  let m = u32(wc, W.TUN_TOS_TTL_FLAGS) | 0x2 | 0x4 | 0x8; // FLOW_TNL_F_DONT_FRAGMENT | CSUM | KEY
  if (((u32(f, W.TUN_TOS_TTL_FLAGS) >>> TUN_TOS_SHIFT) & ECN_MASK) === ECN_CE) {
    m |= 0xff << TUN_TOS_SHIFT;
    if (c.isIp()) wc[PTTF] = u32(wc, PTTF) | (ECN_MASK << TOS_SHIFT);
  }
  wc[W.TUN_TOS_TTL_FLAGS] = m >>> 0;
}

/** tnl_process_ecn: false to drop (CE outside, not-ECT inside); CE on an ECT inner packet is
 *  copied in (RFC 6040 §4.2, the normal mode's decapsulation table). */
export function tunnelProcessEcn(c: Ctx): boolean {
  const f = c.flow;
  if (!tunnelPresent(f) || !c.isIp()) return true;
  if (((u32(f, W.TUN_TOS_TTL_FLAGS) >>> TUN_TOS_SHIFT) & ECN_MASK) !== ECN_CE) return true;
  const tos = (u32(f, PTTF) >>> TOS_SHIFT) & 0xff;
  if ((tos & ECN_MASK) === 0) return false;
  f[PTTF] = (u32(f, PTTF) | (ECN_CE << TOS_SHIFT)) >>> 0;
  return true;
}

/** native_tunnel_output up to the outer packet: route, neighbour, header. null when the packet
 *  goes nowhere (no route; a neighbour cache miss, which solicits the neighbour). */
export function nativeTunnelOutput(c: Ctx, tp: TunnelPort, env: TunnelEnv): OuterPacket | null {
  const f = c.flow;
  const wc = c.wc;
  const cfg = tp.cfg;
  c.report("detail", "output to native tunnel");
  // tnl_port_send: the tunnel fields the port imposes; TOS/TTL inherit from the inner packet.
  const ip = c.isIp();
  const tosNow = (u32(f, PTTF) >>> TOS_SHIFT) & 0xff;
  let tos = 0;
  if (cfg.tos === "inherit") {
    if (ip) {
      wc[PTTF] = u32(wc, PTTF) | (0xfc << TOS_SHIFT);
      tos = tosNow & 0xfc;
    }
  } else tos = cfg.tos;
  if (ip) {
    wc[PTTF] = u32(wc, PTTF) | (ECN_MASK << TOS_SHIFT);
    tos |= (tosNow & ECN_MASK) === ECN_CE ? ECN_ECT0 : tosNow & ECN_MASK;
  }
  let ttl = 64;
  if (cfg.ttl === "inherit") {
    if (ip) {
      wc[PTTF] = u32(wc, PTTF) | (0xff << 8);
      ttl = (u32(f, PTTF) >>> 8) & 0xff;
    }
  } else ttl = cfg.ttl;
  const flowKey = wordsToBig(f, W.TUN_ID_HI, 2);
  const key = cfg.outKey === "flow" ? flowKey : cfg.outKey;
  const dst = cfg.remote ?? tunnelDst(f);
  const mark = (u32(f, W.PKT_MARK) | (cfg.egressPktMark ?? 0)) >>> 0;
  const route = dst === 0n ? null : env.routes.lookupMapped(dst, mark);
  const out = route === null ? null : env.bridgeOfDev(route.dev);
  if (route === null || out === null) {
    c.report("warn", "native tunnel routing failed");
    return null;
  }
  const nextHop = route.gw !== 0n ? route.gw : dst;
  const nh = formatIpMapped(nextHop);
  c.report("detail", `tunneling to ${nh} via ${route.dev}`);
  const smac = out.port.mac;
  const src = cfg.local ?? (cfg.localFlow ? tunnelSrc(f) : route.src);
  const n = env.neigh.lookupMapped(nextHop, out.bridge.name);
  if (n === null) {
    const v4 = isMappedIpv4(nextHop);
    c.report(
      "detail",
      `neighbor cache miss for ${nh} on bridge ${out.bridge.name}, sending ${v4 ? "ARP" : "ND"} request`,
    );
    env.solicit(out.bridge, smac, route.src, nextHop);
    return null;
  }
  c.report("detail", `tunneling from ${smac} ${formatIpMapped(src)} to ${n.mac} ${nh}`);
  const v4 = isMappedIpv4(dst);
  const header = buildTnlHeader({
    kind: cfg.kind,
    dmac: n.mac,
    smac,
    src,
    dst,
    tos,
    ttl,
    df: cfg.dfDefault,
    csum: tunnelCsum(cfg, !v4),
    key: key ?? (cfg.kind === "gre" ? null : 0n),
    dstPort: cfg.dstPort,
    geneveOptions: cfg.kind === "geneve" ? geneveOptions(f, env) : [],
  });
  const push: OdpAction = { type: "tnl_push", tnlPort: tp.xport.odpPort, header, outPort: out.port.odpPort };

  // The outer packet, as propagate_tunnel_data_to_flow leaves the flow.
  const k = new Uint32Array(FLOW_WORDS);
  k[W.IN_PORT] = out.port.ofport;
  [k[W.DL_DST_HI], k[W.DL_DST_LO]] = macWordsFromString(n.mac);
  [k[W.DL_SRC_HI], k[W.DL_SRC_LO]] = macWordsFromString(smac);
  k[W.DL_TYPE] = v4 ? EtherType.IPV4 : EtherType.IPV6;
  if (v4) {
    k[W.NW_SRC] = Number(src & 0xffffffffn);
    k[W.NW_DST] = Number(dst & 0xffffffffn);
  } else {
    bigToWords(k, W.IPV6_SRC, 4, src);
    bigToWords(k, W.IPV6_DST, 4, dst);
  }
  const proto = cfg.kind === "gre" ? 47 : 17;
  k[PTTF] = ((proto << 24) | (tos << 16) | (ttl << 8)) >>> 0;
  if (proto === 17) k[W.TP] = cfg.dstPort;
  return { push, bridge: out.bridge, key: k };
}

/** tun_metadata_to_geneve_header: each mapped tun_metadataN that holds a value becomes an option
 *  (its value in the option's last 4 bytes), in the map's order. */
function geneveOptions(f: FlowKey, env: TunnelEnv): GeneveOption[] {
  const out: GeneveOption[] = [];
  for (const m of env.tlvMap()) {
    if (m.index >= 8) continue;
    const v = u32(f, W.TUN_METADATA + m.index);
    if (v === 0) continue;
    const data = new Uint8Array(m.len);
    for (let i = 0; i < 4 && i < m.len; i++) data[m.len - 1 - i] = (v >>> (8 * i)) & 0xff;
    out.push({ cls: m.cls, type: m.type, data });
  }
  return out;
}

/** terminate_native_tunnel on output to a port with an address: tnl_pop for a packet to one of
 *  our tunnel endpoints (tnl_port_map_lookup), or neighbour snooping of ARP replies and neighbour
 *  advertisements to our address. Returns the vport to pop to, or -1. */
export function terminateNativeTunnel(c: Ctx, xp: XPort, env: TunnelEnv): number {
  const f = c.flow;
  const wc = c.wc;
  const t = c.dlType();
  const addrs = env.addrsOf(xp.name);
  const mine = (a: bigint): boolean => addrs.some((x) => parseIpMapped(x.split("/")[0] as string) === a);
  if (t === EtherType.IPV4 || t === EtherType.IPV6) {
    const v4 = t === EtherType.IPV4;
    // The listening ports' classifier: eth dst, eth type, IP dst, protocol, frag, UDP dst.
    wc[W.DL_DST_HI] = 0xffff;
    wc[W.DL_DST_LO] = ONES;
    const [mh, ml] = macWordsFromString(xp.mac);
    let dst: bigint;
    if (v4) {
      wc[W.NW_DST] = ONES;
      dst = ipv4Mapped(u32(f, W.NW_DST));
    } else {
      wc.fill(ONES, W.IPV6_DST, W.IPV6_DST + 4);
      dst = wordsToBig(f, W.IPV6_DST, 4);
    }
    wc[PTTF] = u32(wc, PTTF) | 0xff000000 | NwFrag.ANY | NwFrag.LATER;
    const proto = c.proto();
    if (proto === 17) wc[W.TP] = u32(wc, W.TP) | 0xffff;
    const frag = u32(f, PTTF) & (NwFrag.ANY | NwFrag.LATER);
    if (f[W.DL_DST_HI] !== mh || f[W.DL_DST_LO] !== ml || frag !== 0 || !mine(dst)) {
      return snoopNd(c, env, mine);
    }
    if (proto === 47) return env.listening(!v4, 47, 0);
    if (proto === 17) return env.listening(!v4, 17, u32(f, W.TP) & 0xffff);
    return snoopNd(c, env, mine);
  }
  if (t === EtherType.ARP) {
    // is_neighbor_reply_correct: the ARP is for our address; tnl_arp_snoop: replies and
    // gratuitous ARPs with a sender MAC.
    // (OVS 3.1's megaflows show sip, tip and op matched either way, sha only for our address.)
    wc[W.NW_DST] = ONES;
    wc[W.NW_SRC] = ONES;
    wc[PTTF] = u32(wc, PTTF) | 0xff000000;
    if (!mine(ipv4Mapped(u32(f, W.NW_DST)))) return -1;
    wc[W.ARP_SHA_HI] = 0xffff;
    wc[W.ARP_SHA_LO] = ONES;
    if (c.opts.sideEffects) {
      const sha = macWordsToString(f, W.ARP_SHA_HI);
      env.neigh.snoopArp(c.br.name, c.proto(), sha, u32(f, W.NW_SRC), u32(f, W.NW_DST));
    }
  }
  return -1;
}

/** tnl_nd_snoop: a neighbour advertisement to our address teaches target -> target link address. */
function snoopNd(c: Ctx, env: TunnelEnv, mine: (a: bigint) => boolean): number {
  const f = c.flow;
  if (c.dlType() !== EtherType.IPV6 || c.proto() !== 58 || u32(f, W.TP) >>> 16 !== 136) return -1;
  if (!mine(wordsToBig(f, W.IPV6_DST, 4))) return -1;
  const target = wordsToBig(f, W.ND_TARGET, 4);
  const wc = c.wc;
  wc[W.TP] = u32(wc, W.TP) | 0xffff0000;
  for (let i = 0; i < 4; i++) wc[W.ND_TARGET + i] = ONES;
  wc[W.ARP_THA_HI] = 0xffff;
  wc[W.ARP_THA_LO] = ONES;
  if (c.opts.sideEffects) env.neigh.snoopNa(c.br.name, target, macWordsToString(f, W.ARP_THA_HI));
  return -1;
}

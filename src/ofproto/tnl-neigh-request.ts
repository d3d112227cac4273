// The frames a tunnel sends when the next hop to its remote endpoint has no known MAC
// (ofproto-dpif-xlate.c tnl_send_arp_request and tnl_send_nd_request): an ARP request for IPv4,
// a neighbour solicitation for IPv6. The host sends them as packet-outs from the bridge's own
// port; the replies fill the neighbour table (neigh.ts) by snooping.

import { emitArp, ArpOp, ARP_HEADER_LEN } from "../wire/arp.ts";
import { emitEthernet, ETHERNET_HEADER_LEN } from "../wire/ethernet.ts";
import { emitIpv6, IPV6_HEADER_LEN } from "../wire/ipv6.ts";
import { emitIcmpv6, Icmpv6Type, Icmpv6View, ICMPV6_HEADER_LEN } from "../wire/icmpv6.ts";
import { bigToBytes, macFromString, macToString, viewOf } from "../wire/bytes.ts";
import { EtherType, IpProto } from "../wire/numbers.ts";
import { formatIpMapped } from "./route.ts";

/** Who-has `dst` tell `src`, broadcast, unpadded (as OVS sends it). Addresses are IPv4-mapped. */
export function arpRequest(smac: string, src: bigint, dst: bigint): Uint8Array {
  const frame = new Uint8Array(ETHERNET_HEADER_LEN + ARP_HEADER_LEN);
  const dv = new DataView(frame.buffer);
  const p = emitEthernet({ dst: "ff:ff:ff:ff:ff:ff", src: smac, etherType: EtherType.ARP }, dv, 0);
  emitArp(
    { op: ArpOp.REQUEST, sha: smac, spa: formatIpMapped(src), tha: "00:00:00:00:00:00", tpa: formatIpMapped(dst) },
    dv,
    p,
  );
  return frame;
}

/** NDP option: source link-layer address (RFC 4861 §4.6.1), 8 bytes with an Ethernet MAC. */
const SLL_OPTION_LEN = 8;
const ND_TARGET_LEN = 16;

/**
 * A neighbour solicitation (RFC 4861 §4.3) for `dst` to its solicited-node multicast address
 * (RFC 4291 §2.7.1), with our link-layer address option; hop limit 255, as §7.1.1 requires.
 */
export function neighborSolicitation(smac: string, src: bigint, dst: bigint): Uint8Array {
  const icmpLen = ICMPV6_HEADER_LEN + ND_TARGET_LEN + SLL_OPTION_LEN;
  const frame = new Uint8Array(ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + icmpLen);
  const dv = new DataView(frame.buffer);
  const low24 = Number(dst & 0xffffffn);
  const snm = `ff02::1:ff${(low24 >>> 16).toString(16).padStart(2, "0")}:${(low24 & 0xffff).toString(16)}`;
  const dmac = macToString(
    viewOf(Uint8Array.of(0x33, 0x33, 0xff, low24 >>> 16, (low24 >>> 8) & 0xff, low24 & 0xff)),
    0,
  );
  let p = emitEthernet({ dst: dmac, src: smac, etherType: EtherType.IPV6 }, dv, 0);
  const ip = p;
  p = emitIpv6(
    {
      dscp: 0,
      ecn: 0,
      flowLabel: 0,
      payloadLen: icmpLen,
      nextHeader: IpProto.ICMPV6,
      hopLimit: 255,
      src: formatIpMapped(src),
      dst: snm,
      extHeaders: [],
    },
    dv,
    p,
  );
  const icmp = p;
  p = emitIcmpv6({ type: Icmpv6Type.NEIGHBOR_SOLICITATION, code: 0, checksum: 0, rest: 0 }, dv, p);
  frame.set(bigToBytes(dst, ND_TARGET_LEN), p);
  p += ND_TARGET_LEN;
  dv.setUint8(p, 1); // option type: source link-layer address
  dv.setUint8(p + 1, SLL_OPTION_LEN / 8); // length in units of 8 bytes
  frame.set(macFromString(smac), p + 2);
  new Icmpv6View().wrap(dv, icmp, icmpLen).fillChecksum(ip, icmpLen);
  return frame;
}

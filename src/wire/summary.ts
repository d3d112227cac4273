// One line per packet in the manner of `tcpdump -nn -e`, built from the dissector's layers: link
// addresses and EtherType, then each header in turn, tunnels followed into their inner frame
// (tcpdump prints the inner frame on the next line; one line per packet keeps `grep` useful).

import type { Decoded, DecodedLayer } from "./decode.ts";
import { TcpFlag } from "./tcp.ts";
import { EtherType } from "./numbers.ts";

const ETHER_NAMES: Record<number, string> = {
  [EtherType.IPV4]: "IPv4",
  [EtherType.ARP]: "ARP",
  [EtherType.IPV6]: "IPv6",
  [EtherType.VLAN]: "802.1Q",
  [EtherType.QINQ]: "802.1Q-QinQ",
  [EtherType.QINQ_OLD]: "802.1Q-9100",
  [EtherType.TEB]: "TEB",
};

const etherText = (t: number) => `ethertype ${ETHER_NAMES[t] ?? "Unknown"} (0x${t.toString(16).padStart(4, "0")})`;

/** tcpdump's flag letters, in its order. */
function tcpFlags(f: number): string {
  let s = "";
  if (f & TcpFlag.FIN) s += "F";
  if (f & TcpFlag.SYN) s += "S";
  if (f & TcpFlag.RST) s += "R";
  if (f & TcpFlag.PSH) s += "P";
  if (f & TcpFlag.URG) s += "U";
  if (f & TcpFlag.ECE) s += "E";
  if (f & TcpFlag.CWR) s += "W";
  if (f & TcpFlag.ACK) s += ".";
  return s || "none";
}

const ICMP_NAMES: Record<number, string> = {
  0: "echo reply",
  3: "unreachable",
  5: "redirect",
  8: "echo request",
  11: "time exceeded",
  12: "parameter problem",
};
const ICMP6_NAMES: Record<number, string> = {
  1: "destination unreachable",
  2: "packet too big",
  3: "time exceeded",
  128: "echo request",
  129: "echo reply",
  133: "router solicitation",
  134: "router advertisement",
  135: "neighbor solicitation",
  136: "neighbor advertisement",
};

export function summarize(d: Decoded): string {
  const parts: string[] = [];
  const L = d.layers;
  let ip: { src: string; dst: string; v6: boolean } | null = null;
  let pendingIp = "";
  for (let i = 0; i < L.length; i++) {
    const l = L[i] as DecodedLayer;
    switch (l.name) {
      case "eth": {
        const lenOf = d.len - l.off;
        if (parts.length) parts.push("|");
        parts.push(`${l.repr.src} > ${l.repr.dst}, ${etherText(l.repr.etherType)}, length ${lenOf}:`);
        break;
      }
      case "cooked":
        parts.push(`${etherText(l.repr.etherType)}, length ${d.len}:`);
        break;
      case "vlan":
        parts.push(`vlan ${l.repr.vid}, p ${l.repr.pcp}${l.repr.dei ? ", DEI" : ""}, ${etherText(l.repr.etherType)},`);
        break;
      case "arp":
        parts.push(
          l.repr.op === 1
            ? `ARP, Request who-has ${l.repr.tpa} tell ${l.repr.spa}, length 28`
            : l.repr.op === 2
              ? `ARP, Reply ${l.repr.spa} is-at ${l.repr.sha}, length 28`
              : `ARP, op ${l.repr.op}, length 28`,
        );
        break;
      case "ipv4": {
        ip = { src: l.repr.src, dst: l.repr.dst, v6: false };
        const frag =
          l.repr.fragOffset > 0 || l.repr.moreFrags
            ? ` (frag ${l.repr.id}:${l.repr.payloadLen}@${l.repr.fragOffset}${l.repr.moreFrags ? "+" : ""})`
            : "";
        pendingIp = frag;
        const next = L[i + 1];
        if (!next || !["udp", "tcp"].includes(next.name)) parts.push(`IP ${ip.src} > ${ip.dst}:${frag}`);
        break;
      }
      case "ipv6": {
        ip = { src: l.repr.src, dst: l.repr.dst, v6: true };
        pendingIp = "";
        const next = L[i + 1];
        if (!next || !["udp", "tcp"].includes(next.name)) parts.push(`IP6 ${ip.src} > ${ip.dst}:`);
        break;
      }
      case "udp": {
        const p = ip
          ? `${ip.v6 ? "IP6" : "IP"} ${ip.src}.${l.repr.srcPort} > ${ip.dst}.${l.repr.dstPort}:${pendingIp}`
          : "";
        const next = L[i + 1];
        parts.push(
          next && (next.name === "vxlan" || next.name === "geneve") ? p : `${p} UDP, length ${l.repr.length - 8}`,
        );
        break;
      }
      case "tcp": {
        const p = ip
          ? `${ip.v6 ? "IP6" : "IP"} ${ip.src}.${l.repr.srcPort} > ${ip.dst}.${l.repr.dstPort}:${pendingIp}`
          : "";
        const data = L[i + 1]?.name === "data" ? (L[i + 1] as DecodedLayer).len : 0;
        const ack = l.repr.flags & TcpFlag.ACK ? `, ack ${l.repr.ack}` : "";
        parts.push(
          `${p} Flags [${tcpFlags(l.repr.flags)}], seq ${l.repr.seq}${ack}, win ${l.repr.window}, length ${data}`,
        );
        break;
      }
      case "icmp": {
        const echo =
          l.repr.type === 0 || l.repr.type === 8 ? `, id ${l.repr.rest >>> 16}, seq ${l.repr.rest & 0xffff}` : "";
        const data = L[i + 1]?.name === "data" ? (L[i + 1] as DecodedLayer).len : 0;
        parts.push(`ICMP ${ICMP_NAMES[l.repr.type] ?? `type-#${l.repr.type}`}${echo}, length ${l.len + data}`);
        break;
      }
      case "icmpv6":
        parts.push(`ICMP6, ${ICMP6_NAMES[l.repr.type] ?? `type ${l.repr.type}`}, length ${l.len}`);
        break;
      case "gre": {
        const key = l.repr.key !== null ? `, key=0x${(l.repr.key >>> 0).toString(16)}` : "";
        const nv =
          l.repr.key !== null && l.repr.protocolType === EtherType.TEB
            ? ` (NVGRE vsid ${l.repr.key >>> 8}, flowid ${l.repr.key & 0xff})`
            : "";
        parts.push(
          `GREv${l.repr.version}${key}${nv}, proto ${ETHER_NAMES[l.repr.protocolType] ?? `0x${l.repr.protocolType.toString(16)}`},`,
        );
        break;
      }
      case "vxlan":
        parts.push(
          `VXLAN, flags [${l.repr.flags & 0x08 ? "I" : "."}] (0x${l.repr.flags.toString(16).padStart(2, "0")}), vni ${l.repr.vni}`,
        );
        break;
      case "geneve":
        parts.push(
          `Geneve, Flags [${l.repr.oam ? "O" : ""}${l.repr.critical ? "C" : ""}${!l.repr.oam && !l.repr.critical ? "none" : ""}], vni 0x${l.repr.vni.toString(16)}, proto ${ETHER_NAMES[l.repr.protocolType] ?? "0x" + l.repr.protocolType.toString(16)}, options ${l.repr.options.length}`,
        );
        break;
      case "data":
        break;
    }
  }
  let line = parts.join(" ");
  if (d.error) line += ` [malformed: ${d.error.message}]`;
  return line;
}

// The mask of an exact-match flow for one packet: every field the packet has, and no field it
// lacks. This is Open vSwitch's flow_wildcards_init_for_packet() (lib/flow.c): an IPv4 packet's
// flow does not match on IPv6 addresses, an untagged packet's on VLAN words, a packet that did
// not come from a tunnel on tunnel metadata. The NIC's exact-match tracker and the datapath's
// EMC key on exactly these fields, and the datapath flow syntax prints exactly these.
//
// Also here: the megaflow mask of a translation (datapathMask) and the mask as dpctl prints it
// (displayMask), which differ only in how a datapath flow says "no VLAN tag".
import { EtherType, IpProto } from "../wire/numbers.ts";
import { NwFrag, SUBFIELD, VLAN_CFI, u32, W, getField, type FlowKey, type FlowMask } from "./key.ts";

const ONES = 0xffffffff;

function fill(mask: FlowMask, word: number, n = 1): void {
  for (let i = 0; i < n; i++) mask[word + i] = ONES;
}

/** Writes into `mask` (FLOW_WORDS long) the exact-match mask for the packet whose key is `key`. */
export function exactMaskForPacket(key: FlowKey, mask: FlowMask): FlowMask {
  mask.fill(0);
  fill(mask, W.RECIRC_ID);
  fill(mask, W.IN_PORT);
  if (key[W.TUN_DST] !== 0 || key[W.TUN_IPV6_DST] !== 0 || key[W.TUN_IPV6_DST + 3] !== 0) {
    fill(mask, W.TUN_ID_HI, 2);
    if (key[W.TUN_DST] !== 0) fill(mask, W.TUN_SRC, 2);
    else {
      fill(mask, W.TUN_IPV6_SRC, 4);
      fill(mask, W.TUN_IPV6_DST, 4);
    }
    fill(mask, W.TUN_TOS_TTL_FLAGS);
    fill(mask, W.TUN_TP);
  }
  fill(mask, W.DL_DST_HI, 4);
  fill(mask, W.DL_TYPE);
  // Tag words only as far as the packet has tags: in the datapath flow language the absence of a
  // vlan() attribute is what says "untagged".
  if (key[W.VLAN0] !== 0) fill(mask, W.VLAN0);
  if (key[W.VLAN1] !== 0) fill(mask, W.VLAN1);
  const dlType = getField(key, SUBFIELD.dl_type);
  if (dlType === EtherType.IPV4 || dlType === EtherType.IPV6) {
    if (dlType === EtherType.IPV4) fill(mask, W.NW_SRC, 2);
    else {
      fill(mask, W.IPV6_SRC, 8);
      fill(mask, W.IPV6_LABEL);
    }
    fill(mask, W.NW_PROTO_TOS_TTL_FRAG);
    const proto = getField(key, SUBFIELD.nw_proto);
    const later = (getField(key, SUBFIELD.nw_frag) & NwFrag.LATER) !== 0;
    if (!later) {
      if (proto === IpProto.TCP) {
        fill(mask, W.TP);
        fill(mask, W.TCP_FLAGS);
      } else if (proto === IpProto.UDP || proto === 132 /* SCTP */ || proto === IpProto.ICMP) fill(mask, W.TP);
      else if (proto === IpProto.ICMPV6) {
        fill(mask, W.TP);
        const type = getField(key, SUBFIELD.tp_src);
        if (type === 135 || type === 136) {
          fill(mask, W.ND_TARGET, 4);
          fill(mask, W.ARP_SHA_HI, 4);
        }
      }
    }
  } else if (dlType === EtherType.ARP) {
    fill(mask, W.NW_SRC, 2);
    fill(mask, W.NW_PROTO_TOS_TTL_FRAG); // the opcode's byte; the rest of the word is 0 for ARP
    fill(mask, W.ARP_SHA_HI, 4);
  }
  return mask;
}

const TAG_WORDS = [W.VLAN0, W.VLAN1] as const;

/**
 * The megaflow mask of a translation: its wildcards, plus what a datapath flow always matches
 * exactly — recirc_id, in_port, and whether each VLAN tag is there (a datapath key names the
 * outer EtherType, so an untagged flow never matches a tagged packet: odp-util.c). An absent tag
 * is matched as the whole word being 0; a present one by its TPID and presence bit.
 */
export function datapathMask(wc: Uint32Array, key: FlowKey): Uint32Array {
  const mask = Uint32Array.from(wc);
  mask[W.IN_PORT] = ONES;
  mask[W.RECIRC_ID] = ONES;
  for (const w of TAG_WORDS) {
    if ((u32(key, w) & VLAN_CFI) === 0) {
      mask[w] = ONES;
      break;
    }
    mask[w] = (u32(mask, w) | 0xffff0000 | VLAN_CFI) >>> 0;
  }
  return mask;
}

/** The mask as dpctl prints it: the implicit "no tag" match is not shown (OVS shows none). */
export function displayMask(mask: Uint32Array, key: FlowKey): Uint32Array {
  const m = Uint32Array.from(mask);
  for (const w of TAG_WORDS)
    if ((u32(key, w) & VLAN_CFI) === 0) {
      m[w] = 0;
      break;
    }
  return m;
}

// Committing a translation's flow changes to datapath actions (Open vSwitch lib/odp-util.c
// commit_odp_actions). Actions rewrite the flow in place as they run (xlate.ts); nothing reaches
// the datapath until an output or a controller action calls commit(), which turns the difference
// between the flow now and the flow at the last commit (Ctx.base) into set(...) actions in OVS's
// order: eth, L3, L4, then VLAN pops and pushes, then skb_mark. The userspace datapath takes
// masked sets, and a masked set carries only the fields that changed, under the megaflow mask's
// bits for them (commit(), keycmp_mask()), or all of a field's bits when translation never
// consulted it.

import { FLOW_WORDS, NwFrag, u32, VLAN_CFI, W, type FlowKey, type FlowMask } from "../flow/key.ts";
import { locBits, readLoc, writeLoc, type FieldLoc } from "../flow/fields.ts";
import { type Ctx, ONES, PTTF } from "./xlate-ctx.ts";
import { EtherType } from "../wire/numbers.ts";

interface SetField {
  loc: FieldLoc;
}
const loc = (t: FieldLoc): SetField => ({ loc: t });
const words = (word: number, n: number): FieldLoc => ({ t: "words", word, n });
const sub = (word: number, shift: number, bits: number): FieldLoc => ({ t: "sub", f: { word, shift, bits } });
const macLoc = (word: number): FieldLoc => ({ t: "mac", word });

/** The writable fields of each datapath key attribute, in odp.ts's layout. */
const SET_ATTRS: Readonly<Record<string, readonly SetField[]>> = {
  eth: [loc(macLoc(W.DL_SRC_HI)), loc(macLoc(W.DL_DST_HI))],
  ipv4: [loc(words(W.NW_SRC, 1)), loc(words(W.NW_DST, 1)), loc(sub(PTTF, 16, 8)), loc(sub(PTTF, 8, 8))],
  ipv6: [
    loc(words(W.IPV6_SRC, 4)),
    loc(words(W.IPV6_DST, 4)),
    loc(sub(W.IPV6_LABEL, 0, 20)),
    loc(sub(PTTF, 16, 8)),
    loc(sub(PTTF, 8, 8)),
  ],
  arp: [
    loc(words(W.NW_SRC, 1)),
    loc(words(W.NW_DST, 1)),
    loc(sub(PTTF, 24, 8)),
    loc(macLoc(W.ARP_SHA_HI)),
    loc(macLoc(W.ARP_THA_HI)),
  ],
  tp: [loc(sub(W.TP, 16, 16)), loc(sub(W.TP, 0, 16))],
  icmp: [loc(sub(W.TP, 16, 8)), loc(sub(W.TP, 0, 8))],
};

/** Emits a masked set of the fields of `attr` that changed since the last commit. */
function commitAttr(c: Ctx, attr: string, fields: readonly SetField[]): void {
  let key: FlowKey | null = null;
  let mask: FlowMask | null = null;
  for (const sf of fields) {
    const now = readLoc(c.flow, sf.loc);
    if (now === readLoc(c.base, sf.loc)) continue;
    if (key === null) {
      key = Uint32Array.from(c.flow);
      mask = new Uint32Array(FLOW_WORDS);
    }
    let m = readLoc(c.wc, sf.loc);
    if (m === 0n) m = (1n << BigInt(locBits(sf.loc))) - 1n;
    writeLoc(mask as FlowMask, sf.loc, m);
    writeLoc(c.base, sf.loc, now);
  }
  if (key !== null) c.actions.push({ type: "set", attr, key, mask: mask as FlowMask });
}

function countVlans(k: FlowKey): number {
  if (!(u32(k, W.VLAN0) & VLAN_CFI)) return 0;
  return u32(k, W.VLAN1) & VLAN_CFI ? 2 : 1;
}

/** Whether words [from, to) of the flow differ from the last commit (a cheap test before fields). */
function changed(c: Ctx, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (c.flow[i] !== c.base[i]) return true;
  return false;
}

/** commit_odp_actions: the flow's changes since the last commit become datapath actions. */
export function commit(c: Ctx): void {
  const f = c.flow;
  const b = c.base;
  if (
    !changed(c, W.DL_DST_HI, W.DL_SRC_LO + 1) &&
    !changed(c, W.NW_SRC, W.TP + 1) &&
    f[W.VLAN0] === b[W.VLAN0] &&
    f[W.VLAN1] === b[W.VLAN1] &&
    f[W.PKT_MARK] === b[W.PKT_MARK]
  )
    return;
  if (changed(c, W.DL_DST_HI, W.DL_SRC_LO + 1)) commitAttr(c, "eth", SET_ATTRS["eth"] as readonly SetField[]);
  const dlType = u32(b, W.DL_TYPE) & 0xffff;
  const proto = u32(f, PTTF) >>> 24;
  if (dlType === EtherType.IPV4 && proto) commitAttr(c, "ipv4", SET_ATTRS["ipv4"] as readonly SetField[]);
  else if (dlType === EtherType.IPV6 && proto) commitAttr(c, "ipv6", SET_ATTRS["ipv6"] as readonly SetField[]);
  else if (dlType === EtherType.ARP || dlType === EtherType.RARP)
    commitAttr(c, "arp", SET_ATTRS["arp"] as readonly SetField[]);
  if ((dlType === EtherType.IPV4 || dlType === EtherType.IPV6) && !(u32(f, PTTF) & NwFrag.LATER)) {
    if (proto === 6 || proto === 17 || proto === 132) {
      commitAttr(c, proto === 6 ? "tcp" : proto === 17 ? "udp" : "sctp", SET_ATTRS["tp"] as readonly SetField[]);
    } else if ((proto === 1 && dlType === EtherType.IPV4) || (proto === 58 && dlType === EtherType.IPV6)) {
      commitAttr(c, proto === 1 ? "icmp" : "icmpv6", SET_ATTRS["icmp"] as readonly SetField[]);
    }
  }
  // commit_vlan_action: pop the base's tags that differ (outermost first), push the flow's.
  let bn = countVlans(b) - 1;
  let fn = countVlans(f) - 1;
  while (bn >= 0 && fn >= 0 && b[W.VLAN0 + bn] === f[W.VLAN0 + fn]) {
    bn--;
    fn--;
  }
  for (; bn >= 0; bn--) {
    c.actions.push({ type: "pop_vlan" });
    c.wc[W.VLAN0 + bn] = ONES;
  }
  for (; fn >= 0; fn--) {
    const v = u32(f, W.VLAN0 + fn);
    c.actions.push({ type: "push_vlan", tpid: v >>> 16, tci: v & 0xffff });
  }
  b[W.VLAN0] = u32(f, W.VLAN0);
  b[W.VLAN1] = u32(f, W.VLAN1);
  if (f[W.PKT_MARK] !== b[W.PKT_MARK]) {
    const key = Uint32Array.from(f);
    const mask = new Uint32Array(FLOW_WORDS);
    mask[W.PKT_MARK] = u32(c.wc, W.PKT_MARK) || ONES;
    c.actions.push({ type: "set", attr: "skb_mark", key, mask });
    b[W.PKT_MARK] = u32(f, W.PKT_MARK);
  }
}

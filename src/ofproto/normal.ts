// NORMAL: the MAC-learning switch of Open vSwitch's xlate_normal (ofproto/ofproto-dpif-xlate.c),
// with the Port table's VLAN semantics (access, trunk, native-tagged, native-untagged,
// dot1q-tunnel) as bridge.c port_configure and ofproto-dpif bundle_set give them.
//
// Learning happens only when the translation allows side effects (an upcall, `ofproto/trace
// -generate`), never on a plain trace or a revalidation. Each output goes back to xlate.ts
// through the `output` callback it passes in (compose_output_action there), with the out port's
// VLAN translation applied to the flow for the call and undone after it; the callback keeps
// this file from importing xlate.ts, which imports it.

import { isReservedMac, u32, VLAN_CFI, W } from "../flow/key.ts";
import type { VlanMode, XPort } from "./types.ts";
import { type Ctx, ONES, PTTF } from "./xlate-ctx.ts";
import { EtherType } from "../wire/numbers.ts";

/** Outputs the flow as it is now to an OpenFlow port (xlate.ts outputPort). */
export type OutputPort = (c: Ctx, ofport: number) => void;

/** The port's effective VLAN mode: vlan_mode if set, else access with a tag and trunk without. */
export function portVlanMode(p: XPort): VlanMode {
  return p.vlanMode ?? (p.tag !== null ? "access" : "trunk");
}

/** The port's VLAN (xbundle->vlan): -1 for a trunk, else its tag (0 when none is set). */
export function portVlan(p: XPort): number {
  const mode = portVlanMode(p);
  if (mode === "trunk") return -1;
  return p.tag !== null && p.tag >= 0 && p.tag <= 4095 ? p.tag : 0;
}

/**
 * xbundle_trunks_vlan: whether the port carries `vid` tagged. Native modes always trunk their
 * own VLAN and never VLAN 0 unless trunks already say so (bundle_set's forced trunk set).
 */
export function portTrunksVlan(p: XPort, vid: number): boolean {
  const mode = portVlanMode(p);
  if (mode === "access") return false;
  const t = p.trunks;
  if (mode === "native-tagged" || mode === "native-untagged") {
    const vlan = portVlan(p);
    if (vlan !== 0 && (t.length === 0 || !t.includes(vlan) || t.includes(0))) {
      if (vid === vlan) return true;
      if (vid === 0) return false;
    }
  }
  return t.length === 0 || t.includes(vid);
}

/** xbundle_includes_vlan for an outer VLAN `vid` (and inner `vid1`, 0 when single-tagged). */
export function portIncludesVlan(p: XPort, vid: number, vid1 = 0): boolean {
  const mode = portVlanMode(p);
  if (mode === "access" || mode === "dot1q-tunnel") return vid === portVlan(p) && vid1 === 0;
  return portTrunksVlan(p, vid);
}

/** is_gratuitous_arp, which un-wildcards what it reads. */
function isGratuitousArp(c: Ctx): boolean {
  const f = c.flow;
  const wc = c.wc;
  if (c.dlType() !== EtherType.ARP) return false;
  wc[W.DL_DST_HI] = 0xffff;
  wc[W.DL_DST_LO] = ONES;
  if (f[W.DL_DST_HI] !== 0xffff || f[W.DL_DST_LO] !== ONES) return false;
  wc[PTTF] = u32(wc, PTTF) | 0xff000000;
  const op = c.proto();
  if (op === 2) return true;
  if (op !== 1) return false;
  wc[W.NW_SRC] = ONES;
  wc[W.NW_DST] = ONES;
  return f[W.NW_SRC] === f[W.NW_DST];
}

// The VLANs of the packet as NORMAL sees them (OVS's struct xvlan), kept in module scratch so a
// translation allocates nothing for them.
const xv = new Int32Array(6); // tpid0, vid0, pcp0 (tci bits), tpid1, vid1, pcp1

/** xlate_normal: learn the source, then forward to the learned port or flood the VLAN. */
export function xlateNormal(c: Ctx, output: OutputPort): void {
  const f = c.flow;
  const wc = c.wc;
  wc[W.DL_SRC_HI] = 0xffff;
  wc[W.DL_SRC_LO] = ONES;
  wc[W.DL_DST_HI] = 0xffff;
  wc[W.DL_DST_LO] = ONES;
  wc[W.VLAN0] = u32(wc, W.VLAN0) | 0x0fff | VLAN_CFI;

  const inPort = u32(f, W.IN_PORT);
  const inX = c.br.ports.get(inPort);
  if (inX === undefined) {
    c.report("warn", "no input bundle, dropping");
    return;
  }
  const t = c.dlType();
  if ((t === EtherType.VLAN || t === EtherType.QINQ) && !(u32(f, W.VLAN0) & VLAN_CFI)) {
    c.report("warn", "partial VLAN tag, dropping");
    return;
  }

  const v0 = u32(f, W.VLAN0);
  const vid = v0 & 0x0fff;
  const mode = portVlanMode(inX);
  if (mode === "access" || mode === "dot1q-tunnel") {
    if (vid) {
      c.report(
        "error",
        `dropping VLAN ${vid} tagged packet received on port ${inX.name} configured as VLAN ${portVlan(inX)} access port`,
      );
      c.report("warn", "disallowed VLAN VID for this input port, dropping");
      return;
    }
  } else if (!(vid === 0 && mode !== "trunk") && !portTrunksVlan(inX, vid)) {
    c.report(
      "error",
      `dropping VLAN ${vid} packet received on port ${inX.name} not configured for trunking VLAN ${vid}`,
    );
    c.report("warn", "disallowed VLAN VID for this input port, dropping");
    return;
  }
  // xvlan_extract + xvlan_input_translate
  const v1 = u32(f, W.VLAN1);
  for (let i = 0; i < 2; i++) {
    const v = i === 0 ? v0 : v1;
    const present = (v & VLAN_CFI) !== 0 && (i === 0 || (v0 & VLAN_CFI) !== 0);
    xv[3 * i] = present ? v >>> 16 : 0;
    xv[3 * i + 1] = present ? v & 0x0fff : 0;
    xv[3 * i + 2] = present ? v & 0xe000 : 0;
  }
  if (mode === "access" || mode === "dot1q-tunnel") {
    xv[0] = xv[0] || EtherType.VLAN;
    xv[1] = portVlan(inX);
    xv[3] = xv[4] = xv[5] = 0;
  } else if (mode !== "trunk" && xv[1] === 0) {
    xv[0] = xv[0] || EtherType.VLAN;
    xv[1] = portVlan(inX);
  }
  const vlan = xv[1] as number;

  if (isReservedMac(u32(f, W.DL_DST_HI), u32(f, W.DL_DST_LO))) {
    c.report("detail", "packet has reserved destination MAC, dropping");
    return;
  }
  isGratuitousArp(c);
  const srcHi = u32(f, W.DL_SRC_HI);
  const srcLo = u32(f, W.DL_SRC_LO);
  if (c.opts.sideEffects && !(srcHi & 0x0100)) c.br.mac.learnWords(srcHi, srcLo, vlan, inPort, c.opts.nowMs);

  const dstHi = u32(f, W.DL_DST_HI);
  // mac_learning_lookup never answers for a multicast (or broadcast) destination.
  const out = dstHi & 0x0100 ? -1 : c.br.mac.lookupWords(dstHi, u32(f, W.DL_DST_LO), vlan, c.opts.nowMs);
  if (out >= 0) {
    const outX = c.br.ports.get(out);
    if (outX === undefined) c.report("warn", "learned port is unknown, dropping");
    else if (out === inPort) c.report("detail", "learned port is input port, dropping");
    else {
      c.report("detail", "forwarding to learned port");
      outputNormal(c, outX, output);
    }
    return;
  }
  c.report("detail", "no learned MAC for destination, flooding");
  for (const p of c.br.ports.values()) {
    if (p.ofport !== inPort && portIncludesVlan(p, vlan, xv[4] as number)) outputNormal(c, p, output);
  }
}

/** output_normal: the packet with the out port's VLAN translation, then the flow's tags restored. */
function outputNormal(c: Ctx, p: XPort, output: OutputPort): void {
  const f = c.flow;
  const mode = portVlanMode(p);
  let t0 = xv[0] as number,
    vid0 = xv[1] as number,
    pcp0 = xv[2] as number;
  let t1 = xv[3] as number,
    vid1 = xv[4] as number,
    pcp1 = xv[5] as number;
  if (mode === "access" || mode === "dot1q-tunnel") {
    t0 = vid0 = pcp0 = t1 = vid1 = pcp1 = 0;
  } else if (mode === "native-untagged" && vid0 === portVlan(p)) {
    t0 = t1;
    vid0 = vid1;
    pcp0 = pcp1;
    t1 = vid1 = pcp1 = 0;
  }
  const old0 = u32(f, W.VLAN0);
  const old1 = u32(f, W.VLAN1);
  // xvlan_put: a tag for every non-zero TCI; an absent tag keeps its TPID with TCI 0.
  const tci0 = vid0 | pcp0;
  const tci1 = vid1 | pcp1;
  f[W.VLAN0] = tci0 ? (((t0 || EtherType.VLAN) << 16) | tci0 | VLAN_CFI) >>> 0 : ((old0 >>> 16) << 16) >>> 0;
  f[W.VLAN1] = tci1 ? (((t1 || EtherType.VLAN) << 16) | tci1 | VLAN_CFI) >>> 0 : ((old1 >>> 16) << 16) >>> 0;
  output(c, p.ofport);
  f[W.VLAN0] = old0;
  f[W.VLAN1] = old1;
}

// The tunnel layer of compilePacket() (build.ts): GRE (with NVGRE's key layout), VXLAN and GENEVE
// with its options. Each announces the layer inside it by its EtherType (typeOf, build-compiled.ts);
// the UDP port of VXLAN and GENEVE is chosen by the UDP layer before them (build-l4.ts).

import { EtherType } from "./numbers.ts";
import { emitGre, greHeaderLen, type GreRepr } from "./gre.ts";
import { emitVxlan, VXLAN_FLAG_I, VXLAN_HEADER_LEN } from "./vxlan.ts";
import {
  emitGeneve,
  GENEVE_MAX_OPTION_DATA_LEN,
  GENEVE_MAX_OPTIONS_LEN,
  geneveHeaderLen,
  type GeneveOption,
} from "./geneve.ts";
import { type Fields, show } from "./build-fields.ts";
import { type Compiling, fillAt, typeOf } from "./build-compiled.ts";

/** Compiles layer i, a gre, vxlan or geneve layer. */
export function compileTunnel(c: Compiling, i: number): void {
  switch (c.names[i]) {
    case "gre":
      return compileGre(c, i);
    case "vxlan":
      return compileVxlan(c, i);
    case "geneve":
      return compileGeneve(c, i);
    default:
      throw new Error(`layer ${i} (${c.names[i]}) is not a tunnel header`);
  }
}

function compileGre(c: Compiling, i: number): void {
  const f = c.all[i] as Fields;
  const vsid = f.num("vsid", 0, 0xffffff);
  const flowId = f.num("flowId", 0, 255);
  if (flowId !== undefined && vsid === undefined) f.fail("flowId", "needs vsid (NVGRE, RFC 7637 §3.2)");
  let key = f.num("key", 0, 0xffffffff) ?? null;
  if (vsid !== undefined) {
    if (key !== null) f.fail("vsid", "and key cannot both be given: NVGRE's key is vsid << 8 | flowId");
    key = (vsid * 256 + (flowId ?? 0)) >>> 0;
  }
  const checksum = f.num("checksum", 0, 0xffff);
  const csum = f.bool("csum");
  if (checksum !== undefined && csum !== undefined) f.fail("csum", "and checksum cannot both be given");
  const repr: GreRepr = {
    version: 0,
    protocolType: f.num("proto", 0, 0xffff) ?? typeOf(c, i + 1) ?? EtherType.TEB,
    checksum: checksum ?? (csum ? 0 : null),
    reserved1: 0,
    key,
    seq: f.num("seq", 0, 0xffffffff) ?? null,
    ack: null,
  };
  const hl = greHeaderLen(repr);
  c.nodes.push({
    name: "gre",
    hl,
    emit: (dv, off) => {
      emitGre(repr, dv, off);
    },
    fill: csum
      ? (dv, off, rest) => {
          fillAt(dv, off, 4, hl + rest, 0, false);
        }
      : null, // RFC 2784 §2.5
  });
}

function compileVxlan(c: Compiling, i: number): void {
  const f = c.all[i] as Fields;
  const repr = { vni: f.num("vni", 0, 0xffffff) ?? 0, flags: f.num("flags", 0, 255) ?? VXLAN_FLAG_I };
  c.nodes.push({
    name: "vxlan",
    hl: VXLAN_HEADER_LEN,
    emit: (dv, off) => {
      emitVxlan(repr, dv, off);
    },
    fill: null,
  });
}

function compileGeneve(c: Compiling, i: number): void {
  const f = c.all[i] as Fields;
  const options: GeneveOption[] = [];
  const ov = f.obj["options"];
  if (ov !== undefined && ov !== null) {
    const arr: unknown[] = Array.isArray(ov)
      ? ov
      : f.fail("options", `must be a list of {class, type, data}, got ${show(ov)}`);
    arr.forEach((o: unknown, k) => {
      const of = f.nested(["options", k], o, ["class", "type", "data"], `options[${k}]`);
      const cls = of.need("class", 0, 0xffff);
      const typ = of.need("type", 0, 255);
      const data = of.bytes("data") ?? new Uint8Array(0);
      if (data.length % 4 || data.length > GENEVE_MAX_OPTION_DATA_LEN) {
        of.fail(
          "data",
          `must be a multiple of 4 bytes, at most ${GENEVE_MAX_OPTION_DATA_LEN} (RFC 8926 §3.5), got ${data.length}`,
        );
      }
      options.push({ class: cls, type: typ, data });
    });
  }
  const repr = {
    oam: f.bool("oam") ?? false,
    ...(f.has("critical") ? { critical: f.bool("critical") as boolean } : {}),
    protocolType: f.num("proto", 0, 0xffff) ?? typeOf(c, i + 1) ?? EtherType.TEB,
    vni: f.num("vni", 0, 0xffffff) ?? 0,
    options,
  };
  const hl = geneveHeaderLen(repr);
  if (hl - 8 > GENEVE_MAX_OPTIONS_LEN)
    f.fail("options", `take ${hl - 8} bytes, at most ${GENEVE_MAX_OPTIONS_LEN} (RFC 8926 §3.4)`);
  c.nodes.push({
    name: "geneve",
    hl,
    emit: (dv, off) => {
      emitGeneve(repr, dv, off);
    },
    fill: null,
  });
}

// OpenFlow actions as ovs-ofctl reads and prints them (lib/ofp-actions.c).
//
// An action list is an array of plain objects with a `type` discriminant. Parsing folds the
// spellings that mean the same thing into one form, as Open vSwitch does: `mod_dl_src:M` and
// `set_field:M->eth_src` are both a set_field of eth_src, `strip_vlan` and `pop_vlan` are both
// pop_vlan, `mod_tp_src` becomes a set_field of tcp_src/udp_src/sctp_src according to the match.
//
// Printing has two dialects, because Open vSwitch prints the same flow differently depending
// on the OpenFlow version it was dumped with:
//   "of10"  plain `ovs-ofctl dump-flows br0` (OpenFlow 1.0 + Nicira extensions): set_field
//           prints as mod_dl_src/mod_nw_dst/mod_tp_src/mod_vlan_vid where OpenFlow 1.0 has such
//           an action and as `load:V->NXM_…[]` elsewhere; goto_table prints as resubmit(,N);
//           write_actions and clear_actions (instructions OpenFlow 1.0 lacks) are not shown.
//   "of13"  `ovs-ofctl -O OpenFlow13 dump-flows br0`: set_field:V->name, push_vlan + set_field
//           for mod_vlan_vid, pop_vlan, write_actions(…), clear_actions, goto_table:N.
// Every rule here was checked against ovs-ofctl 3.1 (see test/flow/actions.test.ts).

import {
  field,
  fieldByName,
  formatFieldValue,
  parseFieldValue,
  parsePort,
  portToString,
  prereqsOk,
  OfPort,
  type FieldSpec,
} from "./fields.ts";
import { u32, W, type FlowKey, type FlowMask } from "./key.ts";
import { EtherType } from "../wire/numbers.ts";
import { FlowSyntaxError, hexC, keyValues } from "./syntax.ts";

/** A bit range of a field, as in NXM_NX_REG0[0..7]. */
export interface Subfield {
  field: string; // canonical field name (fields.ts)
  ofs: number; // first bit
  nBits: number;
}

export type OfAction =
  | { type: "output"; port: number; maxLen?: number } // reserved ports included (NORMAL, LOCAL…)
  | { type: "output_reg"; src: Subfield }
  | { type: "controller"; maxLen: number; reason: string | null }
  | { type: "enqueue"; port: number; queue: number }
  | { type: "resubmit"; port: number | null; table: number | null }
  | { type: "goto_table"; table: number }
  | { type: "mod_vlan_vid"; vid: number } // pushes a tag first if there is none
  | { type: "mod_vlan_pcp"; pcp: number }
  | { type: "push_vlan"; ethertype: number }
  | { type: "pop_vlan" }
  | { type: "dec_ttl"; ids: number[] | null } // null: plain dec_ttl
  | { type: "mod_nw_ttl"; ttl: number }
  | { type: "set_field"; field: string; value: bigint; mask: bigint | null } // null: exact
  | { type: "load"; value: bigint; dst: Subfield }
  | { type: "move"; src: Subfield; dst: Subfield }
  | { type: "set_tunnel"; id: bigint; wide: boolean } // set_tunnel64 when wide
  | { type: "push"; src: Subfield }
  | { type: "pop"; dst: Subfield }
  | { type: "write_actions"; actions: OfAction[] }
  | { type: "clear_actions" }
  | { type: "note"; data: Uint8Array };

export type Dialect = "of10" | "of13";

export interface FormatActionsOptions {
  dialect?: Dialect; // default "of10"
  match?: { key: FlowKey; mask: FlowMask }; // the flow's match, which some of13 forms depend on
}

type Err = (reason: string, pos: number) => never;

const CONTROLLER_REASONS = ["no_match", "action", "invalid_ttl", "action_set", "group", "packet_out"];

/** mf_parse_subfield: NAME[], NAME[bit] or NAME[start..end]. */
export function parseSubfield(text: string, pos: number, err: Err): Subfield {
  const m = /^([A-Za-z0-9_]+)\[(?:(\d+)(?:\.\.(\d+))?)?\]$/.exec(text);
  if (!m) return err(`${text}: invalid subfield syntax`, pos);
  const f = fieldByName(m[1] as string);
  if (!f) return err(`${text}: unknown field \`${m[1]}'`, pos);
  if (m[2] === undefined) return { field: f.name, ofs: 0, nBits: f.bits };
  const start = Number(m[2]);
  const end = m[3] === undefined ? start : Number(m[3]);
  if (start >= f.bits) {
    return err(`${text}: starting bit ${start} is not valid because field is only ${f.bits} bits wide`, pos);
  }
  if (end >= f.bits) {
    return err(`${text}: ending bit ${end} is not valid because field is only ${f.bits} bits wide`, pos);
  }
  if (start > end) return err(`${text}: starting bit ${start} is after ending bit ${end}`, pos);
  return { field: f.name, ofs: start, nBits: end - start + 1 };
}

/** mf_format_subfield: NXM_…[], NXM_…[n] or NXM_…[a..b]. */
export function formatSubfield(sf: Subfield): string {
  const f = field(sf.field);
  const name = f.nxm || f.name;
  if (sf.ofs === 0 && sf.nBits === f.bits) return `${name}[]`;
  if (sf.nBits === 1) return `${name}[${sf.ofs}]`;
  return `${name}[${sf.ofs}..${sf.ofs + sf.nBits - 1}]`;
}

function checkPrereq(f: FieldSpec, what: string, match: Match | undefined, pos: number, err: Err): void {
  if (!match || prereqsOk(f.prereq, match.key, match.mask)) return;
  err(
    `${what} ${f.name} lacks correct prerequisites: actions are invalid with specified match (OFPBAC_MATCH_INCONSISTENT)`,
    pos,
  );
}

type Match = { key: FlowKey; mask: FlowMask };

function pushVlanMatch(m: Match, tpid: number): Match {
  const key = Uint32Array.from(m.key);
  const mask = Uint32Array.from(m.mask);
  key[W.VLAN1] = u32(key, W.VLAN0);
  mask[W.VLAN1] = u32(mask, W.VLAN0);
  key[W.VLAN0] = ((tpid << 16) | 0x1000) >>> 0;
  mask[W.VLAN0] = 0xffff1000 >>> 0;
  return { key, mask };
}

function popVlanMatch(m: Match): Match {
  const key = Uint32Array.from(m.key);
  const mask = Uint32Array.from(m.mask);
  key[W.VLAN0] = u32(key, W.VLAN1);
  mask[W.VLAN0] = u32(mask, W.VLAN1);
  key[W.VLAN1] = 0;
  mask[W.VLAN1] = 0;
  return { key, mask };
}

/** The transport field a mod_tp_* rewrites, by the match's nw_proto (tcp when unknown). */
function tpField(match: Match | undefined, dir: "src" | "dst"): string {
  const proto = match ? u32(match.key, W.NW_PROTO_TOS_TTL_FRAG) >>> 24 : 6;
  return `${proto === 17 ? "udp" : proto === 132 ? "sctp" : "tcp"}_${dir}`;
}

function parseU(text: string, max: number, pos: number, err: Err, what: string): number {
  if (!/^(0[xX][0-9a-fA-F]+|\d+)$/.test(text) || Number(text) > max) return err(`${text}: ${what}`, pos);
  return Number(text);
}

function parseOutPort(text: string, pos: number, err: Err): number {
  const p = parsePort(text);
  if (p === null) return err(`${text}: output to unknown port`, pos);
  if ((p >= OfPort.MAX && p < OfPort.IN_PORT) || p === OfPort.NONE) {
    return err("actions are invalid with specified match (OFPBAC_BAD_OUT_PORT)", pos);
  }
  return p;
}

/**
 * Parse the actions in `text` between `start` and `end` (offsets in `text`, so errors point
 * into the whole flow string). `match` enables OVS's prerequisite checks and picks the field
 * mod_tp_src rewrites.
 */
export function parseActions(text: string, start = 0, end = text.length, match?: Match): OfAction[] {
  const err: Err = (reason, pos) => {
    throw new FlowSyntaxError(reason, pos, text);
  };
  const out: OfAction[] = [];
  for (const kv of keyValues(text, start, end)) {
    const { key, value, keyPos, valuePos: vp } = kv;
    const k = key.toLowerCase();
    switch (k) {
      case "drop":
        continue;
      case "output": {
        if (kv.delim === "(") {
          const o: { port?: number; maxLen?: number } = {};
          for (const a of keyValues(text, vp, vp + value.length)) {
            if (a.key === "port") o.port = parseOutPort(a.value, a.valuePos, err);
            else if (a.key === "max_len") o.maxLen = parseU(a.value, 0xffffffff, a.valuePos, err, "invalid max_len");
            else err(`${a.key}: unknown output argument`, a.keyPos);
          }
          if (o.port === undefined) err("output: missing port", vp);
          out.push({ type: "output", port: o.port as number, ...(o.maxLen !== undefined ? { maxLen: o.maxLen } : {}) });
        } else if (value.includes("[")) {
          out.push({ type: "output_reg", src: parseSubfield(value, vp, err) });
        } else {
          const port = parseOutPort(value, vp, err);
          out.push(
            port === OfPort.CONTROLLER
              ? { type: "controller", maxLen: 0xffff, reason: null }
              : { type: "output", port },
          );
        }
        continue;
      }
      case "controller": {
        let maxLen = 0xffff;
        let reason: string | null = null;
        if (kv.delim === "(") {
          for (const a of keyValues(text, vp, vp + value.length)) {
            if (a.key === "max_len") maxLen = parseU(a.value, 0xffff, a.valuePos, err, "invalid max_len");
            else if (a.key === "reason") {
              if (!CONTROLLER_REASONS.includes(a.value)) err(`unknown reason "${a.value}"`, a.valuePos);
              reason = a.value === "action" ? null : a.value;
            } else err(`${a.key}: unknown controller argument`, a.keyPos);
          }
        } else if (value) {
          maxLen = parseU(value, 0xffff, vp, err, "invalid max_len");
        }
        out.push({ type: "controller", maxLen, reason });
        continue;
      }
      case "enqueue": {
        const [p, q] = value.split(/[:,]/);
        if (q === undefined) err("enqueue: missing queue", vp);
        out.push({
          type: "enqueue",
          port: parseOutPort(p as string, vp, err),
          queue: parseU(q as string, 0xffffffff, vp, err, "invalid queue"),
        });
        continue;
      }
      case "resubmit": {
        if (kv.delim === "(") {
          const [p = "", t = ""] = value.split(",");
          const port = p === "" ? null : parsePort(p);
          if (p !== "" && port === null) err(`${p}: resubmit to unknown port`, vp);
          const table = t === "" ? null : parseU(t, 254, vp + p.length + 1, err, "resubmit: invalid table");
          out.push({ type: "resubmit", port: port === OfPort.IN_PORT ? null : port, table });
        } else {
          const port = parsePort(value);
          if (port === null) err(`${value}: resubmit to unknown port`, vp);
          out.push({ type: "resubmit", port, table: null });
        }
        continue;
      }
      case "goto_table":
        out.push({ type: "goto_table", table: parseU(value, 254, vp, err, "invalid table") });
        continue;
      case "mod_vlan_vid":
        out.push({ type: "mod_vlan_vid", vid: parseU(value, 4095, vp, err, "not a valid VLAN VID") });
        continue;
      case "mod_vlan_pcp":
        out.push({ type: "mod_vlan_pcp", pcp: parseU(value, 7, vp, err, "not a valid VLAN PCP") });
        continue;
      case "strip_vlan":
      case "pop_vlan":
        out.push({ type: "pop_vlan" });
        if (match) match = popVlanMatch(match);
        continue;
      case "push_vlan": {
        const t = parseU(value, 0xffff, vp, err, "not a valid VLAN ethertype");
        if (t !== EtherType.VLAN && t !== EtherType.QINQ) err(`${value}: not a valid VLAN ethertype`, vp);
        out.push({ type: "push_vlan", ethertype: t });
        // Later actions are checked against the flow with the tag (OVS ofpacts_check updates the
        // flow as it goes), so `push_vlan,set_field:…->vlan_vid` is valid on an untagged match.
        if (match) match = pushVlanMatch(match, t);
        continue;
      }
      case "mod_dl_src":
      case "mod_dl_dst":
      case "mod_nw_src":
      case "mod_nw_dst":
      case "mod_tp_src":
      case "mod_tp_dst": {
        const name = {
          mod_dl_src: "eth_src",
          mod_dl_dst: "eth_dst",
          mod_nw_src: "ip_src",
          mod_nw_dst: "ip_dst",
          mod_tp_src: tpField(match, "src"),
          mod_tp_dst: tpField(match, "dst"),
        }[k];
        const f = field(name);
        const r = parseFieldValue(f, value);
        if (typeof r === "string" || r[1] !== (1n << BigInt(f.bytes * 8)) - 1n) {
          return err(typeof r === "string" ? r : `${value}: ${k} does not take a mask`, vp);
        }
        out.push({ type: "set_field", field: f.name, value: r[0], mask: null });
        continue;
      }
      case "mod_nw_tos": {
        const tos = parseU(value, 255, vp, err, "not a valid TOS");
        if (tos & 3) err(`${value}: not a valid TOS`, vp);
        out.push({ type: "set_field", field: "ip_dscp", value: BigInt(tos >> 2), mask: null });
        continue;
      }
      case "mod_nw_ttl":
        out.push({ type: "mod_nw_ttl", ttl: parseU(value, 255, vp, err, "invalid TTL") });
        continue;
      case "dec_ttl": {
        if (kv.delim === "(") {
          const ids = value.split(",").map((x, i) => parseU(x.trim(), 0xffff, vp + i, err, "invalid controller id"));
          out.push({ type: "dec_ttl", ids });
        } else {
          out.push({ type: "dec_ttl", ids: null });
        }
        continue;
      }
      case "set_field": {
        const arrow = value.lastIndexOf("->");
        if (arrow < 0) err(`${value}: missing \`->'`, vp);
        const name = value.slice(arrow + 2);
        const f = fieldByName(name);
        if (!f) return err(`${name} is not a valid OXM field name`, vp + arrow + 2);
        if (!f.writable) err(`${f.name} is read-only`, vp + arrow + 2);
        const r = parseFieldValue(f, value.slice(0, arrow));
        if (typeof r === "string") return err(r, vp);
        checkPrereq(f, "set_field", match, keyPos, err);
        const full = (1n << BigInt(f.bytes * 8)) - 1n;
        // OVS writes all the flags even for "+oam" (it prints load:0x1->NXM_NX_TUN_FLAGS[]).
        const exact = r[1] === full || f.format === "tun_flags";
        out.push({ type: "set_field", field: f.name, value: r[0], mask: exact ? null : r[1] });
        continue;
      }
      case "load": {
        const arrow = value.indexOf("->");
        if (arrow < 0) err(`${value}: missing \`->'`, vp);
        const dst = parseSubfield(value.slice(arrow + 2), vp + arrow + 2, err);
        const v = /^(0[xX][0-9a-fA-F]+|\d+)$/.test(value.slice(0, arrow)) ? BigInt(value.slice(0, arrow)) : null;
        if (v === null) return err(`${value.slice(0, arrow)}: not a valid integer`, vp);
        if (v >> BigInt(dst.nBits))
          err(`${value}: value ${value.slice(0, arrow)} does not fit into ${dst.nBits} bits`, vp);
        checkPrereq(field(dst.field), "load", match, keyPos, err);
        out.push({ type: "load", value: v, dst });
        continue;
      }
      case "move": {
        const arrow = value.indexOf("->");
        if (arrow < 0) err(`${value}: missing \`->'`, vp);
        const src = parseSubfield(value.slice(0, arrow), vp, err);
        const dst = parseSubfield(value.slice(arrow + 2), vp + arrow + 2, err);
        if (src.nBits !== dst.nBits) {
          err(`${value}: source field is ${src.nBits} bits wide but destination is ${dst.nBits} bits wide`, vp);
        }
        out.push({ type: "move", src, dst });
        continue;
      }
      case "set_tunnel":
      case "set_tunnel64": {
        if (!/^(0[xX][0-9a-fA-F]+|\d+)$/.test(value) || BigInt(value) > 0xffffffffffffffffn) {
          return err(`${value}: invalid tunnel id`, vp);
        }
        const id = BigInt(value);
        out.push({ type: "set_tunnel", id, wide: k === "set_tunnel64" || id > 0xffffffffn });
        continue;
      }
      case "push":
        out.push({ type: "push", src: parseSubfield(value, vp, err) });
        continue;
      case "pop":
        out.push({ type: "pop", dst: parseSubfield(value, vp, err) });
        continue;
      case "write_actions":
        out.push({ type: "write_actions", actions: parseActions(text, vp, vp + value.length, match) });
        continue;
      case "clear_actions":
        out.push({ type: "clear_actions" });
        continue;
      case "note": {
        const hex = value.replace(/\./g, "");
        if (!/^([0-9a-fA-F]{2})*$/.test(hex)) err("bad hex digit in `note' argument", vp);
        const n = hex.length / 2;
        // NXAST_NOTE pads the action to a multiple of 8 bytes; 10 bytes are header.
        const data = new Uint8Array(Math.ceil((10 + n) / 8) * 8 - 10);
        for (let i = 0; i < n; i++) data[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
        out.push({ type: "note", data });
        continue;
      }
      case "in_port":
        out.push({ type: "output", port: OfPort.IN_PORT });
        continue;
      default: {
        if (kv.delim === "") {
          const port = parsePort(key);
          if (port !== null) {
            if (port === OfPort.CONTROLLER) out.push({ type: "controller", maxLen: 0xffff, reason: null });
            else out.push({ type: "output", port: parseOutPort(key, keyPos, err) });
            continue;
          }
        }
        err(`unknown action ${key}`, keyPos);
      }
    }
  }
  return out;
}

// --- printing ---------------------------------------------------------------------------------

function vlanInMatch(match: Match | undefined): boolean {
  return !!match && (u32(match.mask, W.VLAN0) & 0x1000) !== 0 && (u32(match.key, W.VLAN0) & 0x1000) !== 0;
}

/** A full-width or contiguous-masked field write as OpenFlow 1.0 REG_LOAD actions. */
function loadForm(f: FieldSpec, value: bigint, mask: bigint | null): string | null {
  if (mask === null) {
    if (f.bits <= 64) return `load:${hexC(value)}->${formatSubfield({ field: f.name, ofs: 0, nBits: f.bits })}`;
    const parts: string[] = [];
    for (let ofs = 0; ofs < f.bits; ofs += 64) {
      const v = (value >> BigInt(ofs)) & 0xffffffffffffffffn;
      parts.push(`load:${hexC(v)}->${formatSubfield({ field: f.name, ofs, nBits: 64 })}`);
    }
    return parts.join(",");
  }
  if (mask === 0n) return null;
  let ofs = 0;
  while (!((mask >> BigInt(ofs)) & 1n)) ofs++;
  const run = mask >> BigInt(ofs);
  if ((run & (run + 1n)) !== 0n || (ofs + run.toString(2).length > 64 + ofs && f.bits > 64)) return null;
  const nBits = run.toString(2).length;
  return `load:${hexC((value & mask) >> BigInt(ofs))}->${formatSubfield({ field: f.name, ofs, nBits })}`;
}

function formatSetField(a: Extract<OfAction, { type: "set_field" }>, dialect: Dialect, match?: Match): string {
  const f = field(a.field);
  if (a.mask !== null) {
    return loadForm(f, a.value, a.mask) ?? `set_field:${formatFieldValue(f, a.value, a.mask)}->${f.name}`;
  }
  // No OXM field carries tunnel flags, so OVS keeps the Nicira REG_LOAD form for them.
  if (dialect === "of13" && f.name !== "tun_flags") {
    if (f.name === "vlan_vid") return `set_field:${a.value | 0x1000n}->vlan_vid`;
    return `set_field:${formatFieldValue(f, a.value)}->${f.name}`;
  }
  switch (f.name) {
    case "eth_src":
      return `mod_dl_src:${formatFieldValue(f, a.value)}`;
    case "eth_dst":
      return `mod_dl_dst:${formatFieldValue(f, a.value)}`;
    case "ip_src":
      return `mod_nw_src:${formatFieldValue(f, a.value)}`;
    case "ip_dst":
      return `mod_nw_dst:${formatFieldValue(f, a.value)}`;
    case "ip_dscp":
      return `mod_nw_tos:${Number(a.value) << 2}`;
    case "nw_tos":
      return `mod_nw_tos:${Number(a.value) & 0xfc}`;
    case "tcp_src":
    case "udp_src":
    case "sctp_src":
      return `mod_tp_src:${a.value}`;
    case "tcp_dst":
    case "udp_dst":
    case "sctp_dst":
      return `mod_tp_dst:${a.value}`;
    case "vlan_vid":
      return `mod_vlan_vid:${a.value & 0xfffn}`;
    case "vlan_pcp":
      return `mod_vlan_pcp:${a.value}`;
    default:
  }
  void match;
  return loadForm(f, a.value, null) as string;
}

function formatOne(a: OfAction, dialect: Dialect, match: Match | undefined, vlan: boolean): string | null {
  switch (a.type) {
    case "output":
      if (a.maxLen !== undefined) return `output(port=${portToString(a.port)},max_len=${a.maxLen})`;
      if (a.port >= OfPort.MAX) return portToString(a.port);
      return `output:${a.port}`;
    case "output_reg":
      return `output:${formatSubfield(a.src)}`;
    case "controller": {
      if (a.reason === null) return `CONTROLLER:${a.maxLen}`;
      const args = [`reason=${a.reason}`];
      if (a.maxLen !== 0xffff) args.push(`max_len=${a.maxLen}`);
      return `controller(${args.join(",")})`;
    }
    case "enqueue":
      return dialect === "of10"
        ? `enqueue:${portToString(a.port)}:${a.queue}`
        : `set_queue:${a.queue},output:${a.port},pop_queue`;
    case "resubmit":
      if (a.port !== null && a.table === null) return `resubmit:${portToString(a.port)}`;
      return `resubmit(${a.port === null ? "" : portToString(a.port)},${a.table === null ? "" : a.table})`;
    case "goto_table":
      return dialect === "of10" ? `resubmit(,${a.table})` : `goto_table:${a.table}`;
    case "mod_vlan_vid":
      if (dialect === "of10") return `mod_vlan_vid:${a.vid}`;
      return `${vlan ? "" : "push_vlan:0x8100,"}set_field:${a.vid | 0x1000}->vlan_vid`;
    case "mod_vlan_pcp":
      if (dialect === "of10") return `mod_vlan_pcp:${a.pcp}`;
      return `${vlan ? "" : "push_vlan:0x8100,"}set_field:${a.pcp}->vlan_pcp`;
    case "push_vlan":
      return `push_vlan:0x${a.ethertype.toString(16)}`;
    case "pop_vlan":
      return dialect === "of10" ? "strip_vlan" : "pop_vlan";
    case "dec_ttl":
      return a.ids === null ? "dec_ttl" : `dec_ttl(${a.ids.join(",")})`;
    case "mod_nw_ttl":
      return dialect === "of10" ? `load:${hexC(a.ttl)}->NXM_NX_IP_TTL[]` : `mod_nw_ttl:${a.ttl}`;
    case "set_field":
      return formatSetField(a, dialect, match);
    case "load":
      return `load:${hexC(a.value)}->${formatSubfield(a.dst)}`;
    case "move":
      return `move:${formatSubfield(a.src)}->${formatSubfield(a.dst)}`;
    case "set_tunnel":
      if (dialect === "of13") return `set_field:${hexC(a.id)}->tun_id`;
      return `${a.wide ? "set_tunnel64" : "set_tunnel"}:${hexC(a.id)}`;
    case "push":
      return `push:${formatSubfield(a.src)}`;
    case "pop":
      return `pop:${formatSubfield(a.dst)}`;
    case "write_actions":
      return dialect === "of10"
        ? null
        : `write_actions(${formatActions(a.actions, { dialect, ...(match ? { match } : {}) })})`;
    case "clear_actions":
      return dialect === "of10" ? null : "clear_actions";
    case "note":
      return `note:${Array.from(a.data, (b) => b.toString(16).padStart(2, "0")).join(".")}`;
  }
}

/** ofpacts_format: the list as ovs-ofctl prints it; "drop" when nothing is printed. */
export function formatActions(actions: readonly OfAction[], opts: FormatActionsOptions = {}): string {
  const dialect = opts.dialect ?? "of10";
  const parts: string[] = [];
  // Whether a VLAN tag is present at this point: mod_vlan_vid pushes one only when it is not.
  let vlan = vlanInMatch(opts.match);
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i] as OfAction;
    const next = actions[i + 1];
    // OpenFlow 1.0 has no push_vlan; OVS folds push_vlan:0x8100 + mod_vlan_vid into the latter.
    if (dialect === "of10" && a.type === "push_vlan" && a.ethertype === EtherType.VLAN && next?.type === "mod_vlan_vid")
      continue;
    const s = formatOne(a, dialect, opts.match, vlan);
    if (s !== null) parts.push(s);
    if (a.type === "push_vlan" || a.type === "mod_vlan_vid" || a.type === "mod_vlan_pcp") vlan = true;
    else if (a.type === "pop_vlan") vlan = false;
  }
  return parts.length ? parts.join(",") : "drop";
}

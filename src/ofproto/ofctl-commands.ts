// `offload-emu ofctl`: the OpenFlow commands of ovs-ofctl(8) against the emulator's bridges, with
// ovs-ofctl's arguments, options, output and error messages (the program name aside), so that a
// script written for Open vSwitch runs here with only the program name changed.
//
// The daemon calls runOfctl() with a bridge lookup, its virtual clock and the client's working
// directory; everything printed comes from the bridge's OfTables (src/ofproto/oftable.ts, which holds
// the flow-mod semantics) and its ports. Output was compared with Open vSwitch 3.1 running in
// userspace with dummy ports (test/cmd/ofctl.test.ts). What a real ovs-ofctl prints depends on
// the OpenFlow version it negotiated, so we keep that version: OpenFlow 1.0 with Nicira
// extensions by default (NXST_FLOW replies, idle_age/hard_age, adds that reset counters, modifies
// that add when nothing matches and set the cookie), or what `-O`/`--protocols` names (1.1 and
// up: OFPST_FLOW replies with flags, modifies that never add; `--bundle` alone means 1.4).
//
// The transaction ids (xid=0x…) are the ones ovs-ofctl 3.1 prints for a single command: they count
// the messages it exchanged before the reply (hello, features, set-format), which depend only on
// the command, the version and whether a port or flow argument needed an extra request.
//
// Port names: OVS resolves `in_port=p1`, `out_port=p1`, `output:p1`, `enqueue:p1:Q`,
// `resubmit:p1` and a bare `p1` action with the bridge's ports; we rewrite those names into
// numbers before parsing, because parseFlow (src/flow/ofctl.ts) knows nothing of bridges. Output
// always prints numbers, as ovs-ofctl does when its output is not a terminal.

import { FlowSyntaxError, keyValues } from "../flow/syntax.ts";
import {
  formatFlowStats,
  formatMatch,
  parseFlow,
  FLOW_MOD_FLAGS,
  type FlowCommand,
  type OfFlow,
} from "../flow/ofctl.ts";
import { formatActions } from "../flow/actions.ts";
import { fieldByName, parsePort, portToString, prereqsOk, readLoc, OfPort, type FieldSpec } from "../flow/fields.ts";
import { hashAdd, hashFinish } from "../tables/hash.ts";
import { FlowModError, of10AddFlags, type OfRule, type OfTables } from "./oftable.ts";
import type { BridgeView, XPort } from "./types.ts";
import type { CommandIo, CommandResult } from "../ctl/registry.ts";

export interface OfctlContext {
  bridge(name: string): BridgeView | null;
  nowMs(): number;
  io: CommandIo;
  /** A file's text; relative paths are the client's (io.cwd), "-" is io.stdin. Throws if unreadable. */
  readFile(path: string): string;
  /** The switch's GENEVE option map (add-tlv-map); absent: the commands say it is unsupported. */
  tlv?: TlvTable;
}

/** One GENEVE option class/type/length mapped to tun_metadataN (NXT_TLV_TABLE_MOD). */
export interface TlvEntry {
  cls: number;
  type: number;
  len: number; // bytes, a multiple of 4 up to 124
  index: number;
}

export interface TlvTable {
  list(): readonly TlvEntry[];
  /** Adds all or none; returns the OpenFlow error name (NXTTMFC_*) or null. */
  add(entries: readonly TlvEntry[]): string | null;
  /** Removes the given entries (all when null); returns an error name or null. */
  del(entries: readonly TlvEntry[] | null): string | null;
}

const PROG = "offload-emu ofctl: ";

/** A command that ends with ovs_fatal(): the message after the program name, exit status 1. */
class Fatal extends Error {
  constructor(
    readonly text: string,
    readonly stdout = "",
  ) {
    super(text);
  }
}

// --- options ----------------------------------------------------------------------------------

interface SortCriterion {
  field: FieldSpec | null; // null: priority
  descending: boolean;
}

interface Options {
  version: number; // 10 = OpenFlow 1.0, 13 = OpenFlow 1.3, …
  strict: boolean;
  stats: boolean;
  sort: SortCriterion[];
  names: boolean;
  bundle: boolean;
}

const VERSIONS: Readonly<Record<string, number>> = {
  OpenFlow10: 10,
  OpenFlow11: 11,
  OpenFlow12: 12,
  OpenFlow13: 13,
  OpenFlow14: 14,
  OpenFlow15: 15,
};

function parseVersions(text: string): number {
  let best = 0;
  for (const name of text.split(",")) {
    const v = VERSIONS[name.trim()];
    if (v === undefined) throw new Fatal(`Unknown OpenFlow version: "${name}"`);
    if (v > best) best = v;
  }
  return best;
}

function sortCriterion(value: string | undefined, descending: boolean): SortCriterion {
  if (value === undefined) return { field: null, descending };
  const f = fieldByName(value);
  if (f === undefined) throw new Fatal(`${value}: unknown field name`);
  return { field: f, descending };
}

/** getopt_long as ovs-ofctl uses it: options may come anywhere, "--" ends them. */
function parseOptions(argv: readonly string[]): { opts: Options; args: string[] } {
  const opts: Options = { version: 0, strict: false, stats: true, sort: [], names: false, bundle: false };
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const value = eq < 0 ? undefined : a.slice(eq + 1);
      switch (name) {
        case "strict":
          opts.strict = true;
          break;
        case "stats":
          opts.stats = true;
          break;
        case "no-stats":
          opts.stats = false;
          break;
        case "names":
          opts.names = true;
          break;
        case "no-names":
          opts.names = false;
          break;
        case "bundle":
          opts.bundle = true;
          break;
        case "sort":
          opts.sort.push(sortCriterion(value, false));
          break;
        case "rsort":
          opts.sort.push(sortCriterion(value, true));
          break;
        case "protocols": {
          const v = value ?? argv[++i];
          if (v === undefined) throw new Fatal("option '--protocols' requires an argument");
          opts.version = parseVersions(v);
          break;
        }
        default:
          throw new Fatal(`unrecognized option '--${name}'`);
      }
      continue;
    }
    if (a.startsWith("-") && a.length > 1) {
      if (a[1] !== "O") throw new Fatal(`invalid option -- '${a[1]}'`);
      const v = a.length > 2 ? a.slice(2) : argv[++i];
      if (v === undefined) throw new Fatal("option requires an argument -- 'O'");
      opts.version = parseVersions(v);
      continue;
    }
    args.push(a);
  }
  // ovs-ofctl adds OpenFlow 1.4 for --bundle; without -O that is what it negotiates.
  if (opts.version === 0) opts.version = opts.bundle ? 14 : 10;
  return { opts, args };
}

// --- entry point ------------------------------------------------------------------------------

type Handler = (args: string[], opts: Options, ctx: OfctlContext) => string;

const COMMANDS: Readonly<Record<string, readonly [number, number, Handler]>> = {
  show: [1, 1, cmdShow],
  "dump-flows": [1, 2, cmdDumpFlows],
  "dump-aggregate": [1, 2, cmdDumpAggregate],
  "dump-ports": [1, 2, cmdDumpPorts],
  "add-flow": [2, 2, (a, o, c) => cmdFlowMod(a, o, c, "add")],
  "add-flows": [2, 2, cmdAddFlows],
  "mod-flows": [2, 2, (a, o, c) => cmdFlowMod(a, o, c, o.strict ? "modify_strict" : "modify")],
  "del-flows": [1, 2, (a, o, c) => cmdFlowMod(a, o, c, o.strict ? "delete_strict" : "delete")],
  "replace-flows": [2, 2, cmdReplaceFlows],
  "add-tlv-map": [2, 2, (a, _o, c) => cmdTlvMod(a, c, "ADD")],
  "del-tlv-map": [1, 2, (a, _o, c) => cmdTlvMod(a, c, "DEL")],
  "dump-tlv-map": [1, 1, cmdDumpTlvMap],
};

// --- GENEVE option map (ovs-ofctl add-tlv-map, del-tlv-map, dump-tlv-map; OVS 3.1 texts) ---------

const TLV_MAX_SPACE = 256;
const TLV_MAX_FIELDS = 64;

/** "{class=0xffff,type=0x80,len=4}->tun_metadata0,…" (parse_ofp_tlv_table_mod_str). */
function parseTlvMappings(text: string): TlvEntry[] {
  const out: TlvEntry[] = [];
  const re = /^\{class=(0x[0-9a-fA-F]+|\d+),type=(0x[0-9a-fA-F]+|\d+),len=(\d+)\}->tun_metadata(\d+)$/;
  for (const part of text.split(/,(?=\{)/)) {
    const m = re.exec(part.trim());
    if (!m) throw new Fatal(`${part}: bad tlv mapping (expected {class=…,type=…,len=…}->tun_metadataN)`);
    const e = { cls: Number(m[1]), type: Number(m[2]), len: Number(m[3]), index: Number(m[4]) };
    if (e.cls > 0xffff || e.type > 0xff) throw new Fatal(`${part}: option class or type out of range`);
    if (e.len % 4 !== 0 || e.len > 124) throw new Fatal(`${part}: option length must be a multiple of 4 up to 124`);
    if (e.index >= TLV_MAX_FIELDS) throw new Fatal(`${part}: tun_metadata${e.index} out of range`);
    out.push(e);
  }
  return out;
}

function tlvRows(entries: readonly TlvEntry[]): string {
  let s = "  class  type  length  match field\n ------  ----  ------  --------------\n";
  for (const e of entries) {
    s += ` ${`0x${e.cls.toString(16)}`.padStart(6)}  ${`0x${e.type.toString(16)}`.padStart(4)}  ${String(e.len).padStart(6)}  tun_metadata${e.index}\n`;
  }
  return s;
}

function cmdTlvMod(args: string[], ctx: OfctlContext, cmd: "ADD" | "DEL"): string {
  bridgeOf(ctx, args[0] as string);
  if (ctx.tlv === undefined) throw new Fatal("OFPT_ERROR (xid=0x4): OFPBRC_BAD_TYPE\n");
  const entries = args[1] === undefined ? null : parseTlvMappings(args[1]);
  const err = cmd === "ADD" ? ctx.tlv.add(entries ?? []) : ctx.tlv.del(entries);
  if (err !== null) {
    const body = entries === null ? "\n CLEAR\n" : `\n ${cmd} mapping table:\n${tlvRows(entries)}`;
    throw new Fatal(`OFPT_ERROR (xid=0x4): ${err}\nNXT_TLV_TABLE_MOD (xid=0x4):${body}`);
  }
  return "";
}

function cmdDumpTlvMap(args: string[], _opts: Options, ctx: OfctlContext): string {
  bridgeOf(ctx, args[0] as string);
  const list = ctx.tlv?.list() ?? [];
  const space = list.reduce((n, e) => n + e.len, 0);
  let s = `NXT_TLV_TABLE_REPLY (xid=0x2):\n max option space=${TLV_MAX_SPACE} max fields=${TLV_MAX_FIELDS}\n allocated option space=${space}\n`;
  if (list.length > 0) s += `\n mapping table:\n${tlvRows(list)}`;
  return s;
}

/** Runs one `ofctl` command line (argv without the program name). */
export function runOfctl(argv: string[], ctx: OfctlContext): CommandResult {
  try {
    const { opts, args } = parseOptions(argv);
    const name = args[0];
    if (name === undefined) throw new Fatal("missing command name; use --help for help");
    const cmd = COMMANDS[name];
    if (cmd === undefined) throw new Fatal(`unknown command '${name}'; use --help for help`);
    const [min, max, run] = cmd;
    const rest = args.slice(1);
    if (rest.length < min) throw new Fatal(`'${name}' command requires at least ${min} arguments`);
    if (rest.length > max) throw new Fatal(`'${name}' command takes at most ${max} arguments`);
    return { code: 0, stdout: run(rest, opts, ctx), stderr: "" };
  } catch (e) {
    if (e instanceof Fatal)
      return { code: 1, stdout: e.stdout, stderr: e.text.startsWith("OFPT_ERROR") ? e.text : `${PROG}${e.text}\n` };
    throw e;
  }
}

function bridgeOf(ctx: OfctlContext, name: string): BridgeView {
  const br = ctx.bridge(name);
  if (br === null) throw new Fatal(`${name} is not a bridge or a socket`);
  return br;
}

/** " (OF1.3)" after a message name, nothing for OpenFlow 1.0. */
const verTag = (v: number): string => (v === 10 ? "" : ` (OF1.${v - 10})`);
const dialectOf = (v: number) => (v === 10 ? ("of10" as const) : ("of13" as const));

// --- flow text --------------------------------------------------------------------------------

type ModCommand = "add" | "modify" | "modify_strict" | "delete" | "delete_strict" | "dump";

/** Statistics a dump-flows line carries; OVS ignores them so that a dump can be fed back. */
const IGNORED = new Set(["duration", "n_packets", "n_bytes", "idle_age", "hard_age"]);

function actionsAt(text: string): number {
  const m = /(^|[,\s])(actions?)\s*[=:]/.exec(text);
  return m ? m.index + (m[1] as string).length : -1;
}

/** A port name of the bridge as a number ovs-ofctl would accept, or null if `text` is none. */
function portNumberText(br: BridgeView, text: string): string | null {
  if (parsePort(text) !== null) return null;
  const p = br.byName.get(text);
  if (p === undefined) return null;
  return p.ofport === OfPort.LOCAL ? "LOCAL" : String(p.ofport);
}

/**
 * What parse_ofp_str__ checks before the match itself: which keywords this command takes,
 * a cookie without mask, the statistics it ignores; and port names turned into numbers.
 * Returns the text to hand to parseFlow.
 */
function prepareFlowText(text: string, cmd: ModCommand, br: BridgeView): string {
  const takesActions = cmd === "add" || cmd === "modify" || cmd === "modify_strict";
  const act = takesActions ? actionsAt(text) : -1;
  if (takesActions && act < 0) throw new Fatal("must specify an action");
  const matchEnd = act < 0 ? text.length : act;
  const edits: { at: number; len: number; text: string }[] = [];
  for (const kv of keyValues(text, 0, matchEnd)) {
    const { key } = kv;
    const refuse = (): never => {
      throw new Fatal(`unknown keyword ${key}`);
    };
    if (IGNORED.has(key)) {
      edits.push({ at: kv.keyPos, len: kv.valuePos + kv.value.length - kv.keyPos, text: "" });
      continue;
    }
    if (key === "priority" && (cmd === "delete" || cmd === "dump")) refuse();
    if ((key === "idle_timeout" || key === "hard_timeout") && !takesActions) refuse();
    if (key === "importance" && cmd !== "add") refuse();
    if (key === "out_port" && takesActions) refuse();
    if ((key === "actions" || key === "action") && !takesActions) refuse();
    if ((FLOW_MOD_FLAGS as readonly string[]).includes(key) && !takesActions)
      throw new Fatal(`field ${key} missing value`);
    if (key === "cookie" && !takesActions && !kv.value.includes("/")) {
      throw new Fatal("cannot set cookie (to match on a cookie, specify a mask, e.g. cookie=1/-1)");
    }
    if (key === "cookie" && kv.value.endsWith("/-1")) {
      edits.push({ at: kv.valuePos + kv.value.length - 2, len: 2, text: "0xffffffffffffffff" });
    }
    if (key === "in_port" || key === "out_port") {
      const n = portNumberText(br, kv.value);
      if (n !== null) edits.push({ at: kv.valuePos, len: kv.value.length, text: n });
    }
  }
  if (act >= 0) {
    const start = text.indexOf(text[text.indexOf("=", act)] === "=" ? "=" : ":", act) + 1;
    for (const kv of keyValues(text, start)) {
      let name = "";
      if (kv.delim === "") name = kv.key;
      else if (kv.key === "output" && kv.delim !== "(") name = kv.value;
      else if (kv.key === "enqueue" || kv.key === "resubmit") name = kv.value.split(/[:,]/)[0] as string;
      const at = kv.delim === "" ? kv.keyPos : kv.valuePos;
      const n = name === "" ? null : portNumberText(br, name);
      if (n !== null) edits.push({ at, len: name.length, text: n });
    }
  }
  edits.sort((a, b) => b.at - a.at);
  for (const e of edits) text = text.slice(0, e.at) + e.text + text.slice(e.at + e.len);
  return text;
}

function parseFor(text: string, cmd: ModCommand, br: BridgeView): OfFlow {
  const prepared = prepareFlowText(text, cmd, br);
  const command: FlowCommand = cmd === "add" ? "add" : cmd.startsWith("modify") ? "modify" : "delete";
  try {
    return parseFlow(prepared, { command });
  } catch (e) {
    if (e instanceof FlowSyntaxError) {
      // parseFlow words a bad table number as ovs-ofctl's other numeric keywords; OVS says "unknown".
      throw new Fatal(e.reason.replace(/^invalid table /, "unknown table "));
    }
    throw e;
  }
}

// --- flow-mods --------------------------------------------------------------------------------

/** ofputil_flow_mod_format, for the OFPT_FLOW_MOD that an OFPT_ERROR quotes. */
function formatFlowMod(flow: OfFlow, cmd: string, version: number): string {
  let s = cmd;
  if (flow.table !== 0 && flow.table !== 255) s += ` table:${flow.table}`;
  s += " ";
  s += formatMatch(flow.match, flow.priority);
  if (!s.endsWith(" ")) s += " ";
  if (flow.cookie) s += `cookie:0x${flow.cookie.toString(16)} `;
  if (flow.idleTimeout) s += `idle:${flow.idleTimeout} `;
  if (flow.hardTimeout) s += `hard:${flow.hardTimeout} `;
  for (const f of FLOW_MOD_FLAGS) if (flow.flags.includes(f)) s += `${f} `;
  return `${s}actions=${formatActions(flow.actions, { dialect: dialectOf(version), match: flow.match })}`;
}

/** Applies one flow-mod to a bridge's tables with the semantics of `version`. */
function applyFlowMod(tables: OfTables, flow: OfFlow, cmd: ModCommand, version: number, nowMs: number): void {
  switch (cmd) {
    case "add": {
      if (version === 10 && flow.flags.includes("reset_counts")) {
        // OpenFlow 1.0 has no such flag; ovs-ofctl refuses before sending anything.
        throw new Fatal("none of the usable flow formats (OXM) is among the allowed flow formats (OpenFlow10,NXM)");
      }
      const f = version === 10 ? { ...flow, flags: of10AddFlags(flow.flags) } : flow;
      try {
        tables.add(f, nowMs);
      } catch (e) {
        if (!(e instanceof FlowModError)) throw e;
        const t = verTag(version);
        throw new Fatal(
          `OFPT_ERROR${t} (xid=0x6): ${e.code}\nOFPT_FLOW_MOD${t} (xid=0x6): ${formatFlowMod(flow, "ADD", version)}\n`,
        );
      }
      return;
    }
    case "modify":
    case "modify_strict":
      tables.modify(flow, nowMs, {
        strict: cmd === "modify_strict",
        newCookie: version === 10 && flow.cookieMask === 0n ? flow.cookie : null,
        addIfNone: version === 10,
      });
      return;
    case "delete":
    case "delete_strict":
      tables.delete(flow, { strict: cmd === "delete_strict" });
      return;
    case "dump":
      return;
  }
}

function cmdFlowMod(args: string[], opts: Options, ctx: OfctlContext, cmd: ModCommand): string {
  const br = bridgeOf(ctx, args[0] as string);
  const text = args[1] ?? "";
  if (text === "-") return flowModFile(br, "-", opts, ctx, cmd);
  const flow = parseFor(text, cmd, br);
  applyFlowMod(br.tables, flow, cmd, opts.version, ctx.nowMs());
  return "";
}

function cmdAddFlows(args: string[], opts: Options, ctx: OfctlContext): string {
  return flowModFile(bridgeOf(ctx, args[0] as string), args[1] as string, opts, ctx, null);
}

const LINE_COMMANDS: Readonly<Record<string, ModCommand>> = {
  add: "add",
  modify: "modify",
  modify_strict: "modify_strict",
  delete: "delete",
  delete_strict: "delete_strict",
};

function readFlowFile(path: string, ctx: OfctlContext): string {
  try {
    return ctx.readFile(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why =
      code === "ENOENT"
        ? "No such file or directory"
        : code === "EACCES"
          ? "Permission denied"
          : code === "EISDIR"
            ? "Is a directory"
            : (e as Error).message;
    throw new Fatal(`${path}: open failed (${why})`);
  }
}

/**
 * parse_ofp_flow_mod_file: one flow per line, '#' comments and blank lines skipped; for
 * add-flows a line may start with add, modify, modify_strict, delete or delete_strict. Every
 * line is parsed before any is applied, so a bad line changes nothing.
 */
function flowModFile(br: BridgeView, path: string, opts: Options, ctx: OfctlContext, cmd: ModCommand | null): string {
  const text = readFlowFile(path, ctx);
  const mods: [OfFlow, ModCommand][] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] as string).replace(/#.*/, "").trim();
    if (line === "") continue;
    let c = cmd ?? "add";
    if (cmd === null) {
      const m = /^(add|modify|modify_strict|delete|delete_strict)(\s+|$)/.exec(line);
      if (m) {
        c = LINE_COMMANDS[m[1] as string] as ModCommand;
        line = line.slice(m[0].length);
      }
    }
    try {
      mods.push([parseFor(line, c, br), c]);
    } catch (e) {
      if (e instanceof Fatal) throw new Fatal(`${path}:${i + 1}: ${e.text}`);
      throw e;
    }
  }
  for (const [flow, c] of mods) applyFlowMod(br.tables, flow, c, opts.version, ctx.nowMs());
  return "";
}

/**
 * replace-flows BRIDGE FILE: make the tables hold exactly the file's flows. As ovs-ofctl does it:
 * a rule not in the file (by table, match and priority) is deleted strictly; a file flow that is
 * new or differs in actions or cookie is added; identical ones are left alone with their counters.
 */
function cmdReplaceFlows(args: string[], opts: Options, ctx: OfctlContext): string {
  const br = bridgeOf(ctx, args[0] as string);
  const path = args[1] as string;
  const text = readFlowFile(path, ctx);
  const want = new Map<string, OfFlow>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/#.*/, "").trim();
    if (line === "") continue;
    try {
      const f = parseFor(line, "add", br);
      want.set(ruleIdentity(f), f);
    } catch (e) {
      if (e instanceof Fatal) throw new Fatal(`${path}:${i + 1}: ${e.text}`);
      throw e;
    }
  }
  const now = ctx.nowMs();
  const have = new Map<string, OfRule>();
  for (const r of br.tables.dump()) have.set(ruleIdentity(r.flow), r);
  for (const [id, r] of have) {
    if (!want.has(id)) applyFlowMod(br.tables, { ...r.flow, table: r.flow.table }, "delete_strict", opts.version, now);
  }
  for (const [id, f] of want) {
    const r = have.get(id);
    const same =
      r !== undefined &&
      r.flow.cookie === f.cookie &&
      formatActions(r.flow.actions, { dialect: "of13" }) === formatActions(f.actions, { dialect: "of13" });
    if (!same) applyFlowMod(br.tables, f, "add", opts.version, now);
  }
  return "";
}

function ruleIdentity(f: OfFlow): string {
  return `${f.table === 255 ? 0 : f.table}/${f.priority}/${formatMatch(f.match)}`;
}

// --- dumps ------------------------------------------------------------------------------------

function filterOf(args: string[], br: BridgeView): OfFlow {
  return parseFor(args[1] ?? "", "dump", br);
}

/** compare_flows of ovs-ofctl.c: criteria in order; a flow lacking a field sorts last either way. */
function compareRules(a: OfRule, b: OfRule, sort: readonly SortCriterion[]): number {
  for (const sc of sort) {
    let c = 0;
    if (sc.field === null) {
      c = a.flow.priority - b.flow.priority;
    } else {
      const f = sc.field;
      const has = (r: OfRule) =>
        prereqsOk(f.prereq, r.flow.match.key, r.flow.match.mask) && readLoc(r.flow.match.mask, f.loc) !== 0n;
      const ina = has(a);
      const inb = has(b);
      if (ina !== inb) return ina ? -1 : 1;
      if (!ina) continue;
      const va = readLoc(a.flow.match.key, f.loc);
      const vb = readLoc(b.flow.match.key, f.loc);
      c = va < vb ? -1 : va > vb ? 1 : 0;
    }
    if (c) return sc.descending ? -c : c;
  }
  return 0;
}

function cmdDumpFlows(args: string[], opts: Options, ctx: OfctlContext): string {
  const br = bridgeOf(ctx, args[0] as string);
  const filter = filterOf(args, br);
  const rules = br.tables.matching(filter);
  const now = ctx.nowMs();
  // Sorting, names or --no-stats make ovs-ofctl fetch the flows and print them itself, without
  // the reply header and without the Nicira-only idle_age/hard_age.
  const plain = opts.sort.length === 0 && opts.stats && !opts.names;
  if (opts.sort.length) rules.sort((a, b) => compareRules(a, b, opts.sort));
  const dialect = dialectOf(opts.version);
  const nicira = plain && opts.version === 10;
  let out = "";
  if (plain) {
    const xid = flowStatsXid(args, opts.version);
    out +=
      opts.version === 10
        ? `NXST_FLOW reply (xid=${xid}):\n`
        : `OFPST_FLOW reply${verTag(opts.version)} (xid=${xid}):\n`;
  }
  for (const r of rules) {
    const s = r.stats;
    const stats = opts.stats
      ? {
          durationNs: (now - s.createdMs) * 1e6,
          packets: s.packets,
          bytes: s.bytes,
          ...(nicira
            ? { idleAgeSec: Math.floor((now - s.usedMs) / 1000), hardAgeSec: Math.floor((now - s.modifiedMs) / 1000) }
            : {}),
        }
      : undefined;
    out += `${formatFlowStats(r.flow, stats, { dialect })}\n`;
  }
  return out;
}

/** A flow argument costs ovs-ofctl a flow-format negotiation before the request. */
function flowStatsXid(args: string[], version: number): string {
  const filtered = args.length > 1;
  if (version === 10) return filtered ? "0x8" : "0x4";
  return filtered ? "0x6" : "0x2";
}

function cmdDumpAggregate(args: string[], opts: Options, ctx: OfctlContext): string {
  const br = bridgeOf(ctx, args[0] as string);
  const rules = br.tables.matching(filterOf(args, br));
  let packets = 0,
    bytes = 0;
  for (const r of rules) {
    packets += r.stats.packets;
    bytes += r.stats.bytes;
  }
  const xid = flowStatsXid(args, opts.version);
  const head =
    opts.version === 10
      ? `NXST_AGGREGATE reply (xid=${xid})`
      : `OFPST_AGGREGATE reply${verTag(opts.version)} (xid=${xid})`;
  return `${head}: packet_count=${packets} byte_count=${bytes} flow_count=${rules.length}\n`;
}

// --- ports ------------------------------------------------------------------------------------

/**
 * The order ofproto keeps ports in: an hmap keyed by hash_int(ofport, 0), walked bucket by bucket
 * under the mask a table of this many ports has; a bucket lists its latest insertion first.
 * `ports` is the order of creation (the bridge's LOCAL port first). Checked against OVS 3.1's
 * dump-ports for 4 and 7 ports (test/cmd/ofctl.test.ts).
 */
export function ofprotoPortOrder(ports: readonly number[]): number[] {
  let mask = 0;
  for (let n = 1; n <= ports.length; n++) {
    if (Math.floor(n / 2) > mask) {
      let m = Math.floor(n / 2);
      m |= m >>> 1;
      m |= m >>> 2;
      m |= m >>> 4;
      m |= m >>> 8;
      m |= m >>> 16;
      m |= (m & 1) << 1;
      if (m > mask) mask = m;
    }
  }
  const bucket = (p: number) => (hashFinish(hashAdd(hashAdd(p, 0), 0), 8) & mask) >>> 0;
  const seq = new Map(ports.map((p, i) => [p, i]));
  return [...ports].sort((a, b) => bucket(a) - bucket(b) || (seq.get(b) as number) - (seq.get(a) as number));
}

/** Port types whose netdev reports only packets and bytes (netdev-dummy): the rest print "?". */
const COUNTS_ONLY = new Set(["dummy", "internal", "dummy-internal"]);

function portLabel(p: number): string {
  return `${p < 10 ? " " : ""}${portToString(p)}`;
}

function cmdDumpPorts(args: string[], opts: Options, ctx: OfctlContext): string {
  const br = bridgeOf(ctx, args[0] as string);
  const arg = args[1];
  let xid = "0x2";
  let want: number | null = null;
  if (arg !== undefined) {
    const n = parsePort(arg);
    if (n !== null && n <= 0xffff) {
      want = n === OfPort.NONE ? null : n;
    } else {
      const p = br.byName.get(arg);
      if (p === undefined) throw new Fatal(`${br.name}: unknown port \`${arg}'`);
      want = p.ofport;
      xid = "0x4";
    }
  }
  const created = [...br.ports.keys()].filter((n) => n !== OfPort.LOCAL);
  if (br.ports.has(OfPort.LOCAL)) created.unshift(OfPort.LOCAL);
  const chosen = ofprotoPortOrder(created).filter((n) => want === null || n === want);
  let out = `OFPST_PORT reply${verTag(opts.version)} (xid=${xid}): ${chosen.length} ports\n`;
  const now = ctx.nowMs();
  for (const n of chosen) {
    const port = br.ports.get(n) as XPort;
    const s = port.stats();
    const partial = COUNTS_ONLY.has(port.type);
    const v = (x: number) => (partial ? "?" : String(x));
    out += `  port ${portLabel(n)}: rx pkts=${s.rxPackets}, bytes=${s.rxBytes}, drop=${v(s.rxDropped)}, errs=${v(s.rxErrors)}, frame=${v(0)}, over=${v(0)}, crc=${v(0)}\n`;
    out += `           tx pkts=${s.txPackets}, bytes=${s.txBytes}, drop=${v(s.txDropped)}, errs=${v(s.txErrors)}, coll=${v(0)}\n`;
    // OpenFlow 1.3 port stats carry the port's age; XPort has it only if the engine adds createdMs.
    const since = (port as Partial<{ createdMs: number }>).createdMs;
    if (opts.version >= 13 && typeof since === "number") {
      out += `           duration=${((now - since) / 1000).toFixed(3)}s\n`;
    }
  }
  return out;
}

function cmdShow(args: string[], opts: Options, ctx: OfctlContext): string {
  const br = bridgeOf(ctx, args[0] as string);
  const v = opts.version;
  const t = verTag(v);
  let out = `OFPT_FEATURES_REPLY${t} (xid=0x2): dpid:${br.datapathId.toString(16).padStart(16, "0")}\n`;
  out += "n_tables:254, n_buffers:0\n";
  if (v === 10) {
    out += "capabilities: FLOW_STATS TABLE_STATS PORT_STATS QUEUE_STATS ARP_MATCH_IP\n";
    out +=
      "actions: output enqueue set_vlan_vid set_vlan_pcp strip_vlan mod_dl_src mod_dl_dst mod_nw_src mod_nw_dst mod_nw_tos mod_tp_src mod_tp_dst\n";
  } else {
    out += "capabilities: FLOW_STATS TABLE_STATS PORT_STATS GROUP_STATS QUEUE_STATS\n";
    out += `OFPST_PORT_DESC reply${t} (xid=0x3):\n`;
  }
  const ports = [...br.ports.values()].sort((a, b) => a.ofport - b.ofport);
  for (const p of ports) {
    out += ` ${portToString(p.ofport)}(${p.name}): addr:${p.mac}\n`;
    out += `     config:     ${p.up ? "0" : "PORT_DOWN"}\n`;
    out += `     state:      ${p.up ? (v === 10 ? "0" : "LIVE") : "LINK_DOWN"}\n`;
    out += "     speed: 0 Mbps now, 0 Mbps max\n";
  }
  out += `OFPT_GET_CONFIG_REPLY${t} (xid=${v === 10 ? "0x4" : "0x5"}): frags=normal miss_send_len=0\n`;
  return out;
}

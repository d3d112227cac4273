// `offload-emu vsctl`: ovs-vsctl's commands on the configuration rows (config.ts), which the
// daemon keeps in its run directory (conf.json) as ovsdb-server keeps conf.db.
//
// Commands, options, value syntax, output and error texts follow ovs-vsctl(8) as Open vSwitch
// 3.1 prints them, with the program name `offload-emu vsctl`. Several commands joined by `--`
// form one transaction: it applies whole or not at all (each run works on a copy and the copy
// replaces the rows only when every command succeeded).

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import {
  addPort, newBridge, newInterface, type BridgeConfig, type OvsConfig, type PortConfig,
} from "./config.ts";
import type { CommandResult } from "./types.ts";

const PROG = "offload-emu vsctl";

class VsctlError extends Error {}
const fail = (msg: string): never => { throw new VsctlError(msg); };

// --- the database -----------------------------------------------------------------------------

/** Rows plus their persistence. UUIDs come from a seeded counter so runs repeat exactly. */
export class ConfDb {
  root: OvsConfig;
  private serial = 0;

  constructor(root?: OvsConfig) {
    this.root = root ?? { bridges: [], other_config: new Map(), external_ids: new Map() };
    this.root.uuid ??= this.uuid();
  }

  uuid(): string {
    const n = (++this.serial).toString(16).padStart(12, "0");
    return `00000000-0000-4000-8000-${n}`;
  }

  toJSON(): unknown {
    return JSON.parse(JSON.stringify({ serial: this.serial, root: this.root },
      (_k, v: unknown) => (v instanceof Map ? { $map: [...v] } : v)));
  }

  save(path: string): void {
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.toJSON(), null, 1)}\n`);
    renameSync(tmp, path);
  }

  static load(path: string): ConfDb {
    const j = JSON.parse(readFileSync(path, "utf8"), (_k, v: unknown) => {
      if (v !== null && typeof v === "object" && "$map" in v) return new Map((v as { $map: [string, string][] }).$map);
      return v;
    }) as { serial: number; root: OvsConfig };
    const db = new ConfDb(j.root);
    db.serial = j.serial;
    return db;
  }
}

function clone(root: OvsConfig): OvsConfig {
  return structuredClone(root);
}

// --- columns ----------------------------------------------------------------------------------

type Kind = "string" | "int" | "optString" | "optInt" | "map" | "intSet" | "stringSet";
type Table = "Open_vSwitch" | "Bridge" | "Port" | "Interface";

const COLUMNS: Record<Table, Record<string, { kind: Kind; ro?: boolean }>> = {
  Open_vSwitch: { other_config: { kind: "map" }, external_ids: { kind: "map" } },
  Bridge: {
    name: { kind: "string", ro: true }, datapath_type: { kind: "string" }, fail_mode: { kind: "optString" },
    other_config: { kind: "map" }, external_ids: { kind: "map" }, protocols: { kind: "stringSet" },
  },
  Port: {
    name: { kind: "string", ro: true }, tag: { kind: "optInt" }, trunks: { kind: "intSet" },
    vlan_mode: { kind: "optString" }, other_config: { kind: "map" }, external_ids: { kind: "map" },
  },
  Interface: {
    name: { kind: "string", ro: true }, type: { kind: "string" }, options: { kind: "map" },
    ofport_request: { kind: "optInt" }, mtu_request: { kind: "optInt" }, mac: { kind: "optString" },
    ofport: { kind: "optInt", ro: true }, error: { kind: "optString", ro: true },
    mac_in_use: { kind: "optString", ro: true }, mtu: { kind: "optInt", ro: true },
    other_config: { kind: "map" }, external_ids: { kind: "map" },
  },
};
const ENUMS: Record<string, readonly string[]> = {
  fail_mode: ["secure", "standalone"],
  vlan_mode: ["access", "native-tagged", "native-untagged", "trunk", "dot1q-tunnel"],
};

function tableName(t: string): Table {
  const all = Object.keys(COLUMNS) as Table[];
  const m = all.find((x) => x.toLowerCase() === t.toLowerCase());
  return m ?? fail(`unknown table "${t}"`);
}

type Row = Record<string, unknown>;

function findRow(root: OvsConfig, table: Table, id: string): Row | null {
  if (table === "Open_vSwitch") return id === "." || id === root.uuid ? root as unknown as Row : null;
  for (const b of root.bridges) {
    if (table === "Bridge" && (b.name === id || b.uuid === id)) return b as unknown as Row;
    for (const p of b.ports) {
      if (table === "Port" && (p.name === id || p.uuid === id)) return p as unknown as Row;
      for (const i of p.interfaces) if (table === "Interface" && (i.name === id || i.uuid === id)) return i as unknown as Row;
    }
  }
  return null;
}

/** ovs-vsctl's string quoting: bare when it is a plain identifier-like token. */
function quote(s: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_.\-:/]*$/.test(s) && !/^(true|false)$/.test(s)) return s;
  return JSON.stringify(s);
}

function formatValue(kind: Kind, v: unknown): string {
  switch (kind) {
    case "string": return quote(String(v ?? ""));
    case "int": return String(v);
    case "optString": return v === null || v === undefined ? "[]" : quote(String(v));
    case "optInt": return v === null || v === undefined ? "[]" : String(v);
    case "map": {
      const m = (v as Map<string, string> | undefined) ?? new Map<string, string>();
      return `{${[...m].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, x]) => `${quote(k)}=${quote(x)}`).join(", ")}}`;
    }
    case "intSet": return `[${((v as number[] | undefined) ?? []).join(", ")}]`;
    case "stringSet": return `[${((v as string[] | undefined) ?? []).map(quote).join(", ")}]`;
  }
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith("\"") && s.endsWith("\"") ? JSON.parse(s) as string : s;
}

function parseScalar(kind: Kind, col: string, text: string): unknown {
  const t = unquote(text.trim());
  if (kind === "int" || kind === "optInt") {
    if (kind === "optInt" && (t === "[]" || t === "")) return null;
    if (!/^-?\d+$/.test(t)) return fail(`"${t}" is not a valid integer`);
    return Number(t);
  }
  if (kind === "optString" && (t === "[]" || t === "")) return null;
  const allowed = ENUMS[col];
  if (allowed && !allowed.includes(t)) return fail(`constraint violation: ${t} is not one of the allowed values ([${allowed.join(", ")}])`);
  return t;
}

function splitList(text: string): string[] {
  const t = text.trim().replace(/^[[{]|[\]}]$/g, "");
  return t === "" ? [] : t.split(",").map((x) => x.trim()).filter(Boolean);
}

/** COLUMN[:KEY]=VALUE applied to `row`. */
function setColumn(table: Table, row: Row, arg: string): void {
  const eq = arg.indexOf("=");
  if (eq < 0) fail(`${arg}: argument does not end in "=" followed by a value.`);
  const lhs = arg.slice(0, eq);
  const value = arg.slice(eq + 1);
  const colon = lhs.indexOf(":");
  const colName = (colon < 0 ? lhs : lhs.slice(0, colon)).replace(/-/g, "_");
  const col = COLUMNS[table][colName] ?? fail(`${table} does not contain a column whose name matches "${lhs.slice(0, colon < 0 ? undefined : colon)}"`);
  if (col.ro) fail(`cannot modify read-only column ${colName} in table ${table}`);
  if (colon >= 0) {
    if (col.kind !== "map") fail(`cannot specify key to set for non-map column ${colName}`);
    const m = (row[colName] as Map<string, string> | undefined) ?? new Map<string, string>();
    m.set(unquote(lhs.slice(colon + 1)), unquote(value));
    row[colName] = m;
    return;
  }
  switch (col.kind) {
    case "map": {
      const m = new Map<string, string>();
      for (const kv of splitList(value)) {
        const i = kv.indexOf("=");
        if (i < 0) fail(`${kv}: syntax error in map value`);
        m.set(unquote(kv.slice(0, i)), unquote(kv.slice(i + 1)));
      }
      row[colName] = m;
      return;
    }
    case "intSet": row[colName] = splitList(value).map((x) => parseScalar("int", colName, x) as number); return;
    case "stringSet": row[colName] = splitList(value).map(unquote); return;
    default: row[colName] = parseScalar(col.kind, colName, value);
  }
}

function getColumn(table: Table, row: Row, spec: string): string {
  const colon = spec.indexOf(":");
  const colName = (colon < 0 ? spec : spec.slice(0, colon)).replace(/-/g, "_");
  const col = COLUMNS[table][colName] ?? fail(`${table} does not contain a column whose name matches "${spec.slice(0, colon < 0 ? undefined : colon)}"`);
  if (colon >= 0) {
    const key = spec.slice(colon + 1);
    const v = (row[colName] as Map<string, string> | undefined)?.get(key);
    if (v === undefined) fail(`no key "${key}" in ${table} record "${String(row["name"] ?? ".")}" column ${colName}`);
    return quote(v as string);
  }
  return formatValue(col.kind, row[colName]);
}

// --- commands ---------------------------------------------------------------------------------

interface Ctx {
  root: OvsConfig;
  db: ConfDb;
  out: string[];
  mayExist: boolean;
  ifExists: boolean;
  changed: boolean;
}

function bridgeOf(root: OvsConfig, name: string): BridgeConfig | undefined {
  return root.bridges.find((b) => b.name === name);
}

function portOwner(root: OvsConfig, name: string): { br: BridgeConfig; port: PortConfig } | null {
  for (const br of root.bridges) for (const port of br.ports) if (port.name === name) return { br, port };
  return null;
}

const ARITY: Record<string, [number, number]> = {
  init: [0, 0], show: [0, 0], "add-br": [1, 3], "del-br": [1, 1], "list-br": [0, 0], "br-exists": [1, 1],
  "add-port": [2, Infinity], "del-port": [1, 2], "list-ports": [1, 1], "list-ifaces": [1, 1],
  "port-to-br": [1, 1], "iface-to-br": [1, 1], set: [3, Infinity], get: [3, Infinity], list: [1, Infinity],
  clear: [3, Infinity], remove: [4, Infinity], add: [4, Infinity], "br-set-external-id": [2, 3],
};

function runOne(c: Ctx, name: string, args: string[]): void {
  const arity = ARITY[name] ?? fail(`unknown command '${name}'; use --help for help`);
  if (args.length < arity[0]) fail(`'${name}' command requires at least ${arity[0]} arguments`);
  if (args.length > arity[1]) fail(`'${name}' command takes at most ${arity[1]} arguments`);
  const root = c.root;
  const a0 = args[0] as string;
  switch (name) {
    case "init": return;
    case "show": c.out.push(show(root)); return;
    case "list-br": c.out.push(...root.bridges.map((b) => b.name).sort()); return;
    case "br-exists": if (!bridgeOf(root, a0)) throw new ExitCode(2); return;
    case "add-br": {
      if (args.length > 1) fail("add-br with a parent bridge (fake bridges) is not supported");
      if (bridgeOf(root, a0)) { if (c.mayExist) return; fail(`cannot create a bridge named ${a0} because a bridge named ${a0} already exists`); }
      if (portOwner(root, a0)) fail(`cannot create a bridge named ${a0} because a port named ${a0} already exists on bridge ${portOwner(root, a0)?.br.name}`);
      const br = newBridge(a0);
      br.uuid = c.db.uuid();
      br.external_ids = new Map();
      for (const p of br.ports) { p.uuid = c.db.uuid(); for (const i of p.interfaces) i.uuid = c.db.uuid(); }
      root.bridges.push(br);
      c.changed = true;
      return;
    }
    case "del-br": {
      const i = root.bridges.findIndex((b) => b.name === a0);
      if (i < 0) { if (c.ifExists) return; fail(`no bridge named ${a0}`); }
      root.bridges.splice(i, 1);
      c.changed = true;
      return;
    }
    case "add-port": {
      const br = bridgeOf(root, a0) ?? fail(`no bridge named ${a0}`);
      const pname = args[1] as string;
      const owner = portOwner(root, pname);
      if (owner) {
        if (c.mayExist && owner.br === br) return;
        fail(`cannot create a port named ${pname} because a port named ${pname} already exists on bridge ${owner.br.name}`);
      }
      const iface = newInterface(pname);
      iface.uuid = c.db.uuid();
      const port = addPort(br, iface);
      port.uuid = c.db.uuid();
      for (const col of args.slice(2)) setColumn("Port", port as unknown as Row, col);
      c.changed = true;
      return;
    }
    case "del-port": {
      const pname = (args.length === 2 ? args[1] : a0) as string;
      const owner = portOwner(root, pname);
      if (!owner) { if (c.ifExists) return; fail(`no port named ${pname}`); }
      const o = owner as { br: BridgeConfig; port: PortConfig };
      if (args.length === 2 && o.br.name !== a0) fail(`bridge ${a0} does not have a port ${pname}`);
      o.br.ports.splice(o.br.ports.indexOf(o.port), 1);
      c.changed = true;
      return;
    }
    case "list-ports": {
      const br = bridgeOf(root, a0) ?? fail(`no bridge named ${a0}`);
      c.out.push(...br.ports.filter((p) => p.name !== br.name).map((p) => p.name).sort());
      return;
    }
    case "list-ifaces": {
      const br = bridgeOf(root, a0) ?? fail(`no bridge named ${a0}`);
      c.out.push(...br.ports.filter((p) => p.name !== br.name).flatMap((p) => p.interfaces.map((i) => i.name)).sort());
      return;
    }
    case "port-to-br":
    case "iface-to-br": {
      const owner = portOwner(root, a0) ?? fail(`no ${name === "port-to-br" ? "port" : "interface"} named ${a0}`);
      c.out.push((owner as { br: BridgeConfig }).br.name);
      return;
    }
    case "br-set-external-id": {
      const br = bridgeOf(root, a0) ?? fail(`no bridge named ${a0}`);
      br.external_ids ??= new Map();
      if (args[2] === undefined) br.external_ids.delete(args[1] as string); else br.external_ids.set(args[1] as string, args[2]);
      c.changed = true;
      return;
    }
    case "set":
    case "get":
    case "clear":
    case "add":
    case "remove":
    case "list": {
      const table = tableName(a0);
      if (name === "list") {
        const ids = args.length > 1 ? args.slice(1) : listIds(root, table);
        const blocks: string[] = [];
        for (const id of ids) {
          const row = findRow(root, table, id) ?? fail(`no row "${id}" in table ${table}`);
          const cols = ["_uuid", ...Object.keys(COLUMNS[table])].sort();
          const w = Math.max(...cols.map((x) => x.length));
          blocks.push(cols.map((col) => `${col.padEnd(w)} : ${col === "_uuid" ? String(row["uuid"] ?? "") : getColumn(table, row, col)}`).join("\n"));
        }
        c.out.push(blocks.join("\n\n"));
        return;
      }
      const id = args[1] as string;
      const row = findRow(root, table, id);
      if (row === null) { if (c.ifExists) return; fail(`no row "${id}" in table ${table}`); }
      const r = row as Row;
      if (name === "set") { for (const s of args.slice(2)) setColumn(table, r, s); c.changed = true; return; }
      if (name === "get") { for (const s of args.slice(2)) c.out.push(getColumn(table, r, s)); return; }
      if (name === "clear") {
        for (const col of args.slice(2)) {
          const spec = COLUMNS[table][col.replace(/-/g, "_")] ?? fail(`${table} does not contain a column whose name matches "${col}"`);
          const k = col.replace(/-/g, "_");
          r[k] = spec.kind === "map" ? new Map() : spec.kind.endsWith("Set") ? [] : null;
        }
        c.changed = true;
        return;
      }
      const col = (args[2] as string).replace(/-/g, "_");
      const spec = COLUMNS[table][col] ?? fail(`${table} does not contain a column whose name matches "${args[2]}"`);
      for (const v of args.slice(3)) {
        if (spec.kind === "map") {
          const m = (r[col] as Map<string, string> | undefined) ?? new Map<string, string>();
          const i = v.indexOf("=");
          if (name === "add") { if (i < 0) fail(`${v}: syntax error in map value`); if (!m.has(unquote(v.slice(0, i)))) m.set(unquote(v.slice(0, i)), unquote(v.slice(i + 1))); }
          else if (i < 0) m.delete(unquote(v)); else if (m.get(unquote(v.slice(0, i))) === unquote(v.slice(i + 1))) m.delete(unquote(v.slice(0, i)));
          r[col] = m;
        } else if (spec.kind === "intSet" || spec.kind === "stringSet") {
          const cur = new Set((r[col] as (string | number)[] | undefined) ?? []);
          const item = spec.kind === "intSet" ? parseScalar("int", col, v) as number : unquote(v);
          if (name === "add") cur.add(item); else cur.delete(item);
          r[col] = [...cur];
        } else fail(`"${name}" operation not allowed on column ${col} (it is not a set or map)`);
      }
      c.changed = true;
      return;
    }
  }
}

function listIds(root: OvsConfig, table: Table): string[] {
  if (table === "Open_vSwitch") return ["."];
  const out: string[] = [];
  for (const b of root.bridges) {
    if (table === "Bridge") out.push(b.name);
    for (const p of b.ports) {
      if (table === "Port") out.push(p.name);
      if (table === "Interface") for (const i of p.interfaces) out.push(i.name);
    }
  }
  return out;
}

function show(root: OvsConfig): string {
  const lines = [root.uuid ?? ""];
  for (const b of root.bridges) {
    lines.push(`    Bridge ${quote(b.name)}`);
    if (b.fail_mode) lines.push(`        fail_mode: ${b.fail_mode}`);
    if (b.datapath_type) lines.push(`        datapath_type: ${b.datapath_type}`);
    for (const p of b.ports) {
      lines.push(`        Port ${quote(p.name)}`);
      if (p.tag !== null) lines.push(`            tag: ${p.tag}`);
      if (p.trunks.length) lines.push(`            trunks: [${p.trunks.join(", ")}]`);
      if (p.vlan_mode) lines.push(`            vlan_mode: ${p.vlan_mode}`);
      for (const i of p.interfaces) {
        lines.push(`            Interface ${quote(i.name)}`);
        if (i.type) lines.push(`                type: ${i.type}`);
        if (i.options.size) lines.push(`                options: ${formatValue("map", i.options)}`);
        if (i.error) lines.push(`                error: ${JSON.stringify(i.error)}`);
      }
    }
  }
  return lines.join("\n");
}

class ExitCode extends Error {
  constructor(readonly code: number) { super(`exit ${code}`); }
}

/**
 * Runs one ovs-vsctl invocation. `commit` is called with the new rows when the transaction
 * changed anything; it reconfigures the switch and may return warnings (interface errors) that
 * ovs-vsctl prints after waiting for vswitchd.
 */
export function runVsctl(db: ConfDb, argv: readonly string[], commit: (root: OvsConfig) => string[] = () => []): CommandResult {
  const commands: { name: string; args: string[]; mayExist: boolean; ifExists: boolean }[] = [];
  let cur: { name: string; args: string[]; mayExist: boolean; ifExists: boolean } | null = null;
  let mayExist = false;
  let ifExists = false;
  for (const a of argv) {
    if (a === "--") { if (cur) commands.push(cur); cur = null; mayExist = false; ifExists = false; continue; }
    if (cur === null && a.startsWith("--")) {
      if (a === "--may-exist") mayExist = true;
      else if (a === "--if-exists") ifExists = true;
      else if (/^--(no-wait|wait|timeout=\d+|dry-run|no-syslog|oneline|format=.*|columns=.*|data=.*|db=.*|retry)$/.test(a)) { /* accepted */ }
      else return { code: 1, stdout: "", stderr: `${PROG}: unrecognized option '${a}'\n` };
      continue;
    }
    if (cur === null) cur = { name: a, args: [], mayExist, ifExists };
    else cur.args.push(a);
  }
  if (cur) commands.push(cur);
  if (commands.length === 0) return { code: 1, stdout: "", stderr: `${PROG}: missing command name (use --help for help)\n` };
  const ctx: Ctx = { root: clone(db.root), db, out: [], mayExist: false, ifExists: false, changed: false };
  try {
    for (const c of commands) {
      ctx.mayExist = c.mayExist;
      ctx.ifExists = c.ifExists;
      runOne(ctx, c.name, c.args);
    }
  } catch (e) {
    if (e instanceof VsctlError) return { code: 1, stdout: "", stderr: `${PROG}: ${e.message}\n` };
    if (e instanceof ExitCode) return { code: e.code, stdout: "", stderr: "" };
    throw e;
  }
  let stderr = "";
  if (ctx.changed) {
    const before = new Set(errorsOf(db.root));
    db.root = ctx.root;
    for (const w of commit(ctx.root)) if (!before.has(w)) stderr += `${PROG}: Error detected while setting up '${w.split("\0")[0]}': ${w.split("\0")[1]}.  See the daemon log for details.\n`;
  }
  const stdout = ctx.out.length === 0 ? "" : `${ctx.out.join("\n")}\n`;
  return { code: 0, stdout, stderr };
}

function errorsOf(root: OvsConfig): string[] {
  const out: string[] = [];
  for (const b of root.bridges) for (const p of b.ports) for (const i of p.interfaces) if (i.error) out.push(`${i.name}\0${i.error}`);
  return out;
}

/** The interface errors now in the rows (what runVsctl's commit callback returns). */
export function interfaceErrors(root: OvsConfig): string[] { return errorsOf(root); }

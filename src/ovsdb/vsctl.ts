// `offload-emu vsctl`: Open vSwitch's ovs-vsctl over the in-memory database (src/ovsdb/db.ts).
// Same command line (global options, `--` between commands, per-command options such as
// --may-exist), same value syntax (OVSDB's string forms: `[a, b]`, `{k=v}`, quoted strings), same
// output formats and error messages, all checked against ovs-vsctl 3.1 (test/ovsdb/vsctl.test.ts).
//
// Every invocation is one transaction: the commands run in order on the live database, and the
// first error rolls all of them back and prints only that error, as OVSDB's atomic transactions
// do. Output is printed only when the whole transaction succeeded. A successful transaction that
// changed something calls db.commit(), which runs the engine's reconfigure(); then, unless
// --no-wait, interfaces this transaction added that got no OpenFlow port are reported the way
// ovs-vsctl does after waiting for ovs-vswitchd.
//
// The daemon runs this in its process (src/daemon/server.ts); nothing here touches the file
// system or the clock.
//
// This file holds the commands, the command line and the transaction. The value syntax is in
// datum.ts and the naming of tables, records and columns in db-ctl.ts, as Open vSwitch splits
// them between lib/ovsdb-data.c, lib/db-ctl-base.c and utilities/ovs-vsctl.c.

import type { CommandIo, CommandResult } from "../ctl/registry.ts";
import {
  SCHEMA,
  type AnyRow,
  type Atom,
  type BaseType,
  type BridgeRow,
  type ColumnSchema,
  type Datum,
  type Db,
  type InterfaceRow,
  type PortRow,
  type TableName,
  type TableSchema,
} from "./db.ts";
import {
  atomFromString,
  checkSize,
  DatumError,
  datumEquals,
  datumFromString,
  formatAtom,
  formatDatum,
} from "./datum.ts";
import { fail, getColumn, getRow, getTable, parseColumnArg, UUID_COLUMN, VsctlError, writable } from "./db-ctl.ts";

export { formatAtom, formatDatum } from "./datum.ts";

const PROG = "offload-emu vsctl";

export interface VsctlOptions {
  /** Whether a daemon applies commits (so there is something to wait for). Default false. */
  wait?: boolean;
  /** Named in the "Error detected while setting up" hint, as OVS names its log directory. */
  logDir?: string;
}

/** br-exists: exit with a status and no message. */
class VsctlExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Commands

interface Ctx {
  db: Db;
  out: string[];
  opts: Map<string, string | null>;
  args: string[];
  changed: boolean;
  newIfaces: InterfaceRow[];
}

interface Spec {
  min: number;
  max: number;
  options: readonly string[];
  mutates: boolean;
  run(c: Ctx): void;
}

/**
 * What `add` and `remove` share: TABLE RECORD COLUMN VALUE... resolved to the row, the column,
 * its current value, a writer, and the column's type with any number of values (each VALUE is
 * parsed as a set or map of its own); null with --if-exists and no such record.
 */
function columnEdit(c: Ctx, opName: string) {
  const [tName, record, colName, ...values] = c.args as [string, string, string, ...string[]];
  const t = getTable(tName);
  const row = getRow(c.db, t, record, !c.opts.has("--if-exists"));
  if (!row) return null;
  const col = getColumn(t, colName);
  const write = writable(t, col, opName);
  const loose: ColumnSchema = { ...col, min: 0, max: Infinity };
  return { t, row, col, write, d: col.get(row), loose, values };
}

const bridgeNamed = (c: Ctx, name: string): BridgeRow => c.db.bridge(name) ?? fail(`no bridge named ${name}`);

function checkConflicts(c: Ctx, name: string, what: string): void {
  if (c.db.bridge(name)) fail(`${what} because a bridge named ${name} already exists`);
  const p = c.db.port(name);
  if (p) fail(`${what} because a port named ${name} already exists on bridge ${c.db.bridgeOf(p)?.name}`);
  const i = c.db.iface(name);
  if (i) {
    const ip = c.db.portOf(i);
    fail(`${what} because an interface named ${name} already exists on bridge ${ip ? c.db.bridgeOf(ip)?.name : "?"}`);
  }
}

/** Applies COLUMN[:KEY]=VALUE to a row, as `set` and `add-port`'s trailing arguments do. */
function setColumn(t: TableSchema, row: AnyRow, arg: string): void {
  const a = parseColumnArg(t, arg, ["="]);
  if (!a.col) fail(`cannot modify read-only column _uuid in table ${t.name}`);
  const col = a.col as ColumnSchema;
  const write = writable(t, col, "set");
  if (a.key !== null) {
    if (!col.value) fail(`cannot specify key to set for non-map column ${col.name}`);
    const k = atomFromString(col.key, a.key);
    const v = atomFromString(col.value as BaseType, a.value as string);
    const d = col.get(row);
    const vals = d.values as Atom[];
    const i = d.keys.indexOf(k);
    if (i >= 0) vals[i] = v;
    else {
      d.keys.push(k);
      vals.push(v);
    }
    write(row, d);
  } else {
    const d = datumFromString(col, a.value as string);
    checkSize(col, d);
    write(row, d);
  }
}

function listRows(c: Ctx, t: TableSchema, rows: AnyRow[]): void {
  const colsOpt = c.opts.get("--columns");
  const cols: ColumnSchema[] = colsOpt
    ? colsOpt.split(",").map((n) => (n.toLowerCase() === "_uuid" ? UUID_COLUMN : getColumn(t, n)))
    : [UUID_COLUMN, ...[...t.columns].sort((a, b) => (a.name < b.name ? -1 : 1))];
  const blocks = rows.map((r) =>
    cols.map((col) => `${col.name.padEnd(20)}: ${formatDatum(col.get(r), col)}\n`).join(""),
  );
  if (blocks.length) c.out.push(blocks.join("\n"));
}

function showTree(db: Db): string {
  const lines: string[] = [db.root.uuid];
  const ind = (n: number) => " ".repeat(n * 4);
  const col = (t: TableName, name: string) => SCHEMA[t].columns.find((c) => c.name === name) as ColumnSchema;
  const attr = (t: TableName, row: AnyRow, name: string, level: number) => {
    const c = col(t, name);
    const d = c.get(row);
    const isDefault =
      d.keys.length === 0 || (c.min === 1 && (d.keys[0] === "" || d.keys[0] === 0 || d.keys[0] === false));
    if (!isDefault) lines.push(`${ind(level)}${name}: ${formatDatum(d, c)}`);
  };
  const byUuid = <T extends AnyRow>(rows: T[]) => [...rows].sort((a, b) => (a.uuid < b.uuid ? -1 : 1));
  for (const b of byUuid(db.root.bridges)) {
    lines.push(`${ind(1)}Bridge ${formatAtom(b.name)}`);
    attr("Bridge", b, "fail_mode", 2);
    attr("Bridge", b, "datapath_type", 2);
    for (const p of byUuid(b.ports)) {
      lines.push(`${ind(2)}Port ${formatAtom(p.name)}`);
      attr("Port", p, "tag", 3);
      attr("Port", p, "trunks", 3);
      for (const i of byUuid(p.interfaces)) {
        lines.push(`${ind(3)}Interface ${formatAtom(i.name)}`);
        attr("Interface", i, "type", 4);
        attr("Interface", i, "options", 4);
        attr("Interface", i, "error", 4);
      }
    }
  }
  attr("Open_vSwitch", db.root, "ovs_version", 1);
  return lines.join("\n") + "\n";
}

const COMMANDS: Record<string, Spec> = {
  init: { min: 0, max: 0, options: [], mutates: false, run: () => {} },
  show: {
    min: 0,
    max: 0,
    options: [],
    mutates: false,
    run: (c) => {
      c.out.push(showTree(c.db));
    },
  },

  "add-br": {
    min: 1,
    max: 3,
    options: ["--may-exist"],
    mutates: true,
    run: (c) => {
      if (c.args.length === 2) fail("'add-br' command takes exactly 1 or 3 arguments");
      if (c.args.length === 3) fail("fake bridges (add-br BRIDGE PARENT VLAN) are not supported");
      const name = c.args[0] as string;
      if (c.opts.has("--may-exist") && c.db.bridge(name)) return;
      checkConflicts(c, name, `cannot create a bridge named ${name}`);
      const iface = c.db.newIface(name, "internal");
      const br = c.db.newBridge(name);
      br.ports.push(c.db.newPort(name, [iface]));
      c.db.root.bridges.push(br);
      c.newIfaces.push(iface);
    },
  },
  "del-br": {
    min: 1,
    max: 1,
    options: ["--if-exists"],
    mutates: true,
    run: (c) => {
      const name = c.args[0] as string;
      const br = c.db.bridge(name);
      if (!br) {
        if (c.opts.has("--if-exists")) return;
        fail(`no bridge named ${name}`);
      }
      c.db.root.bridges.splice(c.db.root.bridges.indexOf(br as BridgeRow), 1);
    },
  },
  "list-br": {
    min: 0,
    max: 0,
    options: [],
    mutates: false,
    run: (c) => {
      c.out.push(
        c.db.root.bridges
          .map((b) => b.name)
          .sort()
          .map((n) => `${n}\n`)
          .join(""),
      );
    },
  },
  "br-exists": {
    min: 1,
    max: 1,
    options: [],
    mutates: false,
    run: (c) => {
      if (!c.db.bridge(c.args[0] as string)) throw new VsctlExit(2);
    },
  },
  "br-to-vlan": {
    min: 1,
    max: 1,
    options: [],
    mutates: false,
    run: (c) => {
      bridgeNamed(c, c.args[0] as string);
      c.out.push("0\n");
    },
  },
  "br-to-parent": {
    min: 1,
    max: 1,
    options: [],
    mutates: false,
    run: (c) => {
      c.out.push(`${bridgeNamed(c, c.args[0] as string).name}\n`);
    },
  },
  "list-ports": {
    min: 1,
    max: 1,
    options: [],
    mutates: false,
    run: (c) => {
      const br = bridgeNamed(c, c.args[0] as string);
      c.out.push(
        br.ports
          .filter((p) => p.name !== br.name)
          .map((p) => p.name)
          .sort()
          .map((n) => `${n}\n`)
          .join(""),
      );
    },
  },
  "list-ifaces": {
    min: 1,
    max: 1,
    options: [],
    mutates: false,
    run: (c) => {
      const br = bridgeNamed(c, c.args[0] as string);
      const names = br.ports
        .flatMap((p) => p.interfaces)
        .map((i) => i.name)
        .filter((n) => n !== br.name);
      c.out.push(
        names
          .sort()
          .map((n) => `${n}\n`)
          .join(""),
      );
    },
  },
  "add-port": {
    min: 2,
    max: Infinity,
    options: ["--may-exist"],
    mutates: true,
    run: (c) => {
      const [brName, name, ...settings] = c.args as [string, string, ...string[]];
      const br = bridgeNamed(c, brName);
      if (c.opts.has("--may-exist")) {
        const p = c.db.port(name);
        if (p) {
          const owner = c.db.bridgeOf(p) as BridgeRow;
          if (owner !== br)
            fail(`"--may-exist add-port ${brName} ${name}" but ${name} is actually attached to bridge ${owner.name}`);
          return;
        }
      }
      checkConflicts(c, name, `cannot create a port named ${name}`);
      const iface = c.db.newIface(name);
      const port = c.db.newPort(name, [iface]);
      br.ports.push(port);
      c.newIfaces.push(iface);
      for (const s of settings) setColumn(SCHEMA.Port, port, s);
    },
  },
  "del-port": {
    min: 1,
    max: 2,
    options: ["--if-exists", "--with-iface"],
    mutates: true,
    run: (c) => {
      const name = c.args[c.args.length - 1] as string;
      const br = c.args.length === 2 ? bridgeNamed(c, c.args[0] as string) : null;
      let port: PortRow | undefined = c.db.port(name);
      if (!port && c.opts.has("--with-iface")) {
        const i = c.db.iface(name);
        if (i) port = c.db.portOf(i);
      }
      if (!port) {
        if (c.opts.has("--if-exists")) return;
        fail(`no port named ${name}`);
      }
      const owner = c.db.bridgeOf(port as PortRow) as BridgeRow;
      if (owner.name === (port as PortRow).name) {
        fail(
          `cannot delete port ${name} because it is the local port for bridge ${owner.name} (deleting this port requires deleting the entire bridge)`,
        );
      }
      if (br && owner !== br) fail(`bridge ${br.name} does not have a port ${name}`);
      owner.ports.splice(owner.ports.indexOf(port as PortRow), 1);
    },
  },
  "port-to-br": {
    min: 1,
    max: 1,
    options: [],
    mutates: false,
    run: (c) => {
      const p = c.db.port(c.args[0] as string) ?? fail(`no port named ${c.args[0]}`);
      c.out.push(`${c.db.bridgeOf(p)?.name}\n`);
    },
  },
  "iface-to-br": {
    min: 1,
    max: 1,
    options: [],
    mutates: false,
    run: (c) => {
      const i = c.db.iface(c.args[0] as string) ?? fail(`no interface named ${c.args[0]}`);
      const p = c.db.portOf(i) as PortRow;
      c.out.push(`${c.db.bridgeOf(p)?.name}\n`);
    },
  },

  get: {
    min: 2,
    max: Infinity,
    options: ["--if-exists", "--id"],
    mutates: false,
    run: (c) => {
      const [tName, record, ...cols] = c.args as [string, string, ...string[]];
      const t = getTable(tName);
      const row = getRow(c.db, t, record, !c.opts.has("--if-exists"));
      if (!row) return;
      let out = "";
      for (const arg of cols) {
        const a = parseColumnArg(t, arg, null);
        const col = a.col ?? UUID_COLUMN;
        const d = col.get(row);
        if (a.key !== null) {
          if (!col.value) fail(`cannot specify key to get for non-map column ${col.name}`);
          const k = atomFromString(col.key, a.key);
          const i = d.keys.indexOf(k);
          if (i < 0) {
            if (c.opts.has("--if-exists")) {
              out += "\n";
              continue;
            }
            fail(`no key "${a.key}" in ${t.name} record "${record}" column ${col.name}`);
          }
          out += `${formatAtom((d.values as Atom[])[i] as Atom)}\n`;
        } else {
          out += `${formatDatum(d, col)}\n`;
        }
      }
      c.out.push(out);
    },
  },
  list: {
    min: 1,
    max: Infinity,
    options: ["--if-exists", "--columns="],
    mutates: false,
    run: (c) => {
      const [tName, ...records] = c.args as [string, ...string[]];
      const t = getTable(tName);
      const rows = records.length
        ? records.map((r) => getRow(c.db, t, r, !c.opts.has("--if-exists"))).filter((r): r is AnyRow => r !== null)
        : c.db.rows(t.name);
      listRows(c, t, rows);
    },
  },
  find: {
    min: 1,
    max: Infinity,
    options: ["--columns="],
    mutates: false,
    run: (c) => {
      const [tName, ...conds] = c.args as [string, ...string[]];
      const t = getTable(tName);
      const tests = conds.map((arg) => {
        const a = parseColumnArg(t, arg, ["=", "!="]);
        const col = a.col ?? UUID_COLUMN;
        const negate = a.op === "!=";
        if (a.key !== null) {
          if (!col.value) fail(`cannot specify key to check for non-map column ${col.name}`);
          const k = atomFromString(col.key, a.key);
          const v = atomFromString(col.value as BaseType, a.value as string);
          return (r: AnyRow) => {
            const d = col.get(r);
            const i = d.keys.indexOf(k);
            return (i >= 0 && (d.values as Atom[])[i] === v) !== negate;
          };
        }
        const want = datumFromString(col, a.value as string);
        return (r: AnyRow) => datumEquals(col.get(r), want) !== negate;
      });
      listRows(
        c,
        t,
        c.db.rows(t.name).filter((r) => tests.every((f) => f(r))),
      );
    },
  },
  set: {
    min: 3,
    max: Infinity,
    options: ["--if-exists"],
    mutates: true,
    run: (c) => {
      const [tName, record, ...settings] = c.args as [string, string, ...string[]];
      const t = getTable(tName);
      const row = getRow(c.db, t, record, !c.opts.has("--if-exists"));
      if (!row) return;
      for (const s of settings) setColumn(t, row, s);
    },
  },
  add: {
    min: 4,
    max: Infinity,
    options: ["--if-exists"],
    mutates: true,
    run: (c) => {
      const e = columnEdit(c, "add");
      if (!e) return;
      const { row, col, write, d, loose, values } = e;
      for (const v of values) {
        const add = datumFromString(loose, v);
        add.keys.forEach((k, i) => {
          if (d.keys.includes(k)) return; // a map keeps the value it had, as ovsdb_datum_union does
          d.keys.push(k);
          if (d.values) d.values.push((add.values as Atom[])[i] as Atom);
        });
      }
      checkSize(col, d);
      write(row, d);
    },
  },
  remove: {
    min: 4,
    max: Infinity,
    options: ["--if-exists"],
    mutates: true,
    run: (c) => {
      const e = columnEdit(c, "remove");
      if (!e) return;
      const { t, row, col, write, d, loose, values } = e;
      for (const v of values) {
        let rm: Datum;
        let byKeyOnly = false;
        try {
          rm = datumFromString(loose, v);
        } catch (e) {
          if (!col.value) throw e;
          rm = datumFromString({ ...loose, value: undefined }, v); // a map's keys alone
          byKeyOnly = true;
        }
        rm.keys.forEach((k, j) => {
          const i = d.keys.indexOf(k);
          if (i < 0) return;
          if (d.values && !byKeyOnly && d.values[i] !== (rm.values as Atom[])[j]) return;
          d.keys.splice(i, 1);
          d.values?.splice(i, 1);
        });
      }
      if (d.keys.length < col.min) {
        fail(
          `"remove" operation would put ${d.keys.length} values in column ${col.name} of table ${t.name} but the minimum number is ${col.min}`,
        );
      }
      write(row, d);
    },
  },
  clear: {
    min: 3,
    max: Infinity,
    options: ["--if-exists"],
    mutates: true,
    run: (c) => {
      const [tName, record, ...cols] = c.args as [string, string, ...string[]];
      const t = getTable(tName);
      const row = getRow(c.db, t, record, !c.opts.has("--if-exists"));
      if (!row) return;
      for (const name of cols) {
        const col = getColumn(t, name);
        const write = writable(t, col, "clear");
        if (col.min > 0)
          fail(
            `"clear" operation cannot be applied to column ${col.name} of table ${t.name}, which is not allowed to be empty`,
          );
        write(row, { keys: [], values: col.value ? [] : null });
      }
    },
  },
};

/** Options each command may carry; the global parser keeps them with the first command. */
const COMMAND_OPTIONS = new Set(Object.values(COMMANDS).flatMap((s) => s.options.map((o) => o.replace(/=$/, ""))));

interface Parsed {
  name: string;
  spec: Spec;
  opts: Map<string, string | null>;
  args: string[];
}

function parseCommand(words: string[]): Parsed | null {
  const opts = new Map<string, string | null>();
  let i = 0;
  for (; i < words.length && (words[i] as string).startsWith("--"); i++) {
    const w = words[i] as string;
    const eq = w.indexOf("=");
    opts.set(eq < 0 ? w : w.slice(0, eq), eq < 0 ? null : w.slice(eq + 1));
  }
  if (i === words.length) {
    if (opts.size) fail("missing command name (use --help for help)");
    return null;
  }
  const name = words[i] as string;
  const args = words.slice(i + 1);
  const spec = COMMANDS[name] ?? fail(`unknown command '${name}'; use --help for help`);
  for (const [o, v] of opts) {
    const takesValue = spec.options.includes(`${o}=`);
    if (!takesValue && !spec.options.includes(o)) fail(`'${name}' command has no '${o}' option`);
    if (takesValue && v === null) fail(`'${name}' command requires an argument for '${o}'`);
  }
  if (args.length < spec.min) fail(`'${name}' command requires at least ${spec.min} arguments`);
  if (args.length > spec.max) fail(`'${name}' command takes at most ${spec.max} arguments`);
  return { name, spec, opts, args };
}

interface Globals {
  noWait: boolean;
  dryRun: boolean;
}

function parseGlobals(argv: string[]): { g: Globals; commands: Parsed[] } {
  const g: Globals = { noWait: false, dryRun: false };
  const carried: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--" || !a.startsWith("-")) break;
    const name = a.includes("=") ? a.slice(0, a.indexOf("=")) : a;
    if (a === "--no-wait") g.noWait = true;
    else if (a === "--dry-run") g.dryRun = true;
    else if (["--timeout", "--db", "-t", "--retry", "--no-syslog"].includes(name)) {
      // Accepted for OVS scripts; nothing here waits on a remote database.
      if ((name === "-t" || name === "--timeout" || name === "--db") && !a.includes("=")) i++;
    } else if (COMMAND_OPTIONS.has(name)) carried.push(a);
    else fail(`unrecognized option '${a}'`);
  }
  const rest = argv.slice(i);
  const groups: string[][] = [[...carried]];
  for (const w of rest) {
    if (w === "--") groups.push([]);
    else (groups[groups.length - 1] as string[]).push(w);
  }
  const commands = groups.map(parseCommand).filter((p): p is Parsed => p !== null);
  if (!commands.length) fail("missing command name (use --help for help)");
  return { g, commands };
}

// ---------------------------------------------------------------------------------------------

/** Runs one ovs-vsctl invocation against `db` as a single transaction. */
export function runVsctl(db: Db, argv: string[], _io: CommandIo, options: VsctlOptions = {}): CommandResult {
  const snap = db.snapshot();
  const out: string[] = [];
  const newIfaces: InterfaceRow[] = [];
  let changed = false;
  let noWait = true;
  try {
    const { g, commands } = parseGlobals(argv);
    noWait = g.noWait;
    for (const cmd of commands) {
      const ctx: Ctx = { db, out, opts: cmd.opts, args: cmd.args, changed: false, newIfaces };
      cmd.spec.run(ctx);
      if (cmd.spec.mutates) changed = true;
    }
    if (g.dryRun) {
      db.restore(snap);
      changed = false;
    }
  } catch (e) {
    db.restore(snap);
    if (e instanceof VsctlExit) return { code: e.code, stdout: "", stderr: "" };
    if (e instanceof VsctlError || e instanceof DatumError)
      return { code: 1, stdout: "", stderr: `${PROG}: ${e.message}\n` };
    throw e;
  }
  let stderr = "";
  if (changed) {
    db.commit();
    if (options.wait && !noWait) {
      let dead = false;
      for (const i of newIfaces) {
        if (!db.iface(i.name) || (i.ofport !== null && i.ofport !== -1)) continue;
        dead = true;
        stderr += i.error
          ? `${PROG}: Error detected while setting up '${i.name}': ${i.error}.  See offload-emu log for details.\n`
          : `${PROG}: Error detected while setting up '${i.name}'.  See offload-emu log for details.\n`;
      }
      if (dead && options.logDir) stderr += `${PROG}: The default log directory is "${options.logDir}".\n`;
    }
  }
  return { code: 0, stdout: out.join(""), stderr };
}

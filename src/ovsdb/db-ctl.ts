// Naming what an ovs-vsctl command acts on (lib/db-ctl-base.c in Open vSwitch): a table by any
// unambiguous prefix of its name, a record by name or UUID, a column likewise, and the
// COLUMN[:KEY][OP VALUE] arguments of get, set, find and friends. Tables and columns come from
// the schema in db.ts; the VALUE is left as text for datum.ts to parse. The command table in
// vsctl.ts resolves its arguments here. VsctlError, the error that aborts an ovs-vsctl
// transaction, is defined here, in the lowest module that raises it.

import { type AnyRow, type ColumnSchema, type Datum, type Db, SCHEMA, type TableSchema } from "./db.ts";
import { token } from "./datum.ts";

/** A failure that aborts the transaction: `message` is printed after the program name. */
export class VsctlError extends Error {}
export const fail = (msg: string): never => {
  throw new VsctlError(msg);
};

/** score_partial_match in lib/db-ctl-base.c: exact, then case-insensitive prefix ('-' = '_'). */
function score(name: string, s: string): number {
  if (name === s) return Number.MAX_SAFE_INTEGER;
  const low = (c: string | undefined) => (c === "-" ? "_" : c?.toLowerCase());
  let i = 0;
  for (; ; i++) {
    if (low(name[i]) !== low(s[i])) break;
    if (i >= name.length) return Number.MAX_SAFE_INTEGER - 1;
  }
  return i >= s.length ? i : 0;
}

function bestMatch<T>(
  items: readonly T[],
  nameOf: (t: T) => string,
  s: string,
): { best: T | null; score: number; all: T[] } {
  let best: T | null = null;
  let bestScore = 0;
  let all: T[] = [];
  for (const it of items) {
    const sc = score(nameOf(it), s);
    if (sc > bestScore) {
      best = it;
      bestScore = sc;
      all = [it];
    } else if (sc === bestScore && sc > 0) {
      best = null;
      all.push(it);
    }
  }
  return { best, score: bestScore, all };
}

export function getTable(name: string): TableSchema {
  const m = bestMatch(Object.values(SCHEMA), (t) => t.name, name);
  if (m.best) return m.best;
  if (m.score) fail(`multiple table names match "${name}"`);
  return fail(`unknown table "${name}"`);
}

export function getColumn(t: TableSchema, name: string): ColumnSchema {
  const m = bestMatch(t.columns, (c) => c.name, name);
  if (m.best) return m.best;
  if (m.score)
    fail(
      `${t.name} contains more than one column whose name matches "${name}": ${m.all.map((c) => c.name).join(", ")}`,
    );
  return fail(`${t.name} does not contain a column whose name matches "${name}"`);
}

function findRow(db: Db, t: TableSchema, record: string): AnyRow | null {
  if (!t.named) return record === "." || record.toLowerCase() === db.root.uuid ? db.root : null;
  for (const r of db.rows(t.name)) {
    if ((r as { name: string }).name === record) return r;
  }
  const low = record.toLowerCase();
  return db.rows(t.name).find((r) => r.uuid === low) ?? null;
}
export function getRow(db: Db, t: TableSchema, record: string, mustExist: boolean): AnyRow | null {
  const r = findRow(db, t, record);
  if (!r && mustExist) fail(`no row "${record}" in table ${t.name}`);
  return r;
}

export interface ColumnArg {
  col: ColumnSchema | null /* null: _uuid */;
  key: string | null;
  op: string | null;
  value: string | null;
}

/** parse_column_key_value: COLUMN[:KEY][OP VALUE]. */
export function parseColumnArg(t: TableSchema, arg: string, ops: readonly string[] | null): ColumnArg {
  let [name, p] = token(arg, 0);
  if (name === "") fail(`${arg}: missing column name`);
  const col = name.toLowerCase() === "_uuid" ? null : getColumn(t, name);
  let key: string | null = null;
  if (arg[p] === ":") {
    [key, p] = token(arg, p + 1);
  }
  if (ops) {
    let best = "";
    for (const op of ops) if (op.length > best.length && arg.startsWith(op, p) && p + op.length < arg.length) best = op;
    if (!best) {
      const list =
        ops.length === 1
          ? `"${ops[0]}"`
          : `${ops
              .slice(0, -1)
              .map((o) => `"${o}"`)
              .join(", ")} or "${ops[ops.length - 1]}"`;
      fail(`${arg}: argument does not end in ${list} followed by a value.`);
    }
    return { col, key, op: best, value: arg.slice(p + best.length) };
  }
  if (p < arg.length) fail(`${arg}: trailing garbage "${arg.slice(p)}" in argument`);
  return { col, key, op: null, value: null };
}

function uuidDatum(row: AnyRow): Datum {
  return { keys: [row.uuid], values: null };
}
export const UUID_COLUMN: ColumnSchema = {
  name: "_uuid",
  key: { type: "uuid" },
  min: 1,
  max: 1,
  mutable: false,
  get: uuidDatum,
};

export function writable(t: TableSchema, col: ColumnSchema, opName: string): (row: AnyRow, d: Datum) => void {
  if (!col.mutable) fail(`cannot modify read-only column ${col.name} in table ${t.name}`);
  if (!col.set)
    fail(
      `"${opName}" cannot change column ${col.name} of table ${t.name} here: use add-br, del-br, add-port and del-port`,
    );
  return col.set!;
}

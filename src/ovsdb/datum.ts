// OVSDB's string syntax for values, as ovs-vsctl reads and prints them (lib/ovsdb-data.c in Open
// vSwitch): atoms (bare or JSON-quoted strings, integers, booleans, UUIDs), sets (`a,b` or
// `[a, b]`) and maps (`{k=v, k2=v2}`), checked against a column's type from the schema in db.ts
// (enum, integer range, number of elements). The ovs-vsctl engine (vsctl.ts) parses every VALUE
// and prints every datum here; its argument reader (db-ctl.ts) splits COLUMN:KEY with token().
// Errors are DatumErrors whose message is the text ovs-vsctl prints after its name.

import type { Atom, BaseType, ColumnSchema, Datum } from "./db.ts";

/** A value that does not parse, or does not fit its column; the message is ovs-vsctl's. */
export class DatumError extends Error {}
const fail = (msg: string): never => {
  throw new DatumError(msg);
};

const DELIMS = ":=, []{}!<>";
const isDelim = (c: string) => DELIMS.includes(c);
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** ovsdb_token_parse: one token up to a delimiter outside quotes; backslash escapes a character. */
export function token(s: string, pos: number): [string, number] {
  let out = "";
  let inQuotes = false;
  let p = pos;
  while (p < s.length) {
    const c = s[p++] as string;
    if (c === "\\") {
      if (inQuotes) out += "\\";
      if (p >= s.length) fail(`${s.slice(pos)}: backslash at end of argument`);
      out += s[p++];
    } else if (!inQuotes && isDelim(c)) {
      p--;
      break;
    } else {
      out += c;
      if (c === '"') inQuotes = !inQuotes;
    }
  }
  if (inQuotes) fail(`${s.slice(pos)}: quoted string extends past end of argument`);
  return [out, p];
}

const TYPE_PLURAL: Record<BaseType["type"], string> = {
  string: "strings",
  integer: "integers",
  boolean: "booleans",
  uuid: "uuids",
};

/** ovsdb_atom_from_string plus the type's constraints. */
export function atomFromString(base: BaseType, s: string): Atom {
  let atom: Atom;
  switch (base.type) {
    case "string":
      if (s === "") fail('An empty string is not valid as input; use "" to represent the empty string');
      if (s.startsWith('"')) {
        if (s.length < 2 || !s.endsWith('"')) fail(`${s}: missing quote at end of quoted string`);
        try {
          atom = JSON.parse(s) as string;
        } catch (e) {
          fail(`${s}: ${(e as Error).message}`);
        }
      } else {
        atom = s;
      }
      break;
    case "integer":
      if (!/^[-+]?\d+$/.test(s)) fail(`"${s}" is not a valid integer or range`);
      atom = Number(s);
      break;
    case "boolean":
      if (s !== "true" && s !== "false") fail(`"${s}" is not a valid boolean (use "true" or "false")`);
      atom = s === "true";
      break;
    case "uuid":
      if (!UUID_RE.test(s)) fail(`"${s}" is not a valid UUID`);
      atom = s.toLowerCase();
      break;
  }
  checkConstraints(base, atom!);
  return atom!;
}

function checkConstraints(base: BaseType, a: Atom): void {
  if (base.enum && !base.enum.includes(a as string)) {
    const allowed = [...base.enum]
      .sort()
      .map((e) => formatAtom(e))
      .join(", ");
    fail(`constraint violation: ${formatAtom(a)} is not one of the allowed values ([${allowed}])`);
  }
  if (typeof a === "number") {
    const min = base.minInteger,
      max = base.maxInteger;
    if ((min !== undefined && a < min) || (max !== undefined && a > max)) {
      if (min !== undefined && max !== undefined)
        fail(`constraint violation: ${a} is not in the valid range ${min} to ${max} (inclusive)`);
      if (min !== undefined) fail(`constraint violation: ${a} is less than minimum allowed value ${min}`);
      fail(`constraint violation: ${a} is greater than maximum allowed value ${max}`);
    }
  }
}

/** ovsdb_datum_from_string: `a`, `a,b`, `[a, b]`, `{k=v, k2=v2}`. Sorted, duplicates refused. */
export function datumFromString(col: ColumnSchema, s: string): Datum {
  const isMap = col.value !== undefined;
  const keys: Atom[] = [];
  const values: Atom[] = [];
  const skip = (p: number) => {
    while (p < s.length && /\s/.test(s[p] as string)) p++;
    return p;
  };
  let p = skip(0);
  let end = "";
  if (s[p] === (isMap ? "{" : "[")) {
    end = isMap ? "}" : "]";
    p = skip(p + 1);
  } else if (p >= s.length) {
    fail(isMap ? 'use "{}" to specify the empty map' : 'use "[]" to specify the empty set');
  }
  while (p < s.length && s[p] !== end) {
    if (isDelim(s[p] as string)) fail(`${s}: unexpected "${s[p]}" parsing ${typeEnglish(col)}`);
    let tok: string;
    [tok, p] = token(s, p);
    keys.push(atomFromString(col.key, tok));
    if (isMap) {
      if (s[p] !== "=") fail(`${s}: syntax error at "${s[p] ?? ""}" expecting "="`);
      [tok, p] = token(s, p + 1);
      values.push(atomFromString(col.value as BaseType, tok));
    }
    p = skip(p);
    if (s[p] === ",") p = skip(p + 1);
  }
  if ((s[p] ?? "") !== end) fail(`${s}: missing "${end}" at end of data`);
  if (end && skip(p + 1) < s.length) fail(`${s}: trailing garbage after "${end}"`);
  const order = keys.map((_, i) => i).sort((a, b) => cmpAtom(keys[a] as Atom, keys[b] as Atom));
  const d: Datum = {
    keys: order.map((i) => keys[i] as Atom),
    values: isMap ? order.map((i) => values[i] as Atom) : null,
  };
  for (let i = 1; i < d.keys.length; i++) {
    if (d.keys[i] === d.keys[i - 1])
      fail(`${s}: ${isMap ? "map contains duplicate key" : "set contains duplicate value"}`);
  }
  return d;
}

function typeEnglish(col: ColumnSchema): string {
  if (col.value) return `map from ${col.key.type} to ${col.value.type}`;
  if (col.max === 1) return col.key.type;
  return `set of ${col.key.type}s`;
}

function cmpAtom(a: Atom, b: Atom): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  const x = String(a),
    y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** string_needs_quotes in lib/ovsdb-data.c. */
function needsQuotes(s: string): boolean {
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(s)) return true;
  return s === "true" || s === "false" || UUID_RE.test(s);
}

/** Quotes a string only where ovs-vsctl would, so that the output parses back to the same atom. */
export function formatAtom(a: Atom, type: BaseType["type"] = "string"): string {
  if (typeof a === "string" && type !== "uuid") return needsQuotes(a) ? JSON.stringify(a) : a;
  return String(a);
}

/** ovsdb_datum_to_string: a bare atom for scalars, `[...]` for sets, `{k=v}` for maps. */
export function formatDatum(d: Datum, col: ColumnSchema): string {
  const order = d.keys.map((_, i) => i).sort((a, b) => cmpAtom(d.keys[a] as Atom, d.keys[b] as Atom));
  if (d.values) {
    const vals = d.values;
    return `{${order.map((i) => `${formatAtom(d.keys[i] as Atom)}=${formatAtom(vals[i] as Atom)}`).join(", ")}}`;
  }
  const t = col.key.type;
  if (col.max === 1 && d.keys.length === 1) return formatAtom(d.keys[0] as Atom, t);
  return `[${order.map((i) => formatAtom(d.keys[i] as Atom, t)).join(", ")}]`;
}

/** The column's element count, refused with the error the OVSDB server sends for it. */
export function checkSize(col: ColumnSchema, d: Datum): void {
  const n = d.keys.length;
  if (n > col.max || n < col.min) {
    const range = n > col.max ? `up to ${col.max}` : `${col.min} to ${col.max === Infinity ? "unlimited" : col.max}`;
    const what = `set of ${range} ${TYPE_PLURAL[col.key.type]}`;
    const details = `Attempted to store ${n} elements in ${what}.`;
    fail(`transaction error: {"details":${JSON.stringify(details)},"error":"constraint violation"}`);
  }
}

/** The same elements, in any order (find's COLUMN=VALUE). */
export function datumEquals(a: Datum, b: Datum): boolean {
  const norm = (d: Datum) =>
    JSON.stringify(
      d.keys.map((k, i) => [k, d.values?.[i] ?? null]).sort((x, y) => cmpAtom(x[0] as Atom, y[0] as Atom)),
    );
  return norm(a) === norm(b);
}

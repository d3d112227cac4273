// Reading a packet description: Fields checks one object of a PacketSpec (a layer, or an object
// inside one) and reads its values as numbers, flags, addresses or bytes, throwing a SpecError
// (build-spec.ts) that names the layer, the field and what it should have been. The per-layer
// compilers (build-l2.ts … build-tunnel.ts) read every field through it; compilePacket() in
// build.ts reads the packet-level payload and pad.

import { ipv4FromString, ipv6FromString, macFromString } from "./bytes.ts";
import { SpecError } from "./build-spec.ts";

type Path = Array<string | number>;
export const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
export const show = (v: unknown): string =>
  typeof v === "string" ? JSON.stringify(v) : Array.isArray(v) ? "a list" : isObj(v) ? "an object" : String(v);

/** Reads and checks one object of the spec (a layer, or an object inside one), naming what is wrong. */
export class Fields {
  constructor(
    private readonly prefix: string, // "layer 3 (udp): "
    readonly layer: number,
    readonly path: Path, // to this object
    readonly obj: Record<string, unknown>,
    private readonly sub = "", // "ext[1].routing." for nested objects
  ) {}

  static of(prefix: string, layer: number, path: Path, v: unknown, known: readonly string[], sub = ""): Fields {
    if (!isObj(v)) {
      const what = sub === "" ? "the layer's fields" : sub.slice(0, -1);
      throw new SpecError(`${prefix}${what} must be an object, got ${show(v)}`, layer, path);
    }
    const f = new Fields(prefix, layer, path, v, sub);
    for (const k of Object.keys(v)) {
      if (!known.includes(k)) f.fail(k, `is not a field here; known: ${known.join(", ")}`);
    }
    return f;
  }

  /** An object inside this one, at `rel` from it, named `label` in messages. */
  nested(rel: Path, v: unknown, known: readonly string[], label: string): Fields {
    return Fields.of(this.prefix, this.layer, [...this.path, ...rel], v, known, `${this.sub}${label}.`);
  }

  fail(field: string | number, msg: string, extra: Path = []): never {
    const name = typeof field === "number" ? `${this.sub.replace(/\.$/, "")}[${field}]` : `${this.sub}${field}`;
    throw new SpecError(`${this.prefix}${name} ${msg}`, this.layer, [...this.path, field, ...extra]);
  }

  /** fail() for the `j`-th item of the list in field `k`. */
  failItem(k: string, j: number, msg: string): never {
    throw new SpecError(`${this.prefix}${this.sub}${k}[${j}] ${msg}`, this.layer, [...this.path, k, j]);
  }

  has(k: string): boolean {
    return this.obj[k] !== undefined && this.obj[k] !== null;
  }

  num(k: string, min: number, max: number): number | undefined {
    const v = this.obj[k];
    if (v === undefined || v === null) return undefined;
    const n = toNum(v);
    if (n === null || n < min || n > max) this.fail(k, `must be ${rangeText(min, max)}, got ${show(v)}`);
    return n;
  }

  /** num() for a field that must be there. */
  need(k: string, min: number, max: number): number {
    return this.num(k, min, max) ?? this.fail(k, "is required");
  }

  bool(k: string): boolean | undefined {
    const v = this.obj[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") this.fail(k, `must be true or false, got ${show(v)}`);
    return v;
  }

  str(k: string): string | undefined {
    const v = this.obj[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") this.fail(k, `must be text, got ${show(v)}`);
    return v;
  }

  mac(k: string): string | undefined {
    const s = this.str(k);
    if (s === undefined) return undefined;
    try {
      macFromString(s);
    } catch {
      this.fail(k, `must be a MAC address like 02:00:00:00:00:01, got ${show(s)}`);
    }
    return s;
  }

  ipv4(k: string): string | undefined {
    const s = this.str(k);
    if (s === undefined) return undefined;
    try {
      ipv4FromString(s);
    } catch {
      this.fail(k, `must be an IPv4 address like 192.0.2.1, got ${show(s)}`);
    }
    return s;
  }

  ipv6(k: string): string | undefined {
    const s = this.str(k);
    if (s === undefined) return undefined;
    try {
      ipv6FromString(s);
    } catch {
      this.fail(k, `must be an IPv6 address like 2001:db8::1, got ${show(s)}`);
    }
    return s;
  }

  bytes(k: string): Uint8Array | undefined {
    const v = this.obj[k];
    if (v === undefined || v === null) return undefined;
    const b = hexBytes(v);
    if (b === null) this.fail(k, `must be hex bytes ("0a0b0c" or {hex: "0a0b0c"}), got ${show(v)}`);
    return b;
  }
}

function rangeText(min: number, max: number): string {
  return max === 0xffffffff ? `${min}..4294967295 (0x${max.toString(16)})` : `${min}..${max}`;
}

export function toNum(v: unknown): number | null {
  if (typeof v === "number") return Number.isInteger(v) ? v : null;
  if (typeof v === "string") {
    const t = v.trim();
    if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t.slice(2), 16);
    if (/^\d+$/.test(t)) return Number(t);
  }
  return null;
}

function hexBytes(v: unknown): Uint8Array | null {
  const text =
    typeof v === "string"
      ? v
      : isObj(v) && typeof v["hex"] === "string" && Object.keys(v).length === 1
        ? v["hex"]
        : null;
  if (text === null) return null;
  const clean = text.replace(/[\s:]/g, "").replace(/^0x/i, "");
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) return null;
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * TLV options as bytes. `singleByte` types have no length byte (IPv4 and TCP: 0 end of list,
 * 1 no-operation, RFC 791 §3.1, RFC 9293 §3.1; IPv6 Pad1 is 0, RFC 8200 §4.2). The length byte
 * counts the type and length bytes in IPv4 and TCP, and only the data in IPv6 (`dataLenOnly`).
 */
export function optionBytes(f: Fields, k: string, singleByte: readonly number[], dataLenOnly = false): Uint8Array {
  const v = f.obj[k];
  if (v === undefined || v === null) return new Uint8Array(0);
  if (!Array.isArray(v)) return f.bytes(k) as Uint8Array;
  const parts: number[] = [];
  v.forEach((o, i) => {
    const of = f.nested([k, i], o, ["type", "data"], `${k}[${i}]`);
    const type = of.need("type", 0, 255);
    const data = of.bytes("data") ?? new Uint8Array(0);
    if (singleByte.includes(type)) {
      if (data.length) of.fail("data", `must be empty: option type ${type} is a single byte`);
      parts.push(type);
    } else {
      const max = dataLenOnly ? 255 : 253;
      if (data.length > max) of.fail("data", `is ${data.length} bytes, at most ${max} fit an option`);
      parts.push(type, dataLenOnly ? data.length : data.length + 2, ...data);
    }
  });
  return Uint8Array.from(parts);
}

/** The bytes after the last header: UTF-8 text, {hex}, or {len: n} of 0, 1, 2 … 255, 0 … */
export function payloadBytes(v: unknown): Uint8Array {
  const bad = (msg: string): never => {
    throw new SpecError(`payload ${msg}`, -1, ["payload"]);
  };
  if (v === undefined || v === null) return new Uint8Array(0);
  if (typeof v === "string") return new Uint8Array(Buffer.from(v, "utf8"));
  if (isObj(v) && Object.keys(v).length === 1 && "hex" in v) {
    return hexBytes(v) ?? bad(`hex must be an even run of hex digits, got ${show(v["hex"])}`);
  }
  if (isObj(v) && Object.keys(v).length === 1 && "len" in v) {
    const n = toNum(v["len"]);
    if (n === null || n < 0 || n > 65535) bad(`len must be 0..65535, got ${show(v["len"])}`);
    const out = new Uint8Array(n as number);
    for (let i = 0; i < out.length; i++) out[i] = i & 0xff;
    return out;
  }
  return bad(`must be text, {hex: "..."} or {len: N}, got ${show(v)}`);
}

/** A `type` given as a number, or as one of the names in `table` ("echo-request"). */
export function namedType(f: Fields, table: Readonly<Record<string, number>>): number | undefined {
  const v = f.obj["type"];
  if (typeof v === "string" && toNum(v) === null) {
    const t = table[v.toLowerCase()];
    if (t === undefined) f.fail("type", `must be 0..255 or one of ${Object.keys(table).join(", ")}, got ${show(v)}`);
    return t;
  }
  return f.num("type", 0, 255);
}

/** Flags given as a number, or by name: a list, or text split at spaces, commas, `|` or `+`. */
export function flagList(
  f: Fields,
  k: string,
  table: Readonly<Record<string, number>>,
  max: number,
): number | undefined {
  const v = f.obj[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number" || (typeof v === "string" && toNum(v) !== null)) return f.num(k, 0, max);
  const list = typeof v === "string" ? v.split(/[\s,|+]+/).filter((x) => x !== "") : v;
  if (!Array.isArray(list))
    f.fail(k, `must be a list of flag names (${Object.keys(table).join(", ")}) or a number, got ${show(v)}`);
  let out = 0;
  list.forEach((x: unknown, j) => {
    const bit = typeof x === "string" ? (table[x] ?? table[x.toUpperCase()] ?? table[x.toLowerCase()]) : undefined;
    if (bit === undefined) f.fail(k, `has an unknown flag ${show(x)}; known: ${Object.keys(table).join(", ")}`, [j]);
    out = (out | bit) >>> 0;
  });
  return out;
}

// An in-memory stand-in for OVSDB holding the subset of Open vSwitch's configuration schema
// (vswitch.ovsschema) that the emulator uses: one Open_vSwitch row, its bridges, their ports and
// the ports' interfaces. `offload-emu vsctl` (src/ovsdb/vsctl.ts) edits it in transactions; the
// engine (src/host/engine.ts) reads it in reconfigure() after every commit and writes back what
// ovs-vswitchd writes: Interface ofport, error, mtu, mac_in_use, link and admin state, statistics.
//
// Rows are typed objects for the code that reads them, and the schema table below (SCHEMA) gives
// vsctl the generic view it needs: each column's OVSDB type (key, value, min/max, enum and integer
// ranges, copied from Open vSwitch 3.1's vswitch.ovsschema) and how to read and write it as a
// datum. Unlike OVSDB, a bridge owns its ports and a port its interfaces (no sharing), which is the
// only shape ovs-vsctl's own commands create.
//
// Row objects keep their identity across commits, and across a failed transaction too: a rollback
// writes the saved columns back into the same objects, so the engine may hold on to rows.
//
// UUIDs come from a counter (first group: a seed), so a run is reproducible and sorting by UUID,
// which is how OVSDB orders a set of references and therefore `ovs-vsctl show`, is creation order.

import { renameSync, writeFileSync, readFileSync } from "node:fs";

export interface OvsRow {
  uuid: string;
  bridges: BridgeRow[];
  other_config: Map<string, string>;
  external_ids: Map<string, string>;
  ovs_version: string | null;
}

export interface BridgeRow {
  uuid: string;
  name: string;
  ports: PortRow[];
  datapath_type: string; // "" means the default; the engine treats it as "netdev" (userspace)
  fail_mode: "standalone" | "secure" | null;
  other_config: Map<string, string>;
  external_ids: Map<string, string>;
  protocols: string[];
  datapath_id: string | null;
  mcast_snooping_enable: boolean;
  stp_enable: boolean;
}

export interface PortRow {
  uuid: string;
  name: string;
  interfaces: InterfaceRow[];
  tag: number | null;
  trunks: number[];
  vlan_mode: string | null;
  other_config: Map<string, string>;
  external_ids: Map<string, string>;
}

export interface InterfaceRow {
  uuid: string;
  name: string;
  type: string;
  options: Map<string, string>;
  ofport_request: number | null;
  ofport: number | null;
  error: string | null;
  mtu_request: number | null;
  mtu: number | null;
  mac: string | null;
  mac_in_use: string | null;
  admin_state: string | null;
  link_state: string | null;
  status: Map<string, string>;
  statistics: Map<string, number>;
  other_config: Map<string, string>;
  external_ids: Map<string, string>;
}

export type TableName = "Open_vSwitch" | "Bridge" | "Port" | "Interface";
export type AnyRow = OvsRow | BridgeRow | PortRow | InterfaceRow;

// ---------------------------------------------------------------------------------------------
// Schema: OVSDB column types (RFC 7047 §3.2) for the columns we keep.

export type Atom = string | number | boolean;

/** A column value in OVSDB's model: a set of keys, or a map when `values` is present. */
export interface Datum {
  keys: Atom[];
  values: Atom[] | null;
}

export interface BaseType {
  type: "string" | "integer" | "boolean" | "uuid";
  enum?: readonly string[];
  minInteger?: number;
  maxInteger?: number;
  refTable?: TableName;
}

export interface ColumnSchema {
  name: string;
  key: BaseType;
  value?: BaseType;
  min: number;
  max: number; // Infinity for "unlimited"
  mutable: boolean; // false: set only when the row is created (names)
  get(row: AnyRow): Datum;
  /** Absent for references, which only add-br/add-port/del-br/del-port change. */
  set?(row: AnyRow, d: Datum): void;
}

export interface TableSchema {
  name: TableName;
  columns: ColumnSchema[];
  /** Whether rows are found by a `name` column (every table but Open_vSwitch). */
  named: boolean;
}

const STR: BaseType = { type: "string" };
const INT: BaseType = { type: "integer" };
const BOOL: BaseType = { type: "boolean" };
const VLAN_ID: BaseType = { type: "integer", minInteger: 0, maxInteger: 4095 };

type Rec = Record<string, unknown>;
const field = (row: AnyRow, name: string): unknown => (row as unknown as Rec)[name];
const put = (row: AnyRow, name: string, v: unknown): void => {
  (row as unknown as Rec)[name] = v;
};

/** A required scalar (min 1, max 1): name, type, datapath_type, booleans. */
function scalar(name: string, key: BaseType, mutable = true): ColumnSchema {
  return {
    name,
    key,
    min: 1,
    max: 1,
    mutable,
    get: (r) => ({ keys: [field(r, name) as Atom], values: null }),
    set: (r, d) => put(r, name, d.keys[0]),
  };
}
/** An optional scalar (min 0, max 1), null when empty. */
function optional(name: string, key: BaseType): ColumnSchema {
  return {
    name,
    key,
    min: 0,
    max: 1,
    mutable: true,
    get: (r) => {
      const v = field(r, name) as Atom | null;
      return { keys: v === null ? [] : [v], values: null };
    },
    set: (r, d) => put(r, name, d.keys[0] ?? null),
  };
}
function set(name: string, key: BaseType, max: number): ColumnSchema {
  return {
    name,
    key,
    min: 0,
    max,
    mutable: true,
    get: (r) => ({ keys: [...(field(r, name) as Atom[])], values: null }),
    set: (r, d) => put(r, name, [...d.keys]),
  };
}
function map(name: string, value: BaseType = STR): ColumnSchema {
  return {
    name,
    key: STR,
    value,
    min: 0,
    max: Infinity,
    mutable: true,
    get: (r) => {
      const m = field(r, name) as Map<string, Atom>;
      return { keys: [...m.keys()], values: [...m.values()] };
    },
    set: (r, d) => put(r, name, new Map(d.keys.map((k, i) => [k, (d.values as Atom[])[i]]))),
  };
}
function refs(name: string, refTable: TableName, min: number): ColumnSchema {
  return {
    name,
    key: { type: "uuid", refTable },
    min,
    max: Infinity,
    mutable: true,
    get: (r) => ({ keys: (field(r, name) as { uuid: string }[]).map((x) => x.uuid), values: null }),
  };
}

export const SCHEMA: Readonly<Record<TableName, TableSchema>> = {
  Open_vSwitch: {
    name: "Open_vSwitch",
    named: false,
    columns: [refs("bridges", "Bridge", 0), map("external_ids"), map("other_config"), optional("ovs_version", STR)],
  },
  Bridge: {
    name: "Bridge",
    named: true,
    columns: [
      optional("datapath_id", STR),
      scalar("datapath_type", STR),
      map("external_ids"),
      optional("fail_mode", { type: "string", enum: ["secure", "standalone"] }),
      scalar("mcast_snooping_enable", BOOL),
      scalar("name", STR, false),
      map("other_config"),
      refs("ports", "Port", 0),
      set(
        "protocols",
        { type: "string", enum: ["OpenFlow10", "OpenFlow11", "OpenFlow12", "OpenFlow13", "OpenFlow14", "OpenFlow15"] },
        Infinity,
      ),
      scalar("stp_enable", BOOL),
    ],
  },
  Port: {
    name: "Port",
    named: true,
    columns: [
      map("external_ids"),
      refs("interfaces", "Interface", 1),
      scalar("name", STR, false),
      map("other_config"),
      optional("tag", VLAN_ID),
      set("trunks", VLAN_ID, 4096),
      optional("vlan_mode", {
        type: "string",
        enum: ["access", "dot1q-tunnel", "native-tagged", "native-untagged", "trunk"],
      }),
    ],
  },
  Interface: {
    name: "Interface",
    named: true,
    columns: [
      optional("admin_state", { type: "string", enum: ["down", "up"] }),
      optional("error", STR),
      map("external_ids"),
      optional("link_state", { type: "string", enum: ["down", "up"] }),
      optional("mac", STR),
      optional("mac_in_use", STR),
      optional("mtu", INT),
      optional("mtu_request", { type: "integer", minInteger: 1 }),
      scalar("name", STR, false),
      optional("ofport", INT),
      optional("ofport_request", { type: "integer", minInteger: 1, maxInteger: 65279 }),
      map("options"),
      map("other_config"),
      map("statistics", INT),
      map("status"),
      scalar("type", STR),
    ],
  },
};

// ---------------------------------------------------------------------------------------------
// Saved form (conf.json): the same tree with maps as objects.

interface SavedDb {
  format: "offload-emu-conf-1";
  seed: number;
  next: number;
  root: Rec;
}

const MAP_COLUMNS = new Set(["other_config", "external_ids", "options", "status", "statistics"]);

function toPlain(row: AnyRow): Rec {
  const out: Rec = {};
  for (const [k, v] of Object.entries(row)) {
    if (v instanceof Map) out[k] = Object.fromEntries(v);
    else if (Array.isArray(v))
      out[k] = v.map((x: unknown) => (typeof x === "object" && x !== null ? toPlain(x as AnyRow) : x));
    else out[k] = v;
  }
  return out;
}

export class DbLoadError extends Error {
  override readonly name = "DbLoadError";
}

// ---------------------------------------------------------------------------------------------

export type CommitListener = () => void;

export class Db {
  root: OvsRow;
  private next = 1;
  private readonly listeners: CommitListener[] = [];
  /** Every row object ever handed out, by UUID, so a rollback can restore into the same objects. */
  private readonly objects = new Map<string, AnyRow>();

  constructor(readonly seed = 0) {
    this.root = {
      uuid: this.uuid(),
      bridges: [],
      other_config: new Map(),
      external_ids: new Map(),
      ovs_version: null,
    };
    this.objects.set(this.root.uuid, this.root);
  }

  /** The next UUID: the seed in the first group, the counter in the last. */
  uuid(): string {
    const n = this.next++;
    return `${(this.seed >>> 0).toString(16).padStart(8, "0")}-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
  }

  bridge(name: string): BridgeRow | undefined {
    return this.root.bridges.find((b) => b.name === name);
  }
  port(name: string): PortRow | undefined {
    for (const b of this.root.bridges) for (const p of b.ports) if (p.name === name) return p;
    return undefined;
  }
  iface(name: string): InterfaceRow | undefined {
    for (const b of this.root.bridges)
      for (const p of b.ports) for (const i of p.interfaces) if (i.name === name) return i;
    return undefined;
  }
  /** The bridge a port belongs to. */
  bridgeOf(port: PortRow): BridgeRow | undefined {
    return this.root.bridges.find((b) => b.ports.includes(port));
  }
  /** The port an interface belongs to. */
  portOf(iface: InterfaceRow): PortRow | undefined {
    for (const b of this.root.bridges) for (const p of b.ports) if (p.interfaces.includes(iface)) return p;
    return undefined;
  }
  /** Every row of a table, in OVSDB's order (by UUID). */
  rows(table: TableName): AnyRow[] {
    const byUuid = (a: AnyRow, b: AnyRow) => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0);
    const bridges = this.root.bridges;
    switch (table) {
      case "Open_vSwitch":
        return [this.root];
      case "Bridge":
        return [...bridges].sort(byUuid);
      case "Port":
        return bridges.flatMap((b) => b.ports).sort(byUuid);
      case "Interface":
        return bridges.flatMap((b) => b.ports.flatMap((p) => p.interfaces)).sort(byUuid);
    }
  }

  newBridge(name: string): BridgeRow {
    return this.track<BridgeRow>({
      uuid: this.uuid(),
      name,
      ports: [],
      datapath_type: "",
      fail_mode: null,
      other_config: new Map(),
      external_ids: new Map(),
      protocols: [],
      datapath_id: null,
      mcast_snooping_enable: false,
      stp_enable: false,
    });
  }
  newPort(name: string, interfaces: InterfaceRow[]): PortRow {
    return this.track<PortRow>({
      uuid: this.uuid(),
      name,
      interfaces,
      tag: null,
      trunks: [],
      vlan_mode: null,
      other_config: new Map(),
      external_ids: new Map(),
    });
  }
  newIface(name: string, type = ""): InterfaceRow {
    return this.track<InterfaceRow>({
      uuid: this.uuid(),
      name,
      type,
      options: new Map(),
      ofport_request: null,
      ofport: null,
      error: null,
      mtu_request: null,
      mtu: null,
      mac: null,
      mac_in_use: null,
      admin_state: null,
      link_state: null,
      status: new Map(),
      statistics: new Map(),
      other_config: new Map(),
      external_ids: new Map(),
    });
  }
  private track<T extends AnyRow>(row: T): T {
    this.objects.set(row.uuid, row);
    return row;
  }

  /** Called after every committed transaction, in registration order. Returns an unsubscriber. */
  onCommit(listener: CommitListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }
  /** Tells the listeners that a transaction committed (vsctl calls this). */
  commit(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Everything needed to roll a failed transaction back. */
  snapshot(): SavedDb {
    return { format: "offload-emu-conf-1", seed: this.seed, next: this.next, root: toPlain(this.root) };
  }
  /** Puts the database back as it was at `s`, reusing the row objects that already exist. */
  restore(s: SavedDb): void {
    this.next = s.next;
    this.root = this.revive(s.root, "Open_vSwitch") as OvsRow;
  }

  private revive(plain: Rec, table: TableName): AnyRow {
    const uuid = plain["uuid"];
    if (typeof uuid !== "string") throw new DbLoadError(`${table} row without a uuid`);
    const fresh: Rec = {};
    for (const [k, v] of Object.entries(plain)) {
      if (MAP_COLUMNS.has(k)) {
        if (typeof v !== "object" || v === null || Array.isArray(v))
          throw new DbLoadError(`${table} ${uuid}: ${k} is not a map`);
        fresh[k] = new Map(Object.entries(v as Rec));
      } else if (k === "bridges" || k === "ports" || k === "interfaces") {
        if (!Array.isArray(v)) throw new DbLoadError(`${table} ${uuid}: ${k} is not a list`);
        const child: TableName = k === "bridges" ? "Bridge" : k === "ports" ? "Port" : "Interface";
        fresh[k] = v.map((c: unknown) => this.revive(c as Rec, child));
      } else {
        fresh[k] = v;
      }
    }
    const existing = this.objects.get(uuid);
    if (existing) {
      for (const k of Object.keys(existing)) if (!(k in fresh)) delete (existing as unknown as Rec)[k];
      Object.assign(existing, fresh);
      return existing;
    }
    const row = fresh as unknown as AnyRow;
    this.objects.set(uuid, row);
    return row;
  }

  toJSON(): SavedDb {
    return this.snapshot();
  }

  static fromJSON(s: unknown): Db {
    const o = s as Partial<SavedDb> | null;
    if (
      o?.format !== "offload-emu-conf-1" ||
      typeof o.next !== "number" ||
      typeof o.seed !== "number" ||
      typeof o.root !== "object"
    ) {
      throw new DbLoadError("not an offload-emu configuration database (format offload-emu-conf-1)");
    }
    const db = new Db(o.seed);
    db.objects.clear();
    db.restore(o as SavedDb);
    return db;
  }

  /** Writes the database to `path` atomically: a temporary file beside it, then a rename. */
  save(path: string): void {
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.snapshot(), null, 1) + "\n", { mode: 0o600 });
    renameSync(tmp, path);
  }

  static load(path: string): Db {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      throw new DbLoadError(`${path}: ${(e as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new DbLoadError(`${path}: ${(e as Error).message}`);
    }
    try {
      return Db.fromJSON(json);
    } catch (e) {
      throw new DbLoadError(`${path}: ${(e as Error).message}`);
    }
  }
}

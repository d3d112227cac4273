// The configuration database (src/ovsdb/db.ts): reproducible UUIDs, OVSDB's row order, rollback
// into the same objects, conf.json written atomically and read back, clear load errors; and the
// engine (src/host/engine.ts) configuring itself from it and writing back what ovs-vswitchd
// writes. Expected UUID order and the `get ... ofport` value come from OVS 3.1 behaviour noted
// with each test.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runVsctl } from "../../src/ovsdb/vsctl.ts";
import { Host } from "../../src/host/host.ts";
import { CommandTable } from "../../src/ctl/registry.ts";
import { Db, DbLoadError } from "../../src/ovsdb/db.ts";

const IO = { cwd: "/" };
const dir = mkdtempSync(join(tmpdir(), "db-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sample(seed = 0): Db {
  const db = new Db(seed);
  const r = runVsctl(
    db,
    [
      "add-br",
      "br0",
      "--",
      "add-port",
      "br0",
      "p1",
      "tag=7",
      "--",
      "set",
      "Interface",
      "p1",
      "type=dummy",
      "options:pcap=p1.pcap",
      "ofport_request=3",
      "--",
      "set",
      "Open_vSwitch",
      ".",
      "other_config:hw-offload=true",
    ],
    IO,
  );
  expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
  return db;
}

describe("Db", () => {
  it("numbers UUIDs from a seeded counter, so two runs give the same database", () => {
    expect(JSON.stringify(sample(7).snapshot())).toBe(JSON.stringify(sample(7).snapshot()));
    const db = sample(0xabcdef12);
    expect(db.root.uuid).toBe("abcdef12-0000-4000-8000-000000000001");
    expect(db.rows("Interface").map((r) => r.uuid)).toEqual([
      "abcdef12-0000-4000-8000-000000000002", // br0's internal interface, made first by add-br
      "abcdef12-0000-4000-8000-000000000005",
    ]);
  });

  it("orders a table's rows by UUID, as OVSDB orders references (here: creation order)", () => {
    const db = sample();
    runVsctl(db, ["add-port", "br0", "a0"], IO);
    // ovs-vsctl list Port printed rows in UUID order; with counter UUIDs that is creation order.
    expect(db.rows("Port").map((r) => (r as { name: string }).name)).toEqual(["br0", "p1", "a0"]);
  });

  it("finds rows by name and their owners", () => {
    const db = sample();
    const p1 = db.port("p1");
    const i1 = db.iface("p1");
    expect(p1?.tag).toBe(7);
    expect(i1?.options.get("pcap")).toBe("p1.pcap");
    expect(db.portOf(i1!)).toBe(p1);
    expect(db.bridgeOf(p1!)).toBe(db.bridge("br0"));
    expect(db.bridge("nob")).toBeUndefined();
  });

  it("restore() puts old values back into the same row objects", () => {
    const db = sample();
    const snap = db.snapshot();
    const iface = db.iface("p1")!;
    iface.options.set("x", "y");
    iface.ofport = 9;
    db.bridge("br0")!.ports.splice(0);
    db.restore(snap);
    expect(db.iface("p1")).toBe(iface);
    expect(iface.options.has("x")).toBe(false);
    expect(iface.ofport).toBeNull();
    expect(db.bridge("br0")!.ports).toHaveLength(2);
  });

  it("onCommit listeners run in order after each changing transaction and can unsubscribe", () => {
    const db = new Db();
    const seen: string[] = [];
    const off = db.onCommit(() => seen.push("a"));
    db.onCommit(() => seen.push("b"));
    runVsctl(db, ["add-br", "br0"], IO);
    runVsctl(db, ["list-br"], IO); // read-only: no commit
    runVsctl(db, ["add-br", "br0"], IO); // failed: no commit
    off();
    runVsctl(db, ["del-br", "br0"], IO);
    expect(seen).toEqual(["a", "b", "b"]);
  });

  it("save() writes conf.json atomically and load() gives the same database back", () => {
    const db = sample(3);
    db.iface("p1")!.statistics.set("rx_packets", 12);
    const run = mkdtempSync(join(dir, "run-"));
    const path = join(run, "conf.json");
    db.save(path);
    expect(readdirSync(run)).toEqual(["conf.json"]); // no temporary file left behind
    const back = Db.load(path);
    expect(JSON.stringify(back.snapshot())).toBe(JSON.stringify(db.snapshot()));
    expect(back.iface("p1")!.statistics.get("rx_packets")).toBe(12);
    expect(back.iface("p1")!.options).toBeInstanceOf(Map);
    // New rows continue the counter instead of reusing a UUID.
    runVsctl(back, ["add-port", "br0", "p2"], IO);
    expect(new Set(back.rows("Interface").map((r) => r.uuid)).size).toBe(3);
    expect(back.iface("p2")!.uuid).toBe(db.uuid());
  });

  it.each([
    ["{not json", /bad\.json: .*JSON/],
    ['{"format":"other"}', /not an offload-emu configuration database/],
    [
      '{"format":"offload-emu-conf-1","seed":0,"next":2,"root":{"uuid":"u","bridges":{},"other_config":{},"external_ids":{}}}',
      /bridges is not a list/,
    ],
  ])("load() of a bad file says why: %s", (text, msg) => {
    const path = join(dir, "bad.json");
    writeFileSync(path, text);
    expect(() => Db.load(path)).toThrowError(DbLoadError);
    expect(() => Db.load(path)).toThrowError(msg);
    expect(() => Db.load(join(dir, "missing.json"))).toThrowError(/missing\.json: ENOENT/);
  });
});

describe("Db as the engine's configuration", () => {
  it("the engine reads bridges and ports from it and writes ofport back before vsctl returns", async () => {
    const db = new Db();
    const engine = new Host({ db, commands: new CommandTable() }).engine;
    const vs = (...argv: string[]) => runVsctl(db, argv, IO, { wait: true, logDir: dir });
    expect(vs("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy").code).toBe(0);
    expect(vs("add-port", "br0", "p1", "--", "set", "Interface", "p1", "type=dummy", "ofport_request=5")).toEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
    // ovs-vsctl get Interface p1 ofport printed 5 right after the same add-port on OVS 3.1.
    expect(vs("get", "Interface", "p1", "ofport").stdout).toBe("5\n");
    expect(vs("get", "Interface", "br0", "ofport").stdout).toBe("65534\n");
    await engine.close();
  });
});

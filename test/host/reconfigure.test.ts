// A configuration the host cannot apply is the Interface's error, never an exception out of the
// commit: the transaction stands (as OVS commits it and reports in the error column), the next
// changes still work, and a database saved with the bad value starts again
// (../shared/robustness: options:pcap in a missing directory, mtu_request=100000).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CommandTable } from "../../src/ctl/registry.ts";
import { Host } from "../../src/host/host.ts";
import { Db } from "../../src/ovsdb/db.ts";

const dir = mkdtempSync(join(tmpdir(), "emu-reconf-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function host(db?: Db) {
  const h = new Host({ commands: new CommandTable(), ...(db ? { db } : {}) });
  h.engine.reconfigure();
  const vs = (...argv: string[]) => h.exec("vsctl", argv, { cwd: dir });
  return { h, vs };
}

describe("reconfiguration errors", () => {
  it("a capture file that cannot be opened: committed, reported, retried, and the rest still works", async () => {
    const { h, vs } = host();
    expect((await vs("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy")).code).toBe(0);
    const bad = join(dir, "no-such-dir", "x.pcap");
    expect(
      await vs("add-port", "br0", "p1", "--", "set", "Interface", "p1", "type=dummy", `options:pcap=${bad}`),
    ).toEqual({ code: 0, stdout: "", stderr: "" });
    expect((await vs("get", "Interface", "p1", "error")).stdout).toMatch(
      /^"p1: could not open the capture file \(.*ENOENT.*no-such-dir.*\)"\n$/,
    );
    expect((await vs("add-port", "br0", "p2", "--", "set", "Interface", "p2", "type=dummy")).code).toBe(0);
    expect((await vs("get", "Interface", "p2", "ofport")).stdout).toBe("2\n");
    // Once the path works, the next reconfiguration opens it and the error goes.
    const good = join(dir, "x.pcap");
    expect((await vs("set", "Interface", "p1", `options:pcap=${good}`)).code).toBe(0);
    expect((await vs("get", "Interface", "p1", "error")).stdout).toBe("[]\n");
    expect(h.engine.devByName("p1")?.rxTaps.length).toBe(1);
    await h.engine.close();
  });

  it("an MTU out of range keeps the port's MTU, and a database saved with it starts again", async () => {
    const { h, vs } = host();
    expect((await vs("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy")).code).toBe(0);
    expect((await vs("add-port", "br0", "pf0", "--", "set", "Interface", "pf0", "type=uplink")).code).toBe(0);
    expect((await vs("set", "Interface", "pf0", "mtu_request=100000")).code).toBe(0);
    expect((await vs("get", "Interface", "pf0", "error")).stdout).toBe(
      '"could not set MTU 100000 on pf0 (Invalid argument: 68..65535)"\n',
    );
    expect((await vs("get", "Interface", "pf0", "mtu")).stdout).toBe("1500\n");
    expect((await vs("add-port", "br0", "p3", "--", "set", "Interface", "p3", "type=dummy")).code).toBe(0);
    const file = join(dir, "conf.json");
    h.db.save(file);
    await h.engine.close();
    const again = host(Db.load(file));
    expect((await again.vs("get", "Interface", "pf0", "error")).stdout).toBe(
      '"could not set MTU 100000 on pf0 (Invalid argument: 68..65535)"\n',
    );
    expect((await again.vs("set", "Interface", "pf0", "mtu_request=9000")).code).toBe(0);
    expect((await again.vs("get", "Interface", "pf0", "mtu")).stdout).toBe("9000\n");
    expect((await again.vs("get", "Interface", "pf0", "error")).stdout).toBe("[]\n");
    await again.h.engine.close();
  });
});

// A configuration the host cannot apply is a warning in the log, never an exception out of the
// commit: the transaction stands, the next changes still work, and a database saved with the bad
// value starts again (../shared/robustness: options:pcap in a missing directory,
// mtu_request=100000). What Open vSwitch 3.1 does, run with ../shared/tools/ovs-oracle.sh on
// dummy ports (`ovs-vsctl set Interface p1 mtu_request=100000`, then `ovs-vsctl add-port br0 p2
// -- set Interface p2 type=dummy options:pcap=/nonexistent/dir/x.pcap`): both commands exit 0;
// `get Interface p1 error mtu mtu_request` prints [], 1500, 100000; p2 gets ofport 2 with
// error []; ovs-vswitchd.log says
//   netdev|WARN|failed to set MTU for network device p1: Invalid argument
//   pcap|WARN|/nonexistent/dir/x.pcap: failed to open pcap file for appending (No such file or directory)
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
  const log: string[] = [];
  const h = new Host({ commands: new CommandTable(), log: (l) => log.push(l), ...(db ? { db } : {}) });
  h.engine.reconfigure();
  const vs = (...argv: string[]) => h.exec("vsctl", argv, { cwd: dir });
  return { h, vs, log };
}

describe("reconfiguration errors", () => {
  it("a capture file that cannot be opened: committed, logged as OVS logs it, retried, the rest works", async () => {
    const { h, vs, log } = host();
    expect((await vs("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy")).code).toBe(0);
    const bad = join(dir, "no-such-dir", "x.pcap");
    expect(
      await vs("add-port", "br0", "p1", "--", "set", "Interface", "p1", "type=dummy", `options:pcap=${bad}`),
    ).toEqual({ code: 0, stdout: "", stderr: "" });
    expect((await vs("get", "Interface", "p1", "error")).stdout).toBe("[]\n");
    expect((await vs("get", "Interface", "p1", "ofport")).stdout).toBe("1\n");
    expect(log).toContain(`${bad}: failed to open pcap file for appending (No such file or directory)`);
    expect((await vs("add-port", "br0", "p2", "--", "set", "Interface", "p2", "type=dummy")).code).toBe(0);
    expect((await vs("get", "Interface", "p2", "ofport")).stdout).toBe("2\n");
    // Once the path works, the next reconfiguration opens it and the error goes.
    const good = join(dir, "x.pcap");
    expect((await vs("set", "Interface", "p1", `options:pcap=${good}`)).code).toBe(0);
    expect((await vs("get", "Interface", "p1", "error")).stdout).toBe("[]\n");
    expect(h.engine.devByName("p1")?.rxTaps.length).toBe(1);
    await h.engine.close();
  });

  it("an MTU out of range keeps the port's MTU, is logged, and a database saved with it starts again", async () => {
    const { h, vs, log } = host();
    expect((await vs("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy")).code).toBe(0);
    expect((await vs("add-port", "br0", "pf0", "--", "set", "Interface", "pf0", "type=uplink")).code).toBe(0);
    expect((await vs("set", "Interface", "pf0", "mtu_request=100000")).code).toBe(0);
    expect((await vs("get", "Interface", "pf0", "error")).stdout).toBe("[]\n");
    expect((await vs("get", "Interface", "pf0", "mtu")).stdout).toBe("1500\n");
    expect((await vs("get", "Interface", "pf0", "mtu_request")).stdout).toBe("100000\n");
    expect(log).toContain("failed to set MTU for network device pf0: Invalid argument");
    expect((await vs("add-port", "br0", "p3", "--", "set", "Interface", "p3", "type=dummy")).code).toBe(0);
    const file = join(dir, "conf.json");
    h.db.save(file);
    await h.engine.close();
    const again = host(Db.load(file));
    expect((await again.vs("get", "Interface", "pf0", "mtu")).stdout).toBe("1500\n");
    expect((await again.vs("set", "Interface", "pf0", "mtu_request=9000")).code).toBe(0);
    expect((await again.vs("get", "Interface", "pf0", "mtu")).stdout).toBe("9000\n");
    await again.h.engine.close();
  });
});

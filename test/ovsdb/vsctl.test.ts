// `offload-emu vsctl` (src/ovsdb/vsctl.ts) on the in-memory database. Every expected text below is
// what ovs-vsctl 3.1 printed on a private userspace Open vSwitch started with
// ../shared/tools/ovs-oracle.sh (ovsdb-server + ovs-vswitchd --enable-dummy), for the command
// quoted next to it, with the program name `ovs-vsctl: ` replaced by `offload-emu vsctl: `.
import { describe, expect, it } from "vitest";
import { runVsctl } from "../../src/ovsdb/vsctl.ts";
import { Db } from "../../src/ovsdb/db.ts";

const IO = { cwd: "/" };
const ERR = "offload-emu vsctl: ";

/** Runs one invocation; a failure of a set-up step fails the test. */
function vs(db: Db, ...argv: string[]) {
  return runVsctl(db, argv, IO);
}
function ok(db: Db, ...argv: string[]): string {
  const r = vs(db, ...argv);
  expect(r.stderr, argv.join(" ")).toBe("");
  expect(r.code, argv.join(" ")).toBe(0);
  return r.stdout;
}
function err(db: Db, ...argv: string[]): string {
  const r = vs(db, ...argv);
  expect(r.code, argv.join(" ")).toBe(1);
  expect(r.stdout).toBe("");
  return r.stderr;
}

/** The set-up the OVS session used (oracle: bridge br1 on the dummy datapath, three ports). */
function br1(): Db {
  const db = new Db();
  ok(db, "add-br", "br1", "--", "set", "bridge", "br1", "datapath_type=dummy");
  ok(
    db,
    "add-port",
    "br1",
    "p1",
    "--",
    "set",
    "Interface",
    "p1",
    "type=dummy",
    "ofport_request=5",
    "options:pcap=p1.pcap",
    "options:rxq_pcap=r.pcap",
  );
  ok(db, "add-port", "br1", "p2", "tag=10", "--", "set", "Interface", "p2", "type=bogus");
  ok(
    db,
    "add-port",
    "br1",
    "p3",
    "--",
    "set",
    "Port",
    "p3",
    "trunks=1,2,3",
    "--",
    "set",
    "Interface",
    "p3",
    "type=dummy",
  );
  return db;
}

describe("vsctl show", () => {
  it("prints OVS's layout: defaults left out, options as a map, error quoted, tag and trunks", () => {
    const db = br1();
    // ovs-vswitchd wrote this error for the unknown type; here the engine does, so the test writes it.
    (db.iface("p2") as { error: string | null }).error =
      "could not open network device p2 (Address family not supported by protocol)";
    ok(db, "set", "Open_vSwitch", ".", "ovs_version=3.1.0");
    // OVS prints a bridge's ports in UUID order; its UUIDs were random (it printed br1, p2, p1,
    // p3), ours count up, so the Port blocks are in creation order. Each block is OVS's verbatim.
    expect(ok(db, "show")).toBe(`${db.root.uuid}
    Bridge br1
        datapath_type: dummy
        Port br1
            Interface br1
                type: internal
        Port p1
            Interface p1
                type: dummy
                options: {pcap=p1.pcap, rxq_pcap=r.pcap}
        Port p2
            tag: 10
            Interface p2
                type: bogus
                error: "could not open network device p2 (Address family not supported by protocol)"
        Port p3
            trunks: [1, 2, 3]
            Interface p3
                type: dummy
    ovs_version: "3.1.0"
`);
  });

  it('quotes names that are not identifiers (add-port br0 "p 1")', () => {
    const db = new Db();
    ok(db, "add-br", "br0");
    ok(db, "add-port", "br0", "p 1", "--", "set", "Interface", "p 1", "type=dummy");
    expect(ok(db, "show")).toContain(`        Port "p 1"\n            Interface "p 1"\n                type: dummy\n`);
    expect(ok(db, "list-ports", "br0")).toBe("p 1\n");
  });
});

describe("vsctl bridge and port commands", () => {
  it("lists bridges, ports and interfaces by name, without the bridge's own port", () => {
    const db = br1();
    ok(db, "add-br", "br0");
    expect(ok(db, "list-br")).toBe("br0\nbr1\n");
    expect(ok(db, "list-ports", "br1")).toBe("p1\np2\np3\n");
    expect(ok(db, "list-ifaces", "br1")).toBe("p1\np2\np3\n");
    expect(ok(db, "port-to-br", "p1")).toBe("br1\n");
    expect(ok(db, "iface-to-br", "p1")).toBe("br1\n");
    expect(vs(db, "br-exists", "br1")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(vs(db, "br-exists", "nob")).toEqual({ code: 2, stdout: "", stderr: "" });
  });

  it.each([
    [["del-br", "nob"], "no bridge named nob"],
    [["add-br", "br1"], "cannot create a bridge named br1 because a bridge named br1 already exists"],
    [["add-port", "br1", "p1"], "cannot create a port named p1 because a port named p1 already exists on bridge br1"],
    [["add-port", "br0", "p1"], "cannot create a port named p1 because a port named p1 already exists on bridge br1"],
    [
      ["--may-exist", "add-port", "br0", "p1"],
      '"--may-exist add-port br0 p1" but p1 is actually attached to bridge br1',
    ],
    [["del-port", "p9"], "no port named p9"],
    [["del-port", "br0", "p1"], "bridge br0 does not have a port p1"],
    [
      ["del-port", "br0", "br0"],
      "cannot delete port br0 because it is the local port for bridge br0 (deleting this port requires deleting the entire bridge)",
    ],
    [["add-br", "p1"], "cannot create a bridge named p1 because a port named p1 already exists on bridge br1"],
    [["add-port", "br0", "br0"], "cannot create a port named br0 because a bridge named br0 already exists"],
    [["add-port", "nob", "px"], "no bridge named nob"],
    [["list-ports", "nob"], "no bridge named nob"],
    [["port-to-br", "nop"], "no port named nop"],
    [["iface-to-br", "nop"], "no interface named nop"],
    [["frob"], "unknown command 'frob'; use --help for help"],
    [["add-br"], "'add-br' command requires at least 1 arguments"],
    [["add-br", "a", "b", "c", "d"], "'add-br' command takes at most 3 arguments"],
    [["list-br", "extra"], "'list-br' command takes at most 0 arguments"],
    [["--may-exist", "list-br"], "'list-br' command has no '--may-exist' option"],
    [["--bogus", "list-br"], "unrecognized option '--bogus'"],
    [[], "missing command name (use --help for help)"],
    [["del-port", "a", "b", "c"], "'del-port' command takes at most 2 arguments"],
  ])("%j: %s", (argv, msg) => {
    const db = br1();
    ok(db, "add-br", "br0");
    expect(err(db, ...argv)).toBe(`${ERR}${msg}\n`);
  });

  it("--may-exist and --if-exists turn those errors into no-ops", () => {
    const db = br1();
    ok(db, "--may-exist", "add-br", "br1");
    ok(db, "--if-exists", "del-port", "p9");
    ok(db, "--if-exists", "del-br", "nob");
    expect(ok(db, "list-br")).toBe("br1\n");
  });

  it("runs commands joined by -- as one transaction: all or nothing", () => {
    const db = br1();
    // ovs-vsctl add-br br9 -- frob / add-br br9 -- add-br br9: error, and list-br shows no br9.
    expect(err(db, "add-br", "br9", "--", "frob")).toBe(`${ERR}unknown command 'frob'; use --help for help\n`);
    expect(err(db, "add-br", "br9", "--", "add-br", "br9")).toBe(
      `${ERR}cannot create a bridge named br9 because a bridge named br9 already exists\n`,
    );
    expect(ok(db, "list-br")).toBe("br1\n");
    ok(db, "add-br", "br9", "--", "del-br", "br9");
    expect(ok(db, "--no-wait", "--timeout=5", "--", "list-br", "--")).toBe("br1\n");
  });

  it("a rolled-back transaction leaves the row objects and the UUID counter as they were", () => {
    const db = br1();
    const p1 = db.iface("p1");
    const before = JSON.stringify(db.snapshot());
    err(db, "set", "Interface", "p1", "type=x", "--", "del-port", "p1", "--", "add-br", "brx", "--", "frob");
    err(db, "set", "Interface", "p1", "options:a=b", "ofport_request=0");
    expect(JSON.stringify(db.snapshot())).toBe(before);
    expect(db.iface("p1")).toBe(p1);
  });

  it("add-br makes the bridge's internal port; del-br removes its ports", () => {
    const db = new Db();
    ok(db, "add-br", "br0");
    expect(ok(db, "get", "Interface", "br0", "type")).toBe("internal\n");
    expect(ok(db, "get", "Bridge", "br0", "datapath_type")).toBe('""\n');
    ok(db, "add-port", "br0", "p1");
    ok(db, "del-br", "br0");
    expect(err(db, "get", "Interface", "p1", "type")).toBe(`${ERR}no row "p1" in table Interface\n`);
  });
});

describe("vsctl get, set, add, remove, clear, list, find", () => {
  it("prints each type as ovs-vsctl get does", () => {
    const db = br1();
    expect(ok(db, "get", "Interface", "p1", "options")).toBe("{pcap=p1.pcap, rxq_pcap=r.pcap}\n");
    expect(ok(db, "get", "Interface", "p1", "options:pcap")).toBe("p1.pcap\n");
    expect(ok(db, "get", "Interface", "p1", "type", "name", "ofport_request")).toBe("dummy\np1\n5\n");
    expect(ok(db, "get", "Port", "p3", "trunks")).toBe("[1, 2, 3]\n");
    expect(ok(db, "get", "Port", "p2", "tag")).toBe("10\n");
    expect(ok(db, "get", "Port", "p3", "tag")).toBe("[]\n");
    expect(ok(db, "get", "Bridge", "br1", "fail_mode")).toBe("[]\n");
    expect(ok(db, "get", "Bridge", "br1", "protocols")).toBe("[]\n");
    expect(ok(db, "get", "Open_vSwitch", ".", "ovs_version")).toBe("[]\n");
    expect(ok(db, "get", "Open_vSwitch", ".", "other_config")).toBe("{}\n");
    // ovs-vsctl get Interface p-2 (no column): nothing; --if-exists with a missing key: a blank line.
    expect(ok(db, "get", "Interface", "p1")).toBe("");
    expect(ok(db, "--if-exists", "get", "Interface", "p1", "options:zz", "ofport_request")).toBe("\n5\n");
    expect(ok(db, "get", "Interface", "p1", "opt")).toBe("{pcap=p1.pcap, rxq_pcap=r.pcap}\n"); // a unique prefix
  });

  it("quotes strings as OVSDB does (set Open_vSwitch . external_ids:…)", () => {
    const db = new Db();
    ok(
      db,
      "set",
      "Open_vSwitch",
      ".",
      "external_ids:a=1abc",
      "external_ids:b=a1",
      "external_ids:c=_x",
      "external_ids:d=a:b",
      "external_ids:e=x/y",
      "external_ids:f=true",
      "external_ids:g=01234567-89ab-cdef-0123-456789abcdef",
      'external_ids:h=""',
      "external_ids:i=A-Z.q",
      'external_ids:j=a\\"b',
      "external_ids:1k=v",
      'external_ids:"l m"=n',
    );
    expect(ok(db, "get", "Open_vSwitch", ".", "external_ids")).toBe(
      '{"1k"=v, a="1abc", b=a1, c=_x, d="a:b", e="x/y", f="true", g="01234567-89ab-cdef-0123-456789abcdef", h="", i=A-Z.q, j="a\\\\\\"b", "l m"=n}\n',
    );
    ok(db, "set", "Open_vSwitch", ".", "other_config:hw-offload=true", "external_ids:k=a b");
    expect(ok(db, "get", "Open_vSwitch", ".", "other_config:hw-offload")).toBe('"true"\n');
    expect(ok(db, "get", "Open_vSwitch", ".", "external_ids:k")).toBe('"a b"\n');
  });

  it("set parses whole maps and sets, add/remove/clear edit them", () => {
    const db = br1();
    ok(db, "set", "Interface", "p1", 'options:x="a,b"', "mtu_request=1400");
    expect(ok(db, "get", "Interface", "p1", "options", "mtu_request")).toBe(
      '{pcap=p1.pcap, rxq_pcap=r.pcap, x="a,b"}\n1400\n',
    );
    ok(db, "set", "Interface", "p1", "options={a=1 b=2}");
    ok(db, "set", "Interface", "p1", "options={c=1, d=2}");
    expect(ok(db, "get", "Interface", "p1", "options")).toBe('{c="1", d="2"}\n');
    ok(db, "remove", "Interface", "p1", "options", "c=2");
    expect(ok(db, "get", "Interface", "p1", "options")).toBe('{c="1", d="2"}\n');
    ok(db, "remove", "Interface", "p1", "options", "c=1");
    expect(ok(db, "get", "Interface", "p1", "options")).toBe('{d="2"}\n');
    ok(db, "add", "Interface", "p1", "options", "d=9", "e=5");
    // ovs-vsctl showed {d="9", e="5"} here because its d had been removed by an earlier step;
    // add keeps an existing key's value (ovsdb_datum_union), so d stays "2" in ours.
    expect(ok(db, "get", "Interface", "p1", "options:e")).toBe('"5"\n');
    ok(db, "add", "Port", "p3", "trunks", "4,5");
    ok(db, "remove", "Port", "p3", "trunks", "1");
    expect(ok(db, "get", "Port", "p3", "trunks")).toBe("[2, 3, 4, 5]\n");
    ok(db, "clear", "Port", "p3", "trunks");
    ok(db, "set", "Port", "p2", "tag=[]");
    expect(ok(db, "get", "Port", "p2", "tag")).toBe("[]\n");
    ok(db, "add", "Port", "p2", "tag", "11");
    ok(db, "set", "Interface", "p2", 'type=""');
    expect(ok(db, "get", "Interface", "p2", "type")).toBe('""\n');
    expect(ok(db, "--columns=name,tag,trunks", "list", "Port", "p2", "p3")).toBe(
      "name                : p2\ntag                 : 11\ntrunks              : []\n\n" +
        "name                : p3\ntag                 : []\ntrunks              : []\n",
    );
    expect(ok(db, "--columns=name,tag", "find", "Port", "tag=11")).toBe(
      "name                : p2\ntag                 : 11\n",
    );
  });

  it("lists Bridge columns in OVS's format (list Bridge br0 with --columns)", () => {
    const db = new Db();
    ok(
      db,
      "add-br",
      "br0",
      "--",
      "set",
      "bridge",
      "br0",
      "datapath-type=dummy",
      "fail-mode=secure",
      "other-config:datapath-id=fedcba9876543210",
      "other-config:hwaddr=aa:55:aa:55:00:00",
      "protocols=OpenFlow10,OpenFlow11,OpenFlow12,OpenFlow13,OpenFlow14,OpenFlow15",
    );
    db.root.bridges[0]!.datapath_id = "fedcba9876543210"; // written by ovs-vswitchd, i.e. our engine
    expect(
      ok(
        db,
        "--columns=name,datapath_id,datapath_type,fail_mode,protocols,mcast_snooping_enable,stp_enable,other_config",
        "list",
        "Bridge",
        "br0",
      ),
    ).toBe(
      `name                : br0
datapath_id         : fedcba9876543210
datapath_type       : dummy
fail_mode           : secure
protocols           : [OpenFlow10, OpenFlow11, OpenFlow12, OpenFlow13, OpenFlow14, OpenFlow15]
mcast_snooping_enable: false
stp_enable          : false
other_config        : {datapath-id=fedcba9876543210, hwaddr="aa:55:aa:55:00:00"}
`,
    );
  });

  it.each([
    [["set", "Interface", "p1", "ofport_request=abc"], '"abc" is not a valid integer or range'],
    [
      ["set", "Interface", "p1", "ofport_request=70000"],
      "constraint violation: 70000 is not in the valid range 1 to 65279 (inclusive)",
    ],
    [["set", "Port", "p1", "tag=5000"], "constraint violation: 5000 is not in the valid range 0 to 4095 (inclusive)"],
    [["set", "Port", "p1", "tag=-1"], "constraint violation: -1 is not in the valid range 0 to 4095 (inclusive)"],
    [
      ["set", "Port", "p1", "vlan_mode=bogus"],
      "constraint violation: bogus is not one of the allowed values ([access, dot1q-tunnel, native-tagged, native-untagged, trunk])",
    ],
    [
      ["set", "Bridge", "br1", "fail_mode=bogus"],
      "constraint violation: bogus is not one of the allowed values ([secure, standalone])",
    ],
    [
      ["set", "Bridge", "br1", "protocols=OpenFlow99"],
      "constraint violation: OpenFlow99 is not one of the allowed values ([OpenFlow10, OpenFlow11, OpenFlow12, OpenFlow13, OpenFlow14, OpenFlow15])",
    ],
    [["set", "Bridge", "br1", "mcast_snooping_enable=maybe"], '"maybe" is not a valid boolean (use "true" or "false")'],
    [["set", "Interface", "p1", "options"], 'options: argument does not end in "=" followed by a value.'],
    [["set", "Interface", "p1", "options="], 'options=: argument does not end in "=" followed by a value.'],
    [["set", "Interface", "p1", "type"], 'type: argument does not end in "=" followed by a value.'],
    [["set", "Bridge", "br1", "other_config:a"], 'other_config:a: argument does not end in "=" followed by a value.'],
    [["set", "Interface", "p1", "type:x=1"], "cannot specify key to set for non-map column type"],
    [["get", "Interface", "p1", "type:x"], "cannot specify key to get for non-map column type"],
    [["set", "Interface", "p1", "nocol=1"], 'Interface does not contain a column whose name matches "nocol"'],
    [["get", "Interface", "p1", "options:nokey"], 'no key "nokey" in Interface record "p1" column options'],
    [["get", "Interface", "nop", "type"], 'no row "nop" in table Interface'],
    [["get", "Frob", "p1", "type"], 'unknown table "Frob"'],
    [["set", "Open_vSwitch", "x", "other_config:a=b"], 'no row "x" in table Open_vSwitch'],
    [["set", "Bridge", "br1", "name=x"], "cannot modify read-only column name in table Bridge"],
    [
      ["clear", "Interface", "p1", "type"],
      '"clear" operation cannot be applied to column type of table Interface, which is not allowed to be empty',
    ],
    [
      ["add", "Port", "p2", "tag", "12"],
      'transaction error: {"details":"Attempted to store 2 elements in set of up to 1 integers.","error":"constraint violation"}',
    ],
    [["set", "Port", "p3", "trunks=a"], '"a" is not a valid integer or range'],
    [["set", "Port", "p3", "trunks=[1,2"], '[1,2: missing "]" at end of data'],
    [["set", "Port", "p3", "trunks=1,1,2"], "1,1,2: set contains duplicate value"],
    [["set", "Interface", "p1", 'options:"x'], '"x: quoted string extends past end of argument'],
    [["set", "Interface", "p1", 'options:x="y'], '"y: missing quote at end of quoted string'],
    [
      ["--columns=name,ofp", "list", "Interface", "p1"],
      'Interface contains more than one column whose name matches "ofp": ofport, ofport_request',
    ],
    [["--columns=name", "list", "Frob"], 'unknown table "Frob"'],
    [["list", "Interface", "nop"], 'no row "nop" in table Interface'],
    [["set", "Interface", "p1"], "'set' command requires at least 3 arguments"],
    [["list"], "'list' command requires at least 1 arguments"],
    [["add", "Port", "p1", "trunks"], "'add' command requires at least 4 arguments"],
    [["remove", "Port", "p1", "trunks"], "'remove' command requires at least 4 arguments"],
    [["clear", "Port", "p1"], "'clear' command requires at least 3 arguments"],
  ])("%j: %s", (argv, msg) => {
    expect(err(br1(), ...argv)).toBe(`${ERR}${msg}\n`);
  });
});

describe("vsctl after a commit", () => {
  it("calls the commit listeners once per changing transaction, then reports interfaces left without an ofport", () => {
    const db = new Db();
    let commits = 0;
    db.onCommit(() => {
      commits++;
      // What the engine does: p1 opens, p2's type is unknown.
      for (const b of db.root.bridges)
        for (const p of b.ports)
          for (const i of p.interfaces) {
            if (i.type === "bogus") {
              i.ofport = -1;
              i.error = "could not open network device p2 (Address family not supported by protocol)";
            } else i.ofport ??= 1;
          }
    });
    const wait = { wait: true, logDir: "/run/x" };
    expect(runVsctl(db, ["add-br", "br1"], IO, wait)).toEqual({ code: 0, stdout: "", stderr: "" });
    runVsctl(db, ["list-br"], IO, wait);
    expect(commits).toBe(1);
    // ovs-vsctl add-port br1 p2 tag=10 -- set Interface p2 type=bogus (exit status 0):
    const r = runVsctl(db, ["add-port", "br1", "p2", "--", "set", "Interface", "p2", "type=bogus"], IO, wait);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      `${ERR}Error detected while setting up 'p2': could not open network device p2 (Address family not supported by protocol).  See offload-emu log for details.\n` +
        `${ERR}The default log directory is "/run/x".\n`,
    );
    expect(
      runVsctl(db, ["--no-wait", "add-port", "br1", "p3", "--", "set", "Interface", "p3", "type=bogus"], IO, wait)
        .stderr,
    ).toBe("");
    expect(commits).toBe(3);
  });
});

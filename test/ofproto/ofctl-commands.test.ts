// `offload-emu ofctl` against real Open vSwitch.
//
// Every expected text below was printed by Open vSwitch 3.1 (Debian openvswitch-switch 3.1.0) in
// a private userspace switch started with ../shared/tools/ovs-oracle.sh (bridge br0, dpid
// fedcba9876543210, fail-mode secure) after
//   ovs-vsctl add-port br0 p1 -- set Interface p1 type=dummy ofport_request=1 \
//     -- add-port br0 p2 -- set Interface p2 type=dummy ofport_request=2 \
//     -- add-port br0 p3 -- set Interface p3 type=dummy ofport_request=3
// and `ovs-ofctl del-flows br0` before each sequence; the commands are the ones the test runs,
// with `ovs-ofctl` for `ofctl`. What we normalise, and why:
// - durations: OVS's are wall-clock; here the virtual clock gives exact ones, so the test sets the
//   clock to give the durations OVS printed, or compares with `--no-stats`;
// - order: without --sort, ovs-ofctl prints a table's rules in its classifier's hash order
//   (oftable.ts explains); sequences whose rules tie in priority compare the sets of lines.
// - the error-message program name: `offload-emu ofctl: ` for `ovs-ofctl: `.
import { describe, expect, it } from "vitest";
import { runOfctl, ofprotoPortOrder, type OfctlContext } from "../../src/ofproto/ofctl-commands.ts";
import { OfTables } from "../../src/ofproto/oftable.ts";
import { MacLearning } from "../../src/ofproto/mac-learning.ts";
import { OfPort } from "../../src/flow/fields.ts";
import type { BridgeView, PortStats, XPort } from "../../src/ofproto/types.ts";

const ZERO: PortStats = {
  rxPackets: 0,
  rxBytes: 0,
  rxDropped: 0,
  rxErrors: 0,
  txPackets: 0,
  txBytes: 0,
  txDropped: 0,
  txErrors: 0,
};

function port(name: string, ofport: number, mac: string, type = "dummy", stats: PortStats = ZERO): XPort {
  return {
    name,
    ofport,
    odpPort: ofport === OfPort.LOCAL ? 0 : ofport,
    type,
    mac,
    mtu: 1500,
    tag: null,
    trunks: [],
    vlanMode: null,
    up: true,
    stats: () => stats,
  };
}

/** br0 as the oracle has it: the MACs are the ones OVS gave the dummy ports. */
function fixture(portStats: Partial<Record<number, PortStats>> = {}) {
  const list = [
    port("br0", OfPort.LOCAL, "aa:55:aa:55:00:00", "internal", portStats[OfPort.LOCAL]),
    port("p1", 1, "aa:55:aa:55:00:04", "dummy", portStats[1]),
    port("p2", 2, "aa:55:aa:55:00:02", "dummy", portStats[2]),
    port("p3", 3, "aa:55:aa:55:00:03", "dummy", portStats[3]),
  ];
  const br: BridgeView = {
    name: "br0",
    datapathName: "ovs-dummy",
    tables: new OfTables(),
    ports: new Map(list.map((p) => [p.ofport, p])),
    byOdp: new Map(list.map((p) => [p.odpPort, p])),
    byName: new Map(list.map((p) => [p.name, p])),
    mac: new MacLearning(),
    failMode: "secure",
    datapathId: 0xfedcba9876543210n,
  };
  let now = 1_000_000;
  const files: Record<string, string> = {};
  const ctx: OfctlContext = {
    bridge: (n) => (n === "br0" ? br : null),
    nowMs: () => now,
    io: { cwd: "/tmp/x" },
    readFile: (p) => {
      const text = p === "-" ? ctx.io.stdin : files[p];
      if (text === undefined) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
      return text;
    },
  };
  const run = (line: string | string[], stdin?: string) => {
    ctx.io.stdin = stdin;
    return runOfctl(typeof line === "string" ? splitArgs(line) : line, ctx);
  };
  /** Runs each command, failing on an error; returns the last one's stdout. */
  const seq = (...lines: string[]) => {
    let out = "";
    for (const l of lines) {
      const r = run(l);
      expect(r.stderr, l).toBe("");
      out = r.stdout;
    }
    return out;
  };
  return {
    br,
    ctx,
    run,
    seq,
    files,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** Shell-like splitting with single quotes, enough for the command lines here. */
function splitArgs(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|(\S+)/g)) out.push(m[1] ?? (m[2] as string));
  return out;
}

const lines = (s: string) =>
  s
    .split("\n")
    .filter((l) => l !== "")
    .sort();

describe("show (OVS 3.1: ovs-ofctl show br0, and -O OpenFlow13)", () => {
  it("prints the features, one block per port in port order, LOCAL last, and the switch config", () => {
    const { run } = fixture();
    expect(run("show br0")).toEqual({
      code: 0,
      stderr: "",
      stdout: `OFPT_FEATURES_REPLY (xid=0x2): dpid:fedcba9876543210
n_tables:254, n_buffers:0
capabilities: FLOW_STATS TABLE_STATS PORT_STATS QUEUE_STATS ARP_MATCH_IP
actions: output enqueue set_vlan_vid set_vlan_pcp strip_vlan mod_dl_src mod_dl_dst mod_nw_src mod_nw_dst mod_nw_tos mod_tp_src mod_tp_dst
 1(p1): addr:aa:55:aa:55:00:04
     config:     0
     state:      0
     speed: 0 Mbps now, 0 Mbps max
 2(p2): addr:aa:55:aa:55:00:02
     config:     0
     state:      0
     speed: 0 Mbps now, 0 Mbps max
 3(p3): addr:aa:55:aa:55:00:03
     config:     0
     state:      0
     speed: 0 Mbps now, 0 Mbps max
 LOCAL(br0): addr:aa:55:aa:55:00:00
     config:     0
     state:      0
     speed: 0 Mbps now, 0 Mbps max
OFPT_GET_CONFIG_REPLY (xid=0x4): frags=normal miss_send_len=0
`,
    });
  });
  it("OpenFlow 1.3: port descriptions in their own reply, LIVE ports", () => {
    const { run } = fixture();
    expect(run("-O OpenFlow13 show br0").stdout).toBe(`OFPT_FEATURES_REPLY (OF1.3) (xid=0x2): dpid:fedcba9876543210
n_tables:254, n_buffers:0
capabilities: FLOW_STATS TABLE_STATS PORT_STATS GROUP_STATS QUEUE_STATS
OFPST_PORT_DESC reply (OF1.3) (xid=0x3):
 1(p1): addr:aa:55:aa:55:00:04
     config:     0
     state:      LIVE
     speed: 0 Mbps now, 0 Mbps max
 2(p2): addr:aa:55:aa:55:00:02
     config:     0
     state:      LIVE
     speed: 0 Mbps now, 0 Mbps max
 3(p3): addr:aa:55:aa:55:00:03
     config:     0
     state:      LIVE
     speed: 0 Mbps now, 0 Mbps max
 LOCAL(br0): addr:aa:55:aa:55:00:00
     config:     0
     state:      LIVE
     speed: 0 Mbps now, 0 Mbps max
OFPT_GET_CONFIG_REPLY (OF1.3) (xid=0x5): frags=normal miss_send_len=0
`);
  });
});

describe("dump-ports (OVS 3.1, dummy ports: only packets and bytes are known)", () => {
  // After four 118-byte packets received on p1: three output to p2, one to p3.
  const stats = {
    1: { ...ZERO, rxPackets: 4, rxBytes: 472 },
    2: { ...ZERO, txPackets: 3, txBytes: 354 },
    3: { ...ZERO, txPackets: 1, txBytes: 118 },
  };
  it("every port, in ofproto's hash order", () => {
    const { run } = fixture(stats);
    expect(run("dump-ports br0").stdout).toBe(`OFPST_PORT reply (xid=0x2): 4 ports
  port  1: rx pkts=4, bytes=472, drop=?, errs=?, frame=?, over=?, crc=?
           tx pkts=0, bytes=0, drop=?, errs=?, coll=?
  port LOCAL: rx pkts=0, bytes=0, drop=?, errs=?, frame=?, over=?, crc=?
           tx pkts=0, bytes=0, drop=?, errs=?, coll=?
  port  2: rx pkts=0, bytes=0, drop=?, errs=?, frame=?, over=?, crc=?
           tx pkts=3, bytes=354, drop=?, errs=?, coll=?
  port  3: rx pkts=0, bytes=0, drop=?, errs=?, frame=?, over=?, crc=?
           tx pkts=1, bytes=118, drop=?, errs=?, coll=?
`);
  });
  it("ofproto's order for 7 ports (OVS 3.1 after adding p4, p5, p10 with ofport_request=4, 5, 10)", () => {
    // One ovs-vsctl transaction added the three; vswitchd created them in name order (p10 first).
    expect(ofprotoPortOrder([OfPort.LOCAL, 1, 2, 3, 10, 4, 5])).toEqual([4, 10, 1, OfPort.LOCAL, 5, 2, 3]);
  });
  it("one port by number, by name (one more request: xid 0x4), LOCAL; an absent number gives 0 ports", () => {
    const { run } = fixture(stats);
    const p1 =
      "  port  1: rx pkts=4, bytes=472, drop=?, errs=?, frame=?, over=?, crc=?\n           tx pkts=0, bytes=0, drop=?, errs=?, coll=?\n";
    expect(run("dump-ports br0 1").stdout).toBe(`OFPST_PORT reply (xid=0x2): 1 ports\n${p1}`);
    expect(run("dump-ports br0 p1").stdout).toBe(`OFPST_PORT reply (xid=0x4): 1 ports\n${p1}`);
    expect(run("-O OpenFlow13 dump-ports br0 p1").stdout).toBe(`OFPST_PORT reply (OF1.3) (xid=0x4): 1 ports\n${p1}`);
    expect(run("dump-ports br0 LOCAL").stdout).toBe(
      "OFPST_PORT reply (xid=0x2): 1 ports\n  port LOCAL: rx pkts=0, bytes=0, drop=?, errs=?, frame=?, over=?, crc=?\n           tx pkts=0, bytes=0, drop=?, errs=?, coll=?\n",
    );
    expect(run("dump-ports br0 br0").stdout).toBe(
      "OFPST_PORT reply (xid=0x4): 1 ports\n  port LOCAL: rx pkts=0, bytes=0, drop=?, errs=?, frame=?, over=?, crc=?\n           tx pkts=0, bytes=0, drop=?, errs=?, coll=?\n",
    );
    expect(run("dump-ports br0 9").stdout).toBe("OFPST_PORT reply (xid=0x2): 0 ports\n");
  });
});

describe("errors: ovs-ofctl's messages and exit status 1", () => {
  it.each([
    ["add-flow br0 foo=1,actions=drop", "unknown keyword foo"],
    ["add-flow br0 in_port=1", "must specify an action"],
    ["add-flow nobr actions=drop", "nobr is not a bridge or a socket"],
    ["add-flow br0", "'add-flow' command requires at least 2 arguments"],
    ["dump-flows", "'dump-flows' command requires at least 1 arguments"],
    ["frob br0", "unknown command 'frob'; use --help for help"],
    ["", "missing command name; use --help for help"],
    ["dump-ports br0 foo", "br0: unknown port `foo'"],
    ["show br0 x", "'show' command takes at most 1 arguments"],
    ["dump-flows br0 table=1 extra", "'dump-flows' command takes at most 2 arguments"],
    ["add-flow br0 cookie=1/1,actions=drop", "flow additions cannot use a cookie mask"],
    ["dump-flows br0 --sort=foo", "foo: unknown field name"],
    ["add-flow br0 priority=70000,actions=drop", 'invalid priority "70000"'],
    ["add-flow br0 table=1x,actions=drop", 'unknown table "1x"'],
    ["del-flows br0 in_port=foo", "foo: invalid or unknown port for in_port"],
    ["add-flow br0 in_port=p7,actions=output:p2", "p7: invalid or unknown port for in_port"],
    ["add-flow br0 in_port=1,actions=output:p9", "p9: output to unknown port"],
    ["mod-flows br0 in_port=1", "must specify an action"],
    ["dump-flows br0 priority=5", "unknown keyword priority"],
    ["dump-flows br0 actions=drop", "unknown keyword actions"],
    ["del-flows br0 idle_timeout=5", "unknown keyword idle_timeout"],
    ["del-flows br0 priority=5", "unknown keyword priority"],
    ["del-flows br0 in_port=1,actions=drop", "unknown keyword actions"],
    ["mod-flows br0 importance=5,actions=drop", "unknown keyword importance"],
    ["mod-flows br0 out_port=2,actions=output:6", "unknown keyword out_port"],
    ["dump-flows br0 cookie=1", "cannot set cookie (to match on a cookie, specify a mask, e.g. cookie=1/-1)"],
    ["del-flows br0 --strict priority=5,send_flow_rem", "field send_flow_rem missing value"],
    [
      "add-flow br0 priority=6,send_flow_rem,reset_counts,in_port=2,actions=output:1",
      "none of the usable flow formats (OXM) is among the allowed flow formats (OpenFlow10,NXM)",
    ],
    ["-O OpenFlow99 dump-flows br0", 'Unknown OpenFlow version: "OpenFlow99"'],
    ["--foo dump-flows br0", "unrecognized option '--foo'"],
    ["-O", "option requires an argument -- 'O'"],
    ["-x", "invalid option -- 'x'"],
  ])("%s", (line, msg) => {
    const { run, br } = fixture();
    expect(run(line)).toEqual({ code: 1, stdout: "", stderr: `offload-emu ofctl: ${msg}\n` });
    expect(br.tables.count).toBe(0);
  });
  it("a bad line of add-flows names the file and line, and nothing of the file is added", () => {
    const { run, files, br } = fixture();
    files["f.txt"] =
      "priority=1,actions=drop\n# comment\n\npriority=2,in_port=1,actions=output:2\npriority=3,bogus=1,actions=drop\n";
    expect(run("add-flows br0 f.txt").stderr).toBe("offload-emu ofctl: f.txt:5: unknown keyword bogus\n");
    expect(run("add-flows br0 /nonexist").stderr).toBe(
      "offload-emu ofctl: /nonexist: open failed (No such file or directory)\n",
    );
    expect(run("add-flows br0 -", "priority=7,actions=drop\nfoo=1\n").stderr).toBe(
      "offload-emu ofctl: -:2: must specify an action\n",
    );
    expect(br.tables.count).toBe(0);
  });
  it("check_overlap: the switch's error and the flow-mod it refused, on stderr", () => {
    const { run, seq } = fixture();
    seq(
      "add-flow br0 'priority=100,in_port=1,actions=output:2'",
      "add-flow br0 'table=3,cookie=0x9,idle_timeout=5,hard_timeout=6,priority=100,check_overlap,send_flow_rem,ip,actions=output:3'",
    );
    expect(run("add-flow br0 'priority=100,check_overlap,actions=drop'")).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "OFPT_ERROR (xid=0x6): OFPFMFC_OVERLAP\nOFPT_FLOW_MOD (xid=0x6): ADD priority=100 check_overlap actions=drop\n",
    });
    expect(run("-O OpenFlow13 add-flow br0 'priority=100,check_overlap,actions=drop'").stderr).toBe(
      "OFPT_ERROR (OF1.3) (xid=0x6): OFPFMFC_OVERLAP\nOFPT_FLOW_MOD (OF1.3) (xid=0x6): ADD priority=100 check_overlap actions=drop\n",
    );
    seq("-O OpenFlow13 add-flow br0 'cookie=0x9,idle_timeout=5,priority=100,check_overlap,in_port=2,actions=drop'");
    expect(
      run(
        "-O OpenFlow13 add-flow br0 'cookie=0x9,idle_timeout=5,priority=100,check_overlap,reset_counts,ip,actions=drop'",
      ).stderr,
    ).toBe(
      "OFPT_ERROR (OF1.3) (xid=0x6): OFPFMFC_OVERLAP\nOFPT_FLOW_MOD (OF1.3) (xid=0x6): ADD priority=100,ip cookie:0x9 idle:5 check_overlap reset_counts actions=drop\n",
    );
    // An identical match is a replacement, not an overlap.
    expect(run("add-flow br0 'priority=100,check_overlap,in_port=1,actions=drop'").code).toBe(0);
  });
});

describe("flow-mod sequences, then dump-flows --no-stats (OVS 3.1)", () => {
  it("1: add replaces the same match and priority; another priority is another rule", () => {
    const { seq } = fixture();
    const out = seq(
      "add-flow br0 'priority=100,in_port=1,ip,actions=output:2'",
      "add-flow br0 'priority=100,ip,in_port=1,actions=output:3'",
      "add-flow br0 'priority=200,ip,in_port=1,actions=output:4'",
      "dump-flows br0 --no-stats --sort",
    );
    expect(out).toBe(" priority=100,ip,in_port=1 actions=output:3\n priority=200,ip,in_port=1 actions=output:4\n");
  });
  it("2-5: non-strict modify selects what the match subsumes; strict selects one; OpenFlow 1.0 strict modify adds; deletes", () => {
    const { seq } = fixture();
    seq(
      "add-flow br0 'priority=100,ip,in_port=1,actions=output:2'",
      "add-flow br0 'priority=200,tcp,in_port=1,actions=output:2'",
      "add-flow br0 'priority=100,in_port=2,actions=output:1'",
      "add-flow br0 'priority=300,actions=output:3'",
    );
    expect(seq("mod-flows br0 'ip,actions=drop'", "dump-flows br0 --no-stats")).toBe(
      " priority=300 actions=output:3\n priority=200,tcp,in_port=1 actions=drop\n priority=100,ip,in_port=1 actions=drop\n priority=100,in_port=2 actions=output:1\n",
    );
    expect(
      lines(
        seq(
          "mod-flows br0 --strict 'priority=100,ip,in_port=1,actions=output:9'",
          "mod-flows br0 --strict 'ip,in_port=1,actions=output:8'",
          "dump-flows br0 --no-stats",
        ),
      ),
    ).toEqual(
      lines(
        ` priority=100,ip,in_port=1 actions=output:9
 ip,in_port=1 actions=output:8
 priority=300 actions=output:3
 priority=200,tcp,in_port=1 actions=drop
 priority=100,in_port=2 actions=output:1
`,
      ),
    );
    expect(seq("del-flows br0 'in_port=1'", "dump-flows br0 --no-stats")).toBe(
      " priority=300 actions=output:3\n priority=100,in_port=2 actions=output:1\n",
    );
    expect(
      seq("del-flows br0 --strict 'in_port=2'", "del-flows br0 --strict 'priority=300'", "dump-flows br0 --no-stats"),
    ).toBe(" priority=100,in_port=2 actions=output:1\n");
    expect(seq("del-flows br0 --strict 'priority=100,in_port=2'", "dump-flows br0 --no-stats")).toBe("");
  });
  it("6: cookie, out_port and table filters for dump, modify (every table) and delete", () => {
    const { seq, run } = fixture();
    seq(
      "add-flow br0 'cookie=0x10,priority=10,in_port=1,actions=output:2'",
      "add-flow br0 'cookie=0x11,priority=11,in_port=2,actions=output:3'",
      "add-flow br0 'cookie=0x20,priority=12,in_port=3,actions=output:2'",
      "add-flow br0 'table=1,cookie=0x21,priority=13,in_port=3,actions=output:2,output:3'",
      "add-flow br0 'table=2,priority=14,actions=output:4'",
    );
    // OVS listed table 0 in its hash order (10, 11, 12); tables come in ascending order in both.
    expect(seq("dump-flows br0 --no-stats --sort")).toBe(` cookie=0x10, priority=10,in_port=1 actions=output:2
 cookie=0x11, priority=11,in_port=2 actions=output:3
 cookie=0x20, priority=12,in_port=3 actions=output:2
 cookie=0x21, table=1, priority=13,in_port=3 actions=output:2,output:3
 table=2, priority=14 actions=output:4
`);
    expect(lines(run("dump-flows br0 --no-stats 'cookie=0x10/0xf0'").stdout)).toEqual(
      lines(
        " cookie=0x10, priority=10,in_port=1 actions=output:2\n cookie=0x11, priority=11,in_port=2 actions=output:3\n",
      ),
    );
    expect(lines(run("dump-flows br0 --no-stats out_port=2").stdout)).toEqual(
      lines(
        " cookie=0x10, priority=10,in_port=1 actions=output:2\n cookie=0x20, priority=12,in_port=3 actions=output:2\n cookie=0x21, table=1, priority=13,in_port=3 actions=output:2,output:3\n",
      ),
    );
    expect(run("dump-flows br0 --no-stats table=1").stdout).toBe(
      " cookie=0x21, table=1, priority=13,in_port=3 actions=output:2,output:3\n",
    );
    expect(run("dump-flows br0 --no-stats in_port=3").stdout).toBe(
      " cookie=0x20, priority=12,in_port=3 actions=output:2\n cookie=0x21, table=1, priority=13,in_port=3 actions=output:2,output:3\n",
    );
    expect(lines(seq("mod-flows br0 'cookie=0x20/0xf0,actions=output:5'", "dump-flows br0 --no-stats"))).toEqual(
      lines(
        ` cookie=0x10, priority=10,in_port=1 actions=output:2
 cookie=0x11, priority=11,in_port=2 actions=output:3
 cookie=0x20, priority=12,in_port=3 actions=output:5
 cookie=0x21, table=1, priority=13,in_port=3 actions=output:5
 table=2, priority=14 actions=output:4
`,
      ),
    );
    expect(lines(seq("del-flows br0 'cookie=0x10/0xff'", "dump-flows br0 --no-stats"))).toEqual(
      lines(
        ` cookie=0x11, priority=11,in_port=2 actions=output:3
 cookie=0x20, priority=12,in_port=3 actions=output:5
 cookie=0x21, table=1, priority=13,in_port=3 actions=output:5
 table=2, priority=14 actions=output:4
`,
      ),
    );
    expect(seq("del-flows br0 'out_port=5'", "dump-flows br0 --no-stats")).toBe(
      " cookie=0x11, priority=11,in_port=2 actions=output:3\n table=2, priority=14 actions=output:4\n",
    );
    expect(
      seq("mod-flows br0 'table=2,actions=output:7'", "del-flows br0 'table=0'", "dump-flows br0 --no-stats"),
    ).toBe(" table=2, priority=14 actions=output:7\n");
  });
  it("7: timeouts, flags (OpenFlow 1.0 adds carry reset_counts), modify keeps timeouts, add takes new ones", () => {
    const { seq } = fixture();
    seq(
      "add-flow br0 'priority=5,idle_timeout=10,hard_timeout=20,in_port=1,actions=output:2'",
      "add-flow br0 'priority=7,importance=3,in_port=3,actions=output:1'",
    );
    expect(seq("dump-flows br0 --no-stats --sort")).toBe(
      " idle_timeout=10, hard_timeout=20, priority=5,in_port=1 actions=output:2\n priority=7,in_port=3 actions=output:1\n",
    );
    expect(seq("-O OpenFlow13 dump-flows br0 --no-stats --sort")).toBe(
      " idle_timeout=10, hard_timeout=20, reset_counts priority=5,in_port=1 actions=output:2\n reset_counts priority=7,in_port=3 actions=output:1\n",
    );
    seq("mod-flows br0 'in_port=1,idle_timeout=50,actions=output:3'", "mod-flows br0 'in_port=2,actions=output:3'");
    expect(lines(seq("-O OpenFlow13 dump-flows br0 --no-stats"))).toEqual(
      lines(
        ` reset_counts priority=7,in_port=3 actions=output:1
 idle_timeout=10, hard_timeout=20, reset_counts priority=5,in_port=1 actions=output:3
 in_port=2 actions=output:3
`,
      ),
    );
    seq("add-flow br0 'priority=5,idle_timeout=30,in_port=1,actions=output:2'");
    expect(lines(seq("dump-flows br0 --no-stats"))).toEqual(
      lines(
        " priority=7,in_port=3 actions=output:1\n in_port=2 actions=output:3\n idle_timeout=30, priority=5,in_port=1 actions=output:2\n",
      ),
    );
  });
  it("8: OpenFlow 1.3 modify never adds and ignores an unmasked cookie; --sort/--rsort by priority and field", () => {
    const { seq } = fixture();
    seq(
      "add-flow br0 'priority=7,in_port=3,actions=output:1'",
      "add-flow br0 'in_port=2,actions=output:3'",
      "add-flow br0 'priority=5,idle_timeout=30,in_port=1,actions=output:2'",
      "-O OpenFlow13 add-flow br0 'priority=8,in_port=4,actions=output:2'",
      "-O OpenFlow13 mod-flows br0 'in_port=9,actions=output:2'",
      "-O OpenFlow13 mod-flows br0 --strict 'priority=8,in_port=9,actions=output:2'",
      "-O OpenFlow13 mod-flows br0 'cookie=0x1,in_port=4,actions=output:3'",
    );
    expect(lines(seq("-O OpenFlow13 dump-flows br0 --no-stats"))).toEqual(
      lines(
        ` reset_counts priority=7,in_port=3 actions=output:1
 reset_counts in_port=2 actions=output:3
 idle_timeout=30, reset_counts priority=5,in_port=1 actions=output:2
 priority=8,in_port=4 actions=output:3
`,
      ),
    );
    expect(seq("dump-flows br0 --no-stats --sort")).toBe(` idle_timeout=30, priority=5,in_port=1 actions=output:2
 priority=7,in_port=3 actions=output:1
 priority=8,in_port=4 actions=output:3
 in_port=2 actions=output:3
`);
    expect(seq("dump-flows br0 --no-stats --rsort")).toBe(` in_port=2 actions=output:3
 priority=8,in_port=4 actions=output:3
 priority=7,in_port=3 actions=output:1
 idle_timeout=30, priority=5,in_port=1 actions=output:2
`);
    expect(
      seq("dump-flows br0 --no-stats --sort=in_port"),
    ).toBe(` idle_timeout=30, priority=5,in_port=1 actions=output:2
 in_port=2 actions=output:3
 priority=7,in_port=3 actions=output:1
 priority=8,in_port=4 actions=output:3
`);
    expect(seq("dump-flows br0 --no-stats --rsort=in_port")).toBe(` priority=8,in_port=4 actions=output:3
 priority=7,in_port=3 actions=output:1
 in_port=2 actions=output:3
 idle_timeout=30, priority=5,in_port=1 actions=output:2
`);
    expect(seq("dump-aggregate br0")).toBe(
      "NXST_AGGREGATE reply (xid=0x4): packet_count=0 byte_count=0 flow_count=4\n",
    );
    expect(seq("dump-aggregate br0 in_port=1")).toBe(
      "NXST_AGGREGATE reply (xid=0x8): packet_count=0 byte_count=0 flow_count=1\n",
    );
    expect(seq("-O OpenFlow13 dump-aggregate br0")).toBe(
      "OFPST_AGGREGATE reply (OF1.3) (xid=0x2): packet_count=0 byte_count=0 flow_count=4\n",
    );
  });
  it("9: OpenFlow 1.0 modify sets the cookie (0 when none is given), 1.3 leaves it", () => {
    const { seq } = fixture();
    seq(
      "add-flow br0 'cookie=0x9,priority=100,in_port=1,actions=output:2'",
      "add-flow br0 'cookie=0x9,priority=100,in_port=2,actions=output:2'",
      "-O OpenFlow13 mod-flows br0 'in_port=2,actions=output:3'",
    );
    expect(seq("dump-flows br0 --no-stats")).toBe(
      " cookie=0x9, priority=100,in_port=1 actions=output:2\n cookie=0x9, priority=100,in_port=2 actions=output:3\n",
    );
    expect(lines(seq("mod-flows br0 'in_port=1,actions=output:3'", "dump-flows br0 --no-stats"))).toEqual(
      lines(" cookie=0x9, priority=100,in_port=2 actions=output:3\n priority=100,in_port=1 actions=output:3\n"),
    );
    expect(
      lines(seq("mod-flows br0 --strict 'priority=100,in_port=2,actions=output:4'", "dump-flows br0 --no-stats")),
    ).toEqual(lines(" priority=100,in_port=1 actions=output:3\n priority=100,in_port=2 actions=output:4\n"));
  });
  it("10: add-flows with per-line commands, from standard input", () => {
    const { seq, run } = fixture();
    seq(
      "add-flow br0 'priority=100,in_port=2,idle_timeout=5,actions=drop'",
      "add-flow br0 'table=3,idle_timeout=5,hard_timeout=6,priority=100,ip,actions=output:3'",
    );
    expect(run("add-flows br0 -", "priority=7,actions=drop\ndelete in_port=1\nmodify actions=output:4\n").code).toBe(0);
    expect(lines(seq("dump-flows br0 --no-stats"))).toEqual(
      lines(
        ` idle_timeout=5, priority=100,in_port=2 actions=output:4
 priority=7 actions=output:4
 table=3, idle_timeout=5, hard_timeout=6, priority=100,ip actions=output:4
`,
      ),
    );
    expect(
      run(
        "add-flows br0 -",
        "priority=7,actions=drop\n  add  priority=9 actions=drop\ndelete_strict priority=7\nmodify_strict priority=9 actions=output:1\n",
      ).code,
    ).toBe(0);
    expect(lines(seq("dump-flows br0 --no-stats"))).toEqual(
      lines(
        ` idle_timeout=5, priority=100,in_port=2 actions=output:4
 priority=9 actions=output:1
 table=3, idle_timeout=5, hard_timeout=6, priority=100,ip actions=output:4
`,
      ),
    );
  });
  it("11: port names in matches and actions; del-flows --strict with no flow deletes the catch-all", () => {
    const { seq } = fixture();
    seq(
      "add-flow br0 'priority=100,in_port=1,actions=output:2'",
      "add-flow br0 'in_port=p1,actions=output:p2'",
      "--bundle add-flow br0 actions=drop",
    );
    expect(lines(seq("del-flows br0 --strict", "dump-flows br0 --no-stats"))).toEqual(
      lines(" priority=100,in_port=1 actions=output:2\n in_port=1 actions=output:2\n"),
    );
  });
});

describe("counters and durations (OVS 3.1, 118-byte TCP packets received on p1)", () => {
  it("an OpenFlow 1.3 add keeps the replaced rule's counters, a 1.0 modify keeps them, reset_counts clears them", () => {
    const { seq, br, advance } = fixture();
    seq(
      "-O OpenFlow13 add-flow br0 'priority=100,in_port=1,actions=output:2'",
      "add-flow br0 'priority=50,in_port=1,actions=output:3'",
    );
    const r = br.tables.dump()[0];
    br.tables.credit(r!, 1, 118, 1_000_500);
    advance(1510);
    expect(seq("-O OpenFlow13 dump-flows br0")).toBe(`OFPST_FLOW reply (OF1.3) (xid=0x2):
 cookie=0x0, duration=1.510s, table=0, n_packets=1, n_bytes=118, priority=100,in_port=1 actions=output:2
 cookie=0x0, duration=1.510s, table=0, n_packets=0, n_bytes=0, reset_counts priority=50,in_port=1 actions=output:3
`);
    seq("-O OpenFlow13 add-flow br0 'priority=100,in_port=1,actions=output:3'");
    advance(4);
    expect(seq("-O OpenFlow13 dump-flows br0 --sort")).toBe(
      ` cookie=0x0, duration=1.514s, table=0, n_packets=0, n_bytes=0, reset_counts priority=50,in_port=1 actions=output:3
 cookie=0x0, duration=0.004s, table=0, n_packets=1, n_bytes=118, priority=100,in_port=1 actions=output:3
`,
    );
    seq("mod-flows br0 'in_port=1,actions=output:2'");
    expect(seq("-O OpenFlow13 dump-flows br0 --rsort")).toContain(
      "duration=0.004s, table=0, n_packets=1, n_bytes=118, priority=100,in_port=1 actions=output:2",
    );
    seq("-O OpenFlow13 mod-flows br0 'in_port=1,reset_counts,actions=output:2'");
    expect(seq("-O OpenFlow13 dump-flows br0 --rsort")).toContain(
      "duration=0.004s, table=0, n_packets=0, n_bytes=0, priority=100,in_port=1 actions=output:2",
    );
  });
  it("OpenFlow 1.0 dump: NXST_FLOW header, idle_age, and hard_age once a modify restarted it", () => {
    const { seq, advance } = fixture();
    seq("add-flow br0 'priority=100,in_port=1,ip,actions=output:2'");
    advance(1506);
    expect(seq("dump-flows br0")).toBe(
      "NXST_FLOW reply (xid=0x4):\n cookie=0x0, duration=1.506s, table=0, n_packets=0, n_bytes=0, idle_age=1, priority=100,ip,in_port=1 actions=output:2\n",
    );
    seq("mod-flows br0 'cookie=0x5,in_port=1,actions=output:2'");
    advance(6);
    expect(seq("dump-flows br0 in_port=1")).toBe(
      "NXST_FLOW reply (xid=0x8):\n cookie=0x5, duration=1.512s, table=0, n_packets=0, n_bytes=0, idle_age=1, hard_age=0, priority=100,ip,in_port=1 actions=output:2\n",
    );
    // The sorted path prints what it fetched itself: no header, no Nicira ages.
    expect(seq("dump-flows br0 --sort")).toBe(
      " cookie=0x5, duration=1.512s, table=0, n_packets=0, n_bytes=0, priority=100,ip,in_port=1 actions=output:2\n",
    );
  });
});

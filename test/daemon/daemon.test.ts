// The daemon and the OVS-style client commands, end to end through the real program: start it
// detached in a temporary run directory, configure it only with vsctl/ofctl/appctl, inject
// packets, read dumps and traces, stop it.
//
// Expected texts are Open vSwitch 3.1's (userspace, dummy ports), from the commands quoted with
// each; the program name in messages is ours.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, "../../bin/offload-emu.js");

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

function emu(dir: string) {
  return async (...argv: string[]): Promise<Out> => {
    try {
      const r = await run(process.execPath, [BIN, ...argv], {
        cwd: dir,
        env: { ...process.env, OFFLOAD_EMU_RUNDIR: join(dir, "run") },
      });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, stdout: x.stdout, stderr: x.stderr };
    }
  };
}

const PKT =
  "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1234,dst=80)";

describe("daemon, vsctl, ofctl, appctl", () => {
  const dir = mkdtempSync(join(tmpdir(), "emu-d-"));
  const e = emu(dir);

  beforeAll(async () => {
    const r = await e("start", "--detach");
    expect(r).toMatchObject({ code: 0 });
  }, 30_000);
  afterAll(async () => {
    await e("appctl", "exit");
  });

  it("refuses a second daemon on the same run directory", async () => {
    const r = await e("start");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/a daemon is already running in .*run/);
  });

  it("configures bridges and ports as ovs-vsctl does", async () => {
    // OVS 3.1: same commands with ovs-vsctl; `show` printed these lines (ports in hash order there).
    expect(
      (await e("vsctl", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy", "fail_mode=secure")).code,
    ).toBe(0);
    expect(
      (
        await e(
          "vsctl",
          "add-port",
          "br0",
          "p1",
          "--",
          "set",
          "Interface",
          "p1",
          "type=dummy",
          "ofport_request=1",
          "--",
          "add-port",
          "br0",
          "p2",
          "--",
          "set",
          "Interface",
          "p2",
          "type=dummy",
          "ofport_request=2",
          "options:tx_pcap=p2-tx.pcap",
          "options:a=b",
        )
      ).code,
    ).toBe(0);
    const bad = await e("vsctl", "add-port", "br0", "zz", "--", "set", "Interface", "zz", "type=bogus");
    expect(bad.stderr).toContain(
      "Error detected while setting up 'zz': could not open network device zz (Address family not supported by protocol).",
    );
    const show = (await e("vsctl", "show")).stdout;
    expect(show).toContain(`    Bridge br0
        fail_mode: secure
        datapath_type: dummy
        Port br0
            Interface br0
                type: internal
        Port p1
            Interface p1
                type: dummy
        Port p2
            Interface p2
                type: dummy
                options: {a=b, tx_pcap=p2-tx.pcap}
        Port zz
            Interface zz
                type: bogus
                error: "could not open network device zz (Address family not supported by protocol)"
`);
    expect((await e("vsctl", "get", "Interface", "p1", "ofport")).stdout).toBe("1\n");
    expect((await e("vsctl", "get", "Interface", "p2", "options")).stdout).toBe("{a=b, tx_pcap=p2-tx.pcap}\n");
    expect((await e("vsctl", "get", "Interface", "p2", "options:a")).stdout).toBe("b\n");
    expect((await e("vsctl", "list-ports", "br0")).stdout).toBe("p1\np2\nzz\n");
    expect((await e("vsctl", "br-exists", "br9")).code).toBe(2);
    // OVS 3.1's messages for these mistakes (exit status 1).
    for (const [argv, msg] of [
      [["add-br", "br0"], "cannot create a bridge named br0 because a bridge named br0 already exists"],
      [["del-br", "br1"], "no bridge named br1"],
      [["add-port", "br0", "p1"], "cannot create a port named p1 because a port named p1 already exists on bridge br0"],
      [["set", "Interface", "p9", "type=dummy"], 'no row "p9" in table Interface'],
      [["set", "Interface", "p1", "foo=1"], 'Interface does not contain a column whose name matches "foo"'],
      [["del-port", "br0", "nope"], "no port named nope"],
      [["bogus"], "unknown command 'bogus'; use --help for help"],
      [["add-br"], "'add-br' command requires at least 1 arguments"],
    ] as const) {
      const r = await e("vsctl", ...argv);
      expect(r, argv.join(" ")).toEqual({ code: 1, stdout: "", stderr: `offload-emu vsctl: ${msg}\n` });
    }
    expect((await e("vsctl", "--if-exists", "del-port", "br0", "nope")).code).toBe(0);
  });

  it("forwards, dumps and traces as OVS does", async () => {
    writeFileSync(join(dir, "flows.txt"), "in_port=1,actions=output:2\npriority=0,actions=drop\n");
    expect(await e("ofctl", "add-flows", "br0", "flows.txt")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect((await e("appctl", "netdev-dummy/receive", "p1", PKT, PKT)).code).toBe(0);
    // OVS 3.1 (same set-up): the datapath flow with one packet counted (the first was the upcall).
    expect((await e("appctl", "dpctl/dump-flows")).stdout).toBe(`flow-dump from the main thread:
recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no), packets:1, bytes:118, used:0.000s, actions:2
`);
    const trace = (await e("appctl", "ofproto/trace", "br0", "in_port=1,tcp,nw_dst=10.0.0.2")).stdout;
    expect(trace).toContain(" 0. in_port=1, priority 32768\n    output:2\n");
    expect(trace).toMatch(
      /Megaflow: recirc_id=0,eth,in_port=1,dl_type=0x0000\n|Megaflow: recirc_id=0,eth,ip,in_port=1,nw_frag=no\nDatapath actions: 2\n/,
    );
    expect(trace.endsWith("Datapath actions: 2\n")).toBe(true);
    expect((await e("ofctl", "dump-flows", "br0")).stdout).toContain(
      "n_packets=2, n_bytes=236, idle_age=0, in_port=1 actions=output:2",
    );
    // The tx_pcap capture holds both packets, readable as soon as the command returned.
    const dec = await e("decode", "p2-tx.pcap");
    expect(dec.stdout.trim().split("\n")).toHaveLength(2);
  });

  it("reports appctl errors as ovs-appctl does", async () => {
    const r = await e("appctl", "bogus");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^"bogus" is not a valid command \(use "list-commands" to see a list of valid commands\)\noffload-emu appctl: .*: server returned an error\n$/,
    );
    expect((await e("appctl", "list-commands")).stdout).toMatch(
      /^The available commands are:\n(.|\n)* {2}dpctl\/dump-flows /,
    );
  });
});

describe("stopping", () => {
  it("appctl exit removes the socket and pid file; clients then say how to start it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "emu-d-"));
    const e = emu(dir);
    expect((await e("start", "--detach")).code).toBe(0);
    expect(existsSync(join(dir, "run", "offload-emu.pid"))).toBe(true);
    expect((await e("vsctl", "add-br", "brX")).code).toBe(0);
    await e("appctl", "exit");
    for (let i = 0; i < 50 && existsSync(join(dir, "run", "offload-emu.ctl")); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(join(dir, "run", "offload-emu.ctl"))).toBe(false);
    expect(existsSync(join(dir, "run", "offload-emu.pid"))).toBe(false);
    const r = await e("vsctl", "show");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot connect to .*offload-emu\.ctl \(start it with offload-emu start --detach\)/);
    // The configuration survives a restart, as OVSDB's does.
    expect((await e("start", "--detach")).code).toBe(0);
    expect((await e("vsctl", "list-br")).stdout).toBe("brX\n");
    await e("appctl", "exit");
  }, 30_000);
});

describe("the offload hierarchy through the commands alone", () => {
  const dir = mkdtempSync(join(tmpdir(), "emu-d-"));
  const e = emu(dir);
  beforeAll(async () => {
    expect((await e("start", "--detach")).code).toBe(0);
  }, 30_000);
  afterAll(async () => {
    await e("appctl", "exit");
  });

  const pkt = (inPort: number, src: string, dst: string, sport: number): string =>
    `in_port(${inPort}),eth(src=${src},dst=${dst}),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=${sport},dst=80)`;

  it("offloads, falls back for the three reasons, and refuses with reasons", async () => {
    const ok = async (...argv: string[]) => {
      const r = await e(...argv);
      expect(r.stderr, argv.join(" ")).toBe("");
      expect(r.code).toBe(0);
      return r.stdout;
    };
    await ok(
      "vsctl",
      "add-br",
      "br0",
      "--",
      "set",
      "bridge",
      "br0",
      "fail_mode=secure",
      "--",
      "add-port",
      "br0",
      "pf0",
      "--",
      "set",
      "Interface",
      "pf0",
      "type=uplink",
      "options:n_vfs=2",
      "options:hw-l2-entries=2",
      "ofport_request=10",
      "--",
      "add-port",
      "br0",
      "vm1",
      "--",
      "set",
      "Interface",
      "vm1",
      "type=vf",
      "options:pf=pf0",
      "options:vf=0",
      "ofport_request=1",
      "--",
      "add-port",
      "br0",
      "vm2",
      "--",
      "set",
      "Interface",
      "vm2",
      "type=vf",
      "options:pf=pf0",
      "options:vf=1",
      "ofport_request=2",
      "--",
      "add-port",
      "br0",
      "pf1",
      "--",
      "set",
      "Interface",
      "pf1",
      "type=uplink",
      "options:n_vfs=1",
      "options:switch_id=2",
      "ofport_request=20",
      "--",
      "add-port",
      "br0",
      "vm3",
      "--",
      "set",
      "Interface",
      "vm3",
      "type=vf",
      "options:pf=pf1",
      "options:vf=0",
      "ofport_request=3",
      "--",
      "set",
      "Open_vSwitch",
      ".",
      "other_config:hw-offload=true",
    );
    await ok("ofctl", "add-flow", "br0", "in_port=1,tcp,tp_src=1,actions=output:2");
    await ok("ofctl", "add-flow", "br0", "in_port=1,tcp,tp_src=2,actions=controller,output:2");
    await ok("ofctl", "add-flow", "br0", "in_port=1,tcp,tp_src=3,actions=output:3");
    await ok("ofctl", "add-flow", "br0", "in_port=1,tcp,tp_src=4,actions=output:2");
    await ok("ofctl", "add-flow", "br0", "in_port=1,tcp,tp_src=5,actions=output:2");
    await ok("ofctl", "add-flow", "br0", "priority=1,actions=NORMAL");
    const a = "50:54:00:00:00:01";
    const b = "50:54:00:00:00:02";
    // (1) unknown flows: every first packet goes to the host on vm1's representor.
    for (const sport of [1, 2, 3, 4, 5])
      await ok("appctl", "netdev-dummy/receive", "vm1", pkt(1, a, b, sport), pkt(1, a, b, sport));
    const dump = await ok("appctl", "dpctl/dump-flows", "-m");
    const line = (sport: number) => dump.split("\n").find((l) => new RegExp(`tcp\\(src=${sport}[,/]`).test(l)) ?? "";
    expect(line(1)).toContain("offloaded:yes, dp:nic");
    expect(line(2)).toContain("offload-refused(action userspace not supported)");
    expect(line(3)).toContain("offload-refused(output to vm3: on switch id 2 (pf1), ingress on switch id 1 (pf0))");
    expect(line(4)).toContain("offloaded:yes, dp:nic");
    expect(line(5)).toContain("offload-refused(table full (2 entries))");
    // (2) host traffic and (3) what the NIC cannot classify.
    await ok("appctl", "netdev-dummy/ip4addr", "br0", "192.0.2.1/24");
    await ok(
      "appctl",
      "netdev-dummy/receive",
      "pf0",
      "in_port(10),eth(src=50:54:00:00:00:05,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=192.0.2.5,tip=192.0.2.1,op=1,sha=50:54:00:00:00:05,tha=00:00:00:00:00:00)",
    );
    await ok(
      "appctl",
      "netdev-dummy/receive",
      "vm1",
      `${b.replace(/:/g, "")}${a.replace(/:/g, "")}88b5${"00".repeat(46)}`,
    );
    const show = await ok("appctl", "offload/show");
    // Misses: five first packets, and the second packets of the three flows left in software.
    expect(show).toMatch(/NIC to host:\n {2}miss: 8\n {2}host: 1\n {2}unclassifiable: 1\n/);
    expect(show).toContain("  total: 12\n");
    expect(show).toMatch(/nic-l2: 2 /);
  }, 60_000);
});

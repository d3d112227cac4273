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

interface Out { code: number; stdout: string; stderr: string }

function emu(dir: string) {
  return async (...argv: string[]): Promise<Out> => {
    try {
      const r = await run(process.execPath, [BIN, ...argv], { cwd: dir, env: { ...process.env, OFFLOAD_EMU_RUNDIR: join(dir, "run") } });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, stdout: x.stdout, stderr: x.stderr };
    }
  };
}

const PKT = "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1234,dst=80)";

describe("daemon, vsctl, ofctl, appctl", () => {
  const dir = mkdtempSync(join(tmpdir(), "emu-d-"));
  const e = emu(dir);

  beforeAll(async () => {
    const r = await e("start", "--detach");
    expect(r).toMatchObject({ code: 0 });
  }, 30_000);
  afterAll(async () => { await e("appctl", "exit"); });

  it("refuses a second daemon on the same run directory", async () => {
    const r = await e("start");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/a daemon is already running in .*run/);
  });

  it("configures bridges and ports as ovs-vsctl does", async () => {
    // OVS 3.1: same commands with ovs-vsctl; `show` printed these lines (ports in hash order there).
    expect((await e("vsctl", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy", "fail_mode=secure")).code).toBe(0);
    expect((await e("vsctl", "add-port", "br0", "p1", "--", "set", "Interface", "p1", "type=dummy", "ofport_request=1",
      "--", "add-port", "br0", "p2", "--", "set", "Interface", "p2", "type=dummy", "ofport_request=2", "options:tx_pcap=p2-tx.pcap", "options:a=b")).code).toBe(0);
    const bad = await e("vsctl", "add-port", "br0", "zz", "--", "set", "Interface", "zz", "type=bogus");
    expect(bad.stderr).toContain("Error detected while setting up 'zz': could not open network device zz (Address family not supported by protocol).");
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
      [["set", "Interface", "p9", "type=dummy"], "no row \"p9\" in table Interface"],
      [["set", "Interface", "p1", "foo=1"], "Interface does not contain a column whose name matches \"foo\""],
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
    expect(trace).toMatch(/Megaflow: recirc_id=0,eth,in_port=1,dl_type=0x0000\n|Megaflow: recirc_id=0,eth,ip,in_port=1,nw_frag=no\nDatapath actions: 2\n/);
    expect(trace.endsWith("Datapath actions: 2\n")).toBe(true);
    expect((await e("ofctl", "dump-flows", "br0")).stdout).toContain("n_packets=2, n_bytes=236, idle_age=0, in_port=1 actions=output:2");
    // The tx_pcap capture holds both packets, readable as soon as the command returned.
    const dec = await e("decode", "p2-tx.pcap");
    expect(dec.stdout.trim().split("\n")).toHaveLength(2);
  });

  it("reports appctl errors as ovs-appctl does", async () => {
    const r = await e("appctl", "bogus");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^"bogus" is not a valid command \(use "list-commands" to see a list of valid commands\)\noffload-emu appctl: .*: server returned an error\n$/);
    expect((await e("appctl", "list-commands")).stdout).toMatch(/^The available commands are:\n(.|\n)*  dpctl\/dump-flows /);
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
    for (let i = 0; i < 50 && existsSync(join(dir, "run", "offload-emu.ctl")); i++) await new Promise((r) => setTimeout(r, 50));
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

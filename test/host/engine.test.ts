// The offload hierarchy end to end, in-process: NIC L1/L2, host datapath, upcalls, the offload
// manager and its refusals, revalidation, ageing by hardware counters, captures.
//
// Expectations: OVS-format texts (dpctl/dump-flows, dpif/show, fdb/show) come from Open vSwitch
// 3.1 run with dummy ports (commands in each test's comment); the offload rules (switch id,
// capabilities, capacity) from issue 7 and the switchdev design; tier counts from the packets
// each test sends.

import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { type HostEngine, TIER_NAMES } from "../../src/host/engine.ts";
import { engineWithCommands } from "./engine-fixture.ts";
import type { CommandTable } from "../../src/ctl/registry.ts";
import { addPort, newBridge, newInterface, type BridgeConfig, type OvsConfig } from "../../src/ovsdb/config.ts";
import { composeFlow } from "../../src/flow/compose.ts";
import { readCaptureFile } from "../../src/io/capture.ts";
import { requireTool } from "../helpers.ts";

interface Host {
  e: HostEngine;
  cmds: CommandTable;
  root: OvsConfig;
  br: BridgeConfig;
  app(...argv: string[]): Promise<string>;
  ofctl(...argv: string[]): string;
  send(port: string, flow: string, n?: number): Promise<void>;
  tiers(): Record<string, number>;
}

const TCP = (inPort: number, dst = "10.0.0.2", sport = 1234): string =>
  `in_port(${inPort}),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),` +
  `ipv4(src=10.0.0.1,dst=${dst},proto=6,tos=0,ttl=64,frag=no),tcp(src=${sport},dst=80)`;

/** br0 (dummy datapath, secure) with an uplink pf0 (4 VFs), VF representors pf0vf0/1 and a dummy p3. */
function host(opts: { hw?: boolean; uplink?: Record<string, string>; extra?: (br: BridgeConfig) => void } = {}): Host {
  const br = newBridge("br0", "dummy", "secure");
  addPort(br, newInterface("pf0", "uplink", { n_vfs: "4", ...opts.uplink }, 10));
  addPort(br, newInterface("pf0vf0", "vf", { pf: "pf0", vf: "0" }, 1));
  addPort(br, newInterface("pf0vf1", "vf", { pf: "pf0", vf: "1" }, 2));
  addPort(br, newInterface("p3", "dummy", {}, 3));
  opts.extra?.(br);
  const root: OvsConfig = { bridges: [br], other_config: new Map([["hw-offload", String(opts.hw ?? true)]]) };
  const { e, cmds } = engineWithCommands({ root });
  e.reconfigure();
  const app = async (...argv: string[]): Promise<string> => {
    const r = await cmds.run(argv);
    if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  return {
    e,
    cmds,
    root,
    br,
    app,
    ofctl: (...argv) => {
      const r = e.ofctl(argv, { cwd: process.cwd() });
      if (r.code !== 0) throw new Error(r.stderr);
      return r.stdout;
    },
    send: async (port, flow, n = 1) => {
      await app("netdev-dummy/receive", port, ...Array<string>(n).fill(flow));
    },
    tiers: () => Object.fromEntries(TIER_NAMES.map((t, i) => [t, e.tiers[i] as number])),
  };
}

/** Every packet received on any port is counted in exactly one tier. */
function expectTiersAddUp(h: Host): void {
  let rx = 0;
  for (const d of h.e.devs.values()) rx += d.rxPackets + d.rxDropped;
  expect(h.e.packetsReceived).toBe(rx);
}

const odp = (h: Host, name: string): number => (h.e.devByName(name) as { odpPort: number }).odpPort;

describe("offload hierarchy", () => {
  it("first packet upcalls, the next hits NIC L2 (installing L1), then L1", async () => {
    const h = host();
    h.ofctl("add-flow", "br0", "in_port=1,ip,actions=output:2");
    await h.send("pf0vf0", TCP(1), 3);
    expect(h.tiers()).toMatchObject({ upcall: 1, "nic-l2": 1, "nic-l1": 1, "dp-megaflow": 0, drop: 0 });
    expect(h.e.devByName("pf0vf1")?.txPackets).toBe(3);
    const dump = await h.app("dpctl/dump-flows", "-m");
    expect(dump).toContain("in_port(pf0vf0)");
    expect(dump).toContain("packets:2, bytes:236, used:0.000s, offloaded:yes, dp:nic, actions:pf0vf1");
    expect(await h.app("dpctl/dump-flows", "type=ovs")).toBe("");
    expect(await h.app("dpctl/dump-flows", "type=offloaded")).toContain(`in_port(${odp(h, "pf0vf0")})`);
    // The revalidator credits the OpenFlow rule with the NIC's packets too.
    await h.app("revalidator/wait");
    expect(h.ofctl("dump-flows", "br0", "--no-stats")).toContain("ip,in_port=1 actions=output:2");
    expect(h.ofctl("dump-flows", "br0")).toContain("n_packets=3, n_bytes=354");
    expectTiersAddUp(h);
  });

  it("without hw-offload every packet stays on the host: upcall, then megaflow/EMC hits", async () => {
    const h = host({ hw: false });
    h.ofctl("add-flow", "br0", "in_port=1,ip,actions=output:2");
    await h.send("pf0vf0", TCP(1), 5);
    const t = h.tiers();
    expect(t["upcall"]).toBe(1);
    expect((t["dp-megaflow"] as number) + (t["dp-emc"] as number)).toBe(4);
    expect(t["nic-l1"]! + t["nic-l2"]!).toBe(0);
    // OVS without hw-offload prints no offloaded field, and dp:ovs.
    expect(await h.app("dpctl/dump-flows", "-m")).toMatch(
      /packets:4, bytes:472, used:0\.000s, dp:ovs, actions:pf0vf1\n$/,
    );
    expectTiersAddUp(h);
  });

  it("switching hw-offload on offers existing flows; off takes them back", async () => {
    const h = host({ hw: false });
    h.ofctl("add-flow", "br0", "in_port=1,ip,actions=output:2");
    await h.send("pf0vf0", TCP(1));
    h.root.other_config.set("hw-offload", "true");
    h.e.reconfigure();
    expect(await h.app("dpctl/dump-flows", "-m")).toContain("offloaded:yes, dp:nic");
    await h.send("pf0vf0", TCP(1));
    expect(h.tiers()["nic-l2"]).toBe(1);
    h.root.other_config.set("hw-offload", "false");
    h.e.reconfigure();
    await h.send("pf0vf0", TCP(1));
    expect(h.tiers()["nic-l2"]! + h.tiers()["nic-l1"]!).toBe(1);
    expect(await h.app("dpctl/dump-flows", "type=offloaded")).toBe("");
    expectTiersAddUp(h);
  });
});

describe("fallback to the host", () => {
  it("(1) a flow the NIC does not know yet: on the representor of its ingress port", async () => {
    const h = host();
    h.ofctl("add-flow", "br0", "in_port=1,ip,actions=output:2");
    await h.send("pf0vf0", TCP(1));
    expect(h.e.fallbacks.get("miss")).toBe(1);
    expect(h.e.devByName("pf0vf0")?.rxPackets).toBe(1);
    expectTiersAddUp(h);
  });

  it("(2) traffic for the host itself (ARP for its IP) is never looked up on the NIC", async () => {
    const h = host();
    // A catch-all flow from the uplink that the NIC would otherwise match.
    h.ofctl("add-flow", "br0", "in_port=10,actions=output:1");
    expect(await h.app("netdev-dummy/ip4addr", "br0", "192.0.2.1/24")).toBe("OK\n");
    const arp =
      "in_port(1),eth(src=50:54:00:00:00:05,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806)," +
      "arp(sip=192.0.2.5,tip=192.0.2.1,op=1,sha=50:54:00:00:00:05,tha=00:00:00:00:00:00)";
    await h.send("pf0", arp, 3);
    expect(h.e.fallbacks.get("host")).toBe(3);
    // The host handled all three: one upcall, then the datapath.
    expect(h.tiers()["upcall"]! + h.tiers()["dp-megaflow"]! + h.tiers()["dp-emc"]!).toBe(3);
    // ARP for another address is ordinary traffic and goes through the NIC once offloaded.
    const other = arp.replace("tip=192.0.2.1", "tip=192.0.2.9");
    await h.send("pf0", other, 3);
    expect(h.tiers()["nic-l1"]! + h.tiers()["nic-l2"]!).toBeGreaterThan(0);
    expectTiersAddUp(h);
  });

  it("(3) what the NIC cannot classify (unknown EtherType, truncated IPv4) goes to the host", async () => {
    const h = host();
    h.ofctl("add-flow", "br0", "in_port=1,actions=output:2");
    const eth = "5054000000025054000000010000";
    const unknown = `${eth.slice(0, 24)}88b5${"ab".repeat(46)}`;
    await h.send("pf0vf0", unknown, 3);
    const truncated = `${eth.slice(0, 24)}0800450000280000`; // an IPv4 header cut at 4 bytes
    await h.send("pf0vf0", truncated, 2);
    expect(h.e.fallbacks.get("unclassifiable")).toBe(5);
    expect(h.e.devByName("pf0vf1")?.txPackets).toBe(5);
    expectTiersAddUp(h);
  });

  it("(3) a flow with an action the NIC cannot run stays in software with the reason", async () => {
    const h = host();
    h.ofctl("add-flow", "br0", "in_port=1,ip,actions=controller,output:2");
    await h.send("pf0vf0", TCP(1), 3);
    const dump = await h.app("dpctl/dump-flows", "-m");
    expect(dump).toContain("offloaded:no, dp:ovs");
    expect(dump).toMatch(/offload-refused\(action userspace not supported\)/);
    // A slow-path flow sends every packet to userspace; the output still happens.
    expect(h.tiers()["upcall"]).toBe(3);
    expect(h.e.devByName("pf0vf1")?.txPackets).toBe(3);
    expect(await h.app("offload/show")).toMatch(/not offloaded:\n {2}ufid:[0-9a-f-]+: action userspace not supported/);
    expectTiersAddUp(h);
  });
});

describe("refused offloads", () => {
  it("table full: the NIC's L2 table has room for one flow", async () => {
    const h = host({ uplink: { "hw-l2-entries": "1" } });
    h.ofctl("add-flow", "br0", "in_port=1,tcp,tp_src=1234,actions=output:2");
    h.ofctl("add-flow", "br0", "in_port=1,tcp,tp_src=1235,actions=output:2");
    await h.send("pf0vf0", TCP(1, "10.0.0.2", 1234));
    await h.send("pf0vf0", TCP(1, "10.0.0.2", 1235));
    const dump = await h.app("dpctl/dump-flows", "-m");
    expect(dump.match(/offloaded:yes/g)).toHaveLength(1);
    expect(dump).toContain("offload-refused(table full (1 entries))");
  });

  it("a bigger table (options:hw-l2-entries changed) takes the refused flow; hw-l1-entries=0 leaves every hit to L2", async () => {
    const h = host({ uplink: { "hw-l2-entries": "1" } });
    h.ofctl("add-flow", "br0", "in_port=1,tcp,tp_src=1234,actions=output:2");
    h.ofctl("add-flow", "br0", "in_port=1,tcp,tp_src=1235,actions=output:2");
    await h.send("pf0vf0", TCP(1, "10.0.0.2", 1234));
    await h.send("pf0vf0", TCP(1, "10.0.0.2", 1235));
    expect((await h.app("dpctl/dump-flows", "-m")).match(/offloaded:yes/g)).toHaveLength(1);
    const pf0 = h.br.ports.find((p) => p.name === "pf0")?.interfaces[0] as {
      options: Map<string, string>;
      error: string | null;
    };
    pf0.options.set("hw-l2-entries", "4");
    pf0.options.set("hw-l1-entries", "0");
    h.e.reconfigure();
    expect(pf0.error).toBeNull();
    // The NIC was rebuilt and both flows offered again: both fit now.
    expect((await h.app("dpctl/dump-flows", "-m")).match(/offloaded:yes/g)).toHaveLength(2);
    const before = h.tiers();
    await h.send("pf0vf0", TCP(1, "10.0.0.2", 1234), 3);
    await h.send("pf0vf0", TCP(1, "10.0.0.2", 1235), 3);
    const after = h.tiers();
    // No L1 tracker: every packet is an L2 hit.
    expect((after["nic-l2"] as number) - (before["nic-l2"] as number)).toBe(6);
    expect(after["nic-l1"]).toBe(before["nic-l1"]);
    // n_vfs cannot change under existing VFs.
    pf0.options.set("n_vfs", "8");
    h.e.reconfigure();
    expect(pf0.error).toBe(
      "pf0: n_vfs and switch_id are fixed once the uplink exists (delete and add the port again to change them)",
    );
    expectTiersAddUp(h);
  });

  it("different switch id: output to a VF of another NIC", async () => {
    const h = host({
      extra: (br) => {
        addPort(br, newInterface("pf1", "uplink", { n_vfs: "2", switch_id: "7" }, 20));
        addPort(br, newInterface("pf1vf0", "vf", { pf: "pf1", vf: "0" }, 21));
      },
    });
    h.ofctl("add-flow", "br0", "in_port=1,ip,actions=output:21");
    await h.send("pf0vf0", TCP(1), 2);
    const dump = await h.app("dpctl/dump-flows", "-m");
    expect(dump).toContain("offload-refused(output to pf1vf0: on switch id 7 (pf1), ingress on switch id 1 (pf0))");
    expect(h.tiers()["dp-megaflow"]! + h.tiers()["dp-emc"]!).toBe(1);
    expect(h.e.devByName("pf1vf0")?.txPackets).toBe(2);
  });

  it("unsupported match field: the NIC cannot match nw_tos", async () => {
    const h = host({ uplink: { "hw-match": "-nw_tos" } });
    h.ofctl("add-flow", "br0", "in_port=1,ip,nw_tos=0,actions=output:2");
    await h.send("pf0vf0", TCP(1));
    expect(await h.app("dpctl/dump-flows", "-m")).toMatch(
      /offload-refused\(match on nw_(tos|dscp)[^)]* not supported\)/,
    );
  });

  it("an output to a host-only port cannot be offloaded", async () => {
    const h = host();
    h.ofctl("add-flow", "br0", "in_port=1,ip,actions=output:3");
    await h.send("pf0vf0", TCP(1));
    expect(await h.app("dpctl/dump-flows", "-m")).toContain(
      "offload-refused(output to p3: not a representor (type dummy))",
    );
  });
});

describe("revalidation and ageing", () => {
  it("a changed rule changes the datapath flow and the NIC's copy", async () => {
    const h = host();
    h.ofctl("add-flow", "br0", "in_port=1,ip,actions=output:2");
    await h.send("pf0vf0", TCP(1), 2);
    h.ofctl("mod-flows", "br0", "in_port=1,ip,actions=output:10");
    await h.send("pf0vf0", TCP(1));
    // Still handled on the NIC, now out of the uplink.
    expect(h.tiers()["nic-l1"]! + h.tiers()["nic-l2"]!).toBe(2);
    expect(h.e.devByName("pf0")?.txPackets).toBe(1);
    expect(await h.app("dpctl/dump-flows")).toContain(`actions:${odp(h, "pf0")}`);
  });

  it("hardware counters keep an offloaded flow alive; idle, it goes after max-idle", async () => {
    const h = host();
    h.ofctl("add-flow", "br0", "in_port=1,ip,actions=output:2");
    await h.send("pf0vf0", TCP(1));
    for (let i = 0; i < 6; i++) {
      await h.app("time/warp", "5000");
      await h.send("pf0vf0", TCP(1)); // on the NIC only: the host sees nothing
    }
    expect(h.e.dp.count).toBe(1);
    expect(h.e.dp.missed).toBe(1);
    await h.app("time/warp", "10000", "500");
    expect(h.e.dp.count).toBe(0);
    expect(h.e.nics.get("pf0")?.esw.counters().l2Entries).toBe(0);
  });

  it("NORMAL floods first, then unicasts once both MACs are learned (revalidated)", async () => {
    const h = host();
    h.ofctl("add-flow", "br0", "actions=NORMAL");
    const a2b = TCP(1).replace("in_port(1)", "in_port(2)");
    const b2a =
      "in_port(4),eth(src=50:54:00:00:00:02,dst=50:54:00:00:00:01),eth_type(0x0800)," +
      "ipv4(src=10.0.0.2,dst=10.0.0.1,proto=6,tos=0,ttl=64,frag=no),tcp(src=80,dst=1234)";
    await h.send("pf0vf0", a2b);
    await h.send("pf0vf1", b2a);
    // After learning, a→b goes to pf0vf1 only, on the NIC.
    await h.send("pf0vf0", a2b, 2);
    const dump = await h.app("dpctl/dump-flows");
    expect(dump).toContain(
      `in_port(${odp(h, "pf0vf0")}),packet_type(ns=0,id=0),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(frag=no)`,
    );
    expect(dump).toMatch(
      new RegExp(
        `eth\\(src=50:54:00:00:00:01,dst=50:54:00:00:00:02\\),eth_type\\(0x0800\\),ipv4\\(frag=no\\), packets:2, bytes:236, used:0\\.000s, actions:${odp(h, "pf0vf1")}\n`,
      ),
    );
    expect(await h.app("fdb/show", "br0")).toBe(
      " port  VLAN  MAC                Age\n    1     0  50:54:00:00:00:01    0\n    2     0  50:54:00:00:00:02    0\n",
    );
    expectTiersAddUp(h);
  });
});

describe("OVS output formats on dummy ports", () => {
  // OVS 3.1: add-br br0 (datapath_type=dummy, fail_mode=secure); add-port p1/p2/p7 type=dummy
  // ofport_request=1/2/3; add-flow br0 in_port=1,actions=output:2; netdev-dummy/receive p1 TCP
  // twice; then `ovs-appctl dpif/show`, `ovs-appctl dpctl/dump-flows`, `ovs-appctl dpctl/show`.
  it("dpif/show, dpctl/dump-flows and dpctl/show", async () => {
    const br = newBridge("br0", "dummy", "secure");
    addPort(br, newInterface("p1", "dummy", {}, 1));
    addPort(br, newInterface("p2", "dummy", {}, 2));
    addPort(br, newInterface("p7", "dummy", {}, 3));
    const { e, cmds } = engineWithCommands({ root: { bridges: [br], other_config: new Map() } });
    e.reconfigure();
    const run = async (...a: string[]) => (await cmds.run(a)).stdout;
    expect(await run("dpif/show")).toBe(`dummy@ovs-dummy: hit:0 missed:0
  br0:
    br0 65534/100: (dummy-internal)
    p1 1/1: (dummy)
    p2 2/2: (dummy)
    p7 3/7: (dummy)
`);
    expect(e.ofctl(["add-flow", "br0", "in_port=1,actions=output:2"], { cwd: "." }).code).toBe(0);
    await run("netdev-dummy/receive", "p1", TCP(1), TCP(1));
    // OVS printed used:0.004s (wall clock); ours is the virtual clock, which has not moved.
    expect(await run("dpctl/dump-flows")).toBe(`flow-dump from the main thread:
recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no), packets:1, bytes:118, used:0.000s, actions:2
`);
    expect(await run("dpctl/show")).toBe(`dummy@ovs-dummy:
  lookups: hit:1 missed:1 lost:0
  flows: 1
  port 0: ovs-dummy (dummy-internal)
  port 1: p1 (dummy)
  port 2: p2 (dummy)
  port 7: p7 (dummy)
  port 100: br0 (dummy-internal)
`);
    // OVS: `ovs-appctl time/warp 1000` prints "warped"; an unknown port "no such dummy netdev".
    expect(await run("time/warp", "1000")).toBe("warped\n");
    expect((await cmds.run(["netdev-dummy/receive", "nosuch", "00"])).stderr).toBe("no such dummy netdev\n");
  });
});

describe("captures", () => {
  const run = async (dir: string): Promise<Buffer> => {
    const h = host({
      extra: (br) => {
        for (const p of br.ports) {
          const i = p.interfaces[0];
          if (i && (i.name === "pf0vf0" || i.name === "pf0vf1")) i.options.set("pcap", join(dir, "all.pcapng"));
          if (i && i.name === "p3") i.options.set("tx_pcap", join(dir, "p3-tx.pcap"));
        }
      },
    });
    h.ofctl("add-flow", "br0", "in_port=1,ip,actions=output:2,output:3");
    h.ofctl("add-flow", "br0", "in_port=1,arp,actions=output:2");
    await h.send("pf0vf0", TCP(1), 2);
    await h.app("time/warp", "1000");
    await h.send("pf0vf0", TCP(1, "10.0.0.3"));
    await h.e.close();
    return readFileSync(join(dir, "all.pcapng"));
  };

  it("one pcapng holds each port as an interface, every packet's comment names its tier and flow", async () => {
    const dir = mkdtempSync(join(tmpdir(), "emu-cap-"));
    await run(dir);
    const cap = readCaptureFile(join(dir, "all.pcapng"));
    expect(cap.error).toBeUndefined();
    expect(cap.interfaces.map((i) => i.name)).toEqual(["pf0vf0", "pf0vf1"]);
    const comments = cap.packets.map((p) => p.comment ?? "");
    // rx on pf0vf0 then tx on pf0vf1, per packet; the output to p3 keeps every packet on the host.
    expect(comments).toHaveLength(6);
    expect(comments[0]).toMatch(
      /^upcall: recirc_id\(0\),in_port\(\d+\),eth_type\(0x0800\),ipv4\(frag=no\), actions:\d+,3$/,
    );
    expect(comments[2]).toMatch(/^dp-(megaflow|emc): /);
    expect(cap.packets[4]?.ts).toBe((cap.packets[0]!.ts as bigint) + 1_000_000_000n);
    const tx = readCaptureFile(join(dir, "p3-tx.pcap"));
    expect(tx.packets).toHaveLength(3);
    expect(Buffer.from(tx.packets[0]!.data)).toEqual(Buffer.from(composeFlow(TCP(1))));
  });

  it("the same input gives byte-identical captures", async () => {
    const a = await run(mkdtempSync(join(tmpdir(), "emu-cap-")));
    const b = await run(mkdtempSync(join(tmpdir(), "emu-cap-")));
    expect(a.equals(b)).toBe(true);
  });

  describe.runIf(requireTool("tshark"))("with tshark", () => {
    it("tshark reads the capture with the port names and comments and finds nothing malformed", async () => {
      const dir = mkdtempSync(join(tmpdir(), "emu-cap-"));
      await run(dir);
      const out = execFileSync(
        "tshark",
        [
          "-r",
          join(dir, "all.pcapng"),
          "-T",
          "fields",
          "-e",
          "frame.interface_name",
          "-e",
          "frame.comment",
          "-e",
          "_ws.malformed",
          "-e",
          "tcp.srcport",
        ],
        { encoding: "utf8" },
      );
      const rows = out
        .trim()
        .split("\n")
        .map((l) => l.split("\t"));
      expect(rows).toHaveLength(6);
      expect(rows.map((r) => r[0])).toEqual(["pf0vf0", "pf0vf1", "pf0vf0", "pf0vf1", "pf0vf0", "pf0vf1"]);
      for (const r of rows) {
        expect(r[1]).toMatch(/^(upcall|dp-megaflow|dp-emc): /);
        expect(r[2]).toBe("");
        expect(r[3]).toBe("1234");
      }
    });
  });
});

describe("bad configuration", () => {
  it("an unknown hardware match field is an interface error, and the rest of the bridge works", async () => {
    const h = host({ uplink: { "hw-match": "+no_such_field" } });
    const pf0 = h.br.ports.find((p) => p.name === "pf0")?.interfaces[0];
    expect(pf0?.error).toBe("pf0: caps: unknown match field no_such_field");
    expect(pf0?.ofport).toBe(-1);
    const vf = h.br.ports.find((p) => p.name === "pf0vf0")?.interfaces[0];
    expect(vf?.error).toBe("pf0vf0: no uplink named pf0 (add it with type=uplink first)");
    h.ofctl("add-flow", "br0", "actions=drop");
    await h.send("p3", TCP(3));
    expect(h.tiers()["upcall"]).toBe(1);
  });
});

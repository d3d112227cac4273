// The appctl command families on hand-built hosts: each family takes only the narrow view of the
// host it declares (src/host/commands/*.ts), so its argument checks, messages and effects are
// tested here without an engine. The texts of errors are OVS 3.1's where OVS has the command
// (lib/netdev-dummy.c, lib/dpctl.c, lib/timeval.c); the end-to-end outputs are checked against
// Open vSwitch in test/host/engine.test.ts and test/ofproto/ofproto-dpif.test.ts.
import { describe, expect, it } from "vitest";
import { CommandTable } from "../../src/ctl/registry.ts";
import { Datapath } from "../../src/dp/datapath.ts";
import { newFlowKey, W } from "../../src/flow/key.ts";
import { registerDpctlCommands, type DpctlHost } from "../../src/host/commands/dpctl.ts";
import { registerDummyCommands, type DummyHost } from "../../src/host/commands/netdev-dummy.ts";
import { registerSwitchCommands, type SwitchHost } from "../../src/host/commands/switch.ts";
import { Netdev } from "../../src/host/netdev.ts";
import { CaptureHub } from "../../src/ports/capture-tap.ts";
import type { TunnelEnv } from "../../src/ofproto/tunnel.ts";

function dummyHost() {
  const p1 = new Netdev("p1", "dummy", "aa:55:aa:55:00:01");
  const p2 = new Netdev("p2", "dummy", "aa:55:aa:55:00:02");
  const devs = new Map([
    ["p1", p1],
    ["p2", p2],
  ]);
  const calls: string[] = [];
  const host: DummyHost = {
    devs,
    hostAddrs: new Map(),
    devByName: (n) => devs.get(n) ?? null,
    receive: (dev, frame) => calls.push(`receive ${dev.name} ${frame.length}`),
    setLinkUp: (dev, up) => calls.push(`link ${dev.name} ${up ? "up" : "down"}`),
    updateHostAddresses: () => calls.push("addresses"),
    settle: () => calls.push("settle"),
  };
  const u = new CommandTable();
  registerDummyCommands(host, u);
  return { host, u, calls };
}

describe("netdev-dummy commands", () => {
  it("receive: hex packets and flows, --qid/--len skipped, then one settle", async () => {
    const { u, calls } = dummyHost();
    const r = await u.run(["netdev-dummy/receive", "p1", "--qid", "0", "ffffffffffff0000000000000800", "--len", "60"]);
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(calls).toEqual(["receive p1 14", "settle"]);
  });

  it("receive: OVS's errors for an unknown port and a flow it cannot parse", async () => {
    const { u } = dummyHost();
    expect((await u.run(["netdev-dummy/receive", "nope", "00"])).stderr).toBe("no such dummy netdev\n");
    expect((await u.run(["netdev-dummy/receive", "p1", "in_port=1,bogus=2"])).stderr).toBe(
      "syntax error at in_port=1,bogus=2\n",
    );
  });

  it("ip4addr/ip6addr: one address map, the NICs told of IPv4 addresses, bad input refused", async () => {
    const { u, host, calls } = dummyHost();
    expect((await u.run(["netdev-dummy/ip4addr", "p1", "10.0.0.1/24"])).stdout).toBe("OK\n");
    expect((await u.run(["netdev-dummy/ip6addr", "p1", "2001:db8::1/64"])).stdout).toBe("OK\n");
    expect(host.hostAddrs.get("p1")).toEqual({ v4: "10.0.0.1/24", v6: "2001:db8::1/64" });
    expect(calls).toEqual(["addresses"]);
    expect((await u.run(["netdev-dummy/ip4addr", "p9", "10.0.0.1/24"])).stderr).toBe("Unknown Dummy Interface\n");
    expect((await u.run(["netdev-dummy/ip4addr", "p1", "10.0.0.1"])).stderr).toBe("Invalid parameters\n");
    expect((await u.run(["netdev-dummy/ip6addr", "p1", "10.0.0.1/24"])).stderr).toBe("Invalid parameters\n");
    expect((await u.run(["netdev-dummy/ip6addr", "p1", "2001:db8::1/129"])).stderr).toBe("Invalid parameters\n");
  });

  it("set-admin-state: one port or every port; a bad state refused", async () => {
    const { u, calls } = dummyHost();
    expect((await u.run(["netdev-dummy/set-admin-state", "p2", "down"])).stdout).toBe("OK\n");
    expect((await u.run(["netdev-dummy/set-admin-state", "UP"])).stdout).toBe("OK\n");
    expect(calls).toEqual(["link p2 down", "settle", "link p1 up", "link p2 up", "settle"]);
    expect((await u.run(["netdev-dummy/set-admin-state", "p1", "sideways"])).stderr).toBe("Invalid Admin State\n");
    expect((await u.run(["netdev-dummy/set-admin-state", "p9", "up"])).stderr).toBe("Unknown Dummy Interface\n");
  });
});

function dpctlHost() {
  const dp = new Datapath("ovs-dummy");
  const local = new Netdev("ovs-dummy", "internal", "");
  local.odpPort = 0;
  const calls: string[] = [];
  const host: DpctlHost = {
    dp,
    dpType: "dummy",
    dpPorts: new Map([[0, local]]),
    bridges: new Map(),
    nics: new Map(),
    tunnelPorts: new Map(),
    offload: { readStats: () => {} },
    upcalls: { packetKeyOf: () => null },
    captures: new CaptureHub(),
    nowMs: 0,
    purgeFlows: () => calls.push("purge"),
    revalidate: () => calls.push("revalidate"),
  };
  const u = new CommandTable();
  registerDpctlCommands(host, u);
  return { dp, u, calls };
}

describe("dpctl and dpif commands", () => {
  it("pmd-stats-clear zeroes the lookup counters and keeps the flows", async () => {
    const { dp, u } = dpctlHost();
    const key = newFlowKey();
    key[W.IN_PORT] = 1;
    const mask = newFlowKey().fill(0xffffffff);
    expect(typeof dp.install(key, mask, [], "br0", 0)).toBe("object");
    dp.lookup(key);
    dp.lookup(newFlowKey());
    expect([dp.hit, dp.missed]).toEqual([1, 1]);
    expect((await u.run(["dpif-netdev/pmd-stats-clear"])).code).toBe(0);
    expect([dp.hit, dp.missed, dp.lost, dp.emcHits, dp.megaflowHits, dp.megaflowProbes]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(dp.count).toBe(1);
  });

  it("dump-flows: OVS's errors for a bad type and another datapath; the datapath by its names", async () => {
    const { u } = dpctlHost();
    expect((await u.run(["dpctl/dump-flows", "type=sideways"])).stderr).toBe(
      "Failed to parse type (sideways) (Invalid argument)\n",
    );
    expect((await u.run(["dpctl/dump-flows", "system@ovs-system"])).stderr).toBe(
      "datapath not found (Invalid argument)\n",
    );
    expect((await u.run(["dpctl/dump-flows", "dummy@ovs-dummy"])).code).toBe(0);
    expect((await u.run(["dpctl/dump-flows", "ovs-dummy"])).code).toBe(0);
  });

  it("purge and wait reach the revalidator", async () => {
    const { u, calls } = dpctlHost();
    await u.run(["dpctl/del-flows"]);
    await u.run(["revalidator/purge"]);
    await u.run(["revalidator/wait"]);
    expect(calls).toEqual(["purge", "purge", "revalidate"]);
  });
});

describe("switch commands", () => {
  function switchHost() {
    const calls: string[] = [];
    const host: SwitchHost = {
      bridges: new Map(),
      tunnelEnv: {} as TunnelEnv,
      captures: new CaptureHub(),
      nowMs: 0,
      advance: (ms, step) => calls.push(`advance ${ms} ${step ?? "-"}`),
      settle: () => calls.push("settle"),
    };
    const u = new CommandTable();
    registerSwitchCommands(host, u);
    return { u, calls };
  }

  it("time/warp: one or two numbers of milliseconds; anything else refused", async () => {
    const { u, calls } = switchHost();
    expect((await u.run(["time/warp", "1000"])).stdout).toBe("warped\n");
    expect((await u.run(["time/warp", "6000", "1000"])).stdout).toBe("warped\n");
    expect(calls).toEqual(["advance 1000 -", "advance 6000 1000"]);
    expect((await u.run(["time/warp", "-5"])).stderr).toBe("invalid msecs\n");
    expect((await u.run(["time/warp", "1.5"])).stderr).toBe("invalid msecs\n");
    expect((await u.run(["time/warp"])).stderr).toBe('"time/warp" command requires at least 1 arguments\n');
  });

  it("fdb commands name a missing bridge", async () => {
    const { u } = switchHost();
    expect((await u.run(["fdb/show", "br9"])).stderr).toBe("no such bridge\n");
    expect((await u.run(["fdb/flush", "br9"])).stderr).toBe("no such bridge\n");
    expect((await u.run(["fdb/flush"])).stdout).toBe("table successfully flushed\n");
  });
});

// The offload manager (src/host/offload.ts) on hand-built ports and NICs, for the switchdev rules
// that do not involve tunnels (those are test/host/tunnel-offload.test.ts): a flow is offered to
// the NIC of its ingress port and taken only when every port it touches is a representor on the
// same switch id; otherwise it stays in software with a reason a user can read. Hardware counters
// read back into the flow, and withdraw/hw-offload off leave no NIC state behind.
import { describe, expect, it } from "vitest";
import { Datapath, type DpFlow } from "../../src/dp/datapath.ts";
import { PacketPool } from "../../src/dp/pool.ts";
import { newFlowKey, W } from "../../src/flow/key.ts";
import { parseOdpActions } from "../../src/flow/odp.ts";
import { HostNic, Netdev } from "../../src/host/netdev.ts";
import { OffloadManager } from "../../src/host/offload.ts";
import { ESwitch } from "../../src/nic/eswitch.ts";
import { buildPacket } from "../../src/wire/build.ts";

function host() {
  const pool = new PacketPool(64, 2048);
  const sent: string[] = [];
  const nics = new Map<string, HostNic>();
  const byOdp = new Map<number, Netdev>();
  const mkNic = (name: string, switchId: number): HostNic => {
    const esw = new ESwitch({
      name,
      switchId,
      nVfs: 2,
      pool,
      hooks: {
        tx: (vport, slot) => {
          sent.push(`${name}:${vport}`);
          pool.release(slot);
        },
        toHost: (_vport, slot) => pool.release(slot),
      },
    });
    const nic = new HostNic(name, esw, switchId, 2);
    nics.set(name, nic);
    return nic;
  };
  const dev = (name: string, type: string, odp: number, nic: HostNic | null, vport = 0): Netdev => {
    const d = new Netdev(name, type, `aa:55:aa:55:00:0${odp}`);
    d.odpPort = odp;
    if (nic !== null) {
      d.nic = { nic, vport };
      nic.reps[vport] = d;
    }
    byOdp.set(odp, d);
    return d;
  };
  const nic1 = mkNic("pf0", 1);
  const nic2 = mkNic("pf1", 2);
  dev("pf0", "uplink", 10, nic1, 0);
  const vf0 = dev("pf0vf0", "vf", 1, nic1, 1);
  dev("pf0vf1", "vf", 2, nic1, 2);
  dev("pf1vf0", "vf", 5, nic2, 1);
  dev("p3", "dummy", 3, null);
  const dp = new Datapath("ovs-dummy");
  const mgr = new OffloadManager();
  mgr.enabled = true;
  const port = (odp: number) => byOdp.get(odp) ?? null;
  /** A flow for UDP packets from in_port, exact on in_port and the Ethernet type. */
  const flow = (inPort: number, actions: string): DpFlow => {
    const key = newFlowKey();
    key[W.IN_PORT] = inPort;
    const mask = newFlowKey();
    mask[W.IN_PORT] = 0xffffffff;
    const f = dp.install(key, mask, parseOdpActions(actions), "br0", 0);
    if (typeof f === "string") throw new Error(f);
    return f;
  };
  return { pool, sent, nics, vf0, mgr, port, flow };
}

describe("OffloadManager, without tunnels", () => {
  it("offloads a flow between representors of one NIC, and the NIC then forwards its packets", () => {
    const h = host();
    const f = h.flow(1, "2");
    expect(h.mgr.offer(f, h.port)).toBe(true);
    expect([f.offload, f.nicName, f.offloadReason]).toEqual(["offloaded", "pf0", null]);
    const slot = h.pool.load(buildPacket({ layers: [{ eth: {} }, { ipv4: {} }, { udp: {} }] }));
    (h.nics.get("pf0") as HostNic).esw.rx(1, slot);
    expect(h.sent).toEqual(["pf0:2"]);
    h.mgr.readStats(f, h.nics);
    expect(f.hwPackets).toBe(1);
    expect(f.totalPackets).toBe(1);
  });

  it("keeps a flow in software with the reason when an output is no representor", () => {
    const h = host();
    const f = h.flow(1, "3");
    expect(h.mgr.offer(f, h.port)).toBe(false);
    expect([f.offload, f.offloadReason]).toEqual(["refused", "output to p3: not a representor (type dummy)"]);
  });

  it("keeps a flow in software when an output is on another switch id", () => {
    const h = host();
    const f = h.flow(1, "5");
    expect(h.mgr.offer(f, h.port)).toBe(false);
    expect(f.offloadReason).toBe("output to pf1vf0: on switch id 2 (pf1), ingress on switch id 1 (pf0)");
  });

  it("offers nothing with hw-offload off, and withdraw leaves the NIC empty", () => {
    const h = host();
    const f = h.flow(1, "2");
    h.mgr.enabled = false;
    expect(h.mgr.offer(f, h.port)).toBe(false);
    expect([f.offload, f.offloadReason]).toEqual(["none", null]);
    h.mgr.enabled = true;
    expect(h.mgr.offer(f, h.port)).toBe(true);
    const esw = h.nics.get("pf0")?.esw as ESwitch;
    expect(esw.counters().l2Entries).toBe(1);
    h.mgr.withdraw(f, h.nics);
    expect([f.offload, f.nicName]).toEqual(["none", null]);
    expect(esw.counters().l2Entries).toBe(0);
  });
});

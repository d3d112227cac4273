// The datapath's flow cache (src/dp/datapath.ts) on its own: megaflow lookups against a linear
// reference over random non-overlapping flows, the EMC in front of them, install's refusals and
// idempotence, removal that never lets a stale EMC entry name a newer flow, in-place modify, the
// slow path, and the counters dpctl/show and pmd-stats-show print.
import { describe, expect, it } from "vitest";
import { Datapath, DpHit, flowUfid } from "../../src/dp/datapath.ts";
import { FLOW_WORDS, newFlowKey, W, type FlowKey } from "../../src/flow/key.ts";
import { parseOdpActions } from "../../src/flow/odp.ts";
import { below, rng } from "../tables/rng.ts";

/** A mask on in_port and the top `plen` bits of nw_dst. */
function maskOf(plen: number): Uint32Array {
  const m = newFlowKey();
  m[W.IN_PORT] = 0xffffffff;
  m[W.NW_DST] = plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0;
  return m;
}

function keyOf(inPort: number, nwDst: number): FlowKey {
  const k = newFlowKey();
  k[W.IN_PORT] = inPort;
  k[W.NW_DST] = nwDst >>> 0;
  k[W.NW_SRC] = 0x0a000001; // a field no mask looks at
  return k;
}

const OUT2 = parseOdpActions("2");

describe("Datapath", () => {
  it("finds the one megaflow a linear scan finds, for random keys over random flows", () => {
    const r = rng(7);
    const dp = new Datapath("ovs-netdev", { emc: false });
    // Flows on distinct in_ports never overlap, whatever their prefixes.
    const flows: { key: FlowKey; mask: Uint32Array; id: number }[] = [];
    for (let port = 1; port <= 200; port++) {
      const mask = maskOf([8, 16, 24, 32][below(r, 4)] as number);
      const key = keyOf(port, r());
      const f = dp.install(key, mask, OUT2, "br0", 0);
      if (typeof f === "string") throw new Error(f);
      flows.push({ key, mask, id: f.id });
    }
    const linear = (k: FlowKey): number => {
      for (const f of flows) {
        let hit = true;
        for (let w = 0; w < FLOW_WORDS; w++)
          if ((((k[w] as number) ^ (f.key[w] as number)) & (f.mask[w] as number)) !== 0) {
            hit = false;
            break;
          }
        if (hit) return f.id;
      }
      return -1;
    };
    let hits = 0;
    for (let i = 0; i < 5000; i++) {
      const f = flows[below(r, flows.length)] as (typeof flows)[number];
      // Half the keys share the flow's prefix, half are random addresses on the same port.
      const dst = below(r, 2) === 0 ? (f.key[W.NW_DST] as number) ^ (r() & ~(f.mask[W.NW_DST] as number)) : r();
      const k = keyOf(f.key[W.IN_PORT] as number, dst);
      const want = linear(k);
      const got = dp.lookup(k);
      expect(got?.id ?? -1).toBe(want);
      if (want >= 0) hits++;
    }
    expect(hits).toBeGreaterThan(2000);
    expect(dp.hit).toBe(hits);
    expect(dp.missed).toBe(5000 - hits);
  });

  it("answers from the EMC once a megaflow hit inserted the packet (emc-insert-inv-prob 1)", () => {
    const dp = new Datapath("ovs-netdev", { emcInvProb: 1 });
    const f = dp.install(keyOf(1, 0x0a000002), maskOf(24), OUT2, "br0", 0);
    expect(typeof f).toBe("object");
    const k = keyOf(1, 0x0a000009);
    expect(dp.lookup(k)).toBe(f);
    expect(dp.lastHit).toBe(DpHit.MEGAFLOW);
    expect(dp.lookup(k)).toBe(f);
    expect(dp.lastHit).toBe(DpHit.EMC);
    expect([dp.emcHits, dp.megaflowHits, dp.hit]).toEqual([1, 1, 2]);
  });

  it("returns an identical flow as it is, and refuses past the flow limit with the reason", () => {
    const dp = new Datapath("ovs-netdev", { flowLimit: 2 });
    const a = dp.install(keyOf(1, 0x0a000001), maskOf(32), OUT2, "br0", 0);
    expect(dp.install(keyOf(1, 0x0a000001), maskOf(32), OUT2, "br0", 5)).toBe(a);
    expect(typeof dp.install(keyOf(2, 0x0a000001), maskOf(32), OUT2, "br0", 0)).toBe("object");
    expect(dp.install(keyOf(3, 0x0a000001), maskOf(32), OUT2, "br0", 0)).toBe("flow limit (2 flows)");
    expect(dp.count).toBe(2);
  });

  it("never lets a removed flow's EMC entry answer for the flow that reuses its id", () => {
    const dp = new Datapath("ovs-netdev", { emcInvProb: 1 });
    const k = keyOf(1, 0x0a000001);
    const a = dp.install(k, maskOf(32), OUT2, "br0", 0);
    if (typeof a === "string") throw new Error(a);
    dp.lookup(k);
    expect(dp.lookup(k)).toBe(a); // from the EMC
    dp.remove(a);
    expect(dp.lookup(k)).toBeNull();
    const b = dp.install(keyOf(2, 0x0a000001), maskOf(32), OUT2, "br0", 0);
    if (typeof b === "string") throw new Error(b);
    expect(b.id).toBe(a.id);
    expect(dp.lookup(k)).toBeNull();
    expect(dp.byId(a.ufid)).toBeNull();
    expect(dp.byId(b.ufid)).toBe(b);
  });

  it("keeps userspace actions as the slow path, and modify() recompiles in place", () => {
    const dp = new Datapath("ovs-netdev");
    const f = dp.install(keyOf(1, 1), maskOf(32), parseOdpActions("userspace(pid=0,slow_path(controller))"), "br0", 0);
    if (typeof f === "string") throw new Error(f);
    expect(f.slowPath).toBe("userspace(pid=0,slow_path(controller))");
    dp.modify(f, OUT2);
    expect(f.slowPath).toBeNull();
    expect(f.prog).not.toBeNull();
    expect(f.actionsText).toBe("2");
    expect(dp.find(f.key, f.mask)).toBe(f);
  });

  it("derives the ufid from key and mask alone, the same in every run", () => {
    const k = keyOf(1, 0x0a000001);
    const u = flowUfid(k, maskOf(24));
    expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(flowUfid(Uint32Array.from(k), maskOf(24))).toBe(u);
    expect(flowUfid(k, maskOf(16))).not.toBe(u);
  });
});

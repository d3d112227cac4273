// Offload of tunnelled flows (the switchdev design): the offload manager places encapsulating
// flows on the eSwitch the route to the remote endpoint leaves through and decapsulated flows on
// the one the outer packets arrive on, and follows route and neighbour changes in the middle of
// traffic so that no packet leaves with a stale outer header or through the old device.
//
// Where expectations come from: Open vSwitch 3.1.0, userspace datapath, run privately with
// ../shared/tools/ovs-oracle.sh, in the shape of tunnel-push-pop.at: bridge br0 with dummy port
// p1 (datapath port 1) and VXLAN port vx0 (ofport 4, datapath port 4789, remote_ip=192.0.2.2,
// key=flow); underlay bridges br-phy (hwaddr aa:55:aa:55:00:01, 192.0.2.1/24, datapath port 3)
// with p0 (datapath port 2, tx_pcap) and br-phy2 (hwaddr aa:55:aa:55:00:02, 198.51.100.1/24,
// datapath port 102) with p9 (datapath port 9, tx_pcap), both actions=NORMAL;
//   ovs-appctl ovs/route/add 192.0.2.0/24 br-phy
//   ovs-appctl tnl/neigh/set br-phy 192.0.2.2 aa:bb:cc:00:00:02
//   ovs-appctl tnl/neigh/set br-phy 192.0.2.254 aa:bb:cc:00:00:fe
//   ovs-appctl tnl/neigh/set br-phy2 198.51.100.254 aa:bb:cc:00:01:fe
//   ovs-ofctl add-flow br0 priority=200,in_port=1,ip,actions=set_field:5001->tun_id,output:4
// then, each followed by `revalidator/wait` and `netdev-dummy/receive p1 <UDP4>`:
//   (1) nothing more, (2) ovs/route/add 192.0.2.2/32 br-phy 192.0.2.254,
//   (3) ovs/route/add 192.0.2.2/32 br-phy2 198.51.100.254, (4) ovs/route/del of both routes.
// ENCAP is `dpctl/dump-flows` after (1); OUT_1 and OUT_2 are `ovs-pcap p0.pcap`, OUT_3 is
// `ovs-pcap p9.pcap` (after (4) OVS's flow is `actions:drop` and nothing is sent). The
// neighbour rewrite (MAC aa:bb:cc:00:00:03 for the endpoint) and the decapsulation flows
// (DECAP, INNER, received VXLAN_IN, delivered INNER_OUT) are the runs described in
// test/nic/eswitch-tunnel.test.ts. Here the uplinks p0 and p9 are the uplink representors of two
// eSwitches (nic0, nic1), p1 a VF representor on nic0 and p5 one on nic1.
import { describe, expect, it } from "vitest";
import { ESwitch, FallbackReason, TUNNEL_VPORT_BASE } from "../../src/nic/eswitch.ts";
import { PacketPool } from "../../src/dp/pool.ts";
import { HostNic } from "../../src/host/netdev.ts";
import { Netdev } from "../../src/host/netdev.ts";
import { Bridge } from "../../src/ofproto/bridge.ts";
import { DpFlow } from "../../src/dp/datapath.ts";
import { OffloadManager } from "../../src/host/offload.ts";
import { RouteTable } from "../../src/ofproto/route.ts";
import { NeighTable } from "../../src/ofproto/neigh.ts";
import { parseOdpActions, parseOdpKey } from "../../src/flow/odp.ts";
import { hex, toHex } from "../../src/wire/bytes.ts";
import { TIER_NAMES } from "../../src/host/engine.ts";
import { engineWithCommands } from "./engine-fixture.ts";
import { addPort, newBridge, newInterface, type OvsConfig } from "../../src/ovsdb/config.ts";

const UDP4 =
  "5254000000025254000000010800450000341234400040113c4ec0000201c63364029c4000350020bb7a6f66666c6f61" +
  "642d656d752074657374207061796c6f6164";
const ENCAP =
  "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(tos=0/0x3,frag=no), packets:0, bytes:0, used:never, actions:tnl_push(tnl_port(4789),header(size=50,type=4,eth(dst=aa:bb:cc:00:00:02,src=aa:55:aa:55:00:01,dl_type=0x0800),ipv4(src=192.0.2.1,dst=192.0.2.2,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=4789,csum=0x0),vxlan(flags=0x8000000,vni=0x1389)),out_port(3)),2";
const INNER_BYTES =
  "005254000000025254000000010800450000341234400040113c4ec0000201c63364029c4000350020bb7a6f66666c6f61" +
  "642d656d752074657374207061796c6f6164";
const OUT_1 =
  "aabbcc000002aa55aa550001080045000066000040004011b683c0000201c00002029bfb12b50052000008000000001389" + INNER_BYTES;
const OUT_2 =
  "aabbcc0000feaa55aa550001080045000066000040004011b683c0000201c00002029bfb12b50052000008000000001389" + INNER_BYTES;
const OUT_3 =
  "aabbcc0001feaa55aa5500020800450000660000400040114e50c6336401c00002029bfb12b50052000008000000001389" + INNER_BYTES;
const OUT_NEIGH = OUT_1.replace(/^aabbcc000002/, "aabbcc000003");

const VXLAN_IN =
  "aa55aa550001aabbcc00000208004500005e000140004011b68ac0000202c0000201823512b5004aaca708000000001389" +
  "0050540000000150540000000708004500002c00010000400165c90a0001070a00000100003c3c000000007878787878" +
  "7878787878787878787878";
const DECAP =
  "recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth(src=aa:bb:cc:00:00:02,dst=aa:55:aa:55:00:01),eth_type(0x0800),ipv4(dst=192.0.2.1,proto=17,frag=no),udp(dst=4789), packets:0, bytes:0, used:never, actions:tnl_pop(4789)";
const INNER =
  "tunnel(tun_id=0x1389,src=192.0.2.2,dst=192.0.2.1,flags(-df+csum+key)),recirc_id(0),in_port(4789),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no), packets:0, bytes:0, used:never, actions:1";
const INNER_OUT =
  "50540000000150540000000708004500002c00010000400165c90a0001070a00000100003c3c0000000078787878787878787878787878787878";

interface Out {
  nic: string;
  vport: number;
  frame: string;
}

function host() {
  const pool = new PacketPool(256, 2048);
  const tx: Out[] = [];
  const toHost: (Out & { reason: number })[] = [];
  const nics = new Map<string, HostNic>();
  const mkNic = (name: string, switchId: number) => {
    const esw = new ESwitch({
      name,
      switchId,
      nVfs: 4,
      pool,
      hooks: {
        tx(vport, slot) {
          tx.push({ nic: name, vport, frame: toHex(pool.frame(slot)) });
          pool.release(slot);
        },
        toHost(vport, slot, reason) {
          toHost.push({ nic: name, vport, reason, frame: toHex(pool.frame(slot)) });
          pool.release(slot);
        },
      },
    });
    esw.setMtu(0, 1600); // room for the 50 bytes of VXLAN over a 1500-byte VF MTU
    const nic = new HostNic(name, esw, switchId, 4);
    nics.set(name, nic);
    return nic;
  };
  const nic0 = mkNic("p0", 1);
  const nic1 = mkNic("p9", 2);
  const devs = new Map<string, Netdev>();
  const dpPorts = new Map<number, Netdev>();
  const dev = (
    name: string,
    type: string,
    mac: string,
    odp: number,
    br: Bridge<Netdev>,
    nic: HostNic | null,
    vport = 0,
  ) => {
    const d = new Netdev(name, type, mac);
    d.odpPort = odp;
    d.ofport = br.freeOfport();
    if (nic) {
      d.nic = { nic, vport };
      nic.reps[vport] = d;
    }
    br.attach(d);
    devs.set(name, d);
    dpPorts.set(odp, d);
    return d;
  };
  const brPhy = new Bridge<Netdev>("br-phy", "ovs-netdev");
  const brPhy2 = new Bridge<Netdev>("br-phy2", "ovs-netdev");
  const br0 = new Bridge<Netdev>("br0", "ovs-netdev");
  dev("br-phy", "internal", "aa:55:aa:55:00:01", 3, brPhy, null);
  dev("p0", "uplink", "aa:55:aa:55:10:00", 2, brPhy, nic0);
  dev("br-phy2", "internal", "aa:55:aa:55:00:02", 102, brPhy2, null);
  dev("p9", "uplink", "aa:55:aa:55:10:09", 9, brPhy2, nic1);
  dev("p1", "vf", "aa:55:aa:55:20:01", 1, br0, nic0, 1);
  dev("p5", "vf", "aa:55:aa:55:20:05", 5, br0, nic1, 1);
  for (const n of nics.values())
    n.esw.setHostAddresses(["aa:55:aa:55:00:01", "aa:55:aa:55:00:02"], ["192.0.2.1", "198.51.100.1"]);
  const addrs: Record<string, string[]> = { "br-phy": ["192.0.2.1/24"], "br-phy2": ["198.51.100.1/24"] };
  const routes = new RouteTable((d) => addrs[d] ?? []);
  const neigh = new NeighTable();
  const mgr = new OffloadManager();
  mgr.enabled = true;
  const port = (odp: number) => dpPorts.get(odp) ?? null;
  mgr.attachTunnels({ routes, neigh, dev: (n) => devs.get(n) ?? null, port, nics });
  routes.add("192.0.2.0/24", "br-phy");
  neigh.set("br-phy", "192.0.2.2", "aa:bb:cc:00:00:02");
  neigh.set("br-phy", "192.0.2.254", "aa:bb:cc:00:00:fe");
  neigh.set("br-phy2", "198.51.100.254", "aa:bb:cc:00:01:fe");
  let nextId = 0;
  /** A datapath flow from a dpctl/dump-flows line, with `inPort` in place of its in_port. */
  const flow = (line: string, inPort?: number) => {
    const k = parseOdpKey(line.slice(0, line.indexOf(", packets:")));
    if (inPort !== undefined) k.key[1] = inPort;
    for (let i = 0; i < k.key.length; i++) k.key[i] = k.key[i]! & k.mask[i]!;
    const actions = parseOdpActions(line.slice(line.indexOf(", actions:") + 10));
    const id = nextId++;
    return new DpFlow(id, `ufid-${id}`, k.key, k.mask, actions, null, null, "br0", 0);
  };
  const send = (nic: HostNic, vport: number, frame: string) => nic.esw.rx(vport, pool.load(hex(frame)));
  const drain = () => {
    const a = [...tx];
    tx.length = 0;
    const b = [...toHost];
    toHost.length = 0;
    return { tx: a, host: b };
  };
  return { pool, nics, nic0, nic1, routes, neigh, mgr, port, flow, send, drain };
}

describe("encapsulating flows follow the route to the remote endpoint", () => {
  it("offloads to the route's eSwitch with OVS's header, and refuses a VF on another eSwitch", () => {
    const h = host();
    const f1 = h.flow(ENCAP);
    const f5 = h.flow(ENCAP, 5);
    expect(h.mgr.offer(f1, h.port)).toBe(true);
    expect([f1.offload, f1.nicName]).toEqual(["offloaded", "p0"]);
    expect(h.mgr.offer(f5, h.port)).toBe(false);
    expect(f5.offloadReason).toBe(
      "tunnel to 192.0.2.2 leaves through p0 (switch id 1), ingress p5 is on p9 (switch id 2)",
    );
    h.send(h.nic0, 1, UDP4);
    expect(h.drain()).toEqual({ tx: [{ nic: "p0", vport: 0, frame: OUT_1 }], host: [] });
    expect([...h.mgr.tunnelFlows()].map(([ip, fs]) => [ip, fs.map((f) => f.id)])).toEqual([
      ["192.0.2.2", [f1.id, f5.id]],
    ]);
  });

  it("changes route and neighbour in the middle of traffic: no packet with a stale header or through the old device", () => {
    const h = host();
    const f1 = h.flow(ENCAP);
    const f5 = h.flow(ENCAP, 5);
    h.mgr.offer(f1, h.port);
    h.mgr.offer(f5, h.port);
    const burst = () => {
      for (let i = 0; i < 3; i++) {
        h.send(h.nic0, 1, UDP4);
        h.send(h.nic1, 1, UDP4);
      }
      return h.drain();
    };

    let r = burst();
    expect(r.tx.map((t) => [t.nic, t.frame])).toEqual(Array(3).fill(["p0", OUT_1]));
    expect(r.host.map((x) => [x.nic, x.reason])).toEqual(Array(3).fill(["p9", FallbackReason.MISS]));

    // (2) A host route through a gateway: same device, the gateway's MAC, rewritten in place.
    h.routes.add("192.0.2.2/32", "br-phy", "192.0.2.254");
    r = burst();
    expect(r.tx.map((t) => [t.nic, t.frame])).toEqual(Array(3).fill(["p0", OUT_2]));
    expect(h.nic0.esw.flowStats(f1.id)?.packets).toBe(6);

    // The gateway's MAC changes: the header the NIC holds is rewritten, the flow stays put.
    h.neigh.set("br-phy", "192.0.2.254", "aa:bb:cc:00:00:03");
    r = burst();
    expect(r.tx.map((t) => t.frame)).toEqual(Array(3).fill(OUT_2.replace(/^aabbcc0000fe/, "aabbcc000003")));
    expect(h.nic0.esw.flowCount).toBe(1);

    // (3) Through br-phy2, whose uplink is on nic1: p1's flow leaves nic0 (its packets go to the
    // host, none leaves through p0), and p5's flow, refused so far, is now nic1's, with OVS's
    // header for the new route (new source MAC and IP, the new gateway's MAC).
    h.routes.add("192.0.2.2/32", "br-phy2", "198.51.100.254");
    expect(f1.offloadReason).toBe(
      "tunnel to 192.0.2.2 leaves through p9 (switch id 2), ingress p1 is on p0 (switch id 1)",
    );
    expect([f5.offload, f5.nicName]).toEqual(["offloaded", "p9"]);
    r = burst();
    expect(r.tx.map((t) => [t.nic, t.vport, t.frame])).toEqual(Array(3).fill(["p9", 0, OUT_3]));
    expect(r.host.map((x) => [x.nic, x.reason, x.frame])).toEqual(Array(3).fill(["p0", FallbackReason.MISS, UDP4]));
    // The counts f1 gathered on nic0 stay with it.
    expect(f1.hwPackets).toBe(9);

    // (4) No route at all: both back to software, with the reason.
    h.routes.del("192.0.2.2/32");
    h.routes.del("192.0.2.0/24");
    expect([f1.offloadReason, f5.offloadReason]).toEqual(["no route to 192.0.2.2", "no route to 192.0.2.2"]);
    r = burst();
    expect(r.tx).toEqual([]);
    expect(r.host).toHaveLength(6);

    // The route comes back: p1's flow is offloaded again with the first header.
    h.routes.add("192.0.2.0/24", "br-phy");
    expect([f1.offload, f5.offloadReason]).toEqual([
      "offloaded",
      "tunnel to 192.0.2.2 leaves through p0 (switch id 1), ingress p5 is on p9 (switch id 2)",
    ]);
    h.send(h.nic0, 1, UDP4);
    expect(h.drain().tx.map((t) => t.frame)).toEqual([OUT_1]);
  });

  it("rewrites the endpoint's MAC in place when its neighbour entry changes", () => {
    const h = host();
    const f1 = h.flow(ENCAP);
    h.mgr.offer(f1, h.port);
    h.send(h.nic0, 1, UDP4);
    h.neigh.set("br-phy", "192.0.2.2", "aa:bb:cc:00:00:03");
    h.send(h.nic0, 1, UDP4);
    expect(h.drain().tx.map((t) => t.frame)).toEqual([OUT_1, OUT_NEIGH]);
    expect(h.nic0.esw.counters().l1Hits).toBe(1); // the second packet hit the L1 entry the first made
  });

  it("keeps a flow in software while the next hop's MAC is unknown, and offloads it once learnt", () => {
    const h = host();
    h.routes.add("192.0.2.2/32", "br-phy", "192.0.2.253");
    const f1 = h.flow(ENCAP);
    expect(h.mgr.offer(f1, h.port)).toBe(false);
    expect(f1.offloadReason).toBe("no neighbour for 192.0.2.253");
    h.neigh.set("br-phy", "192.0.2.253", "aa:bb:cc:00:00:fd");
    expect(f1.offload).toBe("offloaded");
    h.send(h.nic0, 1, UDP4);
    expect(h.drain().tx.map((t) => t.frame)).toEqual([OUT_2.replace(/^aabbcc0000fe/, "aabbcc0000fd")]);
  });

  it("refuses a flood to several tunnels, and a flow that would not fit the uplink MTU", () => {
    const h = host();
    const push = ENCAP.slice(ENCAP.indexOf("actions:") + 8).replace(/,2$/, "");
    const flood = h.flow(
      ENCAP.replace(/actions:.*$/, `actions:clone(${push},2),${push.replace("192.0.2.2", "192.0.2.3")},2`),
    );
    expect(h.mgr.offer(flood, h.port)).toBe(false);
    expect(flood.offloadReason).toBe("flood to several tunnels");
    h.nic0.esw.setMtu(0, 1500);
    const f1 = h.flow(ENCAP);
    expect(h.mgr.offer(f1, h.port)).toBe(false);
    expect(f1.offloadReason).toBe("MTU: vport 1 MTU 1500 + 50 bytes of encapsulation exceeds vport 0 MTU 1500");
  });

  it("updates a revalidated flow in place when it stays on its eSwitch, and moves it otherwise", () => {
    const h = host();
    const f1 = h.flow(ENCAP);
    h.mgr.offer(f1, h.port);
    h.send(h.nic0, 1, UDP4);
    // The translation now says output 2 after a header to the gateway (as OVS's flow after (2)).
    f1.actions = parseOdpActions(
      ENCAP.slice(ENCAP.indexOf(", actions:") + 10).replace("aa:bb:cc:00:00:02", "aa:bb:cc:00:00:fe"),
    );
    expect(h.mgr.update(f1, h.port, h.nics)).toBe(true);
    h.send(h.nic0, 1, UDP4);
    expect(h.drain().tx.map((t) => t.frame)).toEqual([OUT_1, OUT_1]); // the route still says the endpoint itself
    expect(h.nic0.esw.counters().l1Hits).toBe(1);
    h.routes.add("192.0.2.2/32", "br-phy2", "198.51.100.254");
    expect(h.mgr.update(f1, h.port, h.nics)).toBe(false);
    expect([f1.offload, h.nic0.esw.flowCount]).toEqual(["refused", 0]);
  });

  it("forgets a withdrawn flow: later route changes leave it alone", () => {
    const h = host();
    const f1 = h.flow(ENCAP);
    h.mgr.offer(f1, h.port);
    h.mgr.withdraw(f1, h.nics);
    expect(h.mgr.tunnelFlows().size).toBe(0);
    h.routes.add("192.0.2.2/32", "br-phy", "192.0.2.254");
    expect([f1.offload, h.nic0.esw.flowCount]).toEqual(["none", 0]);
  });
});

describe("decapsulated flows follow the route to their tunnel source", () => {
  it("offloads the decap rule on the uplink and the inner flow on the route's eSwitch, and moves it off on a route change", () => {
    const h = host();
    const decap = h.flow(DECAP);
    const inner = h.flow(INNER);
    expect(h.mgr.offer(decap, h.port)).toBe(true);
    expect(h.mgr.offer(inner, h.port)).toBe(true);
    expect(h.nic0.esw.flows().map((f) => f.key[1])).toEqual([0, TUNNEL_VPORT_BASE + 4789]);
    h.send(h.nic0, 0, VXLAN_IN);
    expect(h.drain()).toEqual({ tx: [{ nic: "p0", vport: 1, frame: INNER_OUT }], host: [] });

    // The remote is now reached through br-phy2 (nic1): the inner flow cannot follow (its VF is
    // on nic0), so nic0 no longer finishes these packets; the host gets them whole.
    h.routes.add("192.0.2.2/32", "br-phy2", "198.51.100.254");
    expect(inner.offloadReason).toBe("output to p1: on switch id 1 (p0), ingress on switch id 2 (p9)");
    h.send(h.nic0, 0, VXLAN_IN);
    expect(h.drain()).toEqual({
      tx: [],
      host: [{ nic: "p0", vport: 0, reason: FallbackReason.MISS, frame: VXLAN_IN }],
    });
    expect(decap.offload).toBe("offloaded"); // not tunnelled itself: placed by its ingress port

    h.routes.del("192.0.2.2/32");
    expect(inner.offload).toBe("offloaded");
    h.send(h.nic0, 0, VXLAN_IN);
    expect(h.drain().tx.map((t) => t.frame)).toEqual([INNER_OUT]);
  });
});

// --- end to end, through HostEngine ---------------------------------------------------------------
//
// The OVS setup above as the emulator's configuration: br-phy (hwaddr aa:55:aa:55:00:01) holds
// the uplink pf0 (eSwitch switch id 1), br-phy2 (aa:55:aa:55:00:02) the uplink pf1 (switch id 2),
// br0 the VF representor pf0vf0 (ofport 1) and vx0 (ofport 4); the same addresses, routes,
// neighbours and OpenFlow rules, driven by the same appctl commands. The uplinks' MTU is 1600 so
// that 1500 + 50 bytes of VXLAN fit. What leaves each port is taken from its driver.

interface Wire {
  dev: string;
  frame: string;
}

async function engineHost(opts: { uplinkMtu?: number } = {}) {
  const brPhy = newBridge("br-phy", "dummy", "secure");
  brPhy.other_config.set("hwaddr", "aa:55:aa:55:00:01");
  const pf0 = newInterface("pf0", "uplink", { n_vfs: "4" }, 10);
  pf0.mtu_request = opts.uplinkMtu ?? 1600;
  addPort(brPhy, pf0);
  const brPhy2 = newBridge("br-phy2", "dummy", "secure");
  brPhy2.other_config.set("hwaddr", "aa:55:aa:55:00:02");
  const pf1 = newInterface("pf1", "uplink", { n_vfs: "4" }, 11);
  pf1.mtu_request = opts.uplinkMtu ?? 1600;
  addPort(brPhy2, pf1);
  const br0 = newBridge("br0", "dummy", "secure");
  addPort(br0, newInterface("pf0vf0", "vf", { pf: "pf0", vf: "0" }, 1));
  addPort(br0, newInterface("vx0", "vxlan", { remote_ip: "192.0.2.2", key: "flow" }, 4));
  const root: OvsConfig = { bridges: [brPhy, brPhy2, br0], other_config: new Map([["hw-offload", "true"]]) };
  const { e, cmds } = engineWithCommands({ root });
  e.reconfigure();
  // HostEngine attaches its routes and neighbours to the offload manager itself.
  expect(e.offload.tunnelsAttached).toBe(true);
  const wire: Wire[] = [];
  for (const name of ["pf0", "pf1", "pf0vf0"]) {
    (e.devByName(name) as Netdev).driver = {
      send: (f) => {
        wire.push({ dev: name, frame: toHex(f) });
      },
      close: () => {},
      describe: () => `test wire at ${name}`,
      live: false,
    };
  }
  const app = async (...argv: string[]): Promise<string> => {
    const r = await cmds.run(argv);
    if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const ofctl = (...argv: string[]): void => {
    const r = e.ofctl(argv, { cwd: process.cwd() });
    if (r.code !== 0) throw new Error(r.stderr);
  };
  ofctl("add-flow", "br-phy", "actions=NORMAL");
  ofctl("add-flow", "br-phy2", "actions=NORMAL");
  await app("netdev-dummy/ip4addr", "br-phy", "192.0.2.1/24");
  await app("netdev-dummy/ip4addr", "br-phy2", "198.51.100.1/24");
  await app("ovs/route/add", "192.0.2.0/24", "br-phy");
  await app("tnl/neigh/set", "br-phy", "192.0.2.2", "aa:bb:cc:00:00:02");
  await app("tnl/neigh/set", "br-phy2", "198.51.100.254", "aa:bb:cc:00:01:fe");
  ofctl("add-flow", "br0", "priority=200,in_port=1,ip,actions=set_field:5001->tun_id,output:4");
  ofctl("add-flow", "br0", "priority=200,in_port=4,tun_id=5001,actions=output:1");
  const tiers = () => Object.fromEntries(TIER_NAMES.map((t, i) => [t, e.tiers[i] as number]));
  /** dpctl/dump-flows -m lines, as [in_port, offloaded, dp, the rest after the actions]. */
  const dump = async () =>
    (await app("dpctl/dump-flows", "-m"))
      .split("\n")
      .filter((l) => l.startsWith("ufid:"))
      .map((l) => [
        /in_port\(([^)]+)\)/.exec(l)?.[1],
        /offloaded:(\w+)/.exec(l)?.[1],
        /dp:(\w+)/.exec(l)?.[1],
        l.slice(l.indexOf(", actions:") + 10),
      ]);
  return { e, app, wire, tiers, dump };
}

describe("through HostEngine: a VM's VXLAN traffic while routes and neighbours change", () => {
  it("offloads the encapsulation, follows the changes, and sends no stale header or old-device packet", async () => {
    const h = await engineHost();
    const marks: number[] = [];
    const burst = async (n: number) => {
      for (let i = 0; i < n; i++) await h.app("netdev-dummy/receive", "pf0vf0", UDP4);
    };
    const since = (m: number) => h.wire.slice(m).map((w) => [w.dev, w.frame]);

    await burst(3);
    expect(since(0)).toEqual(Array(3).fill(["pf0", OUT_1]));
    expect(h.tiers()).toMatchObject({ upcall: 1, "nic-l2": 1, "nic-l1": 1 });
    const [first] = await h.dump();
    expect(first!.slice(0, 3)).toEqual(["pf0vf0", "yes", "nic"]);
    expect(first![3]).toContain("eth(dst=aa:bb:cc:00:00:02,src=aa:55:aa:55:00:01,dl_type=0x0800)");

    // The endpoint's MAC changes in the middle of the stream: every later packet carries it,
    // still from the NIC (no upcall, no software path).
    marks.push(h.wire.length);
    await h.app("tnl/neigh/set", "br-phy", "192.0.2.2", "aa:bb:cc:00:00:03");
    await burst(3);
    expect(since(marks[0]!)).toEqual(Array(3).fill(["pf0", OUT_NEIGH]));
    const t = h.tiers();
    expect([t.upcall, t["dp-emc"], t["dp-megaflow"], t["nic-l1"]! + t["nic-l2"]!]).toEqual([1, 0, 0, 5]);
    expect((await h.dump())[0]!.slice(0, 3)).toEqual(["pf0vf0", "yes", "nic"]);

    // The route moves to br-phy2, whose uplink is on another eSwitch: the flow leaves the NIC
    // (refused, with the reason) and every later packet leaves through pf1 with OVS's header for
    // the new route; none through pf0.
    marks.push(h.wire.length);
    await h.app("ovs/route/add", "192.0.2.2/32", "br-phy2", "198.51.100.254");
    await burst(3);
    expect(since(marks[1]!)).toEqual(Array(3).fill(["pf1", OUT_3]));
    const moved = (await h.dump())[0]!;
    expect(moved.slice(0, 3)).toEqual(["pf0vf0", "no", "ovs"]);
    expect(moved[3]).toContain(
      "dp-extra-info:offload-refused(tunnel to 192.0.2.2 leaves through pf1 (switch id 2), ingress pf0vf0 is on pf0 (switch id 1))",
    );

    // No route at all: OVS's flow drops; nothing leaves.
    marks.push(h.wire.length);
    await h.app("ovs/route/del", "192.0.2.2/32");
    await h.app("ovs/route/del", "192.0.2.0/24");
    await burst(2);
    expect(since(marks[2]!)).toEqual([]);
    expect((await h.dump())[0]![3]).toBe("drop");

    // The route is back: offloaded again, with the current neighbour.
    marks.push(h.wire.length);
    await h.app("ovs/route/add", "192.0.2.0/24", "br-phy");
    await burst(2);
    expect(since(marks[3]!)).toEqual(Array(2).fill(["pf0", OUT_NEIGH]));
    expect((await h.dump())[0]!.slice(0, 3)).toEqual(["pf0vf0", "yes", "nic"]);
    expect(h.e.packetsReceived).toBe(13);
  });

  it("keeps the flow in software when the VF's MTU plus VXLAN does not fit the uplink's", async () => {
    const h = await engineHost({ uplinkMtu: 1500 });
    await h.app("netdev-dummy/receive", "pf0vf0", UDP4);
    await h.app("netdev-dummy/receive", "pf0vf0", UDP4);
    const [f] = await h.dump();
    expect(f!.slice(0, 3)).toEqual(["pf0vf0", "no", "ovs"]);
    expect(f![3]).toContain(
      "offload-refused(MTU: vport 1 MTU 1500 + 50 bytes of encapsulation exceeds vport 0 MTU 1500)",
    );
    expect(h.wire.map((w) => [w.dev, w.frame])).toEqual(Array(2).fill(["pf0", OUT_1]));
  });

  it("decapsulates on the NIC: the tnl_pop rule on the uplink chained to the inner flow", async () => {
    const h = await engineHost();
    for (let i = 0; i < 3; i++) await h.app("netdev-dummy/receive", "pf0", VXLAN_IN);
    expect(h.wire.map((w) => [w.dev, w.frame])).toEqual(Array(3).fill(["pf0vf0", INNER_OUT]));
    // The first packet was the host's (no decap rule yet: trapped as addressed to br-phy).
    expect(h.tiers()).toMatchObject({ upcall: 1, "nic-l2": 1, "nic-l1": 1 });
    const flows = await h.dump();
    expect(flows.map((f) => [f[0], f[1], f[2], f[3]])).toEqual([
      ["pf0", "yes", "nic", "tnl_pop(vxlan_sys_4789)"],
      ["vxlan_sys_4789", "yes", "nic", "pf0vf0"],
    ]);

    // The route to the remote moves to the other eSwitch: the inner flow cannot follow (its VF is
    // on pf0's), so pf0's NIC stops finishing these packets and hands them whole to the host,
    // which still delivers them.
    const before = h.e.nics.get("pf0")!.esw.counters().fallbacks.miss;
    await h.app("ovs/route/add", "192.0.2.2/32", "br-phy2", "198.51.100.254");
    await h.app("netdev-dummy/receive", "pf0", VXLAN_IN);
    expect(h.wire.slice(3).map((w) => [w.dev, w.frame])).toEqual([["pf0vf0", INNER_OUT]]);
    expect(h.e.nics.get("pf0")!.esw.counters().fallbacks.miss).toBe(before + 1);
    const inner = (await h.dump()).find((f) => f[0] === "vxlan_sys_4789")!;
    expect(inner.slice(1, 3)).toEqual(["no", "ovs"]);
    expect(inner[3]).toContain("offload-refused(output to pf0vf0: on switch id 1 (pf0), ingress on switch id 2 (pf1))");
  });
});

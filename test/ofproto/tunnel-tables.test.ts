// The route and neighbour tables of native tunnelling. Expected texts are what Open vSwitch 3.1
// (Debian openvswitch-switch, userspace, --enable-dummy --disable-system-route, started by
// ../shared/tools/ovs-oracle.sh) printed for the commands quoted above each case.
import { describe, it, expect } from "vitest";
import { RouteTable, RouteError } from "../../src/ofproto/route.ts";
import { NeighTable, NeighError } from "../../src/ofproto/neigh.ts";

function table(): RouteTable {
  // netdev-dummy/ip4addr br0 1.1.2.88/24 ; netdev-dummy/ip6addr br0 2001:cafe::88/24
  return new RouteTable((dev) => (dev === "br0" ? ["1.1.2.88/24", "2001:cafe::88/24"] : []));
}

describe("RouteTable", () => {
  it("shows user routes as ovs/route/show does, masked, highest priority first", () => {
    const r = table();
    // ovs-appctl ovs/route/add 1.1.2.92/24 br0 ; ovs/route/add 2001:cafe::92/24 br0 ;
    // ovs/route/add 10.0.0.0/8 br0 1.1.2.1 ; ovs/route/add 10.1.0.0/16 br0 1.1.2.1 pkt_mark=3 ;
    // ovs/route/add 1.1.2.5 br0 ; ovs/route/show
    r.add("1.1.2.92/24", "br0");
    r.add("2001:cafe::92/24", "br0");
    r.add("10.0.0.0/8", "br0", "1.1.2.1");
    r.add("10.1.0.0/16", "br0", "1.1.2.1", undefined, 3);
    r.add("1.1.2.5", "br0");
    expect(r.show()).toBe(`Route Table:
User: 1.1.2.5/32 dev br0 SRC 1.1.2.88
User: 1.1.2.0/24 dev br0 SRC 1.1.2.88
User: 10.1.0.0/16 MARK 3 dev br0 GW 1.1.2.1 SRC 1.1.2.88
User: 10.0.0.0/8 dev br0 GW 1.1.2.1 SRC 1.1.2.88
User: 2001:ca00::/24 dev br0 SRC 2001:cafe::88`);
    // ovs/route/lookup 10.3.3.3 -> "src 1.1.2.88 / gateway 1.1.2.1 / dev br0"
    expect(r.lookup("10.3.3.3")).toEqual({ dev: "br0", gw: "1.1.2.1", src: "1.1.2.88", prefix: "10.0.0.0/8" });
    // ovs/route/lookup 1.1.2.92 -> "src 1.1.2.88 / gateway :: / dev br0"
    expect(r.lookup("1.1.2.92")).toEqual({ dev: "br0", gw: null, src: "1.1.2.88", prefix: "1.1.2.0/24" });
    expect(r.lookup("2001:cafe::5")).toEqual({ dev: "br0", gw: null, src: "2001:cafe::88", prefix: "2001:ca00::/24" });
    // ovs/route/lookup 9.9.9.9 -> "Not found"; 10.1.2.3 without pkt_mark=3 takes the /8
    expect(r.lookup("9.9.9.9")).toBeNull();
    expect(r.lookup("10.1.2.3")?.prefix).toBe("10.0.0.0/8");
    expect(r.lookup("10.1.2.3", 3)?.prefix).toBe("10.1.0.0/16");
  });

  it("refuses what ovs/route/add refuses, with its messages", () => {
    const r = table();
    // 5.5.5.0/24 p0 (no address on p0), 5.5.5.0/24 nosuch, 3.3.3.0/24 br0 9.9.9.9 (gateway off
    // every subnet of br0): "Error while inserting route."; 1.1.2.0/33: "Invalid parameters";
    // 3.3.3.0/24 br0 foo: "Invalid pkt_mark or gateway".
    expect(() => r.add("5.5.5.0/24", "p0")).toThrowError(new RouteError("Error while inserting route."));
    expect(() => r.add("5.5.5.0/24", "nosuch")).toThrowError(new RouteError("Error while inserting route."));
    expect(() => r.add("3.3.3.0/24", "br0", "9.9.9.9")).toThrowError(new RouteError("Error while inserting route."));
    expect(() => r.add("1.1.2.0/33", "br0")).toThrowError(new RouteError("Invalid parameters"));
    expect(() => r.add("3.3.3.0/24", "br0", "foo")).toThrowError(new RouteError("Invalid pkt_mark or gateway"));
    expect(r.show()).toBe("Route Table:");
    expect(r.version).toBe(0);
  });

  it("deletes user routes only, counts versions and tells listeners", () => {
    const r = table();
    let heard = 0;
    r.onChange(() => heard++);
    r.add("10.0.0.0/8", "br0", "1.1.2.1");
    r.addCached("1.1.2.0/24", "br0");
    // ovs/route/del 10.0.0.0/8 -> OK, again -> "Not found"
    expect(r.del("10.0.0.0/8")).toBe(true);
    expect(r.del("10.0.0.0/8")).toBe(false);
    expect(r.del("1.1.2.0/24")).toBe(false);
    expect(r.show()).toBe("Route Table:\nCached: 1.1.2.0/24 dev br0 SRC 1.1.2.88");
    expect(r.version).toBe(3);
    expect(heard).toBe(3);
  });

  it("prefers a user route over a system route up to 32 bits longer (priority plen + 32)", () => {
    const r = table();
    r.addCached("1.1.2.92/32", "br0", undefined, "1.1.2.88");
    r.add("1.1.2.0/24", "br1", undefined, "1.1.2.99");
    expect(r.lookup("1.1.2.92")?.dev).toBe("br1");
  });

  it("agrees with a linear longest-prefix reference on random routes", () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 8;
    const r = new RouteTable();
    const ref: { net: number; len: number; dev: string }[] = [];
    for (let i = 0; i < 60; i++) {
      const len = rnd() % 33;
      const net = len === 0 ? 0 : (rnd() & (0xffffffff << (32 - len))) >>> 0;
      const text = `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${len}`;
      const dev = `d${i}`;
      r.add(text, dev, undefined, "192.0.2.1");
      const old = ref.findIndex((x) => x.net === net && x.len === len);
      if (old >= 0) ref.splice(old, 1);
      ref.push({ net, len, dev });
    }
    for (let i = 0; i < 500; i++) {
      const a = rnd() ^ (rnd() << 8);
      const ip = `${(a >>> 24) & 255}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
      let best: { len: number; dev: string } | null = null;
      for (const x of ref) {
        const m = x.len === 0 ? 0 : (0xffffffff << (32 - x.len)) >>> 0;
        if ((a & m) >>> 0 === x.net && (best === null || x.len > best.len)) best = x;
      }
      expect(r.lookup(ip)?.dev ?? null).toBe(best?.dev ?? null);
    }
  });
});

describe("NeighTable", () => {
  it("shows entries as tnl/neigh/show does", () => {
    const n = new NeighTable();
    // tnl/neigh/set br0 1.1.2.92 f8:bc:12:44:34:b6 ; tnl/neigh/show (one entry shown; OVS lists
    // several in cmap hash order)
    n.set("br0", "1.1.2.92", "f8:bc:12:44:34:b6");
    expect(n.show()).toBe(`IP                                            MAC                 Bridge
==========================================================================
1.1.2.92                                      f8:bc:12:44:34:b6   br0`);
    n.set("br0", "2001:cafe::92", "f8:bc:12:44:34:b7");
    expect(n.show().split("\n")).toContain("2001:cafe::92                                 f8:bc:12:44:34:b7   br0");
    expect(n.lookup("1.1.2.92")).toEqual({ mac: "f8:bc:12:44:34:b6", dev: "br0" });
    expect(n.lookup("1.1.2.92", "br1")).toBeNull();
    // tnl/neigh/set br0 1.1.2.93 zz -> "bad MAC address"; 1.1.2.9x -> "bad IP address"
    expect(() => n.set("br0", "1.1.2.93", "zz")).toThrowError(new NeighError("bad MAC address"));
    expect(() => n.set("br0", "1.1.2.9x", "f8:bc:12:44:34:b6")).toThrowError(new NeighError("bad IP address"));
    n.flush();
    expect(n.show()).toBe(
      "IP                                            MAC                 Bridge\n==========================================================================",
    );
  });

  it("ages entries out on the virtual clock (tnl/neigh/aging 2; set; 3 s later the table is empty)", () => {
    let now = 0;
    const n = new NeighTable(() => now);
    const heard: string[] = [];
    n.onChange((ip) => heard.push(ip));
    n.setAging(2);
    n.set("br0", "1.1.2.92", "f8:bc:12:44:34:b6");
    now = 1999;
    n.expire();
    expect(n.lookup("1.1.2.92")).not.toBeNull();
    now = 3000;
    expect(n.lookup("1.1.2.92")).toBeNull();
    n.expire();
    expect(n.size).toBe(0);
    expect(heard).toEqual(["1.1.2.92", "1.1.2.92"]);
    // tnl/neigh/aging 0 and 3600001 -> "bad aging value"; 3600 -> OK
    expect(() => n.setAging(0)).toThrowError(new NeighError("bad aging value"));
    expect(() => n.setAging(3601)).toThrowError(new NeighError("bad aging value"));
    n.setAging(3600);
    expect(n.agingS).toBe(3600);
  });

  it("learns from ARP replies and gratuitous ARPs, not from requests; a new MAC is a change", () => {
    const n = new NeighTable();
    let v = n.version;
    expect(n.snoopArp("br0", 1, "f8:bc:12:44:34:b6", 0x0101025c, 0x01010258)).toBe(false);
    expect(n.snoopArp("br0", 2, "f8:bc:12:44:34:b6", 0x0101025c, 0x01010258)).toBe(true);
    expect(n.lookup("1.1.2.92")?.mac).toBe("f8:bc:12:44:34:b6");
    expect(n.version).toBe(++v);
    n.snoopArp("br0", 2, "f8:bc:12:44:34:b6", 0x0101025c, 0x01010258);
    expect(n.version).toBe(v); // a refresh, not a change
    expect(n.snoopArp("br0", 1, "f8:bc:12:44:34:b7", 0x0101025c, 0x0101025c)).toBe(true);
    expect(n.lookup("1.1.2.92")?.mac).toBe("f8:bc:12:44:34:b7");
    expect(n.version).toBe(v + 1);
  });
});

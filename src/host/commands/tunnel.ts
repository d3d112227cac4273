// The commands of the tunnel machinery: lib/ovs-router.c (ovs/route/*), lib/tnl-neigh-cache.c
// (tnl/neigh/*, with the tnl/arp/* names OVS 3.1 still registers) and lib/tnl-ports.c
// (tnl/ports/show), with OVS 3.1's texts and checks.

import { fail, type CommandRegistry as Unixctl } from "../../ctl/registry.ts";
import { RouteError, type RouteTable } from "../../ofproto/route.ts";
import { NeighError, type NeighTable } from "../../ofproto/neigh.ts";
import { vportName, type TunnelPort } from "../../ofproto/tunnel.ts";
import type { Netdev } from "../netdev.ts";

/** What these commands need of the host. */
export interface TunnelHost {
  readonly routes: RouteTable;
  readonly neigh: NeighTable;
  readonly tunnelPorts: ReadonlyMap<Netdev, TunnelPort>;
  readonly hostAddrs: ReadonlyMap<string, { v4: string | null; v6: string | null }>;
  devByName(name: string): Netdev | null;
  settle(): void;
}

export function registerTunnelCommands(e: TunnelHost, u: Unixctl): void {
  const mark = (arg: string | undefined, msg: string): number => {
    if (arg === undefined) return 0;
    const m = /^pkt_mark=(0x[0-9a-fA-F]+|\d+)$/.exec(arg);
    return m ? Number(m[1]) >>> 0 : fail(msg);
  };
  u.register("ovs/route/add", "ip_addr/prefix_len out_br_name [gw] [pkt_mark=mark]", 2, 4, (args) => {
    let gw: string | undefined;
    let pm = 0;
    if (args[2] !== undefined) {
      if (args[2].startsWith("pkt_mark=")) pm = mark(args[2], "Invalid pkt_mark or gateway");
      else gw = args[2];
    }
    if (args[3] !== undefined) pm = mark(args[3], "Invalid pkt_mark");
    try {
      e.routes.add(args[0] as string, args[1] as string, gw, undefined, pm);
    } catch (err) {
      if (err instanceof RouteError) return fail(err.message);
      throw err;
    }
    e.settle();
    return "OK";
  });
  u.register("ovs/route/del", "ip_addr/prefix_len [pkt_mark=mark]", 1, 2, (args) => {
    const pm = mark(args[1], "Invalid pkt_mark");
    let ok: boolean;
    try {
      ok = e.routes.del(args[0] as string, pm);
    } catch (err) {
      if (err instanceof RouteError) return fail(err.message);
      throw err;
    }
    if (!ok) return fail("Not found");
    e.settle();
    return "OK";
  });
  u.register("ovs/route/lookup", "ip_addr [pkt_mark=mark]", 1, 2, (args) => {
    const a = args[0] as string;
    if (a.includes("/") || (!a.includes(":") && !/^\d+\.\d+\.\d+\.\d+$/.test(a))) return fail("Invalid parameters");
    const pm = mark(args[1], "Invalid pkt_mark");
    const r = e.routes.lookup(a, pm);
    if (r === null) return fail(/:/.test(a) || /^\d+\.\d+\.\d+\.\d+$/.test(a) ? "Not found" : "Invalid parameters");
    return `src ${r.src}\ngateway ${r.gw ?? "::"}\ndev ${r.dev}\n`;
  });
  u.register("ovs/route/show", "", 0, 0, () => `${e.routes.show()}\n`);

  // lib/tnl-neigh-cache.c, with the tnl/arp/* names OVS 3.1 still registers.
  for (const p of ["tnl/neigh", "tnl/arp"]) {
    u.register(`${p}/show`, "", 0, 0, () => `${e.neigh.show()}\n`);
    u.register(`${p}/set`, "BRIDGE IP MAC", 3, 3, (args) => {
      try {
        e.neigh.set(args[0] as string, args[1] as string, args[2] as string);
      } catch (err) {
        if (err instanceof NeighError) return fail(err.message);
        throw err;
      }
      e.settle();
      return "OK";
    });
    u.register(`${p}/flush`, "", 0, 0, () => {
      e.neigh.flush();
      e.settle();
      return "OK";
    });
    u.register(`${p}/aging`, "[SECS]", 0, 1, (args) => {
      if (args[0] === undefined) return `${e.neigh.agingS}\n`;
      try {
        e.neigh.setAging(/^\d+$/.test(args[0]) ? Number(args[0]) : NaN);
      } catch (err) {
        if (err instanceof NeighError) return fail(err.message);
        throw err;
      }
      return "OK";
    });
  }

  // lib/tnl-ports.c tnl/ports/show: one line per listening vport (with -v, its match per address).
  u.register("tnl/ports/show", "-v", 0, 1, (args) => {
    const vports = new Map<string, { odp: number; n: number; kind: string; port: number }>();
    for (const tp of e.tunnelPorts.values()) {
      const name = vportName(tp.cfg);
      const v = vports.get(name) ?? { odp: tp.xport.odpPort, n: 0, kind: tp.cfg.kind, port: tp.cfg.dstPort };
      v.n++;
      vports.set(name, v);
    }
    const lines = ["Listening ports:"];
    if (args[0] !== "-v") {
      for (const [name, v] of vports) lines.push(`${name} (${v.odp}) ref_cnt=${v.n}`);
      return `${lines.join("\n")}\n`;
    }
    const addrs: { mac: string; ip: string; v6: boolean }[] = [];
    for (const [dev, a] of e.hostAddrs) {
      const d = e.devByName(dev);
      if (d === null) continue;
      if (a.v4) addrs.push({ mac: d.mac, ip: a.v4.split("/")[0] as string, v6: false });
      if (a.v6) addrs.push({ mac: d.mac, ip: a.v6.split("/")[0] as string, v6: true });
    }
    for (const v6 of [false, true])
      for (const [name, v] of vports)
        for (const a of addrs) {
          if (a.v6 !== v6) continue;
          const l3 = v6 ? `eth_type(0x86dd),ipv6(dst=${a.ip},` : `eth_type(0x0800),ipv4(dst=${a.ip},`;
          const l4 = v.kind === "gre" ? "proto=47,frag=no)" : `proto=17,frag=no),udp(dst=${v.port})`;
          lines.push(`${name} (${v.odp}) : eth(dst=${a.mac}),${l3}${l4}`);
        }
    return `${lines.join("\n")}\n`;
  });
}

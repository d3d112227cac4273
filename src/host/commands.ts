// The engine's `appctl` commands, with ovs-appctl's names, arguments and output (checked against
// Open vSwitch 3.1 with dummy ports), plus the emulator's own nic/show and offload/show.

import { CommandError as UnixctlError, type CommandRegistry as Unixctl } from "../ctl/registry.ts";
import { composeFlow } from "../flow/compose.ts";
import { formatOdpFlowLine, type OdpFlowLine } from "../flow/odp.ts";
import { FlowSyntaxError } from "../flow/syntax.ts";
import { formatTraceCommand, TraceError } from "../ofproto/trace.ts";
import type { HostEngine } from "./engine.ts";
import { TIER_NAMES } from "../dp/tier.ts";
import { displayMask } from "../flow/wildcards.ts";
import type { DpFlow } from "../dp/datapath.ts";
import type { Netdev } from "./netdev.ts";
import type { HostNic } from "./netdev.ts";
import { RouteError } from "../ofproto/route.ts";
import { NeighError } from "../ofproto/neigh.ts";
import { vportName } from "../ofproto/tunnel.ts";

const fail = (msg: string): never => {
  throw new UnixctlError(msg);
};

function hexOrFlow(text: string): Uint8Array {
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) {
    return Uint8Array.from(text.match(/../g) as string[], (b) => parseInt(b, 16));
  }
  try {
    return composeFlow(text);
  } catch (e) {
    if (e instanceof FlowSyntaxError) return fail(`syntax error at ${text}`);
    throw e;
  }
}

function portTypeName(e: HostEngine, dev: Netdev): string {
  const dummy = e.dpType === "dummy";
  if (dev.type === "internal") return dummy ? "dummy-internal" : "tap";
  if (dev.type === "vf" && dev.nic) return `vf: pf=${dev.nic.nic.name}, vf=${dev.nic.vport - 1}`;
  if (dev.type === "uplink" && dev.nic) return `uplink: switch_id=${dev.nic.nic.switchId}, n_vfs=${dev.nic.nic.nVfs}`;
  const tp = e.tunnelPorts.get(dev);
  if (tp !== undefined) return `${dev.type}: ${tp.cfg.text}`;
  return dev.type;
}

/** One dpctl/dump-flows line for a datapath flow. */
export function flowLine(e: HostEngine, f: DpFlow, verbose: boolean, portNames?: ReadonlyMap<number, string>): string {
  e.offload.readStats(f, e.nics);
  const used = f.lastUsedMs;
  const shown = f.packetKey.length > 0 ? f.packetKey : f.key;
  const line: OdpFlowLine = {
    ufid: f.ufid,
    key: { key: shown, mask: displayMask(f.mask, shown), packetType: true },
    stats: {
      packets: f.totalPackets,
      bytes: f.totalBytes,
      usedAgoMs: used < 0 ? null : e.nowMs - used,
      tcpFlags: f.tcpFlags,
    },
    actions: f.actions,
  };
  if (verbose) {
    if (f.offload === "offloaded") {
      line.offloaded = "yes";
      line.dp = "nic";
    } else {
      if (f.offload === "refused") line.offloaded = "no";
      line.dp = "ovs";
    }
    if (f.offloadReason) line.dpExtraInfo = `offload-refused(${f.offloadReason})`;
  }
  return formatOdpFlowLine(line, { verbose, portNames });
}

function nicCounterLines(nic: HostNic): string[] {
  const c = nic.esw.counters();
  const rx = c.rx.reduce((a, b) => a + b, 0);
  const lines = [
    `  packets received: ${rx}`,
    `  l1 hits: ${c.l1Hits}`,
    `  l2 hits: ${c.l2Hits}`,
    ...Object.entries(c.fallbacks).map(([k, v]) => `  to host (${k}): ${v}`),
    `  rx missed (ring full): ${c.rxMissed}`,
    `  l1 entries: ${c.l1Entries} (inserts ${c.l1Inserts}, evictions ${c.l1Evictions})`,
    `  l2 entries: ${c.l2Entries}, masks: ${c.masks}`,
    `  tx drops: ${c.txDrops} (mtu ${c.txDropsByReason.mtu}, no port ${c.txDropsByReason["no-port"]})`,
    `  dropped by actions: ${c.actionDrops}`,
  ];
  return lines;
}

export function registerCommands(e: HostEngine, u: Unixctl): void {
  u.register("netdev-dummy/receive", "name [--qid queue_id] packet|flow [--len packet_len]", 2, Infinity, (args) => {
    const dev = e.devByName(args[0] as string);
    if (dev === null) return fail("no such dummy netdev");
    const packets: Uint8Array[] = [];
    for (let i = 1; i < args.length; i++) {
      const a = args[i] as string;
      if (a === "--qid" || a === "--len") {
        i++;
        continue;
      }
      packets.push(hexOrFlow(a));
    }
    for (const p of packets) e.receive(dev, p);
    e.settle();
    return "";
  });

  u.register("netdev-dummy/ip4addr", "[netdev] ipaddr/mask-prefix-len", 2, 2, (args) => {
    const dev = e.devByName(args[0] as string);
    if (dev === null) return fail("Unknown Dummy Interface");
    const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(args[1] as string);
    if (!m) return fail("Invalid parameters");
    const a = e.hostAddrs.get(dev.name) ?? { v4: null, v6: null };
    e.hostAddrs.set(dev.name, { ...a, v4: args[1] as string });
    e.updateHostAddresses();
    return "OK";
  });

  u.register("netdev-dummy/ip6addr", "[netdev] ipaddr/mask-prefix-len", 2, 2, (args) => {
    const dev = e.devByName(args[0] as string);
    if (dev === null) return fail("Unknown Dummy Interface");
    const m = /^([0-9a-fA-F:.]+)\/(\d+)$/.exec(args[1] as string);
    if (!m || !(m[1] as string).includes(":") || Number(m[2]) > 128) return fail("Invalid parameters");
    const a = e.hostAddrs.get(dev.name) ?? { v4: null, v6: null };
    e.hostAddrs.set(dev.name, { ...a, v6: args[1] as string });
    return "OK";
  });

  // lib/ovs-router.c: ovs/route/add, del, lookup, show (OVS 3.1 texts and checks).
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

  // netdev-dummy.c netdev_dummy_set_admin_state: with no netdev, every port.
  u.register("netdev-dummy/set-admin-state", "[netdev] up|down", 1, 2, (args) => {
    const state = (args[args.length - 1] as string).toLowerCase();
    if (state !== "up" && state !== "down") return fail("Invalid Admin State");
    if (args.length > 1) {
      const dev = e.devByName(args[0] as string);
      if (dev === null) return fail("Unknown Dummy Interface");
      e.setLinkUp(dev, state === "up");
    } else for (const dev of e.devs.values()) e.setLinkUp(dev, state === "up");
    e.settle();
    return "OK";
  });

  const dumpFlows = (args: string[]): string => {
    let verbose = false;
    let names = false;
    let type = "all";
    for (const a of args) {
      if (a === "-m" || a === "--more") {
        verbose = true;
        names = true;
      } else if (a === "--names") names = true;
      else if (a === "--no-names") names = false;
      else if (a.startsWith("type=")) {
        type = a.slice(5);
        for (const t of type.split(",")) {
          if (!["all", "ovs", "offloaded", "non-offloaded", "nic", "partially-offloaded", "tc", "dpdk"].includes(t)) {
            fail(`Failed to parse type (${t}) (Invalid argument)`);
          }
        }
      } else if (a === e.dp.name || a === `${e.dpType}@${e.dp.name}`) {
        /* the only datapath */
      } else fail(`datapath not found (Invalid argument)`);
    }
    const types = new Set(type.split(","));
    const lines: string[] = [];
    const portNames = names ? new Map([...e.dpPorts].map(([n, d]) => [n, d.name])) : undefined;
    for (const f of e.dp.list()) {
      const off = f.offload === "offloaded";
      if (
        !types.has("all") &&
        !(
          (off && (types.has("offloaded") || types.has("nic"))) ||
          (!off && (types.has("ovs") || types.has("non-offloaded")))
        )
      )
        continue;
      lines.push(flowLine(e, f, verbose, portNames));
    }
    return lines.length === 0 ? "" : `flow-dump from the main thread:\n${lines.join("\n")}\n`;
  };
  u.register("dpctl/dump-flows", "[-m] [--names | --no-names] [type=...] [dp] [filter]", 0, 5, dumpFlows);

  u.register("dpctl/del-flows", "[dp]", 0, 1, () => {
    e.purgeFlows();
    return "";
  });
  u.register("revalidator/purge", "", 0, 0, () => {
    e.purgeFlows();
    return "";
  });
  u.register("revalidator/wait", "", 0, 0, () => {
    e.revalidate();
    e.captures.flush();
    return "";
  });

  u.register("dpctl/show", "[-s] [dp...]", 0, 3, () => {
    const out = [
      `${e.dpType}@${e.dp.name}:`,
      `  lookups: hit:${e.dp.hit} missed:${e.dp.missed} lost:${e.dp.lost}`,
      `  flows: ${e.dp.count}`,
    ];
    for (const [n, d] of [...e.dpPorts].sort((a, b) => a[0] - b[0])) {
      out.push(
        `  port ${n}: ${d.name} (${n === 0 ? (e.dpType === "dummy" ? "dummy-internal" : "tap") : portTypeName(e, d)})`,
      );
    }
    return `${out.join("\n")}\n`;
  });

  u.register("dpif/show", "", 0, 0, () => {
    const out = [`${e.dpType}@${e.dp.name}: hit:${e.dp.hit} missed:${e.dp.missed}`];
    for (const br of [...e.bridges.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      out.push(`  ${br.name}:`);
      const ports = [...br.ports.values()].sort((a, b) => a.name.localeCompare(b.name));
      for (const d of ports) out.push(`    ${d.name} ${d.ofport}/${d.odpPort}: (${portTypeName(e, d)})`);
    }
    return `${out.join("\n")}\n`;
  });

  u.register("dpif-netdev/pmd-stats-show", "[-pmd core] [dp]", 0, 3, () => {
    const dp = e.dp;
    const hostPackets = dp.hit + dp.missed;
    const upcalls = dp.missed - dp.lost;
    const avg = (a: number, b: number) => (b === 0 ? 0 : a / b).toFixed(2);
    const out = [
      "main thread:",
      `  packets received: ${hostPackets}`,
      "  packet recirculations: 0",
      `  avg. datapath passes per packet: ${hostPackets === 0 ? "0.00" : "1.00"}`,
      "  phwol hits: 0",
      "  mfex opt hits: 0",
      "  simple match hits: 0",
      `  emc hits: ${dp.emcHits}`,
      "  smc hits: 0",
      `  megaflow hits: ${dp.megaflowHits}`,
      `  avg. subtable lookups per megaflow hit: ${avg(dp.megaflowProbes, dp.megaflowHits)}`,
      `  miss with success upcall: ${upcalls}`,
      `  miss with failed upcall: ${dp.lost}`,
      `  avg. packets per output batch: ${hostPackets === 0 ? "0.00" : "1.00"}`,
    ];
    for (const nic of e.nics.values()) {
      out.push(`nic ${nic.name} (switch id ${nic.switchId}):`);
      out.push(...nicCounterLines(nic));
    }
    return `${out.join("\n")}\n`;
  });

  u.register("dpif-netdev/pmd-stats-clear", "[-pmd core] [dp]", 0, 3, () => {
    const dp = e.dp;
    dp.hit = dp.missed = dp.lost = dp.emcHits = dp.megaflowHits = dp.megaflowProbes = 0;
    return "";
  });

  u.register("offload/show", "", 0, 0, () => {
    const total = e.packetsReceived;
    const out = ["packets by tier:"];
    for (let t = 0; t < TIER_NAMES.length; t++) {
      const n = e.tiers[t] as number;
      out.push(`  ${TIER_NAMES[t]}: ${n} (${total === 0 ? "0.0" : ((100 * n) / total).toFixed(1)}%)`);
    }
    out.push(`  total: ${total}`);
    out.push(`hw-offload: ${e.offload.enabled}`);
    const flows = e.dp.list();
    out.push(`datapath flows: ${flows.length} (offloaded ${flows.filter((f) => f.offload === "offloaded").length})`);
    const refused = flows.filter((f) => f.offload === "refused");
    if (refused.length > 0) {
      out.push("not offloaded:");
      for (const f of refused) out.push(`  ufid:${f.ufid}: ${f.offloadReason}`);
    }
    if (e.fallbacks.size > 0) {
      out.push("NIC to host:");
      for (const [k, v] of e.fallbacks) out.push(`  ${k}: ${v}`);
    }
    if (e.drops.size > 0) {
      out.push("dropped:");
      for (const [k, v] of e.drops) out.push(`  ${k}: ${v}`);
    }
    return `${out.join("\n")}\n`;
  });

  u.register("nic/show", "[nic]", 0, 1, (args) => {
    const out: string[] = [];
    for (const nic of e.nics.values()) {
      if (args[0] !== undefined && args[0] !== nic.name) continue;
      out.push(`${nic.name}: switch id ${nic.switchId}, ${nic.nVfs} VFs`);
      nic.reps.forEach((d, v) =>
        out.push(`  vport ${v} (${v === 0 ? "uplink" : `vf ${v - 1}`}): ${d ? d.name : "(no representor)"}`),
      );
      out.push(...nicCounterLines(nic));
    }
    if (args[0] !== undefined && out.length === 0) fail(`no NIC named ${args[0]}`);
    return out.length === 0 ? "" : `${out.join("\n")}\n`;
  });

  // The clock is virtual and never runs by itself, so it is always "stopped"; accepted for OVS scripts.
  u.register("time/stop", "", 0, 0, () => "");
  u.register("time/warp", "[large_msecs] msecs", 1, 2, (args) => {
    const nums = args.map(Number);
    if (nums.some((n) => !Number.isInteger(n) || n < 0)) fail("invalid msecs");
    if (nums.length === 2) e.advance(nums[0] as number, nums[1] as number);
    else e.advance(nums[0] as number);
    e.captures.flush();
    return "warped";
  });

  u.register("fdb/show", "bridge", 1, 1, (args) => {
    const br = e.bridges.get(args[0] as string);
    if (!br) return fail("no such bridge");
    const lines = [" port  VLAN  MAC                Age"];
    for (const m of br.mac.list()) {
      const port = m.ofport === 0xfffe ? "LOCAL" : String(m.ofport);
      lines.push(
        `${port.padStart(5)}  ${String(m.vlan).padStart(4)}  ${m.mac}  ${String(Math.floor((e.nowMs - m.usedMs) / 1000)).padStart(3)}`,
      );
    }
    return `${lines.join("\n")}\n`;
  });
  u.register("fdb/flush", "[bridge]", 0, 1, (args) => {
    if (args[0] !== undefined) {
      const br = e.bridges.get(args[0]);
      if (!br) return fail("no such bridge");
      br.mac.flush();
    } else for (const br of e.bridges.values()) br.mac.flush();
    return "table successfully flushed";
  });

  u.register("ofproto/trace", "{[dp_name] odp_flow | bridge br_flow} [-generate|packet]", 1, 3, (args) => {
    try {
      const out = formatTraceCommand(e, args, { tunnels: e.tunnelEnv });
      e.settle();
      return out;
    } catch (err) {
      if (err instanceof TraceError || err instanceof FlowSyntaxError) return fail(err.message);
      throw err;
    }
  });
}

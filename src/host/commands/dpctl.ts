// The datapath's commands (lib/dpctl.c, lib/dpif-netdev.c, ofproto/ofproto-dpif-upcall.c):
// dpctl/dump-flows (with offloaded:yes/no and the refusal's reason under -m), dpctl/show,
// dpif/show, pmd-stats-show/clear, and the revalidator's purge and wait.

import { fail, type CommandRegistry as Unixctl } from "../../ctl/registry.ts";
import type { Datapath, DpFlow } from "../../dp/datapath.ts";
import type { FlowKey } from "../../flow/key.ts";
import { formatOdpFlowLine, type OdpFlowLine } from "../../flow/odp-flow-line.ts";
import { displayMask } from "../../flow/wildcards.ts";
import type { Bridge } from "../../ofproto/bridge.ts";
import type { TunnelPort } from "../../ofproto/tunnel.ts";
import type { CaptureHub } from "../../ports/capture-tap.ts";
import type { HostNic, Netdev } from "../netdev.ts";
import { nicCounterLines } from "./offload.ts";

/** What these commands need of the host. */
export interface DpctlHost {
  readonly dp: Datapath;
  readonly dpType: "netdev" | "dummy";
  readonly dpPorts: ReadonlyMap<number, Netdev>;
  readonly bridges: ReadonlyMap<string, Bridge<Netdev>>;
  readonly nics: ReadonlyMap<string, HostNic>;
  readonly tunnelPorts: ReadonlyMap<Netdev, TunnelPort>;
  readonly offload: { readStats(f: DpFlow, nics: ReadonlyMap<string, HostNic>): void };
  readonly upcalls: { packetKeyOf(f: DpFlow): FlowKey | null };
  readonly captures: CaptureHub;
  readonly nowMs: number;
  purgeFlows(): void;
  revalidate(): void;
}

function portTypeName(e: DpctlHost, dev: Netdev): string {
  const dummy = e.dpType === "dummy";
  if (dev.type === "internal") return dummy ? "dummy-internal" : "tap";
  if (dev.type === "vf" && dev.nic) return `vf: pf=${dev.nic.nic.name}, vf=${dev.nic.vport - 1}`;
  if (dev.type === "uplink" && dev.nic) return `uplink: switch_id=${dev.nic.nic.switchId}, n_vfs=${dev.nic.nic.nVfs}`;
  const tp = e.tunnelPorts.get(dev);
  if (tp !== undefined) return `${dev.type}: ${tp.cfg.text}`;
  return dev.type;
}

/** One dpctl/dump-flows line for a datapath flow. */
export function flowLine(
  e: Pick<DpctlHost, "offload" | "upcalls" | "nics" | "nowMs">,
  f: DpFlow,
  verbose: boolean,
  portNames?: ReadonlyMap<number, string>,
): string {
  e.offload.readStats(f, e.nics);
  const used = f.lastUsedMs;
  const shown = e.upcalls.packetKeyOf(f) ?? f.key;
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

export function registerDpctlCommands(e: DpctlHost, u: Unixctl): void {
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
    e.dp.clearStats();
    return "";
  });
}

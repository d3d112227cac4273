// The emulator's own view of offload: offload/show (packets by tier, flows refused with their
// reason, NIC fallbacks, drops) and nic/show (a NIC's vports and counters).

import { fail, type CommandRegistry as Unixctl } from "../../ctl/registry.ts";
import type { Datapath } from "../../dp/datapath.ts";
import { TIER_NAMES } from "../../dp/tier.ts";
import type { HostNic } from "../netdev.ts";

/** What these commands need of the host. */
export interface OffloadHost {
  readonly dp: Datapath;
  readonly nics: ReadonlyMap<string, HostNic>;
  readonly offload: { readonly enabled: boolean };
  readonly tiers: Float64Array;
  readonly packetsReceived: number;
  readonly fallbacks: ReadonlyMap<string, number>;
  readonly drops: ReadonlyMap<string, number>;
}

/** A NIC's counters, as nic/show and pmd-stats-show print them. */
export function nicCounterLines(nic: HostNic): string[] {
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

export function registerOffloadCommands(e: OffloadHost, u: Unixctl): void {
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
}

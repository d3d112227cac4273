// Whole dpctl/dump-flows lines (lib/dpctl.c format_dpif_flow): a datapath flow's key, its
// statistics, the offload attributes -m shows, and its actions, printed and read back. The key
// and action syntax are odp.ts's; this file only joins them into a line.

import { FlowSyntaxError } from "./syntax.ts";
import {
  formatOdpActions,
  formatOdpKey,
  parseOdpActions,
  parseOdpKey,
  type OdpAction,
  type OdpFormatOptions,
  type OdpKey,
} from "./odp.ts";

type Err = (reason: string, pos: number) => never;

export interface OdpFlowStats {
  packets: number;
  bytes: number;
  usedAgoMs: number | null; // null: "used:never"
  tcpFlags?: number; // TCP flags seen, printed as ", flags:S." when non-zero
}

export interface OdpFlowLine {
  ufid?: string; // -m only
  key: OdpKey;
  stats: OdpFlowStats;
  offloaded?: "yes" | "partial" | "no"; // -m only: OVS prints yes/partial; "no" is ours, for a flow the NIC refused
  dp?: string; // -m only: "ovs", "tc", "dpdk"
  actions: OdpAction[];
  dpExtraInfo?: string; // -m only
}

/** packet_format_tcp_flags: S F P R U . E C N, as tcpdump abbreviates them. */
export function formatTcpFlagsShort(flags: number): string {
  if (!flags) return "none";
  let s = "";
  const order: [number, string][] = [
    [0x002, "S"],
    [0x001, "F"],
    [0x008, "P"],
    [0x004, "R"],
    [0x020, "U"],
    [0x010, "."],
    [0x040, "E"],
    [0x080, "C"],
    [0x100, "N"],
    [0x200, "[200]"],
    [0x400, "[400]"],
    [0x800, "[800]"],
  ];
  for (const [bit, c] of order) if (flags & bit) s += c;
  return s;
}

/** One line of dpctl/dump-flows (format_dpif_flow of lib/dpctl.c). */
export function formatOdpFlowLine(f: OdpFlowLine, opts: OdpFormatOptions = {}): string {
  let s = "";
  if (opts.verbose && f.ufid) s += `ufid:${f.ufid}, `;
  s += `${formatOdpKey(f.key, opts)}, packets:${f.stats.packets}, bytes:${f.stats.bytes}, used:`;
  s += f.stats.usedAgoMs === null ? "never" : `${(f.stats.usedAgoMs / 1000).toFixed(3)}s`;
  if (f.stats.tcpFlags) s += `, flags:${formatTcpFlagsShort(f.stats.tcpFlags)}`;
  if (opts.verbose && f.offloaded) s += `, offloaded:${f.offloaded}`;
  if (opts.verbose && f.dp) s += `, dp:${f.dp}`;
  s += `, actions:${formatOdpActions(f.actions, opts)}`;
  if (opts.verbose && f.dpExtraInfo) s += `, dp-extra-info:${f.dpExtraInfo}`;
  return s;
}

/** Read a dpctl/dump-flows line (either form); `portNames` resolves the names -m prints. */
export function parseOdpFlowLine(line: string, portNames?: ReadonlyMap<number, string>): OdpFlowLine {
  const err: Err = (reason, pos) => {
    throw new FlowSyntaxError(reason, pos, line);
  };
  let pos = 0;
  const out: Partial<OdpFlowLine> = {};
  const ufid = /^ufid:([0-9a-f-]+), /.exec(line);
  if (ufid) {
    out.ufid = ufid[1] as string;
    pos = ufid[0].length;
  }
  const statsAt = line.indexOf(", packets:", pos);
  if (statsAt < 0) return err('expected ", packets:" after the flow key', line.length);
  out.key = parseOdpKey(line, pos, statsAt, portNames);
  const actAt = line.indexOf(", actions:", statsAt);
  if (actAt < 0) return err('expected ", actions:"', line.length);
  const stats: OdpFlowStats = { packets: 0, bytes: 0, usedAgoMs: null };
  for (const part of line.slice(statsAt + 2, actAt).split(", ")) {
    const [k, v = ""] = part.split(":") as [string, string | undefined];
    if (k === "packets") stats.packets = Number(v);
    else if (k === "bytes") stats.bytes = Number(v);
    else if (k === "used") stats.usedAgoMs = v === "never" ? null : Math.round(parseFloat(v) * 1000);
    else if (k === "flags")
      stats.tcpFlags = [...v].reduce(
        (acc, c) => acc | ({ S: 2, F: 1, P: 8, R: 4, U: 0x20, ".": 0x10, E: 0x40, C: 0x80, N: 0x100 }[c] ?? 0),
        0,
      );
    else if (k === "offloaded") out.offloaded = v as "yes" | "partial" | "no";
    else if (k === "dp") out.dp = v;
  }
  out.stats = stats;
  const extra = line.indexOf(", dp-extra-info:", actAt);
  const actEnd = extra < 0 ? line.length : extra;
  if (extra >= 0) out.dpExtraInfo = line.slice(extra + 16);
  out.actions = parseOdpActions(line, actAt + 10, actEnd, portNames);
  return out as OdpFlowLine;
}

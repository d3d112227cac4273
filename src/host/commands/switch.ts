// The switch's commands: the clock (time/stop, time/warp), the MAC learning table (fdb/show,
// fdb/flush) and ofproto/trace.

import { fail, type CommandRegistry as Unixctl } from "../../ctl/registry.ts";
import { OfPort } from "../../flow/fields.ts";
import { FlowSyntaxError } from "../../flow/syntax.ts";
import type { BridgeView } from "../../ofproto/types.ts";
import type { TunnelEnv } from "../../ofproto/tunnel.ts";
import { formatTraceCommand, TraceError } from "../../ofproto/trace.ts";
import type { CaptureHub } from "../../ports/capture-tap.ts";

/** What these commands need of the host. */
export interface SwitchHost {
  readonly bridges: ReadonlyMap<string, BridgeView>;
  readonly tunnelEnv: TunnelEnv;
  readonly captures: CaptureHub;
  readonly nowMs: number;
  advance(ms: number, stepMs?: number): void;
  settle(): void;
}

export function registerSwitchCommands(e: SwitchHost, u: Unixctl): void {
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
      const port = m.ofport === OfPort.LOCAL ? "LOCAL" : String(m.ofport);
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

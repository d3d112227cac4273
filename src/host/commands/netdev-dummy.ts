// netdev-dummy's appctl commands (lib/netdev-dummy.c): frames received on a port, the port's
// addresses, and its admin state. OVS's own tests drive their dummy ports with these.

import { fail, type CommandRegistry as Unixctl } from "../../ctl/registry.ts";
import { composeFlow } from "../../flow/compose.ts";
import { FlowSyntaxError } from "../../flow/syntax.ts";
import type { Netdev } from "../netdev.ts";

/** What these commands need of the host. */
export interface DummyHost {
  readonly devs: ReadonlyMap<string, Netdev>;
  /** Every address of a port, "ip/plen". */
  readonly hostAddrs: Map<string, { v4: string | null; v6: string | null }>;
  devByName(name: string): Netdev | null;
  receive(dev: Netdev, frame: Uint8Array): void;
  setLinkUp(dev: Netdev, up: boolean): void;
  updateHostAddresses(): void;
  settle(): void;
}

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

export function registerDummyCommands(e: DummyHost, u: Unixctl): void {
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
}

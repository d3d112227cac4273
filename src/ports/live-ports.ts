// Fills PORT_DRIVERS (src/ports/port-driver.ts) with the live ports: `tap` (tap.ts), `dgram`
// (dgram.ts) and `stream` (stream.ts). Importing this module is what makes those Interface
// types (and options:backend=TYPE behind a VF or uplink representor) available; the daemon
// (src/daemon/server.ts) does, tests of the engine alone need not.
//
// It also keeps the drivers open right now, by port name, for `appctl live/show`.

import type { InterfaceConfig } from "../ovsdb/config.ts";
import { PORT_DRIVERS, type PortDriver, type PortDriverContext, type PortDriverFactory } from "./port-driver.ts";
import { openDgram } from "./dgram.ts";
import type { LivePort } from "./stats.ts";
import { openStream } from "./stream.ts";
import { openTap } from "./tap.ts";

/** Live drivers open now, by port name. */
export const LIVE_PORTS = new Map<string, PortDriver & Partial<LivePort>>();

function tracked(factory: PortDriverFactory): PortDriverFactory {
  return (row: InterfaceConfig, ctx: PortDriverContext) => {
    const d = factory(row, ctx);
    if (typeof d === "string") return d;
    LIVE_PORTS.set(ctx.name, d);
    const close = d.close.bind(d);
    d.close = () => {
      if (LIVE_PORTS.get(ctx.name) === d) LIVE_PORTS.delete(ctx.name);
      return close();
    };
    return d;
  };
}

PORT_DRIVERS.set("tap", tracked(openTap));
PORT_DRIVERS.set("dgram", tracked(openDgram));
PORT_DRIVERS.set("stream", tracked(openStream));

/** `appctl live/show`: one line per live port, its endpoint and its edge counters. */
export function formatLivePorts(): string {
  let out = "";
  for (const name of [...LIVE_PORTS.keys()].sort()) {
    const d = LIVE_PORTS.get(name) as PortDriver & Partial<LivePort>;
    out += `${name}: ${d.describe()}\n`;
    if (d.stats) out += `  ${d.stats.format()}\n`;
  }
  return out;
}

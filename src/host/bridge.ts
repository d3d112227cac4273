// A bridge as vswitchd holds it: OpenFlow tables, ports by OpenFlow and datapath number, and the
// MAC learning table of the NORMAL action.

import { OfTables } from "./oftable.ts";
import { MacLearning } from "./mac-learning.ts";
import type { BridgeView } from "./types.ts";
import type { Netdev } from "./netdev.ts";

export class Bridge implements BridgeView {
  readonly tables = new OfTables();
  readonly ports = new Map<number, Netdev>();
  readonly byOdp = new Map<number, Netdev>();
  readonly byName = new Map<string, Netdev>();
  readonly mac = new MacLearning();
  failMode: "secure" | "standalone" = "standalone";
  datapathId = 0n;
  datapathType = "";

  constructor(readonly name: string, public datapathName: string) {}

  attach(dev: Netdev): void {
    dev.bridge = this;
    this.ports.set(dev.ofport, dev);
    this.byOdp.set(dev.odpPort, dev);
    this.byName.set(dev.name, dev);
  }

  detach(dev: Netdev): void {
    this.ports.delete(dev.ofport);
    this.byOdp.delete(dev.odpPort);
    this.byName.delete(dev.name);
    dev.bridge = null;
  }

  /** The lowest OpenFlow port number not in use (OVS allocates from 1). */
  freeOfport(): number {
    for (let n = 1; n < 0xff00; n++) if (!this.ports.has(n)) return n;
    return -1;
  }
}

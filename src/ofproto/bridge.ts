// A bridge as vswitchd holds it: OpenFlow tables, ports by OpenFlow and datapath number, and the
// MAC learning table of the NORMAL action. It holds ports by their XPort face only: the host
// decides what a port is (src/host/netdev.ts), and the bridge records which bridge holds it.

import { OfTables } from "./oftable.ts";
import { MacLearning } from "./mac-learning.ts";
import type { BridgeView, XPort } from "./types.ts";

/** A port a bridge can hold: an XPort that knows which bridge it is on. */
export interface BridgePort extends XPort {
  bridge: Bridge<this> | null;
}

export class Bridge<P extends BridgePort = BridgePort> implements BridgeView {
  readonly tables = new OfTables();
  readonly ports = new Map<number, P>();
  readonly byOdp = new Map<number, P>();
  readonly byName = new Map<string, P>();
  readonly mac = new MacLearning();
  failMode: "secure" | "standalone" = "standalone";
  datapathId = 0n;
  datapathType = "";

  constructor(
    readonly name: string,
    public datapathName: string,
  ) {}

  attach(dev: P): void {
    dev.bridge = this;
    this.ports.set(dev.ofport, dev);
    this.byOdp.set(dev.odpPort, dev);
    this.byName.set(dev.name, dev);
  }

  detach(dev: P): void {
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

// What every part of the host shares about its devices: bridges, network devices by name and by
// datapath port, the NICs, and the shared tunnel vports. The engine (engine.ts) creates one and
// hands it to reconfiguration (reconfigure.ts), the packet path (pipeline.ts) and the upcall
// handler (upcall.ts); only reconfiguration adds or removes entries.

import type { Bridge } from "../ofproto/bridge.ts";
import type { HostNic, Netdev } from "./netdev.ts";

export class Devices {
  readonly bridges = new Map<string, Bridge<Netdev>>();
  /** Every port, by Interface name. */
  readonly byName = new Map<string, Netdev>();
  /** Every datapath port, by number: 0 the datapath's own, tunnel vports included. */
  readonly byOdp = new Map<number, Netdev>();
  readonly nics = new Map<string, HostNic>();
  /** The shared datapath vports of tunnels (vxlan_sys_4789 …), by datapath port. */
  readonly vports = new Map<number, Netdev>();
  /** Every address of a port, "ip/plen" (netdev-dummy/ip4addr and ip6addr): routes' sources,
   *  tunnel endpoints, neighbour replies addressed to us, host traffic on the NICs. */
  readonly addrs = new Map<string, { v4: string | null; v6: string | null }>();

  /** The datapath port `odp`, or null: the port lookup the offload manager uses. */
  readonly port = (odp: number): Netdev | null => this.byOdp.get(odp) ?? null;

  /** Addresses of a port's device, "ip/plen". */
  addrsOf(dev: string): string[] {
    const a = this.addrs.get(dev);
    return a === undefined ? [] : [a.v4, a.v6].filter((x): x is string => x !== null);
  }
}

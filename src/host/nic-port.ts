// The host's view of a SmartNIC: its eSwitch and which host port represents each vport.

import type { ESwitch } from "../nic/eswitch.ts";
import type { Netdev } from "./netdev.ts";

export class HostNic {
  /** The representor (bridge port) of each vport: 0 the uplink, 1.. the VFs. */
  readonly reps: (Netdev | null)[];
  /** The hw-* options the eSwitch was built with; a change rebuilds it (HostEngine.reconfigure). */
  hwKey = "";
  constructor(readonly name: string, public esw: ESwitch, readonly switchId: number, nVfs: number) {
    this.reps = new Array<Netdev | null>(nVfs + 1).fill(null);
  }
  get nVfs(): number { return this.reps.length - 1; }
}

export interface NicPort {
  readonly nic: HostNic;
  readonly vport: number;
}

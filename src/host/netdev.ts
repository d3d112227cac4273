// Network devices of the host: every port a bridge has, whatever is behind it. A `dummy` port is
// a host-only software port (as OVS's netdev-dummy); `internal` is the bridge's own port; a `vf`
// or `uplink` port is the representor of an eSwitch vport, so packets received "on" it arrive at
// the NIC first and only reach the host datapath when the NIC falls back to the representor.

import { DEFAULT_MTU } from "../wire/ethernet.ts";
import type { PortStats, VlanMode, XPort } from "../ofproto/types.ts";
import type { CaptureTap } from "../ports/capture-tap.ts";
import type { Bridge } from "../ofproto/bridge.ts";
import type { ESwitch } from "../nic/eswitch.ts";
import type { PortDriver } from "../ports/port-driver.ts";

export class Netdev implements XPort {
  ofport = -1;
  odpPort = -1;
  mac: string;
  mtu = DEFAULT_MTU;
  tag: number | null = null;
  trunks: number[] = [];
  vlanMode: VlanMode | null = null;
  up = true;
  bridge: Bridge<Netdev> | null = null;
  /** The eSwitch vport this port represents (vf, uplink), or null for host-only ports. */
  nic: NicPort | null = null;
  /** What is behind a tap/dgram/stream/… port (src/ports/port-driver.ts), or null. */
  driver: PortDriver | null = null;
  rxPackets = 0;
  rxBytes = 0;
  rxDropped = 0;
  rxErrors = 0;
  txPackets = 0;
  txBytes = 0;
  txDropped = 0;
  txErrors = 0;
  rxTaps: CaptureTap[] = [];
  txTaps: CaptureTap[] = [];
  /** Option values the taps were opened for, to reopen only on change. */
  tapConfig = "";

  constructor(
    /** Fixed, but for the datapath's own port, named after the datapath type. */
    public name: string,
    public type: string,
    mac: string,
  ) {
    this.mac = mac;
  }

  stats(): PortStats {
    return {
      rxPackets: this.rxPackets,
      rxBytes: this.rxBytes,
      rxDropped: this.rxDropped,
      rxErrors: this.rxErrors,
      txPackets: this.txPackets,
      txBytes: this.txBytes,
      txDropped: this.txDropped,
      txErrors: this.txErrors,
    };
  }
}

// The host's view of a SmartNIC: its eSwitch and which host port represents each vport.
export class HostNic {
  /** The representor (bridge port) of each vport: 0 the uplink, 1.. the VFs. */
  readonly reps: (Netdev | null)[];
  /** The hw-* options the eSwitch was built with; a change rebuilds it (HostEngine.reconfigure). */
  hwKey = "";
  constructor(
    readonly name: string,
    public esw: ESwitch,
    readonly switchId: number,
    nVfs: number,
  ) {
    this.reps = new Array<Netdev | null>(nVfs + 1).fill(null);
  }
  get nVfs(): number {
    return this.reps.length - 1;
  }
}

export interface NicPort {
  readonly nic: HostNic;
  readonly vport: number;
}

/**
 * The datapath port number OVS's userspace datapath picks (lib/dpif-netdev.c choose_port): for
 * the `dummy` datapath, a name containing a number gets that number (plus 100 for names
 * starting with "br") when free, which keeps OVS's test expectations stable; otherwise, and for
 * the `netdev` datapath, the lowest free number from 1.
 */
export function choosePort(name: string, dummyClass: boolean, used: (n: number) => boolean): number {
  if (dummyClass) {
    const start = name.startsWith("br") ? 100 : 0;
    const m = /\d+/.exec(name);
    if (m) {
      const n = start + parseInt(m[0], 10);
      if (n > 0 && n !== 0xffffffff && !used(n)) return n;
    }
  }
  for (let n = 1; n <= 0xffff; n++) if (!used(n)) return n;
  return -1;
}

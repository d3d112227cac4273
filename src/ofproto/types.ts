// What the translation, the OpenFlow commands and the datapath share about a bridge and its
// ports. The engine (src/host/engine.ts) owns the objects; xlate.ts and the ofctl commands only read them,
// so each can be tested on a bridge built by hand.

import type { OfTables } from "./oftable.ts";
import type { MacLearning } from "./mac-learning.ts";

/** Port counters, as `ovs-ofctl dump-ports` prints them. */
export interface PortStats {
  rxPackets: number;
  rxBytes: number;
  rxDropped: number;
  rxErrors: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
  txErrors: number;
}

/** VLAN mode of a bridge port (the Port table's vlan_mode, tag and trunks columns). */
export type VlanMode = "access" | "trunk" | "native-tagged" | "native-untagged" | "dot1q-tunnel";

export interface XPort {
  readonly name: string;
  readonly ofport: number; // OfPort.LOCAL (src/flow/fields.ts) for the bridge's own internal port
  readonly odpPort: number; // datapath port number
  readonly type: string; // Interface type: "internal", "dummy", "vf", "uplink", …
  readonly mac: string; // "aa:bb:cc:dd:ee:ff"
  readonly mtu: number;
  /** Port table VLAN configuration: tag null and trunks empty = trunk of every VLAN. */
  readonly tag: number | null;
  readonly trunks: readonly number[];
  readonly vlanMode: VlanMode | null; // null: the default OVS derives from tag/trunks
  /** Administrative and link state, as `ovs-ofctl show` reports them. */
  readonly up: boolean;
  stats(): PortStats;
}

/** A bridge as the translation sees it. */
export interface BridgeView {
  readonly name: string;
  readonly datapathName: string; // "ovs-netdev" for the userspace datapath
  readonly tables: OfTables;
  readonly ports: ReadonlyMap<number, XPort>; // by ofport
  readonly byOdp: ReadonlyMap<number, XPort>; // by datapath port
  readonly byName: ReadonlyMap<string, XPort>;
  readonly mac: MacLearning;
  /** fail_mode: "secure" keeps an empty table dropping; "standalone" (default) acts as NORMAL. */
  readonly failMode: "secure" | "standalone";
  readonly datapathId: bigint;
}

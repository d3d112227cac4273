// The configuration the engine reads: the columns of the Open_vSwitch database it acts on, as
// plain rows. The daemon's database (src/ovsdb/db.ts) has rows of this shape; scenarios and tests
// may build them directly.

export interface InterfaceConfig {
  uuid?: string;
  name: string;
  type: string;
  options: Map<string, string>;
  ofport_request: number | null;
  mtu_request: number | null;
  mac: string | null;
  // Written back by the engine:
  ofport: number | null;
  error: string | null;
  mac_in_use: string | null;
  mtu: number | null;
  external_ids?: Map<string, string>;
  other_config?: Map<string, string>;
}

export interface PortConfig {
  uuid?: string;
  name: string;
  interfaces: InterfaceConfig[];
  tag: number | null;
  trunks: number[];
  vlan_mode: string | null;
  external_ids?: Map<string, string>;
  other_config?: Map<string, string>;
}

export interface BridgeConfig {
  uuid?: string;
  name: string;
  ports: PortConfig[];
  datapath_type: string;
  fail_mode: string | null;
  other_config: Map<string, string>;
  external_ids?: Map<string, string>;
  protocols?: string[];
}

export interface OvsConfig {
  uuid?: string;
  bridges: BridgeConfig[];
  other_config: Map<string, string>;
  external_ids?: Map<string, string>;
}

export interface ConfigSource {
  readonly root: OvsConfig;
}

/** An interface row with every column at its default. */
export function newInterface(
  name: string,
  type = "",
  options: Record<string, string> = {},
  ofportRequest: number | null = null,
): InterfaceConfig {
  return {
    name,
    type,
    options: new Map(Object.entries(options)),
    ofport_request: ofportRequest,
    mtu_request: null,
    mac: null,
    ofport: null,
    error: null,
    mac_in_use: null,
    mtu: null,
  };
}

/** A bridge row with its internal port, as `ovs-vsctl add-br` makes it. */
export function newBridge(name: string, datapathType = "", failMode: string | null = null): BridgeConfig {
  return {
    name,
    datapath_type: datapathType,
    fail_mode: failMode,
    other_config: new Map(),
    ports: [{ name, interfaces: [newInterface(name, "internal")], tag: null, trunks: [], vlan_mode: null }],
  };
}

/** Adds a one-interface port to a bridge row. */
export function addPort(br: BridgeConfig, iface: InterfaceConfig): PortConfig {
  const p: PortConfig = { name: iface.name, interfaces: [iface], tag: null, trunks: [], vlan_mode: null };
  br.ports.push(p);
  return p;
}

// The engine: one emulated host — its SmartNICs, its datapath, vswitchd's bridges and the offload
// manager — configured from the database the way ovs-vswitchd configures itself from OVSDB
// (bridge_reconfigure), and driven by packets received on its ports.
//
// A packet's path (../shared/DESIGN.md "data flow"):
//   port rx → (representor port?) eSwitch: L1 exact → L2 masked → actions → port tx
//                                  └ miss / host traffic / unclassifiable → representor ↓
//   host datapath: EMC → megaflow → actions → port tx
//                  └ miss → upcall: translate through the OpenFlow tables, install the megaflow,
//                           offer it to the ingress port's NIC, execute the packet
// Every received packet is counted in exactly one tier (Tier), so the tier counters always add up
// to the packets received.
//
// Time is virtual: it starts at VIRTUAL_EPOCH_MS and moves only with time/warp (or a scenario's
// clock), so the same commands give the same captures and the same dumps.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { isAbsolute, resolve } from "node:path";
import type { ConfigSource, InterfaceConfig as InterfaceRow } from "../ovsdb/config.ts";
import { CommandError as UnixctlError, type CommandRegistry as Unixctl } from "../ctl/registry.ts";
import { PacketPool } from "../dp/pool.ts";
import { ESwitch, FALLBACK_REASON_NAMES } from "../nic/eswitch.ts";
import { DEFAULT_ACTIONS, DEFAULT_MATCH_FIELDS } from "../nic/caps.ts";
import { PacketParser } from "../wire/parse.ts";
import { OUTER, S, TunnelType, newOffsets } from "../wire/offsets.ts";
import { FlowExtractor } from "../flow/extract.ts";
import { ActionExecutor, ovsRssHash } from "../dp/execute.ts";
import { FLOW_WORDS, TUN_METADATA_WORDS, VLAN_CFI, W, newFlowKey, type FlowKey } from "../flow/key.ts";
import { formatOdpKey } from "../flow/odp.ts";
import { parseFlow } from "../flow/ofctl.ts";
import { runOfctl, type TlvTable } from "../ofproto/ofctl-commands.ts";
import { translate } from "../ofproto/xlate.ts";
import { Bridge } from "../ofproto/bridge.ts";
import { CaptureHub, type CaptureTap } from "../ports/capture-tap.ts";
import { Datapath, DpHit, keyTcpFlags, DEFAULT_MAX_IDLE_MS, type DpFlow } from "../dp/datapath.ts";
import { DEFAULT_MTU, Netdev, choosePort } from "./netdev.ts";
import { HostNic, type NicPort } from "./netdev.ts";
import { OffloadManager } from "./offload.ts";
import { registerCommands } from "./commands.ts";
import { PORT_DRIVERS, type PortDriverFactory } from "../ports/port-driver.ts";
import { RouteTable } from "../ofproto/route.ts";
import { NeighTable } from "../ofproto/neigh.ts";
import {
  isTunnelType,
  parseTunnelConfig,
  vportName,
  isMappedIpv4,
  type TunnelEnv,
  type TunnelPort,
  type TlvMapping,
} from "../ofproto/tunnel.ts";
import { compileActions } from "../dp/execute.ts";
import type { VlanMode } from "../ofproto/types.ts";
import type { CommandIo, CommandResult } from "../ctl/registry.ts";

/** The virtual clock's zero: 2026-01-01T00:00:00Z. */
export const VIRTUAL_EPOCH_MS = 1_767_225_600_000;
/** How often the revalidator runs (ofproto-dpif-upcall's default max-revalidator, ms). */
export const REVALIDATE_INTERVAL_MS = 500;

/** The tier that handled a packet. */
export const Tier = { NIC_L1: 0, NIC_L2: 1, DP_EMC: 2, DP_MEGAFLOW: 3, UPCALL: 4, DROP: 5 } as const;
export const TIER_NAMES = ["nic-l1", "nic-l2", "dp-emc", "dp-megaflow", "upcall", "drop"] as const;
const N_TIERS = TIER_NAMES.length;

export interface EngineOptions {
  db: ConfigSource;
  unixctl: Unixctl;
  rundir: string;
  log(line: string): void;
  /** Packet buffer slots (default 4096). */
  poolSlots?: number;
  /** Called for every datapath flow an upcall installs, after it was offered to the NIC (scenario statistics). */
  onFlowInstall?: (f: DpFlow) => void;
  /** Drivers by Interface type (default PORT_DRIVERS). */
  portDrivers?: ReadonlyMap<string, PortDriverFactory>;
}

export interface Engine {
  reconfigure(): void;
  ofctl(argv: string[], io: CommandIo): CommandResult;
  /** Writes buffered capture records out (after each control command). */
  flush(): void;
  close(): Promise<void>;
  /** Whether a port is attached to something real: the daemon then runs the real clock. */
  readonly hasLivePorts?: boolean;
  /** Switches between the virtual clock and the wall clock (nowMs then follows real time). */
  setRealClock?(on: boolean): void;
  /** On the real clock: advances nowMs (timers, ageing) to the wall-clock time. */
  syncClock?(): void;
}

const UPLINK_DEFAULT_VFS = 4;

/** Wall-clock milliseconds with sub-millisecond resolution. */
function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

function macBytes(mac: string): number[] {
  return mac.split(":").map((x) => parseInt(x, 16));
}

function ipBytes(a: bigint, n: number): number[] {
  const out: number[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(Number((a >> BigInt(8 * i)) & 0xffn));
  return out;
}

/** tnl_send_arp_request: who-has `dst` tell `src`, broadcast, no padding (as OVS sends it). */
function arpRequest(smac: string, src: bigint, dst: bigint): Uint8Array {
  return Uint8Array.from([
    255,
    255,
    255,
    255,
    255,
    255,
    ...macBytes(smac),
    0x08,
    0x06,
    0,
    1,
    0x08,
    0,
    6,
    4,
    0,
    1,
    ...macBytes(smac),
    ...ipBytes(src, 4),
    0,
    0,
    0,
    0,
    0,
    0,
    ...ipBytes(dst, 4),
  ]);
}

/** tnl_send_nd_request: a neighbour solicitation (RFC 4861 §4.3) to the solicited-node multicast
 *  address of `dst`, with our link-layer address option; hop limit 255. */
function neighborSolicitation(smac: string, src: bigint, dst: bigint): Uint8Array {
  const d = ipBytes(dst, 16);
  const snm = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, d[13] as number, d[14] as number, d[15] as number];
  const icmp = [135, 0, 0, 0, 0, 0, 0, 0, ...d, 1, 1, ...macBytes(smac)];
  const s = ipBytes(src, 16);
  // ICMPv6 checksum over the pseudo-header (RFC 8200 §8.1).
  let sum = 0;
  const words = [...s, ...snm, 0, 0, 0, icmp.length, 0, 0, 0, 58, ...icmp];
  for (let i = 0; i < words.length; i += 2) sum += ((words[i] as number) << 8) | (words[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  const cs = ~sum & 0xffff;
  icmp[2] = cs >>> 8;
  icmp[3] = cs & 255;
  return Uint8Array.from([
    0x33,
    0x33,
    ...snm.slice(12),
    ...macBytes(smac),
    0x86,
    0xdd,
    0x60,
    0,
    0,
    0,
    0,
    icmp.length,
    58,
    255,
    ...s,
    ...snm,
    ...icmp,
  ]);
}

export class HostEngine implements Engine {
  readonly pool: PacketPool;
  readonly bridges = new Map<string, Bridge<Netdev>>();
  readonly devs = new Map<string, Netdev>();
  readonly nics = new Map<string, HostNic>();
  readonly dpPorts = new Map<number, Netdev>();
  readonly dp = new Datapath("ovs-netdev");
  readonly offload = new OffloadManager();
  readonly captures = new CaptureHub();
  /** Packets by the tier that handled them (Tier). */
  readonly tiers = new Float64Array(N_TIERS);
  /** Drops before any tier decided, by reason. */
  readonly drops = new Map<string, number>();
  /** Packets the NICs sent to the host, by reason name. */
  readonly fallbacks = new Map<string, number>();
  nowMs = 0;
  /** Wall-clock time of nowMs = 0: the virtual epoch, or the real start time when live ports run the clock. */
  epochMs = VIRTUAL_EPOCH_MS;
  maxIdleMs = DEFAULT_MAX_IDLE_MS;
  dpType: "netdev" | "dummy" = "netdev";
  /** Host IPv4 addresses per port (netdev-dummy/ip4addr), told to the NICs as host traffic. */
  readonly hostIps = new Map<string, string>();
  /** Every address of a port, "ip/plen" (netdev-dummy/ip4addr and ip6addr): routes' sources,
   *  tunnel endpoints, neighbour replies addressed to us. */
  readonly hostAddrs = new Map<string, { v4: string | null; v6: string | null }>();
  /** ovs/route/*: the route to a tunnel's remote endpoint names the bridge it leaves by. */
  readonly routes = new RouteTable((dev) => {
    const a = this.hostAddrs.get(dev);
    return a === undefined ? [] : [a.v4, a.v6].filter((x): x is string => x !== null);
  });
  /** tnl/neigh/*: next hops' MACs, set by hand or learned from ARP replies and advertisements. */
  readonly neigh = new NeighTable(() => this.nowMs);
  /** Tunnel Interfaces (vxlan, geneve, gre) and their configuration. */
  readonly tunnelPorts = new Map<Netdev, TunnelPort>();
  /** The shared datapath vports of tunnels (vxlan_sys_4789 …), by datapath port. */
  readonly vports = new Map<number, Netdev>();
  /** add-tlv-map: GENEVE options <-> tun_metadataN, one table for the switch as in OVS. */
  readonly tlvMap: TlvMapping[] = [];
  readonly tlvTable: TlvTable = {
    list: () => this.tlvMap,
    add: (entries) => {
      // tun_metadata_table_mod: a field already mapped, an option mapped twice, or no room.
      for (const e of entries) {
        if (this.tlvMap.some((m) => m.index === e.index)) return "NXTTMFC_ALREADY_MAPPED";
        if (this.tlvMap.some((m) => m.cls === e.cls && m.type === e.type)) return "NXTTMFC_DUP_ENTRY";
      }
      const space = [...this.tlvMap, ...entries].reduce((n, e) => n + e.len, 0);
      if (space > 256) return "NXTTMFC_TABLE_FULL";
      this.tlvMap.push(...entries);
      this.markStale();
      return null;
    },
    del: (entries) => {
      if (entries === null) {
        this.tlvMap.length = 0;
        this.markStale();
        return null;
      }
      for (const e of entries) if (!this.tlvMap.some((m) => m.index === e.index)) return "NXTTMFC_INVALID_TLV_DEL";
      for (const e of entries)
        this.tlvMap.splice(
          this.tlvMap.findIndex((m) => m.index === e.index),
          1,
        );
      this.markStale();
      return null;
    },
  };
  readonly tunnelEnv: TunnelEnv;
  /** ARP requests and neighbour solicitations asked for during translation, sent afterwards. */
  private readonly solicits: { bridge: Bridge<Netdev>; frame: Uint8Array }[] = [];
  /** The tunnel port of each decapsulated flow, for its rx counters. */
  private readonly tunnelIngress = new WeakMap<DpFlow, Netdev>();
  private readonly recircKey: FlowKey = newFlowKey();
  private readonly recircO = newOffsets();
  private recircDepth = 0;
  private nextRevalidate = REVALIDATE_INTERVAL_MS;
  private needRevalidate = false;
  private macSerial = 0;
  private nextSwitchId = 1;

  // Per-packet scratch, reused.
  private readonly parser = new PacketParser();
  private readonly extractor = new FlowExtractor();
  private readonly o = newOffsets();
  private readonly key: FlowKey = newFlowKey();
  readonly executor: ActionExecutor;
  private tier = -1;
  private curFlow: DpFlow | null = null;
  // Capture ordering: while a packet with rx taps is in flight, its tx records wait so that the
  // rx record (whose comment needs the tier) comes first.
  private rxCopy: Uint8Array | null = null;
  private readonly pendingTx: { dev: Netdev; data: Uint8Array; comment: string }[] = [];

  constructor(readonly opts: EngineOptions) {
    this.pool = new PacketPool(opts.poolSlots ?? 4096);
    const local = new Netdev("ovs-netdev", "internal", "");
    local.odpPort = 0;
    this.dpPorts.set(0, local);
    this.executor = new ActionExecutor(
      this.pool,
      (port, slot) => this.dpOutput(port, slot),
      (slot, tnlPort, recircId) => this.recirculate(slot, tnlPort, recircId),
    );
    this.tunnelEnv = this.makeTunnelEnv();
    // A route or neighbour change changes what tunnelled flows translate to: OVS bumps
    // tnl_conf_seq and revalidates every flow; here they are marked and settle() revalidates.
    this.routes.onChange(() => this.markStale());
    this.neigh.onChange(() => this.markStale());
    // Offloaded tunnelled flows follow routes and neighbours on the NIC right away (moved,
    // headers rewritten, or back to software), before the revalidator re-translates them.
    this.offload.attachTunnels({
      routes: this.routes,
      neigh: this.neigh,
      dev: (n) => this.devs.get(n) ?? null,
      port: (p) => this.dpPorts.get(p) ?? null,
      nics: this.nics,
    });
    registerCommands(this, opts.unixctl);
  }

  private markStale(): void {
    for (const f of this.dp.list()) f.xlateVersion = -1;
    this.needRevalidate = true;
  }

  get db(): ConfigSource {
    return this.opts.db;
  }

  // --- configuration ---------------------------------------------------------------------------

  /** bridge_reconfigure: make bridges, ports and NICs match the database; write status back. */
  reconfigure(): void {
    const root = this.db.root;
    const hw = root.other_config.get("hw-offload") === "true";
    const idle = Number(root.other_config.get("max-idle") ?? DEFAULT_MAX_IDLE_MS);
    this.maxIdleMs = Number.isFinite(idle) && idle > 0 ? idle : DEFAULT_MAX_IDLE_MS;
    const limit = Number(root.other_config.get("flow-limit") ?? this.dp.flowLimit);
    if (Number.isInteger(limit) && limit > 0) this.dp.flowLimit = limit;
    const inv = Number(root.other_config.get("emc-insert-inv-prob") ?? 100);
    if (Number.isInteger(inv) && inv >= 0) {
      this.dp.emc.insertInvProb = inv;
      this.dp.emcEnabled = inv > 0;
    }

    const wanted = new Map(root.bridges.map((b) => [b.name, b]));
    for (const [name, br] of this.bridges) if (!wanted.has(name)) this.deleteBridge(br);
    if (root.bridges.some((b) => b.datapath_type === "dummy")) this.setDpType("dummy");

    let portsChanged = false;
    // Uplinks first: VFs name their uplink.
    const ifaces: { br: Bridge<Netdev>; port: (typeof root.bridges)[number]["ports"][number]; iface: InterfaceRow }[] =
      [];
    for (const brow of root.bridges) {
      let br = this.bridges.get(brow.name);
      if (br === undefined) {
        br = new Bridge<Netdev>(brow.name, this.dp.name);
        this.bridges.set(brow.name, br);
        if ((brow.fail_mode ?? "standalone") !== "secure") {
          // A standalone bridge starts with a visible NORMAL flow, as OVS's fail-open does.
          br.tables.add(parseFlow("priority=0,actions=NORMAL"), this.nowMs);
        }
      }
      br.failMode = brow.fail_mode === "secure" ? "secure" : "standalone";
      br.datapathType = brow.datapath_type;
      for (const prow of brow.ports) for (const iface of prow.interfaces) ifaces.push({ br, port: prow, iface });
    }
    const wantedDevs = new Set(ifaces.map((x) => x.iface.name));
    for (const [name, dev] of this.devs) {
      if (!wantedDevs.has(name)) {
        this.deleteDev(dev);
        portsChanged = true;
      }
    }
    ifaces.sort((a, b) => rank(a.iface.type) - rank(b.iface.type));
    for (const { br, port, iface } of ifaces) {
      if (this.configureIface(br, iface)) portsChanged = true;
      const dev = this.devs.get(iface.name);
      if (dev) {
        dev.tag = port.tag;
        dev.trunks = [...port.trunks];
        dev.vlanMode = (port.vlan_mode as VlanMode | null) ?? null;
      }
    }
    for (const br of this.bridges.values()) {
      const brow = wanted.get(br.name);
      const dpid = brow?.other_config.get("datapath-id");
      const local = br.ports.get(0xfffe);
      br.datapathId = dpid ? BigInt(`0x${dpid}`) : local ? BigInt(`0x${local.mac.replace(/:/g, "")}`) : 0n;
    }
    this.updateHostAddresses();
    if (hw !== this.offload.enabled) this.setHwOffload(hw);
    if (portsChanged) this.forceRevalidate();
  }

  private setDpType(t: "netdev" | "dummy"): void {
    if (this.dpType === t) return;
    this.dpType = t;
    (this.dp as { name: string }).name = t === "dummy" ? "ovs-dummy" : "ovs-netdev";
    const local = this.dpPorts.get(0);
    if (local) (local as { name: string }).name = this.dp.name;
    for (const br of this.bridges.values()) br.datapathName = this.dp.name;
  }

  /** Creates or updates one interface; true when ports came or went. */
  private configureIface(br: Bridge<Netdev>, row: InterfaceRow): boolean {
    let changed = false;
    let dev = this.devs.get(row.name);
    const type = row.type === "" ? (row.name === br.name ? "internal" : "system") : row.type;
    if (dev !== undefined && (dev.type !== type || dev.bridge !== br)) {
      this.deleteDev(dev);
      dev = undefined;
      changed = true;
    }
    // A live port's failure (device gone, peer closed) stands until the driver recovers.
    row.error = dev === undefined ? null : (this.driverErrors.get(dev) ?? null);
    const tp = dev === undefined ? undefined : this.tunnelPorts.get(dev);
    if (dev !== undefined && tp !== undefined) {
      // Options may have changed: the port keeps its numbers, its configuration follows the row.
      const cfg = parseTunnelConfig(row.name, tp.cfg.kind, row.options);
      if (typeof cfg === "string") {
        row.error = cfg;
        this.deleteDev(dev);
        row.ofport = -1;
        return true;
      }
      if (vportName(cfg) !== vportName(tp.cfg)) {
        this.deleteDev(dev);
        return this.configureIface(br, row) || true;
      }
      if (cfg.text !== tp.cfg.text) {
        this.tunnelPorts.set(dev, { ...tp, cfg });
        changed = true;
      }
      row.ofport = dev.ofport;
      return changed;
    }
    if (dev === undefined) {
      const err = this.checkType(type, row);
      if (err !== null) {
        row.error = err;
        row.ofport = -1;
        return changed;
      }
      const isLocal = row.name === br.name;
      const hwaddr = (isLocal ? this.bridgeHwaddr(br.name) : null) ?? row.other_config?.get("hwaddr") ?? null;
      dev = new Netdev(row.name, type, row.mac ?? hwaddr ?? this.dummyMac());
      const req = row.ofport_request;
      dev.ofport = isLocal
        ? 0xfffe
        : req !== null && req > 0 && req < 0xff00 && !br.ports.has(req)
          ? req
          : br.freeOfport();
      if (isTunnelType(type)) {
        const cfg = parseTunnelConfig(row.name, type, row.options);
        if (typeof cfg === "string") {
          row.error = cfg;
          row.ofport = -1;
          return changed;
        }
        dev.odpPort = this.vportFor(vportName(cfg), type);
        this.tunnelPorts.set(dev, { xport: dev, bridge: br, cfg });
        this.devs.set(row.name, dev);
        br.attach(dev);
        // Tunnels share their vport's number: the datapath port names no one of them.
        br.byOdp.delete(dev.odpPort);
        row.ofport = dev.ofport;
        row.mac_in_use = null;
        return true;
      }
      dev.odpPort = choosePort(row.name, this.dpType === "dummy", (n) => this.dpPorts.has(n));
      if (type === "uplink") {
        const e = this.createNic(dev, row);
        if (e !== null) {
          row.error = e;
          row.ofport = -1;
          return changed;
        }
      } else if (type === "vf") {
        const e = this.attachVf(dev, row);
        if (e !== null) {
          row.error = e;
          row.ofport = -1;
          return changed;
        }
      }
      // A representor's far side (the VM behind a VF, the wire behind an uplink) may be real too:
      // options:backend names the driver (tap, dgram, stream, …).
      const backend = type === "vf" || type === "uplink" ? row.options.get("backend") : type;
      const factory = backend === undefined ? undefined : this.drivers.get(backend);
      if (backend !== undefined && factory === undefined && backend !== type) {
        row.error = `${row.name}: options:backend=${backend}: no such port driver (known: ${[...this.drivers.keys()].join(", ") || "none"})`;
        row.ofport = -1;
        this.deleteNicState(dev);
        return changed;
      }
      if (factory !== undefined) {
        const e = this.openDriver(dev, row, factory);
        if (e !== null) {
          row.error = e;
          row.ofport = -1;
          this.deleteNicState(dev);
          return changed;
        }
      }
      this.devs.set(row.name, dev);
      this.dpPorts.set(dev.odpPort, dev);
      br.attach(dev);
      changed = true;
    }
    if (!changed && dev.nic !== null && dev.nic.vport === 0 && type === "uplink") {
      const e = this.reconfigureNic(dev, row);
      if (e !== null) row.error = e;
    }
    dev.mtu = row.mtu_request ?? (dev.nic ? dev.mtu : DEFAULT_MTU);
    if (dev.nic) dev.nic.nic.esw.setMtu(dev.nic.vport, dev.mtu);
    this.configureTaps(dev, row);
    row.ofport = dev.ofport === 0xfffe ? 65534 : dev.ofport;
    row.mac_in_use = dev.mac;
    row.mtu = dev.mtu;
    return changed;
  }

  private get drivers(): ReadonlyMap<string, PortDriverFactory> {
    return this.opts.portDrivers ?? PORT_DRIVERS;
  }

  private openDriver(dev: Netdev, row: InterfaceRow, factory: PortDriverFactory): string | null {
    const d = factory(row, {
      name: dev.name,
      receive: (frame) => {
        if (dev.driver === null) return;
        // On the real clock a frame from outside is stamped with when it arrived.
        if (this.realClock) this.syncClock();
        // A frame from outside must never take the daemon down: log, count, go on.
        try {
          this.receive(dev, frame);
        } catch (e) {
          this.countDrop("internal error on a live port");
          this.opts.log(`${dev.name}: packet dropped: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        }
      },
      fail: (error) => {
        this.driverErrors.set(dev, error);
        const r = this.findIfaceRow(dev.name);
        if (r) r.error = error;
        dev.up = false;
        this.opts.log(`${dev.name}: ${error}`);
      },
      recover: () => {
        this.driverErrors.delete(dev);
        const r = this.findIfaceRow(dev.name);
        if (r) r.error = null;
        if (!dev.up) this.setLinkUp(dev, true);
      },
      log: (line) => this.opts.log(`${dev.name}: ${line}`),
    });
    if (typeof d === "string") return d;
    dev.driver = d;
    return null;
  }

  private readonly driverErrors = new WeakMap<Netdev, string>();

  private findIfaceRow(name: string): InterfaceRow | undefined {
    for (const b of this.db.root.bridges)
      for (const p of b.ports) for (const i of p.interfaces) if (i.name === name) return i;
    return undefined;
  }

  /** True when a port is attached to something real (TAP, socket): time must then be real time. */
  get hasLivePorts(): boolean {
    for (const dev of this.devs.values()) if (dev.driver?.live) return true;
    return false;
  }

  private realClock = false;

  setRealClock(on: boolean): void {
    if (on === this.realClock) return;
    this.realClock = on;
    if (on) this.epochMs = wallMs() - this.nowMs;
  }

  syncClock(): void {
    if (!this.realClock) return;
    const dt = wallMs() - this.epochMs - this.nowMs;
    if (dt > 0) this.advance(dt);
  }

  /** Link state (netdev-dummy/set-admin-state, a scenario's link down/up): a down port neither receives nor sends. */
  setLinkUp(dev: Netdev, up: boolean): void {
    if (dev.up === up) return;
    dev.up = up;
    this.forceRevalidate();
  }

  private checkType(type: string, row: InterfaceRow): string | null {
    if (this.drivers.has(type)) return null;
    if (
      type === "internal" ||
      type === "dummy" ||
      type === "dummy-internal" ||
      type === "system" ||
      type === "uplink" ||
      type === "vf"
    ) {
      if (type === "system" && this.dpType !== "dummy") {
        return `could not open network device ${row.name} (No such device)`;
      }
      return null;
    }
    if (isTunnelType(type)) return null;
    if (type === "patch" || type === "tap" || type === "dgram" || type === "stream") {
      return `could not add network device ${row.name} to ofproto (Operation not supported: type ${type} is not available yet)`;
    }
    return `could not open network device ${row.name} (Address family not supported by protocol)`;
  }

  /** The NIC an uplink's options describe, or what is wrong with them. */
  private nicSettings(
    row: InterfaceRow,
    defaultSwitchId: number,
  ): { nVfs: number; switchId: number; caps: Record<string, unknown>; key: string } | string {
    const opt = (k: string) => row.options.get(k);
    const int = (k: string, def: number, min = 0): number | string => {
      const v = opt(k);
      if (v === undefined) return def;
      const n = Number(v);
      return Number.isInteger(n) && n >= min ? n : `options:${k}=${v}: expected an integer >= ${min}`;
    };
    const nVfs = int("n_vfs", UPLINK_DEFAULT_VFS);
    const switchId = int("switch_id", defaultSwitchId, 1);
    // hw-l1-entries=0: no exact-match tracker, every packet goes to the masked tables.
    const l1 = int("hw-l1-entries", 65536, 0);
    const l2 = int("hw-l2-entries", 8192, 1);
    const masks = int("hw-max-masks", 16, 1);
    for (const v of [nVfs, switchId, l1, l2, masks]) if (typeof v === "string") return v;
    const caps: Record<string, unknown> = { l1Entries: l1, l2Entries: l2, maxMasks: masks };
    const match = opt("hw-match");
    if (match !== undefined) caps["matchFields"] = editList(DEFAULT_MATCH_FIELDS, match);
    const acts = opt("hw-actions");
    if (acts !== undefined) caps["actions"] = editList(DEFAULT_ACTIONS, acts);
    const key = JSON.stringify([l1, l2, masks, match ?? null, acts ?? null]);
    return { nVfs: nVfs as number, switchId: switchId as number, caps, key };
  }

  private createNic(dev: Netdev, row: InterfaceRow): string | null {
    const s = this.nicSettings(row, this.nextSwitchId);
    if (typeof s === "string") return s;
    if (s.switchId >= this.nextSwitchId) this.nextSwitchId = s.switchId + 1;
    let nic: HostNic | null = null;
    let esw: ESwitch;
    try {
      esw = this.newESwitch(dev, s.switchId, s.nVfs, s.caps, () => nic as HostNic);
    } catch (e) {
      return `${dev.name}: ${e instanceof Error ? e.message : String(e)}`;
    }
    nic = new HostNic(dev.name, esw, s.switchId, s.nVfs);
    nic.hwKey = s.key;
    nic.reps[0] = dev;
    dev.nic = { nic, vport: 0 };
    this.nics.set(dev.name, nic);
    return null;
  }

  /**
   * New table sizes or capabilities for an existing NIC (vsctl set Interface pf0
   * options:hw-l2-entries=…): as reconfiguring a real NIC's flow tables does, its flows are
   * taken off, the eSwitch is rebuilt, and every datapath flow is offered again.
   */
  private reconfigureNic(dev: Netdev, row: InterfaceRow): string | null {
    const nic = (dev.nic as NicPort).nic;
    const s = this.nicSettings(row, nic.switchId);
    if (typeof s === "string") return s;
    if (s.nVfs !== nic.nVfs || s.switchId !== nic.switchId) {
      return `${dev.name}: n_vfs and switch_id are fixed once the uplink exists (delete and add the port again to change them)`;
    }
    if (s.key === nic.hwKey) return null;
    let esw: ESwitch;
    try {
      esw = this.newESwitch(dev, nic.switchId, nic.nVfs, s.caps, () => nic);
    } catch (e) {
      return `${dev.name}: ${e instanceof Error ? e.message : String(e)}`;
    }
    for (const f of this.dp.list()) {
      if (f.nicName !== nic.name) continue;
      this.offload.readStats(f, this.nics);
      this.pushStats(f);
      this.offload.withdraw(f, this.nics);
    }
    nic.esw = esw;
    nic.hwKey = s.key;
    esw.nowMs = this.nowMs;
    nic.reps.forEach((r, v) => {
      if (r) esw.setMtu(v, r.mtu);
    });
    this.updateHostAddresses();
    if (this.offload.enabled) {
      for (const f of this.dp.list())
        if (f.offload !== "offloaded") this.offload.offer(f, (p) => this.dpPorts.get(p) ?? null);
    }
    return null;
  }

  private newESwitch(
    dev: Netdev,
    switchId: number,
    nVfs: number,
    caps: Record<string, unknown>,
    nic: () => HostNic,
  ): ESwitch {
    return new ESwitch({
      name: dev.name,
      switchId,
      nVfs,
      pool: this.pool,
      caps,
      hooks: {
        tx: (vport, slot, tier, flow) => this.nicTx(nic(), vport, slot, tier, flow),
        toHost: (vport, slot, reason) => this.nicToHost(nic(), vport, slot, reason),
      },
    });
  }

  private attachVf(dev: Netdev, row: InterfaceRow): string | null {
    const pf = row.options.get("pf");
    const vfText = row.options.get("vf");
    if (pf === undefined || vfText === undefined)
      return `${row.name}: type vf needs options:pf=UPLINK and options:vf=N`;
    const nic = this.nics.get(pf);
    if (nic === undefined) return `${row.name}: no uplink named ${pf} (add it with type=uplink first)`;
    const vf = Number(vfText);
    if (!Number.isInteger(vf) || vf < 0 || vf >= nic.nVfs)
      return `${row.name}: ${pf} has VFs 0..${nic.nVfs - 1}, not ${vfText}`;
    const taken = nic.reps[vf + 1];
    if (taken) return `${row.name}: VF ${vf} of ${pf} is already represented by ${taken.name}`;
    nic.reps[vf + 1] = dev;
    dev.nic = { nic, vport: vf + 1 };
    return null;
  }

  private configureTaps(dev: Netdev, row: InterfaceRow): void {
    const both = row.options.get("pcap");
    const rxq = row.options.get("rxq_pcap");
    const tx = row.options.get("tx_pcap");
    const cfg = `${both ?? ""}\0${rxq ?? ""}\0${tx ?? ""}`;
    if (cfg === dev.tapConfig) return;
    this.closeTaps(dev);
    dev.tapConfig = cfg;
    // Relative paths are the daemon's, as they are ovs-vswitchd's.
    const open = (p: string): CaptureTap => this.captures.open(isAbsolute(p) ? p : resolve(p), dev.name, dev.type);
    if (both) {
      const t = open(both);
      dev.rxTaps.push(t);
      dev.txTaps.push(t);
    } else {
      if (rxq) dev.rxTaps.push(open(rxq));
      if (tx) dev.txTaps.push(open(tx));
    }
  }

  private closeTaps(dev: Netdev): void {
    const seen = new Set<CaptureTap>();
    for (const t of [...dev.rxTaps, ...dev.txTaps])
      if (!seen.has(t)) {
        seen.add(t);
        this.captures.release(t);
      }
    dev.rxTaps = [];
    dev.txTaps = [];
    dev.tapConfig = "";
  }

  private deleteDev(dev: Netdev): void {
    if (this.tunnelPorts.delete(dev)) {
      dev.bridge?.detach(dev);
      this.devs.delete(dev.name);
      // The vport goes with its last tunnel.
      if (![...this.tunnelPorts.keys()].some((d) => d.odpPort === dev.odpPort)) {
        this.vports.delete(dev.odpPort);
        this.dpPorts.delete(dev.odpPort);
      }
      return;
    }
    this.closeTaps(dev);
    if (dev.driver !== null) {
      const d = dev.driver;
      dev.driver = null;
      void d.close();
    }
    dev.bridge?.detach(dev);
    this.dpPorts.delete(dev.odpPort);
    this.devs.delete(dev.name);
    this.deleteNicState(dev);
  }

  /** Undoes createNic/attachVf for `dev`. */
  private deleteNicState(dev: Netdev): void {
    if (dev.nic) {
      const { nic, vport } = dev.nic;
      if (vport === 0) {
        for (const f of this.dp.list()) if (f.nicName === nic.name) this.offload.withdraw(f, this.nics);
        this.nics.delete(nic.name);
        for (const rep of nic.reps) if (rep && rep !== dev) rep.nic = null;
      } else nic.reps[vport] = null;
      dev.nic = null;
    }
  }

  private deleteBridge(br: Bridge<Netdev>): void {
    for (const dev of [...br.ports.values()]) this.deleteDev(dev);
    this.bridges.delete(br.name);
    for (const f of this.dp.list()) if (f.bridge === br.name) this.deleteFlow(f);
  }

  private bridgeHwaddr(name: string): string | null {
    for (const b of this.db.root.bridges) if (b.name === name) return b.other_config.get("hwaddr") ?? null;
    return null;
  }

  /** The datapath port of the shared tunnel vport `name`, created on first use. */
  private vportFor(name: string, type: string): number {
    for (const [n, d] of this.vports) if (d.name === name) return n;
    const odp = choosePort(name, this.dpType === "dummy", (n) => this.dpPorts.has(n));
    const v = new Netdev(name, type, "");
    v.odpPort = odp;
    this.vports.set(odp, v);
    this.dpPorts.set(odp, v);
    return odp;
  }

  /** Addresses of a port's device, "ip/plen". */
  addrsOf(dev: string): string[] {
    const a = this.hostAddrs.get(dev);
    return a === undefined ? [] : [a.v4, a.v6].filter((x): x is string => x !== null);
  }

  private makeTunnelEnv(): TunnelEnv {
    return {
      routes: this.routes,
      neigh: this.neigh,
      tunnelOf: (bridge, ofport) => {
        const d = (bridge as Bridge<Netdev>).ports.get(ofport);
        return d === undefined ? null : (this.tunnelPorts.get(d) ?? null);
      },
      bridgeOfDev: (dev) => {
        const br = this.bridges.get(dev);
        const port = br?.byName.get(dev);
        return br === undefined || port === undefined ? null : { bridge: br, port };
      },
      addrsOf: (dev) => this.addrsOf(dev),
      listening: (ipv6, proto, udpPort) => {
        // tnl_port_map: one listener per vport, on every address (IPv4 and IPv6) we have.
        for (const tp of this.tunnelPorts.values()) {
          const c = tp.cfg;
          if (proto === 47 ? c.kind === "gre" : c.kind !== "gre" && c.dstPort === udpPort) return tp.xport.odpPort;
        }
        void ipv6;
        return -1;
      },
      receivePort: (vport, key) => this.tunnelReceivePort(vport, key),
      tlvMap: () => this.tlvMap,
      solicit: (bridge, smac, src, dst) => {
        const frame = isMappedIpv4(dst) ? arpRequest(smac, src, dst) : neighborSolicitation(smac, src, dst);
        this.solicits.push({ bridge: bridge as Bridge<Netdev>, frame });
      },
    };
  }

  /**
   * tnl_port_receive (tnl_find): the tunnel port a decapsulated packet belongs to. The most
   * specific configuration wins: a fixed key over key=flow, a fixed remote over remote_ip=flow,
   * a local_ip that matches over none.
   */
  tunnelReceivePort(vport: number, key: FlowKey): TunnelPort | null {
    const v4 = (key[W.TUN_DST] as number) !== 0;
    const mapped = (w: number, w6: number): bigint => {
      if (v4) return (0xffffn << 32n) | BigInt(key[w] as number);
      let v = 0n;
      for (let i = 0; i < 4; i++) v = (v << 32n) | BigInt(key[w6 + i] as number);
      return v;
    };
    const src = mapped(W.TUN_SRC, W.TUN_IPV6_SRC);
    const dst = mapped(W.TUN_DST, W.TUN_IPV6_DST);
    const hasKey = ((key[W.TUN_TOS_TTL_FLAGS] as number) & 0x8) !== 0;
    const id = hasKey ? (BigInt(key[W.TUN_ID_HI] as number) << 32n) | BigInt(key[W.TUN_ID_LO] as number) : 0n;
    let best: TunnelPort | null = null;
    let bestScore = -1;
    for (const tp of this.tunnelPorts.values()) {
      if (tp.xport.odpPort !== vport) continue;
      const c = tp.cfg;
      let score = 0;
      if (c.inKey === "flow") score += 0;
      else if ((c.inKey ?? 0n) === id) score += 4;
      else continue;
      if (c.remote === null) score += 0;
      else if (c.remote === src) score += 2;
      else continue;
      if (c.local !== null) {
        if (c.local !== dst) continue;
        score += 1;
      }
      if (score > bestScore) {
        best = tp;
        bestScore = score;
      }
    }
    return best;
  }

  /** GENEVE options into tun_metadataN through the TLV map (tun_metadata_from_geneve_udpif);
   *  options the map does not name are not in the key. Allocates nothing. */
  private mapGeneveOptions(key: FlowKey, o: Int32Array): void {
    key.fill(0, W.TUN_METADATA, W.TUN_METADATA + TUN_METADATA_WORDS);
    const map = this.tlvMap;
    if (map.length === 0) return;
    const dv = this.pool.dv;
    const g = o[OUTER + S.TUN] as number;
    let p = g + 8;
    const end = p + (dv.getUint8(g) & 0x3f) * 4;
    while (p + 4 <= end) {
      const cls = dv.getUint16(p);
      const type = dv.getUint8(p + 2);
      const len = (dv.getUint8(p + 3) & 0x1f) * 4;
      for (let i = 0; i < map.length; i++) {
        const m = map[i] as TlvMapping;
        if (
          m.cls === cls &&
          m.type === type &&
          m.len === len &&
          m.index < TUN_METADATA_WORDS &&
          len >= 4 &&
          p + 4 + len <= end
        ) {
          key[W.TUN_METADATA + m.index] = dv.getUint32(p + len); // the option's last 4 bytes
        }
      }
      p += 4 + len;
    }
  }

  /** The port a datapath flow's packets come in by: the in_port's device, or for a tunnel vport the
   *  tunnel port its metadata names. */
  private ingressOf(key: FlowKey): Netdev | null {
    const odp = key[W.IN_PORT] as number;
    if (this.vports.has(odp)) return (this.tunnelReceivePort(odp, key)?.xport as Netdev | undefined) ?? null;
    return this.dpPorts.get(odp) ?? null;
  }

  /** Sends the ARP requests / solicitations translations asked for, as packet-outs from each
   *  bridge's own port (tnl_send_arp_request: an OFPP_TABLE output through its tables). */
  drainSolicits(): void {
    while (this.solicits.length > 0) {
      const { bridge, frame } = this.solicits.shift() as { bridge: Bridge<Netdev>; frame: Uint8Array };
      const local = bridge.ports.get(0xfffe);
      if (local === undefined) continue;
      const slot = this.pool.load(frame);
      if (slot < 0) {
        this.countDrop("no free buffer");
        continue;
      }
      const o = this.recircO;
      this.parser.parse(this.pool.dv, this.pool.start[slot] as number, this.pool.len[slot] as number, o);
      const k = newFlowKey();
      this.extractor.extract(this.pool.dv, o, OUTER, local.ofport, k);
      const macBefore = bridge.mac.serial;
      const res = translate(bridge, k, { nowMs: this.nowMs, sideEffects: true, trace: false, tunnels: this.tunnelEnv });
      if (bridge.mac.serial !== macBefore) this.needRevalidate = true;
      let prog;
      try {
        prog = compileActions(res.actions);
      } catch {
        this.pool.release(slot);
        continue;
      }
      const tier = this.tier;
      const flow = this.curFlow;
      this.tier = -1;
      this.curFlow = null;
      this.executor.execute(prog, slot, o);
      this.tier = tier;
      this.curFlow = flow;
    }
  }

  private dummyMac(): string {
    // OVS gives dummy devices aa:55:aa:55:00:NN from a counter; the same idea, from a serial.
    const n = ++this.macSerial;
    return `aa:55:aa:55:${((n >> 8) & 255).toString(16).padStart(2, "0")}:${(n & 255).toString(16).padStart(2, "0")}`;
  }

  /** Tells every NIC which addresses are the host's own (trapped to the host, never offloaded). */
  updateHostAddresses(): void {
    const macs: string[] = [];
    const ips = [...this.hostIps.values()];
    for (const dev of this.devs.values()) if (dev.type === "internal" || dev.type === "uplink") macs.push(dev.mac);
    for (const nic of this.nics.values()) nic.esw.setHostAddresses(macs, ips);
  }

  setHwOffload(on: boolean): void {
    this.offload.enabled = on;
    for (const f of this.dp.list()) {
      if (on) this.offload.offer(f, (p) => this.dpPorts.get(p) ?? null);
      else {
        this.offload.withdraw(f, this.nics);
        f.offloadReason = null;
      }
    }
  }

  // --- packets -----------------------------------------------------------------------------------

  /** A frame arrives on `dev` from outside (a VM on its VF, the wire, a test). */
  receive(dev: Netdev, frame: Uint8Array): void {
    if (!dev.up) {
      dev.rxDropped++;
      this.tiers[Tier.DROP] = (this.tiers[Tier.DROP] as number) + 1;
      this.countDrop("port link down");
      return;
    }
    const slot = this.pool.load(frame);
    if (slot < 0) {
      dev.rxDropped++;
      this.tiers[Tier.DROP] = (this.tiers[Tier.DROP] as number) + 1;
      this.countDrop(frame.length > this.pool.slotSize ? "frame larger than a buffer" : "no free buffer");
      return;
    }
    this.receiveSlot(dev, slot);
  }

  /** receive() of a frame already in the pool. */
  receiveSlot(dev: Netdev, slot: number): void {
    const len = this.pool.len[slot] as number;
    dev.rxPackets++;
    dev.rxBytes += len;
    this.tier = -1;
    this.curFlow = null;
    const capturing = dev.rxTaps.length > 0;
    if (capturing) this.rxCopy = this.pool.frame(slot).slice();
    if (dev.nic !== null) {
      const esw = dev.nic.nic.esw;
      const l1 = esw.l1Hits;
      const l2 = esw.l2Hits;
      esw.rx(dev.nic.vport, slot);
      if (this.tier < 0) {
        // Handled on the NIC without an output (a drop action), or dropped by it.
        if (esw.l1Hits !== l1) this.tier = Tier.NIC_L1;
        else if (esw.l2Hits !== l2) this.tier = Tier.NIC_L2;
        else {
          this.tier = Tier.DROP;
          this.countDrop("dropped by the NIC");
        }
      }
    } else {
      this.hostReceive(dev, slot);
    }
    this.tiers[this.tier] = (this.tiers[this.tier] as number) + 1;
    if (capturing) this.flushCapture(dev, len);
    if (this.solicits.length > 0) this.drainSolicits();
  }

  private nicTx(nic: HostNic, vport: number, slot: number, tier: 1 | 2, flow: number): void {
    if (this.tier < 0) this.tier = tier === 1 ? Tier.NIC_L1 : Tier.NIC_L2;
    this.curFlow = this.dp.flows[flow] ?? null;
    const dev = nic.reps[vport];
    if (!dev) {
      this.pool.release(slot);
      this.countDrop("output to a vport with no representor");
      return;
    }
    this.portTx(dev, slot);
  }

  private nicToHost(nic: HostNic, vport: number, slot: number, reason: number): void {
    const name = this.fallbackName(reason);
    this.fallbacks.set(name, (this.fallbacks.get(name) ?? 0) + 1);
    const dev = nic.reps[vport];
    if (!dev?.bridge) {
      this.pool.release(slot);
      if (this.tier < 0) this.tier = Tier.DROP;
      this.countDrop(`NIC fallback on vport ${vport} with no representor in a bridge`);
      return;
    }
    this.hostReceive(dev, slot);
  }

  private fallbackName(reason: number): string {
    return FALLBACK_REASON_NAMES[reason] ?? String(reason);
  }

  /** The host datapath: EMC, megaflow, or upcall. */
  private hostReceive(dev: Netdev, slot: number): void {
    const pool = this.pool;
    const key = this.key;
    const o = this.o;
    this.parser.parse(pool.dv, pool.start[slot] as number, pool.len[slot] as number, o);
    this.extractor.extract(pool.dv, o, OUTER, dev.odpPort, key);
    const f = this.dp.lookup(key);
    if (f === null) {
      this.upcall(dev, slot, key, o);
      return;
    }
    if (this.tier < 0) {
      this.tier = f.slowPath !== null ? Tier.UPCALL : this.dp.lastHit === DpHit.EMC ? Tier.DP_EMC : Tier.DP_MEGAFLOW;
    }
    if (!this.credit(f, slot, key)) return;
    // tnl_push takes its UDP source port from the RSS hash, which dpif-netdev computes when the
    // NIC gave none.
    if (f.prog.headers.length > 0 && pool.hash[slot] === 0) pool.hash[slot] = ovsRssHash(key);
    this.executor.execute(f.prog, slot, o);
  }

  /** A datapath hit: the flow gets the packet's counts; false when its actions cannot run here (dropped). */
  private credit(f: DpFlow, slot: number, key: FlowKey): f is DpFlow & { prog: NonNullable<DpFlow["prog"]> } {
    const pool = this.pool;
    this.curFlow = f;
    f.packets++;
    f.bytes += pool.len[slot] as number;
    f.usedMs = this.nowMs;
    f.tcpFlags |= keyTcpFlags(key);
    if (f.prog === null) {
      pool.release(slot);
      this.countDrop("flow actions not executable");
      return false;
    }
    return true;
  }

  private upcall(dev: Netdev, slot: number, key: FlowKey, o: Int32Array): void {
    if (this.tier < 0 || this.recircDepth > 0) this.tier = Tier.UPCALL;
    const br = dev.bridge;
    if (br === null) {
      this.pool.release(slot);
      this.countDrop("packet on a port in no bridge");
      return;
    }
    const ofKey = Uint32Array.from(key);
    ofKey[W.IN_PORT] = dev.ofport;
    const macBefore = br.mac.serial;
    const res = translate(br, ofKey, { nowMs: this.nowMs, sideEffects: true, trace: false, tunnels: this.tunnelEnv });
    if (br.mac.serial !== macBefore) this.needRevalidate = true;
    const len = this.pool.len[slot] as number;
    for (const r of res.rules) {
      r.stats.packets++;
      r.stats.bytes += len;
      r.stats.usedMs = this.nowMs;
    }
    const mask = datapathMask(res.wc, key);
    const packetKey = Uint32Array.from(key);
    const f = this.dp.install(packetKey, mask, res.actions, br.name, this.nowMs);
    if (typeof f === "string") {
      this.dp.lost++;
      this.pool.release(slot);
      this.countDrop(`upcall failed: ${f}`);
      return;
    }
    f.packetKey = packetKey;
    f.xlateVersion = br.tables.version;
    f.macSerial = br.mac.serial;
    f.rules = res.rules;
    this.curFlow = f;
    this.offload.offer(f, (p) => this.dpPorts.get(p) ?? null);
    this.opts.onFlowInstall?.(f);
    if (f.prog === null) {
      this.pool.release(slot);
      this.countDrop("flow actions not executable");
      return;
    }
    if (f.prog.headers.length > 0 && this.pool.hash[slot] === 0) this.pool.hash[slot] = ovsRssHash(key);
    this.executor.execute(f.prog, slot, o);
  }

  /**
   * After tnl_pop: the inner frame goes through the datapath again, in_port the tunnel vport and
   * the tunnel metadata (read from the outer headers still in the headroom) in the key. The packet
   * stays in the tier its first pass chose, unless this pass needs an upcall.
   */
  private recirculate(slot: number, tnlPort: number, recircId: number): void {
    if (tnlPort < 0 || this.recircDepth >= 4) {
      this.pool.release(slot);
      this.countDrop(tnlPort < 0 ? `recirc(${recircId}) not modelled` : "tunnel nesting too deep");
      return;
    }
    const nested = this.recircDepth > 0;
    const key = nested ? newFlowKey() : this.recircKey;
    const o = nested ? newOffsets() : this.recircO;
    const pool = this.pool;
    this.parser.parse(pool.dv, pool.start[slot] as number, pool.len[slot] as number, o);
    this.extractor.extract(pool.dv, o, OUTER, tnlPort, key);
    this.extractor.extractTunnel(pool.dv, this.executor.popped, key);
    if (this.executor.popped[OUTER + S.TUN_TYPE] === TunnelType.GENEVE)
      this.mapGeneveOptions(key, this.executor.popped);
    this.recircDepth++;
    try {
      const f = this.dp.lookup(key);
      if (f === null) {
        const tp = this.tunnelReceivePort(tnlPort, key);
        if (tp === null) {
          pool.release(slot);
          this.countDrop("tunnel packet for no tunnel port");
          return;
        }
        const dev = tp.xport as Netdev;
        dev.rxPackets++;
        dev.rxBytes += pool.len[slot] as number;
        this.upcall(dev, slot, key, o);
        if (this.curFlow !== null && this.curFlow.key[W.IN_PORT] === tnlPort) this.tunnelIngress.set(this.curFlow, dev);
        return;
      }
      // The tunnel port was found at the upcall; a megaflow hit only looks its flow up.
      const dev = this.tunnelIngress.get(f);
      if (dev !== undefined) {
        dev.rxPackets++;
        dev.rxBytes += pool.len[slot] as number;
      }
      if (!this.credit(f, slot, key)) return;
      this.executor.execute(f.prog, slot, o);
    } finally {
      this.recircDepth--;
    }
  }

  private dpOutput(port: number, slot: number): void {
    const dev = this.dpPorts.get(port);
    if (dev === undefined || port === 0) {
      this.pool.release(slot);
      this.countDrop(`output to datapath port ${port}: no such port`);
      return;
    }
    this.portTx(dev, slot);
  }

  /** A packet leaves the switch on `dev` (to its VM, the wire, or the host stack). */
  private portTx(dev: Netdev, slot: number): void {
    const len = this.pool.len[slot] as number;
    if (!dev.up) {
      dev.txDropped++;
      this.pool.release(slot);
      this.countDrop("port link down");
      return;
    }
    dev.txPackets++;
    dev.txBytes += len;
    if (dev.txTaps.length > 0) {
      const comment = this.comment();
      if (this.rxCopy !== null) this.pendingTx.push({ dev, data: this.pool.frame(slot).slice(), comment });
      else this.writeTx(dev, this.pool.frame(slot), comment);
    }
    if (dev.driver !== null) dev.driver.send(this.pool.frame(slot));
    this.pool.release(slot);
  }

  private comment(): string {
    const t = this.tier < 0 ? "?" : (TIER_NAMES[this.tier] as string);
    const f = this.curFlow;
    if (f === null) return t;
    if (f.comment === "")
      f.comment = `${formatOdpKey({ key: f.key, mask: displayMask(f.mask, f.key), packetType: false })}, actions:${f.actionsText}`;
    return `${t}: ${f.comment}`;
  }

  private tsNs(): bigint {
    return BigInt(Math.round((this.epochMs + this.nowMs) * 1000)) * 1000n;
  }

  private writeTx(dev: Netdev, data: Uint8Array, comment: string): void {
    const ts = this.tsNs();
    for (const t of dev.txTaps) t.write(ts, data, data.length, "tx", comment);
  }

  private flushCapture(dev: Netdev, len: number): void {
    const ts = this.tsNs();
    const comment = this.comment();
    const data = this.rxCopy as Uint8Array;
    for (const t of dev.rxTaps) t.write(ts, data, len, "rx", comment);
    this.rxCopy = null;
    for (const p of this.pendingTx) this.writeTx(p.dev, p.data, p.comment);
    this.pendingTx.length = 0;
  }

  countDrop(reason: string): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }

  get packetsReceived(): number {
    let n = 0;
    for (let i = 0; i < N_TIERS; i++) n += this.tiers[i] as number;
    return n;
  }

  // --- time and revalidation ---------------------------------------------------------------------

  /** Advances the virtual clock, running the periodic work (revalidator, ageing) on the way. */
  advance(ms: number, stepMs = ms): void {
    const end = this.nowMs + ms;
    const step = stepMs > 0 ? stepMs : ms;
    while (this.nowMs < end) {
      this.nowMs = Math.min(end, this.nowMs + step);
      for (const nic of this.nics.values()) nic.esw.nowMs = this.nowMs;
      this.runTimers();
    }
    if (ms === 0) this.runTimers();
  }

  private runTimers(): void {
    if (this.neigh.size > 0) this.neigh.expire();
    if (this.nowMs >= this.nextRevalidate) {
      this.revalidate();
      this.nextRevalidate = this.nowMs + REVALIDATE_INTERVAL_MS;
    }
  }

  /** Marks every datapath flow for re-translation (ports or configuration changed). */
  forceRevalidate(): void {
    for (const f of this.dp.list()) f.xlateVersion = -1;
    this.needRevalidate = true;
    this.revalidate();
  }

  /** Revalidates now if a translation side effect (MAC learning) asked for it. */
  settle(): void {
    let stale = this.needRevalidate;
    if (!stale)
      for (const f of this.dp.list()) {
        const br = this.bridges.get(f.bridge);
        if (br && br.tables.version !== f.xlateVersion) {
          stale = true;
          break;
        }
      }
    if (stale) this.revalidate();
    if (this.solicits.length > 0) this.drainSolicits();
    this.captures.flush();
  }

  /**
   * One revalidator pass (ofproto-dpif-upcall.c revalidate): read hardware counters, credit the
   * OpenFlow rules, delete flows idle for max-idle (the NIC's counters keep offloaded flows
   * alive), and re-translate flows whose bridge changed: same result → kept, new actions → modified
   * (and re-offered), new mask → deleted.
   */
  revalidate(): void {
    this.needRevalidate = false;
    for (const br of this.bridges.values()) {
      const expire = (br.tables as { expire?: (now: number) => unknown }).expire;
      if (expire) expire.call(br.tables, this.nowMs);
      br.mac.expire(this.nowMs);
    }
    for (const f of this.dp.list()) {
      this.offload.readStats(f, this.nics);
      this.pushStats(f);
      const used = f.lastUsedMs >= 0 ? f.lastUsedMs : f.createdMs;
      if (this.nowMs - used >= this.maxIdleMs) {
        this.deleteFlow(f);
        continue;
      }
      const br = this.bridges.get(f.bridge);
      if (br === undefined) {
        this.deleteFlow(f);
        continue;
      }
      if (br.tables.version === f.xlateVersion && br.mac.serial === f.macSerial) continue;
      const k = Uint32Array.from(f.packetKey);
      const inDev = this.ingressOf(k);
      if (!inDev || inDev.bridge !== br) {
        this.deleteFlow(f);
        continue;
      }
      k[W.IN_PORT] = inDev.ofport;
      const res = translate(br, k, { nowMs: this.nowMs, sideEffects: false, trace: false, tunnels: this.tunnelEnv });
      const mask = datapathMask(res.wc, f.packetKey);
      let sameMask = true;
      for (let i = 0; i < FLOW_WORDS; i++)
        if (mask[i] !== f.mask[i]) {
          sameMask = false;
          break;
        }
      if (!sameMask || res.error !== null) {
        this.deleteFlow(f);
        continue;
      }
      f.xlateVersion = br.tables.version;
      f.macSerial = br.mac.serial;
      f.rules = res.rules;
      const text = f.actionsText;
      this.dp.modify(f, res.actions);
      if (f.actionsText !== text) {
        f.comment = "";
        // Modified in place on the NIC when it stays there (L1 entries and counters kept).
        this.offload.update(f, (p) => this.dpPorts.get(p) ?? null, this.nics);
      }
    }
  }

  private pushStats(f: DpFlow): void {
    const dp = f.totalPackets - f.pushedPackets;
    const db = f.totalBytes - f.pushedBytes;
    if (dp <= 0) return;
    const used = f.lastUsedMs;
    for (const r of f.rules) {
      r.stats.packets += dp;
      r.stats.bytes += db;
      if (used > r.stats.usedMs) r.stats.usedMs = used;
    }
    f.pushedPackets = f.totalPackets;
    f.pushedBytes = f.totalBytes;
  }

  deleteFlow(f: DpFlow): void {
    this.offload.readStats(f, this.nics);
    this.pushStats(f);
    this.offload.withdraw(f, this.nics);
    this.dp.remove(f);
  }

  /** Deletes every datapath flow (dpctl/del-flows, revalidator/purge). */
  purgeFlows(): void {
    for (const f of this.dp.list()) this.deleteFlow(f);
  }

  // --- commands ----------------------------------------------------------------------------------

  ofctl(argv: string[], io: CommandIo): CommandResult {
    // Rule counters include every packet so far: OVS shows them after its next revalidator
    // pass (tests call revalidator/wait); here the pass's statistics part runs first.
    for (const f of this.dp.list()) {
      this.offload.readStats(f, this.nics);
      this.pushStats(f);
    }
    const r = runOfctl(argv, {
      tlv: this.tlvTable,
      bridge: (name) => this.bridges.get(name) ?? null,
      nowMs: () => this.nowMs,
      io,
      readFile: (path) => readText(path, io),
    });
    this.settle();
    return r;
  }

  devByName(name: string): Netdev | null {
    return this.devs.get(name) ?? null;
  }

  flush(): void {
    this.captures.flush();
  }

  async close(): Promise<void> {
    for (const dev of this.devs.values()) {
      if (dev.driver !== null) {
        const d = dev.driver;
        dev.driver = null;
        await d.close();
      }
    }
    this.captures.closeAll();
  }
}

const TAG_WORDS = [W.VLAN0, W.VLAN1] as const;

/**
 * The megaflow mask of a translation: its wildcards, plus what a datapath flow always matches
 * exactly — recirc_id, in_port, and whether each VLAN tag is there (a datapath key names the
 * outer EtherType, so an untagged flow never matches a tagged packet: odp-util.c). An absent tag
 * is matched as the whole word being 0; a present one by its TPID and presence bit.
 */
export function datapathMask(wc: Uint32Array, key: FlowKey): Uint32Array {
  const mask = Uint32Array.from(wc);
  mask[W.IN_PORT] = 0xffffffff;
  mask[W.RECIRC_ID] = 0xffffffff;
  for (const w of TAG_WORDS) {
    if (((key[w] as number) & VLAN_CFI) === 0) {
      mask[w] = 0xffffffff;
      break;
    }
    mask[w] = ((mask[w] as number) | 0xffff0000 | VLAN_CFI) >>> 0;
  }
  return mask;
}

/** The mask as dpctl prints it: the implicit "no tag" match is not shown (OVS shows none). */
export function displayMask(mask: Uint32Array, key: FlowKey): Uint32Array {
  const m = Uint32Array.from(mask);
  for (const w of TAG_WORDS)
    if (((key[w] as number) & VLAN_CFI) === 0) {
      m[w] = 0;
      break;
    }
  return m;
}

/**
 * options:hw-match / hw-actions: a whole list ("in_port,eth_type,ip_dst"), or edits of the
 * defaults when every item starts with + or - ("-nw_tos,-tcp_flags").
 */
function editList(defaults: readonly string[], text: string): string[] {
  const items = text.split(/[ ,]+/).filter(Boolean);
  if (!items.every((i) => i.startsWith("+") || i.startsWith("-"))) return items;
  const out = new Set(defaults);
  for (const i of items) {
    if (i.startsWith("+")) out.add(i.slice(1));
    else out.delete(i.slice(1));
  }
  return [...out];
}

function rank(type: string): number {
  return type === "uplink" ? 0 : type === "vf" ? 2 : 1;
}

function readText(path: string, io: CommandIo): string {
  if (path === "-") {
    if (io.stdin === undefined) throw new UnixctlError("no standard input was given");
    return io.stdin;
  }
  return readFileSync(path.startsWith("/") ? path : `${io.cwd}/${path}`, "utf8");
}

export function createEngine(opts: EngineOptions): Engine {
  return new HostEngine(opts);
}

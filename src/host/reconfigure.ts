// vswitchd's bridge_reconfigure (vswitchd/bridge.c): makes the host's bridges, ports, NICs,
// drivers and capture taps match the database, and writes each Interface's status back into its
// row (ofport, mac_in_use, mtu, error). A problem with one Interface is that Interface's `error`,
// never an exception: the rest of the configuration still applies.
//
// Uplinks are configured first, because VFs name their uplink. An uplink's options describe its
// NIC (n_vfs, switch_id, hw-* table sizes and capabilities); changing the hw-* options rebuilds
// the eSwitch and offers every flow again, as reconfiguring a real NIC's flow tables does.

import { isAbsolute, resolve } from "node:path";
import type { ConfigSource, InterfaceConfig as InterfaceRow } from "../ovsdb/config.ts";
import type { PacketPool } from "../dp/pool.ts";
import { DEFAULT_MAX_IDLE_MS, type Datapath } from "../dp/datapath.ts";
import { ESwitch } from "../nic/eswitch.ts";
import { DEFAULT_ACTIONS, DEFAULT_MATCH_FIELDS } from "../nic/caps.ts";
import { OfPort } from "../flow/fields.ts";
import { parseFlow } from "../flow/ofctl.ts";
import { Bridge } from "../ofproto/bridge.ts";
import { isTunnelType, parseTunnelConfig, vportName } from "../ofproto/tunnel.ts";
import type { TunnelPorts } from "../ofproto/tunnel-ports.ts";
import type { VlanMode } from "../ofproto/types.ts";
import type { CaptureHub, CaptureTap } from "../ports/capture-tap.ts";
import type { PortDriverFactory } from "../ports/port-driver.ts";
import type { Clock } from "./clock.ts";
import type { Devices } from "./devices.ts";
import { DEFAULT_MTU, MAX_MTU, MIN_MTU } from "../wire/ethernet.ts";
import { HostNic, Netdev, choosePort, type NicPort } from "./netdev.ts";
import type { OffloadManager } from "./offload.ts";
import type { Pipeline } from "./pipeline.ts";
import type { Upcalls } from "./upcall.ts";

const UPLINK_DEFAULT_VFS = 4;

/** The parts of the host reconfiguration changes, and what it needs to do so. */
export interface ReconfigureParts {
  readonly db: ConfigSource;
  readonly devices: Devices;
  readonly dp: Datapath;
  readonly pool: PacketPool;
  readonly offload: OffloadManager;
  readonly tunnels: TunnelPorts<Netdev>;
  readonly captures: CaptureHub;
  readonly clock: Clock;
  readonly pipeline: Pipeline;
  readonly upcalls: Upcalls;
  readonly drivers: ReadonlyMap<string, PortDriverFactory>;
  /** A driver chosen by the Interface itself rather than its type (EngineOptions.portDriverFor). */
  readonly driverFor?: ((row: InterfaceRow) => PortDriverFactory | undefined) | undefined;
  log(line: string): void;
  /** A frame a live port's driver received (the engine stamps it on the real clock first). */
  liveReceive(dev: Netdev, frame: Uint8Array): void;
}

export class Reconfigurer {
  dpType: "netdev" | "dummy" = "netdev";
  private readonly driverErrors = new WeakMap<Netdev, string>();
  private macSerial = 0;
  private nextSwitchId = 1;

  constructor(private readonly h: ReconfigureParts) {}

  /** bridge_reconfigure: make bridges, ports and NICs match the database; write status back. */
  reconfigure(): void {
    const { devices, dp, upcalls } = this.h;
    const root = this.h.db.root;
    const hw = root.other_config.get("hw-offload") === "true";
    const idle = Number(root.other_config.get("max-idle") ?? DEFAULT_MAX_IDLE_MS);
    upcalls.maxIdleMs = Number.isFinite(idle) && idle > 0 ? idle : DEFAULT_MAX_IDLE_MS;
    const limit = Number(root.other_config.get("flow-limit") ?? dp.flowLimit);
    if (Number.isInteger(limit) && limit > 0) dp.flowLimit = limit;
    const inv = Number(root.other_config.get("emc-insert-inv-prob") ?? 100);
    if (Number.isInteger(inv) && inv >= 0) {
      dp.emc.insertInvProb = inv;
      dp.emcEnabled = inv > 0;
    }

    const wanted = new Map(root.bridges.map((b) => [b.name, b]));
    for (const [name, br] of devices.bridges) if (!wanted.has(name)) this.deleteBridge(br);
    if (root.bridges.some((b) => b.datapath_type === "dummy")) this.setDpType("dummy");

    let portsChanged = false;
    // Uplinks first: VFs name their uplink.
    const ifaces: { br: Bridge<Netdev>; port: (typeof root.bridges)[number]["ports"][number]; iface: InterfaceRow }[] =
      [];
    for (const brow of root.bridges) {
      let br = devices.bridges.get(brow.name);
      if (br === undefined) {
        br = new Bridge<Netdev>(brow.name, dp.name);
        devices.bridges.set(brow.name, br);
        if ((brow.fail_mode ?? "standalone") !== "secure") {
          // A standalone bridge starts with a visible NORMAL flow, as OVS's fail-open does.
          br.tables.add(parseFlow("priority=0,actions=NORMAL"), this.h.clock.nowMs);
        }
      }
      br.failMode = brow.fail_mode === "secure" ? "secure" : "standalone";
      br.datapathType = brow.datapath_type;
      for (const prow of brow.ports) for (const iface of prow.interfaces) ifaces.push({ br, port: prow, iface });
    }
    const wantedDevs = new Set(ifaces.map((x) => x.iface.name));
    for (const [name, dev] of devices.byName) {
      if (!wantedDevs.has(name)) {
        this.deleteDev(dev);
        portsChanged = true;
      }
    }
    ifaces.sort((a, b) => rank(a.iface.type) - rank(b.iface.type));
    for (const { br, port, iface } of ifaces) {
      if (this.configureIface(br, iface)) portsChanged = true;
      const dev = devices.byName.get(iface.name);
      if (dev) {
        dev.tag = port.tag;
        dev.trunks = [...port.trunks];
        dev.vlanMode = (port.vlan_mode as VlanMode | null) ?? null;
      }
    }
    for (const br of devices.bridges.values()) {
      const brow = wanted.get(br.name);
      const dpid = brow?.other_config.get("datapath-id");
      const local = br.ports.get(OfPort.LOCAL);
      br.datapathId = dpid ? BigInt(`0x${dpid}`) : local ? BigInt(`0x${local.mac.replace(/:/g, "")}`) : 0n;
    }
    this.updateHostAddresses();
    if (hw !== this.h.offload.enabled) this.setHwOffload(hw);
    if (portsChanged) upcalls.forceRevalidate();
  }

  /** Tells every NIC which addresses are the host's own (trapped to the host, never offloaded). */
  updateHostAddresses(): void {
    const { devices } = this.h;
    const macs: string[] = [];
    const ips: string[] = [];
    for (const a of devices.addrs.values()) if (a.v4 !== null) ips.push(a.v4.split("/")[0] as string);
    for (const dev of devices.byName.values()) if (dev.type === "internal" || dev.type === "uplink") macs.push(dev.mac);
    for (const nic of devices.nics.values()) nic.esw.setHostAddresses(macs, ips);
  }

  setHwOffload(on: boolean): void {
    const { offload, dp, devices } = this.h;
    offload.enabled = on;
    for (const f of dp.list()) {
      if (on) offload.offer(f, devices.port);
      else {
        offload.withdraw(f, devices.nics);
        f.offloadReason = null;
      }
    }
  }

  /** Link state (netdev-dummy/set-admin-state, a scenario's link down/up): a down port neither receives nor sends. */
  setLinkUp(dev: Netdev, up: boolean): void {
    if (dev.up === up) return;
    dev.up = up;
    this.h.upcalls.forceRevalidate();
  }

  /** Closes every live port's driver and every capture (the engine is going away). */
  async close(): Promise<void> {
    for (const dev of this.h.devices.byName.values()) {
      if (dev.driver !== null) {
        const d = dev.driver;
        dev.driver = null;
        await d.close();
      }
    }
    this.h.captures.closeAll();
  }

  private setDpType(t: "netdev" | "dummy"): void {
    if (this.dpType === t) return;
    this.dpType = t;
    const name = t === "dummy" ? "ovs-dummy" : "ovs-netdev";
    this.h.dp.name = name;
    const local = this.h.devices.byOdp.get(0);
    if (local) local.name = name;
    for (const br of this.h.devices.bridges.values()) br.datapathName = name;
  }

  /** Creates or updates one interface; true when ports came or went. */
  private configureIface(br: Bridge<Netdev>, row: InterfaceRow): boolean {
    const { devices, tunnels } = this.h;
    let changed = false;
    let dev = devices.byName.get(row.name);
    const type = row.type === "" ? (row.name === br.name ? "internal" : "system") : row.type;
    if (dev !== undefined && (dev.type !== type || dev.bridge !== br)) {
      this.deleteDev(dev);
      dev = undefined;
      changed = true;
    }
    // A live port's failure (device gone, peer closed) stands until the driver recovers.
    row.error = dev === undefined ? null : (this.driverErrors.get(dev) ?? null);
    const tp = dev === undefined ? undefined : tunnels.byPort.get(dev);
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
        tunnels.byPort.set(dev, { ...tp, cfg });
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
        ? OfPort.LOCAL
        : req !== null && req > 0 && req < OfPort.MAX && !br.ports.has(req)
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
        tunnels.byPort.set(dev, { xport: dev, bridge: br, cfg });
        devices.byName.set(row.name, dev);
        br.attach(dev);
        // Tunnels share their vport's number: the datapath port names no one of them.
        br.byOdp.delete(dev.odpPort);
        row.ofport = dev.ofport;
        row.mac_in_use = null;
        return true;
      }
      dev.odpPort = choosePort(row.name, this.dpType === "dummy", (n) => devices.byOdp.has(n));
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
      const drivers = this.h.drivers;
      const backend = type === "vf" || type === "uplink" ? row.options.get("backend") : type;
      const named = backend === undefined ? undefined : drivers.get(backend);
      if (backend !== undefined && named === undefined && backend !== type) {
        row.error = `${row.name}: options:backend=${backend}: no such port driver (known: ${[...drivers.keys()].join(", ") || "none"})`;
        row.ofport = -1;
        this.deleteNicState(dev);
        return changed;
      }
      const factory = named ?? this.h.driverFor?.(row);
      if (factory !== undefined) {
        const e = this.openDriver(dev, row, factory);
        if (e !== null) {
          row.error = e;
          row.ofport = -1;
          this.deleteNicState(dev);
          return changed;
        }
      }
      devices.byName.set(row.name, dev);
      devices.byOdp.set(dev.odpPort, dev);
      br.attach(dev);
      changed = true;
    }
    if (!changed && dev.nic !== null && dev.nic.vport === 0 && type === "uplink") {
      const e = this.reconfigureNic(dev, row);
      if (e !== null) row.error = e;
    }
    // A value the port cannot take leaves the MTU as it was and is logged, as Open vSwitch 3.1
    // does (netdev_set_mtu failing: a warning, the error column untouched, the transaction kept).
    const mtu = row.mtu_request ?? (dev.nic ? dev.mtu : DEFAULT_MTU);
    if (Number.isInteger(mtu) && mtu >= MIN_MTU && mtu <= MAX_MTU) dev.mtu = mtu;
    else this.h.log(`failed to set MTU for network device ${row.name}: Invalid argument`);
    if (dev.nic) dev.nic.nic.esw.setMtu(dev.nic.vport, dev.mtu);
    this.configureTaps(dev, row);
    row.ofport = dev.ofport === OfPort.LOCAL ? 65534 : dev.ofport;
    row.mac_in_use = dev.mac;
    row.mtu = dev.mtu;
    return changed;
  }

  private openDriver(dev: Netdev, row: InterfaceRow, factory: PortDriverFactory): string | null {
    const d = factory(row, {
      name: dev.name,
      receive: (frame) => {
        if (dev.driver === null) return;
        // A frame from outside must never take the daemon down: log, count, go on.
        try {
          this.h.liveReceive(dev, frame);
        } catch (e) {
          this.h.pipeline.countDrop("internal error on a live port");
          this.h.log(`${dev.name}: packet dropped: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        }
      },
      fail: (error) => {
        this.driverErrors.set(dev, error);
        const r = this.findIfaceRow(dev.name);
        if (r) r.error = error;
        dev.up = false;
        this.h.log(`${dev.name}: ${error}`);
      },
      recover: () => {
        this.driverErrors.delete(dev);
        const r = this.findIfaceRow(dev.name);
        if (r) r.error = null;
        if (!dev.up) this.setLinkUp(dev, true);
      },
      log: (line) => this.h.log(`${dev.name}: ${line}`),
    });
    if (typeof d === "string") return d;
    dev.driver = d;
    return null;
  }

  private findIfaceRow(name: string): InterfaceRow | undefined {
    for (const b of this.h.db.root.bridges)
      for (const p of b.ports) for (const i of p.interfaces) if (i.name === name) return i;
    return undefined;
  }

  private checkType(type: string, row: InterfaceRow): string | null {
    if (this.h.drivers.has(type)) return null;
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
    this.h.devices.nics.set(dev.name, nic);
    return null;
  }

  /**
   * New table sizes or capabilities for an existing NIC (vsctl set Interface pf0
   * options:hw-l2-entries=…): as reconfiguring a real NIC's flow tables does, its flows are
   * taken off, the eSwitch is rebuilt, and every datapath flow is offered again.
   */
  private reconfigureNic(dev: Netdev, row: InterfaceRow): string | null {
    const { dp, offload, devices, upcalls } = this.h;
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
    for (const f of dp.list()) {
      if (f.nicName !== nic.name) continue;
      offload.readStats(f, devices.nics);
      upcalls.pushStats(f);
      offload.withdraw(f, devices.nics);
    }
    nic.esw = esw;
    nic.hwKey = s.key;
    esw.nowMs = this.h.clock.nowMs;
    nic.reps.forEach((r, v) => {
      if (r) esw.setMtu(v, r.mtu);
    });
    this.updateHostAddresses();
    if (offload.enabled) {
      for (const f of dp.list()) if (f.offload !== "offloaded") offload.offer(f, devices.port);
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
    const pipeline = this.h.pipeline;
    return new ESwitch({
      name: dev.name,
      switchId,
      nVfs,
      pool: this.h.pool,
      caps,
      hooks: {
        tx: (vport, slot, tier, flow) => pipeline.nicTx(nic(), vport, slot, tier, flow),
        toHost: (vport, slot, reason) => pipeline.nicToHost(nic(), vport, slot, reason),
      },
    });
  }

  private attachVf(dev: Netdev, row: InterfaceRow): string | null {
    const pf = row.options.get("pf");
    const vfText = row.options.get("vf");
    if (pf === undefined || vfText === undefined)
      return `${row.name}: type vf needs options:pf=UPLINK and options:vf=N`;
    const nic = this.h.devices.nics.get(pf);
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

  /**
   * Opens the capture taps the options name. A file that cannot be opened is logged as OVS's
   * netdev-dummy logs it (the port works without its capture) and tried again at the next
   * reconfiguration.
   */
  private configureTaps(dev: Netdev, row: InterfaceRow): void {
    const both = row.options.get("pcap");
    const rxq = row.options.get("rxq_pcap");
    const tx = row.options.get("tx_pcap");
    const cfg = `${both ?? ""}\0${rxq ?? ""}\0${tx ?? ""}`;
    if (cfg === dev.tapConfig) return;
    this.closeTaps(dev);
    // Relative paths are the daemon's, as they are ovs-vswitchd's.
    const captures = this.h.captures;
    let failed = false;
    const open = (p: string, taps: CaptureTap[][]): void => {
      try {
        const t = captures.open(isAbsolute(p) ? p : resolve(p), dev.name, dev.type);
        for (const list of taps) list.push(t);
      } catch (e) {
        failed = true;
        this.h.log(`${p}: failed to open pcap file for appending (${strerror(e)})`);
      }
    };
    if (both) open(both, [dev.rxTaps, dev.txTaps]);
    else {
      if (rxq) open(rxq, [dev.rxTaps]);
      if (tx) open(tx, [dev.txTaps]);
    }
    if (failed) this.closeTaps(dev);
    else dev.tapConfig = cfg;
  }

  private closeTaps(dev: Netdev): void {
    const seen = new Set<CaptureTap>();
    for (const t of [...dev.rxTaps, ...dev.txTaps])
      if (!seen.has(t)) {
        seen.add(t);
        this.h.captures.release(t);
      }
    dev.rxTaps = [];
    dev.txTaps = [];
    dev.tapConfig = "";
  }

  private deleteDev(dev: Netdev): void {
    const { devices, tunnels } = this.h;
    if (tunnels.byPort.delete(dev)) {
      dev.bridge?.detach(dev);
      devices.byName.delete(dev.name);
      // The vport goes with its last tunnel.
      if (!tunnels.vportInUse(dev.odpPort)) {
        devices.vports.delete(dev.odpPort);
        devices.byOdp.delete(dev.odpPort);
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
    devices.byOdp.delete(dev.odpPort);
    devices.byName.delete(dev.name);
    this.deleteNicState(dev);
  }

  /** Undoes createNic/attachVf for `dev`. */
  private deleteNicState(dev: Netdev): void {
    const { devices, dp, offload } = this.h;
    if (dev.nic) {
      const { nic, vport } = dev.nic;
      if (vport === 0) {
        for (const f of dp.list()) if (f.nicName === nic.name) offload.withdraw(f, devices.nics);
        devices.nics.delete(nic.name);
        for (const rep of nic.reps) if (rep && rep !== dev) rep.nic = null;
      } else nic.reps[vport] = null;
      dev.nic = null;
    }
  }

  private deleteBridge(br: Bridge<Netdev>): void {
    for (const dev of [...br.ports.values()]) this.deleteDev(dev);
    this.h.devices.bridges.delete(br.name);
    for (const f of this.h.dp.list()) if (f.bridge === br.name) this.h.upcalls.deleteFlow(f);
  }

  private bridgeHwaddr(name: string): string | null {
    for (const b of this.h.db.root.bridges) if (b.name === name) return b.other_config.get("hwaddr") ?? null;
    return null;
  }

  /** The datapath port of the shared tunnel vport `name`, created on first use. */
  private vportFor(name: string, type: string): number {
    const { devices } = this.h;
    for (const [n, d] of devices.vports) if (d.name === name) return n;
    const odp = choosePort(name, this.dpType === "dummy", (n) => devices.byOdp.has(n));
    const v = new Netdev(name, type, "");
    v.odpPort = odp;
    devices.vports.set(odp, v);
    devices.byOdp.set(odp, v);
    return odp;
  }

  private dummyMac(): string {
    // OVS gives dummy devices aa:55:aa:55:00:NN from a counter; the same idea, from a serial.
    const n = ++this.macSerial;
    return `aa:55:aa:55:${((n >> 8) & 255).toString(16).padStart(2, "0")}:${(n & 255).toString(16).padStart(2, "0")}`;
  }
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

/** What strerror() says for the errors opening a file gives (Node names only the code). */
const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  ENOTDIR: "Not a directory",
  EISDIR: "Is a directory",
  EROFS: "Read-only file system",
  ENOSPC: "No space left on device",
};

function strerror(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return (typeof code === "string" ? STRERROR[code] : undefined) ?? (e instanceof Error ? e.message : String(e));
}

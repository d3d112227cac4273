// The engine: one emulated host — its SmartNICs, its datapath, vswitchd's bridges and the offload
// manager — and the composition root that joins them. Each part is its own module, cut along
// Open vSwitch's seams:
//   reconfigure.ts  bridge_reconfigure: the database → bridges, ports, NICs, drivers, captures
//   pipeline.ts     dpif-netdev's packet path: NIC tiers → EMC → megaflow → upcall callback
//   upcall.ts       ofproto-dpif-upcall: the upcall handler and the revalidator
//   offload.ts      netdev-offload: datapath flows offered to the NICs
//   ../ofproto/     the switch: bridges, OpenFlow tables, translation, tunnels, routes, neighbours
// The engine builds them once, gives each only the parts it needs, and offers the public API the
// appctl commands (commands.ts), the daemon and the scenario runner use.
//
// Time is virtual (clock.ts), so the same commands give the same captures and the same dumps.

import { readFileSync } from "node:fs";
import type { ConfigSource, InterfaceConfig } from "../ovsdb/config.ts";
import { CommandError, type CommandIo, type CommandResult } from "../ctl/registry.ts";
import { PacketPool } from "../dp/pool.ts";
import { Datapath, type DpFlow } from "../dp/datapath.ts";
import { runOfctl } from "../ofproto/ofctl-commands.ts";
import type { Bridge } from "../ofproto/bridge.ts";
import { RouteTable } from "../ofproto/route.ts";
import { NeighTable } from "../ofproto/neigh.ts";
import { isMappedIpv4, type TunnelEnv, type TunnelPort } from "../ofproto/tunnel.ts";
import { TunnelPorts } from "../ofproto/tunnel-ports.ts";
import { arpRequest, neighborSolicitation } from "../ofproto/tnl-neigh-request.ts";
import { CaptureHub } from "../ports/capture-tap.ts";
import { PORT_DRIVERS, type PortDriverFactory } from "../ports/port-driver.ts";
import { Clock, wallMs } from "./clock.ts";
import { Devices } from "./devices.ts";
import { Netdev } from "./netdev.ts";
import { OffloadManager } from "./offload.ts";
import { Pipeline } from "./pipeline.ts";
import { Reconfigurer } from "./reconfigure.ts";
import { Upcalls } from "./upcall.ts";

export { VIRTUAL_EPOCH_MS } from "./clock.ts";
export { Tier, TIER_NAMES } from "../dp/tier.ts";

/** How often the revalidator runs (ofproto-dpif-upcall's default max-revalidator, ms). */
export const REVALIDATE_INTERVAL_MS = 500;

export interface EngineOptions {
  db: ConfigSource;
  log(line: string): void;
  /** Packet buffer slots (default 4096). */
  poolSlots?: number;
  /** Called for every datapath flow an upcall installs, after it was offered to the NIC (scenario statistics). */
  onFlowInstall?: (f: DpFlow) => void;
  /** Drivers by Interface type (default PORT_DRIVERS). */
  portDrivers?: ReadonlyMap<string, PortDriverFactory>;
  /**
   * A driver for this Interface whatever its type, when neither its type nor options:backend
   * names one: how a scenario puts its in-process links (src/ports/link.ts) behind the ports
   * its setup created, without writing them into the configuration the user wrote.
   */
  portDriverFor?: (row: InterfaceConfig) => PortDriverFactory | undefined;
}

export class HostEngine {
  readonly pool: PacketPool;
  readonly clock = new Clock();
  readonly devices = new Devices();
  readonly bridges = this.devices.bridges;
  readonly devs = this.devices.byName;
  readonly nics = this.devices.nics;
  readonly dpPorts = this.devices.byOdp;
  readonly vports = this.devices.vports;
  /** Every address of a port, "ip/plen" (netdev-dummy/ip4addr and ip6addr). */
  readonly hostAddrs = this.devices.addrs;
  readonly dp = new Datapath("ovs-netdev");
  readonly offload = new OffloadManager();
  readonly captures = new CaptureHub();
  /** ovs/route/*: the route to a tunnel's remote endpoint names the bridge it leaves by. */
  readonly routes = new RouteTable((dev) => this.devices.addrsOf(dev));
  /** tnl/neigh/*: next hops' MACs, set by hand or learned from ARP replies and advertisements. */
  readonly neigh = new NeighTable(() => this.clock.nowMs);
  readonly tunnels: TunnelPorts<Netdev>;
  /** Tunnel Interfaces (vxlan, geneve, gre) and their configuration. */
  readonly tunnelPorts: Map<Netdev, TunnelPort>;
  readonly tunnelEnv: TunnelEnv;
  readonly upcalls: Upcalls;
  readonly pipeline: Pipeline;
  readonly config: Reconfigurer;
  private nextRevalidate = REVALIDATE_INTERVAL_MS;

  constructor(readonly opts: EngineOptions) {
    this.pool = new PacketPool(opts.poolSlots ?? 4096);
    const local = new Netdev("ovs-netdev", "internal", "");
    local.odpPort = 0;
    this.dpPorts.set(0, local);
    this.tunnels = new TunnelPorts<Netdev>(() => this.upcalls.markStale());
    this.tunnelPorts = this.tunnels.byPort;
    this.upcalls = new Upcalls(this.devices, this.dp, this.offload, this.tunnels, this.clock);
    this.upcalls.onFlowInstall = opts.onFlowInstall;
    this.pipeline = new Pipeline(this.pool, this.devices, this.dp, this.tunnels, this.clock, this.upcalls);
    this.tunnelEnv = this.makeTunnelEnv();
    this.upcalls.tunnelEnv = this.tunnelEnv;
    this.config = new Reconfigurer({
      db: opts.db,
      devices: this.devices,
      dp: this.dp,
      pool: this.pool,
      offload: this.offload,
      tunnels: this.tunnels,
      captures: this.captures,
      clock: this.clock,
      pipeline: this.pipeline,
      upcalls: this.upcalls,
      drivers: opts.portDrivers ?? PORT_DRIVERS,
      driverFor: opts.portDriverFor,
      log: (line) => opts.log(line),
      liveReceive: (dev, frame) => {
        // On the real clock a frame from outside is stamped with when it arrived.
        if (this.clock.real) this.syncClock();
        this.pipeline.receive(dev, frame);
      },
    });
    // A route or neighbour change changes what tunnelled flows translate to: OVS bumps
    // tnl_conf_seq and revalidates every flow; here they are marked and settle() revalidates.
    this.routes.onChange(() => this.upcalls.markStale());
    this.neigh.onChange(() => this.upcalls.markStale());
    // Offloaded tunnelled flows follow routes and neighbours on the NIC right away (moved,
    // headers rewritten, or back to software), before the revalidator re-translates them.
    this.offload.attachTunnels({
      routes: this.routes,
      neigh: this.neigh,
      dev: (n) => this.devs.get(n) ?? null,
      port: this.devices.port,
      nics: this.nics,
    });
  }

  get db(): ConfigSource {
    return this.opts.db;
  }

  // --- configuration ---------------------------------------------------------------------------

  /** bridge_reconfigure: make bridges, ports and NICs match the database; write status back. */
  reconfigure(): void {
    this.config.reconfigure();
  }

  get dpType(): "netdev" | "dummy" {
    return this.config.dpType;
  }

  /** Link state (netdev-dummy/set-admin-state, a scenario's link down/up): a down port neither receives nor sends. */
  setLinkUp(dev: Netdev, up: boolean): void {
    this.config.setLinkUp(dev, up);
  }

  /** Tells every NIC which addresses are the host's own (trapped to the host, never offloaded). */
  updateHostAddresses(): void {
    this.config.updateHostAddresses();
  }

  devByName(name: string): Netdev | null {
    return this.devs.get(name) ?? null;
  }

  /** True when a port is attached to something real (TAP, socket): time must then be real time. */
  get hasLivePorts(): boolean {
    for (const dev of this.devs.values()) if (dev.driver?.live) return true;
    return false;
  }

  // --- packets -----------------------------------------------------------------------------------

  /** A frame arrives on `dev` from outside (a VM on its VF, the wire, a test). */
  receive(dev: Netdev, frame: Uint8Array): void {
    this.pipeline.receive(dev, frame);
  }

  /** receive() of a frame already in the pool. */
  receiveSlot(dev: Netdev, slot: number): void {
    this.pipeline.receiveSlot(dev, slot);
  }

  /** Packets by the tier that handled them (Tier). */
  get tiers(): Float64Array {
    return this.pipeline.tiers;
  }

  /** Drops before any tier decided, by reason. */
  get drops(): Map<string, number> {
    return this.pipeline.drops;
  }

  /** Packets the NICs sent to the host, by reason name. */
  get fallbacks(): Map<string, number> {
    return this.pipeline.fallbacks;
  }

  get packetsReceived(): number {
    return this.pipeline.packetsReceived;
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
      addrsOf: (dev) => this.devices.addrsOf(dev),
      listening: (_ipv6, proto, udpPort) => this.tunnels.listening(proto, udpPort),
      receivePort: (vport, key) => this.tunnels.receivePort(vport, key),
      tlvMap: () => this.tunnels.tlvMap,
      solicit: (bridge, smac, src, dst) => {
        const frame = isMappedIpv4(dst) ? arpRequest(smac, src, dst) : neighborSolicitation(smac, src, dst);
        this.pipeline.solicit(bridge as Bridge<Netdev>, frame);
      },
    };
  }

  // --- time and revalidation ---------------------------------------------------------------------

  get nowMs(): number {
    return this.clock.nowMs;
  }

  /** Sets the clock without running timers (a scenario stamps each packet with its own time). */
  set nowMs(ms: number) {
    this.clock.nowMs = ms;
  }

  /** Switches between the virtual clock and the wall clock (nowMs then follows real time). */
  setRealClock(on: boolean): void {
    const c = this.clock;
    if (on === c.real) return;
    c.real = on;
    if (on) c.epochMs = wallMs() - c.nowMs;
  }

  /** On the real clock: advances nowMs (timers, ageing) to the wall-clock time. */
  syncClock(): void {
    const c = this.clock;
    if (!c.real) return;
    const dt = wallMs() - c.epochMs - c.nowMs;
    if (dt > 0) this.advance(dt);
  }

  /** Advances the virtual clock, running the periodic work (revalidator, ageing) on the way. */
  advance(ms: number, stepMs = ms): void {
    const c = this.clock;
    const end = c.nowMs + ms;
    const step = stepMs > 0 ? stepMs : ms;
    while (c.nowMs < end) {
      c.nowMs = Math.min(end, c.nowMs + step);
      for (const nic of this.nics.values()) nic.esw.nowMs = c.nowMs;
      this.runTimers();
    }
    if (ms === 0) this.runTimers();
  }

  private runTimers(): void {
    if (this.neigh.size > 0) this.neigh.expire();
    if (this.clock.nowMs >= this.nextRevalidate) {
      this.upcalls.revalidate();
      this.nextRevalidate = this.clock.nowMs + REVALIDATE_INTERVAL_MS;
    }
  }

  /** Revalidates now if a translation side effect (MAC learning) asked for it. */
  settle(): void {
    if (this.upcalls.stale) this.upcalls.revalidate();
    if (this.pipeline.hasSolicits) this.pipeline.drainSolicits();
    this.captures.flush();
  }

  /** One revalidator pass (upcall.ts). */
  revalidate(): void {
    this.upcalls.revalidate();
  }

  /** Deletes every datapath flow (dpctl/del-flows, revalidator/purge). */
  purgeFlows(): void {
    this.upcalls.purgeFlows();
  }

  // --- commands ----------------------------------------------------------------------------------

  ofctl(argv: string[], io: CommandIo): CommandResult {
    // Rule counters include every packet so far: OVS shows them after its next revalidator
    // pass (tests call revalidator/wait); here the pass's statistics part runs first.
    this.upcalls.pushAllStats();
    const r = runOfctl(argv, {
      tlv: this.tunnels.tlvTable,
      bridge: (name) => this.bridges.get(name) ?? null,
      nowMs: () => this.clock.nowMs,
      io,
      readFile: (path) => readText(path, io),
    });
    this.settle();
    return r;
  }

  /** Writes buffered capture records out (after each control command). */
  flush(): void {
    this.captures.flush();
  }

  async close(): Promise<void> {
    await this.config.close();
  }
}

function readText(path: string, io: CommandIo): string {
  if (path === "-") {
    if (io.stdin === undefined) throw new CommandError("no standard input was given");
    return io.stdin;
  }
  return readFileSync(path.startsWith("/") ? path : `${io.cwd}/${path}`, "utf8");
}

// The packet path of one host, as lib/dpif-netdev.c runs it (dfc_processing, fast_path_processing,
// dp_netdev_input__, dp_execute_cb), with the NIC in front:
//   port rx → (representor port?) eSwitch: L1 exact → L2 masked → actions → port tx
//                                  └ miss / host traffic / unclassifiable → representor ↓
//   host datapath: EMC → megaflow → actions → port tx
//                  └ miss → upcall (a callback, as dpif_netdev_register_upcall_cb registers
//                           one: the handler in upcall.ts translates and installs the flow)
// Every received packet is counted in exactly one tier (src/dp/tier.ts), so the tier counters
// always add up to the packets received. After tnl_pop the inner frame recirculates with its
// tunnel metadata; the packet keeps the tier its first pass chose unless that pass needs an upcall.
//
// Capture ordering lives here too: while a packet with rx taps is in flight, its tx records wait,
// so that the rx record (whose comment names the tier, known only at the end) comes first.

import type { Bridge } from "../ofproto/bridge.ts";
import type { PacketPool } from "../dp/pool.ts";
import { ActionExecutor, ovsRssHash, type CompiledActions } from "../dp/execute.ts";
import { DpHit, keyTcpFlags, type Datapath, type DpFlow } from "../dp/datapath.ts";
import { N_TIERS, Tier, TIER_NAMES } from "../dp/tier.ts";
import { FALLBACK_REASON_NAMES } from "../nic/eswitch.ts";
import { PacketParser } from "../wire/parse.ts";
import { OUTER, S, TunnelType, newOffsets } from "../wire/offsets.ts";
import { FlowExtractor } from "../flow/extract.ts";
import { W, newFlowKey, type FlowKey } from "../flow/key.ts";
import { OfPort } from "../flow/fields.ts";
import { formatOdpKey } from "../flow/odp.ts";
import { displayMask } from "../flow/wildcards.ts";
import type { TunnelPorts } from "../ofproto/tunnel-ports.ts";
import type { Clock } from "./clock.ts";
import type { Devices } from "./devices.ts";
import type { HostNic, Netdev } from "./netdev.ts";

/** What the datapath asks of vswitchd on a miss (ofproto-dpif-upcall.c's upcall_cb). */
export interface UpcallHandler {
  /** Translate a packet no flow matched and install its flow; the flow its actions come from, or why not. */
  upcall(dev: Netdev, key: FlowKey, len: number): DpFlow | string;
  /** Translate a packet sent from `bridge`'s own port (a packet-out); null when it cannot run. */
  packetOut(bridge: Bridge<Netdev>, key: FlowKey): CompiledActions | null;
}

/** How deep tunnels may nest (a recirculation per tnl_pop) before the packet is dropped. */
const MAX_RECIRC_DEPTH = 4;

export class Pipeline {
  /** Packets by the tier that handled them (Tier). */
  readonly tiers = new Float64Array(N_TIERS);
  /** Drops before any tier decided, by reason. */
  readonly drops = new Map<string, number>();
  /** Packets the NICs sent to the host, by reason name. */
  readonly fallbacks = new Map<string, number>();
  readonly executor: ActionExecutor;

  /** ARP requests and neighbour solicitations asked for during translation, sent afterwards. */
  private readonly solicits: { bridge: Bridge<Netdev>; frame: Uint8Array }[] = [];
  /** The tunnel port of each decapsulated flow, for its rx counters. */
  private readonly tunnelIngress = new WeakMap<DpFlow, Netdev>();
  private readonly recircKey: FlowKey = newFlowKey();
  private readonly recircO = newOffsets();
  private recircDepth = 0;
  // Per-packet scratch, reused.
  private readonly parser = new PacketParser();
  private readonly extractor = new FlowExtractor();
  private readonly o = newOffsets();
  private readonly key: FlowKey = newFlowKey();
  private tier = -1;
  private curFlow: DpFlow | null = null;
  private rxCopy: Uint8Array | null = null;
  /** devices.byOdp, held directly: dpOutput reads it for every packet a datapath flow outputs. */
  private readonly byOdp: ReadonlyMap<number, Netdev>;
  private readonly pendingTx: { dev: Netdev; data: Uint8Array; comment: string }[] = [];

  constructor(
    private readonly pool: PacketPool,
    devices: Devices,
    private readonly dp: Datapath,
    private readonly tunnels: TunnelPorts<Netdev>,
    private readonly clock: Clock,
    private readonly handler: UpcallHandler,
  ) {
    this.byOdp = devices.byOdp;
    this.executor = new ActionExecutor(
      pool,
      (port, slot) => this.dpOutput(port, slot),
      (slot, tnlPort, recircId) => this.recirculate(slot, tnlPort, recircId),
    );
  }

  get packetsReceived(): number {
    let n = 0;
    for (let i = 0; i < N_TIERS; i++) n += this.tiers[i] as number;
    return n;
  }

  countDrop(reason: string): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }

  /** Queue a frame to send from `bridge`'s own port once the current packet is done. */
  solicit(bridge: Bridge<Netdev>, frame: Uint8Array): void {
    this.solicits.push({ bridge, frame });
  }

  get hasSolicits(): boolean {
    return this.solicits.length > 0;
  }

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

  /** The eSwitch's tx hook: a packet its actions send out of `vport`. */
  nicTx(nic: HostNic, vport: number, slot: number, tier: 1 | 2, flow: number): void {
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

  /** The eSwitch's fallback hook: a packet it gives to the host through `vport`'s representor. */
  nicToHost(nic: HostNic, vport: number, slot: number, reason: number): void {
    const name = FALLBACK_REASON_NAMES[reason] ?? String(reason);
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
    f.usedMs = this.clock.nowMs;
    f.tcpFlags |= keyTcpFlags(key);
    if (f.prog === null) {
      pool.release(slot);
      this.countDrop("flow actions not executable");
      return false;
    }
    return true;
  }

  /** A miss: the handler installs a flow, and the packet takes its actions. */
  private upcall(dev: Netdev, slot: number, key: FlowKey, o: Int32Array): void {
    if (this.tier < 0 || this.recircDepth > 0) this.tier = Tier.UPCALL;
    const f = this.handler.upcall(dev, key, this.pool.len[slot] as number);
    if (typeof f === "string") {
      this.pool.release(slot);
      this.countDrop(f);
      return;
    }
    this.curFlow = f;
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
    if (tnlPort < 0 || this.recircDepth >= MAX_RECIRC_DEPTH) {
      this.pool.release(slot);
      this.countDrop(tnlPort < 0 ? `recirc(${recircId}) not modelled` : "tunnel nesting too deep");
      return;
    }
    const nested = this.recircDepth > 0;
    const key = nested ? newFlowKey() : this.recircKey;
    const o = nested ? newOffsets() : this.recircO;
    const pool = this.pool;
    const popped = this.executor.popped;
    this.parser.parse(pool.dv, pool.start[slot] as number, pool.len[slot] as number, o);
    this.extractor.extract(pool.dv, o, OUTER, tnlPort, key);
    this.extractor.extractTunnel(pool.dv, popped, key);
    if (popped[OUTER + S.TUN_TYPE] === TunnelType.GENEVE) {
      const g = popped[OUTER + S.TUN] as number;
      this.tunnels.mapGeneveOptions(key, pool.dv, g, (pool.start[slot] as number) - g);
    }
    this.recircDepth++;
    try {
      const f = this.dp.lookup(key);
      if (f === null) {
        const tp = this.tunnels.receivePort(tnlPort, key);
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

  /** Sends the ARP requests / solicitations translations asked for, as packet-outs from each
   *  bridge's own port (tnl_send_arp_request: an OFPP_TABLE output through its tables). */
  drainSolicits(): void {
    while (this.solicits.length > 0) {
      const { bridge, frame } = this.solicits.shift() as { bridge: Bridge<Netdev>; frame: Uint8Array };
      const local = bridge.ports.get(OfPort.LOCAL);
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
      const prog = this.handler.packetOut(bridge, k);
      if (prog === null) {
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

  private dpOutput(port: number, slot: number): void {
    const dev = this.byOdp.get(port);
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

  /** A capture record's comment: the tier, and the datapath flow the packet matched. */
  private comment(): string {
    const t = this.tier < 0 ? "?" : (TIER_NAMES[this.tier] as string);
    const f = this.curFlow;
    if (f === null) return t;
    if (f.comment === "")
      f.comment = `${formatOdpKey({ key: f.key, mask: displayMask(f.mask, f.key), packetType: false })}, actions:${f.actionsText}`;
    return `${t}: ${f.comment}`;
  }

  private writeTx(dev: Netdev, data: Uint8Array, comment: string): void {
    const ts = this.clock.tsNs();
    for (const t of dev.txTaps) t.write(ts, data, data.length, "tx", comment);
  }

  private flushCapture(dev: Netdev, len: number): void {
    const ts = this.clock.tsNs();
    const comment = this.comment();
    const data = this.rxCopy as Uint8Array;
    for (const t of dev.rxTaps) t.write(ts, data, len, "rx", comment);
    this.rxCopy = null;
    for (const p of this.pendingTx) this.writeTx(p.dev, p.data, p.comment);
    this.pendingTx.length = 0;
  }
}

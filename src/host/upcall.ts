// vswitchd's side of the datapath, as ofproto/ofproto-dpif-upcall.c runs it: the upcall handler
// (a packet no datapath flow matched is translated through its bridge's OpenFlow tables, its
// megaflow installed and offered to the NIC) and the revalidator (each pass reads hardware
// counters, credits the OpenFlow rules, ages idle flows out, and re-translates flows whose
// bridge changed: same result → kept, new actions → modified in place, new mask → deleted).
//
// The packet path (pipeline.ts) reaches this module only through the UpcallHandler it was given,
// as dpif-netdev reaches ofproto through the callback ofproto registers: the datapath never
// calls the translator itself.

import { compileActions, type CompiledActions } from "../dp/execute.ts";
import { DEFAULT_MAX_IDLE_MS, type Datapath, type DpFlow } from "../dp/datapath.ts";
import { FLOW_WORDS, W, type FlowKey } from "../flow/key.ts";
import { datapathMask } from "../flow/wildcards.ts";
import type { Bridge } from "../ofproto/bridge.ts";
import type { OfRule } from "../ofproto/oftable.ts";
import type { TunnelEnv } from "../ofproto/tunnel.ts";
import type { TunnelPorts } from "../ofproto/tunnel-ports.ts";
import { translate } from "../ofproto/xlate.ts";
import type { Clock } from "./clock.ts";
import type { Devices } from "./devices.ts";
import type { Netdev } from "./netdev.ts";
import type { OffloadManager } from "./offload.ts";
import type { UpcallHandler } from "./pipeline.ts";

/**
 * What vswitchd keeps about a datapath flow (ofproto-dpif-upcall.c's udpif_key): the packet key
 * it was translated from, what the translation read (table version, MAC table serial), the
 * rules it went through and how much of the flow's counts they were already credited with.
 */
export class Ukey {
  /** OpenFlow table version and MAC table serial the flow was translated at; -1: re-translate. */
  xlateVersion = 0;
  macSerial = 0;
  /** The whole key of the packet that created the flow: re-translated on revalidation. */
  packetKey: FlowKey = new Uint32Array(0);
  /** Rules the translation went through, credited with the flow's packets. */
  rules: OfRule[] = [];
  /** Packets and bytes already credited to `rules`. */
  pushedPackets = 0;
  pushedBytes = 0;
}

export class Upcalls implements UpcallHandler {
  private readonly ukeys = new WeakMap<DpFlow, Ukey>();
  /** other_config:max-idle. */
  maxIdleMs = DEFAULT_MAX_IDLE_MS;
  /** Set when something translations read changed (MAC learning, routes, the TLV map). */
  needRevalidate = false;
  /** Called for every datapath flow an upcall installs, after it was offered to the NIC. */
  onFlowInstall: ((f: DpFlow) => void) | undefined;
  /** Set by the host once its tunnel environment exists (it needs the pipeline, which needs this). */
  tunnelEnv: TunnelEnv | null = null;

  constructor(
    private readonly devices: Devices,
    private readonly dp: Datapath,
    private readonly offload: OffloadManager,
    private readonly tunnels: TunnelPorts<Netdev>,
    private readonly clock: Clock,
  ) {}

  private get env(): TunnelEnv {
    return this.tunnelEnv as TunnelEnv;
  }

  upcall(dev: Netdev, key: FlowKey, len: number): DpFlow | string {
    const br = dev.bridge;
    if (br === null) return "packet on a port in no bridge";
    const nowMs = this.clock.nowMs;
    const ofKey = Uint32Array.from(key);
    ofKey[W.IN_PORT] = dev.ofport;
    const macBefore = br.mac.serial;
    const res = translate(br, ofKey, { nowMs, sideEffects: true, trace: false, tunnels: this.env });
    if (br.mac.serial !== macBefore) this.needRevalidate = true;
    for (const r of res.rules) {
      r.stats.packets++;
      r.stats.bytes += len;
      r.stats.usedMs = nowMs;
    }
    const mask = datapathMask(res.wc, key);
    const packetKey = Uint32Array.from(key);
    const f = this.dp.install(packetKey, mask, res.actions, br.name, nowMs);
    if (typeof f === "string") {
      this.dp.lost++;
      return `upcall failed: ${f}`;
    }
    const u = this.ukey(f);
    u.packetKey = packetKey;
    u.xlateVersion = br.tables.version;
    u.macSerial = br.mac.serial;
    u.rules = res.rules;
    this.offload.offer(f, this.devices.port);
    this.onFlowInstall?.(f);
    return f;
  }

  packetOut(bridge: Bridge<Netdev>, key: FlowKey): CompiledActions | null {
    const macBefore = bridge.mac.serial;
    const res = translate(bridge, key, { nowMs: this.clock.nowMs, sideEffects: true, trace: false, tunnels: this.env });
    if (bridge.mac.serial !== macBefore) this.needRevalidate = true;
    try {
      return compileActions(res.actions);
    } catch {
      return null;
    }
  }

  /** The ukey of a datapath flow (an empty one for a flow installed by hand, as tests do). */
  ukey(f: DpFlow): Ukey {
    let u = this.ukeys.get(f);
    if (u === undefined) {
      u = new Ukey();
      this.ukeys.set(f, u);
    }
    return u;
  }

  /** The key of the packet a flow was made for (dpctl/dump-flows shows it), or null. */
  packetKeyOf(f: DpFlow): FlowKey | null {
    const k = this.ukeys.get(f)?.packetKey;
    return k !== undefined && k.length > 0 ? k : null;
  }

  /** Every flow re-translated at the next pass (something every translation reads changed). */
  markStale(): void {
    for (const f of this.dp.list()) this.ukey(f).xlateVersion = -1;
    this.needRevalidate = true;
  }

  /** Marks every flow for re-translation and revalidates now (ports or configuration changed). */
  forceRevalidate(): void {
    this.markStale();
    this.revalidate();
  }

  /** Whether a pass has work: a side effect asked for one, or a bridge's tables changed. */
  get stale(): boolean {
    if (this.needRevalidate) return true;
    for (const f of this.dp.list()) {
      const br = this.devices.bridges.get(f.bridge);
      if (br && br.tables.version !== this.ukey(f).xlateVersion) return true;
    }
    return false;
  }

  /** One revalidator pass (ofproto-dpif-upcall.c revalidate). */
  revalidate(): void {
    this.needRevalidate = false;
    const nowMs = this.clock.nowMs;
    for (const br of this.devices.bridges.values()) {
      br.tables.expire(nowMs);
      br.mac.expire(nowMs);
    }
    for (const f of this.dp.list()) {
      this.offload.readStats(f, this.devices.nics);
      this.pushStats(f);
      const used = f.lastUsedMs >= 0 ? f.lastUsedMs : f.createdMs;
      if (nowMs - used >= this.maxIdleMs) {
        this.deleteFlow(f);
        continue;
      }
      const br = this.devices.bridges.get(f.bridge);
      if (br === undefined) {
        this.deleteFlow(f);
        continue;
      }
      const u = this.ukey(f);
      if (br.tables.version === u.xlateVersion && br.mac.serial === u.macSerial) continue;
      const k = Uint32Array.from(u.packetKey);
      const inDev = this.ingressOf(k);
      if (!inDev || inDev.bridge !== br) {
        this.deleteFlow(f);
        continue;
      }
      k[W.IN_PORT] = inDev.ofport;
      const res = translate(br, k, { nowMs, sideEffects: false, trace: false, tunnels: this.env });
      const mask = datapathMask(res.wc, u.packetKey);
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
      u.xlateVersion = br.tables.version;
      u.macSerial = br.mac.serial;
      u.rules = res.rules;
      const text = f.actionsText;
      this.dp.modify(f, res.actions);
      if (f.actionsText !== text) {
        f.comment = "";
        // Modified in place on the NIC when it stays there (L1 entries and counters kept).
        this.offload.update(f, this.devices.port, this.devices.nics);
      }
    }
  }

  /** The counts a flow gathered since the last push, credited to the OpenFlow rules it came from. */
  pushStats(f: DpFlow): void {
    const u = this.ukey(f);
    const dp = f.totalPackets - u.pushedPackets;
    const db = f.totalBytes - u.pushedBytes;
    if (dp <= 0) return;
    const used = f.lastUsedMs;
    for (const r of u.rules) {
      r.stats.packets += dp;
      r.stats.bytes += db;
      if (used > r.stats.usedMs) r.stats.usedMs = used;
    }
    u.pushedPackets = f.totalPackets;
    u.pushedBytes = f.totalBytes;
  }

  /** Reads every flow's hardware counters and credits the rules (before ofctl shows rule counters). */
  pushAllStats(): void {
    for (const f of this.dp.list()) {
      this.offload.readStats(f, this.devices.nics);
      this.pushStats(f);
    }
  }

  deleteFlow(f: DpFlow): void {
    this.offload.readStats(f, this.devices.nics);
    this.pushStats(f);
    this.offload.withdraw(f, this.devices.nics);
    this.dp.remove(f);
    this.ukeys.delete(f);
  }

  /** Deletes every datapath flow (dpctl/del-flows, revalidator/purge). */
  purgeFlows(): void {
    for (const f of this.dp.list()) this.deleteFlow(f);
  }

  /** The port a datapath flow's packets come in by: the in_port's device, or for a tunnel vport the
   *  tunnel port its metadata names. */
  private ingressOf(key: FlowKey): Netdev | null {
    const odp = key[W.IN_PORT] as number;
    if (this.devices.vports.has(odp)) return (this.tunnels.receivePort(odp, key)?.xport as Netdev | undefined) ?? null;
    return this.devices.byOdp.get(odp) ?? null;
  }
}

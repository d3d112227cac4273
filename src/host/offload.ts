// The offload manager (switchdev semantics, as Open vSwitch's netdev-offload with a tc/rte_flow
// provider): every new datapath flow is offered to the device of its ingress port. The device
// takes it only if every port the flow touches is a representor on the same eSwitch (same switch
// id), and the eSwitch supports each match field and action and has room; otherwise the flow
// stays in software and the reason is kept on the flow and shown by dpctl/dump-flows -m
// and offload/show. Deleting or changing a datapath flow updates the NIC.
//
// Ports in a datapath flow are datapath port numbers of representors; the eSwitch speaks vport
// numbers, so the key's in_port and every output are translated here.

import { W, type FlowKey } from "../flow/key.ts";
import type { OdpAction } from "../flow/odp.ts";
import type { DpFlow } from "./datapath.ts";
import type { Netdev } from "./netdev.ts";
import type { HostNic } from "./nic-port.ts";

export type PortLookup = (odpPort: number) => Netdev | null;

export class OffloadManager {
  /** other_config:hw-offload. */
  enabled = false;

  /**
   * Offers `f` to the NIC of its ingress port. Sets f.offload / f.offloadReason / f.nicName.
   * Returns true when the NIC took it.
   */
  offer(f: DpFlow, port: PortLookup): boolean {
    if (!this.enabled) { f.offload = "none"; f.offloadReason = null; return false; }
    const inDev = port((f.key[W.IN_PORT] as number));
    const res = this.check(f, inDev, port);
    if (typeof res === "string") return this.refuse(f, res);
    const { nic, key, actions } = res;
    const r = nic.esw.offer(f.id, key, f.mask, actions);
    if (!r.ok) return this.refuse(f, r.reason);
    f.offload = "offloaded";
    f.offloadReason = null;
    f.nicName = nic.name;
    return true;
  }

  /** Takes `f` off its NIC (flow deleted, or hw-offload switched off). */
  withdraw(f: DpFlow, nics: ReadonlyMap<string, HostNic>): void {
    if (f.offload === "offloaded" && f.nicName !== null) {
      const nic = nics.get(f.nicName);
      if (nic) {
        this.readStats(f, nics);
        nic.esw.remove(f.id);
      }
    }
    f.offload = "none";
    f.nicName = null;
  }

  /** Pulls the hardware counters of an offloaded flow into f.hw*. */
  readStats(f: DpFlow, nics: ReadonlyMap<string, HostNic>): void {
    if (f.offload !== "offloaded" || f.nicName === null) return;
    const s = nics.get(f.nicName)?.esw.flowStats(f.id);
    if (!s) return;
    f.hwPackets = s.packets;
    f.hwBytes = s.bytes;
    f.hwUsedMs = s.packets > 0 ? s.usedMs : -1;
  }

  private refuse(f: DpFlow, reason: string): false {
    f.offload = "refused";
    f.offloadReason = reason;
    f.nicName = null;
    return false;
  }

  /** Why `f` cannot go to a NIC, or the NIC with the flow in its own port numbers. */
  private check(f: DpFlow, inDev: Netdev | null, port: PortLookup):
    string | { nic: HostNic; key: FlowKey; actions: OdpAction[] } {
    if (inDev === null) return `in_port ${f.key[W.IN_PORT]} is not a port of this host`;
    if (inDev.nic === null) return `in_port ${inDev.name} is not a representor (type ${inDev.type})`;
    const nic = inDev.nic.nic;
    const toVport = (odp: number): number | string => {
      const d = port(odp);
      if (d === null) return `output to datapath port ${odp}: no such port`;
      if (d.nic === null) return `output to ${d.name}: not a representor (type ${d.type})`;
      if (d.nic.nic !== nic) {
        return `output to ${d.name}: on switch id ${d.nic.nic.switchId} (${d.nic.nic.name}), ingress on switch id ${nic.switchId} (${nic.name})`;
      }
      return d.nic.vport;
    };
    const actions: OdpAction[] = [];
    for (const a of f.actions) {
      if (a.type === "output") {
        const v = toVport(a.port);
        if (typeof v === "string") return v;
        actions.push({ type: "output", port: v });
      } else if (a.type === "tnl_push") {
        const v = toVport(a.outPort);
        if (typeof v === "string") return v;
        actions.push({ ...a, outPort: v });
      } else if (a.type === "raw" && a.text.startsWith("clone(")) {
        return "action clone not offloaded: ports inside it are not translated to vports";
      } else actions.push(a);
    }
    const key = Uint32Array.from(f.key);
    key[W.IN_PORT] = inDev.nic.vport;
    return { nic, key, actions };
  }
}

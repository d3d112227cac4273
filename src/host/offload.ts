// The offload manager (switchdev semantics, as Open vSwitch's netdev-offload with a tc/rte_flow
// provider): every new datapath flow is offered to the device of its ingress port. The device
// takes it only if every port the flow touches is a representor on the same eSwitch (same switch
// id), and the eSwitch supports each match field and action and has room; otherwise the flow
// stays in software and the reason is kept on the flow and shown by dpctl/dump-flows -m
// and offload/show. Deleting or changing a datapath flow updates the NIC.
//
// Ports in a datapath flow are datapath port numbers of representors; the eSwitch speaks vport
// numbers, so the key's in_port and every output are translated here.
//
// Tunnelled flows do not follow that rule, because the datapath flow does not say which device
// its outer packets use: the route does, and the route can change under the flow. As a switchdev
// driver (mlx5's encap entries, tc's indirect blocks on the tunnel device) the manager resolves:
// - An encapsulating flow (one tnl_push) goes to the eSwitch whose uplink the route to the
//   remote endpoint leaves through: the route's device is that uplink's representor, or a
//   bridge port (br-phy) whose bridge holds it. The output after tnl_push becomes the uplink
//   vport of that eSwitch whatever port the flow names, and the header's Ethernet addresses come
//   from the neighbour table (next hop: gateway or endpoint) and the route device's MAC, its
//   source IP from the route's SRC unless the tunnel fixed it (local_ip), as OVS's
//   ovs_router_lookup() fills the source only when none is given. The VF
//   it comes from must be on the same eSwitch: the hardware cannot hand a packet to another NIC.
// - A decapsulated flow (tunnel metadata in the key, in_port the tunnel's datapath port) goes to
//   the eSwitch the route to its tun_src says the outer packets arrive on, with in_port
//   TUNNEL_VPORT_BASE + that port, where the NIC's decap rule (the flow with tnl_pop, offered as
//   any flow to its uplink) chains to it.
// - A flow with several tnl_push (an ARP or broadcast flooded to several tunnels: one packet,
//   several encapsulations) stays in software.
// Tunnelled flows are kept by remote endpoint. A route change re-resolves every one of them: the
// flow is rewritten in place on its eSwitch, moved to its new eSwitch, or taken back to software
// with the reason ("no route to 1.1.2.92"). A neighbour change rewrites the headers of the flows
// whose next hop it is. Both run inside the tables' change callbacks, so no packet leaves the NIC
// with a stale header or through the old device once the change is processed. (The host's
// software copy of the flow is re-translated by the engine's revalidation, as OVS revalidates on
// its tunnel configuration sequence number.)
//
// A flow's hardware counters survive a move: the counts of the eSwitches it left are kept as a
// base under the current eSwitch's.

import { TUN_METADATA_WORDS, W, tunnelSrc, type FlowKey } from "../flow/key.ts";
import { formatIpMapped } from "../ofproto/route.ts";
import type { OdpAction, TnlPushHeader } from "../flow/odp.ts";
import { TUNNEL_VPORT_BASE } from "../nic/eswitch.ts";
import type { DpFlow } from "../dp/datapath.ts";
import type { Netdev } from "./netdev.ts";
import type { HostNic } from "./netdev.ts";

export type PortLookup = (odpPort: number) => Netdev | null;

/** What the manager needs of the route table (route.ts RouteTable). */
export interface TunnelRoutes {
  lookup(ip: string): { dev: string; gw: string | null; src: string } | null;
  onChange(cb: () => void): void;
}

/** What the manager needs of the neighbour table (neigh.ts NeighTable). */
export interface TunnelNeighbours {
  lookup(ip: string): { mac: string } | null;
  onChange(cb: (ip: string) => void): void;
}

export interface TunnelContext {
  routes: TunnelRoutes;
  neigh: TunnelNeighbours;
  /** A device by name (the route's device). */
  dev(name: string): Netdev | null;
  /** Datapath port → device. */
  port: PortLookup;
  /** The NICs by name (f.nicName). */
  nics: ReadonlyMap<string, HostNic>;
}

type Plan = string | { nic: HostNic; key: FlowKey; actions: OdpAction[] };

interface Tracked {
  /** The remote endpoint: the outer destination of an encapsulation, the tun_src of a decapsulated flow. */
  remote: string;
  /** The neighbour the header's destination MAC came from (encapsulations), or null. */
  nextHop: string | null;
  /**
   * Whether the outer source address is the route's (no local_ip on the tunnel, so OVS took the
   * route's SRC): then it follows the route. Decided at the first resolution; null before.
   */
  srcFromRoute: boolean | null;
}

export class OffloadManager {
  /** other_config:hw-offload. */
  enabled = false;

  private tnl: TunnelContext | null = null;
  /** Tunnelled flows (offloaded or not), by remote endpoint. */
  private readonly byRemote = new Map<string, Set<DpFlow>>();
  private readonly tracked = new Map<DpFlow, Tracked>();
  /** Hardware counts from eSwitches a flow has left. */
  private readonly hwBase = new WeakMap<DpFlow, { packets: number; bytes: number }>();

  /**
   * Connects the route and neighbour tables: from then on tunnelled flows are placed by route and
   * follow its changes. The engine calls this once, with its own tables.
   */
  attachTunnels(ctx: TunnelContext): void {
    if (this.tnl !== null) throw new Error("tunnels are already attached");
    this.tnl = ctx;
    ctx.routes.onChange(() => this.onRouteChange());
    ctx.neigh.onChange((ip) => this.onNeighbourChange(ip));
  }

  /**
   * Offers `f` to the NIC of its ingress port (or, tunnelled, of its route). Sets f.offload /
   * f.offloadReason / f.nicName. Returns true when the NIC took it.
   */
  offer(f: DpFlow, port: PortLookup): boolean {
    this.untrack(f);
    if (!this.enabled) {
      f.offload = "none";
      f.offloadReason = null;
      return false;
    }
    const t = this.tunnelOf(f);
    if (typeof t === "string") return this.refuse(f, t);
    if (t !== null) this.track(f, t);
    return this.place(f, this.plan(f, port, t));
  }

  /**
   * `f`'s actions changed (revalidation): modifies it in place on its NIC when it stays there (its
   * L1 entries and counters kept), otherwise takes it off and offers it anew.
   */
  update(f: DpFlow, port: PortLookup, nics: ReadonlyMap<string, HostNic>): boolean {
    const nic = f.nicName === null ? undefined : nics.get(f.nicName);
    if (!this.enabled || f.offload !== "offloaded" || nic === undefined) {
      this.withdraw(f, nics);
      return this.offer(f, port);
    }
    const t = this.tunnelOf(f);
    const p = typeof t === "string" ? t : this.plan(f, port, t);
    if (typeof p === "string" || p.nic !== nic) {
      this.withdraw(f, nics);
      return this.offer(f, port);
    }
    this.untrack(f);
    if (t !== null && typeof t !== "string") this.track(f, t);
    this.readStats(f, nics);
    const r = nic.esw.modify(f.id, p.actions);
    if (!r.ok) {
      this.keepBase(f, nics);
      return this.refuse(f, r.reason);
    }
    return true;
  }

  /** Takes `f` off its NIC (flow deleted, or hw-offload switched off). */
  withdraw(f: DpFlow, nics: ReadonlyMap<string, HostNic>): void {
    this.untrack(f);
    this.takeOff(f, nics);
    f.offload = "none";
    f.nicName = null;
  }

  /** Pulls the hardware counters of an offloaded flow into f.hw*. */
  readStats(f: DpFlow, nics: ReadonlyMap<string, HostNic>): void {
    if (f.offload !== "offloaded" || f.nicName === null) return;
    const s = nics.get(f.nicName)?.esw.flowStats(f.id);
    if (!s) return;
    const base = this.hwBase.get(f);
    f.hwPackets = s.packets + (base?.packets ?? 0);
    f.hwBytes = s.bytes + (base?.bytes ?? 0);
    if (s.packets > 0) f.hwUsedMs = s.usedMs;
    else if (!base) f.hwUsedMs = -1;
  }

  /** Whether attachTunnels() was called. */
  get tunnelsAttached(): boolean {
    return this.tnl !== null;
  }

  /** Tunnelled flows kept for re-resolution, by remote endpoint (for dumps and tests). */
  tunnelFlows(): Map<string, DpFlow[]> {
    return new Map([...this.byRemote].map(([ip, s]) => [ip, [...s]]));
  }

  /** Re-resolves every tunnelled flow: the route table changed. */
  onRouteChange(): void {
    for (const f of [...this.tracked.keys()]) this.replan(f);
  }

  /** Rewrites the headers of the encapsulations whose next hop is `ip`: its MAC changed. */
  onNeighbourChange(ip: string): void {
    for (const [f, t] of [...this.tracked]) if (t.nextHop === ip) this.replan(f);
  }

  // --- placing ------------------------------------------------------------------------------------

  private place(f: DpFlow, p: Plan): boolean {
    if (typeof p === "string") return this.refuse(f, p);
    const r = p.nic.esw.offer(f.id, p.key, f.mask, p.actions);
    if (!r.ok) return this.refuse(f, r.reason);
    f.offload = "offloaded";
    f.offloadReason = null;
    f.nicName = p.nic.name;
    return true;
  }

  /** A route or neighbour changed: put `f` where its route now says, with the header it now needs. */
  private replan(f: DpFlow): void {
    const ctx = this.tnl;
    if (ctx === null || !this.enabled) return;
    const t = this.tracked.get(f);
    if (t === undefined) return;
    const p = this.plan(f, ctx.port, t);
    this.readStats(f, ctx.nics);
    if (typeof p !== "string" && f.offload === "offloaded" && f.nicName === p.nic.name) {
      // Same eSwitch: new actions in place (header rewrite), or off it if it cannot take them.
      const r = p.nic.esw.modify(f.id, p.actions);
      if (!r.ok) {
        this.keepBase(f, ctx.nics);
        this.refuse(f, r.reason);
      }
      return;
    }
    this.takeOff(f, ctx.nics);
    this.place(f, p);
  }

  /** Removes `f` from its eSwitch, keeping its counts. */
  private takeOff(f: DpFlow, nics: ReadonlyMap<string, HostNic>): void {
    if (f.offload !== "offloaded" || f.nicName === null) return;
    const nic = nics.get(f.nicName);
    if (nic) {
      this.readStats(f, nics);
      nic.esw.remove(f.id);
    }
    this.keepBase(f, nics);
    f.offload = "none";
    f.nicName = null;
  }

  private keepBase(f: DpFlow, nics: ReadonlyMap<string, HostNic>): void {
    this.readStats(f, nics);
    if (f.hwPackets > 0 || f.hwBytes > 0) this.hwBase.set(f, { packets: f.hwPackets, bytes: f.hwBytes });
  }

  private refuse(f: DpFlow, reason: string): false {
    f.offload = "refused";
    f.offloadReason = reason;
    f.nicName = null;
    return false;
  }

  private track(f: DpFlow, t: Tracked): void {
    this.tracked.set(f, t);
    let s = this.byRemote.get(t.remote);
    if (!s) {
      s = new Set();
      this.byRemote.set(t.remote, s);
    }
    s.add(f);
  }

  private untrack(f: DpFlow): void {
    const t = this.tracked.get(f);
    if (t === undefined) return;
    this.tracked.delete(f);
    const s = this.byRemote.get(t.remote);
    if (s) {
      s.delete(f);
      if (s.size === 0) this.byRemote.delete(t.remote);
    }
  }

  // --- resolving ----------------------------------------------------------------------------------

  /** Whether `f` is tunnelled and its remote endpoint; a string when it can never be offloaded. */
  private tunnelOf(f: DpFlow): Tracked | string | null {
    let pushes = 0;
    let header: TnlPushHeader | null = null;
    for (const a of f.actions) {
      if (a.type === "tnl_push") {
        pushes++;
        header = a.header;
      } else if (a.type === "clone") pushes += countTnlPush(a.actions);
    }
    if (pushes > 1) return "flood to several tunnels";
    if (pushes === 1 && header === null)
      return "action clone not offloaded: ports inside it are not translated to vports";
    if (header !== null) {
      const remote = header.ipv4?.dst ?? header.ipv6?.dst;
      return remote === undefined ? "tnl_push without an IP header" : { remote, nextHop: null, srcFromRoute: null };
    }
    const src = tunSrc(f.key, f.mask);
    return src === null ? null : { remote: src, nextHop: null, srcFromRoute: null };
  }

  /** Where `f` goes and as what, or why it cannot. */
  private plan(f: DpFlow, port: PortLookup, t: Tracked | null): Plan {
    if (t === null) return this.check(f, port(f.key[W.IN_PORT] as number), port);
    const ctx = this.tnl;
    if (ctx === null) return "tunnelled flow: no route table attached";
    const route = ctx.routes.lookup(t.remote);
    if (route === null) return `no route to ${t.remote}`;
    const rdev = ctx.dev(route.dev);
    const inPort = f.key[W.IN_PORT] as number;
    const push = f.actions.find((a) => a.type === "tnl_push");
    // Decided against the route the translation saw: the first one the flow is resolved with.
    if (push !== undefined && t.srcFromRoute === null)
      t.srcFromRoute = (push.header.ipv4?.src ?? push.header.ipv6?.src) === route.src;
    const nic = uplinkOf(rdev, push ? outputAfterPush(f.actions, port) : null);
    if (typeof nic === "string") return `route to ${t.remote}: ${route.dev} ${nic}`;
    if (push === undefined) {
      // Decapsulated: the inner flow enters on the tunnel vport of the eSwitch the outer packets use.
      const key = Uint32Array.from(f.key);
      key[W.IN_PORT] = TUNNEL_VPORT_BASE + inPort;
      const actions = nicActions(nic, f.actions, port);
      if (typeof actions === "string") return actions;
      return { nic, key, actions };
    }
    const inDev = port(inPort);
    if (inDev === null) return `in_port ${inPort} is not a port of this host`;
    if (inDev.nic === null) return `in_port ${inDev.name} is not a representor (type ${inDev.type})`;
    if (inDev.nic.nic !== nic) {
      return `tunnel to ${t.remote} leaves through ${nic.name} (switch id ${nic.switchId}), ingress ${inDev.name} is on ${inDev.nic.nic.name} (switch id ${inDev.nic.nic.switchId})`;
    }
    const hop = route.gw ?? t.remote;
    t.nextHop = hop;
    const n = ctx.neigh.lookup(hop);
    if (n === null) return `no neighbour for ${hop}`;
    const srcMac = rdev?.mac ?? push.header.eth.src;
    const ipSrc = t.srcFromRoute ? route.src : null;
    const actions: OdpAction[] = [];
    let afterPush = false;
    for (const a of f.actions) {
      if (a.type === "tnl_push") {
        const header: TnlPushHeader = { ...a.header, eth: { ...a.header.eth, dst: n.mac, src: srcMac } };
        if (ipSrc !== null && header.ipv4) header.ipv4 = { ...header.ipv4, src: ipSrc };
        if (ipSrc !== null && header.ipv6) header.ipv6 = { ...header.ipv6, src: ipSrc };
        actions.push({ ...a, header, outPort: 0 });
        afterPush = true;
      } else if (a.type === "output") {
        // The output after tnl_push is the route's uplink, whatever port the translation named.
        if (afterPush) {
          actions.push({ type: "output", port: 0 });
          afterPush = false;
          continue;
        }
        const v = vportOn(nic, a.port, port);
        if (typeof v === "string") return v;
        actions.push({ type: "output", port: v });
      } else actions.push(a);
    }
    if (afterPush) actions.push({ type: "output", port: 0 });
    const key = Uint32Array.from(f.key);
    key[W.IN_PORT] = inDev.nic.vport;
    return { nic, key, actions };
  }

  /** Why `f` cannot go to a NIC, or the NIC with the flow in its own port numbers. */
  private check(f: DpFlow, inDev: Netdev | null, port: PortLookup): Plan {
    if (inDev === null) return `in_port ${f.key[W.IN_PORT]} is not a port of this host`;
    if (inDev.nic === null) return `in_port ${inDev.name} is not a representor (type ${inDev.type})`;
    const nic = inDev.nic.nic;
    const actions = nicActions(nic, f.actions, port);
    if (typeof actions === "string") return actions;
    const key = Uint32Array.from(f.key);
    key[W.IN_PORT] = inDev.nic.vport;
    return { nic, key, actions };
  }
}

/** A flow's actions in the NIC's own port numbers (vports), or why they cannot be. */
function nicActions(nic: HostNic, acts: readonly OdpAction[], port: PortLookup): OdpAction[] | string {
  const actions: OdpAction[] = [];
  for (const a of acts) {
    if (a.type === "output") {
      const v = vportOn(nic, a.port, port);
      if (typeof v === "string") return v;
      actions.push({ type: "output", port: v });
    } else if (a.type === "clone") {
      return "action clone not offloaded: ports inside it are not translated to vports";
    } else actions.push(a);
  }
  return actions;
}

/** tnl_push actions in a clone's body, nested clones included. */
function countTnlPush(actions: readonly OdpAction[]): number {
  let n = 0;
  for (const a of actions) n += a.type === "tnl_push" ? 1 : a.type === "clone" ? countTnlPush(a.actions) : 0;
  return n;
}

/** An output's vport on `nic`, or why it has none. */
function vportOn(nic: HostNic, odp: number, port: PortLookup): number | string {
  const d = port(odp);
  if (d === null) return `output to datapath port ${odp}: no such port`;
  if (d.nic === null) return `output to ${d.name}: not a representor (type ${d.type})`;
  if (d.nic.nic !== nic) {
    return `output to ${d.name}: on switch id ${d.nic.nic.switchId} (${d.nic.nic.name}), ingress on switch id ${nic.switchId} (${nic.name})`;
  }
  return d.nic.vport;
}

/** The device of the first output after the tnl_push (the translation's underlay port). */
function outputAfterPush(actions: readonly OdpAction[], port: PortLookup): Netdev | null {
  const i = actions.findIndex((a) => a.type === "tnl_push");
  const o = actions.slice(i + 1).find((a) => a.type === "output");
  return o?.type === "output" ? port(o.port) : null;
}

/**
 * The eSwitch a route's device sends through: the device's own if it is a representor, else the
 * uplink representor in its bridge (the one `hint` names if several), or why there is none.
 */
function uplinkOf(dev: Netdev | null, hint: Netdev | null): HostNic | string {
  if (dev === null) return "is not a device of this host";
  if (dev.nic !== null) return dev.nic.nic;
  const ups: HostNic[] = [];
  for (const p of dev.bridge?.ports.values() ?? []) if (p.nic !== null && p.nic.vport === 0) ups.push(p.nic.nic);
  if (ups.length === 0) return "has no uplink representor in its bridge";
  if (hint !== null && hint.nic !== null && ups.includes(hint.nic.nic)) return hint.nic.nic;
  return ups[0] as HostNic;
}

/** A decapsulated flow's tun_src (IPv4 or IPv6 text), or null when the key has no tunnel. */
function tunSrc(key: FlowKey, mask: FlowKey): string | null {
  let any = false;
  for (let w = W.TUN_ID_HI; w < W.TUN_METADATA + TUN_METADATA_WORDS; w++) if ((mask[w] as number) !== 0) any = true;
  if (!any) return null;
  const src = tunnelSrc(key);
  return src === 0n ? null : formatIpMapped(src);
}

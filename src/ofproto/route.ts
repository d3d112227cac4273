// The host's routing table for native tunnelling: OVS's lib/ovs-router.c (3.1). A tunnelled flow
// asks it which bridge the outer packet leaves through, the next hop (gateway or the remote
// endpoint itself) and the source address; the offload (switchdev design) asks it again after every
// change to move encapsulating flows to their new device.
//
// Addresses are kept as OVS keeps them: 128-bit, IPv4 mapped into ::ffff:0:0/96, so IPv4 and IPv6
// share one table and an IPv4 /24 is a /120. A route's priority is its prefix length, plus 32 for
// a route added by ovs/route/add ("User:") so that it beats a system ("Cached:") route of the same
// or a slightly longer length, exactly as ovs_router_insert__'s callers do. That rule is why this
// is not src/tables/lpm.ts (longest length always wins there): a host has a handful of routes and a
// lookup happens at flow setup, not per packet, so an ordered scan is both faithful and cheap.

import { ipv4FromString, ipv4NumToString } from "../wire/bytes.ts";
import { ipv4Mapped } from "../flow/key.ts";
import { ipv6BigFromString, ipv6BigToString } from "../flow/fields.ts";

const ALL128 = (1n << 128n) - 1n;

/** An IP address in OVS's mapped form (IPv4 as ::ffff:a.b.c.d), or null if the text is neither. */
export function parseIpMapped(text: string): bigint | null {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(text)) {
    try {
      return ipv4Mapped(ipv4FromString(text));
    } catch {
      return null;
    }
  }
  return text.includes(":") ? ipv6BigFromString(text) : null;
}

export function isMappedIpv4(v: bigint): boolean {
  return v >> 32n === 0xffffn;
}

/** ipv6_format_mapped: dotted quad for a mapped IPv4 address, RFC 5952 text otherwise. */
export function formatIpMapped(v: bigint): string {
  return isMappedIpv4(v) ? ipv4NumToString(Number(v & 0xffffffffn)) : ipv6BigToString(v);
}

function mask128(plen: number): bigint {
  return plen === 0 ? 0n : (ALL128 << BigInt(128 - plen)) & ALL128;
}

/** "a.b.c.d[/n]" or "x::y[/n]" (scan_ipv4_route / scan_ipv6_route) as a mapped address and a
 *  128-bit prefix length; null if neither. */
export function parseRoutePrefix(text: string): { addr: bigint; plen: number } | null {
  const m = /^([^/]+)(?:\/(\d+))?$/.exec(text);
  if (!m) return null;
  const addr = parseIpMapped(m[1] as string);
  if (addr === null) return null;
  const v4 = isMappedIpv4(addr) && !(m[1] as string).includes(":");
  const max = v4 ? 32 : 128;
  const plen = m[2] === undefined ? max : Number(m[2]);
  if (plen > max) return null;
  return { addr, plen: v4 ? plen + 96 : plen };
}

export class RouteError extends Error {
  override readonly name = "RouteError";
}

export interface RouteLookup {
  dev: string;
  /** The gateway, or null when the destination is on the link. */
  gw: string | null;
  src: string;
  /** The route that matched, as ovs/route/show prints it ("1.1.2.0/24"). */
  prefix: string;
}

export interface Route {
  addr: bigint; // masked
  plen: number; // 0..128 in mapped space
  mark: number;
  priority: number;
  user: boolean;
  local: boolean;
  dev: string;
  gw: bigint; // 0n: none
  src: bigint;
  serial: number;
}

/** Addresses of a device as "ip/plen" strings (netdev_get_addr_list). */
export type AddressSource = (dev: string) => readonly string[];

export class RouteTable {
  /** Incremented on every change; a translation remembers it to know when to look again. */
  version = 0;
  private routes: Route[] = [];
  private serial = 0;
  private readonly listeners: (() => void)[] = [];

  /** `addrsOf` gives a device's own addresses; a route's SRC is chosen among them. */
  constructor(private readonly addrsOf: AddressSource = () => []) {}

  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  /** ovs/route/add: a "User:" route. `prefix` is "a.b.c.d/n", "a.b.c.d" (a /32) or IPv6 alike;
   *  `src` if given is used as is, otherwise chosen as get_src_addr does. Replaces an identical
   *  route. Throws RouteError with ovs-appctl's message. */
  add(prefix: string, dev: string, gw?: string, src?: string, mark = 0): void {
    const p = parseRoutePrefix(prefix);
    if (p === null) throw new RouteError("Invalid parameters");
    this.insert(p.addr, p.plen, dev, gw, src, mark, true, false);
  }

  /** A system route (OVS's "Cached:", from the kernel's table; `local` for a route to one of the
   *  host's own addresses). ovs/route/del cannot remove it. */
  addCached(prefix: string, dev: string, gw?: string, src?: string, local = false): void {
    const p = parseRoutePrefix(prefix);
    if (p === null) throw new RouteError("Invalid parameters");
    this.insert(p.addr, p.plen, dev, gw, src, 0, false, local);
  }

  /** ovs/route/del: removes a "User:" route; false if there is none for that prefix and mark. */
  del(prefix: string, mark = 0): boolean {
    const p = parseRoutePrefix(prefix);
    if (p === null) throw new RouteError("Invalid parameters");
    const addr = p.addr & mask128(p.plen);
    const i = this.routes.findIndex((r) => r.user && r.addr === addr && r.plen === p.plen && r.mark === mark);
    if (i < 0) return false;
    this.routes.splice(i, 1);
    this.changed();
    return true;
  }

  /** Removes every route through `dev` (its bridge went away), as route_table_flush/ovs_router_flush. */
  delDev(dev: string): void {
    const before = this.routes.length;
    this.routes = this.routes.filter((r) => r.dev !== dev);
    if (this.routes.length !== before) this.changed();
  }

  clear(): void {
    if (this.routes.length === 0) return;
    this.routes = [];
    this.changed();
  }

  /** ovs_router_lookup: the highest-priority route containing `ip` with this pkt_mark, or null. */
  lookup(ip: string, mark = 0): RouteLookup | null {
    const a = parseIpMapped(ip);
    if (a === null) return null;
    const r = this.lookupMapped(a, mark);
    if (r === null) return null;
    return {
      dev: r.dev,
      gw: r.gw === 0n ? null : formatIpMapped(r.gw),
      src: formatIpMapped(r.src),
      prefix: prefixText(r),
    };
  }

  /** lookup() for an address already in mapped form: the route, or null. */
  lookupMapped(a: bigint, mark = 0): Readonly<Route> | null {
    for (const r of this.routes) {
      if (r.mark === mark && (a & mask128(r.plen)) === r.addr) return r;
    }
    return null;
  }

  /** ovs/route/show's text (without the trailing newline of the last line). */
  show(): string {
    const lines = ["Route Table:"];
    for (const r of this.routes) {
      let s = `${r.priority === r.plen || r.local ? "Cached" : "User"}: ${prefixText(r)}`;
      if (r.mark !== 0) s += ` MARK ${r.mark}`;
      s += ` dev ${r.dev}`;
      if (r.gw !== 0n) s += ` GW ${formatIpMapped(r.gw)}`;
      s += ` SRC ${formatIpMapped(r.src)}`;
      if (r.local) s += " local";
      lines.push(s);
    }
    return lines.join("\n");
  }

  private insert(
    addr: bigint,
    plen: number,
    dev: string,
    gwText: string | undefined,
    srcText: string | undefined,
    mark: number,
    user: boolean,
    local: boolean,
  ): void {
    let gw = 0n;
    if (gwText !== undefined) {
      const g = parseIpMapped(gwText);
      if (g === null || isMappedIpv4(g) !== isMappedIpv4(addr)) throw new RouteError("Invalid pkt_mark or gateway");
      gw = g;
    }
    let src: bigint | null = null;
    if (srcText !== undefined) {
      src = parseIpMapped(srcText);
      if (src === null) throw new RouteError("Error while inserting route.");
    } else {
      // get_src_addr: the device's address whose subnet holds the destination, else the gateway.
      src = this.srcFor(addr, dev);
      if (src === null && gw !== 0n) src = this.srcFor(gw, dev);
      if (src === null) throw new RouteError("Error while inserting route.");
    }
    const masked = addr & mask128(plen);
    const priority = user ? plen + 32 : plen;
    const old = this.routes.findIndex(
      (r) => r.addr === masked && r.plen === plen && r.mark === mark && r.priority === priority,
    );
    const route: Route = { addr: masked, plen, mark, priority, user, local, dev, gw, src, serial: ++this.serial };
    if (old >= 0) this.routes.splice(old, 1);
    // Highest priority first; among equals, the older route first (the classifier keeps the one
    // that was there, and a lookup can only match one of two equal-priority prefixes anyway).
    let i = 0;
    while (i < this.routes.length && (this.routes[i] as Route).priority >= priority) i++;
    this.routes.splice(i, 0, route);
    this.changed();
  }

  private srcFor(dst: bigint, dev: string): bigint | null {
    const v4 = isMappedIpv4(dst);
    let best: bigint | null = null;
    let bestLen = -1;
    for (const text of this.addrsOf(dev)) {
      const p = parseRoutePrefix(text);
      if (p === null || isMappedIpv4(p.addr) !== v4) continue;
      const m = mask128(p.plen);
      if ((dst & m) === (p.addr & m) && p.plen > bestLen) {
        best = p.addr;
        bestLen = p.plen;
      }
    }
    return best;
  }

  private changed(): void {
    this.version++;
    for (const cb of this.listeners) cb();
  }
}

function prefixText(r: { addr: bigint; plen: number }): string {
  return `${formatIpMapped(r.addr)}/${isMappedIpv4(r.addr) && r.plen >= 96 ? r.plen - 96 : r.plen}`;
}

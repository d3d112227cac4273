// The neighbour cache for native tunnelling: OVS's lib/tnl-neigh-cache.c (3.1). Encapsulation
// needs the next hop's MAC; it comes from tnl/neigh/set or is learned from ARP replies (and
// gratuitous ARPs) and IPv6 neighbour advertisements seen while translating packets on a bridge.
// Every entry, set by hand or learned, expires after the ageing time (tnl/neigh/aging, 900 s by
// default, 1..3600 s) of the virtual clock; a learned reply refreshes it. When the MAC of a next
// hop changes, listeners hear the address, so the offload can rewrite the outer headers it holds.

import { parseIpMapped, formatIpMapped } from "./route.ts";
import { macBigFromString, macBigToString } from "../flow/fields.ts";
import { ipv4Mapped } from "../flow/key.ts";

export const NEIGH_DEFAULT_AGING_S = 900; // NEIGH_ENTRY_DEFAULT_IDLE_TIME_MS / 1000
export const NEIGH_MAX_AGING_S = 3600; // NEIGH_ENTRY_MAX_AGING_TIME_S
const INET6_ADDRSTRLEN = 46;

export class NeighError extends Error {
  override readonly name = "NeighError";
}

interface Entry {
  ip: bigint;
  ipText: string;
  mac: string;
  dev: string;
  expiresMs: number;
}

export class NeighTable {
  /** Incremented on every change of an entry's presence or MAC (not on a mere refresh). */
  version = 0;
  agingS = NEIGH_DEFAULT_AGING_S;
  private readonly entries: Entry[] = [];
  private readonly listeners: ((ip: string) => void)[] = [];

  /** `now` is the virtual clock in ms (HostEngine.nowMs). */
  constructor(private readonly now: () => number = () => 0) {}

  onChange(cb: (ip: string) => void): void {
    this.listeners.push(cb);
  }

  /** tnl/neigh/set, and what learning does: bind `ip` on bridge `dev` to `mac`; refreshes the
   *  ageing of an identical entry. Throws NeighError("bad IP address" | "bad MAC address"). */
  set(dev: string, ip: string, mac: string): void {
    const a = parseIpMapped(ip);
    if (a === null) throw new NeighError("bad IP address");
    const m = macBigFromString(mac);
    if (m === null) throw new NeighError("bad MAC address");
    this.setMapped(dev, a, macBigToString(m));
  }

  /** set() with the address already in mapped form and the MAC in canonical text. */
  setMapped(dev: string, ip: bigint, mac: string): void {
    const expiresMs = this.now() + this.agingS * 1000;
    const i = this.entries.findIndex((e) => e.ip === ip && e.dev === dev);
    if (i >= 0) {
      const e = this.entries[i] as Entry;
      if (e.mac === mac) {
        e.expiresMs = expiresMs;
        return;
      }
      // tnl_neigh_set__: a different MAC replaces the entry (delete, then insert).
      this.entries.splice(i, 1);
    }
    const ipText = formatIpMapped(ip);
    this.entries.push({ ip, ipText, mac, dev, expiresMs });
    this.changed(ipText);
  }

  /** The live entry for `ip` (on bridge `dev` if given, as tnl_neigh_lookup), or null. */
  lookup(ip: string, dev?: string): { mac: string; dev: string } | null {
    const a = parseIpMapped(ip);
    const e = a === null ? null : this.lookupMapped(a, dev);
    return e === null ? null : { mac: e.mac, dev: e.dev };
  }

  /** lookup() of a mapped address; the result is the live entry: read it, don't keep it. */
  lookupMapped(ip: bigint, dev?: string): { readonly mac: string; readonly dev: string } | null {
    const now = this.now();
    for (const e of this.entries) {
      if (e.ip === ip && (dev === undefined || e.dev === dev) && e.expiresMs > now) return e;
    }
    return null;
  }

  /** Learns from an ARP packet seen on bridge `dev` (tnl_arp_snoop): replies and gratuitous ARPs
   *  (sender IP = target IP) with a non-zero sender MAC. Returns true if it was one. */
  snoopArp(dev: string, op: number, sha: string, spa: number, tpa: number): boolean {
    if (op !== 2 && !(op === 1 && spa === tpa)) return false;
    if (sha === "00:00:00:00:00:00") return false;
    this.setMapped(dev, ipv4Mapped(spa), sha);
    return true;
  }

  /** Learns from an IPv6 neighbour advertisement (tnl_nd_snoop): target -> target link-layer
   *  address option, when the option is present (non-zero). */
  snoopNa(dev: string, target: bigint, tll: string): boolean {
    if (tll === "00:00:00:00:00:00") return false;
    this.setMapped(dev, target, tll);
    return true;
  }

  /** tnl/neigh/flush. */
  flush(): void {
    const gone = this.entries.splice(0, this.entries.length);
    for (const e of gone) this.changed(e.ipText);
  }

  /** tnl/neigh/aging SECS; throws NeighError("bad aging value") outside 1..3600. Entries that
   *  would now live longer are shortened, as tnl_neigh_cache_aging does. */
  setAging(secs: number): void {
    if (!Number.isInteger(secs) || secs <= 0 || secs > NEIGH_MAX_AGING_S) throw new NeighError("bad aging value");
    this.agingS = secs;
    const limit = this.now() + secs * 1000;
    for (const e of this.entries) if (e.expiresMs > limit) e.expiresMs = limit;
  }

  /** tnl_neigh_cache_run: drops expired entries (called as the clock advances). */
  expire(): void {
    const now = this.now();
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i] as Entry;
      if (e.expiresMs <= now) {
        this.entries.splice(i, 1);
        this.changed(e.ipText);
      }
    }
  }

  get size(): number {
    return this.entries.length;
  }

  /** tnl/neigh/show's text, without a trailing newline. OVS lists its cmap in hash order; this
   *  lists entries in the order they were added. */
  show(): string {
    const lines = [
      "IP                                            MAC                 Bridge",
      "==========================================================================",
    ];
    const now = this.now();
    for (const e of this.entries) {
      if (e.expiresMs <= now) continue;
      lines.push(`${e.ipText.padEnd(INET6_ADDRSTRLEN)}${e.mac}   ${e.dev}`);
    }
    return lines.join("\n");
  }

  private changed(ip: string): void {
    this.version++;
    for (const cb of this.listeners) cb(ip);
  }
}

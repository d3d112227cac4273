// The MAC learning table behind the NORMAL action: (MAC, VLAN) → port, with ageing, as Open
// vSwitch's lib/mac-learning.c (default idle time 300 s, default size 8192 entries).
//
// The translation (xlate.ts) learns and looks up with the MAC as the two words the flow key holds
// (key.ts: HI = first 2 bytes, LO = last 4), so an upcall builds no strings: entries live in one
// map per VLAN keyed by the 48-bit MAC as a number (exact below 2^53). The string forms are for
// commands and tests (fdb/show, scenario files).
//
// Ageing follows mac-learning.c: an entry expires `idle` after it was last learned (a lookup does
// not refresh it; only traffic from that MAC does). When the table is full, learning a new
// address evicts the least recently learned one (OVS's LRU list).

import { macWordsFromString, macWordsToString } from "../flow/key.ts";

export const MAC_DEFAULT_IDLE_SEC = 300;
export const MAC_DEFAULT_MAX = 8192;

export interface MacEntry {
  mac: string; // "aa:bb:cc:dd:ee:ff"
  vlan: number;
  ofport: number;
  usedMs: number;
}

interface Slot {
  mac48: number;
  vlan: number;
  ofport: number;
  usedMs: number;
}

const TWO32 = 0x100000000;

export class MacLearning {
  private readonly byVlan = new Map<number, Map<number, Slot>>();
  private n = 0;
  /** Bumped whenever an entry is added, moves, or goes: translations made before may be stale. */
  serial = 0;
  idleMs: number;
  max: number;

  constructor(idleSec = MAC_DEFAULT_IDLE_SEC, max = MAC_DEFAULT_MAX) {
    this.idleMs = idleSec * 1000;
    this.max = max;
  }

  get size(): number {
    return this.n;
  }

  /** Records that `mac` on `vlan` was seen on `ofport`; true when that changed the table. */
  learn(mac: string, vlan: number, ofport: number, nowMs: number): boolean {
    const [hi, lo] = macWordsFromString(mac);
    return this.learnWords(hi, lo, vlan, ofport, nowMs);
  }

  /** learn() with the MAC as flow-key words (hi: first 2 bytes, lo: last 4). Allocates only for a new entry. */
  learnWords(hi: number, lo: number, vlan: number, ofport: number, nowMs: number): boolean {
    const mac48 = hi * TWO32 + (lo >>> 0);
    let t = this.byVlan.get(vlan);
    const e = t?.get(mac48);
    if (e !== undefined) {
      const changed = e.ofport !== ofport || nowMs - e.usedMs >= this.idleMs;
      e.ofport = ofport;
      e.usedMs = nowMs;
      if (changed) this.serial++;
      return changed;
    }
    if (this.n >= this.max) this.evictOldest();
    if (t === undefined) {
      t = new Map();
      this.byVlan.set(vlan, t);
    }
    t.set(mac48, { mac48, vlan, ofport, usedMs: nowMs });
    this.n++;
    this.serial++;
    return true;
  }

  /** The port `mac` on `vlan` was learned on, or -1 (also -1 once the entry has aged out). */
  lookup(mac: string, vlan: number, nowMs: number): number {
    const [hi, lo] = macWordsFromString(mac);
    return this.lookupWords(hi, lo, vlan, nowMs);
  }

  lookupWords(hi: number, lo: number, vlan: number, nowMs: number): number {
    const e = this.byVlan.get(vlan)?.get(hi * TWO32 + (lo >>> 0));
    if (e === undefined || nowMs - e.usedMs >= this.idleMs) return -1;
    return e.ofport;
  }

  /** Forget every entry pointing at `ofport` (the port was deleted), as mac_learning_flush of a bundle. */
  forgetPort(ofport: number): number {
    let k = 0;
    for (const t of this.byVlan.values()) {
      for (const [m, e] of t)
        if (e.ofport === ofport) {
          t.delete(m);
          k++;
        }
    }
    this.n -= k;
    if (k) this.serial++;
    return k;
  }

  /** Drops entries idle for the ageing time; returns how many went. */
  expire(nowMs: number): number {
    let k = 0;
    for (const t of this.byVlan.values()) {
      for (const [m, e] of t)
        if (nowMs - e.usedMs >= this.idleMs) {
          t.delete(m);
          k++;
        }
    }
    this.n -= k;
    if (k) this.serial++;
    return k;
  }

  flush(): void {
    this.byVlan.clear();
    this.n = 0;
    this.serial++;
  }

  /** Entries, for fdb/show (allocates). */
  list(): MacEntry[] {
    const out: MacEntry[] = [];
    for (const t of this.byVlan.values()) {
      for (const e of t.values())
        out.push({
          mac: macWordsToString([Math.floor(e.mac48 / TWO32), e.mac48 % TWO32], 0),
          vlan: e.vlan,
          ofport: e.ofport,
          usedMs: e.usedMs,
        });
    }
    return out;
  }

  private evictOldest(): void {
    let old: Slot | null = null;
    for (const t of this.byVlan.values())
      for (const e of t.values()) if (old === null || e.usedMs < old.usedMs) old = e;
    if (old !== null) {
      this.byVlan.get(old.vlan)?.delete(old.mac48);
      this.n--;
      this.serial++;
    }
  }
}

// The MAC learning table behind the NORMAL action: (MAC, VLAN) → port, with ageing, as Open
// vSwitch's lib/mac-learning.c (default idle time 300 s, default size 8192 entries).

export const MAC_DEFAULT_IDLE_SEC = 300;
export const MAC_DEFAULT_MAX = 8192;

export interface MacEntry {
  mac: string; // "aa:bb:cc:dd:ee:ff"
  vlan: number;
  ofport: number;
  usedMs: number;
}

export class MacLearning {
  private readonly entries = new Map<string, MacEntry>();
  idleMs: number;
  max: number;

  constructor(idleSec = MAC_DEFAULT_IDLE_SEC, max = MAC_DEFAULT_MAX) {
    this.idleMs = idleSec * 1000;
    this.max = max;
  }

  /** Records that `mac` on `vlan` was seen on `ofport`; true when that changed the table. */
  learn(mac: string, vlan: number, ofport: number, nowMs: number): boolean {
    const k = `${vlan}/${mac}`;
    const e = this.entries.get(k);
    if (e !== undefined) {
      const moved = e.ofport !== ofport;
      e.ofport = ofport;
      e.usedMs = nowMs;
      return moved;
    }
    if (this.entries.size >= this.max) this.evictOldest();
    this.entries.set(k, { mac, vlan, ofport, usedMs: nowMs });
    return true;
  }

  /** The port `mac` on `vlan` was learned on, or -1. */
  lookup(mac: string, vlan: number, nowMs: number): number {
    const e = this.entries.get(`${vlan}/${mac}`);
    if (e === undefined || nowMs - e.usedMs >= this.idleMs) return -1;
    return e.ofport;
  }

  /** Drops entries idle for the ageing time; returns how many went. */
  expire(nowMs: number): number {
    let n = 0;
    for (const [k, e] of this.entries) if (nowMs - e.usedMs >= this.idleMs) { this.entries.delete(k); n++; }
    return n;
  }

  flush(): void { this.entries.clear(); }

  /** Entries in table order, for fdb/show. */
  list(): MacEntry[] { return [...this.entries.values()]; }

  private evictOldest(): void {
    let oldK: string | null = null;
    let old = Infinity;
    for (const [k, e] of this.entries) if (e.usedMs < old) { old = e.usedMs; oldK = k; }
    if (oldK !== null) this.entries.delete(oldK);
  }
}

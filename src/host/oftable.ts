// The OpenFlow tables of one bridge: 255 priority classifiers holding rules with their actions,
// timeouts and counters. Flow-mod semantics (add replacing an identical match, modify and delete
// strict or not) follow ovs-ofctl(8) and OpenFlow 1.0 §4.6.

import { Classifier } from "../tables/classifier.ts";
import type { FlowKey, FlowMask } from "../flow/key.ts";
import type { OfFlow } from "../flow/ofctl.ts";

export const N_TABLES = 255;

export interface OfRuleStats {
  packets: number;
  bytes: number;
  createdMs: number; // virtual clock
  usedMs: number; // last packet (or createdMs)
  modifiedMs: number; // last add/modify (hard_age)
}

export class OfRule {
  readonly stats: OfRuleStats;
  constructor(readonly id: number, public flow: OfFlow, nowMs: number) {
    this.stats = { packets: 0, bytes: 0, createdMs: nowMs, usedMs: nowMs, modifiedMs: nowMs };
  }
}

export class OfTable {
  readonly cls = new Classifier();
  readonly rules = new Map<number, OfRule>();
}

export class OfTables {
  readonly tables: OfTable[] = Array.from({ length: N_TABLES }, () => new OfTable());
  /** Bumped on every change to any table: datapath flows translated before it need revalidating. */
  version = 0;
  private nextId = 1;

  /** The highest-priority rule of `table` matching `key`; every bit consulted is ORed into `wc`. */
  lookup(table: number, key: FlowKey, wc: FlowMask | null): OfRule | null {
    const t = this.tables[table];
    if (t === undefined) return null;
    const id = t.cls.lookup(key, wc);
    return id < 0 ? null : (t.rules.get(id) ?? null);
  }

  /** OFPFC_ADD: a rule with the same match and priority is replaced (its counters reset). */
  add(flow: OfFlow, nowMs: number): OfRule {
    const t = this.tables[flow.table];
    if (t === undefined) throw new RangeError(`table ${flow.table} out of range`);
    const rule = new OfRule(this.nextId++, flow, nowMs);
    const old = t.cls.insert(flow.match.key, flow.match.mask, flow.priority, rule.id);
    if (old >= 0) t.rules.delete(old);
    t.rules.set(rule.id, rule);
    this.version++;
    return rule;
  }

  /** Removes one rule by id. */
  remove(table: number, id: number): boolean {
    const t = this.tables[table];
    if (t === undefined || !t.rules.delete(id)) return false;
    t.cls.remove(id);
    this.version++;
    return true;
  }

  get count(): number {
    let n = 0;
    for (const t of this.tables) n += t.rules.size;
    return n;
  }
}

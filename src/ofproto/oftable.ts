// The OpenFlow tables of one bridge: 255 priority classifiers holding rules with their actions,
// timeouts and counters, changed by flow-mods with the semantics Open vSwitch gives them
// (ofproto/ofproto.c), which differ from the OpenFlow specifications in a few places that users
// see. Translation (xlate.ts) only calls lookup() and credit(); the ofctl commands
// (src/ofproto/ofctl-commands.ts) call the rest.
//
// What a flow-mod does, as Open vSwitch 3.1 was observed to do it (test/host/oftable.test.ts
// holds the observations):
// - add: a rule with the same match and priority is replaced. The new rule starts a new
//   duration and takes the new timeouts, cookie and flags; its counters are the old rule's
//   unless the new rule has `reset_counts`, and its idle age always carries over (OVS forwards
//   `used` on every replacement). OpenFlow 1.0 adds always reset counts: OVS marks every
//   OpenFlow 1.0 add with reset_counts (an OpenFlow 1.3 dump shows the flag), and ofctl.ts does
//   the same. `check_overlap` refuses a rule that some other rule of the same priority could
//   match a packet together with (an identical match is a replacement, not an overlap). Table
//   255 means "the first table", 0.
// - modify: only actions change (and, in OpenFlow 1.0, the cookie: an unmasked cookie is the new
//   cookie); timeouts, flags, importance, duration and counters stay, unless the flow-mod has
//   `reset_counts`. The rule's hard age restarts. Non-strict selects every rule at least as
//   specific as the given match ("subsumes", OpenFlow 1.0 §4.6); strict selects the rule with
//   exactly this match and priority. When nothing is selected OpenFlow 1.0 adds the flow and
//   OpenFlow 1.3 does nothing (OVS 3.1: `mod-flows` on no matching rule adds only without -O).
// - delete: the same selection; non-strict deletes ignore priority.
// - every selection: table 255 = every table, cookie/cookie_mask, and out_port for deletes.
// - expiry: a rule with a hard timeout goes once now > last add/modify + hard_timeout; one with an
//   idle timeout once now > last use + idle_timeout (ofproto-dpif's rule_expire, the hard one
//   checked first). The caller's clock drives it, so a scenario is deterministic.
//
// Order: ovs-ofctl dump-flows prints a table's rules in its classifier's internal order
// (subtables by maximum priority, then hash order inside each), which is not something a user
// can predict. dump() gives each table's rules by priority, highest first, ties in order of
// arrival (a modified rule keeps its place, a replaced one goes last), which is the same set and
// what `--rsort` prints.

import { Classifier, DEFAULT_OPENFLOW_PREFIXES } from "../tables/classifier.ts";
import { FLOW_WORDS, u32, type FlowKey, type FlowMask } from "../flow/key.ts";
import type { OfFlow, FlowModFlag } from "../flow/ofctl.ts";
import type { OfAction } from "../flow/actions.ts";
import { OfPort } from "../flow/fields.ts";

export const N_TABLES = 255;
/** The table number that means "every table" in a modify or delete, and "the first" in an add. */
export const ALL_TABLES = 255;

export interface OfRuleStats {
  packets: number;
  bytes: number;
  createdMs: number; // virtual clock
  usedMs: number; // last packet (or createdMs)
  modifiedMs: number; // last add/modify (hard_age)
}

/** Why a rule left its table, as OpenFlow's flow-removed reasons name it. */
export type RemovedReason = "idle_timeout" | "hard_timeout" | "delete";

export class OfRule {
  readonly stats: OfRuleStats;
  removedReason: RemovedReason | null = null;
  constructor(
    readonly id: number,
    public flow: OfFlow,
    nowMs: number,
  ) {
    this.stats = { packets: 0, bytes: 0, createdMs: nowMs, usedMs: nowMs, modifiedMs: nowMs };
  }
}

export class OfTable {
  // Prefix tries on ip_dst and ip_src, as OVS configures every OpenFlow table by default.
  readonly cls = new Classifier(FLOW_WORDS, { prefixes: DEFAULT_OPENFLOW_PREFIXES });
  readonly rules = new Map<number, OfRule>();
}

/** A flow-mod OVS refuses: `code` is the OpenFlow error ovs-ofctl prints (OFPFMFC_OVERLAP). */
export class FlowModError extends Error {
  override readonly name = "FlowModError";
  constructor(
    readonly code: "OFPFMFC_OVERLAP",
    readonly flow: OfFlow,
  ) {
    super(code);
  }
}

export interface ModifyOptions {
  strict?: boolean;
  /** The cookie selected rules get; null keeps theirs (OpenFlow 1.1+, or a masked cookie). */
  newCookie?: bigint | null;
  /** Add the flow when no rule is selected (OpenFlow 1.0 semantics). */
  addIfNone?: boolean;
}

export class OfTables {
  readonly tables: OfTable[] = Array.from({ length: N_TABLES }, () => new OfTable());
  /** Bumped on every change to any table: datapath flows translated before it need revalidating. */
  version = 0;
  private nextId = 1;
  /** Rules with an idle or hard timeout: expire() looks only at these. */
  private readonly timed = new Set<OfRule>();

  /** The highest-priority rule of `table` matching `key`; every bit consulted is ORed into `wc`. */
  lookup(table: number, key: FlowKey, wc: FlowMask | null): OfRule | null {
    const t = this.tables[table];
    if (t === undefined) return null;
    const id = t.cls.lookup(key, wc);
    return id < 0 ? null : (t.rules.get(id) ?? null);
  }

  /**
   * OFPFC_ADD. Replaces a rule with the same match and priority (counters carried over unless
   * the flow has `reset_counts`); throws FlowModError for a `check_overlap` conflict.
   */
  add(flow: OfFlow, nowMs: number): OfRule {
    const tableNo = flow.table === ALL_TABLES ? 0 : flow.table;
    const t = this.tables[tableNo];
    if (t === undefined) throw new RangeError(`table ${flow.table} out of range`);
    if (tableNo !== flow.table) flow = { ...flow, table: tableNo };
    const { key, mask } = flow.match;
    const oldId = t.cls.find(key, mask, flow.priority);
    const old = oldId >= 0 ? t.rules.get(oldId) : undefined;
    if (old === undefined && flow.flags.includes("check_overlap") && this.overlaps(t, flow)) {
      throw new FlowModError("OFPFMFC_OVERLAP", flow);
    }
    const rule = new OfRule(this.nextId++, flow, nowMs);
    if (old !== undefined) {
      if (!flow.flags.includes("reset_counts")) {
        rule.stats.packets = old.stats.packets;
        rule.stats.bytes = old.stats.bytes;
      }
      rule.stats.usedMs = old.stats.usedMs;
      this.detach(t, old, "delete");
    }
    t.cls.insert(key, mask, flow.priority, rule.id);
    t.rules.set(rule.id, rule);
    if (flow.idleTimeout || flow.hardTimeout) this.timed.add(rule);
    this.version++;
    return rule;
  }

  /**
   * OFPFC_MODIFY (or _STRICT): new actions for every selected rule. Returns the rules changed,
   * or the one added when none was selected and `addIfNone` is set; [] when nothing happened.
   */
  modify(flow: OfFlow, nowMs: number, opts: ModifyOptions = {}): OfRule[] {
    const hit = this.select(flow, opts.strict ?? false, false);
    if (hit.length === 0) {
      if (!opts.addIfNone) return [];
      const cookie = opts.newCookie ?? 0n;
      return [this.add({ ...flow, cookie, cookieMask: 0n, outPort: null }, nowMs)];
    }
    const reset = flow.flags.includes("reset_counts");
    for (const r of hit) {
      const cookie = opts.newCookie ?? r.flow.cookie;
      r.flow = { ...r.flow, actions: flow.actions, cookie };
      r.stats.modifiedMs = nowMs;
      if (reset) {
        r.stats.packets = 0;
        r.stats.bytes = 0;
      }
    }
    this.version++;
    return hit;
  }

  /** OFPFC_DELETE (or _STRICT): removes and returns every selected rule. */
  delete(flow: OfFlow, opts: { strict?: boolean } = {}): OfRule[] {
    const hit = this.select(flow, opts.strict ?? false, true);
    for (const r of hit) this.detach(this.tables[r.flow.table] as OfTable, r, "delete");
    if (hit.length) this.version++;
    return hit;
  }

  /**
   * The rules a flow stats request selects (dump-flows, dump-aggregate): non-strict match,
   * table (255 = all), cookie/cookie_mask and out_port. In dump order.
   */
  matching(filter: OfFlow, strict = false): OfRule[] {
    return this.select(filter, strict, true);
  }

  /** Removes one rule by id. */
  remove(table: number, id: number): boolean {
    const t = this.tables[table];
    const r = t?.rules.get(id);
    if (t === undefined || r === undefined) return false;
    this.detach(t, r, "delete");
    this.version++;
    return true;
  }

  /**
   * Removes the rules whose hard or idle timeout has passed at `nowMs` and returns them, each
   * with its removedReason.
   */
  expire(nowMs: number): OfRule[] {
    const gone: OfRule[] = [];
    for (const r of this.timed) {
      const { hardTimeout, idleTimeout } = r.flow;
      let why: RemovedReason | null = null;
      if (hardTimeout && nowMs > r.stats.modifiedMs + hardTimeout * 1000) why = "hard_timeout";
      else if (idleTimeout && nowMs > r.stats.usedMs + idleTimeout * 1000) why = "idle_timeout";
      if (why !== null) gone.push(r);
      if (why !== null) r.removedReason = why;
    }
    for (const r of gone) {
      const why = r.removedReason as RemovedReason;
      this.detach(this.tables[r.flow.table] as OfTable, r, why);
    }
    if (gone.length) this.version++;
    return gone;
  }

  /**
   * Count packets against a rule (translation and the datapath's statistics push). Allocates
   * nothing; a `usedMs` older than the rule's last use leaves that alone.
   */
  credit(rule: OfRule, packets: number, bytes: number, usedMs: number): void {
    const s = rule.stats;
    s.packets += packets;
    s.bytes += bytes;
    if (usedMs > s.usedMs) s.usedMs = usedMs;
  }

  /** Every rule: tables ascending, then priority descending, ties in order of arrival. */
  dump(): OfRule[] {
    const out: OfRule[] = [];
    for (const t of this.tables) if (t.rules.size) out.push(...sortRules([...t.rules.values()]));
    return out;
  }

  get count(): number {
    let n = 0;
    for (const t of this.tables) n += t.rules.size;
    return n;
  }

  // --- internals --------------------------------------------------------------------------------

  private detach(t: OfTable, r: OfRule, why: RemovedReason): void {
    t.rules.delete(r.id);
    t.cls.remove(r.id);
    this.timed.delete(r);
    r.removedReason = why;
  }

  /** Does some other rule of `flow`'s priority overlap it (a packet could match both)? */
  private overlaps(t: OfTable, flow: OfFlow): boolean {
    const { key, mask } = flow.match;
    for (const r of t.rules.values()) {
      if (r.flow.priority !== flow.priority) continue;
      const k = r.flow.match.key;
      const m = r.flow.match.mask;
      let disjoint = false;
      for (let i = 0; i < FLOW_WORDS; i++) {
        if (((u32(key, i) ^ u32(k, i)) & u32(mask, i) & u32(m, i)) !== 0) {
          disjoint = true;
          break;
        }
      }
      if (!disjoint) return true;
    }
    return false;
  }

  /** Rules selected by a modify/delete/stats request, in dump order. */
  private select(flow: OfFlow, strict: boolean, useOutPort: boolean): OfRule[] {
    const out: OfRule[] = [];
    const { key, mask } = flow.match;
    const outPort = useOutPort && flow.outPort !== null && flow.outPort !== OfPort.NONE ? flow.outPort : null;
    const tables = flow.table === ALL_TABLES ? this.tables : [this.tables[flow.table] as OfTable];
    for (const t of tables) {
      if (t.rules.size === 0) continue;
      const found: OfRule[] = [];
      if (strict) {
        const id = t.cls.find(key, mask, flow.priority);
        const r = id >= 0 ? t.rules.get(id) : undefined;
        if (r !== undefined) found.push(r);
      } else {
        for (const r of t.rules.values()) if (subsumes(key, mask, r.flow.match.key, r.flow.match.mask)) found.push(r);
      }
      for (const r of sortRules(found)) {
        if (flow.cookieMask !== 0n && (r.flow.cookie & flow.cookieMask) !== (flow.cookie & flow.cookieMask)) continue;
        if (outPort !== null && !outputsTo(r.flow.actions, outPort)) continue;
        out.push(r);
      }
    }
    return out;
  }
}

/** Is the rule (rk, rm) at least as specific as the criteria (ck, cm), and agreeing with them? */
export function subsumes(ck: FlowKey, cm: FlowMask, rk: FlowKey, rm: FlowMask): boolean {
  for (let i = 0; i < FLOW_WORDS; i++) {
    const c = u32(cm, i);
    if ((c & ~u32(rm, i)) !== 0) return false;
    if (((u32(rk, i) ^ u32(ck, i)) & c) !== 0) return false;
  }
  return true;
}

/** ofpacts_output_to_port: does any action (nested ones included) send to `port`? */
export function outputsTo(actions: readonly OfAction[], port: number): boolean {
  for (const a of actions) {
    if ((a.type === "output" || a.type === "enqueue") && a.port === port) return true;
    if (a.type === "controller" && port === OfPort.CONTROLLER) return true;
    if (a.type === "write_actions" && outputsTo(a.actions, port)) return true;
  }
  return false;
}

function sortRules(rules: OfRule[]): OfRule[] {
  return rules.sort((a, b) => b.flow.priority - a.flow.priority || a.id - b.id);
}

/** The flags an OpenFlow 1.0 add carries in OVS: the ones given, plus reset_counts. */
export function of10AddFlags(flags: readonly FlowModFlag[]): FlowModFlag[] {
  return flags.includes("reset_counts") ? [...flags] : [...flags, "reset_counts"];
}

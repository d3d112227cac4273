// Priority classifier: an OpenFlow table, with Open vSwitch's lib/classifier.c semantics.
//
// Rules match a key under a mask (any bits wildcarded, rules may overlap) and carry a priority;
// a lookup returns the highest-priority rule that matches. While it looks, it records in a
// caller-provided wildcard mask `wc` every bit it had to examine to reach its answer. The slow
// path ORs those masks over every table a packet visits and installs the result as a megaflow;
// correctness of the whole cache rests on one property (classifier.h, "Classifier Wildcard
// Mask"): any packet that agrees with this one on the bits of `wc` gets the same answer. The
// fewer bits `wc` holds, the more packets one megaflow covers, so the design below is as much
// about not looking as about looking fast.
//
// Tuple space search. Rules that share a mask go in one subtable, a hash table keyed by the masked
// key (word-map.ts, storing only the mask's non-zero words); rules identical but for priority
// share one hash entry, a list in descending priority. A lookup probes subtables in descending
// order of their highest priority and stops as soon as the best rule found so far has a priority
// at least that high: the skipped subtables cannot beat it, so they add nothing to `wc` either.
//
// Staged lookup (classifier.h, "Staged Lookup (Wildcard Optimization)"). The flow key is laid out
// metadata, L2, L3, L4 (src/flow/key.ts STAGES). Each subtable keeps, for every stage but its
// last, a counting set of the hashes of its rules' words up to the end of that stage. A lookup
// hashes the packet stage by stage and checks the set: if no rule of the subtable has those
// words, the subtable cannot match and the lookup moves on, un-wildcarding only the words of the
// stages examined so far. So with rules on in_port and nw_dst only, a packet whose in_port matches
// no rule leaves nw_dst wildcarded. When the last stage is reached the whole subtable mask is
// un-wildcarded, match or not (OVS does the same: a hash hit and a full compare have looked at
// every word). Stage sets may collide (a hash match without a real match); that costs a wider
// mask, never a wrong answer, because a packet that agrees on the examined words has the same
// partial hash.
//
// Ties. OVS leaves the choice among overlapping rules of equal priority undefined. Here it is
// deterministic: subtables of equal highest priority are probed in the order their masks were
// first created, and a later subtable replaces the best rule only with a strictly higher
// priority, so the rule whose mask (subtable) was created first wins. A rule with the same match
// and the same priority as an existing one replaces it (classifier_replace), keeping its place.
//
// Not done: OVS's prefix tries for nw_src/nw_dst (which narrow un-wildcarding of address bits
// further), partitions by metadata, versioning and conjunctive matches.
//
// Lookups allocate nothing; insert and remove allocate freely (they are control-plane work).

import { FLOW_WORDS, STAGES } from "../flow/key.ts";
import { hashFinish, hashWordList } from "./hash.ts";
import { WordMap } from "./word-map.ts";

/** A stage of the staged lookup: the key words [start, end). */
export interface Stage {
  readonly start: number;
  readonly end: number;
}

/** A rule as the classifier reports it (for dumps); key is already masked. */
export interface RuleInfo {
  id: number;
  priority: number;
  key: Uint32Array;
  mask: Uint32Array;
}

class Rule {
  next: Rule | null = null;
  constructor(
    public id: number,
    readonly priority: number,
    readonly seq: number, // insertion order, for dumps
    readonly key: Uint32Array, // masked copy
    readonly sub: Subtable,
    readonly group: number, // index into Classifier.groups
  ) {}
}

class Subtable {
  readonly idx: Int32Array; // non-zero mask words, in key order
  readonly mv: Uint32Array;
  readonly stageEnd: Int32Array; // positions in idx where each non-empty stage ends
  readonly indices: WordMap[]; // one per stage but the last: counts of partial hashes
  readonly map: WordMap; // full masked key -> group
  readonly priorities = new Map<number, number>(); // priority -> number of rules
  maxPriority = -Infinity;
  nRules = 0;

  constructor(readonly mask: Uint32Array, readonly seq: number, stages: readonly Stage[]) {
    const idx: number[] = [];
    const ends: number[] = [];
    for (const st of stages) {
      const before = idx.length;
      for (let i = st.start; i < st.end; i++) if (mask[i] !== 0) idx.push(i);
      if (idx.length > before) ends.push(idx.length);
    }
    if (ends.length === 0) ends.push(0); // the match-everything mask: one empty stage
    this.idx = Int32Array.from(idx);
    this.mv = Uint32Array.from(idx, (i) => mask[i] as number);
    this.stageEnd = Int32Array.from(ends);
    this.indices = [];
    for (let s = 0; s < ends.length - 1; s++) this.indices.push(new WordMap(0));
    this.map = new WordMap(idx.length);
  }
}

export class Classifier {
  readonly words: number;
  private readonly stages: readonly Stage[];
  private readonly basis: number;
  private order: Subtable[] = []; // by maxPriority desc, then seq asc
  private readonly byMask = new Map<string, Subtable>();
  private readonly byId = new Map<number, Rule>();
  private groups: (Rule | null)[] = []; // group -> head of its priority list
  private freeGroups: number[] = [];
  private subSeq = 0;
  private ruleSeq = 0;
  private readonly scratch: Uint32Array;
  /** After a successful lookup: the matched rule's priority. */
  lastPriority = 0;
  /** After a lookup: how many subtables it probed (skipped ones not counted). */
  lastProbes = 0;

  /**
   * `stages` must cover [0, words) in order. With the default, a classifier of FLOW_WORDS uses
   * the flow key's stages (metadata, L2, L3, L4); any other width gets one stage.
   */
  constructor(words = FLOW_WORDS, stages?: readonly Stage[], basis = 0) {
    this.words = words;
    const s = stages ?? (words === FLOW_WORDS ? STAGES : [{ start: 0, end: words }]);
    let at = 0;
    for (const st of s) {
      if (st.start !== at || st.end < st.start) throw new RangeError("classifier stages must be contiguous from 0");
      at = st.end;
    }
    if (at !== words) throw new RangeError(`classifier stages must end at ${words}, end at ${at}`);
    this.stages = s;
    this.basis = basis;
    this.scratch = new Uint32Array(words);
  }

  get count(): number { return this.byId.size; }
  get subtableCount(): number { return this.order.length; }

  /**
   * The id of the highest-priority rule matching key[keyOff ..], or -1. Every bit examined is
   * ORed into `wc` (indexed like the key, from 0), which the caller owns and clears.
   */
  lookup(key: Uint32Array, wc: Uint32Array | null, keyOff = 0): number {
    let best: Rule | null = null;
    const order = this.order;
    const basis = this.basis;
    let probes = 0;
    for (let t = 0; t < order.length; t++) {
      const st = order[t] as Subtable;
      if (best !== null && best.priority >= st.maxPriority) break;
      probes++;
      const idx = st.idx;
      const mv = st.mv;
      const last = st.stageEnd.length - 1;
      let h = basis;
      let pos = 0;
      let missed = false;
      for (let s = 0; s < last; s++) {
        const end = st.stageEnd[s] as number;
        h = hashWordList(key, keyOff, idx, mv, pos, end, h);
        pos = end;
        if ((st.indices[s] as WordMap).findWords(key, 0, hashFinish(h, pos << 2)) < 0) { missed = true; break; }
      }
      if (!missed) {
        const n = idx.length;
        h = hashWordList(key, keyOff, idx, mv, pos, n, h);
        pos = n;
        const slot = st.map.findList(key, keyOff, idx, mv, hashFinish(h, n << 2));
        if (slot >= 0) {
          const r = this.groups[st.map.vals[slot] as number] as Rule;
          if (best === null || r.priority > best.priority) best = r;
        }
      }
      if (wc !== null) for (let i = 0; i < pos; i++) wc[idx[i] as number] = ((wc[idx[i] as number] as number) | (mv[i] as number)) >>> 0;
    }
    this.lastProbes = probes;
    if (best === null) return -1;
    this.lastPriority = best.priority;
    return best.id;
  }

  /**
   * Add a rule; returns the id of the rule it displaced (same match and priority, OVS's
   * classifier_replace), or -1. Throws if `id` is already in use by another rule.
   */
  insert(key: Uint32Array, mask: Uint32Array, priority: number, id: number): number {
    if (this.byId.has(id)) throw new RangeError(`classifier: rule id ${id} already present`);
    const st = this.subtableFor(mask);
    const { slot, hashes } = this.locate(st, key);
    if (slot >= 0) {
      const g = st.map.vals[slot] as number;
      let prev: Rule | null = null;
      let cur = this.groups[g] as Rule | null;
      while (cur !== null && cur.priority > priority) { prev = cur; cur = cur.next; }
      if (cur !== null && cur.priority === priority) {
        const old = cur.id;
        this.byId.delete(old);
        cur.id = id;
        this.byId.set(id, cur);
        return old;
      }
      const r = this.newRule(id, priority, key, st, g);
      r.next = cur;
      if (prev === null) this.groups[g] = r; else prev.next = r;
      this.countPriority(st, priority, 1);
      return -1;
    }
    const g = this.freeGroups.length > 0 ? this.freeGroups.pop() as number : this.groups.length;
    const r = this.newRule(id, priority, key, st, g);
    this.groups[g] = r;
    const n = st.idx.length;
    for (let i = 0; i < n; i++) this.scratch[i] = (key[st.idx[i] as number] as number) & (st.mv[i] as number);
    st.map.insertWords(this.scratch, 0, hashes[hashes.length - 1] as number, g);
    for (let s = 0; s < st.indices.length; s++) {
      const ix = st.indices[s] as WordMap;
      const h = hashes[s] as number;
      const at = ix.findWords(this.scratch, 0, h);
      if (at >= 0) ix.vals[at] = (ix.vals[at] as number) + 1; else ix.insertWords(this.scratch, 0, h, 1);
    }
    this.countPriority(st, priority, 1);
    return -1;
  }

  /** Remove the rule with this id; false if there is none. */
  remove(id: number): boolean {
    const r = this.byId.get(id);
    if (r === undefined) return false;
    this.byId.delete(id);
    const st = r.sub;
    const g = r.group;
    let head = this.groups[g] as Rule;
    if (head === r) {
      head = r.next as Rule;
      this.groups[g] = r.next;
    } else {
      let p = head;
      while (p.next !== r) p = p.next as Rule;
      p.next = r.next;
    }
    if (this.groups[g] === null) {
      const { slot, hashes } = this.locate(st, r.key);
      st.map.removeSlot(slot);
      for (let s = 0; s < st.indices.length; s++) {
        const ix = st.indices[s] as WordMap;
        const at = ix.findWords(r.key, 0, hashes[s] as number);
        if ((ix.vals[at] as number) > 1) ix.vals[at] = (ix.vals[at] as number) - 1; else ix.removeSlot(at);
      }
      this.freeGroups.push(g);
    }
    this.countPriority(st, r.priority, -1);
    return true;
  }

  /** The id of the rule with exactly this match (key AND mask, mask) and priority, or -1. */
  find(key: Uint32Array, mask: Uint32Array, priority: number): number {
    const st = this.byMask.get(maskName(mask, this.words));
    if (st === undefined) return -1;
    const { slot } = this.locate(st, key);
    if (slot < 0) return -1;
    for (let r = this.groups[st.map.vals[slot] as number] as Rule | null; r !== null; r = r.next) {
      if (r.priority === priority) return r.id;
    }
    return -1;
  }

  /** The rule with this id, as copies; null if absent. */
  get(id: number): RuleInfo | null {
    const r = this.byId.get(id);
    return r === undefined ? null : info(r);
  }

  /** Every rule, highest priority first, ties in insertion order (for dump-flows). */
  rules(): RuleInfo[] {
    const all = [...this.byId.values()];
    all.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
    return all.map(info);
  }

  clear(): void {
    this.order = [];
    this.byMask.clear();
    this.byId.clear();
    this.groups = [];
    this.freeGroups = [];
  }

  private newRule(id: number, priority: number, key: Uint32Array, st: Subtable, g: number): Rule {
    const masked = new Uint32Array(this.words);
    for (let i = 0; i < this.words; i++) masked[i] = (key[i] as number) & (st.mask[i] as number);
    const r = new Rule(id, priority, this.ruleSeq++, masked, st, g);
    this.byId.set(id, r);
    return r;
  }

  /** The slot of key's group in st (or -1) and its partial hashes, the last one being the full. */
  private locate(st: Subtable, key: Uint32Array): { slot: number; hashes: number[] } {
    const hashes: number[] = [];
    let h = this.basis;
    let pos = 0;
    for (let s = 0; s < st.stageEnd.length; s++) {
      const end = st.stageEnd[s] as number;
      h = hashWordList(key, 0, st.idx, st.mv, pos, end, h);
      pos = end;
      hashes.push(hashFinish(h, pos << 2));
    }
    const slot = st.map.findList(key, 0, st.idx, st.mv, hashes[hashes.length - 1] as number);
    return { slot, hashes };
  }

  private subtableFor(mask: Uint32Array): Subtable {
    const name = maskName(mask, this.words);
    let st = this.byMask.get(name);
    if (st === undefined) {
      st = new Subtable(Uint32Array.from(mask.subarray(0, this.words)), this.subSeq++, this.stages);
      this.byMask.set(name, st);
      this.order.push(st);
    }
    return st;
  }

  private countPriority(st: Subtable, priority: number, delta: 1 | -1): void {
    const c = (st.priorities.get(priority) ?? 0) + delta;
    st.nRules += delta;
    const oldMax = st.maxPriority;
    if (c === 0) {
      st.priorities.delete(priority);
      if (priority === st.maxPriority) {
        st.maxPriority = -Infinity;
        for (const p of st.priorities.keys()) if (p > st.maxPriority) st.maxPriority = p;
      }
    } else {
      st.priorities.set(priority, c);
      if (priority > st.maxPriority) st.maxPriority = priority;
    }
    if (st.nRules === 0) {
      this.byMask.delete(maskName(st.mask, this.words));
      this.order.splice(this.order.indexOf(st), 1);
    } else if (st.maxPriority !== oldMax) {
      this.order.sort((a, b) => b.maxPriority - a.maxPriority || a.seq - b.seq);
    }
  }
}

function maskName(mask: Uint32Array, words: number): string {
  let s = "";
  for (let i = 0; i < words; i++) if (mask[i] !== 0) s += `${i}:${mask[i]},`;
  return s;
}

function info(r: Rule): RuleInfo {
  return { id: r.id, priority: r.priority, key: Uint32Array.from(r.key), mask: Uint32Array.from(r.sub.mask) };
}

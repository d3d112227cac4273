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
// Prefix tries (classifier.h, "Prefix Tracking"; lib/classifier.c check_tries). With
// setPrefixes(["nw_dst", "nw_src"]) (what OVS configures on every OpenFlow table unless the
// Flow_Table `prefixes` column says otherwise; ovs-vswitchd.conf.db(5)) the classifier keeps one
// trie per field (trie.ts) with the prefix of every rule whose subtable masks the field with a
// CIDR mask. When a lookup reaches the stage of such a field in such a subtable, it first asks
// the trie (once per lookup, lazily) which prefix lengths could match the packet at all; if the
// subtable's length is not among them, the subtable is skipped and only the bits the trie needed
// to prove that are un-wildcarded, plus the stages before. So with a single rule on
// nw_dst=10.0.0.0/24, a packet to 192.168.1.1 gets a megaflow on nw_dst=128.0.0.0/1. As in OVS,
// the answer is used only when it un-wildcards no more than the subtable itself would (its
// prefix length), or nothing new; the field's prerequisite (dl_type) must hold, so ARP's use of
// the same words is never skipped.
//
// Ports trie (lib/classifier.c find_match_wc). Every subtable that matches tp_src/tp_dst keeps a
// trie of its rules' (tp_src << 16 | tp_dst) under its mask. When the last stage misses, instead
// of un-wildcarding both ports whole, the lookup un-wildcards only the leading bits of the masked
// ports that tell this packet from every rule: a rule on tp_dst=80 and a packet to 443 give
// tp_dst=0x100/0xff00. OVS does this in every classifier; here it is on whenever the key has a
// TP word (flow-key classifiers) or `portsWord` names one. The other words of the last stage
// (tcp_flags) are un-wildcarded whole in that case, which is what OVS 3.1 prints (see
// test/tables/classifier-ovs.test.ts). OVS's struct flow lists tcp_flags with L3, yet 3.1
// behaves as if it were in the last stage (a miss on nw_tos leaves tcp_flags wildcarded, a miss
// on tcp_flags still reaches the ports), which is where key.ts puts it.
//
// Price: a lookup that reaches a trie field walks that trie once (two walks for nw_dst+nw_src);
// scripts/bench-tables.ts measures it against the same table without tries.
//
// Not done: partitions by metadata, versioning and conjunctive matches.
//
// Lookups allocate nothing; insert and remove allocate freely (they are control-plane work).

import { FLOW_WORDS, STAGES, W } from "../flow/key.ts";
import { EtherType } from "../wire/numbers.ts";
import { hashFinish, hashWordList } from "./hash.ts";
import { PrefixTrie, plenBit } from "./trie.ts";
import { WordMap } from "./word-map.ts";

/** A stage of the staged lookup: the key words [start, end). */
export interface Stage {
  readonly start: number;
  readonly end: number;
}

/**
 * A field a prefix trie can index: `words` whole key words from `word`, read most significant
 * bit first. A trie answer is used for a packet only when key[prereqWord] & prereqMask equals
 * prereqValue (OVS mf_are_prereqs_ok: nw_src is IPv4's, not ARP's); prereqWord -1 for none.
 */
export interface PrefixField {
  readonly name: string;
  readonly word: number;
  readonly words: number;
  readonly prereqWord: number;
  readonly prereqMask: number;
  readonly prereqValue: number;
}

const ipField = (name: string, word: number, words: number, dlType: number): PrefixField => ({
  name,
  word,
  words,
  prereqWord: W.DL_TYPE,
  prereqMask: 0xffff,
  prereqValue: dlType,
});
const tunField = (name: string, word: number, words: number): PrefixField => ({
  name,
  word,
  words,
  prereqWord: -1,
  prereqMask: 0,
  prereqValue: 0,
});

/** The fields OVS accepts in Flow_Table `prefixes` (ovs-vswitchd.conf.db(5)), by key.ts word. */
export const PREFIX_FIELDS: Readonly<Record<string, PrefixField>> = {
  nw_src: ipField("nw_src", W.NW_SRC, 1, EtherType.IPV4),
  nw_dst: ipField("nw_dst", W.NW_DST, 1, EtherType.IPV4),
  ip_src: ipField("nw_src", W.NW_SRC, 1, EtherType.IPV4),
  ip_dst: ipField("nw_dst", W.NW_DST, 1, EtherType.IPV4),
  ipv6_src: ipField("ipv6_src", W.IPV6_SRC, 4, EtherType.IPV6),
  ipv6_dst: ipField("ipv6_dst", W.IPV6_DST, 4, EtherType.IPV6),
  tun_id: tunField("tun_id", W.TUN_ID_HI, 2),
  tun_src: tunField("tun_src", W.TUN_SRC, 1),
  tun_dst: tunField("tun_dst", W.TUN_DST, 1),
  tun_ipv6_src: tunField("tun_ipv6_src", W.TUN_IPV6_SRC, 4),
  tun_ipv6_dst: tunField("tun_ipv6_dst", W.TUN_IPV6_DST, 4),
};

/** OVS's default for every OpenFlow table: ip_dst, then ip_src (bridge.c; the order is the order
 *  in which tries are consulted, and decides which field's bits a skip un-wildcards). */
export const DEFAULT_OPENFLOW_PREFIXES: readonly string[] = ["nw_dst", "nw_src"];

/** At most this many prefix fields per classifier (OVS CLS_MAX_TRIES). */
export const MAX_PREFIX_FIELDS = 3;

export interface ClassifierOptions {
  /** Staged-lookup stages; see the constructor. */
  stages?: readonly Stage[];
  basis?: number;
  /** Prefix fields (names of PREFIX_FIELDS or PrefixField objects); default none. */
  prefixes?: readonly (string | PrefixField)[];
  /** The word holding tp_src << 16 | tp_dst for the ports trie; default W.TP for a classifier
   *  of FLOW_WORDS, none otherwise; -1 turns it off. */
  portsWord?: number;
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
  // Prefix tries: per classifier trie, this subtable's CIDR length on the field (0: not used)
  // and the stage (index into stageEnd) the field is in.
  triePlen = new Int32Array(0);
  trieStage = new Int32Array(0);
  trieStageBits = 0; // bit s set: some trie field is in stage s (all bits past stage 30)
  // Ports trie: bits of the ports word up to its last masked bit (OVS ports_mask_len), 0: none.
  portsMaskLen = 0;
  portsTrie: PrefixTrie | null = null;
  portsPos = -1; // position of the ports word in idx

  constructor(
    readonly mask: Uint32Array,
    readonly seq: number,
    stages: readonly Stage[],
  ) {
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

  /** Work out triePlen/trieStage for these fields (OVS minimask_get_prefix_len). */
  configureTries(fields: readonly PrefixField[]): void {
    this.triePlen = new Int32Array(fields.length);
    this.trieStage = new Int32Array(fields.length).fill(-1);
    this.trieStageBits = 0;
    fields.forEach((f, j) => {
      const plen = prefixLen(this.mask, f);
      if (plen === 0) return;
      const p = this.idx.indexOf(f.word); // a CIDR mask sets the field's first bit
      let s = 0;
      while ((this.stageEnd[s] as number) <= p) s++;
      this.triePlen[j] = plen;
      this.trieStage[j] = s;
      this.trieStageBits |= s > 30 ? -1 : 1 << s;
    });
  }

  configurePorts(word: number): void {
    const m = word >= 0 ? (this.mask[word] as number) : 0;
    this.portsMaskLen = m === 0 ? 0 : 32 - ctz32(m);
    this.portsTrie = m === 0 ? null : new PrefixTrie(32);
    this.portsPos = m === 0 ? -1 : this.idx.indexOf(word);
  }
}

function ctz32(x: number): number {
  return x === 0 ? 32 : 31 - Math.clz32((x & -x) >>> 0);
}

/** The CIDR length of the field under `mask`, or 0 if the mask is not a prefix. */
function prefixLen(mask: Uint32Array, f: PrefixField): number {
  let n = 0;
  let ended = false;
  for (let i = 0; i < f.words; i++) {
    const m = (mask[f.word + i] as number) >>> 0;
    if (ended) {
      if (m !== 0) return 0;
    } else {
      const inv = ~m >>> 0;
      if ((inv & (inv + 1)) >>> 0 !== 0) return 0; // not contiguous from the top bit
      const tz = ctz32(m);
      n += 32 - tz;
      if (tz !== 0) ended = true;
    }
  }
  return n;
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
  private fields: PrefixField[] = [];
  private tries: PrefixTrie[] = [];
  private readonly portsWord: number;
  // Per-lookup trie context (OVS struct trie_ctx), reused: done flag, maskbits, plens (4 words).
  private readonly trieDone = new Uint8Array(MAX_PREFIX_FIELDS);
  private readonly trieBits = new Int32Array(MAX_PREFIX_FIELDS);
  private readonly plenViews: Uint32Array[] = Array.from({ length: MAX_PREFIX_FIELDS }, () => new Uint32Array(4));
  private readonly portsValue = new Uint32Array(1);
  private readonly portsPlens = new Uint32Array(1);
  /** After a successful lookup: the matched rule's priority. */
  lastPriority = 0;
  /** After a lookup: how many subtables it probed (skipped ones not counted). */
  lastProbes = 0;
  /** After a lookup with a wc: how many subtables a prefix trie let it skip. */
  lastTrieSkips = 0;

  /**
   * `stages` must cover [0, words) in order. With the default, a classifier of FLOW_WORDS uses
   * the flow key's stages (metadata, L2, L3, L4); any other width gets one stage. The second
   * argument may instead be a ClassifierOptions (stages, basis, prefixes, portsWord).
   */
  constructor(words = FLOW_WORDS, stagesOrOptions?: readonly Stage[] | ClassifierOptions, basis = 0) {
    const opts: ClassifierOptions =
      stagesOrOptions === undefined
        ? {}
        : isStageList(stagesOrOptions)
          ? { stages: stagesOrOptions, basis }
          : stagesOrOptions;
    this.words = words;
    const s = opts.stages ?? (words === FLOW_WORDS ? STAGES : [{ start: 0, end: words }]);
    let at = 0;
    for (const st of s) {
      if (st.start !== at || st.end < st.start) throw new RangeError("classifier stages must be contiguous from 0");
      at = st.end;
    }
    if (at !== words) throw new RangeError(`classifier stages must end at ${words}, end at ${at}`);
    this.stages = s;
    this.basis = opts.basis ?? basis;
    this.scratch = new Uint32Array(words);
    this.portsWord = opts.portsWord ?? (words === FLOW_WORDS ? W.TP : -1);
    if (this.portsWord >= words) throw new RangeError(`classifier: ports word ${this.portsWord} outside the key`);
    if (opts.prefixes !== undefined) this.setPrefixes(opts.prefixes);
  }

  /**
   * Track these prefix fields (OVS classifier_set_prefix_fields): names from PREFIX_FIELDS
   * or PrefixField objects, in the order the tries are to be consulted. Unknown names throw;
   * duplicates are ignored and only the first MAX_PREFIX_FIELDS count, as in OVS. Existing
   * rules are indexed at once. Returns the names in use.
   */
  setPrefixes(prefixes: readonly (string | PrefixField)[]): string[] {
    const fields: PrefixField[] = [];
    for (const p of prefixes) {
      const f = typeof p === "string" ? PREFIX_FIELDS[p] : p;
      if (f === undefined)
        throw new RangeError(
          `classifier: ${String(p)} is not a prefix field (${Object.keys(PREFIX_FIELDS).join(", ")})`,
        );
      if (f.word < 0 || f.words < 1 || f.word + f.words > this.words)
        throw new RangeError(`classifier: prefix field ${f.name} outside the key`);
      if (fields.some((x) => x.word === f.word && x.words === f.words)) continue;
      if (fields.length === MAX_PREFIX_FIELDS) break;
      fields.push(f);
    }
    this.fields = fields;
    this.tries = fields.map((f) => new PrefixTrie(32 * f.words));
    for (const st of this.order) st.configureTries(fields);
    for (const head of this.groups) if (head !== null) this.trieInsert(head.sub, head.key);
    return fields.map((f) => f.name);
  }

  get prefixes(): string[] {
    return this.fields.map((f) => f.name);
  }

  get count(): number {
    return this.byId.size;
  }
  get subtableCount(): number {
    return this.order.length;
  }

  /**
   * The id of the highest-priority rule matching key[keyOff ..], or -1. Every bit examined is
   * ORed into `wc` (indexed like the key, from 0), which the caller owns and clears.
   */
  lookup(key: Uint32Array, wc: Uint32Array | null, keyOff = 0): number {
    let best: Rule | null = null;
    const order = this.order;
    const basis = this.basis;
    let probes = 0;
    let skips = 0;
    const useTries = wc !== null && this.fields.length > 0;
    if (useTries) this.trieDone.fill(0);
    for (let t = 0; t < order.length; t++) {
      const st = order[t] as Subtable;
      if (best !== null && best.priority >= st.maxPriority) break;
      probes++;
      const idx = st.idx;
      const mv = st.mv;
      const last = st.stageEnd.length - 1;
      const tries = useTries ? st.trieStageBits : 0;
      let h = basis;
      let pos = 0;
      let missed = false;
      for (let s = 0; s < last; s++) {
        if (((tries >>> s) & 1) !== 0 && this.checkTries(st, s, key, keyOff, wc as Uint32Array)) {
          missed = true;
          skips++;
          break;
        }
        const end = st.stageEnd[s] as number;
        h = hashWordList(key, keyOff, idx, mv, pos, end, h);
        pos = end;
        if ((st.indices[s] as WordMap).findWords(key, 0, hashFinish(h, pos << 2)) < 0) {
          missed = true;
          break;
        }
      }
      if (!missed && ((tries >>> last) & 1) !== 0 && this.checkTries(st, last, key, keyOff, wc as Uint32Array)) {
        missed = true;
        skips++;
      }
      if (!missed) {
        const n = idx.length;
        h = hashWordList(key, keyOff, idx, mv, pos, n, h);
        const slot = st.map.findList(key, keyOff, idx, mv, hashFinish(h, n << 2));
        if (slot >= 0) {
          const r = this.groups[st.map.vals[slot] as number] as Rule;
          if (best === null || r.priority > best.priority) best = r;
          pos = n;
        } else if (st.portsTrie !== null && wc !== null) {
          // Only the leading bits of the masked ports that tell this packet from every rule.
          const pw = this.portsWord;
          const m = st.mask[pw] as number;
          this.portsValue[0] = (key[keyOff + pw] as number) & m;
          this.portsPlens[0] = 0;
          const mbits = st.portsTrie.lookup(this.portsValue, 0, this.portsPlens, 32);
          const pm = mbits === 0 ? 0 : (0xffffffff << (32 - mbits)) >>> 0;
          wc[pw] = ((wc[pw] as number) | (m & pm)) >>> 0;
          const pp = st.portsPos;
          for (let i = pos; i < n; i++)
            if (i !== pp) wc[idx[i] as number] = ((wc[idx[i] as number] as number) | (mv[i] as number)) >>> 0;
        } else {
          pos = n;
        }
      }
      if (wc !== null)
        for (let i = 0; i < pos; i++)
          wc[idx[i] as number] = ((wc[idx[i] as number] as number) | (mv[i] as number)) >>> 0;
    }
    this.lastProbes = probes;
    this.lastTrieSkips = skips;
    if (best === null) return -1;
    this.lastPriority = best.priority;
    return best.id;
  }

  /**
   * OVS check_tries: at the start of stage `s` of `st`, may a trie prove that no rule of the
   * subtable can match? If so, un-wildcard the bits it read (unless that would un-wildcard more
   * of the field than the subtable itself would) and return true.
   */
  private checkTries(st: Subtable, s: number, key: Uint32Array, keyOff: number, wc: Uint32Array): boolean {
    const fields = this.fields;
    for (let j = 0; j < fields.length; j++) {
      const plen = st.triePlen[j] as number;
      if (plen === 0 || st.trieStage[j] !== s) continue;
      const f = fields[j] as PrefixField;
      const plens = this.plenViews[j] as Uint32Array;
      if (this.trieDone[j] === 0) {
        plens.fill(0);
        if (f.prereqWord < 0 || ((key[keyOff + f.prereqWord] as number) & f.prereqMask) >>> 0 === f.prereqValue) {
          this.trieBits[j] = (this.tries[j] as PrefixTrie).lookup(key, keyOff + f.word, plens);
        } else {
          plens.fill(0xffffffff); // every length may match: no skipping for this packet
          this.trieBits[j] = 0;
        }
        this.trieDone[j] = 1;
      }
      if (plenBit(plens, plen - 1) === 0) {
        const bits = this.trieBits[j] as number;
        if (bits <= plen) {
          setPrefixBits(wc, f.word, bits);
          return true;
        }
        if (prefixBitsSet(wc, f.word, bits)) return true;
      }
    }
    return false;
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
      while (cur !== null && cur.priority > priority) {
        prev = cur;
        cur = cur.next;
      }
      if (cur !== null && cur.priority === priority) {
        const old = cur.id;
        this.byId.delete(old);
        cur.id = id;
        this.byId.set(id, cur);
        return old;
      }
      const r = this.newRule(id, priority, key, st, g);
      r.next = cur;
      if (prev === null) this.groups[g] = r;
      else prev.next = r;
      this.countPriority(st, priority, 1);
      return -1;
    }
    const g = this.freeGroups.length > 0 ? (this.freeGroups.pop() as number) : this.groups.length;
    const r = this.newRule(id, priority, key, st, g);
    this.groups[g] = r;
    const n = st.idx.length;
    for (let i = 0; i < n; i++) this.scratch[i] = (key[st.idx[i] as number] as number) & (st.mv[i] as number);
    st.map.insertWords(this.scratch, 0, hashes[hashes.length - 1] as number, g);
    this.trieInsert(st, r.key);
    for (let s = 0; s < st.indices.length; s++) {
      const ix = st.indices[s] as WordMap;
      const h = hashes[s] as number;
      const at = ix.findWords(this.scratch, 0, h);
      if (at >= 0) ix.vals[at] = (ix.vals[at] as number) + 1;
      else ix.insertWords(this.scratch, 0, h, 1);
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
      this.trieRemove(st, r.key);
      for (let s = 0; s < st.indices.length; s++) {
        const ix = st.indices[s] as WordMap;
        const at = ix.findWords(r.key, 0, hashes[s] as number);
        if ((ix.vals[at] as number) > 1) ix.vals[at] = (ix.vals[at] as number) - 1;
        else ix.removeSlot(at);
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
    for (const t of this.tries) t.clear();
    this.order = [];
    this.byMask.clear();
    this.byId.clear();
    this.groups = [];
    this.freeGroups = [];
  }

  /** A new distinct match in `st` (masked key): index it in the tries (OVS classifier_replace). */
  private trieInsert(st: Subtable, key: Uint32Array): void {
    for (let j = 0; j < this.fields.length; j++) {
      const plen = st.triePlen[j] as number;
      if (plen !== 0) (this.tries[j] as PrefixTrie).insert(key, (this.fields[j] as PrefixField).word, plen);
    }
    if (st.portsTrie !== null) {
      this.portsValue[0] = key[this.portsWord] as number;
      st.portsTrie.insert(this.portsValue, 0, st.portsMaskLen);
    }
  }

  private trieRemove(st: Subtable, key: Uint32Array): void {
    for (let j = 0; j < this.fields.length; j++) {
      const plen = st.triePlen[j] as number;
      if (plen !== 0) (this.tries[j] as PrefixTrie).remove(key, (this.fields[j] as PrefixField).word, plen);
    }
    if (st.portsTrie !== null) {
      this.portsValue[0] = key[this.portsWord] as number;
      st.portsTrie.remove(this.portsValue, 0, st.portsMaskLen);
    }
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
      st.configureTries(this.fields);
      st.configurePorts(this.portsWord);
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

function isStageList(x: readonly Stage[] | ClassifierOptions): x is readonly Stage[] {
  return Array.isArray(x);
}

/** Un-wildcard the first `n` bits of the field at wc[word ..] (OVS mask_set_prefix_bits). */
function setPrefixBits(wc: Uint32Array, word: number, n: number): void {
  let i = 0;
  for (; i < n >>> 5; i++) wc[word + i] = 0xffffffff;
  if ((n & 31) !== 0) wc[word + i] = ((wc[word + i] as number) | (0xffffffff << (32 - (n & 31)))) >>> 0;
}

/** Are the first `n` bits of the field at wc[word ..] all un-wildcarded already? */
function prefixBitsSet(wc: Uint32Array, word: number, n: number): boolean {
  let i = 0;
  for (; i < n >>> 5; i++) if (wc[word + i] !== 0xffffffff) return false;
  if ((n & 31) !== 0) {
    const m = (0xffffffff << (32 - (n & 31))) >>> 0;
    if (((wc[word + i] as number) & m) >>> 0 !== m) return false;
  }
  return true;
}

function maskName(mask: Uint32Array, words: number): string {
  let s = "";
  for (let i = 0; i < words; i++) if (mask[i] !== 0) s += `${i}:${mask[i]},`;
  return s;
}

function info(r: Rule): RuleInfo {
  return { id: r.id, priority: r.priority, key: Uint32Array.from(r.key), mask: Uint32Array.from(r.sub.mask) };
}

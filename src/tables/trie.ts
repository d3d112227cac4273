// A prefix trie over one field of the flow key, with Open vSwitch's semantics (lib/classifier.c,
// "A longest-prefix match tree"; node layout from lib/classifier-private.h `struct trie_node`).
//
// The classifier (classifier.ts) keeps one trie per prefix field (nw_dst, nw_src, ...) holding
// the prefix of every rule whose subtable matches that field with a CIDR mask, and one per
// subtable over tp_src|tp_dst (the "ports trie"). A lookup walks the trie with a packet's value
// and answers two things: which prefix lengths have rules that could match (`plens`, one bit per
// length), and how many leading bits of the value it had to read to be sure of that (the return
// value, OVS's `maskbits`/`mbits`). The classifier then skips subtables whose prefix length is
// not in `plens` and un-wildcards only those bits, so a megaflow for a packet far from every
// rule's prefix may match one address bit instead of 24.
//
// The tree is path-compressed: a node holds up to 32 bits of prefix (TRIE_PREFIX_BITS), the
// count of rules whose prefix ends exactly there, and two edges. Its answers depend only on the
// set of prefixes stored, not on where node boundaries fall (trie.test.ts checks them against a
// plain bit-by-bit reference), but the insert and remove below follow OVS step by step anyway.
//
// Values are read from a Uint32Array at a word offset, most significant bit first, which is how
// key.ts stores addresses (10.0.0.1 is the number 0x0a000001). Bit offset 0 is the top bit of
// the first word, as in OVS's network-order "MSB 0" offsets.
//
// Nodes live in typed arrays with a free list; lookups allocate nothing.

/** Bits a node can hold (OVS TRIE_PREFIX_BITS). */
export const TRIE_PREFIX_BITS = 32;

const NONE = -1;

/** Up to 32 bits of `v` starting `ofs` bits into the field at v[off ..], top-aligned, with
 *  possibly unwanted bits after the first `plen` (OVS raw_get_prefix). */
function rawPrefix(v: ArrayLike<number>, off: number, ofs: number, plen: number): number {
  const w = off + (ofs >>> 5);
  const s = ofs & 31;
  let p = ((v[w] as number) << s) >>> 0;
  if (s !== 0 && plen > 32 - s) p = (p | ((v[w + 1] as number) >>> (32 - s))) >>> 0;
  return p;
}

/** At most 32 bits of the prefix, unwanted bits cleared (OVS trie_get_prefix). */
function cutPrefix(v: ArrayLike<number>, off: number, ofs: number, plen: number): number {
  if (plen === 0) return 0;
  if (plen > TRIE_PREFIX_BITS) plen = TRIE_PREFIX_BITS;
  return (rawPrefix(v, off, ofs, plen) & (0xffffffff << (32 - plen))) >>> 0;
}

/** How many of the top `nBits` of `prefix` equal the value's bits from `ofs` (prefix_equal_bits). */
function equalBits(prefix: number, nBits: number, v: ArrayLike<number>, off: number, ofs: number): number {
  const diff = (prefix ^ rawPrefix(v, off, ofs, nBits)) >>> 0;
  const z = Math.clz32(diff);
  return z < nBits ? z : nBits;
}

/** Bit `ofs` (MSB 0) of the field at v[off ..]. */
function bitAt(v: ArrayLike<number>, off: number, ofs: number): number {
  return ((v[off + (ofs >>> 5)] as number) >>> (31 - (ofs & 31))) & 1;
}

/** Set bit `ofs` (MSB 0) of a bitmap of prefix lengths. */
export function setPlenBit(plens: Uint32Array, ofs: number): void {
  const i = ofs >>> 5;
  plens[i] = ((plens[i] as number) | (1 << (31 - (ofs & 31)))) >>> 0;
}

/** Bit `ofs` (MSB 0) of a bitmap of prefix lengths: is there a rule with prefix length ofs + 1? */
export function plenBit(plens: Uint32Array, ofs: number): number {
  return ((plens[ofs >>> 5] as number) >>> (31 - (ofs & 31))) & 1;
}

export class PrefixTrie {
  private prefix = new Uint32Array(16);
  private nBits = new Uint8Array(16);
  private nRules = new Int32Array(16);
  private edge0 = new Int32Array(16);
  private edge1 = new Int32Array(16);
  private free: number[] = [];
  private used = 0;
  private root = NONE;
  /** Live nodes (for tests and memory figures). */
  nodes = 0;

  /** `bits`: the field's width (32 for IPv4 and the ports, 128 for IPv6). */
  constructor(readonly bits: number) {
    if (bits <= 0 || bits % 32 !== 0) throw new RangeError(`prefix trie: field width ${bits} is not a multiple of 32`);
  }

  get empty(): boolean {
    return this.root === NONE;
  }

  /** Add one rule with this prefix (the field at v[off ..], `plen` leading bits, 1..bits). */
  insert(v: ArrayLike<number>, off: number, plen: number): void {
    this.checkLen(plen);
    // `at` names the edge being followed: -1 the root, else 2 * node + bit.
    let at = -1;
    let node = this.root;
    let ofs = 0;
    while (node !== NONE) {
      const nb = this.nBits[node] as number;
      const eq = equalBits(this.prefix[node] as number, Math.min(nb, plen - ofs), v, off, ofs);
      ofs += eq;
      if (eq < nb) {
        // Mismatch inside this node: a new parent holds the common part.
        const oldBranch = ((this.prefix[node] as number) >>> (31 - eq)) & 1;
        const parent = this.branch(v, off, ofs - eq, eq, ofs === plen ? 1 : 0);
        this.prefix[node] = ((this.prefix[node] as number) << eq) >>> 0;
        this.nBits[node] = nb - eq;
        this.setEdge(parent, oldBranch, node);
        if (ofs < plen) this.setEdge(parent, oldBranch ^ 1, this.branch(v, off, ofs, plen - ofs, 1));
        this.link(at, parent);
        return;
      }
      if (ofs === plen) {
        this.nRules[node] = (this.nRules[node] as number) + 1;
        return;
      }
      const b = bitAt(v, off, ofs);
      at = 2 * node + b;
      node = b === 0 ? (this.edge0[node] as number) : (this.edge1[node] as number);
    }
    this.link(at, this.branch(v, off, ofs, plen - ofs, 1));
  }

  /** Remove one rule with this prefix; false if there was none (OVS only logs that). */
  remove(v: ArrayLike<number>, off: number, plen: number): boolean {
    this.checkLen(plen);
    const path: number[] = []; // the edges followed, as in insert()
    let at = -1;
    let node = this.root;
    let ofs = 0;
    while (node !== NONE) {
      path.push(at);
      const nb = this.nBits[node] as number;
      const eq = equalBits(this.prefix[node] as number, Math.min(nb, plen - ofs), v, off, ofs);
      if (eq < nb) return false;
      ofs += eq;
      if (ofs === plen) {
        if ((this.nRules[node] as number) === 0) return false;
        this.nRules[node] = (this.nRules[node] as number) - 1;
        // Prune: a node without rules and with at most one child goes; a single child merges
        // into it when the two fit in one node.
        let depth = path.length - 1;
        while ((this.nRules[node] as number) === 0) {
          const e0 = this.edge0[node] as number;
          const e1 = this.edge1[node] as number;
          if (e0 !== NONE && e1 !== NONE) break;
          const next = e0 !== NONE ? e0 : e1;
          if (next !== NONE) {
            const nb2 = this.nBits[node] as number;
            if (nb2 + (this.nBits[next] as number) > TRIE_PREFIX_BITS) break;
            this.prefix[next] = ((this.prefix[node] as number) | ((this.prefix[next] as number) >>> nb2)) >>> 0;
            this.nBits[next] = (this.nBits[next] as number) + nb2;
          }
          this.link(path[depth] as number, next);
          this.release(node);
          if (next !== NONE || depth === 0) break;
          const up = path[depth] as number; // the parent's edge that pointed at the removed node
          node = up >> 1;
          depth--;
        }
        return true;
      }
      const b = bitAt(v, off, ofs);
      at = 2 * node + b;
      node = b === 0 ? (this.edge0[node] as number) : (this.edge1[node] as number);
    }
    return false;
  }

  /**
   * Walk the trie with the value at v[off ..] (its first `nBits` bits; default the field width).
   * ORs into `plens` a bit for every prefix length that has rules and matches the value (bit
   * L - 1 for length L; the caller clears it first) and returns how many leading bits of the
   * value must be un-wildcarded to make that answer hold for every packet sharing them (OVS
   * trie_lookup_value). Allocates nothing.
   */
  lookup(v: ArrayLike<number>, off: number, plens: Uint32Array, nBits = this.bits): number {
    let prev = NONE;
    let node = this.root;
    let matchLen = 0;
    while (node !== NONE) {
      const nb = this.nBits[node] as number;
      const eq = equalBits(this.prefix[node] as number, nb, v, off, matchLen);
      matchLen += eq;
      if (eq < nb) return matchLen + 1; // the first differing bit is needed too
      if ((this.nRules[node] as number) > 0) setPlenBit(plens, matchLen - 1);
      if (matchLen >= nBits) return nBits;
      prev = node;
      node = bitAt(v, off, matchLen) === 0 ? (this.edge0[node] as number) : (this.edge1[node] as number);
    }
    // Fell off an edge: the next bit tells this value from the other branch, unless there is none.
    return prev === NONE || this.isLeaf(prev) ? matchLen : matchLen + 1;
  }

  clear(): void {
    this.root = NONE;
    this.used = 0;
    this.free = [];
    this.nodes = 0;
  }

  private isLeaf(n: number): boolean {
    return this.edge0[n] === NONE && this.edge1[n] === NONE;
  }

  private checkLen(plen: number): void {
    if (!(plen >= 1 && plen <= this.bits)) throw new RangeError(`prefix trie: length ${plen} outside 1..${this.bits}`);
  }

  /** A chain of nodes for `plen` bits of the value from `ofs`; the last carries `rules` (OVS
   *  trie_branch_create). */
  private branch(v: ArrayLike<number>, off: number, ofs: number, plen: number, rules: number): number {
    const n = this.alloc();
    this.prefix[n] = cutPrefix(v, off, ofs, plen);
    this.edge0[n] = NONE;
    this.edge1[n] = NONE;
    if (plen <= TRIE_PREFIX_BITS) {
      this.nBits[n] = plen;
      this.nRules[n] = rules;
    } else {
      const sub = this.branch(v, off, ofs + TRIE_PREFIX_BITS, plen - TRIE_PREFIX_BITS, rules);
      this.nBits[n] = TRIE_PREFIX_BITS;
      this.nRules[n] = 0;
      this.setEdge(n, (this.prefix[sub] as number) >>> 31, sub);
    }
    return n;
  }

  private setEdge(n: number, bit: number, to: number): void {
    if (bit === 0) this.edge0[n] = to;
    else this.edge1[n] = to;
  }

  private link(at: number, to: number): void {
    if (at < 0) this.root = to;
    else this.setEdge(at >> 1, at & 1, to);
  }

  private alloc(): number {
    this.nodes++;
    if (this.free.length > 0) return this.free.pop() as number;
    if (this.used === this.prefix.length) {
      const cap = this.used * 2;
      const grow = <T extends Uint32Array | Uint8Array | Int32Array>(a: T, make: (n: number) => T): T => {
        const b = make(cap);
        b.set(a);
        return b;
      };
      this.prefix = grow(this.prefix, (n) => new Uint32Array(n));
      this.nBits = grow(this.nBits, (n) => new Uint8Array(n));
      this.nRules = grow(this.nRules, (n) => new Int32Array(n));
      this.edge0 = grow(this.edge0, (n) => new Int32Array(n));
      this.edge1 = grow(this.edge1, (n) => new Int32Array(n));
    }
    return this.used++;
  }

  private release(n: number): void {
    this.nodes--;
    this.free.push(n);
  }
}

// OfTables flow-mod semantics: against a plain reference (a list of rules and the OpenFlow 1.0
// §4.6 / ovs-ofctl(8) definitions written out naively) on random flows, and against what Open
// vSwitch 3.1 was observed to do (the sequences with their OVS output are in
// test/cmd/ofctl.test.ts; the facts used here are quoted where they are used).
import { describe, expect, it } from "vitest";
import { OfTables, outputsTo, subsumes, type OfRule } from "../../src/ofproto/oftable.ts";
import { parseFlow, type OfFlow } from "../../src/flow/ofctl.ts";
import { FLOW_WORDS, W } from "../../src/flow/key.ts";
import { XorShift32 } from "../../src/tables/hash.ts";

/** Random flows over in_port, ip, nw_dst (prefixes) and tp_dst, so that matches nest and overlap. */
function randomFlowText(rng: XorShift32, withActions: boolean): string {
  const parts: string[] = [];
  const r = () => rng.next() >>> 0;
  if (r() % 2) parts.push(`in_port=${1 + (r() % 3)}`);
  const l4 = r() % 3;
  if (l4 === 1) parts.push("ip");
  if (l4 === 2) parts.push("tcp");
  if (l4 && r() % 2) parts.push(`nw_dst=10.0.${r() % 2}.0/${[16, 24][r() % 2]}`);
  if (l4 === 2 && r() % 2) parts.push(`tp_dst=${80 + (r() % 2)}`);
  parts.push(`priority=${[1, 2, 3][r() % 3]}`);
  if (r() % 3 === 0) parts.push(`cookie=0x${(r() % 4).toString(16)}`);
  if (withActions) parts.push(`actions=output:${1 + (r() % 3)}`);
  return parts.join(",");
}

function keyMatches(f: OfFlow, key: Uint32Array): boolean {
  for (let i = 0; i < FLOW_WORDS; i++) {
    if ((((key[i] as number) ^ (f.match.key[i] as number)) & (f.match.mask[i] as number)) !== 0) return false;
  }
  return true;
}

/** The naive reference: rules in a list, selection written out from the definitions. */
class Reference {
  rules: { flow: OfFlow; seq: number }[] = [];
  private seq = 0;
  private same(a: OfFlow, b: OfFlow): boolean {
    return (
      a.table === b.table &&
      a.priority === b.priority &&
      a.match.mask.every((m, i) => m === b.match.mask[i]) &&
      a.match.key.every((k, i) => k === b.match.key[i])
    );
  }
  add(f: OfFlow): void {
    this.rules = this.rules.filter((r) => !this.same(r.flow, f));
    this.rules.push({ flow: f, seq: this.seq++ });
  }
  select(c: OfFlow, strict: boolean): OfFlow[] {
    return this.rules
      .filter(({ flow: r }) => {
        if (c.table !== 255 && r.table !== c.table) return false;
        if (c.cookieMask !== 0n && (r.cookie & c.cookieMask) !== (c.cookie & c.cookieMask)) return false;
        if (strict) return r.priority === c.priority && this.same({ ...r, table: c.table }, { ...c, table: c.table });
        for (let i = 0; i < FLOW_WORDS; i++) {
          const cm = c.match.mask[i] as number;
          // Every bit the criteria match on, the rule matches on too, with the same value.
          for (let b = 0; b < 32; b++) {
            if (!((cm >>> b) & 1)) continue;
            if (!(((r.match.mask[i] as number) >>> b) & 1)) return false;
            if ((((r.match.key[i] as number) >>> b) & 1) !== (((c.match.key[i] as number) >>> b) & 1)) return false;
          }
        }
        return true;
      })
      .map((x) => x.flow);
  }
  delete(c: OfFlow, strict: boolean): void {
    const gone = new Set(this.select(c, strict));
    this.rules = this.rules.filter((r) => !gone.has(r.flow));
  }
  lookup(key: Uint32Array): OfFlow | null {
    let best: OfFlow | null = null;
    for (const { flow } of this.rules)
      if (flow.table === 0 && keyMatches(flow, key) && (!best || flow.priority > best.priority)) best = flow;
    return best;
  }
}

const ids = (rules: readonly OfRule[]) => rules.map((r) => r.flow).sort(byText);
const byText = (a: OfFlow, b: OfFlow) => (describeFlow(a) < describeFlow(b) ? -1 : 1);
const describeFlow = (f: OfFlow) => `${f.table}/${f.priority}/${f.match.key.join(".")}/${f.match.mask.join(".")}`;

describe("against the naive reference on random flows", () => {
  it("add, non-strict and strict delete, and lookup agree over 40 rounds", () => {
    const rng = new XorShift32(7);
    for (let round = 0; round < 40; round++) {
      const t = new OfTables();
      const ref = new Reference();
      for (let i = 0; i < 30; i++) {
        const f = parseFlow(randomFlowText(rng, true));
        t.add(f, 0);
        ref.add(f);
      }
      expect(t.count).toBe(ref.rules.length);
      const crit = parseFlow(randomFlowText(rng, false).replace(/cookie=(0x\d)/, "cookie=$1/0x3"), {
        command: "delete",
      });
      const strict = (rng.next() & 1) === 1;
      expect(ids(t.matching(crit, strict)).map(describeFlow)).toEqual(
        ref.select(crit, strict).sort(byText).map(describeFlow),
      );
      t.delete(crit, { strict });
      ref.delete(crit, strict);
      expect(t.count).toBe(ref.rules.length);
      for (let k = 0; k < 20; k++) {
        const key = new Uint32Array(FLOW_WORDS);
        key[W.IN_PORT] = 1 + (rng.next() % 3);
        key[W.DL_TYPE] = 0x0800;
        key[W.NW_PROTO_TOS_TTL_FRAG] = 6 << 24;
        key[W.NW_DST] = (10 << 24) | ((rng.next() % 2) << 8);
        key[W.TP] = 80 + (rng.next() % 2);
        const got = t.lookup(0, key, null);
        const want = ref.lookup(key);
        expect(got === null ? null : got.flow.priority).toBe(want === null ? null : want.priority);
        if (got && want) expect(keyMatches(got.flow, key)).toBe(true);
      }
    }
  });
  it("subsumes: a match is subsumed by itself and by anything less specific, not by a narrower one", () => {
    const wide = parseFlow("ip,actions=drop").match;
    const narrow = parseFlow("tcp,in_port=1,actions=drop").match;
    expect(subsumes(wide.key, wide.mask, narrow.key, narrow.mask)).toBe(true);
    expect(subsumes(narrow.key, narrow.mask, wide.key, wide.mask)).toBe(false);
    expect(subsumes(narrow.key, narrow.mask, narrow.key, narrow.mask)).toBe(true);
  });
});

describe("OVS 3.1 behaviour", () => {
  it("add replacing: counters carried over without reset_counts, cleared with it; idle age always carried", () => {
    // OVS 3.1: -O OpenFlow13 add-flow of an identical flow kept n_packets=1 and restarted the
    // duration; with reset_counts it showed n_packets=0. OpenFlow 1.0 adds carry reset_counts.
    const t = new OfTables();
    const r1 = t.add(parseFlow("priority=100,in_port=1,actions=output:2"), 1000);
    t.credit(r1, 2, 236, 1500);
    const r2 = t.add(parseFlow("priority=100,in_port=1,actions=output:3"), 3000);
    expect([r2.stats.packets, r2.stats.bytes, r2.stats.createdMs, r2.stats.usedMs]).toEqual([2, 236, 3000, 1500]);
    expect(r1.removedReason).toBe("delete");
    const r3 = t.add(parseFlow("priority=100,in_port=1,reset_counts,actions=output:3"), 4000);
    expect([r3.stats.packets, r3.stats.usedMs, t.count]).toEqual([0, 1500, 1]);
  });
  it("modify: actions change, timeouts/flags/duration stay, hard age restarts; reset_counts clears counters", () => {
    const t = new OfTables();
    const r = t.add(parseFlow("priority=5,idle_timeout=10,hard_timeout=20,in_port=1,actions=output:2"), 0);
    t.credit(r, 1, 118, 10);
    const v = t.version;
    const hit = t.modify(parseFlow("in_port=1,idle_timeout=50,actions=output:3", { command: "modify" }), 100);
    expect(hit).toEqual([r]);
    expect(t.version).toBe(v + 1);
    expect([r.flow.idleTimeout, r.flow.hardTimeout, r.stats.createdMs, r.stats.modifiedMs, r.stats.packets]).toEqual([
      10, 20, 0, 100, 1,
    ]);
    expect(r.flow.actions).toEqual([{ type: "output", port: 3 }]);
    t.modify(parseFlow("in_port=1,reset_counts,actions=output:3", { command: "modify" }), 200);
    expect(r.stats.packets).toBe(0);
  });
  it("modify selecting nothing adds only when asked (OpenFlow 1.0), and changes nothing otherwise", () => {
    const t = new OfTables();
    const v = t.version;
    expect(t.modify(parseFlow("in_port=7,actions=output:2", { command: "modify" }), 0)).toEqual([]);
    expect([t.count, t.version]).toEqual([0, v]);
    const [added] = t.modify(parseFlow("in_port=7,actions=output:2", { command: "modify" }), 0, {
      addIfNone: true,
      newCookie: 0n,
    });
    expect([added?.flow.table, added?.flow.priority, t.count]).toEqual([0, 0x8000, 1]);
  });
  it("check_overlap refuses an overlapping rule of the same priority, not a disjoint one or a replacement", () => {
    const t = new OfTables();
    t.add(parseFlow("priority=100,in_port=1,actions=output:2"), 0);
    expect(() => t.add(parseFlow("priority=100,check_overlap,ip,actions=drop"), 0)).toThrowError("OFPFMFC_OVERLAP");
    expect(() => t.add(parseFlow("priority=101,check_overlap,ip,actions=drop"), 0)).not.toThrow();
    expect(() => t.add(parseFlow("priority=100,check_overlap,in_port=2,actions=drop"), 0)).not.toThrow();
    expect(() => t.add(parseFlow("priority=100,check_overlap,in_port=1,actions=drop"), 0)).not.toThrow();
    expect(t.count).toBe(3);
  });
  it("table 255: add goes to table 0; delete and modify reach every table", () => {
    const t = new OfTables();
    t.add({ ...parseFlow("actions=drop"), table: 255 }, 0);
    t.add(parseFlow("table=3,in_port=1,actions=drop"), 0);
    expect(t.dump().map((r) => r.flow.table)).toEqual([0, 3]);
    expect(t.modify(parseFlow("actions=output:1", { command: "modify" }), 1)).toHaveLength(2);
    expect(t.delete(parseFlow("in_port=1", { command: "delete" }))).toHaveLength(1);
    expect(t.delete(parseFlow("", { command: "delete" }))).toHaveLength(1);
  });
  it("out_port: outputs anywhere in the list, nested write_actions included, ANY is no filter", () => {
    expect(outputsTo(parseFlow("actions=output:3,output:2").actions, 2)).toBe(true);
    expect(outputsTo(parseFlow("actions=write_actions(output:2)").actions, 2)).toBe(true);
    expect(outputsTo(parseFlow("actions=output:3").actions, 2)).toBe(false);
    const t = new OfTables();
    t.add(parseFlow("in_port=1,actions=output:2"), 0);
    t.add(parseFlow("in_port=2,actions=output:3"), 0);
    expect(t.delete(parseFlow("out_port=ANY", { command: "delete" }))).toHaveLength(2);
  });
  it("expire: hard timeout from the last add/modify, idle from the last use, both strictly after", () => {
    const t = new OfTables();
    const hard = t.add(parseFlow("in_port=1,hard_timeout=2,actions=drop"), 0);
    const idle = t.add(parseFlow("in_port=2,idle_timeout=1,actions=drop"), 0);
    t.add(parseFlow("in_port=3,actions=drop"), 0);
    t.credit(idle, 1, 60, 1500);
    expect(t.expire(2000)).toEqual([]);
    const v = t.version;
    expect(t.expire(2001)).toEqual([hard]);
    expect(hard.removedReason).toBe("hard_timeout");
    expect(t.expire(2500)).toEqual([]);
    expect(t.expire(2501)).toEqual([idle]);
    expect(idle.removedReason).toBe("idle_timeout");
    expect([t.count, t.version]).toEqual([1, v + 2]);
  });
  it("credit keeps the latest use and allocates nothing per call", () => {
    const t = new OfTables();
    const r = t.add(parseFlow("actions=drop"), 100);
    t.credit(r, 1, 64, 500);
    t.credit(r, 2, 128, 300);
    expect([r.stats.packets, r.stats.bytes, r.stats.usedMs]).toEqual([3, 192, 500]);
  });
  it("dump: tables ascending, priority descending, ties in arrival order; a modified rule keeps its place", () => {
    const t = new OfTables();
    t.add(parseFlow("table=1,priority=9,actions=drop"), 0);
    t.add(parseFlow("priority=1,in_port=1,actions=drop"), 0);
    t.add(parseFlow("priority=5,in_port=2,actions=drop"), 0);
    t.add(parseFlow("priority=5,in_port=3,actions=drop"), 0);
    t.modify(parseFlow("in_port=2,actions=output:1", { command: "modify" }), 1);
    expect(t.dump().map((r) => `${r.flow.table}:${r.flow.priority}:${r.flow.match.key[W.IN_PORT]}`)).toEqual([
      "0:5:2",
      "0:5:3",
      "0:1:1",
      "1:9:0",
    ]);
  });
});

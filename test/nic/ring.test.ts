// The descriptor ring: FIFO order, full/empty edges, bursts, counted drops, and counters that wrap.
// Expected values follow from the ring's contract (a FIFO of fixed capacity), not from its code.
import { describe, expect, it } from "vitest";
import { Ring } from "../../src/nic/ring.ts";

describe("Ring", () => {
  it("refuses a capacity that is not a power of two", () => {
    for (const c of [0, 3, 6, 1.5, -4]) expect(() => new Ring(c)).toThrow(RangeError);
    expect(new Ring(1).capacity).toBe(1);
  });

  it("pops in push order, -1 when empty", () => {
    const r = new Ring(4);
    expect(r.pop()).toBe(-1);
    for (const s of [7, 3, 9]) expect(r.push(s)).toBe(true);
    expect(r.size).toBe(3);
    expect(r.free).toBe(1);
    expect([r.pop(), r.pop(), r.pop(), r.pop()]).toEqual([7, 3, 9, -1]);
    expect(r.size).toBe(0);
  });

  it("refuses a push when full and counts it; the slot is not stored", () => {
    const r = new Ring(2);
    expect(r.push(1)).toBe(true);
    expect(r.push(2)).toBe(true);
    expect(r.push(3)).toBe(false);
    expect(r.drops).toBe(1);
    expect(r.pop()).toBe(1);
    expect(r.push(4)).toBe(true);
    expect([r.pop(), r.pop(), r.pop()]).toEqual([2, 4, -1]);
  });

  it("pushes a burst up to the room left and counts the rest as drops", () => {
    const r = new Ring(4);
    r.push(100);
    const src = Int32Array.of(1, 2, 3, 4, 5);
    expect(r.pushBurst(src, 5)).toBe(3);
    expect(r.drops).toBe(2);
    const dst = new Int32Array(8);
    expect(r.popBurst(dst, 8)).toBe(4);
    expect(Array.from(dst.subarray(0, 4))).toEqual([100, 1, 2, 3]);
    expect(r.popBurst(dst, 8)).toBe(0);
  });

  it("pops a burst no larger than asked or than the destination", () => {
    const r = new Ring(8);
    for (let i = 0; i < 6; i++) r.push(i);
    const small = new Int32Array(2);
    expect(r.popBurst(small, 5)).toBe(2);
    expect(Array.from(small)).toEqual([0, 1]);
    const dst = new Int32Array(8);
    expect(r.popBurst(dst, 3)).toBe(3);
    expect(Array.from(dst.subarray(0, 3))).toEqual([2, 3, 4]);
    expect(r.size).toBe(1);
  });

  it("keeps order and fill level when its counters wrap past 2^31", () => {
    const r = new Ring(4);
    // Start the counters just below the int32 wrap, as after 2^31 packets.
    const inner = r as unknown as { head: number; tail: number };
    inner.head = inner.tail = 0x7ffffffe;
    const got: number[] = [];
    for (let i = 0; i < 20; i++) {
      expect(r.push(i)).toBe(true);
      if (i % 3 === 2) {
        expect(r.push(1000 + i)).toBe(true);
        got.push(r.pop());
      }
      got.push(r.pop());
    }
    expect(r.size).toBe(0);
    const pushed: number[] = [];
    for (let i = 0; i < 20; i++) {
      pushed.push(i);
      if (i % 3 === 2) pushed.push(1000 + i);
    }
    expect(got).toEqual(pushed);
    for (let i = 0; i < 4; i++) r.push(i);
    expect(r.push(9)).toBe(false);
    expect(r.size).toBe(4);
  });
});

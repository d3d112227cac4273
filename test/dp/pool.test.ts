import { describe, expect, it } from "vitest";
import { HEADROOM, PacketPool } from "../../src/dp/pool.ts";

describe("PacketPool", () => {
  it("hands out every slot once, then refuses and counts", () => {
    const pool = new PacketPool(4, 256);
    const got = [pool.alloc(), pool.alloc(), pool.alloc(), pool.alloc()];
    expect(new Set(got).size).toBe(4);
    expect(pool.alloc()).toBe(-1);
    expect(pool.exhausted).toBe(1);
    pool.release(got[2] as number);
    expect(pool.alloc()).toBe(got[2]);
  });

  it("prepends into headroom and adjusts forwards without moving bytes", () => {
    const pool = new PacketPool(2, 256);
    const slot = pool.load(Uint8Array.of(1, 2, 3, 4));
    const before = pool.start[slot];
    expect(pool.prepend(slot, 14)).toBe(true);
    expect(pool.start[slot]).toBe((before as number) - 14);
    expect(pool.frame(slot).subarray(14)).toEqual(Uint8Array.of(1, 2, 3, 4));
    expect(pool.adj(slot, 14)).toBe(true);
    expect(pool.frame(slot)).toEqual(Uint8Array.of(1, 2, 3, 4));
    // The headroom is finite: a prepend beyond it leaves the packet as it was.
    expect(pool.prepend(slot, HEADROOM + 1)).toBe(false);
    expect(pool.frame(slot)).toEqual(Uint8Array.of(1, 2, 3, 4));
  });

  it("keeps slots apart: a clone is a copy, and writing one leaves the other", () => {
    const pool = new PacketPool(2, 256);
    const a = pool.load(Uint8Array.of(9, 8, 7));
    const b = pool.clone(a);
    pool.frame(b)[0] = 0;
    expect(pool.frame(a)).toEqual(Uint8Array.of(9, 8, 7));
    expect(pool.frame(b)).toEqual(Uint8Array.of(0, 8, 7));
  });

  it("refuses a frame larger than a slot's data room", () => {
    const pool = new PacketPool(1, 64);
    expect(pool.load(new Uint8Array(pool.slotSize))).toBe(-1);
    expect(pool.available).toBe(1);
  });
});

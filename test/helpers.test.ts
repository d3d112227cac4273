// The shared test helpers that decide a test's outcome: expectNoGc must fail a loop that
// allocates, or every "allocates nothing" test using it would pass whatever the code does.

import { describe, expect, it } from "vitest";
import { expectNoGc } from "./helpers.ts";

describe("expectNoGc", () => {
  it("passes a loop that allocates nothing and returns its result", async () => {
    const words = new Uint32Array(64);
    const loop = (n: number) => {
      let s = 0;
      for (let i = 0; i < n; i++) s = (s + words[i & 63]! + i) | 0;
      return s;
    };
    expect(await expectNoGc(loop, { warmup: 10_000, iterations: 1_000_000 })).toBe(loop(1_000_000));
  });

  it("fails a loop that allocates one small object per iteration", async () => {
    let last: { i: number } | null = null;
    const loop = (n: number) => {
      for (let i = 0; i < n; i++) last = { i }; // escapes through `last`: the JIT cannot remove it
    };
    await expect(expectNoGc(loop, { warmup: 10_000, iterations: 1_000_000 })).rejects.toThrow(
      /scavenges during 1000000 iterations \(collections: minor/,
    );
    expect(last).not.toBeNull();
  });
});

// Shared test helpers: junk-filled slots, whether tools that some tests need are present, and
// the check that a hot path allocates nothing.
import { execFileSync } from "node:child_process";
import { constants, PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";
import { expect } from "vitest";

/** A slot filled with 0xa5, as a reused pool slot would be: emitters must set every byte. */
export function dirtySlot(len: number): Uint8Array {
  return new Uint8Array(len).fill(0xa5);
}

export function haveTool(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a test that needs `cmd` should run. Without the tool it is skipped on a developer's
 * machine, but under CI (CI set) it runs anyway and fails, so CI never hides a skipped test.
 */
export function requireTool(cmd: string): boolean {
  return haveTool(cmd) || Boolean(process.env["CI"]);
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weak callbacks",
};

/**
 * Fails unless `loop(iterations)` runs with at most `allowed` scavenges (default 1),
 * after `loop(warmup)` has run once unobserved. Returns what the observed run returned, for the
 * caller's own checks (and so that the loop's work is used and cannot be optimised away).
 *
 * Why collections rather than memory: an allocation of even 16 bytes per iteration, over a
 * million iterations, fills V8's young generation (at most 16 MiB per semi-space in Node 20)
 * several times over and forces scavenges, whereas heapUsed moves with unrelated work and drops
 * when a scavenge runs mid-loop. The warm-up lets the JIT optimise the loop first (interpreted
 * code allocates where optimised code does not) and fills the caches the code builds once. The
 * loop must be synchronous, so nothing else allocates meanwhile; one collection is tolerated
 * for a young generation that happened to be nearly full when the loop began. Node reports gc
 * entries from a callback queued after the collection, on a later turn of the event loop, so the
 * count is taken only after yielding to it.
 */
export async function expectNoGc<T>(
  loop: (iterations: number) => T,
  opts: { warmup: number; iterations: number; allowed?: number },
): Promise<T> {
  loop(opts.warmup);
  const seen: PerformanceEntry[] = [];
  const obs = new PerformanceObserver((list) => {
    seen.push(...list.getEntries());
  });
  obs.observe({ entryTypes: ["gc"] });
  const result = loop(opts.iterations);
  await new Promise((resolve) => setTimeout(resolve, 20));
  seen.push(...obs.takeRecords());
  obs.disconnect();
  const kinds = seen.map((e) => GC_KINDS[(e as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? "other");
  // Only scavenges count: an allocation per iteration fills the young generation and shows up
  // as minor collections. An incremental marking and the major collection that ends it are the
  // old generation finishing what earlier work (the warm-up, the tests before) left, which a busy
  // machine makes happen mid-loop; they say nothing about the loop.
  const scavenges = kinds.filter((k) => k === "minor").length;
  expect(
    scavenges,
    `scavenges during ${opts.iterations} iterations (collections: ${kinds.join(", ") || "none"})`,
  ).toBeLessThanOrEqual(opts.allowed ?? 1);
  return result;
}

// The host's clock. Time is virtual: it starts at VIRTUAL_EPOCH_MS and moves only when the engine
// is told to advance (time/warp, a scenario's ticks), so the same commands give the same captures
// and dumps. Once a port is attached to something real, the daemon switches it to the wall clock
// (`real`), and frames are stamped with when they arrived.

import { performance } from "node:perf_hooks";

/** The virtual clock's zero: 2026-01-01T00:00:00Z. */
export const VIRTUAL_EPOCH_MS = 1_767_225_600_000;

/** Wall-clock milliseconds with sub-millisecond resolution. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

export class Clock {
  /** Milliseconds since the epoch below: what timers, ageing and `used:` read. */
  nowMs = 0;
  /** Wall-clock time of nowMs = 0: the virtual epoch, or the real start time on the real clock. */
  epochMs = VIRTUAL_EPOCH_MS;
  /** On the wall clock (live ports), rather than the virtual one. */
  real = false;

  /** A capture timestamp for now, in nanoseconds since the Unix epoch. */
  tsNs(): bigint {
    return BigInt(Math.round((this.epochMs + this.nowMs) * 1000)) * 1000n;
  }
}

// In-process wires between ports, of one emulated host or of several: the `link` port driver a
// scenario's `links:` are made of (src/scenario/run.ts). A frame sent on one end is copied into
// the wire's queue and received at the other end when the owner drains it, so one host's
// processing never nests inside another's, as a wire's propagation delay keeps two real hosts
// apart. Nothing here is live: the scenario's virtual clock keeps running as it would.
//
// A wire is unplugged until the owner plugs it (a scenario does so once every host is set up):
// a frame sent before then is dropped, as on a cable not yet connected.

import type { PortDriver, PortDriverContext, PortDriverFactory } from "./port-driver.ts";

interface End {
  /** The end's driver context while a port is open on it. */
  ctx: PortDriverContext | null;
  peer: string;
}

/** Where a queued frame goes: the far end's name and its port's receive. */
export type LinkDelivery = (to: string, frame: Uint8Array, receive: (frame: Uint8Array) => void) => void;

export class Links {
  private readonly ends = new Map<string, End>();
  private readonly queue: { to: string; frame: Uint8Array }[] = [];
  private plugged = false;

  /** Joins the ends `a` and `b` (names the owner chooses, e.g. "host/port"). */
  connect(a: string, b: string): void {
    for (const [end, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      if (this.ends.has(end)) throw new Error(`link end ${end} is already connected to ${this.ends.get(end)?.peer}`);
      this.ends.set(end, { ctx: null, peer });
    }
  }

  has(end: string): boolean {
    return this.ends.has(end);
  }

  /** Whether a port is open on the end `end` (its driver not closed). */
  isOpen(end: string): boolean {
    return (this.ends.get(end)?.ctx ?? null) !== null;
  }

  /** From now on frames cross the wires. */
  plug(): void {
    this.plugged = true;
  }

  /** Frames waiting to be received at their far end. */
  get pending(): number {
    return this.queue.length;
  }

  /** The driver factory of the end `end`: a port opened with it sends into its wire. */
  factory(end: string): PortDriverFactory {
    return (_row, ctx) => {
      const e = this.ends.get(end);
      if (e === undefined) return `could not open network device ${ctx.name} (no link end ${end})`;
      e.ctx = ctx;
      const driver: PortDriver = {
        live: false,
        send: (frame) => {
          if (this.plugged) this.queue.push({ to: e.peer, frame: frame.slice() });
        },
        close: () => {
          if (e.ctx === ctx) e.ctx = null;
        },
        describe: () => `link ${end} → ${e.peer}`,
      };
      return driver;
    };
  }

  /**
   * Delivers the queued frames in the order they were sent, through `deliver` (which lets the
   * owner stamp and count each one); frames sent while draining are delivered in the same pass.
   * A frame whose far end has no open port is dropped.
   */
  drain(deliver: LinkDelivery): void {
    const q = this.queue;
    for (let i = 0; i < q.length; i++) {
      const { to, frame } = q[i] as { to: string; frame: Uint8Array };
      const ctx = this.ends.get(to)?.ctx ?? null;
      if (ctx !== null) deliver(to, frame, ctx.receive);
    }
    q.length = 0;
  }
}

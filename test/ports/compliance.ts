// The PortDriver compliance suite: what src/ports/port-driver.ts promises the engine
// (src/host/engine.ts: openDriver, and the closes in its port removal and close()), checked the
// same way for every driver, in the manner of libp2p's interface-compliance-tests. A driver's
// test gives a harness (how to open the driver, and an endpoint at its far side that sends into
// it and records what comes out) and calls portDriverCompliance(name, harness) once;
// compliance.test.ts does so for the socket and TAP drivers.
//
// Where port-driver.ts is silent, the suite holds drivers to what the engine relies on: close()
// neither throws nor rejects (the engine calls it as `void d.close()` when a port goes, so a
// rejection would be unhandled) and may be called twice; after close() the driver calls none of
// the context's receive, fail or recover (the engine may already have given the port's name to a
// new row); send() after close() is dropped without throwing.
//
// Frames are made here, never by the driver's own code, and compared as hex so that a failure
// shows where the bytes differ. Waits poll for an outcome; their timeout only stops a hang.

import { afterEach, describe, expect, it } from "vitest";
import { newInterface } from "../../src/ovsdb/config.ts";
import type { PortDriver, PortDriverContext, PortDriverFactory } from "../../src/ports/port-driver.ts";

/** What a driver's test provides: one of these, and one call of portDriverCompliance. */
export interface PortDriverHarness {
  /** The Interface type of the rows the suite opens ("dgram", "stream", …). */
  readonly type: string;
  /** The factory under test; for a registered driver, PORT_DRIVERS.get(type). */
  readonly factory: PortDriverFactory;
  /** What `live` must be: true for a driver attached to a real socket or device. */
  readonly live: boolean;
  /** Interface options the factory must refuse with its error text (at least one set). */
  readonly badOptions: readonly Record<string, string>[];
  /**
   * Whether the far end can go away in a way the driver notices (a peer closing its stream, a
   * device deleted): then its far ends have cut(), and the suite checks fail(). A datagram peer
   * or an in-process wire leaves no trace, so those drivers have no such test at all.
   */
  readonly peerLoss: boolean;
  /** Makes a fresh far end, for one test. */
  far(): Promise<FarEnd>;
}

/** The other side of one driver: what a VM, a peer emulator or the kernel would be. */
export interface FarEnd {
  /** The Interface options that open the driver onto this far end. */
  readonly options: Record<string, string>;
  /** With the driver open: resolves once frames can go both ways (socket bound, peer connected). */
  attach(driver: PortDriver, ctx: RecordingContext): Promise<void>;
  /** Sends a frame into the driver (after attach). */
  send(frame: Uint8Array): void;
  /** Frames that came out of the driver, copied, in the order they arrived. */
  readonly got: readonly Uint8Array[];
  /**
   * After the driver's close(): resolves once the far end sees that the driver let go of its
   * socket or device (its address binds again, the peer saw the connection close, the device is
   * gone); rejects or times out when it did not. Also called when the driver closed before attach.
   */
  released(): Promise<void>;
  /** Makes the far end go away (peer closes, device deleted), when the driver can notice that. */
  cut?(): Promise<void>;
  /** Frees everything the far end made. Runs after every test, passed or failed, after close(). */
  dispose(): Promise<void>;
}

/** The context the suite opens each driver with: it records every call. */
export class RecordingContext implements PortDriverContext {
  /** Copies of the frames given to receive(): the driver may reuse its buffer once it returns. */
  readonly received: Uint8Array[] = [];
  readonly failures: string[] = [];
  readonly logs: string[] = [];
  recovered = 0;
  /** Calls of receive, fail and recover made once close() had been called. */
  readonly afterClose: string[] = [];
  closing = false;

  constructor(readonly name: string) {}

  // Arrow properties: a driver may call these detached from the context.
  readonly receive = (frame: Uint8Array): void => {
    if (this.closing) this.afterClose.push(`receive(${frame.length} bytes)`);
    this.received.push(new Uint8Array(frame));
  };
  readonly fail = (error: string): void => {
    if (this.closing) this.afterClose.push(`fail(${error})`);
    this.failures.push(error);
  };
  readonly recover = (): void => {
    if (this.closing) this.afterClose.push("recover()");
    this.recovered++;
  };
  readonly log = (line: string): void => {
    this.logs.push(line);
  };
}

/** Polls `cond` until it holds; the timeout only keeps a broken driver from hanging the run. */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A test frame of `len` bytes: locally administered unicast MACs (no host answers them), EtherType
 * 0x88b5 (IEEE 802 local experimental: no protocol stack takes it), `seq` as a 32-bit number, then
 * a pattern that differs with both seq and position, so a shift, a cut or a swapped frame shows.
 */
export function testFrame(seq: number, len: number): Uint8Array {
  const f = new Uint8Array(len);
  f.set([0x02, 0x00, 0x5e, 0x10, 0x00, 0x02, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x88, 0xb5]);
  new DataView(f.buffer).setUint32(14, seq);
  for (let i = 18; i < len; i++) f[i] = (seq * 31 + i * 7) % 251;
  return f;
}

const show = (frames: readonly Uint8Array[]): string[] =>
  frames.map((f) => `${f.length} bytes: ${Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString("hex")}`);

/** The smallest Ethernet frame without its FCS, and the largest at MTU 1500, with odd sizes between. */
const SIZES = [60, 1514, 61, 64, 1000, 1513];

/** What close() gave: a throw comes back as a rejection too, and a close() that never ends as one. */
async function closeResult(driver: PortDriver, timeoutMs = 10_000): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`close() did not resolve within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([(async () => driver.close())(), hang]);
  } finally {
    clearTimeout(timer);
  }
}

export function portDriverCompliance(name: string, harness: PortDriverHarness): void {
  describe(`PortDriver compliance: ${name}`, () => {
    let current: { far: FarEnd; ctx: RecordingContext; driver: PortDriver | null } | null = null;
    let ports = 0;

    async function open(attach = true): Promise<{ far: FarEnd; ctx: RecordingContext; driver: PortDriver }> {
      const far = await harness.far();
      const ctx = new RecordingContext(`pdc${++ports}`);
      current = { far, ctx, driver: null };
      const driver = harness.factory(newInterface(ctx.name, harness.type, far.options), ctx);
      if (typeof driver === "string") throw new Error(`the factory refused the harness's options: ${driver}`);
      current.driver = driver;
      if (attach) await far.attach(driver, ctx);
      return { far, ctx, driver };
    }

    async function close(ctx: RecordingContext, driver: PortDriver): Promise<void> {
      ctx.closing = true;
      await expect(closeResult(driver)).resolves.toBeUndefined();
    }

    afterEach(async () => {
      const c = current;
      current = null;
      if (c === null) return;
      try {
        if (c.driver !== null && !c.ctx.closing) {
          c.ctx.closing = true;
          await closeResult(c.driver);
        }
      } finally {
        await c.far.dispose();
      }
      expect(c.ctx.afterClose, "calls into the context after close()").toEqual([]);
    });

    it("opens from an Interface row, with the expected `live` and a one-line describe()", async () => {
      const { ctx, driver } = await open();
      expect(driver.live).toBe(harness.live);
      // live/show prints it for every driver (port-driver.ts makes it required); a JS driver could still omit it.
      expect(driver.describe, "describe()").toBeTypeOf("function");
      const line = driver.describe();
      expect(line).not.toBe("");
      expect(line).not.toMatch(/[\r\n]/);
      expect(line.trim()).toBe(line);
      expect(ctx.failures).toEqual([]);
    });

    it("sends frames to the far end byte for byte and in order, 60 to 1514 bytes", async () => {
      const { ctx, far, driver } = await open();
      const frames = SIZES.map((len, i) => testFrame(i, len));
      for (const f of frames) driver.send(f);
      await until(() => far.got.length >= frames.length, `${frames.length} frames at the far end`);
      expect(show(far.got)).toEqual(show(frames));
      expect(ctx.failures).toEqual([]);
    });

    it("copies the frame during send(): a buffer reused right after changes nothing", async () => {
      const { far, driver } = await open();
      // As the engine sends them: views at odd offsets into one pool buffer, reused at once.
      const slot = new Uint8Array(4096).fill(0xa5);
      const a = testFrame(1, 60);
      const b = testFrame(2, 1514);
      slot.set(a, 3);
      driver.send(slot.subarray(3, 3 + a.length));
      slot.fill(0xee);
      slot.set(b, 5);
      driver.send(slot.subarray(5, 5 + b.length));
      slot.fill(0xee);
      await until(() => far.got.length >= 2, "2 frames at the far end");
      expect(show(far.got)).toEqual(show([a, b]));
    });

    it("passes the far end's frames to receive() byte for byte and in order", async () => {
      const { ctx, far } = await open();
      const frames = Array.from({ length: 3 * SIZES.length }, (_, i) => testFrame(100 + i, SIZES[i % SIZES.length]!));
      for (const f of frames) far.send(f);
      await until(() => ctx.received.length >= frames.length, `${frames.length} frames at receive()`);
      expect(show(ctx.received)).toEqual(show(frames));
      expect(ctx.failures).toEqual([]);
    });

    it("releases its socket or device once close() has resolved", async () => {
      const { ctx, far, driver } = await open();
      driver.send(testFrame(1, 60));
      await until(() => far.got.length >= 1, "a frame at the far end");
      await close(ctx, driver);
      await far.released();
    });

    it("releases everything when closed straight after opening, before any traffic", async () => {
      const { ctx, far, driver } = await open(false);
      await close(ctx, driver);
      await far.released();
    });

    it("takes a second close() without throwing or rejecting", async () => {
      const { ctx, driver } = await open();
      await close(ctx, driver);
      await close(ctx, driver);
    });

    it("drops a frame sent after close() without throwing", async () => {
      const { ctx, driver } = await open();
      await close(ctx, driver);
      expect(() => driver.send(testFrame(1, 60))).not.toThrow();
    });

    // Declared only where it applies, so that no run shows a skipped test.
    if (harness.peerLoss)
      it("reports the far end going away through fail(), in one line", async () => {
        const { ctx, far, driver } = await open();
        if (far.cut === undefined)
          throw new Error("the harness says its peer can go away, but its far end has no cut()");
        await far.cut();
        await until(() => ctx.failures.length >= 1, "fail()");
        expect(ctx.failures.length).toBe(1);
        const why = ctx.failures[0]!;
        expect(why).not.toBe("");
        expect(why).not.toMatch(/[\r\n]/);
        expect(() => driver.send(testFrame(1, 60))).not.toThrow();
      });

    it("refuses bad options with the Interface error text, returned and not thrown", () => {
      expect(harness.badOptions.length, "the harness's bad options").toBeGreaterThan(0);
      for (const options of harness.badOptions) {
        const ctx = new RecordingContext("bad0");
        const what = `options ${JSON.stringify(options)}`;
        const r = harness.factory(newInterface("bad0", harness.type, options), ctx);
        // OVS's wording for the Interface error column (PortDriverFactory).
        expect(r, what).toBeTypeOf("string");
        expect(r, what).toMatch(/^could not open network device bad0 \(.+\)$/);
        expect(ctx.failures, what).toEqual([]);
      }
    });
  });
}

// A `tap` port: a Linux TAP device (IFF_TAP | IFF_NO_PI), created or attached by name, through
// the small N-API addon in native/tap (built at `npm install` by scripts/build-tap.mjs). This is
// the only module that loads the addon. Frames written by the kernel side (a namespace, a VM's
// vhost) arrive on the port; frames leaving the port are written to the device, one per write().
//
//   options:ifname=NAME   the device (default: the Interface's own name); created when absent,
//                         attached to when it exists and is a TAP nobody else holds
//
// Bring the device up and give it addresses as for any Linux device (ip link set NAME up); it
// may be moved into another network namespace, and stays attached. Needs root or CAP_NET_ADMIN
// and /dev/net/tun. Without the addon (no compiler at install time, not Linux) the port reports
// why in the Interface error column and everything else works; `dgram` with socat's TUN address
// (dgram.ts) reaches a TAP with no native code.
//
// The read loop (in C) drains the ready frames into one buffer per port and calls back once per
// batch; a frame the switch cannot take (no free buffer) is dropped and counted by the engine.
// A write the device cannot take (EAGAIN: its queue is full; EIO: it is down) is dropped and
// counted here.

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { InterfaceConfig } from "../ovsdb/config.ts";
import type { PortDriver, PortDriverContext } from "./port-driver.ts";
import { openError } from "./address.ts";
import { LiveStats, type LivePort } from "./stats.ts";

interface TapAddon {
  open(
    name: string,
    buf: Uint8Array,
    meta: Int32Array,
    cb: (count: number, errno: number) => void,
  ): { handle: object; name: string };
  write(handle: object, frame: Uint8Array): number;
  close(handle: object): void;
  strerror(errno: number): string;
  readonly MAX_FRAME: number;
}

const ADDON_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "native", "tap", "build");
const ADDON_PATH = join(ADDON_DIR, "Release", "tap.node");
const STATUS_PATH = join(ADDON_DIR, "tap-status.json");

/** Bytes of the per-port read buffer: a batch stops when less than one largest frame is left. */
const READ_BUF_BYTES = 1 << 20;
/** Frames per batch at most. */
const READ_BATCH = 256;
const IFNAMSIZ = 16;
const EAGAIN = 11;
const EIO = 5;
const ENOBUFS = 105;

let loaded: TapAddon | string | null = null;

/** The addon, or why it is not there (in words for the Interface error column). */
export function tapAddon(): TapAddon | string {
  if (loaded !== null) return loaded;
  if (process.env["OFFLOAD_EMU_NO_TAP"]) return (loaded = "TAP addon disabled by OFFLOAD_EMU_NO_TAP");
  if (process.platform !== "linux") return (loaded = `TAP devices need Linux (this is ${process.platform})`);
  if (!existsSync(ADDON_PATH)) {
    let why = "never built: run `npm install` or `node scripts/build-tap.mjs`";
    try {
      const st = JSON.parse(readFileSync(STATUS_PATH, "utf8")) as { built: boolean; reason: string | null };
      if (!st.built && st.reason) why = `not built at install: ${st.reason}`;
    } catch {
      /* no status file: the install script never ran */
    }
    return (loaded = `TAP addon unavailable (${why})`);
  }
  try {
    return (loaded = createRequire(import.meta.url)(ADDON_PATH) as TapAddon);
  } catch (e) {
    return (loaded = `TAP addon unavailable (${ADDON_PATH} does not load: ${(e as Error).message}; rebuild with node scripts/build-tap.mjs)`);
  }
}

/** Reads options:ifname; the text is the Interface error when it is wrong. */
export function parseTapOptions(name: string, options: ReadonlyMap<string, string>): { ifname: string } | string {
  const ifname = options.get("ifname") ?? name;
  if (ifname === "") return "options:ifname is empty";
  if (Buffer.byteLength(ifname) >= IFNAMSIZ)
    return `options:ifname=${ifname}: longer than ${IFNAMSIZ - 1} bytes (IFNAMSIZ)`;
  if (/[\s/:]/.test(ifname) || ifname === "." || ifname === "..")
    return `options:ifname=${ifname}: not a valid interface name`;
  return { ifname };
}

/** The Interface error for an open() failure, by errno name. */
function openFailure(code: string | undefined, message: string, ifname: string): string {
  switch (code) {
    case "EPERM":
    case "EACCES":
      return `${message}: creating or attaching TAP device ${ifname} needs root or CAP_NET_ADMIN`;
    case "ENOENT":
    case "ENODEV":
    case "ENXIO":
      return `${message}: /dev/net/tun is missing (load the tun module: modprobe tun)`;
    case "EBUSY":
      return `${message}: TAP device ${ifname} is held by another process`;
    case "EINVAL":
      return `${message}: ${ifname} exists and is not a TAP device`;
    default:
      return message;
  }
}

export class TapPort implements PortDriver, LivePort {
  readonly live = true;
  readonly stats = new LiveStats();
  readonly ifname: string;
  private readonly buf = new Uint8Array(READ_BUF_BYTES);
  private readonly meta = new Int32Array(2 * READ_BATCH);
  private readonly handle: object;
  private closed = false;
  /** A write failed for good (device gone): later frames are dropped without trying. */
  private broken = false;

  constructor(
    private readonly addon: TapAddon,
    ifname: string,
    private readonly ctx: PortDriverContext,
  ) {
    const r = addon.open(ifname, this.buf, this.meta, (n, err) => this.onFrames(n, err));
    this.handle = r.handle;
    this.ifname = r.name;
  }

  private onFrames(n: number, err: number): void {
    const { buf, meta, stats, ctx } = this;
    for (let i = 0; i < n; i++) {
      const off = meta[2 * i] as number;
      const len = meta[2 * i + 1] as number;
      stats.rxFrames++;
      stats.rxBytes += len;
      ctx.receive(buf.subarray(off, off + len));
    }
    if (err !== 0 && !this.closed && !this.broken) {
      this.broken = true;
      ctx.fail(`TAP device ${this.ifname}: read failed: ${this.addon.strerror(err)}; was the device deleted?`);
    }
  }

  send(frame: Uint8Array): void {
    if (this.closed || this.broken) {
      this.stats.txDropped++;
      return;
    }
    const r = this.addon.write(this.handle, frame);
    if (r >= 0) {
      this.stats.txFrames++;
      this.stats.txBytes += frame.length;
      return;
    }
    this.stats.txDropped++;
    // A full queue or a device that is down loses the frame, as a cable with no link would.
    if (r !== -EAGAIN && r !== -EIO && r !== -ENOBUFS) {
      this.broken = true;
      this.ctx.fail(`TAP device ${this.ifname}: write failed: ${this.addon.strerror(-r)}; was the device deleted?`);
    }
  }

  describe(): string {
    return `tap ${this.ifname}`;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.addon.close(this.handle);
  }
}

export function openTap(row: InterfaceConfig, ctx: PortDriverContext): PortDriver | string {
  const o = parseTapOptions(row.name, row.options);
  if (typeof o === "string") return openError(row.name, o);
  const addon = tapAddon();
  if (typeof addon === "string") return openError(row.name, addon);
  try {
    return new TapPort(addon, o.ifname, ctx);
  } catch (e) {
    const x = e as { code?: string; message: string };
    return openError(row.name, openFailure(x.code, x.message, o.ifname));
  }
}

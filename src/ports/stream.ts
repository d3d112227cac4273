// A `stream` port: frames over TCP or a UNIX stream socket, each preceded by its length as a
// 4-byte big-endian number, as QEMU's `-netdev stream` and `-netdev socket,connect=/listen=`
// frame them (net/stream.c, net/socket.c: net_fill_rstate), so a QEMU VM or another offload-emu
// instance attaches without root or native code.
//
//   options:connect=tcp:HOST:PORT | unix:PATH   connect to a listening peer
//   options:listen=tcp:[HOST:]PORT | unix:PATH  wait for one peer (host left out: 127.0.0.1)
//   options:reconnect=SECONDS                   with connect: retry after a failure or a close
//                                               (QEMU's reconnect=); default 0, no retry
//
// Exactly one of connect and listen. A listening port takes one peer at a time, as QEMU does, and
// refuses others while it has one. Until a peer is there, frames leaving the switch are dropped
// and counted. When a connected peer goes away, the Interface error says so (and the port is
// down) until a peer connects again.
//
//   offload-emu vsctl add-port br0 link0 -- set Interface link0 type=stream options:listen=tcp:7000
//   offload-emu vsctl add-port br0 link0 -- set Interface link0 type=stream options:connect=tcp:127.0.0.1:7000
//   qemu-system-x86_64 ... -netdev stream,id=n0,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=7000
//
// Back-pressure: when more than STREAM_QUEUE_LIMIT_BYTES are waiting to be written to the
// socket, frames are dropped and counted rather than queued without end.

import { createConnection, createServer, type Server, type Socket } from "node:net";
import { rmSync } from "node:fs";
import type { InterfaceConfig } from "../ovsdb/config.ts";
import type { PortDriver, PortDriverContext } from "./port-driver.ts";
import { formatEndpoint, openError, parseStreamEndpoint, type Endpoint } from "./address.ts";
import { LiveStats, type LivePort } from "./stats.ts";

/** Bytes of the length field before each frame. */
export const FRAME_LEN_BYTES = 4;
/** The longest frame taken from a peer: QEMU's NET_BUFSIZE (4096 + 65536), its own limit. */
export const MAX_STREAM_FRAME = 4096 + 65536;
/** Bytes queued for the socket before frames are dropped. */
export const STREAM_QUEUE_LIMIT_BYTES = 1 << 20;

/**
 * Cuts a byte stream into frames. Bytes of a frame split across reads wait in one buffer owned
 * here; whole frames inside a read are passed on without copying. push() returns null, or why
 * the stream is not this framing (the connection should then be dropped).
 */
export class Deframer {
  private readonly buf = new Uint8Array(FRAME_LEN_BYTES + MAX_STREAM_FRAME);
  private readonly dv = new DataView(this.buf.buffer);
  private have = 0;
  /** Frames of length 0, which carry nothing and are skipped. */
  empty = 0;

  constructor(private readonly onFrame: (frame: Uint8Array) => void) {}

  /** Bytes of an incomplete frame waiting for the rest. */
  get pending(): number {
    return this.have;
  }

  reset(): void {
    this.have = 0;
  }

  push(chunk: Uint8Array): string | null {
    let pos = 0;
    const end = chunk.length;
    // First finish a frame started in an earlier chunk.
    while (this.have > 0 && pos < end) {
      if (this.have < FRAME_LEN_BYTES) {
        const n = Math.min(FRAME_LEN_BYTES - this.have, end - pos);
        this.buf.set(chunk.subarray(pos, pos + n), this.have);
        this.have += n;
        pos += n;
        if (this.have < FRAME_LEN_BYTES) return null;
        const bad = this.checkLen(this.dv.getUint32(0));
        if (bad !== null) return bad;
      }
      const want = FRAME_LEN_BYTES + this.dv.getUint32(0);
      const n = Math.min(want - this.have, end - pos);
      this.buf.set(chunk.subarray(pos, pos + n), this.have);
      this.have += n;
      pos += n;
      if (this.have === want) {
        this.have = 0;
        this.deliver(this.buf.subarray(FRAME_LEN_BYTES, want));
      }
    }
    // Then whole frames straight from the chunk.
    const cdv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (end - pos >= FRAME_LEN_BYTES) {
      const len = cdv.getUint32(pos);
      const bad = this.checkLen(len);
      if (bad !== null) return bad;
      if (end - pos < FRAME_LEN_BYTES + len) break;
      this.deliver(chunk.subarray(pos + FRAME_LEN_BYTES, pos + FRAME_LEN_BYTES + len));
      pos += FRAME_LEN_BYTES + len;
    }
    if (pos < end) {
      this.buf.set(chunk.subarray(pos, end), 0);
      this.have = end - pos;
      if (this.have >= FRAME_LEN_BYTES) {
        const bad = this.checkLen(this.dv.getUint32(0));
        if (bad !== null) return bad;
      }
    }
    return null;
  }

  private checkLen(len: number): string | null {
    if (len > MAX_STREAM_FRAME) {
      this.have = 0;
      return `peer sent a frame length of ${len} bytes (at most ${MAX_STREAM_FRAME}): not 4-byte big-endian length framing`;
    }
    return null;
  }

  private deliver(frame: Uint8Array): void {
    if (frame.length === 0) {
      this.empty++;
      return;
    }
    this.onFrame(frame);
  }
}

/** One frame with its length in front, as one buffer the socket may keep. */
export function encodeFrame(frame: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(FRAME_LEN_BYTES + frame.length);
  b.writeUInt32BE(frame.length, 0);
  b.set(frame, FRAME_LEN_BYTES);
  return b;
}

export interface StreamOptions {
  readonly mode: "connect" | "listen";
  readonly endpoint: Endpoint;
  /** With connect: seconds between attempts; 0 = no retry. */
  readonly reconnectS: number;
}

export function parseStreamOptions(options: ReadonlyMap<string, string>): StreamOptions | string {
  const connect = options.get("connect");
  const listen = options.get("listen");
  if (connect !== undefined && listen !== undefined) return "options:connect and options:listen together: choose one";
  if (connect === undefined && listen === undefined)
    return "options:connect=tcp:HOST:PORT|unix:PATH or options:listen=tcp:[HOST:]PORT|unix:PATH is required";
  const mode = connect !== undefined ? "connect" : "listen";
  const text = (connect ?? listen) as string;
  let endpoint: Endpoint | string;
  if (mode === "listen" && /^tcp:\d+$/.test(text)) endpoint = parseStreamEndpoint(`tcp:127.0.0.1:${text.slice(4)}`);
  else endpoint = parseStreamEndpoint(text);
  if (typeof endpoint === "string") return `options:${mode}=${text}: ${endpoint}`;
  const rc = options.get("reconnect");
  let reconnectS = 0;
  if (rc !== undefined) {
    if (mode !== "connect") return "options:reconnect goes with options:connect";
    if (!/^\d+$/.test(rc) || Number(rc) > 3600) return `options:reconnect=${rc}: expected seconds, 0 to 3600`;
    reconnectS = Number(rc);
  }
  return { mode, endpoint, reconnectS };
}

export class StreamPort implements PortDriver, LivePort {
  readonly live = true;
  readonly stats = new LiveStats();
  private sock: Socket | null = null;
  private server: Server | null = null;
  private closed = false;
  private failed = false;
  private retry: NodeJS.Timeout | null = null;
  /** A connect() not yet answered: close() must end it too, or it connects after the close. */
  private connecting: Socket | null = null;
  private readonly deframer: Deframer;

  constructor(
    readonly opts: StreamOptions,
    private readonly ctx: PortDriverContext,
  ) {
    this.deframer = new Deframer((f) => {
      this.stats.rxFrames++;
      this.stats.rxBytes += f.length;
      ctx.receive(f);
    });
    if (opts.mode === "connect") this.connect();
    else this.listen();
  }

  private get where(): string {
    return formatEndpoint(this.opts.endpoint);
  }

  private fail(text: string): void {
    this.failed = true;
    this.ctx.fail(text);
  }

  private connect(): void {
    const e = this.opts.endpoint;
    const s = e.kind === "unix" ? createConnection(e.path) : createConnection(e.port, e.host);
    this.connecting = s;
    let connected = false;
    s.on("connect", () => {
      connected = true;
      this.connecting = null;
      this.attach(s, `connected to ${this.where}`);
    });
    s.on("error", (err: NodeJS.ErrnoException) => {
      if (this.connecting === s) this.connecting = null;
      if (this.closed || connected) return; // after connect, "close" reports it
      const why = `connection to ${this.where} failed (${err.code ?? err.message})`;
      if (this.opts.reconnectS > 0) {
        this.ctx.log(`${why}; retrying in ${this.opts.reconnectS} s`);
        this.scheduleRetry();
      } else this.fail(openError(this.ctx.name, why));
    });
  }

  private scheduleRetry(): void {
    if (this.closed || this.retry !== null) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.closed) this.connect();
    }, this.opts.reconnectS * 1000);
  }

  private listen(): void {
    const e = this.opts.endpoint;
    const srv = createServer((s) => {
      if (this.sock !== null) {
        this.ctx.log(`refused a second peer on ${this.where} (one at a time)`);
        s.destroy();
        return;
      }
      this.attach(s, `peer connected on ${this.where}`);
    });
    this.server = srv;
    srv.on("error", (err: NodeJS.ErrnoException) => {
      if (!this.closed)
        this.fail(openError(this.ctx.name, `listen on ${this.where} failed (${err.code ?? err.message})`));
    });
    if (e.kind === "unix") {
      // A socket file left by an earlier run would make listen fail with EADDRINUSE.
      rmSync(e.path, { force: true });
      srv.listen(e.path, () => this.ctx.log(`listening on ${this.where}`));
    } else {
      srv.listen(e.port, e.host, () => this.ctx.log(`listening on ${this.where}`));
    }
  }

  private attach(s: Socket, what: string): void {
    this.sock = s;
    s.setNoDelay(true);
    this.deframer.reset();
    this.ctx.log(what);
    if (this.failed) {
      this.failed = false;
      this.ctx.recover();
    }
    s.on("data", (chunk: Buffer) => {
      const bad = this.deframer.push(chunk);
      if (bad !== null) {
        this.stats.rxErrors++;
        this.ctx.log(bad);
        s.destroy();
      }
    });
    s.on("error", () => {
      /* "close" follows */
    });
    s.on("close", () => {
      if (this.sock !== s) return;
      this.sock = null;
      if (this.closed) return;
      const retry = this.opts.mode === "connect" && this.opts.reconnectS > 0;
      this.fail(
        `${this.where}: connection closed by peer${this.opts.mode === "listen" ? "; waiting for a new one" : retry ? `; reconnecting every ${this.opts.reconnectS} s` : ""}`,
      );
      if (retry) this.scheduleRetry();
    });
  }

  send(frame: Uint8Array): void {
    const s = this.sock;
    if (s === null || this.closed || s.writableLength > STREAM_QUEUE_LIMIT_BYTES) {
      this.stats.txDropped++;
      return;
    }
    this.stats.txFrames++;
    this.stats.txBytes += frame.length;
    s.write(encodeFrame(frame));
  }

  describe(): string {
    const state =
      this.sock !== null ? "connected" : this.opts.mode === "listen" ? "waiting for a peer" : "not connected";
    return `stream ${this.opts.mode} ${this.where} (${state})`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retry !== null) clearTimeout(this.retry);
    this.connecting?.destroy();
    this.connecting = null;
    this.sock?.destroy();
    this.sock = null;
    const srv = this.server;
    if (srv !== null) {
      await new Promise<void>((res) => srv.close(() => res()));
      // node removes its UNIX socket file on close; nothing else to clean.
    }
  }
}

export function openStream(row: InterfaceConfig, ctx: PortDriverContext): PortDriver | string {
  const o = parseStreamOptions(row.options);
  if (typeof o === "string") return openError(row.name, o);
  return new StreamPort(o, ctx);
}

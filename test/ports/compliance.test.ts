// The PortDriver compliance suite (compliance.ts) over the live drivers as PORT_DRIVERS holds
// them once src/ports/live-ports.ts is loaded: dgram over UDP on loopback, stream over TCP on
// loopback and over a UNIX socket (the driver listening, and the driver connecting), and tap.
// The socket drivers need nothing; tap needs root, /dev/net/tun, the TAP addon, ip and socat
// (skipped with the reason on a developer's machine, failing under CI: live-helpers.ts).
//
// Each far end is plain Node sockets with its own framing code, never the driver's. A new driver
// is one more harness and one more portDriverCompliance line at the end of this file.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe } from "vitest";
import "../../src/ports/live-ports.ts";
import { PORT_DRIVERS, type PortDriverFactory } from "../../src/ports/port-driver.ts";
import { haveTool, requireTool } from "../helpers.ts";
import { assertLive, requireLive } from "../live/live-helpers.ts";
import { type FarEnd, type PortDriverHarness, portDriverCompliance, RecordingContext, until } from "./compliance.ts";
import { Links } from "../../src/ports/link.ts";
import { newInterface } from "../../src/ovsdb/config.ts";

function registered(type: string): PortDriverFactory {
  const f = PORT_DRIVERS.get(type);
  if (f === undefined) throw new Error(`no ${type} driver in PORT_DRIVERS`);
  return f;
}

const LOOPBACK = "127.0.0.1";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "oe-pdc-"));
}

/** A UDP socket on loopback that records the datagrams it gets. */
async function udpEnd(): Promise<{ sock: UdpSocket; port: number; got: Uint8Array[]; close(): Promise<void> }> {
  const sock = createSocket("udp4");
  const got: Uint8Array[] = [];
  sock.on("message", (m) => got.push(new Uint8Array(m)));
  await new Promise<void>((resolve) => sock.bind(0, LOOPBACK, resolve));
  return { sock, port: sock.address().port, got, close: () => new Promise((resolve) => sock.close(() => resolve())) };
}

/**
 * A port nobody holds right now, for a driver that must be given one (stream's listen= takes no
 * port 0, and released() needs the dgram port known before the bind). The kernel hands out
 * ephemeral ports in turn, so another taker in the moment between is not a concern here.
 */
async function freePort(kind: "udp" | "tcp"): Promise<number> {
  if (kind === "udp") {
    const u = await udpEnd();
    await u.close();
    return u.port;
  }
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, LOOPBACK, resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** Binds `port` (UDP) and lets it go: rejects with EADDRINUSE while the driver still holds it. */
async function udpBindsAgain(port: number): Promise<void> {
  const s = createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.bind(port, LOOPBACK, () => resolve());
  });
  await new Promise<void>((resolve) => s.close(() => resolve()));
}

type StreamAddr = { port: number } | { path: string };

/** Listens on `addr` and lets it go: rejects with EADDRINUSE while the driver still listens there. */
async function listensAgain(addr: StreamAddr): Promise<void> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    if ("path" in addr) srv.listen(addr.path, resolve);
    else srv.listen(addr.port, LOOPBACK, resolve);
  });
  await new Promise((resolve) => srv.close(resolve));
}

/**
 * One stream connection with QEMU's framing (4-byte big-endian length, then the frame), written
 * here rather than taken from stream.ts so that the two cannot share a mistake.
 */
class FramedConn {
  readonly got: Uint8Array[] = [];
  closed = false;
  private pending: Buffer = Buffer.alloc(0);

  constructor(readonly sock: Socket) {
    sock.on("data", (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 4 && this.pending.length >= 4 + this.pending.readUInt32BE(0)) {
        const len = this.pending.readUInt32BE(0);
        this.got.push(new Uint8Array(this.pending.subarray(4, 4 + len)));
        this.pending = this.pending.subarray(4 + len);
      }
    });
    sock.on("error", () => {
      /* a reset: "close" follows */
    });
    sock.on("close", () => {
      this.closed = true;
    });
  }

  send(frame: Uint8Array): void {
    const b = Buffer.alloc(4 + frame.length);
    b.writeUInt32BE(frame.length, 0);
    b.set(frame, 4);
    this.sock.write(b);
  }
}

/** Four bytes no frame starts with (a length over stream.ts's limit): marks the probe below. */
const PROBE = Buffer.from("ffffffff", "hex");

/** A far end that listens, for a driver with options:connect. */
async function listeningEnd(kind: "tcp" | "unix"): Promise<FarEnd> {
  const dir = kind === "unix" ? tempDir() : null;
  const conns: FramedConn[] = [];
  let probe: FramedConn | null = null;
  const srv: Server = createServer((s) => {
    const c = new FramedConn(s);
    conns.push(c);
    s.once("data", (first: Buffer) => {
      if (first.subarray(0, 4).equals(PROBE)) probe = c;
    });
  });
  const addr: StreamAddr = dir !== null ? { path: join(dir, "far.sock") } : { port: 0 };
  await new Promise<void>((resolve) => {
    if ("path" in addr) srv.listen(addr.path, resolve);
    else srv.listen(0, LOOPBACK, resolve);
  });
  const port = (srv.address() as { port?: number }).port;
  return {
    options: { connect: "path" in addr ? `unix:${addr.path}` : `tcp:${LOOPBACK}:${port}` },
    async attach(_driver, ctx) {
      await until(() => conns.length === 1, "the driver's connection");
      // The driver's "connect" event may come after the accept here.
      await until(() => ctx.logs.some((l) => l.startsWith("connected to")), "the driver to see its connection");
    },
    send: (frame) => conns[0]?.send(frame),
    get got() {
      return conns[0]?.got ?? [];
    },
    async released() {
      // Every connection the driver made must end. One it started just before close() may not
      // have been accepted yet: a probe connected now queues behind it (the kernel accepts in
      // order), so once the probe is in, so is any connection of the driver's.
      const s = "path" in addr ? createConnection(addr.path) : createConnection(port as number, LOOPBACK);
      s.on("error", () => {});
      s.write(PROBE);
      await until(() => probe !== null, "the probe connection");
      await until(
        () => conns.every((c) => c === probe || c.closed),
        "the far end to see every connection of the driver's closed",
      );
      s.destroy();
    },
    async cut() {
      conns[0]?.sock.destroy();
    },
    async dispose() {
      for (const c of conns) c.sock.destroy();
      await new Promise((resolve) => srv.close(resolve));
      if (dir !== null) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A far end that connects, for a driver with options:listen. */
async function connectingEnd(kind: "tcp" | "unix"): Promise<FarEnd> {
  const dir = kind === "unix" ? tempDir() : null;
  const addr: StreamAddr = dir !== null ? { path: join(dir, "driver.sock") } : { port: await freePort("tcp") };
  let conn: FramedConn | null = null;
  return {
    options: { listen: "path" in addr ? `unix:${addr.path}` : `tcp:${LOOPBACK}:${addr.port}` },
    async attach(_driver, ctx) {
      // The driver listens from its constructor on; the connection is accepted on the next turn.
      const s = "path" in addr ? createConnection(addr.path) : createConnection(addr.port, LOOPBACK);
      conn = new FramedConn(s);
      await new Promise<void>((resolve, reject) => {
        s.once("connect", resolve);
        s.once("error", reject);
      });
      await until(() => ctx.logs.some((l) => l.startsWith("peer connected")), "the driver to take the connection");
    },
    send: (frame) => conn?.send(frame),
    get got() {
      return conn?.got ?? [];
    },
    async released() {
      const c = conn;
      if (c !== null) await until(() => c.closed, "the far end to see the connection closed");
      await listensAgain(addr);
    },
    async cut() {
      conn?.sock.destroy();
    },
    async dispose() {
      conn?.sock.destroy();
      if (dir !== null) rmSync(dir, { recursive: true, force: true });
    },
  };
}

const DGRAM: PortDriverHarness = {
  type: "dgram",
  factory: registered("dgram"),
  live: true,
  peerLoss: false,
  badOptions: [{}, { remote: "localhost:5555" }, { remote: `${LOOPBACK}:0` }, { local: "[::1]:0", remote: "5555" }],
  async far() {
    const peer = await udpEnd();
    const local = await freePort("udp");
    return {
      options: { local: `${LOOPBACK}:${local}`, remote: `${LOOPBACK}:${peer.port}` },
      // DgramPort logs its endpoints once bound; until then it drops what it is sent.
      attach: (_driver, ctx) => until(() => ctx.logs.some((l) => l.startsWith("dgram:")), "the driver's bind"),
      send: (frame) => peer.sock.send(frame, local, LOOPBACK),
      got: peer.got,
      released: () => udpBindsAgain(local),
      dispose: () => peer.close(),
    };
  },
};

const STREAM_BAD: Record<string, string>[] = [
  {},
  { connect: `tcp:${LOOPBACK}:5555`, listen: "tcp:5555" },
  { listen: "tcp:0" },
  { connect: "udp:127.0.0.1:5555" },
  { listen: "unix:/tmp/x", reconnect: "1" },
];

const streamHarness = (far: () => Promise<FarEnd>): PortDriverHarness => ({
  type: "stream",
  factory: registered("stream"),
  live: true,
  peerLoss: true,
  badOptions: STREAM_BAD,
  far,
});

/**
 * The far side of a TAP device is the kernel. The device is moved into a namespace of its own,
 * with IPv6 off so that the kernel sends nothing of its own on it, and socat there reads and
 * writes frames on it through a packet socket (INTERFACE). Node cannot open that socket, nor a
 * socket in another namespace, so a second socat relays each frame as one datagram between a
 * UNIX datagram socket (a file, reachable from both namespaces) and UDP on loopback here.
 */
class TapEnd implements FarEnd {
  private static count = 0;
  readonly ifname: string;
  readonly ns: string;
  readonly options: Record<string, string>;
  private readonly dir = tempDir();
  private readonly procs: ChildProcess[] = [];
  private relayPort = 0;
  private moved = false;

  private constructor(private readonly peer: Awaited<ReturnType<typeof udpEnd>>) {
    const n = ++TapEnd.count;
    this.ifname = `oepc${process.pid % 100000}${n}`.slice(0, 15);
    this.ns = `oe-pdc${n}-${process.pid}`;
    this.options = { ifname: this.ifname };
    execFileSync("ip", ["netns", "add", this.ns]);
    TAP_NAMESPACES.add(this.ns);
    execFileSync("ip", [
      "netns",
      "exec",
      this.ns,
      "sysctl",
      "-qw",
      "net.ipv6.conf.all.disable_ipv6=1",
      "net.ipv6.conf.default.disable_ipv6=1",
    ]);
  }

  static async make(): Promise<TapEnd> {
    return new TapEnd(await udpEnd());
  }

  get got(): readonly Uint8Array[] {
    return this.peer.got;
  }

  /** Starts socat; resolves with its stderr once it moves data (socat -d -d says so). */
  private async socat(args: string[], inNs: boolean): Promise<string> {
    const argv = ["-d", "-d", ...args];
    const p = inNs ? spawn("ip", ["netns", "exec", this.ns, "socat", ...argv]) : spawn("socat", argv);
    this.procs.push(p);
    let err = "";
    // Read stderr to the end: socat logs each packet at -d -d and would block on a full pipe.
    p.stderr?.on("data", (d: Buffer) => {
      if (err.length < 1 << 16) err += d.toString();
    });
    await until(
      () => err.includes("starting data transfer loop") || p.exitCode !== null,
      `socat ${args.join(" ")} to start`,
    );
    if (p.exitCode !== null) throw new Error(`socat ${args.join(" ")} exited: ${err}`);
    return err;
  }

  async attach(): Promise<void> {
    execFileSync("ip", ["link", "set", this.ifname, "netns", this.ns]);
    this.moved = true;
    execFileSync("ip", ["-n", this.ns, "link", "set", this.ifname, "up"]);
    const inside = join(this.dir, "ns.sock");
    const outside = join(this.dir, "relay.sock");
    await this.socat([`INTERFACE:${this.ifname}`, `UNIX-SENDTO:${outside},bind=${inside}`], true);
    const log = await this.socat(
      [`UNIX-SENDTO:${inside},bind=${outside}`, `UDP-SENDTO:${LOOPBACK}:${this.peer.port},bind=${LOOPBACK}:0`],
      false,
    );
    const m = /prepared local socket AF=2 127\.0\.0\.1:(\d+)/.exec(log);
    if (m === null) throw new Error(`no UDP port in socat's log: ${log}`);
    this.relayPort = Number(m[1]);
  }

  send(frame: Uint8Array): void {
    this.peer.sock.send(frame, this.relayPort, LOOPBACK);
  }

  private exists(ns: string | null): boolean {
    try {
      execFileSync("ip", [...(ns ? ["-n", ns] : []), "link", "show", "dev", this.ifname], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  }

  async released(): Promise<void> {
    // A device the driver created goes when its descriptor closes (no TUNSETPERSIST).
    if (this.exists(this.moved ? this.ns : null)) throw new Error(`${this.ifname} still exists after close()`);
  }

  async cut(): Promise<void> {
    execFileSync("ip", ["-n", this.ns, "link", "del", this.ifname]);
  }

  async dispose(): Promise<void> {
    for (const p of this.procs) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      const exited = new Promise((resolve) => p.once("exit", resolve));
      p.kill();
      await exited;
    }
    await this.peer.close();
    deleteNamespace(this.ns);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const TAP_NAMESPACES = new Set<string>();

function deleteNamespace(ns: string): void {
  try {
    execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  } catch {
    /* already gone */
  }
  TAP_NAMESPACES.delete(ns);
}

const TAP: PortDriverHarness = {
  type: "tap",
  factory: registered("tap"),
  live: true,
  peerLoss: true,
  badOptions: [{ ifname: "a-very-long-name0" }, { ifname: "" }, { ifname: "a/b" }],
  far: () => TapEnd.make(),
};

portDriverCompliance("dgram (UDP on loopback)", DGRAM);
portDriverCompliance(
  "stream listen=tcp",
  streamHarness(() => connectingEnd("tcp")),
);
portDriverCompliance(
  "stream connect=tcp",
  streamHarness(() => listeningEnd("tcp")),
);
portDriverCompliance(
  "stream listen=unix",
  streamHarness(() => connectingEnd("unix")),
);
portDriverCompliance(
  "stream connect=unix",
  streamHarness(() => listeningEnd("unix")),
);

/**
 * The scenario's in-process link (src/ports/link.ts): the far end is a second port on the other
 * end of the wire, opened through the same factory; the wire is drained whenever the far end
 * sends or is read, as the scenario runner drains it between packets. Options name the end
 * (`end=a`), which the scenario does by Interface instead.
 */
let wire = new Links();
const LINK: PortDriverHarness = {
  type: "link",
  factory: (row, ctx) => wire.factory(row.options.get("end") ?? "")(row, ctx),
  live: false,
  peerLoss: false,
  badOptions: [{ end: "nowhere" }, {}],
  async far() {
    wire = new Links();
    wire.connect("a", "b");
    wire.plug();
    const links = wire;
    const got: Uint8Array[] = [];
    const farCtx = new RecordingContext("far");
    const farDriver = links.factory("b")(newInterface("far", "link", {}), farCtx);
    if (typeof farDriver === "string") throw new Error(farDriver);
    const drain = () => links.drain((to, frame, receive) => (to === "b" ? got.push(frame.slice()) : receive(frame)));
    return {
      options: { end: "a" },
      attach: async () => {},
      send: (frame) => {
        farDriver.send(frame);
        drain();
      },
      get got() {
        drain();
        return got;
      },
      released: () => until(() => !links.isOpen("a"), "the link end let go"),
      dispose: async () => {
        await farDriver.close();
      },
    };
  },
};
portDriverCompliance("link (in-process wire)", LINK);

/** requireLive's rule (skip with the reason, but run and fail under CI), with socat besides. */
function requireTapEnd(what: string): boolean {
  if (!requireLive(what, { tap: true })) return false;
  if (requireTool("socat")) return true;
  console.warn(`skipping ${what}: needs socat (Debian: socat)`);
  return false;
}

describe.runIf(requireTapEnd("the TAP driver's compliance"))("tap (root, /dev/net/tun, the addon, socat)", () => {
  beforeAll(() => {
    assertLive({ tap: true });
    if (!haveTool("socat")) throw new Error("live test cannot run: needs socat (Debian: socat)");
  });
  afterAll(() => {
    for (const ns of TAP_NAMESPACES) deleteNamespace(ns);
  });
  portDriverCompliance("tap", TAP);
});

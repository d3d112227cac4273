// The link formats and the live ports' options, without root: stream framing as QEMU writes it
// (net/stream.c net_stream_receive and net/socket.c net_socket_receive send htonl(size), 4 bytes,
// then the frame; net_fill_rstate reads it back and refuses more than NET_BUFSIZE = 4096 + 65536),
// dgram as one frame per datagram (net/dgram.c net_dgram_receive: sendto of the frame alone),
// and the option errors that land in the Interface error column.

import { afterEach, describe, expect, it } from "vitest";
import { createSocket } from "node:dgram";
import { createServer, type Socket } from "node:net";
import { parseHostPort, parseStreamEndpoint } from "../../src/ports/address.ts";
import { DgramPort, parseDgramOptions } from "../../src/ports/dgram.ts";
import { Deframer, encodeFrame, parseStreamOptions, StreamPort } from "../../src/ports/stream.ts";
import { parseTapOptions } from "../../src/ports/tap.ts";
import type { PortDriverContext } from "../../src/ports/port-driver.ts";

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
// An ARP request, 42 bytes (tshark: "Who has 10.77.0.2? Tell 10.77.0.1"), from the TAP test's capture.
const ARP = hex(`ffffffffffff ced75415d314 0806 0001 0800 06 04 0001 ced75415d314 0a4d0001 000000000000 0a4d0002`);
// The same frame as QEMU puts it on a stream: htonl(42) = 00 00 00 2a, then the frame.
const ARP_STREAM = hex(
  `0000002a ffffffffffff ced75415d314 0806 0001 0800 06 04 0001 ced75415d314 0a4d0001 000000000000 0a4d0002`,
);

function collect(): { frames: Uint8Array[]; d: Deframer } {
  const frames: Uint8Array[] = [];
  return { frames, d: new Deframer((f) => frames.push(f.slice())) };
}

describe("stream framing (4-byte big-endian length, QEMU -netdev stream)", () => {
  it("puts the length before the frame as QEMU does", () => {
    expect(new Uint8Array(encodeFrame(ARP))).toEqual(ARP_STREAM);
  });

  it("cuts frames at every split of the byte stream", () => {
    const two = new Uint8Array(2 * ARP_STREAM.length);
    two.set(ARP_STREAM, 0);
    two.set(ARP_STREAM, ARP_STREAM.length);
    for (let cut = 0; cut <= two.length; cut++) {
      const { frames, d } = collect();
      expect(d.push(two.subarray(0, cut))).toBeNull();
      expect(d.push(two.subarray(cut))).toBeNull();
      expect(frames, `cut at ${cut}`).toEqual([ARP, ARP]);
      expect(d.pending).toBe(0);
    }
    const { frames, d } = collect();
    for (let i = 0; i < two.length; i++) expect(d.push(two.subarray(i, i + 1))).toBeNull();
    expect(frames).toEqual([ARP, ARP]);
  });

  it("skips empty frames and refuses a length over NET_BUFSIZE (4096 + 65536)", () => {
    const { frames, d } = collect();
    expect(d.push(hex("00000000"))).toBeNull();
    expect(d.empty).toBe(1);
    expect(frames).toEqual([]);
    expect(d.push(hex("00011001"))).toBe(
      "peer sent a frame length of 69633 bytes (at most 69632): not 4-byte big-endian length framing",
    );
    const ok = collect();
    const big = new Uint8Array(4 + 69632);
    big.set(hex("00011000"));
    expect(ok.d.push(big)).toBeNull();
    expect(ok.frames.length).toBe(1);
  });
});

describe("options", () => {
  it("parses addresses, loopback when the host is left out", () => {
    expect(parseHostPort("5555", "udp", false)).toEqual({ kind: "udp", host: "127.0.0.1", port: 5555 });
    expect(parseHostPort("[::1]:7", "udp", false)).toEqual({ kind: "udp", host: "::1", port: 7 });
    expect(parseHostPort("::1:7", "udp", false)).toBe("write an IPv6 address in brackets: [::1]:7");
    expect(parseHostPort("10.0.0.1:0", "udp", false)).toBe("port 0 out of range (1 to 65535)");
    expect(parseHostPort("10.0.0.1:65536", "udp", false)).toBe("port 65536 out of range (1 to 65535)");
    expect(parseStreamEndpoint("unix:/run/x.sock")).toEqual({ kind: "unix", path: "/run/x.sock" });
    expect(parseStreamEndpoint(`unix:/${"x".repeat(107)}`)).toBe("socket path too long (108 bytes, at most 107)");
    expect(parseStreamEndpoint("udp:1.2.3.4:5")).toBe('expected tcp:HOST:PORT or unix:PATH, got "udp:1.2.3.4:5"');
  });

  it("checks dgram, stream and tap options", () => {
    const m = (o: Record<string, string>) => new Map(Object.entries(o));
    expect(parseDgramOptions(m({}))).toBe("options:remote=ADDR:PORT is required (where frames go)");
    expect(parseDgramOptions(m({ remote: "localhost:5" }))).toBe(
      'options:remote=localhost:5: "localhost" is not an IP address',
    );
    expect(parseDgramOptions(m({ remote: "[::1]:5" }))).toBe(
      "options:local=127.0.0.1:0 and options:remote=[::1]:5 are not the same IP version",
    );
    expect(parseDgramOptions(m({ remote: "5556" }))).toEqual({
      local: { kind: "udp", host: "127.0.0.1", port: 0 },
      remote: { kind: "udp", host: "127.0.0.1", port: 5556 },
    });
    expect(parseStreamOptions(m({}))).toBe(
      "options:connect=tcp:HOST:PORT|unix:PATH or options:listen=tcp:[HOST:]PORT|unix:PATH is required",
    );
    expect(parseStreamOptions(m({ connect: "tcp:1.2.3.4:5", listen: "tcp:5" }))).toBe(
      "options:connect and options:listen together: choose one",
    );
    expect(parseStreamOptions(m({ listen: "tcp:7000" }))).toEqual({
      mode: "listen",
      endpoint: { kind: "tcp", host: "127.0.0.1", port: 7000 },
      reconnectS: 0,
    });
    expect(parseStreamOptions(m({ connect: "tcp:7000", reconnect: "2" }))).toEqual({
      mode: "connect",
      endpoint: { kind: "tcp", host: "127.0.0.1", port: 7000 },
      reconnectS: 2,
    });
    expect(parseStreamOptions(m({ listen: "unix:/x", reconnect: "1" }))).toBe(
      "options:reconnect goes with options:connect",
    );
    expect(parseTapOptions("vm1", m({}))).toEqual({ ifname: "vm1" });
    expect(parseTapOptions("vm1", m({ ifname: "a-very-long-name0" }))).toBe(
      "options:ifname=a-very-long-name0: longer than 15 bytes (IFNAMSIZ)",
    );
  });
});

/** A PortDriverContext that records what the driver did. */
function fakeCtx(name: string) {
  const got: Uint8Array[] = [];
  const errors: string[] = [];
  let recovered = 0;
  const ctx: PortDriverContext = {
    name,
    receive: (f) => {
      got.push(new Uint8Array(f));
    }, // a copy, as a plain Uint8Array (sockets hand Buffers)
    fail: (e) => {
      errors.push(e);
    },
    recover: () => {
      recovered++;
    },
    log: () => {},
  };
  return { ctx, got, errors, recovered: () => recovered };
}

const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
};

describe("live ports on loopback sockets (no root)", () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it("stream connect: frames from a QEMU-framed peer arrive, frames sent reach it framed", async () => {
    const peerGot: Buffer[] = [];
    let peer: Socket | null = null;
    const srv = createServer((s) => {
      peer = s;
      s.on("data", (d) => peerGot.push(d));
      s.write(Buffer.concat([ARP_STREAM, ARP_STREAM.subarray(0, 5)]));
      s.write(ARP_STREAM.subarray(5));
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    cleanups.push(
      () =>
        new Promise((r) => {
          peer?.destroy();
          srv.close(r);
        }),
    );
    const port = (srv.address() as { port: number }).port;
    const f = fakeCtx("l1");
    const d = new StreamPort(
      { mode: "connect", endpoint: { kind: "tcp", host: "127.0.0.1", port }, reconnectS: 0 },
      f.ctx,
    );
    cleanups.push(() => d.close());
    await until(() => f.got.length === 2, "two frames");
    expect(f.got).toEqual([ARP, ARP]);
    d.send(ARP);
    await until(() => Buffer.concat(peerGot).length === ARP_STREAM.length, "the framed frame");
    expect(new Uint8Array(Buffer.concat(peerGot))).toEqual(ARP_STREAM);
    (peer as Socket | null)?.destroy();
    await until(() => f.errors.length === 1, "the close");
    expect(f.errors).toEqual(["tcp:127.0.0.1:" + port + ": connection closed by peer"]);
    d.send(ARP);
    expect(d.stats.txDropped).toBe(1);
  });

  it("stream connect to nothing fails with the reason", async () => {
    const f = fakeCtx("l2");
    const d = new StreamPort(
      { mode: "connect", endpoint: { kind: "unix", path: "/nonexistent/emu.sock" }, reconnectS: 0 },
      f.ctx,
    );
    cleanups.push(() => d.close());
    await until(() => f.errors.length === 1, "the error");
    expect(f.errors[0]).toBe(
      "could not open network device l2 (connection to unix:/nonexistent/emu.sock failed (ENOENT))",
    );
  });

  it("dgram: one frame per datagram both ways", async () => {
    const peer = createSocket("udp4");
    const peerGot: Buffer[] = [];
    peer.on("message", (m) => peerGot.push(m));
    await new Promise<void>((r) => peer.bind(0, "127.0.0.1", r));
    cleanups.push(() => new Promise<void>((r) => peer.close(() => r())));
    const f = fakeCtx("u1");
    const d = new DgramPort(
      {
        local: { kind: "udp", host: "127.0.0.1", port: 0 },
        remote: { kind: "udp", host: "127.0.0.1", port: peer.address().port },
      },
      f.ctx,
    );
    cleanups.push(() => d.close());
    await until(() => d.localEndpoint.port !== 0, "the bind");
    peer.send(ARP, d.localEndpoint.port, "127.0.0.1");
    peer.send(ARP.subarray(0, 14), d.localEndpoint.port, "127.0.0.1");
    await until(() => f.got.length === 2, "two datagrams");
    expect(f.got).toEqual([ARP, ARP.subarray(0, 14)]);
    d.send(ARP);
    await until(() => peerGot.length === 1, "the datagram");
    expect(new Uint8Array(peerGot[0] as Buffer)).toEqual(ARP);
    expect(d.describe()).toBe(`udp 127.0.0.1:${d.localEndpoint.port} -> 127.0.0.1:${peer.address().port}`);
  });
});

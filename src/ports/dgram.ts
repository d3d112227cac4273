// A `dgram` port: one Ethernet frame per UDP datagram, no header, as QEMU's
// `-netdev dgram,local.type=inet,...,remote.type=inet,...` and `-netdev socket,udp=REMOTE,localaddr=LOCAL`
// carry them, so a QEMU VM, another offload-emu instance or socat can sit behind the port
// without root or native code.
//
//   options:remote=ADDR:PORT  where frames leaving the switch go (required)
//   options:local=ADDR:PORT   where frames arrive (default 127.0.0.1:0, an ephemeral port that
//                             `appctl live/show` prints); ADDR alone may be left out: PORT means
//                             127.0.0.1:PORT. IPv6 as [::1]:PORT. Addresses are IP literals.
//
// Any sender's datagrams are taken (as QEMU does): bind to loopback unless the peer is elsewhere.
//
// Examples:
//   offload-emu vsctl add-port br0 vm1 -- set Interface vm1 type=dgram \
//       options:local=127.0.0.1:5555 options:remote=127.0.0.1:5556
//   qemu-system-x86_64 ... -netdev dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=5556,\
//       remote.type=inet,remote.host=127.0.0.1,remote.port=5555 -device virtio-net,netdev=n0
//
// A real TAP without our addon (socat bridges it; needs root for the TAP, not for the switch):
//   socat TUN,tun-type=tap,iff-no-pi,tun-name=emu0,iff-up \
//         UDP-DATAGRAM:127.0.0.1:5555,bind=127.0.0.1:5556
// socat reads one frame per read() from the TAP and sends it as one datagram, and writes each
// datagram it gets as one frame, which is this port's format exactly.
//
// Back-pressure: when more than DGRAM_QUEUE_LIMIT datagrams wait in the socket's send queue the
// frame is dropped and counted (UDP would lose it anyway; queueing more only adds latency).

import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import type { InterfaceConfig } from "../ovsdb/config.ts";
import type { PortDriver, PortDriverContext } from "./port-driver.ts";
import { LOOPBACK, formatEndpoint, openError, parseHostPort, type InetEndpoint } from "./address.ts";
import { LiveStats, type LivePort } from "./stats.ts";

/** Datagrams waiting in libuv's send queue before a frame is dropped. */
export const DGRAM_QUEUE_LIMIT = 1024;

export interface DgramOptions {
  readonly local: InetEndpoint;
  readonly remote: InetEndpoint;
}

/** Reads options:local and options:remote; the text is the Interface error when they are wrong. */
export function parseDgramOptions(options: ReadonlyMap<string, string>): DgramOptions | string {
  const remoteText = options.get("remote");
  if (remoteText === undefined) return "options:remote=ADDR:PORT is required (where frames go)";
  const remote = parseHostPort(remoteText, "udp", false);
  if (typeof remote === "string") return `options:remote=${remoteText}: ${remote}`;
  const localText = options.get("local") ?? `${LOOPBACK}:0`;
  const local = parseHostPort(localText, "udp", true);
  if (typeof local === "string") return `options:local=${localText}: ${local}`;
  if (isIP(remote.host) === 0) return `options:remote=${remoteText}: "${remote.host}" is not an IP address`;
  if (isIP(local.host) === 0) return `options:local=${localText}: "${local.host}" is not an IP address`;
  if (isIP(local.host) !== isIP(remote.host))
    return `options:local=${localText} and options:remote=${remoteText} are not the same IP version`;
  return { local, remote };
}

export class DgramPort implements PortDriver, LivePort {
  readonly live = true;
  readonly stats = new LiveStats();
  private readonly sock: Socket;
  private bound = false;
  private closed = false;
  private readonly onSent = (err: Error | null): void => {
    if (err) this.stats.txDropped++;
  };

  constructor(
    readonly opts: DgramOptions,
    private readonly ctx: PortDriverContext,
  ) {
    this.sock = createSocket({ type: isIP(opts.local.host) === 6 ? "udp6" : "udp4" });
    this.sock.on("error", (e) => {
      if (this.closed) return;
      this.ctx.fail(
        openError(ctx.name, `UDP ${formatEndpoint(opts.local)}: ${(e as NodeJS.ErrnoException).code ?? e.message}`),
      );
    });
    this.sock.on("message", (msg) => {
      this.stats.rxFrames++;
      this.stats.rxBytes += msg.length;
      this.ctx.receive(msg);
    });
    this.sock.bind(opts.local.port, opts.local.host, () => {
      this.bound = true;
      this.ctx.log(`dgram: ${this.describe()}`);
    });
  }

  send(frame: Uint8Array): void {
    if (!this.bound || this.closed || this.sock.getSendQueueCount() >= DGRAM_QUEUE_LIMIT) {
      this.stats.txDropped++;
      return;
    }
    this.stats.txFrames++;
    this.stats.txBytes += frame.length;
    // The frame is valid only during this call, and dgram may send after it returns: copy.
    this.sock.send(Buffer.from(frame), this.opts.remote.port, this.opts.remote.host, this.onSent);
  }

  /** The local endpoint as bound (the real port when options:local asked for 0). */
  get localEndpoint(): InetEndpoint {
    if (!this.bound) return this.opts.local;
    const a = this.sock.address();
    return { kind: "udp", host: a.address, port: a.port };
  }

  describe(): string {
    return `udp ${formatEndpoint(this.localEndpoint)} -> ${formatEndpoint(this.opts.remote)}`;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((res) => {
      try {
        this.sock.close(() => res());
      } catch {
        res();
      } // never bound: nothing to close
    });
  }
}

export function openDgram(row: InterfaceConfig, ctx: PortDriverContext): PortDriver | string {
  const o = parseDgramOptions(row.options);
  if (typeof o === "string") return openError(row.name, o);
  return new DgramPort(o, ctx);
}

// Endpoint options of the live ports (dgram.ts, stream.ts): ADDR:PORT for UDP, and QEMU-like
// tcp:HOST:PORT / unix:PATH for streams. Parsing only, no sockets, so the option errors a user
// sees in the Interface error column are tested without opening anything.
//
// A host left out means loopback: a port never listens on, or sends to, another machine unless
// the user names an address.

import { isIP } from "node:net";

export const LOOPBACK = "127.0.0.1";

export interface InetEndpoint {
  readonly kind: "tcp" | "udp";
  readonly host: string;
  readonly port: number;
}
export interface UnixEndpoint {
  readonly kind: "unix";
  readonly path: string;
}
export type Endpoint = InetEndpoint | UnixEndpoint;

/** Linux's sun_path holds 108 bytes with the terminating NUL (unix(7)). */
export const MAX_UNIX_PATH_BYTES = 107;

/**
 * HOST:PORT, [IPV6]:PORT, or PORT alone (host = loopback). `allowZero` lets a local address take
 * an ephemeral port. Returns the endpoint or why the text is not one.
 */
export function parseHostPort(text: string, kind: "tcp" | "udp", allowZero: boolean): InetEndpoint | string {
  let host = LOOPBACK;
  let portText = text;
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0 || text[end + 1] !== ":") return `expected [IPV6]:PORT, got "${text}"`;
    host = text.slice(1, end);
    if (isIP(host) !== 6) return `"${host}" is not an IPv6 address`;
    portText = text.slice(end + 2);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon >= 0) {
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
      if (host.includes(":")) return `write an IPv6 address in brackets: [${host}]:${portText}`;
      if (host === "") return `no host before ":${portText}"`;
    }
  }
  if (!/^\d{1,5}$/.test(portText)) return `"${portText}" is not a port number`;
  const port = Number(portText);
  if (port > 65535 || (port === 0 && !allowZero)) return `port ${port} out of range (1 to 65535)`;
  return { kind, host, port };
}

/** tcp:HOST:PORT, tcp:PORT, or unix:PATH (QEMU's -netdev stream addr.type=inet|unix, in ovs-vsctl's style). */
export function parseStreamEndpoint(text: string): Endpoint | string {
  if (text.startsWith("unix:")) {
    const path = text.slice(5);
    if (path === "") return "unix: needs a socket path";
    if (Buffer.byteLength(path) > MAX_UNIX_PATH_BYTES)
      return `socket path too long (${Buffer.byteLength(path)} bytes, at most ${MAX_UNIX_PATH_BYTES})`;
    return { kind: "unix", path };
  }
  if (text.startsWith("tcp:")) return parseHostPort(text.slice(4), "tcp", false);
  return `expected tcp:HOST:PORT or unix:PATH, got "${text}"`;
}

export function formatEndpoint(e: Endpoint): string {
  if (e.kind === "unix") return `unix:${e.path}`;
  const host = e.host.includes(":") ? `[${e.host}]` : e.host;
  return e.kind === "tcp" ? `tcp:${host}:${e.port}` : `${host}:${e.port}`;
}

/** OVS's wording for a port that did not open, with our reason in the parentheses. */
export function openError(name: string, reason: string): string {
  return `could not open network device ${name} (${reason})`;
}

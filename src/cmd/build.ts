// `offload-emu build SPEC --out FILE`: packets from a JSON or YAML description into a capture.
//
// The spec lists packets, each a PacketSpec of src/wire/build.ts (layers outermost first, a
// payload) plus how many copies to write, a pcapng comment and the interface it appears on.
// Everything is checked before the output file is opened, so a bad spec leaves no half-written
// capture, and a mistake is reported at its line and column in the file (YAML is a superset of
// JSON, so both go through the `yaml` parser, which keeps every node's position). Timestamps are
// a fixed start plus a fixed step per packet: the same spec always gives the same bytes.

import { readFileSync } from "node:fs";
import { LineCounter, parseDocument, isNode, type Document } from "yaml";
import { buildPacket, compilePacket, SpecError, type PacketSpec } from "../wire/build.ts";
import { openPcapFile } from "../io/pcap.ts";
import { openPcapngFile } from "../io/pcapng.ts";
import { Args, UsageError } from "./args.ts";

const HELP = `usage: offload-emu build SPEC --out FILE.pcap|FILE.pcapng [options]

Builds packets described in SPEC (JSON or YAML) and writes them to a capture. Every field left
out gets a default, every length, "next protocol" field and checksum is computed (innermost
first), and any of them can be given explicitly (to build a bad checksum on purpose).

options:
  --out FILE, -o FILE   the capture to write; .pcapng (one interface per named interface,
                        packet comments) or .pcap (comments and interfaces are dropped)
  --format pcap|pcapng  override the format the extension implies
  --start TIME          first timestamp: seconds since 1970 or an ISO date
                        (default 2024-01-01T00:00:00Z)
  --step DURATION       time between packets: 1s, 10ms, 100us, 500ns (default 1ms)
  --help, -h            this text

SPEC is {packets: [...], interfaces: [...]} or a bare list of packets. A packet is
  layers:     the headers, outermost first, each {protocol: {fields}} (below)
  payload:    "text" | {hex: "0a0b0c"} | {len: N}  (N bytes 0, 1, 2 …); default none
  pad:        pad the frame with zeros to this many bytes (60 = Ethernet minimum)
  count:      write it N times (default 1)
  comment:    pcapng packet comment
  interface:  name of the pcapng interface (default the first; interfaces: ["p1", "p2"]
              or [{name: "p1", description: "…"}] name them, else each name used makes one)

layers and their fields (all optional; numbers may be 0x… text):
  eth     src dst type                    MACs default 02:00:00:00:00:01 / :02
  vlan    vid pcp dei tpid type           vid 1; tpid 0x88a8 if a tag follows, else 0x8100
  arp     op(request|reply) sha spa tha tpa
  ipv4    src dst ttl tos id df mf offset proto options totalLen checksum
          addresses default 192.0.2.1 -> 192.0.2.2, ttl 64
          options: hex, or [{type: 131, data: "04c6336401"}]
  ipv6    src dst hlimit tclass label proto payloadLen ext
          addresses default 2001:db8::1 -> 2001:db8::2, hlimit 64
          ext: [{hopopts: {options}}, {dstopts: {options}},
                {routing: {type, segLeft, addresses}}, {fragment: {offset, more, id}}]
  udp     src dst len checksum csum       dst 4789/6081 before vxlan/geneve; a tunnel's UDP
                                          checksum is 0 over IPv4 unless csum: true
  tcp     src dst seq ack flags window urgent options checksum
          flags: [SYN, ACK] (default SYN, or ACK when ack is given)
  icmp    type code id seq mtu pointer gateway rest checksum
          type: echo-request (default), echo-reply, dest-unreachable, time-exceeded, …;
          an error quotes the layers after it
  icmpv6  type code id seq mtu pointer target sll tll flags rest checksum
          type: echo-request (default), ns, na, packet-too-big, …; NS/NA carry a
          link-layer option (sll / tll; false leaves it out)
  gre     proto csum checksum key seq vsid flowId   (vsid: NVGRE)
  vxlan   vni flags
  geneve  vni proto oam critical options: [{class: 0x0102, type: 0x80, data: "00000001"}]

example (VXLAN over IPv6 carrying a VLAN-tagged TCP SYN):
  packets:
    - comment: vxlan over ipv6, inner vlan 10
      layers:
        - eth: {src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02"}
        - vlan: {vid: 100, pcp: 3}
        - ipv6: {src: "2001:db8::1", dst: "2001:db8::2"}
        - udp: {}
        - vxlan: {vni: 5001}
        - eth: {src: "02:00:00:00:01:01", dst: "02:00:00:00:01:02"}
        - vlan: {vid: 10}
        - ipv4: {src: "10.0.0.1", dst: "10.0.0.2", ttl: 63}
        - tcp: {src: 1234, dst: 80, flags: [SYN]}
      payload: {len: 16}
`;

const DEFAULT_START_NS = BigInt(Date.UTC(2024, 0, 1)) * 1_000_000n;
const DEFAULT_STEP_NS = 1_000_000n;
const MAX_COUNT = 1_000_000;
const PACKET_KEYS = ["layers", "payload", "pad", "count", "comment", "interface"] as const;

interface Options {
  spec: string;
  out: string;
  format: "pcap" | "pcapng";
  startNs: bigint;
  stepNs: bigint;
}

/** A mistake in the spec file, with where it is. */
class FileError extends Error {}

export async function main(argv: string[]): Promise<number> {
  let opts: Options | null;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(
        `offload-emu build: ${e.message}\nRun 'offload-emu build --help' for the options and the spec format.`,
      );
      return 2;
    }
    throw e;
  }
  if (opts === null) {
    console.log(HELP);
    return 0;
  }
  let text: string;
  try {
    text = readFileSync(opts.spec, "utf8");
  } catch (e) {
    console.error(`offload-emu build: cannot read ${opts.spec}: ${(e as Error).message}`);
    return 1;
  }
  let built: Built;
  try {
    built = buildSpec(text, opts.spec);
  } catch (e) {
    if (e instanceof FileError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }
  writeCapture(built, opts);
  const bytes = built.packets.reduce((n, p) => n + p.bytes.length * p.count, 0);
  const n = built.packets.reduce((k, p) => k + p.count, 0);
  console.log(`wrote ${n} packet${n === 1 ? "" : "s"} (${bytes} bytes of frames) to ${opts.out}`);
  return 0;
}

function parseArgs(argv: string[]): Options | null {
  let spec: string | undefined;
  let out: string | undefined;
  let format: string | undefined;
  let startNs = DEFAULT_START_NS;
  let stepNs = DEFAULT_STEP_NS;
  const args = new Args(argv);
  for (let a = args.next(); a !== undefined; a = args.next()) {
    const value = (): string => args.value(a);
    if (a === "--help" || a === "-h") return null;
    else if (a === "--out" || a === "-o") out = value();
    else if (a === "--format") format = value();
    else if (a === "--start") startNs = parseStart(value());
    else if (a === "--step") stepNs = parseDuration(value());
    else if (a.startsWith("-") && a !== "-") throw new UsageError(`unknown option ${a}`);
    else if (spec === undefined) spec = a;
    else throw new UsageError(`one SPEC file only (got ${spec} and ${a})`);
  }
  if (spec === undefined) throw new UsageError("missing SPEC (a JSON or YAML file)");
  if (out === undefined) throw new UsageError("missing --out FILE.pcap|FILE.pcapng");
  const fmt = format ?? (out.endsWith(".pcapng") ? "pcapng" : out.endsWith(".pcap") ? "pcap" : undefined);
  if (fmt !== "pcap" && fmt !== "pcapng") {
    throw new UsageError(
      format === undefined
        ? `cannot tell the format of ${out}: name it .pcap or .pcapng, or give --format`
        : `--format must be pcap or pcapng, got ${format}`,
    );
  }
  return { spec, out, format: fmt, startNs, stepNs };
}

function parseStart(t: string): bigint {
  if (/^\d+$/.test(t)) return BigInt(t) * 1_000_000_000n;
  const m = /^(\d+)\.(\d{1,9})$/.exec(t);
  if (m) return BigInt(m[1] as string) * 1_000_000_000n + BigInt((m[2] as string).padEnd(9, "0"));
  const ms = Date.parse(t);
  if (Number.isNaN(ms) || ms < 0) throw new UsageError(`--start must be seconds since 1970 or an ISO date, got ${t}`);
  return BigInt(ms) * 1_000_000n;
}

const UNIT_NS: Readonly<Record<string, bigint>> = { ns: 1n, us: 1000n, µs: 1000n, ms: 1_000_000n, s: 1_000_000_000n };

function parseDuration(t: string): bigint {
  const m = /^(\d+)(ns|us|µs|ms|s)$/.exec(t);
  if (!m) throw new UsageError(`--step must be a whole number with a unit (ns, us, ms, s), got ${t}`);
  return BigInt(m[1] as string) * (UNIT_NS[m[2] as string] as bigint);
}

// --- the spec file -----------------------------------------------------------------------------

interface BuiltPacket {
  bytes: Uint8Array;
  count: number;
  comment?: string;
  iface: number;
}
interface Built {
  packets: BuiltPacket[];
  interfaces: Array<{ name: string; description?: string }>;
}

/** Parses and builds every packet of a spec file's text; throws FileError naming the position. */
export function buildSpec(text: string, file: string): Built {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax) {
    const at = lc.linePos(syntax.pos[0]);
    throw new FileError(`${file}:${at.line}:${at.col}: syntax error: ${syntax.message.split("\n")[0]}`);
  }
  const where = (path: ReadonlyArray<string | number>): string => {
    const off = nodeOffset(doc, path);
    if (off < 0) return file;
    const at = lc.linePos(off);
    return `${file}:${at.line}:${at.col}`;
  };
  const fail = (path: ReadonlyArray<string | number>, msg: string): never => {
    throw new FileError(`${where(path)}: ${msg}`);
  };

  const root: unknown = doc.toJS();
  let list: unknown;
  let prefix: Array<string | number> = [];
  let ifaceSpec: unknown;
  if (Array.isArray(root)) {
    list = root;
  } else if (isObj(root) && "layers" in root) {
    list = [root]; // a single packet
  } else if (isObj(root)) {
    for (const k of Object.keys(root)) {
      if (k !== "packets" && k !== "interfaces") fail([k], `"${k}" is not a spec field; known: packets, interfaces`);
    }
    list = root["packets"];
    prefix = ["packets"];
    ifaceSpec = root["interfaces"];
    if (!Array.isArray(list)) fail(prefix, `packets must be a list, got ${describe(list)}`);
  } else {
    fail([], `the spec must be {packets: [...]} or a list of packets, got ${describe(root)}`);
  }

  const interfaces: Array<{ name: string; description?: string }> = [];
  const declared = ifaceSpec !== undefined && ifaceSpec !== null;
  if (declared) {
    if (!Array.isArray(ifaceSpec) || ifaceSpec.length === 0)
      fail(["interfaces"], `interfaces must be a non-empty list, got ${describe(ifaceSpec)}`);
    (ifaceSpec as unknown[]).forEach((it, i) => {
      const name = typeof it === "string" ? it : isObj(it) ? it["name"] : undefined;
      if (typeof name !== "string" || name === "")
        fail(["interfaces", i], `an interface is a name or {name, description}, got ${describe(it)}`);
      if (isObj(it)) {
        for (const k of Object.keys(it))
          if (k !== "name" && k !== "description")
            fail(["interfaces", i, k], `"${k}" is not an interface field; known: name, description`);
        if (it["description"] !== undefined && typeof it["description"] !== "string")
          fail(["interfaces", i, "description"], "description must be text");
      }
      if (interfaces.some((x) => x.name === name))
        fail(["interfaces", i], `interface "${name as string}" is listed twice`);
      interfaces.push({
        name: name as string,
        ...(isObj(it) && typeof it["description"] === "string" ? { description: it["description"] } : {}),
      });
    });
  }

  const packets: BuiltPacket[] = [];
  (list as unknown[]).forEach((p, i) => {
    const at: Array<string | number> = [...prefix, i];
    const label = `packet ${i}`;
    if (!isObj(p)) fail(at, `${label}: must be an object with layers, got ${describe(p)}`);
    const pk = p as Record<string, unknown>;
    for (const k of Object.keys(pk)) {
      if (!(PACKET_KEYS as readonly string[]).includes(k))
        fail([...at, k], `${label}: "${k}" is not a packet field; known: ${PACKET_KEYS.join(", ")}`);
    }
    const countV = pk["count"] ?? 1;
    if (typeof countV !== "number" || !Number.isInteger(countV) || countV < 1 || countV > MAX_COUNT) {
      fail([...at, "count"], `${label}: count must be 1..${MAX_COUNT}, got ${describe(countV)}`);
    }
    const comment = pk["comment"];
    if (comment !== undefined && typeof comment !== "string")
      fail([...at, "comment"], `${label}: comment must be text, got ${describe(comment)}`);
    const ifName = pk["interface"];
    let iface = 0;
    if (ifName !== undefined) {
      if (typeof ifName !== "string" || ifName === "")
        fail([...at, "interface"], `${label}: interface must be a name, got ${describe(ifName)}`);
      iface = interfaces.findIndex((x) => x.name === ifName);
      if (iface < 0) {
        if (declared)
          fail(
            [...at, "interface"],
            `${label}: no interface "${ifName as string}"; interfaces: ${interfaces.map((x) => x.name).join(", ")}`,
          );
        interfaces.push({ name: ifName as string });
        iface = interfaces.length - 1;
      }
    }
    const spec: Record<string, unknown> = { layers: pk["layers"] };
    if (pk["payload"] !== undefined) spec["payload"] = pk["payload"];
    if (pk["pad"] !== undefined) spec["pad"] = pk["pad"];
    let bytes: Uint8Array;
    try {
      bytes = buildPacket(compilePacket(spec as unknown as PacketSpec));
    } catch (e) {
      if (e instanceof SpecError) fail([...at, ...e.path], `${label}: ${e.message}`);
      throw e;
    }
    packets.push({
      bytes,
      count: countV as number,
      ...(comment !== undefined ? { comment: comment as string } : {}),
      iface,
    });
  });
  if (packets.length === 0) fail(prefix, "no packets to build");
  if (interfaces.length === 0) interfaces.push({ name: "build" });
  return { packets, interfaces };
}

/**
 * Offset in the text of the node at `path`, or of its nearest ancestor that exists (a field left
 * out points at the object it belongs in); -1 when nothing matches.
 */
function nodeOffset(doc: Document, path: ReadonlyArray<string | number>): number {
  for (let n = path.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return -1;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return "a list";
  if (isObj(v)) return "an object";
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

// --- the capture -------------------------------------------------------------------------------

function writeCapture(b: Built, o: Options): void {
  let ts = o.startNs;
  if (o.format === "pcapng") {
    const w = openPcapngFile(o.out);
    const ids = b.interfaces.map((x) =>
      w.addInterface({ name: x.name, ...(x.description !== undefined ? { description: x.description } : {}) }),
    );
    for (const p of b.packets) {
      for (let k = 0; k < p.count; k++) {
        w.writePacket(ids[p.iface] as number, ts, p.bytes, p.bytes.length, p.comment);
        ts += o.stepNs;
      }
    }
    w.closeSync();
    return;
  }
  const whole = o.startNs % 1000n === 0n && o.stepNs % 1000n === 0n;
  const dropped = b.packets.some((p) => p.comment !== undefined) || b.interfaces.length > 1;
  if (dropped)
    console.error("offload-emu build: a .pcap file has no comments or interfaces; write .pcapng to keep them");
  const w = openPcapFile(o.out, { resolution: whole ? "us" : "ns" });
  for (const p of b.packets) {
    for (let k = 0; k < p.count; k++) {
      w.writePacket(ts, p.bytes);
      ts += o.stepNs;
    }
  }
  w.closeSync();
}

import { describe, expect, it, beforeAll, afterAll } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { readCaptureFile } from "../../src/io/capture.ts";
import { requireTool } from "../helpers.ts";

// `offload-emu build` run as a user runs it (node bin/offload-emu.js), and its captures read by
// tshark 4.0: no malformed packets, no error-level expert info, every checksum tshark verifies
// good, and the fields tshark prints equal to what the spec asked for. The expected fields are
// worked out here from the spec and the defaults src/wire/build.ts documents, independently of
// the builder's code.

const ROOT = join(import.meta.dirname, "..", "..");
const SPECS = join(ROOT, "captures", "specs");
let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "build-cli-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function runBuild(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, "bin", "offload-emu.js"), "build", ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function writeSpec(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

// --- what tshark should print for a spec ---------------------------------------------------------

type Layer = Record<string, Record<string, unknown>>;
interface Packet {
  layers: Layer[];
  payload?: unknown;
  count?: number;
}

const ICMP_TYPE: Record<string, number> = {
  "echo-request": 8,
  "echo-reply": 0,
  "dest-unreachable": 3,
  "time-exceeded": 11,
};
const ICMPV6_TYPE: Record<string, number> = {
  "echo-request": 128,
  "echo-reply": 129,
  ns: 135,
  na: 136,
  "packet-too-big": 2,
};
const EXT_PROTO: Record<string, string> = {
  hopopts: "ipv6.hopopts",
  dstopts: "ipv6.dstopts",
  routing: "ipv6.routing",
  fragment: "ipv6.fraghdr",
};

/** Fields compared with tshark; each maps to every occurrence, outermost first. */
const COMPARED = [
  "eth.src",
  "eth.dst",
  "vlan.id",
  "ieee8021ad.id",
  "ip.src",
  "ip.dst",
  "ipv6.src",
  "ipv6.dst",
  "udp.srcport",
  "udp.dstport",
  "tcp.srcport",
  "tcp.dstport",
  "vxlan.vni",
  "geneve.vni",
  "gre.key",
  "arp.opcode",
  "icmp.type",
  "icmpv6.type",
  "ip.checksum.status",
  "udp.checksum.status",
  "tcp.checksum.status",
  "icmp.checksum.status",
  "icmpv6.checksum.status",
] as const;

const num = (v: unknown): number => (typeof v === "string" ? Number(v) : (v as number));

/** The layer name and its fields. */
const split = (l: Layer): [string, Record<string, unknown>] => {
  const [name, body] = Object.entries(l)[0] as [string, Record<string, unknown> | null];
  return [name, body ?? {}];
};

/** tshark's fields and protocol chain for a packet, from its spec and the documented defaults. */
function expected(p: Packet): { fields: Record<string, string[]>; protocols: string } {
  const f: Record<string, string[]> = Object.fromEntries(COMPARED.map((k) => [k, []]));
  const protos: string[] = [];
  const layers = p.layers.map(split);
  let ipVersion = 0;
  layers.forEach(([name, b], i) => {
    const next = layers[i + 1]?.[0];
    switch (name) {
      case "eth": {
        let j = i + 1;
        while (layers[j]?.[0] === "vlan") j++;
        const arpRequest = layers[j]?.[0] === "arp" && (layers[j]?.[1]["op"] ?? "request") === "request";
        f["eth.src"]!.push((b["src"] as string | undefined) ?? "02:00:00:00:00:01");
        f["eth.dst"]!.push(
          (b["dst"] as string | undefined) ?? (arpRequest ? "ff:ff:ff:ff:ff:ff" : "02:00:00:00:00:02"),
        );
        protos.push("eth", "ethertype");
        break;
      }
      case "vlan": {
        const tpid = b["tpid"] ?? (next === "vlan" ? 0x88a8 : 0x8100);
        const ad = num(tpid) === 0x88a8;
        f[ad ? "ieee8021ad.id" : "vlan.id"]!.push(String(b["vid"] ?? 1));
        protos.push(ad ? "ieee8021ad" : "vlan", "ethertype");
        break;
      }
      case "arp":
        f["arp.opcode"]!.push(b["op"] === "reply" ? "2" : "1");
        protos.push("arp");
        break;
      case "ipv4":
        ipVersion = 4;
        f["ip.src"]!.push((b["src"] as string | undefined) ?? "192.0.2.1");
        f["ip.dst"]!.push((b["dst"] as string | undefined) ?? "192.0.2.2");
        f["ip.checksum.status"]!.push("1");
        protos.push("ip");
        break;
      case "ipv6":
        ipVersion = 6;
        f["ipv6.src"]!.push((b["src"] as string | undefined) ?? "2001:db8::1");
        f["ipv6.dst"]!.push((b["dst"] as string | undefined) ?? "2001:db8::2");
        protos.push("ipv6", ...((b["ext"] as Layer[] | undefined) ?? []).map((e) => EXT_PROTO[split(e)[0]] as string));
        break;
      case "udp": {
        const tunnel = next === "vxlan" || next === "geneve";
        f["udp.srcport"]!.push(String(b["src"] ?? 49152));
        f["udp.dstport"]!.push(String(b["dst"] ?? (next === "vxlan" ? 4789 : next === "geneve" ? 6081 : 50000)));
        // A zero checksum over IPv4 is "not present" (3): the tunnel default, as OVS sends it.
        f["udp.checksum.status"]!.push(tunnel && ipVersion === 4 && b["csum"] !== true ? "3" : "1");
        protos.push("udp");
        break;
      }
      case "tcp":
        f["tcp.srcport"]!.push(String(b["src"] ?? 49152));
        f["tcp.dstport"]!.push(String(b["dst"] ?? 50000));
        f["tcp.checksum.status"]!.push("1");
        protos.push("tcp");
        break;
      case "icmp":
        f["icmp.type"]!.push(String(typeof b["type"] === "string" ? ICMP_TYPE[b["type"]] : (b["type"] ?? 8)));
        f["icmp.checksum.status"]!.push("1");
        protos.push("icmp");
        break;
      case "icmpv6":
        f["icmpv6.type"]!.push(String(typeof b["type"] === "string" ? ICMPV6_TYPE[b["type"]] : (b["type"] ?? 128)));
        f["icmpv6.checksum.status"]!.push("1");
        protos.push("icmpv6");
        break;
      case "vxlan":
        f["vxlan.vni"]!.push(String(num(b["vni"] ?? 0)));
        protos.push("vxlan");
        break;
      case "geneve":
        f["geneve.vni"]!.push(
          `0x${num(b["vni"] ?? 0)
            .toString(16)
            .padStart(6, "0")}`,
        );
        protos.push("geneve");
        break;
      case "gre": {
        const key =
          b["vsid"] !== undefined
            ? num(b["vsid"]) * 256 + num(b["flowId"] ?? 0)
            : b["key"] !== undefined
              ? num(b["key"])
              : null;
        if (key !== null) f["gre.key"]!.push(`0x${key.toString(16).padStart(8, "0")}`);
        protos.push("gre");
        break;
      }
    }
  });
  return { fields: f, protocols: protos.join(":") };
}

// --- tshark --------------------------------------------------------------------------------------

const TSHARK_ARGS = [
  "-o",
  "ip.check_checksum:TRUE",
  "-o",
  "udp.check_checksum:TRUE",
  "-o",
  "tcp.check_checksum:TRUE",
  "-T",
  "fields",
  "-E",
  "occurrence=a",
  "-E",
  "aggregator=,",
  "-e",
  "frame.protocols",
  "-e",
  "_ws.malformed",
  "-e",
  "_ws.expert.severity",
];
const PI_ERROR = 0x00800000; // epan/proto.h: expert severity "error"

/** One object per frame: field name → occurrences. */
function tshark(file: string, fields: readonly string[]): Array<Record<string, string[]>> {
  const args = ["-r", file, ...TSHARK_ARGS];
  for (const x of fields) args.push("-e", x);
  const out = execFileSync("tshark", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const names = ["frame.protocols", "_ws.malformed", "_ws.expert.severity", ...fields];
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((line) => {
      const cols = line.split("\t");
      return Object.fromEntries(names.map((n, i) => [n, cols[i] ? (cols[i] as string).split(",") : []]));
    });
}

/** Every packet of the spec checked against tshark's dissection of the capture built from it. */
function checkAgainstTshark(file: string, packets: Packet[]): void {
  const rows = tshark(file, COMPARED);
  const want = packets.flatMap((p) => new Array<Packet>(p.count ?? 1).fill(p));
  expect(rows.length).toBe(want.length);
  rows.forEach((row, i) => {
    const p = want[i] as Packet;
    const e = expected(p);
    const ctx = `frame ${i + 1}: ${JSON.stringify(p.layers)}`;
    expect(row["_ws.malformed"], ctx).toEqual([]);
    for (const s of row["_ws.expert.severity"] ?? []) expect(Number(s), ctx).toBeLessThan(PI_ERROR);
    // tshark adds "data" for payload bytes no dissector claims.
    expect((row["frame.protocols"] ?? []).join(",").replace(/:data$/, ""), ctx).toBe(e.protocols);
    for (const k of COMPARED) expect({ [k]: row[k] }, ctx).toEqual({ [k]: e.fields[k] });
  });
}

/** The packets of a spec file, as the CLI reads them. */
function specPackets(text: string): Packet[] {
  const root = parseYaml(text) as { packets?: Packet[] } | Packet[];
  return Array.isArray(root) ? root : (root.packets ?? []);
}

// --- a matrix of generated combinations --------------------------------------------------------

/** Outer IPv4/IPv6 × VXLAN/GENEVE/NVGRE/none × inner VLAN or not × TCP/UDP/ICMP/ICMPv6. */
function matrix(): Packet[] {
  const out: Packet[] = [];
  let n = 0;
  for (const outer of [4, 6]) {
    for (const tunnel of ["vxlan", "geneve", "nvgre", "none"]) {
      for (const vlan of [false, true]) {
        for (const l4 of ["tcp", "udp", "icmp", "icmpv6"]) {
          n++;
          const h = n.toString(16).padStart(2, "0");
          const ip = (v: number, net: number): Layer =>
            v === 4
              ? { ipv4: { src: `10.${net}.0.${n}`, dst: `10.${net}.1.${n}`, ttl: 64 - n } }
              : {
                  ipv6: {
                    src: `2001:db8:${net}::${n.toString(16)}`,
                    dst: `2001:db8:${net}:1::${n.toString(16)}`,
                    hlimit: 64 - n,
                  },
                };
          const layers: Layer[] = [{ eth: { src: `02:00:00:00:00:${h}`, dst: `02:00:00:00:01:${h}` } }];
          // The innermost IP version the upper layer needs; TCP/UDP alternate.
          const innerV = l4 === "icmp" ? 4 : l4 === "icmpv6" ? 6 : n % 2 ? 4 : 6;
          if (tunnel === "none") {
            if (vlan) layers.push({ vlan: { vid: 100 + n, pcp: n % 8 } });
            layers.push(ip(outer, 1));
            if (innerV !== outer) layers.push(ip(innerV, 2)); // IP in IP
          } else {
            layers.push(ip(outer, 1));
            if (tunnel === "vxlan") layers.push({ udp: { src: 33000 + n } }, { vxlan: { vni: 1000 + n } });
            if (tunnel === "geneve")
              layers.push(
                { udp: { src: 33000 + n } },
                { geneve: { vni: 0x10000 + n, options: [{ class: 0x0102, type: n, data: "0000" + h + h }] } },
              );
            if (tunnel === "nvgre") layers.push({ gre: { vsid: 3000 + n, flowId: n } });
            layers.push({ eth: { src: `02:00:00:01:00:${h}`, dst: `02:00:00:01:01:${h}` } });
            if (vlan) layers.push({ vlan: { vid: 100 + n, pcp: n % 8 } });
            layers.push(ip(innerV, 2));
          }
          if (l4 === "tcp") layers.push({ tcp: { src: 41000 + n, dst: 42000 + n, flags: ["SYN"], seq: n } });
          if (l4 === "udp") layers.push({ udp: { src: 41000 + n, dst: 42000 + n } });
          if (l4 === "icmp") layers.push({ icmp: { type: "echo-request", id: n, seq: 1 } });
          if (l4 === "icmpv6") layers.push({ icmpv6: { type: "echo-request", id: n, seq: 1 } });
          out.push({ layers, payload: { len: 16 + n } });
        }
      }
    }
  }
  return out;
}

// --- tests ---------------------------------------------------------------------------------------

describe.runIf(requireTool("tshark"))("build captures read by tshark", () => {
  const specs = readdirSync(SPECS)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort();

  it("has the example specs the issue asks for", () => {
    expect(specs).toEqual(
      expect.arrayContaining([
        "vxlan-ipv6-inner-vlan-tcp.yaml",
        "geneve-options.yaml",
        "nvgre.yaml",
        "qinq-arp.yaml",
        "ipv6-ext-headers.yaml",
      ]),
    );
  });

  it.each(specs)("%s: no malformed packets or errors, good checksums, the fields asked for", (name) => {
    const out = join(dir, `${name}.pcapng`);
    const r = runBuild([join(SPECS, name), "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    checkAgainstTshark(out, specPackets(readFileSync(join(SPECS, name), "utf8")));
  });

  it("a matrix of 64 tunnel/VLAN/upper-layer combinations", () => {
    const packets = matrix();
    expect(packets.length).toBe(64);
    const spec = writeSpec("matrix.json", JSON.stringify({ packets }));
    const out = join(dir, "matrix.pcap");
    const r = runBuild([spec, "--out", out]);
    expect(r.code).toBe(0);
    checkAgainstTshark(out, packets);
  });

  it("reports a deliberately bad checksum as bad (0)", () => {
    const spec = writeSpec(
      "bad-csum.yaml",
      `
packets:
  - layers: [{eth: {}}, {ipv4: {checksum: 0xbeef}}, {tcp: {checksum: 0x1234}}]
  - layers: [{eth: {}}, {ipv6: {}}, {udp: {checksum: 1}}]
  - layers: [{eth: {}}, {ipv4: {}}, {icmp: {checksum: 2}}]
  - layers: [{eth: {}}, {ipv6: {}}, {icmpv6: {checksum: 3}}]
`,
    );
    const out = join(dir, "bad-csum.pcapng");
    expect(runBuild([spec, "--out", out]).code).toBe(0);
    const rows = tshark(out, [
      "ip.checksum.status",
      "tcp.checksum.status",
      "udp.checksum.status",
      "icmp.checksum.status",
      "icmpv6.checksum.status",
    ]);
    expect(
      rows.map((r) => [
        r["ip.checksum.status"],
        r["tcp.checksum.status"],
        r["udp.checksum.status"],
        r["icmp.checksum.status"],
        r["icmpv6.checksum.status"],
      ]),
    ).toEqual([
      [["0"], ["0"], [], [], []],
      [[], [], ["0"], [], []],
      [["1"], [], [], ["0"], []],
      [[], [], [], [], ["0"]],
    ]);
  });

  it("writes interfaces, comments and deterministic timestamps into pcapng", () => {
    const spec = writeSpec(
      "ifaces.yaml",
      `
interfaces: [{name: p1, description: "first port"}, p2]
packets:
  - {comment: "to p2", interface: p2, count: 2, layers: [{eth: {}}, {ipv4: {}}, {udp: {}}]}
  - {comment: "to p1", interface: p1, layers: [{eth: {}}, {arp: {}}]}
`,
    );
    const out = join(dir, "ifaces.pcapng");
    const r = runBuild([spec, "--out", out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`wrote 3 packets (126 bytes of frames) to ${out}\n`);
    const rows = execFileSync(
      "tshark",
      [
        "-r",
        out,
        "-T",
        "fields",
        "-e",
        "frame.interface_name",
        "-e",
        "frame.interface_description",
        "-e",
        "frame.comment",
        "-e",
        "frame.time_epoch",
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
    );
    // 2024-01-01T00:00:00Z is 1704067200 s; one packet per millisecond by default.
    expect(rows).toBe(
      [
        "p2\t\tto p2\t1704067200.000000000",
        "p2\t\tto p2\t1704067200.001000000",
        "p1\tfirst port\tto p1\t1704067200.002000000",
        "",
      ].join("\n"),
    );
  });
});

describe("offload-emu build", () => {
  it("writes pcap with --start and --step, and the same bytes every time", () => {
    const spec = writeSpec(
      "two.json",
      JSON.stringify([{ count: 2, layers: [{ eth: {} }, { ipv6: {} }, { icmpv6: {} }] }]),
    );
    const a = join(dir, "a.pcap");
    const b = join(dir, "b.pcap");
    expect(runBuild([spec, "--out", a, "--start", "1000.5", "--step", "250ns"]).code).toBe(0);
    expect(runBuild([spec, "-o", b, "--start", "1970-01-01T00:16:40.5Z", "--step", "250ns"]).code).toBe(0);
    expect(readFileSync(a)).toEqual(readFileSync(b));
    const cap = readCaptureFile(a);
    expect(cap.format).toBe("pcap");
    expect(cap.packets.map((p) => p.ts)).toEqual([1000_500_000_000n, 1000_500_000_250n]);
    expect(cap.packets[0]?.data.length).toBe(14 + 40 + 8);
  });

  it("documents the spec format with an example", () => {
    const r = runBuild(["--help"]);
    expect(r.code).toBe(0);
    for (const s of [
      "--out FILE",
      "--start TIME",
      "--step DURATION",
      "layers:",
      "payload:",
      "count:",
      "comment:",
      "interface:",
      "example",
      "vxlan: {vni: 5001}",
    ]) {
      expect(r.stdout).toContain(s);
    }
  });

  it.each([
    [
      "bad-port.yaml",
      "packets:\n  - layers:\n      - eth: {}\n      - ipv4: {}\n      - udp: {dst: 70000}\n",
      ":5:20: packet 0: layer 2 (udp): dst must be 0..65535, got 70000",
    ],
    [
      "syntax.yaml",
      "packets:\n  - layers:\n      - eth: {}\n      - udp: {dst: 7\n",
      ":5:1: syntax error: Flow map in block collection must be sufficiently indented and end with a }",
    ],
    [
      "unknown.yaml",
      "packets:\n  - layers:\n    - eth: {}\n    - ipv4: {tll: 3}\n",
      ":4:19: packet 0: layer 1 (ipv4): tll is not a field here; known: src, dst, ttl, tos, id, df, mf, offset, proto, options, totalLen, checksum",
    ],
    [
      "order.json",
      '[{"layers": [{"eth": {}},\n  {"tcp": {}}]}]',
      ":2:3: packet 0: layer 1 (tcp): cannot follow eth: after eth come vlan, arp, ipv4, ipv6",
    ],
    [
      "iface.yaml",
      "interfaces: [p1]\npackets:\n  - {interface: p9, layers: [{eth: {}}]}\n",
      ':3:17: packet 0: no interface "p9"; interfaces: p1',
    ],
    ["missing.yaml", "packets:\n  - payload: hi\n", ":2:5: packet 0: layers must be a non-empty list, got undefined"],
  ])("%s: reports the line and column", (name, text, message) => {
    const spec = writeSpec(name, text);
    const out = join(dir, "never.pcap");
    const r = runBuild([spec, "--out", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`${spec}${message}\n`);
    expect(() => readFileSync(out)).toThrow(); // nothing written
  });

  it("rejects bad command lines with exit code 2", () => {
    expect(runBuild([]).stderr).toContain("missing SPEC");
    const r = runBuild([join(SPECS, "nvgre.yaml"), "--out", join(dir, "x.txt")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot tell the format of");
    expect(runBuild([join(SPECS, "nvgre.yaml"), "--out", join(dir, "x.pcap"), "--step", "1 ms"]).stderr).toContain(
      "--step must be a whole number with a unit (ns, us, ms, s), got 1 ms",
    );
  });
});

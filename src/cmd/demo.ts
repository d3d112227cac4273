// `offload-emu demo` (what `npm start` runs): a built-in set of packets that a SmartNIC host sees
// on its ports — VM-to-VM traffic on VFs, overlay traffic (VXLAN, GENEVE, NVGRE) on the uplink,
// ARP and IPv6 neighbour discovery, QinQ, fragments, and one malformed frame — each built as real
// bytes, parsed by the datapath's hot-path parser, turned into the flow key every table matches on,
// and printed in Open vSwitch's datapath-flow syntax. Everything is written to one pcapng file
// (one interface per port, each packet's comment naming its flow) that Wireshark opens.
//
// Deterministic: the same packets and timestamps every run, so the capture is byte-identical.
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { openPcapngFile } from "../io/pcapng.ts";
import { buildPacket, type PacketSpec } from "../wire/build.ts";
import { decodeFrame } from "../wire/decode.ts";
import { summarize } from "../wire/summary.ts";
import { PacketParser } from "../wire/parse.ts";
import { INNER, OUTER, P, S, TunnelType, newOffsets } from "../wire/offsets.ts";
import { LAYERS, PARSE_ERROR_CODES } from "../wire/errors.ts";
import { FlowExtractor } from "../flow/extract.ts";
import { formatOdpKey } from "../flow/odp.ts";
import { FLOW_WORDS, newFlowKey } from "../flow/key.ts";
import { exactMaskForPacket } from "../flow/wildcards.ts";
import { viewOf } from "../wire/bytes.ts";

const HELP = `usage: offload-emu demo [--out DIR] [--quiet]

Builds the built-in packet set, parses each packet as the datapath does, prints its flow in
Open vSwitch's datapath syntax, and writes DIR/demo.pcapng (default DIR: captures).`;

/** The ports of the emulated host: OVS port number and name, as `ovs-vsctl show` would list them. */
const PORTS = [
  { no: 1, name: "uplink", description: "PF uplink to the underlay" },
  { no: 2, name: "vf0", description: "VF 0 (VM a)" },
  { no: 3, name: "vf1", description: "VF 1 (VM b)" },
  { no: 4, name: "vf2", description: "VF 2 (VM c)" },
  { no: 5, name: "vf3", description: "VF 3 (VM d)" },
] as const;

const VM = {
  a: { mac: "52:54:00:00:00:0a", ip: "10.0.0.10", ip6: "2001:db8:10::a" },
  b: { mac: "52:54:00:00:00:0b", ip: "10.0.0.11", ip6: "2001:db8:10::b" },
  c: { mac: "52:54:00:00:00:0c", ip: "10.0.0.12", ip6: "2001:db8:10::c" },
};
const HOST = { mac: "aa:55:aa:55:00:01", ip: "192.0.2.1", ip6: "2001:db8::1" };
const REMOTE = { mac: "aa:55:aa:55:00:02", ip: "192.0.2.2", ip6: "2001:db8::2" };
const eth = (src: string, dst: string) => ({ eth: { src, dst } });
const overlay = (inner: PacketSpec["layers"]): PacketSpec["layers"] => inner;

/** What each packet is for, the port it arrives on, and its bytes' description. */
const PACKETS: Array<{ port: number; what: string; spec: PacketSpec }> = [
  {
    port: 2,
    what: "east-west TCP SYN, VM a -> VM b",
    spec: {
      layers: [
        eth(VM.a.mac, VM.b.mac),
        { ipv4: { src: VM.a.ip, dst: VM.b.ip } },
        { tcp: { src: 40000, dst: 80, flags: ["SYN"] } },
      ],
    },
  },
  {
    port: 3,
    what: "east-west TCP SYN+ACK, VM b -> VM a",
    spec: {
      layers: [
        eth(VM.b.mac, VM.a.mac),
        { ipv4: { src: VM.b.ip, dst: VM.a.ip } },
        { tcp: { src: 80, dst: 40000, flags: ["SYN", "ACK"] } },
      ],
    },
  },
  {
    port: 4,
    what: "east-west UDP on VLAN 100, VM c -> VM a",
    spec: {
      layers: [
        eth(VM.c.mac, VM.a.mac),
        { vlan: { vid: 100, pcp: 3 } },
        { ipv4: { src: VM.c.ip, dst: VM.a.ip } },
        { udp: { src: 5000, dst: 5001 } },
      ],
      payload: { len: 64 },
    },
  },
  {
    port: 2,
    what: "ARP request from VM a (broadcast)",
    spec: {
      layers: [
        eth(VM.a.mac, "ff:ff:ff:ff:ff:ff"),
        { arp: { op: "request", sha: VM.a.mac, spa: VM.a.ip, tpa: VM.b.ip } },
      ],
    },
  },
  {
    port: 3,
    what: "IPv6 neighbour solicitation from VM b",
    spec: {
      layers: [
        eth(VM.b.mac, "33:33:ff:00:00:0a"),
        { ipv6: { src: VM.b.ip6, dst: "ff02::1:ff00:a", hlimit: 255 } },
        { icmpv6: { type: 135, target: VM.a.ip6, sll: VM.b.mac } },
      ],
    },
  },
  {
    port: 1,
    what: "north-south VXLAN (VNI 5001) from a remote host to VM a",
    spec: {
      layers: [
        eth(REMOTE.mac, HOST.mac),
        { ipv4: { src: REMOTE.ip, dst: HOST.ip } },
        { udp: { src: 51000 } },
        { vxlan: { vni: 5001 } },
        ...overlay([
          eth("52:54:00:00:01:01", VM.a.mac),
          { ipv4: { src: "10.1.0.5", dst: VM.a.ip } },
          { tcp: { src: 33000, dst: 22, flags: ["SYN"] } },
        ]),
      ],
    },
  },
  {
    port: 1,
    what: "north-south GENEVE (VNI 0x2a, one option) over IPv6",
    spec: {
      layers: [
        eth(REMOTE.mac, HOST.mac),
        { ipv6: { src: REMOTE.ip6, dst: HOST.ip6 } },
        { udp: { src: 52000 } },
        { geneve: { vni: 42, options: [{ class: 0x0102, type: 0x80, data: { hex: "0000000a" } }] } },
        eth("52:54:00:00:01:02", VM.b.mac),
        { ipv4: { src: "10.1.0.6", dst: VM.b.ip } },
        { udp: { src: 4000, dst: 7777 } },
      ],
      payload: { len: 32 },
    },
  },
  {
    port: 1,
    what: "north-south NVGRE (VSID 0x123456) to VM c",
    spec: {
      layers: [
        eth(REMOTE.mac, HOST.mac),
        { ipv4: { src: REMOTE.ip, dst: HOST.ip } },
        { gre: { vsid: 0x123456, flowId: 2 } },
        eth("52:54:00:00:01:03", VM.c.mac),
        { ipv4: { src: "10.1.0.7", dst: VM.c.ip } },
        { icmp: { type: 8, id: 7, seq: 1 } },
      ],
      payload: { len: 56 },
    },
  },
  {
    port: 1,
    what: "QinQ (S-tag 200, C-tag 10) from the provider network",
    spec: {
      layers: [
        eth(REMOTE.mac, HOST.mac),
        { vlan: { vid: 200 } },
        { vlan: { vid: 10 } },
        { ipv4: { src: "198.51.100.7", dst: HOST.ip } },
        { udp: { src: 1234, dst: 4321 } },
      ],
      payload: { len: 16 },
    },
  },
  {
    port: 5,
    what: "first IPv4 fragment (MF set), VM d -> VM a",
    spec: {
      layers: [
        eth("52:54:00:00:00:0d", VM.a.mac),
        { ipv4: { src: "10.0.0.13", dst: VM.a.ip, id: 77, mf: true } },
        { udp: { src: 7000, dst: 7001, len: 2008 } },
      ],
      payload: { len: 120 },
    },
  },
];

/** A frame cut short: its IPv4 header claims 40 bytes the frame does not hold. */
const MALFORMED = { port: 5, what: "malformed: IPv4 total length beyond the frame" };

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: "string" }, quiet: { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const dir = resolve(values.out ?? "captures");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "demo.pcapng");
  const say = values.quiet ? () => {} : (s: string) => console.log(s);

  const frames = PACKETS.map((p) => ({ ...p, bytes: buildPacket(p.spec) }));
  const cut = buildPacket(PACKETS[0]!.spec).slice(0, 40);
  frames.push({ ...MALFORMED, spec: { layers: [] }, bytes: cut });

  const w = openPcapngFile(file);
  const iface = new Map<number, number>(
    PORTS.map((p) => [p.no, w.addInterface({ name: p.name, description: p.description })]),
  );
  const portNames = new Map<number, string>(PORTS.map((p) => [p.no, p.name]));
  const parser = new PacketParser();
  const extractor = new FlowExtractor();
  const o = newOffsets();
  const key = newFlowKey();
  const mask = new Uint32Array(FLOW_WORDS);
  const START_NS = 1_700_000_000_000_000_000n; // 2023-11-14T22:13:20Z: a fixed start keeps runs identical

  say("offload-emu demo: packets a SmartNIC host sees, as its datapath parses them\n");
  frames.forEach((f, i) => {
    const dv = viewOf(f.bytes);
    const ok = parser.parse(dv, 0, f.bytes.length, o);
    let flow: string;
    if (!ok) {
      flow = `malformed: ${LAYERS[o[P.ERR_LAYER] as number]} ${PARSE_ERROR_CODES[o[P.ERR_CODE] as number]} at byte ${o[P.ERR_OFF]}`;
    } else {
      // A tunnelled packet is classified twice, as OVS does: the outer headers, then (after
      // tnl_pop) the inner frame with the tunnel metadata in the key.
      const tunnelled = o[OUTER + S.TUN_TYPE] !== TunnelType.NONE && (o[INNER + S.L2] as number) >= 0;
      extractor.extract(dv, o, tunnelled ? INNER : OUTER, f.port, key);
      if (tunnelled) extractor.extractTunnel(dv, o, key);
      flow = formatOdpKey({ key, mask: exactMaskForPacket(key, mask), packetType: false }, { portNames });
    }
    const ts = START_NS + BigInt(i) * 1_000_000n;
    w.writePacket(iface.get(f.port) as number, ts, f.bytes, f.bytes.length, `${f.what}; flow: ${flow}`);
    say(`${String(i + 1).padStart(2)}. [${portNames.get(f.port)}] ${f.what}`);
    say(`    wire: ${summarize(decodeFrame(f.bytes))}`);
    say(`    flow: ${flow}\n`);
  });
  w.closeSync();
  const errors = parser.errors.reduce((a, b) => a + b, 0);
  say(`${frames.length} packets parsed, ${errors} malformed (counted, not thrown).`);
  say(`Capture: ${file} (${PORTS.length} interfaces, one per port; each packet's comment names its flow).`);
  say(`Open it with: wireshark ${file}   or   offload-emu decode ${file}`);
  return 0;
}

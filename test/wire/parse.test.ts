// The hot-path parser against the dissector (itself checked against tshark in
// test/conformance/dissect.test.ts), on every Ethernet frame of the public captures, plus what
// the datapath needs of it: counted errors, reused state, no allocation.
import { describe, expect, it } from "vitest";
import { readCaptureFile } from "../../src/io/capture.ts";
import { decodeFrame, type DecodedLayer } from "../../src/wire/decode.ts";
import { PacketParser } from "../../src/wire/parse.ts";
import { INNER, OUTER, P, S, TunnelType, newOffsets } from "../../src/wire/offsets.ts";
import { LAYERS, PARSE_ERROR_CODES } from "../../src/wire/errors.ts";
import { hex, viewOf } from "../../src/wire/bytes.ts";
import { captureFiles, capturePath } from "../conformance/tsv.ts";

const ETHERNET = 1;

/** What the parser should find, read off the dissector's layer list for one header stack. */
function expectedStack(layers: DecodedLayer[], from: number) {
  const eth = layers[from];
  if (eth?.name !== "eth") return null;
  const want = { l2: eth.off, vlanN: 0, l3: -1, l4: -1, tun: TunnelType.NONE as number, next: -1 };
  let i = from + 1;
  while (layers[i]?.name === "vlan" && want.vlanN < 2) {
    want.vlanN++;
    i++;
  }
  if (want.vlanN === 2 && layers[i]?.name === "vlan") return want; // a third tag stays payload
  const l3 = layers[i];
  if (!l3 || !["ipv4", "ipv6", "arp"].includes(l3.name)) return want;
  want.l3 = l3.off;
  const l4 = layers[i + 1];
  if (!l4 || l3.name === "arp") return want;
  // Like OVS's l4_ofs, L4 is where the upper layer starts, parsed or not; a later fragment has none.
  const later =
    (l3.name === "ipv4" && l3.repr.fragOffset > 0) ||
    (l3.name === "ipv6" && isLaterFragment(l3.repr.nextHeader, l3.repr.extHeaders));
  if (later) return want;
  want.l4 = l4.off;
  const t = layers[i + 2];
  if (t?.name === "vxlan") want.tun = TunnelType.VXLAN;
  else if (t?.name === "geneve" && t.repr.protocolType === 0x6558) want.tun = TunnelType.GENEVE;
  else if (l4.name === "gre" && l4.repr.version === 0 && l4.repr.protocolType === 0x6558) want.tun = TunnelType.GRE;
  if (want.tun !== TunnelType.NONE) want.next = layers.findIndex((l, k) => k > i + 1 && l.name === "eth");
  return want;
}

/** Whether an IPv6 header's extension chain has a fragment header with a non-zero offset. */
function isLaterFragment(first: number, ext: Uint8Array[]): boolean {
  let type = first;
  for (const h of ext) {
    if (type === 44 && ((((h[2] as number) << 8) | (h[3] as number)) & 0xfff8) !== 0) return true;
    type = h[0] as number;
  }
  return false;
}

function gotStack(o: Int32Array, b: number) {
  return {
    l2: o[b + S.L2],
    vlanN: o[b + S.VLAN_N],
    l3: o[b + S.L3],
    l4: o[b + S.L4],
    tun: o[b + S.TUN_TYPE],
  };
}

describe("PacketParser on every Ethernet frame of the public captures", () => {
  const parser = new PacketParser();
  const o = newOffsets();
  const cases = captureFiles().flatMap((file) =>
    readCaptureFile(capturePath(file))
      .packets.map((p, i) => ({ file, n: i + 1, p }))
      .filter(({ p }) => p.linkType === ETHERNET),
  );

  it.each(cases.map((c) => [`${c.file}#${c.n}`, c] as const))("%s: offsets agree with the dissector", (_name, c) => {
    const frame = c.p.data;
    const d = decodeFrame(frame, ETHERNET, c.p.origLen);
    const ok = parser.parse(viewOf(frame), 0, frame.length, o);
    const outer = expectedStack(d.layers, 0);
    if (!ok) {
      // Whatever the parser refuses, the dissector finds wrong too (it may read further).
      expect(
        d.error,
        `parser: ${LAYERS[o[P.ERR_LAYER] as number]} ${PARSE_ERROR_CODES[o[P.ERR_CODE] as number]}`,
      ).not.toBeNull();
      return;
    }
    const { next, ...outerWant } = outer ?? { next: -1 };
    expect(gotStack(o, OUTER)).toEqual(outerWant);
    if (next >= 0) {
      const inner = expectedStack(d.layers, next);
      if (!inner) throw new Error("tunnel without an inner Ethernet layer");
      const { next: _unused, ...innerWant } = inner;
      // The parser enters one tunnel only: a tunnel inside the inner frame is noted, not entered.
      expect(gotStack(o, INNER)).toEqual(innerWant);
    }
  });

  it("parses most of them whole, and counts each refusal once by (layer, code)", () => {
    const p = new PacketParser();
    let refused = 0;
    for (const c of cases) if (!p.parse(viewOf(c.p.data), 0, c.p.data.length, o)) refused++;
    expect(p.packets).toBe(cases.length);
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThan(cases.length / 10);
    expect(p.errors.reduce((a, b) => a + b, 0)).toBe(refused);
  });
});

describe("PacketParser details", () => {
  // VXLAN frame 1 of ../shared/conformance/captures/tcpdump__vxlan.pcap is ARP inside VXLAN
  // (tshark: eth:ethertype:ip:udp:vxlan:eth:ethertype:arp); built here from its parts by hand:
  // outer Ethernet, IPv4 (20), UDP to 4789, VXLAN VNI 100, inner Ethernet + ARP request.
  const FRAME = hex(`
    00 16 3e 37 f6 04 00 0c 29 e5 24 55 08 00
    45 00 00 4e 00 00 40 00 40 11 00 00 c0 a8 cb 01 c0 a8 ca 01
    c3 50 12 b5 00 3a 00 00
    08 00 00 00 00 00 64 00
    ff ff ff ff ff ff 00 30 88 01 00 02 08 06
    00 01 08 00 06 04 00 01 00 30 88 01 00 02 c0 a8 cb 01 00 00 00 00 00 00 c0 a8 cb 03`);

  it("follows VXLAN into the inner frame and records both stacks", () => {
    const p = new PacketParser();
    const o = newOffsets();
    const slot = new Uint8Array(200).fill(0xa5);
    slot.set(FRAME, 7); // anywhere in a slot: offsets are absolute
    expect(p.parse(viewOf(slot), 7, FRAME.length, o)).toBe(true);
    expect([o[OUTER + S.L3], o[OUTER + S.L4], o[OUTER + S.TUN_TYPE], o[OUTER + S.TUN]]).toEqual([
      21,
      41,
      TunnelType.VXLAN,
      49,
    ]);
    expect([o[INNER + S.L2], o[INNER + S.DL_TYPE], o[INNER + S.L3], o[INNER + S.L4]]).toEqual([57, 0x0806, 71, -1]);
    expect(o[P.ERR_LAYER]).toBe(-1);
  });

  it("reports a cut-off inner header with its layer and offset, keeping the outer offsets", () => {
    const p = new PacketParser();
    const o = newOffsets();
    const cut = FRAME.slice(0, FRAME.length - 10); // the UDP and IP lengths now claim 10 bytes too many
    expect(p.parse(viewOf(cut), 0, cut.length, o)).toBe(false);
    expect(LAYERS[o[P.ERR_LAYER] as number]).toBe("ipv4");
    expect(PARSE_ERROR_CODES[o[P.ERR_CODE] as number]).toBe("truncated");
    expect(o[P.ERR_OFF]).toBe(16); // IPv4 total length field
    expect(o[OUTER + S.L2]).toBe(0);
    expect(p.errorCount("ipv4", "truncated")).toBe(1);
  });

  it("clears every offset between packets", () => {
    const p = new PacketParser();
    const o = newOffsets();
    p.parse(viewOf(FRAME), 0, FRAME.length, o);
    const arpOnly = FRAME.subarray(50); // the inner frame alone
    expect(p.parse(viewOf(arpOnly), 0, arpOnly.length, o)).toBe(true);
    expect([o[OUTER + S.L3], o[OUTER + S.TUN_TYPE], o[INNER + S.L2], o[INNER + S.L3]]).toEqual([
      14,
      TunnelType.NONE,
      -1,
      -1,
    ]);
  });

  it("allocates nothing per packet", () => {
    const p = new PacketParser();
    const o = newOffsets();
    const dv = viewOf(FRAME);
    for (let i = 0; i < 10_000; i++) p.parse(dv, 0, FRAME.length, o); // warm up the JIT
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1_000_000; i++) p.parse(dv, 0, FRAME.length, o);
    // A single 16-byte allocation per packet would add ~16 MB; allow for unrelated noise.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(4_000_000);
  });
});

describe("PacketParser on damaged frames", () => {
  // Every Ethernet frame of the public captures, cut at every length and with bytes flipped by a
  // seeded generator: the parser must never throw, must leave every offset inside the frame (or
  // -1), and must not depend on what the offsets array held before (each field is written once
  // per packet, so a stale value from the previous packet would show up here).
  const frames = captureFiles().flatMap((file) =>
    readCaptureFile(capturePath(file))
      .packets.filter((p) => p.linkType === ETHERNET)
      .map((p) => p.data),
  );
  let seed = 0x2545f491;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };

  it("never throws, keeps offsets in the frame, and ignores stale offsets", () => {
    const p = new PacketParser();
    const fresh = newOffsets();
    const stale = new Int32Array(fresh.length);
    let parses = 0;
    const check = (bytes: Uint8Array, len: number) => {
      const dv = viewOf(bytes);
      const a = p.parse(dv, 0, len, fresh.fill(-1));
      for (let i = 0; i < stale.length; i++) stale[i] = Math.floor(rand() * 2000) - 1000;
      const b = p.parse(dv, 0, len, stale);
      expect(b).toBe(a);
      expect(Array.from(stale)).toEqual(Array.from(fresh));
      for (const k of [S.L2, S.L3, S.L3_END, S.L4, S.L7, S.TUN]) {
        for (const base of [OUTER, INNER]) {
          const v = fresh[base + k] as number;
          if (v !== -1) {
            expect(v).toBeGreaterThanOrEqual(0);
            expect(v).toBeLessThanOrEqual(len);
          }
        }
      }
      parses++;
    };
    for (const f of frames.slice(0, 200)) {
      for (let len = 0; len <= Math.min(f.length, 160); len++) check(f, len);
      for (let k = 0; k < 20; k++) {
        const g = f.slice();
        for (let j = 0; j < 3; j++) g[Math.floor(rand() * g.length)] = Math.floor(rand() * 256);
        check(g, g.length);
      }
    }
    expect(parses).toBeGreaterThan(10_000);
  });
});

import { describe, expect, it } from "vitest";
import { hex, viewOf } from "../../src/wire/bytes.ts";
import { csumFinish, csumPartial } from "../../src/wire/checksum.ts";
import { ParseError } from "../../src/wire/errors.ts";
import { Ipv4View, emitIpv4, ipv4HeaderLen, readIpv4 } from "../../src/wire/ipv4.ts";
import { captureFiles, readFieldsTsv } from "../conformance/tsv.ts";
import { dirtySlot } from "../helpers.ts";
import { captureFrame, captureFrames } from "./capture-bytes.ts";
import { locateL3 } from "./l3-locate.ts";

// STYLE.md's vector: IPv4 + UDP 192.0.2.1:40000 -> 198.51.100.2:7, DF, TTL 64, "hi". Header
// checksum 0x3c64 recomputed with python3 and reported good by tshark (ip.checksum.status 1,
// after text2pcap); the same sums give 0x3d64 for TTL 63, 0x3bab for TOS 0xb9, 0xf464 for
// source 10.0.0.1 and 0x669a for destination 255.255.255.255.
const UDP_HI = hex(`45 00 00 1e 12 34 40 00 40 11 3c 64 c0 00 02 01 c6 33 64 02
                    9c 40 00 07 00 0a 0e f2 68 69`);
// Bytes 14..33 of frame 1 of packetnet__udp-ip-fragmented.pcap: a first fragment (MF, offset 0),
// and of frame 2: the last one (offset 185 units = 1480 bytes). tshark: 10.226.40.56 ->
// 10.226.2.154, proto 17, ip.flags.mf 1/0, ip.frag_offset 0/185, checksum good.
const FRAG_FIRST = hex("45 00 05 dc fb 1e 20 00 3e 11 1b 5d 0a e2 28 38 0a e2 02 9a");
const FRAG_LAST = hex("45 00 02 05 fb 1e 00 b9 3e 11 3e 7b 0a e2 28 38 0a e2 02 9a");
// Frame 2 of suricata__detect-ipopts.pcap (LINKTYPE_IPV4): IHL 8, a loose source route option
// (type 131, length 11) and EOL; tshark: ip.hdr_len 32, ip.opt.type 131,0, checksum good.
const LSRR = hex(`48 00 00 34 00 01 00 00 40 06 ac 74 09 0a 0b 0c 0d 0e 0f 10
                  83 0b 04 01 02 03 04 05 06 07 08 00`);
// All fields non-zero and as large as they go, reserved flag and 40 bytes of options included.
const ONES = hex(`4f ff ff ff ff ff ff ff ff ff 00 00 ff ff ff ff ff ff ff ff
                  ${"ff ".repeat(40)}`);

const ip = new Ipv4View();

describe("ipv4", () => {
  it("the stored vectors are the bytes of the captures", () => {
    expect(captureFrame("packetnet__udp-ip-fragmented.pcap", 1).data.subarray(14, 34)).toEqual(FRAG_FIRST);
    expect(captureFrame("packetnet__udp-ip-fragmented.pcap", 2).data.subarray(14, 34)).toEqual(FRAG_LAST);
    expect(captureFrame("suricata__detect-ipopts.pcap", 2).data.subarray(0, 32)).toEqual(LSRR);
    const rows = readFieldsTsv("packetnet__udp-ip-fragmented.pcap");
    expect([rows[0]?.["ip.flags.mf"], rows[0]?.["ip.frag_offset"]]).toEqual(["1", "0"]);
    expect([rows[1]?.["ip.flags.mf"], rows[1]?.["ip.frag_offset"]]).toEqual(["0", "185"]);
  });

  it("reads every field", () => {
    ip.wrap(viewOf(UDP_HI), 0, UDP_HI.length).parse();
    expect(readIpv4(ip)).toEqual({
      dscp: 0,
      ecn: 0,
      id: 0x1234,
      dontFrag: true,
      moreFrags: false,
      fragOffset: 0,
      ttl: 64,
      protocol: 17,
      src: "192.0.2.1",
      dst: "198.51.100.2",
      options: new Uint8Array(0),
      payloadLen: 10,
    });
    expect([ip.version, ip.headerLen, ip.totalLen, ip.tos, ip.checksum, ip.reservedBit]).toEqual([
      4,
      20,
      30,
      0,
      0x3c64,
      false,
    ]);
    expect([ip.srcNum, ip.dstNum, ip.srcOff, ip.dstOff, ip.src, ip.dst]).toEqual([
      0xc0000201,
      0xc6336402,
      12,
      16,
      "192.0.2.1",
      "198.51.100.2",
    ]);
    expect([ip.payloadOff, ip.payloadLen, ip.payloadAvail, ip.optionsOff, ip.optionsLen]).toEqual([20, 10, 10, 20, 0]);
    expect([ip.isFragment, ip.isLaterFragment, ip.checksumOk()]).toEqual([false, false, true]);

    ip.wrap(viewOf(FRAG_FIRST), 0, 20);
    expect([ip.moreFrags, ip.fragOffset, ip.isFragment, ip.isLaterFragment, ip.ttl, ip.id]).toEqual([
      true,
      0,
      true,
      false,
      62,
      0xfb1e,
    ]);
    expect(ip.checksumOk()).toBe(true);
    ip.wrap(viewOf(FRAG_LAST), 0, 20);
    expect([ip.moreFrags, ip.fragOffset, ip.isFragment, ip.isLaterFragment, ip.totalLen]).toEqual([
      false,
      1480,
      true,
      true,
      517,
    ]);
    expect(ip.checksumOk()).toBe(true);

    ip.wrap(viewOf(LSRR), 0, LSRR.length);
    expect([ip.headerLen, ip.optionsLen, ip.payloadOff, ip.checksumOk()]).toEqual([32, 12, 32, true]);
    expect(ip.copyOptions()).toEqual(LSRR.subarray(20, 32));

    ip.wrap(viewOf(ONES), 0, ONES.length);
    expect([ip.dscp, ip.ecn, ip.reservedBit, ip.dontFrag, ip.moreFrags, ip.fragOffset]).toEqual([
      63,
      3,
      true,
      true,
      true,
      0x1fff * 8,
    ]);
  });

  it.each([
    ["UDP_HI", UDP_HI.subarray(0, 20)],
    ["FRAG_FIRST", FRAG_FIRST],
    ["FRAG_LAST", FRAG_LAST],
    ["LSRR", LSRR],
  ] as const)("emits %s into a dirty slot at an odd offset, checksum included", (_name, bytes) => {
    const src = new Uint8Array(1600); // room for the stated total length
    src.set(bytes);
    const repr = readIpv4(ip.wrap(viewOf(src), 0, src.length).parse());
    const slot = dirtySlot(bytes.length + 8);
    expect(ipv4HeaderLen(repr)).toBe(bytes.length);
    expect(emitIpv4(repr, viewOf(slot), 3, true)).toBe(3 + bytes.length);
    expect(slot.subarray(3, 3 + bytes.length)).toEqual(bytes);
    expect([slot[2], slot[3 + bytes.length]]).toEqual([0xa5, 0xa5]);
  });

  it("round-trips all ones, and leaves the checksum 0 when asked not to fill it", () => {
    const src = new Uint8Array(0xffff);
    src.set(ONES);
    const repr = readIpv4(ip.wrap(viewOf(src), 0, src.length).parse());
    expect(repr.reservedBit).toBe(true);
    const slot = dirtySlot(ONES.length + 8);
    expect(emitIpv4(repr, viewOf(slot), 3, false)).toBe(3 + 60);
    expect(slot.subarray(3, 63)).toEqual(ONES);
    emitIpv4(repr, viewOf(slot), 3, true);
    expect(csumFinish(csumPartial(viewOf(slot), 3, 60))).toBe(0);
  });

  it("pads short options with End of Option List and refuses more than 40 bytes", () => {
    const repr = readIpv4(ip.wrap(viewOf(UDP_HI), 0, UDP_HI.length).parse());
    const slot = dirtySlot(32);
    const r = { ...repr, options: hex("01 01 44") };
    expect(ipv4HeaderLen(r)).toBe(24);
    expect(emitIpv4(r, viewOf(slot), 1, true)).toBe(25);
    expect(slot.subarray(21, 25)).toEqual(hex("01 01 44 00"));
    expect(slot[1]).toBe(0x46);
    expect(ip.wrap(viewOf(slot), 1, 24).checksumOk()).toBe(true);
    expect(() => emitIpv4({ ...repr, options: new Uint8Array(41) }, viewOf(new Uint8Array(80)), 0, true)).toThrow(
      RangeError,
    );
  });

  it.each([
    ["TTL 63", (v: Ipv4View) => v.setTtlUpdateCsum(63), 0x3d64, 8, hex("3f")],
    ["TOS 0xb9", (v: Ipv4View) => v.setTosUpdateCsum(0xb9), 0x3bab, 1, hex("b9")],
    ["source 10.0.0.1", (v: Ipv4View) => v.setSrcUpdateCsum(0x0a000001), 0xf464, 12, hex("0a 00 00 01")],
    ["destination all ones", (v: Ipv4View) => v.setDstUpdateCsum(0xffffffff), 0x669a, 16, hex("ff ff ff ff")],
  ] as const)("rewrites %s and updates the checksum incrementally", (_n, set, csum, at, bytes) => {
    const b = UDP_HI.slice(0, 20);
    ip.wrap(viewOf(b), 0, 20);
    set(ip);
    expect(ip.checksum).toBe(csum);
    expect(b.subarray(at, at + bytes.length)).toEqual(bytes);
    expect(ip.checksumOk()).toBe(true);
  });

  it("incremental updates agree with a full recomputation on every captured header", () => {
    let n = 0;
    for (const { b } of capturedHeaders()) {
      ip.wrap(viewOf(b), 0, b.length);
      if (!ip.checksumOk()) continue;
      ip.setTtlUpdateCsum((ip.ttl * 7 + 1) & 0xff);
      ip.setTosUpdateCsum(ip.tos ^ 0xfd);
      ip.setSrcUpdateCsum((ip.srcNum ^ 0xdeadbeef) >>> 0);
      ip.setDstUpdateCsum(~ip.dstNum >>> 0);
      expect(ip.checksumOk()).toBe(true);
      const updated = ip.checksum;
      ip.fillChecksum();
      // RFC 1624 §3: the update may give 0xffff where a full sum gives 0x0000 and vice versa
      // only when the header sums to zero, which a real header (version 4) cannot.
      expect(updated).toBe(ip.checksum);
      n++;
    }
    expect(n).toBeGreaterThan(100);
  });

  // Every code check() can return, with the header placed after a 14-byte Ethernet header.
  it.each([
    ["19 bytes", "truncated", 14, UDP_HI, 19, null],
    ["version 6", "bad-version", 14, UDP_HI, 30, [0, 0x65]],
    ["IHL 4", "bad-header-len", 14, UDP_HI, 30, [0, 0x44]],
    ["total length 19", "bad-total-len", 16, UDP_HI, 30, [3, 19]],
    ["total length below IHL 8", "bad-total-len", 16, LSRR, 52, [3, 28]],
    ["IHL 8 with 30 bytes", "truncated", 14, LSRR, 30, null],
    ["29 of 30 bytes", "truncated", 16, UDP_HI, 29, null],
  ] as const)("%s: %s at %i", (_n, code, offset, vec, avail, patch) => {
    const frame = new Uint8Array(14 + 60);
    frame.set(vec, 14);
    if (patch) frame[14 + patch[0]] = patch[1];
    expect(() => ip.wrap(viewOf(frame), 14, avail).parse()).toThrowError(new ParseError("ipv4", code, offset));
    // The view still works afterwards: with every byte present only the bad contents fail.
    expect(ip.wrap(viewOf(frame), 14, 60).check()).toBe(patch === null ? null : code);
  });

  it("after truncated at TOTAL_LEN the header still reads and payloadAvail is what was captured", () => {
    const frame = new Uint8Array(14 + 30);
    frame.set(UDP_HI, 14);
    expect(ip.wrap(viewOf(frame), 14, 25).check()).toBe("truncated");
    expect([ip.payloadLen, ip.payloadAvail, ip.protocol, ip.checksumOk()]).toEqual([10, 5, 17, true]);
  });

  it("reports the malformed captures as tcpdump does", () => {
    // tcpdump: "IP  [header length 16 < 20] (invalid)"; tshark ip.hdr_len 16.
    const bad = captureFrame("tcpdump__ipv4_invalid_hdr_length.pcap", 1).data;
    expect(() => ip.wrap(viewOf(bad), 14, bad.length - 14).parse()).toThrowError(
      new ParseError("ipv4", "bad-header-len", 14),
    );
    // caplen 60 of 262144: IHL 15 (tshark ip.hdr_len 60) but only 46 bytes of it captured.
    const cut = captureFrame("tcpdump__ip_printroute_asan.pcap", 1).data;
    expect(() => ip.wrap(viewOf(cut), 14, cut.length - 14).parse()).toThrowError(
      new ParseError("ipv4", "truncated", 14),
    );
    expect([ip.headerLen, ip.totalLen, ip.reservedBit, ip.dontFrag]).toEqual([60, 32768, true, true]);
    // snaplen 96 (gopacket test006 frame 1): tshark ip.len 300, frame.cap_len 96.
    const snap = captureFrame("gopacket__pcapng-le-test006.pcapng", 1).data;
    expect(() => ip.wrap(viewOf(snap), 14, snap.length - 14).parse()).toThrowError(
      new ParseError("ipv4", "truncated", 16),
    );
    expect([ip.totalLen, ip.payloadAvail]).toEqual([300, 96 - 14 - 20]);
  });

  it("matches tshark on every outer IPv4 header of the conformance captures", () => {
    let n = 0;
    for (const { file, row, code, frame } of capturedHeaders()) {
      const where = `${file} frame ${frame}`;
      const first = (f: string) => (row[f] ?? "").split(",")[0];
      expect(String(ip.headerLen), where).toBe(first("ip.hdr_len"));
      if (code !== null) continue;
      expect(ip.src, where).toBe(first("ip.src"));
      // With a source route (LSRR 131, SSRR 137) tshark shows the route's last hop as ip.dst.
      const routed = optionTypes(ip.copyOptions()).some((t) => t === 131 || t === 137);
      if (!routed) expect(ip.dst, where).toBe(first("ip.dst"));
      expect(String(ip.protocol), where).toBe(first("ip.proto"));
      expect(ip.moreFrags ? "1" : "0", where).toBe(first("ip.flags.mf"));
      expect(String(ip.fragOffset / 8), where).toBe(first("ip.frag_offset"));
      const status = first("ip.checksum.status");
      if (status === "0" || status === "1") expect(ip.checksumOk() ? "1" : "0", where).toBe(status);
      n++;
    }
    expect(n).toBeGreaterThan(300);
  });

  it("carries the options of suricata__detect-ipopts.pcap through, as tshark lists them", () => {
    const rows = readFieldsTsv("suricata__detect-ipopts.pcap");
    captureFrames("suricata__detect-ipopts.pcap").forEach((f, i) => {
      const row = rows[i] ?? {};
      ip.wrap(viewOf(f.data), 0, f.data.length).parse();
      expect(String(ip.headerLen)).toBe(row["ip.hdr_len"]);
      expect(ip.checksumOk() ? "1" : "0").toBe(row["ip.checksum.status"]);
      expect(optionTypes(ip.copyOptions()).join(",")).toBe(row["ip.opt.type"]);
      const slot = dirtySlot(64);
      const end = emitIpv4(readIpv4(ip), viewOf(slot), 1, true);
      expect(slot.subarray(1, end)).toEqual(f.data.subarray(0, ip.headerLen));
    });
  });
});

/** Option types in order, RFC 791 §3.1: EOL (0) ends the list, NOP (1) is one byte, others TLV. */
function optionTypes(opts: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < opts.length; ) {
    const t = opts[i] as number;
    out.push(t);
    if (t === 0) break;
    i += t === 1 ? 1 : Math.max(2, opts[i + 1] ?? 0);
  }
  return out;
}

/** The outer IPv4 header of every frame of every capture whose rows line up with its frames. */
function* capturedHeaders() {
  for (const file of captureFiles()) {
    const frames = captureFrames(file);
    const rows = readFieldsTsv(file);
    if (frames.length !== rows.length) continue; // tshark also lists pcapng custom blocks as frames
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i];
      const l3 = f && locateL3(f);
      if (!f || !l3 || l3.etherType !== 0x0800) continue;
      const code = ip.wrap(viewOf(f.data), l3.off, f.data.length - l3.off).check();
      if (code !== null && !(code === "truncated" && ip.failAt === l3.off + 2)) continue;
      const b = f.data.slice(l3.off, l3.off + ip.headerLen); // a copy the caller may rewrite
      yield { file, frame: i + 1, row: rows[i] ?? {}, b, code };
    }
  }
}

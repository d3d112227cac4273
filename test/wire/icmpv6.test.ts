import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hex, ipv6ToString, macToString, viewOf } from "../../src/wire/bytes.ts";
import { ParseError } from "../../src/wire/errors.ts";
import { Icmpv6View, emitIcmpv6, readIcmpv6 } from "../../src/wire/icmpv6.ts";
import { Ipv6ExtWalker, Ipv6View } from "../../src/wire/ipv6.ts";
import { captureFiles, capturePath, readFieldsTsv } from "../conformance/tsv.ts";
import { dirtySlot, requireTool } from "../helpers.ts";
import { captureFrame, captureFrames } from "./capture-bytes.ts";
import { locateL3 } from "./l3-locate.ts";

// Frame 2 of packetnet__ipv6_ndp.pcap, ICMPv6 at byte 54: a Neighbor Advertisement (R and O
// flags) with a target link-layer address option. tshark: icmpv6.type 136, checksum 0x9abb good,
// icmpv6.nd.na.target_address fe80::c000:54ff:fef5:0, icmpv6.opt.target_linkaddr c2:00:54:f5:00:00.
const NA = hex(`88 00 9a bb a0 00 00 00 fe 80 00 00 00 00 00 00 c0 00 54 ff fe f5 00 00
                02 01 c2 00 54 f5 00 00`);
// Frame 1 of packetnet__ipv6_ndp.pcap with a source link-layer address option appended by hand
// (payload length 24 -> 32, checksum re-summed with python3), since no capture has an NS with one.
// tshark 4.0 on these bytes (text2pcap): icmpv6.checksum.status 1, icmpv6.nd.ns.target_address
// fe80::c000:54ff:fef5:0, icmpv6.opt.src_linkaddr c2:00:54:f5:00:00, ipv6.plen 32.
const NS_SLL_FRAME = hex(`33 33 ff f5 00 00 c2 00 54 f5 00 00 86 dd
  6e 00 00 00 00 20 3a ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
  ff 02 00 00 00 00 00 00 00 00 00 01 ff f5 00 00
  87 00 4f 3d 00 00 00 00 fe 80 00 00 00 00 00 00 c0 00 54 ff fe f5 00 00
  01 01 c2 00 54 f5 00 00`);
const ONES = hex("ff ff ff ff ff ff ff ff");

const icmp = new Icmpv6View();
const ip = new Ipv6View();
const walker = new Ipv6ExtWalker();

describe("icmpv6", () => {
  it("the stored vectors are the bytes of the capture (NS_SLL_FRAME: but for length, checksum, option)", () => {
    expect(captureFrame("packetnet__ipv6_ndp.pcap", 2).data.subarray(54, 86)).toEqual(NA);
    expect(captureFrame("packetnet__ipv6_ndp.pcap", 1).data).toEqual(
      Uint8Array.from([
        ...NS_SLL_FRAME.subarray(0, 19),
        0x18,
        ...NS_SLL_FRAME.subarray(20, 56),
        0x67,
        0x3c,
        ...NS_SLL_FRAME.subarray(58, 78),
      ]),
    );
  });

  it("reads every field of a Neighbor Advertisement and finds its target and TLL", () => {
    const f = captureFrame("packetnet__ipv6_ndp.pcap", 2).data;
    const dv = viewOf(f);
    ip.wrap(dv, 14, f.length - 14).parse();
    icmp.wrap(dv, 54, ip.payloadAvail).parse();
    expect(readIcmpv6(icmp)).toEqual({ type: 136, code: 0, checksum: 0x9abb, rest: 0xa0000000 });
    expect([icmp.isNd, icmp.isError, icmp.headerLen, icmp.payloadOff]).toEqual([true, false, 8, 62]);
    expect(icmp.checksumOk(14, 32)).toBe(true);
    expect(icmp.checksumOk(14, 31)).toBe(false);
    expect(icmp.scanNd(32)).toBeNull();
    expect([icmp.ndTargetOff, icmp.ndSllOff, icmp.ndTllOff, icmp.ndOptType]).toEqual([62, -1, 80, 2]);
    expect(ipv6ToString(dv, icmp.ndTargetOff)).toBe("fe80::c000:54ff:fef5:0");
    expect(macToString(dv, icmp.ndTllOff)).toBe("c2:00:54:f5:00:00");
  });

  it("finds the SLL of a Neighbor Solicitation", () => {
    const dv = viewOf(NS_SLL_FRAME);
    ip.wrap(dv, 14, NS_SLL_FRAME.length - 14).parse();
    icmp.wrap(dv, 54, ip.payloadAvail).parse();
    expect([icmp.type, icmp.checksumOk(14, 32), icmp.scanNd(32)]).toEqual([135, true, null]);
    expect([icmp.ndTargetOff, icmp.ndSllOff, icmp.ndTllOff, icmp.ndOptType]).toEqual([62, 80, -1, 1]);
    expect(macToString(dv, icmp.ndSllOff)).toBe("c2:00:54:f5:00:00");
    // An NS without options (the original frame 1): target only.
    const f1 = captureFrame("packetnet__ipv6_ndp.pcap", 1).data;
    icmp.wrap(viewOf(f1), 54, 24);
    expect([icmp.scanNd(24), icmp.ndTargetOff, icmp.ndSllOff, icmp.ndTllOff, icmp.checksumOk(14, 24)]).toEqual([
      null,
      62,
      -1,
      -1,
      true,
    ]);
  });

  it("leaves the ND offsets at -1 for other messages, and for code != 0", () => {
    const b = NA.slice();
    b[0] = 128;
    icmp.wrap(viewOf(b), 0, b.length);
    expect([icmp.scanNd(32), icmp.ndTargetOff, icmp.ndTllOff]).toEqual([null, -1, -1]);
    b[0] = 136;
    b[1] = 1;
    expect([icmp.scanNd(32), icmp.ndTargetOff, icmp.ndTllOff]).toEqual([null, -1, -1]);
  });

  it.each([
    ["NA", NA.subarray(0, 8)],
    ["NS", NS_SLL_FRAME.subarray(54, 62)],
    ["ONES", ONES],
  ] as const)("emits %s into a dirty slot at an odd offset", (_n, bytes) => {
    const slot = dirtySlot(16);
    const repr = readIcmpv6(icmp.wrap(viewOf(bytes), 0, bytes.length).parse());
    expect(emitIcmpv6(repr, viewOf(slot), 3)).toBe(11);
    expect(slot.subarray(3, 11)).toEqual(bytes);
    expect([slot[2], slot[11]]).toEqual([0xa5, 0xa5]);
  });

  it("fills the checksum tshark found good", () => {
    const f = captureFrame("packetnet__ipv6_ndp.pcap", 2).data.slice();
    const dv = viewOf(f);
    f[56] = 0xff;
    f[57] = 0xff;
    icmp.wrap(dv, 54, 32).fillChecksum(14, 32);
    expect(icmp.checksum).toBe(0x9abb);
  });

  it("reports truncated at the start of the header, and still works afterwards", () => {
    const frame = new Uint8Array(60);
    frame.set(NA, 20);
    expect(() => icmp.wrap(viewOf(frame), 20, 7).parse()).toThrowError(new ParseError("icmpv6", "truncated", 20));
    expect(icmp.wrap(viewOf(frame), 20, 8).check()).toBeNull();
    expect(icmp.type).toBe(136);
  });

  // Every code scanNd() can return, on the NA (at byte 54 of frame 2) with the changes given.
  it.each([
    ["target cut (20 bytes)", "truncated", 62, 20, [], [-1, -1, -1]],
    ["option length byte missing (25 bytes)", "truncated", 78, 25, [], [62, -1, -1]],
    ["option runs past the message (31 bytes)", "truncated", 79, 31, [], [62, -1, -1]],
    ["option of length 0", "bad-option", 79, 32, [[25, 0]], [62, -1, -1]],
  ] as const)("%s: %s at %i", (_n, code, offset, len, patches, offs) => {
    const f = captureFrame("packetnet__ipv6_ndp.pcap", 2).data.slice();
    for (const [at, val] of patches) f[54 + at] = val;
    icmp.wrap(viewOf(f), 54, 32);
    expect(icmp.scanNd(len)).toBe(code);
    expect(icmp.failAt).toBe(offset);
    expect([icmp.ndTargetOff, icmp.ndSllOff, icmp.ndTllOff]).toEqual(offs);
  });

  it("keeps the options found before a zero-length one, and drops all on a repeated one", () => {
    // NS_SLL + a TLL + a zero-length option: SLL and TLL kept (Open vSwitch keeps them too).
    const b = new Uint8Array(48);
    b.set(NS_SLL_FRAME.subarray(54));
    b.set(hex("02 01 01 02 03 04 05 06 00 00"), 32);
    icmp.wrap(viewOf(b), 0, b.length);
    expect(icmp.scanNd(48)).toBe("bad-option");
    expect([icmp.failAt, icmp.ndTargetOff, icmp.ndSllOff, icmp.ndTllOff, icmp.ndOptType]).toEqual([41, 8, 26, 34, 1]);
    // A second SLL: invalid for Open vSwitch, which clears target and addresses.
    b.set(hex("01 01 01 02 03 04 05 06"), 40);
    expect(icmp.scanNd(48)).toBe("bad-option");
    expect([icmp.failAt, icmp.ndTargetOff, icmp.ndSllOff, icmp.ndTllOff, icmp.ndOptType]).toEqual([40, -1, -1, -1, 0]);
    // A link-layer option longer than 8 bytes (not Ethernet) is skipped, as Open vSwitch skips it.
    b.set(hex("01 02 01 02 03 04 05 06 00 00 00 00 00 00 00 00"), 24);
    b.set(hex("02 01 0a 0b 0c 0d 0e 0f"), 40);
    expect([icmp.scanNd(48), icmp.ndSllOff, icmp.ndTllOff, icmp.ndOptType]).toEqual([null, -1, 42, 2]);
  });

  it("handles tcpdump__icmpv6-length-zero.pcapng: IPv6 payload length 0, then a bogus option", () => {
    // tcpdump: "ICMP6, length 0 (invalid)"; tshark: payload length 0, ICMPv6 malformed.
    const f = captureFrame("tcpdump__icmpv6-length-zero.pcapng", 1).data;
    const dv = viewOf(f);
    ip.wrap(dv, 14, f.length - 14).parse();
    expect([ip.payloadLen, ip.nextHeader, ip.payloadAvail]).toEqual([0, 58, 0]);
    expect(() => icmp.wrap(dv, 54, ip.payloadAvail).parse()).toThrowError(new ParseError("icmpv6", "truncated", 54));
    // Read over the captured bytes instead (as tshark does for length 0): an NA whose only
    // "option" is type 0xaa, length 0xaa (1360 bytes) in an 8-byte remainder.
    icmp.wrap(dv, 54, f.length - 54).parse();
    expect([icmp.type, icmp.code, icmp.isNd]).toEqual([136, 0, true]);
    expect(icmp.scanNd(f.length - 54)).toBe("truncated");
    expect([icmp.failAt, icmp.ndTargetOff]).toEqual([79, 62]);
    expect(readFieldsTsv("tcpdump__icmpv6-length-zero.pcapng")[0]?.["_ws.malformed"]).not.toBe("");
  });
});

describe.runIf(requireTool("tshark"))("icmpv6 against tshark", () => {
  it("tshark reads the hand-built NS as the comment above NS_SLL_FRAME says", () => {
    const dir = mkdtempSync(join(tmpdir(), "icmpv6-"));
    const file = join(dir, "ns.pcap");
    const head = new Uint8Array(40);
    const hv = viewOf(head);
    hv.setUint32(0, 0xa1b2c3d4, true);
    hv.setUint16(4, 2, true);
    hv.setUint16(6, 4, true);
    hv.setUint32(16, 65535, true);
    hv.setUint32(20, 1, true); // snaplen, LINKTYPE_ETHERNET
    hv.setUint32(32, NS_SLL_FRAME.length, true);
    hv.setUint32(36, NS_SLL_FRAME.length, true);
    writeFileSync(file, Buffer.concat([head, NS_SLL_FRAME]));
    const out = execFileSync(
      "tshark",
      [
        "-n",
        "-r",
        file,
        "-T",
        "fields",
        "-e",
        "icmpv6.checksum.status",
        "-e",
        "icmpv6.nd.ns.target_address",
        "-e",
        "icmpv6.opt.src_linkaddr",
        "-e",
        "ipv6.plen",
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
    );
    rmSync(dir, { recursive: true });
    expect(out.trim().split("\t")).toEqual(["1", "fe80::c000:54ff:fef5:0", "c2:00:54:f5:00:00", "32"]);
  });

  it("agrees with tshark on type, code, checksum status, ND target and link-layer addresses", () => {
    let n = 0;
    const fields = [
      "frame.number",
      "icmpv6.type",
      "icmpv6.code",
      "icmpv6.checksum.status",
      "icmpv6.nd.ns.target_address",
      "icmpv6.nd.na.target_address",
      "icmpv6.opt.src_linkaddr",
      "icmpv6.opt.target_linkaddr",
    ];
    for (const file of captureFiles().filter((c) => readFieldsTsv(c).some((r) => r["icmpv6.type"]))) {
      const frames = captureFrames(file);
      const out = execFileSync(
        "tshark",
        ["-n", "-r", capturePath(file), "-T", "fields", "-E", "occurrence=f", ...fields.flatMap((f) => ["-e", f])],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
      );
      for (const line of out.split("\n")) {
        const [num, type, code, status, nsTarget, naTarget, sll, tll] = line.split("\t");
        const f = frames[Number(num) - 1];
        const l3 = f && locateL3(f);
        if (!f || !l3 || l3.etherType !== 0x86dd || !type) continue;
        const dv = viewOf(f.data);
        if (ip.wrap(dv, l3.off, f.data.length - l3.off).check() !== null) continue;
        if (ip.walkExtensions(walker) !== null || walker.upperProto !== 58) continue;
        const where = `${file} frame ${num}`;
        const len = ip.payloadLen - (walker.upperOff - ip.payloadOff);
        expect(
          icmp.wrap(dv, walker.upperOff, ip.payloadOff + ip.payloadAvail - walker.upperOff).check(),
          where,
        ).toBeNull();
        expect([String(icmp.type), String(icmp.code)], where).toEqual([type, code]);
        if (status === "0" || status === "1") expect(icmp.checksumOk(l3.off, len) ? "1" : "0", where).toBe(status);
        expect(icmp.scanNd(len), where).toBeNull();
        const target = icmp.ndTargetOff < 0 ? "" : ipv6ToString(dv, icmp.ndTargetOff);
        expect(target, where).toBe(icmp.type === 135 ? nsTarget : naTarget);
        expect(icmp.ndSllOff < 0 ? "" : macToString(dv, icmp.ndSllOff), where).toBe(icmp.isNd ? sll : "");
        expect(icmp.ndTllOff < 0 ? "" : macToString(dv, icmp.ndTllOff), where).toBe(icmp.isNd ? tll : "");
        n++;
      }
    }
    expect(n).toBeGreaterThanOrEqual(21); // 20 in packetnet__ipv6_ndp.pcap, 1 in tcpdump__icmpv6-ns-nonce.pcap
  });
});

import { describe, expect, it } from "vitest";
import { hex, viewOf } from "../../src/wire/bytes.ts";
import { CsumStatus } from "../../src/wire/checksum.ts";
import { ParseError } from "../../src/wire/errors.ts";
import { UdpView, emitUdp, readUdp } from "../../src/wire/udp.ts";
import { dirtySlot, requireTool } from "../helpers.ts";
import { captureFrame, captureFrames, fieldColumn } from "./capture-bytes.ts";
import { locateL4, pseudoSum, wiresharkStatus } from "./l4-locate.ts";
import { tsharkFields } from "./tshark-run.ts";

// Bytes 34..41 of frame 1 of tcpdump__vxlan.pcap; tshark: udp.srcport 45149, udp.dstport 4789,
// udp.length 114, udp.checksum 0x0000 (status 3, not present).
const UDP = hex("b0 5d 12 b5 00 72 00 00");
const ONES = hex("ff ff ff ff ff ff ff ff");
// IPv4 + UDP 192.0.2.1:40000 -> 198.51.100.2:7, payload chosen so the sum is 0xffff: the
// checksum computes to 0 and RFC 768 sends it as 0xffff (tshark calls that correct: see below).
const ZERO_SUM = hex(`45 00 00 1e 12 34 40 00 40 11 3c 64 c0 00 02 01 c6 33 64 02
                     9c 40 00 07 00 0a ff ff 77 5b`);
// Ethernet + IPv6 2001:db8::1 -> 2001:db8::2 + UDP 1234 -> 4789, "hi", checksum 0: tshark 4.0
// reports udp.checksum.status 4 ("Illegal checksum value (0)").
const V6_ZERO = hex(`02 00 00 00 00 01 02 00 00 00 00 02 86 dd
                     60 00 00 00 00 0a 11 40 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
                     20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02
                     04 d2 12 b5 00 0a 00 00 68 69`);

const u = new UdpView();

describe("udp header", () => {
  it("reads every field", () => {
    const frame = captureFrame("tcpdump__vxlan.pcap", 1).data;
    u.wrap(viewOf(frame), 34, frame.length - 34, 114).parse();
    expect(readUdp(u)).toEqual({ srcPort: 45149, dstPort: 4789, length: 114, checksum: 0 });
    expect([u.headerLen, u.payloadOff, u.payloadLen]).toEqual([8, 42, 106]);
  });

  it.each([UDP, ONES])("emits the same bytes into a dirty slot at an odd offset", (bytes) => {
    const slot = dirtySlot(20);
    const repr = readUdp(u.wrap(viewOf(bytes), 0, bytes.length));
    expect(emitUdp(repr, viewOf(slot), 3)).toBe(11);
    expect(slot.subarray(3, 11)).toEqual(bytes);
    expect([slot[2], slot[11]]).toEqual([0xa5, 0xa5]);
  });

  it("setters write the field in place", () => {
    const b = UDP.slice();
    u.wrap(viewOf(b), 0, b.length);
    u.srcPort = 0xfffe;
    u.dstPort = 0x1234;
    u.length = 0xabcd;
    u.checksum = 0x0102;
    expect(b).toEqual(hex("ff fe 12 34 ab cd 01 02"));
  });

  // The frame is laid out at 34 (Ethernet + IPv4) so offsets are those tshark would show.
  const at34 = (bytes: Uint8Array) => {
    const f = new Uint8Array(34 + bytes.length);
    f.set(bytes, 34);
    return viewOf(f);
  };
  it.each([
    ["IP gives UDP fewer than 8 bytes", UDP, 8, 6, "bad-length", 34],
    ["capture ends inside the header", UDP, 7, 114, "truncated", 34],
    ["length field below 8", hex("b0 5d 12 b5 00 07 00 00"), 8, 8, "bad-length", 38],
    ["length field beyond the IP payload", UDP, 120, 100, "bad-length", 38],
    ["length field beyond the capture, within the IP payload", UDP, 100, 114, "truncated", 38],
  ] as const)("%s: %s at %i", (_name, bytes, avail, len, code, offset) => {
    expect(() => u.wrap(at34(bytes), 34, avail, len).parse()).toThrowError(new ParseError("udp", code, offset));
    expect(u.wrap(at34(UDP), 34, 114, 114).check()).toBeNull(); // the view still works
    expect(u.srcPort).toBe(45149);
  });

  it("tcpdump__udp-length-heapoverflow.pcap: 4 of 12316 UDP bytes captured is truncated, not bad", () => {
    // tshark: "[Packet size limited during capture: UDP truncated]"; IPv4 total length 12336.
    const f = captureFrame("tcpdump__udp-length-heapoverflow.pcap", 1);
    expect(f.data.length).toBeLessThan(f.origLen);
    const loc = locateL4(f.data, f.linkType)!;
    expect(() => u.wrap(viewOf(f.data), loc.l4Off, f.data.length - loc.l4Off, loc.l4Len).parse()).toThrowError(
      new ParseError("udp", "truncated", 34),
    );
  });
});

describe("udp checksum", () => {
  // Every outer UDP datagram of these captures whose checksum tshark judged (udp.checksum.status
  // 0 bad, 1 good, 3 not present; 2 unverified is skipped, as are fragments).
  const CAPTURES = [
    "zeek__ip4-udp-bad-chksum.pcap",
    "zeek__ip6-route0-udp-bad-chksum.pcap",
    "tcpdump__vxlan.pcap",
    "packetnet__udp-ip-fragmented.pcap",
    "libpcap__ipv6_ext_headers.pcap",
    "ndpi__vxlan.pcap",
    "tcpdump__gso-ipv6-geneve-ipv6.pcap",
    "tcpdump__gso-ipv6-vxlan-ipv4.pcap",
    "tcpdump__geneve.pcap",
    "zeek__geneve-many-options.pcap",
    "gopacket__pcapng-le-test010.pcapng",
    "zeek__vxlan-triple-v2.pcap",
    "suricata__vxlan-non-zero-reserved-fields.pcap",
    "zeek__pcapng-multi-interface.pcapng",
    "zeek__ipv6-fragmented-dns.pcap",
    "packetnet__LinuxCookedCapturev2.pcap",
  ];
  it.each(CAPTURES)("agrees with tshark on %s", (file) => {
    const status = fieldColumn(file, "udp.checksum.status");
    const frames = captureFrames(file);
    let compared = 0;
    frames.forEach((f, i) => {
      const want = (status[i] ?? "").split(",")[0] ?? "";
      const loc = locateL4(f.data, f.linkType);
      if (loc?.proto !== 17 || loc.fragment || want === "" || want === "2") return;
      const dv = viewOf(f.data);
      u.wrap(dv, loc.l4Off, f.data.length - loc.l4Off, loc.l4Len).parse();
      const got = loc.plainDst
        ? u.verifyChecksum(loc.ipOff, loc.ipVersion)
        : u.verifyChecksumFrom(pseudoSum(dv, loc, u.length), loc.ipVersion === 6);
      expect({ frame: i + 1, status: got }).toEqual({ frame: i + 1, status: wiresharkStatus(want) });
      compared++;
    });
    expect(compared).toBeGreaterThan(0);
  });

  it("an IPv6 routing header puts the final destination in the pseudo-header (RFC 8200 §8.1)", () => {
    // zeek__ip6-route0-udp-bad-chksum.pcap: the checksum was computed with the first-hop
    // destination; tshark (status 0) and RFC 8200 use the last address of the type 0 header.
    const f = captureFrame("zeek__ip6-route0-udp-bad-chksum.pcap", 1);
    const loc = locateL4(f.data, f.linkType)!;
    const dv = viewOf(f.data);
    u.wrap(dv, loc.l4Off, f.data.length - loc.l4Off, loc.l4Len).parse();
    expect(u.verifyChecksumFrom(pseudoSum(dv, loc, u.length), true)).toBe(CsumStatus.BAD);
    expect(u.verifyChecksum(loc.ipOff, 6)).toBe(CsumStatus.GOOD); // what a fixed-header sum says
  });

  it("zero: not present over IPv4 (RFC 768), bad over IPv6", () => {
    const v4 = captureFrame("tcpdump__vxlan.pcap", 1).data;
    expect(u.wrap(viewOf(v4), 34, v4.length - 34).verifyChecksum(14, 4)).toBe(CsumStatus.NOT_PRESENT);
    expect(u.wrap(viewOf(V6_ZERO), 54, 10).parse().verifyChecksum(14, 6)).toBe(CsumStatus.BAD);
  });

  it("fills a good checksum over IPv4 and IPv6, and a computed 0 as 0xffff", () => {
    for (const [file, n] of [
      ["packetnet__udp-ip-fragmented.pcap", 3],
      ["libpcap__ipv6_ext_headers.pcap", 1],
    ] as const) {
      const f = captureFrame(file, n);
      const loc = locateL4(f.data, f.linkType)!;
      const copy = f.data.slice();
      u.wrap(viewOf(copy), loc.l4Off, copy.length - loc.l4Off, loc.l4Len).parse();
      const want = u.checksum;
      expect(u.verifyChecksumFrom(pseudoSum(viewOf(copy), loc, u.length), loc.ipVersion === 6)).toBe(CsumStatus.GOOD);
      u.checksum = 0x5555;
      u.fillChecksumFrom(pseudoSum(viewOf(copy), loc, u.length));
      expect(u.checksum).toBe(want);
    }
    const b = ZERO_SUM.slice();
    u.wrap(viewOf(b), 20, 10).parse();
    u.checksum = 0x1234;
    u.fillChecksum(0, 4);
    expect(u.checksum).toBe(0xffff);
    expect(u.verifyChecksum(0, 4)).toBe(CsumStatus.GOOD);
  });

  it("rewriting a port keeps the checksum valid, and a zero checksum zero", () => {
    const f = captureFrame("packetnet__udp-ip-fragmented.pcap", 3).data.slice();
    u.wrap(viewOf(f), 34, f.length - 34).parse();
    for (const port of [0, 1, 0xffff, 4789]) {
      u.rewriteSrcPort(port);
      u.rewriteDstPort(port ^ 0x5a5a);
      expect([u.srcPort, u.verifyChecksum(14, 4)]).toEqual([port, CsumStatus.GOOD]);
    }
    const z = captureFrame("tcpdump__vxlan.pcap", 1).data.slice();
    u.wrap(viewOf(z), 34, z.length - 34)
      .parse()
      .rewriteSrcPort(1);
    expect([u.srcPort, u.checksum]).toEqual([1, 0]);
  });

  it("reports UNKNOWN instead of reading past the capture", () => {
    const f = captureFrame("packetnet__udp-ip-fragmented.pcap", 3).data;
    expect(u.wrap(viewOf(f), 34, 20).verifyChecksum(14, 4)).toBe(CsumStatus.UNKNOWN);
  });

  describe.runIf(requireTool("tshark"))("against tshark", () => {
    it("0xffff for a computed 0 is correct, 0 over IPv6 is illegal", () => {
      const eth = hex("02 00 00 00 00 01 02 00 00 00 00 02 08 00");
      const v4 = new Uint8Array(14 + ZERO_SUM.length);
      v4.set(eth);
      v4.set(ZERO_SUM, 14);
      const lines = tsharkFields([v4, V6_ZERO], ["udp.checksum.status"], ["udp.check_checksum:TRUE"]);
      expect(lines).toEqual(["1", "4"]);
      expect(u.wrap(viewOf(v4), 34, 10).verifyChecksum(14, 4)).toBe(CsumStatus.GOOD);
      expect(wiresharkStatus("4")).toBe(u.wrap(viewOf(V6_ZERO), 54, 10).verifyChecksum(14, 6));
    });
  });
});

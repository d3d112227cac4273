import { describe, expect, it } from "vitest";
import { hex, viewOf } from "../../src/wire/bytes.ts";
import { CsumStatus } from "../../src/wire/checksum.ts";
import { ParseError } from "../../src/wire/errors.ts";
import { TcpFlag, TcpView, emitTcp, readTcp } from "../../src/wire/tcp.ts";
import { dirtySlot } from "../helpers.ts";
import { captureFrame, captureFrames, fieldColumn } from "./capture-bytes.ts";
import { locateL4, pseudoSum, wiresharkStatus } from "./l4-locate.ts";

// Bytes 34..73 of frame 1 of zeek__tcp-options.pcap (a SYN; 4 bytes of Ethernet trailer follow).
// tshark: tcp.srcport 36861, tcp.dstport 80, tcp.seq_raw 3750886907, tcp.ack_raw 0,
// tcp.hdr_len 40, tcp.flags 0x0002, tcp.window_size_value 5840, tcp.checksum 0x2a1c,
// tcp.urgent_pointer 0, tcp.options 020405b40402080affff54e90000000001030306.
const SYN = hex(`8f fd 00 50 df 91 fd fb 00 00 00 00 a0 02 16 d0 2a 1c 00 00
                 02 04 05 b4 04 02 08 0a ff ff 54 e9 00 00 00 00 01 03 03 06`);
// Data offset 15 (40 bytes of options) and every other bit set.
const ONES = new Uint8Array(60).fill(0xff);
// Bytes 34..53 of frame 1 of tcpdump__tcp_eight_lowest_weight_flags_set.pcap: no options.
const BARE = hex("18 74 00 50 22 5c 20 67 1c f8 2b 1f 50 ff 02 00 f4 c3 00 00");

const t = new TcpView();

describe("tcp header", () => {
  it("reads every field", () => {
    t.wrap(viewOf(SYN), 0, SYN.length, 40).parse();
    expect(readTcp(t)).toEqual({
      srcPort: 36861,
      dstPort: 80,
      seq: 3750886907,
      ack: 0,
      flags: 0x0002,
      window: 5840,
      checksum: 0x2a1c,
      urgent: 0,
      options: hex("020405b40402080affff54e90000000001030306"),
    });
    expect([t.headerLen, t.optionsOff, t.optionsLen, t.payloadOff, t.syn, t.ackFlag]).toEqual([
      40,
      20,
      20,
      40,
      true,
      false,
    ]);
  });

  it.each([
    // tshark's tcp.flags for each frame: the 12-bit value, reserved bits and AE included.
    ["tcpdump__tcp-handshake-nano.pcap", 2, 36, 0x0012], // SYN+ACK (Linux cooked capture)
    ["tcpdump__tcp-handshake-nano.pcap", 3, 36, 0x0010],
    ["tcpdump__tcp_eight_lowest_weight_flags_set.pcap", 1, 34, 0x00ff],
    ["zeek__tcp-options.pcap", 4, 34, 0x0018],
  ] as const)("%s frame %i: flags as tshark prints them", (file, n, l4Off, flags) => {
    const f = captureFrame(file, n).data;
    expect(t.wrap(viewOf(f), l4Off, f.length - l4Off).parse().flags).toBe(flags);
    expect(fieldColumn(file, "tcp.flags")[n - 1]).toBe(`0x${flags.toString(16).padStart(4, "0")}`);
  });

  it("flag bits are RFC 9293's", () => {
    expect(TcpFlag.SYN | TcpFlag.ACK).toBe(0x012);
    expect(
      TcpFlag.FIN | TcpFlag.SYN | TcpFlag.RST | TcpFlag.PSH | TcpFlag.ACK | TcpFlag.URG | TcpFlag.ECE | TcpFlag.CWR,
    ).toBe(0xff);
  });

  it.each([SYN, ONES, BARE])("emits the same bytes into a dirty slot at an odd offset", (bytes) => {
    const slot = dirtySlot(bytes.length + 6);
    const repr = readTcp(t.wrap(viewOf(bytes), 0, bytes.length).parse());
    expect(emitTcp(repr, viewOf(slot), 3)).toBe(3 + bytes.length);
    expect(slot.subarray(3, 3 + bytes.length)).toEqual(bytes);
    expect([slot[2], slot[3 + bytes.length]]).toEqual([0xa5, 0xa5]);
  });

  it("refuses options that are not whole words", () => {
    const repr = { ...readTcp(t.wrap(viewOf(SYN), 0, 40)), options: new Uint8Array(3) };
    expect(() => emitTcp(repr, viewOf(dirtySlot(64)), 0)).toThrow(/multiple of 4/);
  });

  const at34 = (bytes: Uint8Array) => {
    const f = new Uint8Array(34 + bytes.length);
    f.set(bytes, 34);
    return viewOf(f);
  };
  const withOffset = (words: number) => {
    const b = SYN.slice();
    b[12] = (words << 4) | (b[12]! & 0x0f);
    return b;
  };
  it.each([
    ["IP gives TCP fewer than 20 bytes", SYN, 40, 19, "bad-header-len", 34],
    ["capture ends inside the fixed header", SYN, 19, 40, "truncated", 34],
    ["data offset below 5", withOffset(4), 40, 40, "bad-header-len", 46],
    ["data offset beyond the IP payload", SYN, 40, 36, "bad-header-len", 46],
    ["data offset beyond the capture, within the IP payload", SYN, 36, 40, "truncated", 46],
  ] as const)("%s: %s at %i", (_name, bytes, avail, len, code, offset) => {
    expect(() => t.wrap(at34(bytes), 34, avail, len).parse()).toThrowError(new ParseError("tcp", code, offset));
    expect(t.wrap(at34(SYN), 34, 40, 40).check()).toBeNull();
    expect(t.srcPort).toBe(36861);
  });
});

describe("tcp checksum", () => {
  // Every outer TCP segment whose checksum tshark judged (tcp.checksum.status 0 bad, 1 good).
  const CAPTURES = [
    "zeek__ip4-tcp-bad-chksum.pcap",
    "zeek__tcp-options.pcap",
    "tcpdump__tcp-handshake-nano.pcap",
    "tcpdump__tcp_eight_lowest_weight_flags_set.pcap",
    "tcpdump__pptp.pcap",
    "arkime__twovlan.pcap",
    "gopacket__pcapng-le-test300.pcapng",
    "suricata__detect-ipopts.pcap",
    "zeek__vlan-pcp-dei.pcapng",
    "packetnet__LinuxCookedCapturev2.pcap",
    "zeek__ipv4-fragmented-4.pcap",
  ];
  it.each(CAPTURES)("agrees with tshark on %s", (file) => {
    const status = fieldColumn(file, "tcp.checksum.status");
    let compared = 0;
    captureFrames(file).forEach((f, i) => {
      const want = (status[i] ?? "").split(",")[0] ?? "";
      const loc = locateL4(f.data, f.linkType);
      if (loc?.proto !== 6 || loc.fragment || want === "" || want === "2") return;
      t.wrap(viewOf(f.data), loc.l4Off, f.data.length - loc.l4Off, loc.l4Len).parse();
      const got = loc.plainDst
        ? t.verifyChecksum(loc.ipOff, loc.ipVersion)
        : t.verifyChecksumFrom(pseudoSum(viewOf(f.data), loc, loc.l4Len));
      expect({ frame: i + 1, status: got }).toEqual({ frame: i + 1, status: wiresharkStatus(want) });
      compared++;
    });
    expect(compared).toBeGreaterThan(0);
  });

  it("covers the IP payload only, not the Ethernet trailer", () => {
    const f = captureFrame("zeek__tcp-options.pcap", 1).data; // 4 trailer bytes after the segment
    expect(t.wrap(viewOf(f), 34, f.length - 34, 40).verifyChecksum(14, 4)).toBe(CsumStatus.GOOD);
    expect(t.wrap(viewOf(f), 34, f.length - 34).verifyChecksum(14, 4)).toBe(CsumStatus.BAD);
  });

  it("fills the checksum tshark calls correct", () => {
    const f = captureFrame("zeek__tcp-options.pcap", 4).data.slice(); // status 1
    const loc = locateL4(f, 1)!;
    t.wrap(viewOf(f), loc.l4Off, f.length - loc.l4Off, loc.l4Len).parse();
    const want = t.checksum;
    t.checksum = 0xa5a5;
    t.fillChecksum(loc.ipOff, 4);
    expect(t.checksum).toBe(want);
  });

  it("rewriting a port keeps the checksum valid", () => {
    const f = captureFrame("tcpdump__tcp-handshake-nano.pcap", 1).data.slice();
    t.wrap(viewOf(f), 36, f.length - 36, 40).parse();
    for (const port of [0, 1, 0xffff, 8080]) {
      t.rewriteDstPort(port);
      t.rewriteSrcPort(port ^ 0xa5a5);
      expect([t.dstPort, t.verifyChecksum(16, 4)]).toEqual([port, CsumStatus.GOOD]);
    }
  });

  it("reports UNKNOWN instead of reading past the capture", () => {
    const f = captureFrame("zeek__tcp-options.pcap", 4).data;
    expect(t.wrap(viewOf(f), 34, 40, 120).verifyChecksum(14, 4)).toBe(CsumStatus.UNKNOWN);
  });
});

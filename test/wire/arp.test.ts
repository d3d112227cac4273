import { describe, expect, it } from "vitest";
import { ArpView, emitArp, readArp } from "../../src/wire/arp.ts";
import { hex, viewOf } from "../../src/wire/bytes.ts";
import { ParseError } from "../../src/wire/errors.ts";
import { dirtySlot } from "../helpers.ts";
import { captureFrame, fieldColumn } from "./capture-bytes.ts";

// Bytes 22..49 of frames 1 and 2 of tcpdump__802.1ad_QinQ.pcap (after Ethernet + two tags).
// tshark: arp.opcode 1 / 2, arp.src.hw_mac 00:20:d2:5a:fb:3f / 00:80:ea:81:88:63,
// arp.src.proto_ipv4 172.21.79.97 / 172.21.79.100, arp.dst.hw_mac 00:00:00:00:00:00 /
// 00:20:d2:5a:fb:3f, arp.dst.proto_ipv4 172.21.79.100 / 172.21.79.97.
const REQUEST = hex(`00 01 08 00 06 04 00 01 00 20 d2 5a fb 3f ac 15 4f 61
                     00 00 00 00 00 00 ac 15 4f 64`);
const REPLY = hex(`00 01 08 00 06 04 00 02 00 80 ea 81 88 63 ac 15 4f 64
                   00 20 d2 5a fb 3f ac 15 4f 61`);
// Bytes 16..43 of frame 1 of zeek__linuxsll-arp.pcap (after the 16-byte Linux SLL header).
// tshark: opcode 1, cc:2d:e0:26:19:99 192.168.22.1 asks for 192.168.22.160.
const SLL_REQUEST = hex(`00 01 08 00 06 04 00 01 cc 2d e0 26 19 99 c0 a8 16 01
                         00 00 00 00 00 00 c0 a8 16 a0`);
// Non-zero, all-ones opcode and addresses (an emitter always writes Ethernet/IPv4 and 6/4).
const ONES = hex(`00 01 08 00 06 04 ff ff ff ff ff ff ff ff ff ff ff ff
                  ff ff ff ff ff ff ff ff ff ff`);

describe("arp", () => {
  const v = new ArpView();

  it("the stored vectors are the bytes of the captures", () => {
    expect(captureFrame("tcpdump__802.1ad_QinQ.pcap", 1).data.subarray(22, 50)).toEqual(REQUEST);
    expect(captureFrame("tcpdump__802.1ad_QinQ.pcap", 2).data.subarray(22, 50)).toEqual(REPLY);
    expect(captureFrame("zeek__linuxsll-arp.pcap", 1).data.subarray(16, 44)).toEqual(SLL_REQUEST);
    expect(fieldColumn("tcpdump__802.1ad_QinQ.pcap", "arp.opcode")).toEqual(["1", "2"]);
    expect(fieldColumn("zeek__linuxsll-arp.pcap", "arp.opcode")[0]).toBe("1");
  });

  it("reads every field", () => {
    v.wrap(viewOf(REQUEST), 0, REQUEST.length).parse();
    expect(readArp(v)).toEqual({
      op: 1,
      sha: "00:20:d2:5a:fb:3f",
      spa: "172.21.79.97",
      tha: "00:00:00:00:00:00",
      tpa: "172.21.79.100",
    });
    expect([v.htype, v.ptype, v.hlen, v.plen, v.isEthernetIpv4, v.headerLen]).toEqual([1, 0x0800, 6, 4, true, 28]);
    expect([v.spa, v.tpa, v.shaOff, v.thaOff]).toEqual([0xac154f61, 0xac154f64, 8, 18]);
    v.wrap(viewOf(REPLY), 0, REPLY.length).parse();
    expect(readArp(v)).toEqual({
      op: 2,
      sha: "00:80:ea:81:88:63",
      spa: "172.21.79.100",
      tha: "00:20:d2:5a:fb:3f",
      tpa: "172.21.79.97",
    });
    v.wrap(viewOf(SLL_REQUEST), 0, SLL_REQUEST.length).parse();
    expect(readArp(v)).toEqual({
      op: 1,
      sha: "cc:2d:e0:26:19:99",
      spa: "192.168.22.1",
      tha: "00:00:00:00:00:00",
      tpa: "192.168.22.160",
    });
  });

  it.each([REQUEST, REPLY, SLL_REQUEST, ONES])(
    "emits the same bytes into a dirty slot at an odd offset (%#)",
    (bytes) => {
      const slot = dirtySlot(40);
      const repr = readArp(v.wrap(viewOf(bytes), 0, bytes.length).parse());
      expect(emitArp(repr, viewOf(slot), 3)).toBe(31);
      expect(slot.subarray(3, 31)).toEqual(bytes);
      expect(slot[2]).toBe(0xa5);
      expect(slot[31]).toBe(0xa5);
    },
  );

  it("rewrites the opcode and protocol addresses in place", () => {
    const b = REQUEST.slice();
    v.wrap(viewOf(b), 0, b.length).parse();
    v.op = 2;
    v.spa = 0xffffffff;
    v.tpa = 0x01020304;
    expect(b.subarray(6, 8)).toEqual(hex("00 02"));
    expect(b.subarray(14, 18)).toEqual(hex("ff ff ff ff"));
    expect(b.subarray(24, 28)).toEqual(hex("01 02 03 04"));
  });

  it("leaves a non-Ethernet/IPv4 ARP with 6/4 lengths to the caller", () => {
    const b = REQUEST.slice();
    b[1] = 6; // IEEE 802 hardware type
    expect(v.wrap(viewOf(b), 0, b.length).check()).toBeNull();
    expect(v.isEthernetIpv4).toBe(false);
  });

  // Each code check() can return, the vector placed at byte 10 of a larger buffer.
  it.each([
    ["7 bytes", 7, -1, -1, "truncated", 10],
    ["hlen 8", 28, 4, 8, "bad-header-len", 14],
    ["plen 16", 28, 5, 16, "bad-header-len", 15],
    ["13 bytes", 13, -1, -1, "truncated", 18],
    ["17 bytes", 17, -1, -1, "truncated", 24],
    ["20 bytes", 20, -1, -1, "truncated", 28],
    ["27 bytes", 27, -1, -1, "truncated", 34],
  ] as const)("%s: %s at %i", (_name, avail, at, value, code, offset) => {
    const frame = new Uint8Array(50);
    frame.set(REQUEST, 10);
    if (at >= 0) frame[10 + at] = value;
    expect(() => v.wrap(viewOf(frame), 10, avail).parse()).toThrowError(new ParseError("arp", code, offset));
    expect(v.wrap(viewOf(frame), 10, 28).check()).toBe(at >= 0 ? code : null);
  });
});

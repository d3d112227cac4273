import { describe, expect, it } from "vitest";
import { hex, viewOf } from "../../src/wire/bytes.ts";
import { ParseError } from "../../src/wire/errors.ts";
import { VxlanView, emitVxlan, readVxlan } from "../../src/wire/vxlan.ts";
import { dirtySlot } from "../helpers.ts";
import { captureFrames, fieldColumn } from "./capture-bytes.ts";
import { locateL4 } from "./l4-locate.ts";

// Bytes 42..49 of frame 1 of tcpdump__vxlan.pcap; tshark: vxlan.flags 0x0800, vxlan.vni 100.
const VXLAN = hex("08 00 00 00 00 00 64 00");
// Bytes 42..49 of frame 1 of suricata__vxlan-non-zero-reserved-fields.pcap; tshark:
// vxlan.flags 0xff01 (I set, and reserved bits it reads as a group policy id 53746), vni 11.
const RESERVED = hex("ff 01 d1 f2 00 00 0b 00");
const ONES = hex("ff ff ff ff ff ff ff ff");

const v = new VxlanView();

describe("vxlan", () => {
  it("reads every field", () => {
    v.wrap(viewOf(VXLAN), 0, 8).parse();
    expect(readVxlan(v)).toEqual({ flags: 0x08, reserved1: 0, vni: 100, reserved2: 0 });
    expect([v.flags, v.iFlag, v.strict, v.headerLen, v.payloadOff]).toEqual([0x0800, true, true, 8, 8]);
  });

  it("ignores reserved bits (RFC 7348 §5) but says Open vSwitch would not", () => {
    v.wrap(viewOf(RESERVED), 0, 8).parse();
    expect(readVxlan(v)).toEqual({ flags: 0xff, reserved1: 0x01d1f2, vni: 11, reserved2: 0 });
    expect([v.flags, v.iFlag, v.strict]).toEqual([0xff01, true, false]);
    v.wrap(viewOf(hex("00 00 00 00 00 00 64 00")), 0, 8).parse(); // I clear: the caller decides
    expect([v.iFlag, v.strict, v.vni]).toEqual([false, false, 100]);
    v.wrap(viewOf(hex("08 00 00 00 00 00 64 01")), 0, 8).parse();
    expect([v.iFlag, v.strict]).toEqual([true, false]);
  });

  it.each([
    "tcpdump__vxlan.pcap",
    "suricata__vxlan-non-zero-reserved-fields.pcap",
    "ndpi__vxlan.pcap",
    "zeek__vxlan-triple-v2.pcap",
    "tcpdump__gso-ipv6-vxlan-ipv4.pcap",
  ])("agrees with tshark on the outer VXLAN header of every frame of %s", (file) => {
    const flags = fieldColumn(file, "vxlan.flags");
    const vni = fieldColumn(file, "vxlan.vni");
    let compared = 0;
    captureFrames(file).forEach((f, i) => {
      const loc = locateL4(f.data, f.linkType);
      if (loc?.proto !== 17 || (flags[i] ?? "") === "") return;
      v.wrap(viewOf(f.data), loc.l4Off + 8, f.data.length - loc.l4Off - 8).parse();
      expect([i + 1, `0x${v.flags.toString(16).padStart(4, "0")}`, String(v.vni)]).toEqual([
        i + 1,
        flags[i]?.split(",")[0],
        vni[i]?.split(",")[0],
      ]);
      compared++;
    });
    expect(compared).toBeGreaterThan(0);
  });

  it("emits flags 0x08000000 and zero reserved from a VNI alone", () => {
    const slot = dirtySlot(12);
    expect(emitVxlan({ vni: 100 }, viewOf(slot), 3)).toBe(11);
    expect(slot.subarray(3, 11)).toEqual(VXLAN);
    expect([slot[2], slot[11]]).toEqual([0xa5, 0xa5]);
  });

  it.each([VXLAN, RESERVED, ONES])("emits the same bytes into a dirty slot at an odd offset", (bytes) => {
    const slot = dirtySlot(12);
    expect(emitVxlan(readVxlan(v.wrap(viewOf(bytes), 0, 8).parse()), viewOf(slot), 3)).toBe(11);
    expect(slot.subarray(3, 11)).toEqual(bytes);
  });

  it("rewrites the VNI in place and keeps the reserved byte", () => {
    const b = hex("08 00 00 00 00 00 64 5a");
    v.wrap(viewOf(b), 0, 8).vni = 0xabcdef;
    expect(b).toEqual(hex("08 00 00 00 ab cd ef 5a"));
  });

  const at42 = (bytes: Uint8Array) => {
    const f = new Uint8Array(50);
    f.set(bytes, 42);
    return viewOf(f);
  };
  it.each([
    ["UDP gives VXLAN fewer than 8 bytes", 8, 7, "bad-length", 42],
    ["capture ends inside the header", 7, 106, "truncated", 42],
    ["capture ends inside the header, length unknown", 7, -1, "truncated", 42],
  ] as const)("%s: %s at %i", (_name, avail, len, code, offset) => {
    expect(() => v.wrap(at42(VXLAN), 42, avail, len).parse()).toThrowError(new ParseError("vxlan", code, offset));
    expect(v.wrap(at42(VXLAN), 42, 8).check()).toBeNull();
    expect(v.vni).toBe(100);
  });
});

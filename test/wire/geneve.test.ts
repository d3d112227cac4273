import { describe, expect, it } from "vitest";
import { hex, viewOf } from "../../src/wire/bytes.ts";
import { ParseError } from "../../src/wire/errors.ts";
import { GeneveView, emitGeneve, readGeneve, type GeneveRepr } from "../../src/wire/geneve.ts";
import { dirtySlot } from "../helpers.ts";
import { captureFrame, captureFrames, fieldColumn } from "./capture-bytes.ts";
import { locateL4 } from "./l4-locate.ts";

// Bytes 42..57 of frame 1 of tcpdump__geneve.pcap; tshark: version 0, length 8 bytes, flags
// 0x40 (critical options present), protocol 0x6558, geneve.vni 0x00000a, one option with
// geneve.option.class 0x0000, geneve.option.type 0x80 (critical), data 0000000c.
const OPT = hex("02 40 65 58 00 00 0a 00 00 00 80 01 00 00 00 0c");
// Bytes 42..49 of frame 2 of the same capture: no options, geneve.vni 0x00000b.
const BARE = hex("00 00 65 58 00 00 0b 00");

const g = new GeneveView();

describe("geneve header", () => {
  it("reads every field", () => {
    g.wrap(viewOf(OPT), 0, OPT.length).parse();
    expect(readGeneve(g)).toEqual<GeneveRepr>({
      oam: false,
      critical: true,
      protocolType: 0x6558,
      vni: 0x0a,
      options: [{ class: 0x0000, type: 0x80, data: hex("00 00 00 0c") }],
    });
    expect([g.version, g.optionsLen, g.headerLen, g.payloadOff, g.optionsOff]).toEqual([0, 8, 16, 16, 8]);
    g.wrap(viewOf(BARE), 0, BARE.length).parse();
    expect(readGeneve(g)).toEqual<GeneveRepr>({
      oam: false,
      critical: false,
      protocolType: 0x6558,
      vni: 0x0b,
      options: [],
    });
  });

  it("walks zeek__geneve-many-options.pcap frame 1 option by option without allocating", () => {
    // tshark: three options of class 0x0100 (Linux), types 1, 2 and 3, lengths 20, 40 and 16
    // bytes with their 4-byte headers; geneve.vni 0x0c012e.
    const f = captureFrame("zeek__geneve-many-options.pcap", 1).data;
    g.wrap(viewOf(f), 42, f.length - 42).parse();
    const seen: number[][] = [];
    for (let ok = g.optFirst(); ok; ok = g.optNext()) seen.push([g.optOff, g.optClass, g.optType, g.optLen]);
    expect(seen).toEqual([
      [50, 0x0100, 1, 16],
      [70, 0x0100, 2, 36],
      [110, 0x0100, 3, 12],
    ]);
    expect([g.optOff, g.optNext(), g.vni, g.headerLen]).toEqual([-1, false, 0x0c012e, 84]);
    expect(g.findOpt(0x0100, 2)).toBe(74);
    expect([g.optClass, g.optType, g.optLen, g.optCritical]).toEqual([0x0100, 2, 36, false]);
    expect(f.subarray(g.optDataOff, g.optDataOff + 4)).toEqual(hex("30 31 32 33"));
    expect(g.findOpt(0x0100, 4)).toBe(-1);
  });

  it.each([
    "tcpdump__geneve.pcap",
    "zeek__geneve-many-options.pcap",
    "tcpdump__gso-ipv6-geneve-ipv6.pcap",
    "zeek__geneve-truncated.pcapng",
  ])("agrees with tshark on the VNI and options of every frame of %s", (file) => {
    const vni = fieldColumn(file, "geneve.vni");
    const cls = fieldColumn(file, "geneve.option.class");
    const type = fieldColumn(file, "geneve.option.type");
    const protos = fieldColumn(file, "frame.protocols");
    const h = (n: number, w: number) => `0x${n.toString(16).padStart(w, "0")}`;
    let compared = 0;
    captureFrames(file).forEach((f, i) => {
      const loc = locateL4(f.data, f.linkType);
      if (loc?.proto !== 17 || (protos[i] ?? "").split("geneve").length !== 2) return;
      g.wrap(viewOf(f.data), loc.l4Off + 8, f.data.length - loc.l4Off - 8).parse();
      const c: string[] = [];
      const t: string[] = [];
      for (let ok = g.optFirst(); ok; ok = g.optNext()) {
        c.push(h(g.optClass, 4));
        t.push(h(g.optType, 2));
      }
      expect([i + 1, h(g.vni, 6), c.join(","), t.join(",")]).toEqual([i + 1, vni[i], cls[i], type[i]]);
      compared++;
    });
    expect(compared).toBeGreaterThan(0);
  });

  it("finds an IPv6 outer header's payload: an Ethernet frame after the options", () => {
    // tcpdump__gso-ipv6-geneve-ipv6.pcap frame 1: GENEVE at 62, inner eth.type 0x86dd at 82.
    const f = captureFrame("tcpdump__gso-ipv6-geneve-ipv6.pcap", 1).data;
    g.wrap(viewOf(f), 62, f.length - 62).parse();
    expect([g.protocolType, g.payloadOff, viewOf(f).getUint16(g.payloadOff + 12)]).toEqual([0x6558, 70, 0x86dd]);
  });

  it.each([OPT, BARE])("emits the same bytes into a dirty slot at an odd offset", (bytes) => {
    const slot = dirtySlot(bytes.length + 6);
    const repr = readGeneve(g.wrap(viewOf(bytes), 0, bytes.length).parse());
    expect(emitGeneve(repr, viewOf(slot), 3)).toBe(3 + bytes.length);
    expect(slot.subarray(3, 3 + bytes.length)).toEqual(bytes);
    expect([slot[2], slot[3 + bytes.length]]).toEqual([0xa5, 0xa5]);
  });

  it("emits the many-options header byte for byte", () => {
    const f = captureFrame("zeek__geneve-many-options.pcap", 1).data;
    const repr = readGeneve(g.wrap(viewOf(f), 42, f.length - 42).parse());
    const slot = dirtySlot(90);
    expect(emitGeneve(repr, viewOf(slot), 1)).toBe(85);
    expect(slot.subarray(1, 85)).toEqual(f.subarray(42, 126));
  });

  it("round-trips all-ones values, and sets C from the options when not given", () => {
    const ones: GeneveRepr = {
      oam: true,
      critical: true,
      protocolType: 0xffff,
      vni: 0xffffff,
      options: [
        { class: 0xffff, type: 0xff, data: new Uint8Array(124).fill(0xff) },
        { class: 0xffff, type: 0xff, data: new Uint8Array(0) },
      ],
    };
    const slot = dirtySlot(200);
    expect(emitGeneve(ones, viewOf(slot), 5)).toBe(5 + 8 + 128 + 4);
    expect(slot.subarray(5, 13)).toEqual(hex("21 c0 ff ff ff ff ff 00"));
    expect(readGeneve(g.wrap(viewOf(slot), 5, 140).parse())).toEqual(ones);
    const { critical: _, ...implied } = ones;
    emitGeneve({ ...implied, oam: false }, viewOf(slot), 5);
    expect(g.wrap(viewOf(slot), 5, 140).parse().critical).toBe(true);
  });

  it("refuses options it cannot encode", () => {
    const bad = (data: Uint8Array) => ({
      oam: false,
      protocolType: 0x6558,
      vni: 1,
      options: [{ class: 1, type: 1, data }],
    });
    expect(() => emitGeneve(bad(new Uint8Array(6)), viewOf(dirtySlot(64)), 0)).toThrow(/multiple of 4/);
    expect(() => emitGeneve(bad(new Uint8Array(128)), viewOf(dirtySlot(256)), 0)).toThrow(/at most 124/);
  });

  const at42 = (bytes: Uint8Array) => {
    const f = new Uint8Array(42 + bytes.length);
    f.set(bytes, 42);
    return viewOf(f);
  };
  it.each([
    ["UDP gives GENEVE fewer than 8 bytes", OPT, 16, 7, "bad-length", 42],
    ["capture ends inside the fixed header", OPT, 7, 100, "truncated", 42],
    ["version 1 (RFC 8926 §3.4)", hex("42 40 65 58 00 00 0a 00 00 00 80 01 00 00 00 0c"), 16, 16, "bad-version", 42],
    ["options beyond the UDP payload", OPT, 16, 12, "bad-header-len", 42],
    ["options beyond the capture", OPT, 12, 100, "truncated", 42],
    [
      "the only option overruns the option length",
      hex("02 40 65 58 00 00 0a 00 00 00 80 02 00 00 00 0c"),
      16,
      16,
      "bad-option",
      50,
    ],
    [
      "the second option overruns it",
      hex("03 00 65 58 00 00 0a 00 01 02 03 00 01 02 04 02 00 00 00 00"),
      20,
      20,
      "bad-option",
      54,
    ],
  ] as const)("%s: %s at %i", (_name, bytes, avail, len, code, offset) => {
    expect(() => g.wrap(at42(bytes), 42, avail, len).parse()).toThrowError(new ParseError("geneve", code, offset));
    expect(g.wrap(at42(OPT), 42, 16, 16).check()).toBeNull();
    expect([g.optFirst(), g.optType]).toEqual([true, 0x80]);
  });

  it("the option cursor never reads past the options, even without check()", () => {
    const b = hex("02 40 65 58 00 00 0a 00 00 00 80 1f 00 00 00 0c"); // option claims 124 bytes
    g.wrap(viewOf(b), 0, b.length);
    expect([g.optFirst(), g.optOff, g.findOpt(0, 0x80)]).toEqual([false, -1, -1]);
  });

  it("ignores reserved bits on receipt (RFC 8926 §3.4)", () => {
    const b = hex("00 3f 65 58 00 00 0b ff");
    expect(readGeneve(g.wrap(viewOf(b), 0, 8).parse())).toEqual<GeneveRepr>({
      oam: false,
      critical: false,
      protocolType: 0x6558,
      vni: 0x0b,
      options: [],
    });
  });
});

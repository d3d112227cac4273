import { describe, expect, it } from "vitest";
import { hex, viewOf } from "../../src/wire/bytes.ts";
import { CsumStatus } from "../../src/wire/checksum.ts";
import { ParseError } from "../../src/wire/errors.ts";
import { GreView, emitGre, emitNvgre, readGre, type GreRepr } from "../../src/wire/gre.ts";
import { dirtySlot, requireTool } from "../helpers.ts";
import { captureFrame, captureFrames, fieldColumn } from "./capture-bytes.ts";
import { locateL4 } from "./l4-locate.ts";
import { tsharkFields } from "./tshark-run.ts";

// Bytes 34..49 of frame 1 of packetnet__gre_all_options.pcap; tshark: gre.flags_and_version
// 0xb000, gre.proto 0x0800, checksum 0x6e7c [correct], offset 0, gre.key 0x0001d97c, sequence 5.
const ALL = hex("b0 00 08 00 6e 7c 00 00 00 01 d9 7c 00 00 00 05");
// Bytes 34..41 of frame 1 of packetnet__gre_nvgre.pcap; tshark: 0x2000, 0x6558, key 0x12345602.
const NVGRE = hex("20 00 65 58 12 34 56 02");
// Bytes 34..45 of frame 16 of tcpdump__pptp.pcap; tshark: gre.flags_and_version 0x3001,
// gre.proto 0x880b, gre.key.payload_length 48, gre.key.call_id 0, gre.sequence_number 0.
const PPTP = hex("30 01 88 0b 00 30 00 00 00 00 00 00");
// Enhanced GRE with S and A (RFC 2637 §4.1 layout); the tshark test below dissects it.
const PPTP_ACK = hex("30 81 88 0b 00 04 12 34 00 00 00 07 00 00 00 05 ff 03 c0 21");

const g = new GreView();

describe("gre header", () => {
  it("reads every field: version 0 with C, K and S", () => {
    g.wrap(viewOf(ALL), 0, ALL.length).parse();
    expect(readGre(g)).toEqual<GreRepr>({
      version: 0,
      protocolType: 0x0800,
      checksum: 0x6e7c,
      reserved1: 0,
      key: 0x0001d97c,
      seq: 5,
      ack: null,
    });
    expect([g.flagsAndVersion, g.headerLen, g.payloadOff, g.isNvgre]).toEqual([0xb000, 16, 16, false]);
  });

  it("reads NVGRE's VSID and FlowID out of the key (RFC 7637 §3.2)", () => {
    g.wrap(viewOf(NVGRE), 0, NVGRE.length).parse();
    expect(readGre(g)).toEqual<GreRepr>({
      version: 0,
      protocolType: 0x6558,
      checksum: null,
      reserved1: 0,
      key: 0x12345602,
      seq: null,
      ack: null,
    });
    expect([g.isNvgre, g.vsid, g.flowId, g.headerLen]).toEqual([true, 0x123456, 0x02, 8]);
  });

  it("reads enhanced GRE (PPTP, version 1): key = payload length | call id", () => {
    g.wrap(viewOf(PPTP), 0, PPTP.length).parse();
    expect(readGre(g)).toEqual<GreRepr>({
      version: 1,
      protocolType: 0x880b,
      checksum: null,
      reserved1: 0,
      key: 0x00300000,
      seq: 0,
      ack: null,
    });
    expect([g.flagsAndVersion, g.pptpPayloadLen, g.callId, g.headerLen]).toEqual([0x3001, 48, 0, 12]);
    g.wrap(viewOf(PPTP_ACK), 0, PPTP_ACK.length).parse();
    expect([g.ackPresent, g.seq, g.ack, g.callId, g.pptpPayloadLen, g.headerLen]).toEqual([true, 7, 5, 0x1234, 4, 16]);
  });

  it.each([
    "packetnet__gre_all_options.pcap",
    "packetnet__gre_nvgre.pcap",
    "tcpdump__pptp.pcap",
    "tcpdump__various_gre.pcap",
  ])("agrees with tshark on every outer GRE header of %s", (file) => {
    const fv = fieldColumn(file, "gre.flags_and_version");
    const proto = fieldColumn(file, "gre.proto");
    const key = fieldColumn(file, "gre.key");
    const h4 = (n: number, w: number) => `0x${n.toString(16).padStart(w, "0")}`;
    let compared = 0;
    captureFrames(file).forEach((f, i) => {
      const loc = locateL4(f.data, f.linkType);
      if (loc?.proto !== 47) return;
      g.wrap(viewOf(f.data), loc.l4Off, f.data.length - loc.l4Off, loc.l4Len).parse();
      const wantKey = (key[i] ?? "").split(",")[0] ?? "";
      expect([
        i + 1,
        h4(g.flagsAndVersion, 4),
        h4(g.protocolType, 4),
        g.keyPresent && g.version === 0 ? h4(g.key, 8) : "",
      ]).toEqual([i + 1, fv[i]?.split(",")[0], proto[i]?.split(",")[0], wantKey]);
      compared++;
    });
    expect(compared).toBeGreaterThan(0);
  });

  const ONES: GreRepr = {
    version: 1,
    protocolType: 0xffff,
    checksum: 0xffff,
    reserved1: 0xffff,
    key: 0xffffffff,
    seq: 0xffffffff,
    ack: 0xffffffff,
  };
  it.each([ALL, NVGRE, PPTP, PPTP_ACK.subarray(0, 16)])(
    "emits the same bytes into a dirty slot at an odd offset",
    (bytes) => {
      const slot = dirtySlot(bytes.length + 6);
      const repr = readGre(g.wrap(viewOf(bytes), 0, bytes.length).parse());
      expect(emitGre(repr, viewOf(slot), 3)).toBe(3 + bytes.length);
      expect(slot.subarray(3, 3 + bytes.length)).toEqual(bytes);
      expect([slot[2], slot[3 + bytes.length]]).toEqual([0xa5, 0xa5]);
    },
  );

  it("round-trips all-ones values (no view check: C with version 1 is not a valid packet)", () => {
    const slot = dirtySlot(32);
    expect(emitGre(ONES, viewOf(slot), 1)).toBe(21);
    expect(readGre(g.wrap(viewOf(slot), 1, 20))).toEqual(ONES);
    expect(slot.subarray(1, 3)).toEqual(hex("b0 81"));
  });

  it("emits NVGRE as RFC 7637 §3.2 lays it out", () => {
    const slot = dirtySlot(12);
    expect(emitNvgre(0x123456, 0x02, viewOf(slot), 3)).toBe(11);
    expect(slot.subarray(3, 11)).toEqual(NVGRE);
    emitNvgre(0xffffff, 0xff, viewOf(slot), 3);
    expect(g.wrap(viewOf(slot), 3, 8).parse().isNvgre && [g.vsid, g.flowId]).toEqual([0xffffff, 0xff]);
  });

  const at34 = (bytes: Uint8Array) => {
    const f = new Uint8Array(34 + bytes.length);
    f.set(bytes, 34);
    return viewOf(f);
  };
  it.each([
    ["IP gives GRE fewer than 4 bytes", ALL, 16, 3, "bad-length", 34],
    ["capture ends inside the base header", ALL, 3, 116, "truncated", 34],
    ["version 2", hex("00 02 08 00"), 4, 4, "bad-version", 34],
    ["version 0 with the routing bit (RFC 2784 §2.3)", hex("40 00 08 00 00 00 00 00"), 8, 8, "bad-flags", 34],
    ["version 0 with strict source route", hex("08 00 08 00"), 4, 4, "bad-flags", 34],
    ["version 1 without the key bit (RFC 2637 §4.1)", hex("10 01 88 0b 00 00 00 00"), 8, 8, "bad-flags", 34],
    ["version 1 with a checksum", hex("a0 01 88 0b 00 00 00 00 00 00 00 00"), 12, 12, "bad-flags", 34],
    ["optional fields beyond the IP payload", ALL, 16, 12, "bad-header-len", 34],
    ["optional fields beyond the capture", ALL, 12, 116, "truncated", 34],
  ] as const)("%s: %s at %i", (_name, bytes, avail, len, code, offset) => {
    expect(() => g.wrap(at34(bytes), 34, avail, len).parse()).toThrowError(new ParseError("gre", code, offset));
    expect(g.wrap(at34(ALL), 34, 16, 16).check()).toBeNull();
    expect(g.key).toBe(0x0001d97c);
  });

  it("ignores reserved bits 6-12 on receipt (RFC 2784 §2.3)", () => {
    const b = hex("20 78 65 58 12 34 56 02");
    expect(g.wrap(viewOf(b), 0, 8).parse().headerLen).toBe(8);
    expect([g.version, g.ackPresent, g.key]).toEqual([0, false, 0x12345602]);
  });
});

describe("gre checksum", () => {
  it("verifies and fills the checksum tshark calls correct", () => {
    const f = captureFrame("packetnet__gre_all_options.pcap", 1).data.slice();
    const loc = locateL4(f, 1)!;
    g.wrap(viewOf(f), loc.l4Off, f.length - loc.l4Off, loc.l4Len).parse();
    expect(g.verifyChecksum()).toBe(CsumStatus.GOOD);
    g.checksum = 0x1234;
    expect(g.verifyChecksum()).toBe(CsumStatus.BAD);
    g.fillChecksum();
    expect(g.checksum).toBe(0x6e7c);
    f[f.length - 1] = (f[f.length - 1] as number) ^ 0x01; // the checksum covers the payload too (RFC 2784 §2.5)
    expect(g.verifyChecksum()).toBe(CsumStatus.BAD);
  });

  it("is not present without the C bit, unknown without the bytes", () => {
    const f = captureFrame("packetnet__gre_nvgre.pcap", 1).data;
    expect(g.wrap(viewOf(f), 34, f.length - 34).verifyChecksum()).toBe(CsumStatus.NOT_PRESENT);
    const a = captureFrame("packetnet__gre_all_options.pcap", 1).data;
    expect(g.wrap(viewOf(a), 34, 40, 116).verifyChecksum()).toBe(CsumStatus.UNKNOWN);
  });
});

describe.runIf(requireTool("tshark"))("gre against tshark", () => {
  it("dissects the enhanced GRE vector with acknowledgment as we do", () => {
    // Ethernet + IPv4 10.1.1.11 -> 10.1.1.10, protocol 47, then PPTP_ACK.
    const frame = hex(`08 00 20 9f 6b 72 00 00 00 00 00 00 08 00
                       45 00 00 28 00 01 00 00 80 2f 00 00 0a 01 01 0b 0a 01 01 0a`);
    const all = new Uint8Array(frame.length + PPTP_ACK.length);
    all.set(frame);
    all.set(PPTP_ACK, frame.length);
    const [line] = tsharkFields(
      [all],
      ["gre.flags_and_version", "gre.key.payload_length", "gre.key.call_id", "gre.sequence_number", "gre.ack_number"],
    );
    expect(line).toBe("0x3081\t4\t4660\t7\t5");
  });
});

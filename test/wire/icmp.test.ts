import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { hex, viewOf } from "../../src/wire/bytes.ts";
import { ParseError } from "../../src/wire/errors.ts";
import { IcmpView, emitIcmp, readIcmp } from "../../src/wire/icmp.ts";
import { Ipv4View } from "../../src/wire/ipv4.ts";
import { captureFiles, capturePath, readFieldsTsv } from "../conformance/tsv.ts";
import { dirtySlot, requireTool } from "../helpers.ts";
import { captureFrame, captureFrames } from "./capture-bytes.ts";
import { locateL3 } from "./l3-locate.ts";

// Bytes 34..97 of frame 1 of arkime__bigendian.pcap: an echo request with 56 bytes of data.
// tshark: icmp.type 8, icmp.code 0, icmp.checksum 0x0afb (status good), icmp.ident 17320, icmp.seq 0.
const ECHO = hex(`08 00 0a fb 43 a8 00 00 4f a1 1b 29 00 02 53 8d 08 09 0a 0b 0c 0d 0e 0f
                  10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23 24 25 26 27
                  28 29 2a 2b 2c 2d 2e 2f 30 31 32 33 34 35 36 37`);
// Bytes 34..41 of zeek__ip4-icmp-bad-chksum.pcap: an 8-byte echo request whose checksum 0x000d
// tshark reports bad (icmp.checksum.status 0).
const BAD = hex("08 00 00 0d 00 00 00 00");
// First 8 bytes of the ICMP message of zeek__icmp-destunreach-udp.pcap: port unreachable
// (tshark icmp.type 3, icmp.code 3, checksum 0x03bb good) quoting IPv4/UDP.
const UNREACH = hex("03 03 03 bb 00 00 00 00");
const ONES = hex("ff ff ff ff ff ff ff ff");

const icmp = new IcmpView();
const ip = new Ipv4View();

describe("icmp", () => {
  it("the stored vectors are the bytes of the captures", () => {
    expect(captureFrame("arkime__bigendian.pcap", 1).data.subarray(34, 98)).toEqual(ECHO);
    expect(captureFrame("zeek__ip4-icmp-bad-chksum.pcap", 1).data.subarray(34, 42)).toEqual(BAD);
    expect(captureFrame("zeek__icmp-destunreach-udp.pcap", 1).data.subarray(34, 42)).toEqual(UNREACH);
  });

  it("reads every field and verifies the checksum over the whole message", () => {
    icmp.wrap(viewOf(ECHO), 0, ECHO.length).parse();
    expect(readIcmp(icmp)).toEqual({ type: 8, code: 0, checksum: 0x0afb, rest: 0x43a80000 });
    expect([icmp.id, icmp.seq, icmp.headerLen, icmp.payloadOff, icmp.isError]).toEqual([17320, 0, 8, 8, false]);
    expect(icmp.checksumOk(64)).toBe(true);
    expect(icmp.checksumOk(63)).toBe(false); // one byte short sums differently
    expect(icmp.checksumOk(65)).toBe(false); // not all present: cannot verify
    icmp.wrap(viewOf(BAD), 0, BAD.length).parse();
    expect(readIcmp(icmp)).toEqual({ type: 8, code: 0, checksum: 0x000d, rest: 0 });
    expect(icmp.checksumOk(8)).toBe(false);
    const f = captureFrame("zeek__icmp-destunreach-udp.pcap", 1).data;
    ip.wrap(viewOf(f), 14, f.length - 14).parse();
    icmp.wrap(viewOf(f), ip.payloadOff, ip.payloadAvail).parse();
    expect([icmp.type, icmp.code, icmp.isError, icmp.checksumOk(ip.payloadLen)]).toEqual([3, 3, true, true]);
    // The quoted datagram: tshark's second ip.len is 163.
    expect(ip.wrap(viewOf(f), icmp.payloadOff, f.length - icmp.payloadOff).totalLen).toBe(163);
  });

  it.each([
    ["ECHO", ECHO.subarray(0, 8)],
    ["UNREACH", UNREACH],
    ["ONES", ONES],
  ] as const)("emits %s into a dirty slot at an odd offset", (_n, bytes) => {
    const slot = dirtySlot(16);
    const repr = readIcmp(icmp.wrap(viewOf(bytes), 0, bytes.length).parse());
    expect(emitIcmp(repr, viewOf(slot), 3)).toBe(11);
    expect(slot.subarray(3, 11)).toEqual(bytes);
    expect([slot[2], slot[11]]).toEqual([0xa5, 0xa5]);
  });

  it("fills the checksum tshark found good, once the data is in place", () => {
    const slot = dirtySlot(80);
    slot.set(ECHO.subarray(8), 9);
    emitIcmp({ type: 8, code: 0, checksum: 0, rest: 0x43a80000 }, viewOf(slot), 1);
    icmp.wrap(viewOf(slot), 1, 64).fillChecksum(64);
    expect(icmp.checksum).toBe(0x0afb);
    expect(slot.subarray(1, 65)).toEqual(ECHO);
    icmp.id = 0xffff;
    icmp.seq = 0x1234;
    icmp.type = 0;
    icmp.code = 1;
    expect(slot.subarray(1, 9)).toEqual(hex("00 01 0a fb ff ff 12 34"));
  });

  it("rewriting the identifier keeps the checksum valid, and touches nothing else", () => {
    const msg = ECHO.slice();
    icmp.wrap(viewOf(msg), 0, msg.length).parse();
    for (const id of [0, 1, 0xffff, 0x5aa5, 17320]) {
      icmp.rewriteId(id);
      expect([icmp.id, icmp.seq, icmp.type, icmp.code, icmp.checksumOk(64)]).toEqual([id, 0, 8, 0, true]);
      const resummed = msg.slice();
      icmp.wrap(viewOf(resummed), 0, resummed.length).fillChecksum(64);
      expect(icmp.checksum).toBe(viewOf(msg).getUint16(2));
      icmp.wrap(viewOf(msg), 0, msg.length);
    }
    expect(msg).toEqual(ECHO); // back at 17320, the capture's identifier
  });

  it("reports truncated at the start of the header, and still works afterwards", () => {
    const frame = new Uint8Array(50);
    frame.set(UNREACH, 34);
    expect(() => icmp.wrap(viewOf(frame), 34, 7).parse()).toThrowError(new ParseError("icmp", "truncated", 34));
    expect(icmp.wrap(viewOf(frame), 34, 8).check()).toBeNull();
    expect(icmp.type).toBe(3);
  });
});

describe.runIf(requireTool("tshark"))("icmp against tshark", () => {
  it("agrees with tshark's icmp.type, icmp.code and icmp.checksum.status on every outer ICMP", () => {
    let n = 0;
    // Only the captures whose stored dissection has ICMP: one tshark run each.
    for (const file of captureFiles().filter((c) => readFieldsTsv(c).some((r) => r["icmp.type"]))) {
      const frames = captureFrames(file);
      const out = execFileSync(
        "tshark",
        [
          "-n",
          "-r",
          capturePath(file),
          "-T",
          "fields",
          "-E",
          "occurrence=f",
          "-e",
          "frame.number",
          "-e",
          "icmp.type",
          "-e",
          "icmp.code",
          "-e",
          "icmp.checksum.status",
        ],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
      );
      for (const line of out.split("\n")) {
        const [num, type, code, status] = line.split("\t");
        const f = frames[Number(num) - 1];
        const l3 = f && locateL3(f);
        if (!f || !l3 || l3.etherType !== 0x0800 || !type) continue;
        if (ip.wrap(viewOf(f.data), l3.off, f.data.length - l3.off).check() !== null || ip.protocol !== 1) continue;
        const where = `${file} frame ${num}`;
        expect(icmp.wrap(viewOf(f.data), ip.payloadOff, ip.payloadAvail).check(), where).toBeNull();
        expect([String(icmp.type), String(icmp.code)], where).toEqual([type, code]);
        if (status === "0" || status === "1") expect(icmp.checksumOk(ip.payloadLen) ? "1" : "0", where).toBe(status);
        n++;
      }
    }
    expect(n).toBeGreaterThanOrEqual(4); // arkime (2), zeek unreachable, zeek bad checksum
  });
});

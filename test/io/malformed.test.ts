// Malformed and cut-off capture files: one case per error code, each with the absolute file
// offset it must name and the packets before it that must still come back. Every file is a real
// conformance capture (../shared/conformance/captures) with a few bytes changed; the block and
// record offsets below were read off those files with xxd, and the packet counts are the rows
// of their .fields.tsv (tshark 4.0) that come before the damaged record.
//
//   tcpdump__vxlan.pcap: LE, µs, snaplen 1500; 10 records at 24 188 296 404 568 732 896 1060
//     1224 1388, file length 1552.
//   zeek__pcapng-multi-interface.pcapng: LE; SHB 0 (132 bytes), IDB 132, IDB 200 (snaplen
//     262144 each), EPBs at 348 476 724 828 1028 1132 (iface 0 0 1 1 1 1), file length 1348.
//   gopacket__pcapng-be-test202.pcapng: big-endian first section; IDB 104 (eth0, snaplen 96),
//     first EPB at 448 (iface 0, caplen 96).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readCapture } from "../../src/io/capture.ts";
import { readPcap } from "../../src/io/pcap.ts";
import { readPcapng } from "../../src/io/pcapng.ts";
import { ParseError } from "../../src/wire/errors.ts";

const CAPTURES = fileURLToPath(new URL("../../../shared/conformance/captures/", import.meta.url));

function load(file: string): Uint8Array {
  return new Uint8Array(readFileSync(CAPTURES + file));
}
/** A copy of `file` changed by `fn` (through a DataView over the copy). */
function mutate(file: string, fn: (dv: DataView, u8: Uint8Array) => void): Uint8Array {
  const u8 = load(file);
  fn(new DataView(u8.buffer, u8.byteOffset, u8.byteLength), u8);
  return u8;
}

const PCAP = "tcpdump__vxlan.pcap";
const NG = "zeek__pcapng-multi-interface.pcapng";
const NG_BE = "gopacket__pcapng-be-test202.pcapng";
const LE = true;

describe("pcap: malformed files", () => {
  it.each([
    ["bad-magic", "Kuznetzov's modified magic", mutate(PCAP, (dv) => dv.setUint32(0, 0xa1b2cd34, LE)), 0, 0],
    ["bad-version", "major version 3", mutate(PCAP, (dv) => dv.setUint16(4, 3, LE)), 4, 0],
    ["truncated", "file header cut", load(PCAP).subarray(0, 20), 0, 0],
    ["bad-caplen", "caplen > snaplen", mutate(PCAP, (dv) => dv.setUint32(296 + 8, 1501, LE)), 296 + 8, 2],
    [
      "bad-caplen",
      "caplen > 256 KiB, snaplen 0",
      mutate(PCAP, (dv) => {
        dv.setUint32(16, 0, LE);
        dv.setUint32(404 + 8, 262145, LE);
      }),
      404 + 8,
      3,
    ],
    ["truncated", "last record cut in its data", load(PCAP).subarray(0, 1552 - 5), 1388, 9],
    ["truncated", "last record cut in its header", load(PCAP).subarray(0, 1388 + 10), 1388, 9],
  ] as const)("%s: %s", (code, _name, bytes, offset, before) => {
    const r = readPcap(bytes);
    expect(r.error).toEqual(new ParseError("pcap", code, offset));
    expect(r.error?.message).toBe(`pcap: ${code} at byte ${offset}`);
    expect(r.packets).toHaveLength(before);
    // The records before the fault are intact: compare with the undamaged file.
    const good = readPcap(load(PCAP)).packets.slice(0, before);
    expect(r.packets.map((p) => [p.ts, p.caplen, p.origLen, Array.from(p.data)])).toEqual(
      good.map((p) => [p.ts, p.caplen, p.origLen, Array.from(p.data)]),
    );
  });

  it("reads the undamaged file without error (the cases above can fail)", () => {
    const r = readPcap(load(PCAP));
    expect(r.error).toBeUndefined();
    expect(r.packets).toHaveLength(10);
  });
});

describe("pcapng: malformed files", () => {
  it.each([
    ["bad-magic", "first block not an SHB", mutate(NG, (dv) => dv.setUint32(0, 1, LE)), 0, 0],
    ["bad-magic", "byte-order magic", mutate(NG, (dv) => dv.setUint32(8, 0x1a2b3c4e, LE)), 8, 0],
    ["bad-version", "SHB major version 2", mutate(NG, (dv) => dv.setUint16(12, 2, LE)), 12, 0],
    ["truncated", "header cut", load(NG).subarray(0, 10), 0, 0],
    ["bad-block-len", "length not a multiple of 4", mutate(NG, (dv) => dv.setUint32(724 + 4, 105, LE)), 728, 2],
    ["bad-block-len", "trailing length differs", mutate(NG, (dv) => dv.setUint32(724 + 104 - 4, 100, LE)), 824, 2],
    [
      "bad-block-len",
      "EPB shorter than 32",
      mutate(NG, (dv) => {
        dv.setUint32(724 + 4, 28, LE);
        dv.setUint32(724 + 24, 28, LE);
      }),
      728,
      2,
    ],
    ["bad-block-len", "IDB shorter than 20", mutate(NG, (dv) => dv.setUint32(200 + 4, 16, LE)), 204, 0],
    ["bad-caplen", "caplen > 256 KiB", mutate(NG, (dv) => dv.setUint32(828 + 20, 262145, LE)), 848, 3],
    ["bad-caplen", "caplen past its block", mutate(NG, (dv) => dv.setUint32(828 + 20, 200, LE)), 848, 3],
    ["bad-caplen", "caplen > snaplen (big-endian)", mutate(NG_BE, (dv) => dv.setUint32(448 + 20, 97, false)), 468, 0],
    ["bad-interface", "EPB names interface 2 of 2", mutate(NG, (dv) => dv.setUint32(1028 + 8, 2, LE)), 1036, 4],
    ["truncated", "last block cut", load(NG).subarray(0, 1348 - 3), 1132, 5],
    ["truncated", "last block cut in its header", load(NG).subarray(0, 1132 + 6), 1132, 5],
  ] as const)("%s: %s", (code, _name, bytes, offset, before) => {
    const r = readPcapng(bytes);
    expect(r.error).toEqual(new ParseError("pcapng", code, offset));
    expect(r.packets).toHaveLength(before);
    // Without a Section Header Block first, readCapture() takes the file for classic pcap.
    const viaCapture = code === "bad-magic" && offset === 0 ? new ParseError("pcap", "bad-magic", 0) : r.error;
    expect(readCapture(bytes).error).toEqual(viaCapture);
  });

  it("returns the packets before the fault intact", () => {
    const r = readPcapng(mutate(NG, (dv) => dv.setUint32(1028 + 8, 2, LE)));
    const good = readPcapng(load(NG));
    expect(good.error).toBeUndefined();
    expect(good.packets).toHaveLength(6);
    expect(r.packets.map((p) => [p.ts, p.interfaceId, Array.from(p.data)])).toEqual(
      good.packets.slice(0, 4).map((p) => [p.ts, p.interfaceId, Array.from(p.data)]),
    );
  });

  it("an SPB before any IDB names no interface", () => {
    // SHB of zeek__pcapng-multi-interface.pcapng, then an SPB (type 3, 16 bytes, origLen 0).
    const shb = load(NG).subarray(0, 132);
    const u8 = new Uint8Array(132 + 16);
    u8.set(shb);
    const dv = new DataView(u8.buffer);
    dv.setUint32(132, 3, LE);
    dv.setUint32(136, 16, LE);
    dv.setUint32(140, 0, LE);
    dv.setUint32(144, 16, LE);
    expect(readPcapng(u8).error).toEqual(new ParseError("pcapng", "bad-interface", 132));
  });

  it("readCapture sends an unknown magic to the pcap reader: bad-magic at 0", () => {
    expect(readCapture(new Uint8Array(32)).error).toEqual(new ParseError("pcap", "bad-magic", 0));
    expect(readCapture(new Uint8Array(0)).error).toEqual(new ParseError("pcap", "truncated", 0));
  });
});

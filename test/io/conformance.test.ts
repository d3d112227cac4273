// Every capture in ../shared/conformance/captures, read by readCapture() and compared packet by
// packet with tshark 4.0's dissection of the same file (FILE.fields.tsv, made by the command in
// ../shared/conformance/README.md): frame.len = origLen, frame.cap_len = caplen,
// frame.time_epoch = ts, frame.interface_id (pcapng only), frame.encap_type = the link type.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readCaptureFile } from "../../src/io/capture.ts";
import { formatTsEpoch } from "../../src/io/common.ts";

const CAPTURES = fileURLToPath(new URL("../../../shared/conformance/captures/", import.meta.url));

/** LINKTYPE_* (pcap and pcapng) to Wireshark's WTAP_ENCAP_*, which tshark prints. */
const WTAP_ENCAP: Record<number, number> = { 0: 15, 1: 1, 101: 7, 113: 25, 228: 129, 229: 130, 276: 210 };

/**
 * Where tshark's rows are not one per packet, and why. Each entry names tshark's extra frames;
 * the test checks that those rows carry no packet fields and that the file really holds that
 * many blocks of the named kind, then compares every other row with our packets in order.
 */
const KNOWN_DIFFERENCES: Record<string, { extraFrames: number[]; blockTypes: number[]; reason: string }> = {
  "gopacket__pcapng-be-test202.pcapng": {
    extraFrames: [1, 7, 10],
    blockTypes: [0x00000bad, 0x40000bad],
    reason:
      "tshark 4.0 shows each pcapng Custom Block (§4.8, types 0x00000BAD and 0x40000BAD) as a " +
      "frame of its own, frame.len = block length - 16; custom blocks hold no packet, so our reader " +
      "skips them",
  },
};

/** [type, total length] of each block of a pcapng file: a walk independent of the reader. */
function blocks(bytes: Buffer): [number, number][] {
  const types: [number, number][] = [];
  let le = true;
  for (let off = 0; off + 12 <= bytes.length; ) {
    const type = le ? bytes.readUInt32LE(off) : bytes.readUInt32BE(off);
    if (type === 0x0a0d0d0a) le = bytes.readUInt32LE(off + 8) === 0x1a2b3c4d;
    const len = le ? bytes.readUInt32LE(off + 4) : bytes.readUInt32BE(off + 4);
    types.push([le ? bytes.readUInt32LE(off) : bytes.readUInt32BE(off), len]);
    off += len;
  }
  return types;
}

const files = readdirSync(CAPTURES)
  .filter((f) => /\.pcap(ng)?$/.test(f))
  .sort();

describe("conformance captures against tshark's fields", () => {
  it("finds the captures", () => expect(files.length).toBeGreaterThanOrEqual(50));

  it.each(files)("%s", (file) => {
    const r = readCaptureFile(CAPTURES + file);
    expect(r.error).toBeUndefined();
    expect(r.format).toBe(file.endsWith(".pcapng") ? "pcapng" : "pcap");
    const [head, ...rows] = readFileSync(`${CAPTURES}${file}.fields.tsv`, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.split("\t"));
    const col = (name: string) => {
      const i = (head as string[]).indexOf(name);
      expect(i, name).toBeGreaterThanOrEqual(0);
      return i;
    };
    const [number, len, capLen, time, ifaceId, encap] = [
      "frame.number",
      "frame.len",
      "frame.cap_len",
      "frame.time_epoch",
      "frame.interface_id",
      "frame.encap_type",
    ].map(col) as number[];

    const known = KNOWN_DIFFERENCES[file];
    let expected = rows;
    if (known) {
      const extra = rows.filter((row) => known.extraFrames.includes(Number(row[number!])));
      expect(extra).toHaveLength(known.extraFrames.length);
      for (const row of extra) expect([row[time!], row[ifaceId!], row[encap!]]).toEqual(["", "", ""]);
      const custom = blocks(readFileSync(CAPTURES + file)).filter(([t]) => known.blockTypes.includes(t));
      expect(custom.map(([, l]) => String(l - 16))).toEqual(extra.map((row) => row[len!]));
      expect(known.reason).not.toBe("");
      expected = rows.filter((row) => !known.extraFrames.includes(Number(row[number!])));
    }

    const got = r.packets.map((p) => [
      String(p.origLen),
      String(p.caplen),
      p.ts === null ? "" : formatTsEpoch(p.ts),
      r.format === "pcapng" ? String(p.interfaceId) : "",
      String(WTAP_ENCAP[p.linkType] ?? `linktype ${p.linkType}`),
    ]);
    const want = expected.map((row) => [row[len!], row[capLen!], row[time!], row[ifaceId!], row[encap!]]);
    expect(got).toEqual(want);
    for (const p of r.packets) expect(p.data.length).toBe(p.caplen);
  });
});

import { describe, expect, it } from "vitest";
import { hex, viewOf } from "../../src/wire/bytes.ts";
import { ParseError } from "../../src/wire/errors.ts";
import { EthernetView, emitEthernet, readEthernet } from "../../src/wire/ethernet.ts";
import { dirtySlot } from "../helpers.ts";

// First 14 bytes of frame 1 of ../shared/conformance/captures/ndpi__vxlan.pcap, for which tshark
// prints eth.dst 00:0c:bd:06:3a:74, eth.src 00:0c:bd:06:3a:75 and an 802.1Q tag next.
const ETH = hex("00 0c bd 06 3a 74 00 0c bd 06 3a 75 81 00");
// All-ones addresses and EtherType: a shift or sign bug that a zero round trip hides shows here.
const ONES = hex("ff ff ff ff ff ff ff ff ff ff ff ff ff ff");

describe("ethernet", () => {
  const v = new EthernetView();
  it("reads every field", () => {
    v.wrap(viewOf(ETH), 0, ETH.length).parse();
    expect(readEthernet(v)).toEqual({ dst: "00:0c:bd:06:3a:74", src: "00:0c:bd:06:3a:75", etherType: 0x8100 });
  });
  it.each([ETH, ONES])("emits the same bytes into a dirty slot at an odd offset", (bytes) => {
    const slot = dirtySlot(32);
    const repr = readEthernet(v.wrap(viewOf(bytes), 0, bytes.length).parse());
    expect(emitEthernet(repr, viewOf(slot), 3)).toBe(17);
    expect(slot.subarray(3, 17)).toEqual(bytes);
    expect(slot[2]).toBe(0xa5);
    expect(slot[17]).toBe(0xa5);
  });
  it("reports truncated at the start of the header, and still works afterwards", () => {
    const frame = new Uint8Array(20);
    frame.set(ETH, 5);
    expect(() => v.wrap(viewOf(frame), 5, 13).parse()).toThrowError(new ParseError("ethernet", "truncated", 5));
    expect(v.wrap(viewOf(frame), 5, 14).check()).toBeNull();
    expect(v.etherType).toBe(0x8100);
  });
});

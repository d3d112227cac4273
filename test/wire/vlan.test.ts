import { describe, expect, it } from "vitest";
import { hex, viewOf } from "../../src/wire/bytes.ts";
import { ParseError } from "../../src/wire/errors.ts";
import { VlanView, emitVlan, readVlan } from "../../src/wire/vlan.ts";
import { dirtySlot } from "../helpers.ts";
import { captureFrame, fieldColumn } from "./capture-bytes.ts";

// Bytes 14..21 of frame 1 of zeek__vlan-pcp-dei.pcapng: two stacked 802.1Q tags. tshark prints
// vlan.priority 7,5  vlan.dei 0,1  vlan.id 10,20  vlan.etype 0x8100,0x0800.
const PCP_DEI = hex("e0 0a 81 00 b0 14 08 00");
// Bytes 14..21 of frame 1 of tcpdump__802.1ad_QinQ.pcap (after TPID 0x88a8): S-tag then C-tag.
// tshark: ieee8021ad.id 200, vlan.id 2001, vlan.etype 0x0806, all priorities and DEI 0.
const QINQ = hex("00 c8 81 00 07 d1 08 06");
// All ones: PCP 7, DEI 1, VID 4095, EtherType 0xffff.
const ONES = hex("ff ff ff ff");

describe("vlan", () => {
  const v = new VlanView();

  it("the stored vectors are the bytes of the captures", () => {
    expect(captureFrame("zeek__vlan-pcp-dei.pcapng", 1).data.subarray(14, 22)).toEqual(PCP_DEI);
    expect(captureFrame("tcpdump__802.1ad_QinQ.pcap", 1).data.subarray(14, 22)).toEqual(QINQ);
    expect(fieldColumn("zeek__vlan-pcp-dei.pcapng", "vlan.id")[0]).toBe("10,20");
    expect(fieldColumn("zeek__vlan-pcp-dei.pcapng", "vlan.etype")[0]).toBe("0x8100,0x0800");
    expect(fieldColumn("tcpdump__802.1ad_QinQ.pcap", "ieee8021ad.id")[0]).toBe("200");
  });

  it("reads every field of both tags, PCP and DEI included", () => {
    const dv = viewOf(PCP_DEI);
    expect(readVlan(v.wrap(dv, 0, 8).parse())).toEqual({ pcp: 7, dei: 0, vid: 10, etherType: 0x8100 });
    expect(v.tci).toBe(0xe00a);
    expect(v.headerLen).toBe(4);
    expect(readVlan(v.wrap(dv, 4, 4).parse())).toEqual({ pcp: 5, dei: 1, vid: 20, etherType: 0x0800 });
    const q = viewOf(QINQ);
    expect(readVlan(v.wrap(q, 0, 8).parse())).toEqual({ pcp: 0, dei: 0, vid: 200, etherType: 0x8100 });
    expect(readVlan(v.wrap(q, 4, 4).parse())).toEqual({ pcp: 0, dei: 0, vid: 2001, etherType: 0x0806 });
  });

  it.each([PCP_DEI.subarray(0, 4), PCP_DEI.subarray(4, 8), QINQ.subarray(4, 8), ONES])(
    "emits the same bytes into a dirty slot at an odd offset (%#)",
    (bytes) => {
      const slot = dirtySlot(16);
      const repr = readVlan(v.wrap(viewOf(bytes), 0, bytes.length).parse());
      expect(emitVlan(repr, viewOf(slot), 3)).toBe(7);
      expect(slot.subarray(3, 7)).toEqual(bytes);
      expect(slot[2]).toBe(0xa5);
      expect(slot[7]).toBe(0xa5);
    },
  );

  it("setters change only their own bits", () => {
    const b = ONES.slice();
    v.wrap(viewOf(b), 0, 4).parse();
    v.vid = 0;
    expect(b).toEqual(hex("f0 00 ff ff"));
    v.pcp = 0;
    expect(b).toEqual(hex("10 00 ff ff"));
    v.vid = 0x1abc; // out-of-range bits are dropped, not spilled into PCP/DEI
    expect(b).toEqual(hex("1a bc ff ff"));
    v.pcp = 5;
    expect([v.pcp, v.dei, v.vid]).toEqual([5, 1, 0xabc]);
    v.tci = 0x2001;
    expect([v.pcp, v.dei, v.vid]).toEqual([1, 0, 1]);
  });

  it("reports truncated at the start of the tag, and still works afterwards", () => {
    const frame = new Uint8Array(24);
    frame.set(QINQ, 14);
    expect(() => v.wrap(viewOf(frame), 18, 3).parse()).toThrowError(new ParseError("vlan", "truncated", 18));
    expect(v.wrap(viewOf(frame), 18, 4).check()).toBeNull();
    expect(v.vid).toBe(2001);
  });
});

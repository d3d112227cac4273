import { describe, expect, it } from "vitest";
import { hex, viewOf } from "../../src/wire/bytes.ts";
import { ParseError } from "../../src/wire/errors.ts";
import {
  IPV6_MAX_EXT_HEADERS,
  Ipv6ExtWalker,
  Ipv6View,
  emitIpv6,
  ipv6HeaderLen,
  readIpv6,
} from "../../src/wire/ipv6.ts";
import { captureFiles, readFieldsTsv } from "../conformance/tsv.ts";
import { dirtySlot } from "../helpers.ts";
import { captureFrame, captureFrames } from "./capture-bytes.ts";
import { locateL3 } from "./l3-locate.ts";

// Bytes 14..61 of tcpdump__ipv6_frag6_negative_len.pcap (caplen 70 of 32896): fixed header and a
// fragment header. tcpdump -v prints "class 0x50, flowlabel 0x00073, hlim 28, next-header
// Fragment (44), payload length 0" and "frag (0x80000074:1280|...)" (id:offset in bytes); tshark
// prints src 7fff:ffff:c3b2:a102:1305:80:38:2949, dst 9675:86dd:7300:2c:1c7f:ffff:ffc3:b2a1.
const FRAG6 = hex(`65 00 00 73 00 00 2c 1c 7f ff ff ff c3 b2 a1 02 13 05 00 80 00 38 29 49
                   96 75 86 dd 73 00 00 2c 1c 7f ff ff ff c3 b2 a1
                   02 13 05 00 80 00 00 74`);
// Bytes 14..53 of tcpdump__ipv6-srh-ext-header.pcap: tshark ipv6.src a:b:c:12::1, ipv6.dst
// a:b:c:2::f1:0, ipv6.nxt 43 (the outer of 43,58); tcpdump's "hlim 64", flowlabel 0x889ad,
// payload length 144.
const SRH_FIXED = hex(`60 08 89 ad 00 90 2b 40 00 0a 00 0b 00 0c 00 12 00 00 00 00 00 00 00 01
                       00 0a 00 0b 00 0c 00 02 00 00 00 00 00 f1 00 00`);
// Version 6 and every other bit set.
const ONES = hex(`6f ff ff ff ff ff ff ff ${"ff ".repeat(32)}`);

const v = new Ipv6View();
const w = new Ipv6ExtWalker();

const EXT_TOKENS = new Set(["ipv6.hopopts", "ipv6.routing", "ipv6.fraghdr", "ipv6.dstopts", "ah"]);
const PROTO_OF_TOKEN: Record<string, number> = { udp: 17, tcp: 6, icmpv6: 58, ipv6: 41, ip: 4, gre: 47 };

/** From tshark's frame.protocols: the extension headers after the outer "ipv6" and what follows. */
function tsharkChain(protocols: string): { ext: number; next: string | undefined } {
  const t = protocols.split(":");
  const i = t.indexOf("ipv6");
  let j = i + 1;
  while (j < t.length && EXT_TOKENS.has(t[j] as string)) j++;
  return { ext: j - i - 1, next: t[j] };
}

describe("ipv6 fixed header", () => {
  it("the stored vectors are the bytes of the captures", () => {
    expect(captureFrame("tcpdump__ipv6_frag6_negative_len.pcap", 1).data.subarray(14, 62)).toEqual(FRAG6);
    expect(captureFrame("tcpdump__ipv6-srh-ext-header.pcap", 1).data.subarray(14, 54)).toEqual(SRH_FIXED);
  });

  it("reads every field", () => {
    v.wrap(viewOf(FRAG6), 0, FRAG6.length).parse();
    expect([v.version, v.trafficClass, v.dscp, v.ecn, v.flowLabel]).toEqual([6, 0x50, 20, 0, 0x73]);
    expect([v.payloadLen, v.nextHeader, v.hopLimit, v.headerLen, v.payloadOff, v.payloadAvail]).toEqual([
      0, 44, 28, 40, 40, 0,
    ]);
    expect([v.src, v.dst, v.srcOff, v.dstOff]).toEqual([
      "7fff:ffff:c3b2:a102:1305:80:38:2949",
      "9675:86dd:7300:2c:1c7f:ffff:ffc3:b2a1",
      8,
      24,
    ]);
    const s = new Uint8Array(40 + 144);
    s.set(SRH_FIXED);
    v.wrap(viewOf(s), 0, s.length).parse();
    expect([v.trafficClass, v.flowLabel, v.payloadLen, v.nextHeader, v.hopLimit]).toEqual([0, 0x889ad, 144, 43, 64]);
    expect([v.src, v.dst, v.payloadAvail]).toEqual(["a:b:c:12::1", "a:b:c:2::f1:0", 144]);
    v.wrap(viewOf(ONES), 0, ONES.length);
    expect([v.trafficClass, v.dscp, v.ecn, v.flowLabel, v.payloadLen, v.nextHeader, v.hopLimit]).toEqual([
      0xff, 63, 3, 0xfffff, 0xffff, 255, 255,
    ]);
  });

  it.each([
    ["FRAG6", FRAG6.subarray(0, 40)],
    ["SRH", SRH_FIXED],
    ["ONES", ONES],
  ] as const)("emits %s into a dirty slot at an odd offset", (_n, bytes) => {
    const src = new Uint8Array(40 + 0xffff);
    src.set(bytes);
    v.wrap(viewOf(src), 0, src.length).parse();
    const repr = {
      // the fixed header alone (its Next Header may announce more)
      dscp: v.dscp,
      ecn: v.ecn,
      flowLabel: v.flowLabel,
      payloadLen: v.payloadLen,
      nextHeader: v.nextHeader,
      hopLimit: v.hopLimit,
      src: v.src,
      dst: v.dst,
      extHeaders: [],
    };
    const slot = dirtySlot(48);
    expect(ipv6HeaderLen(repr)).toBe(40);
    expect(emitIpv6(repr, viewOf(slot), 3)).toBe(43);
    expect(slot.subarray(3, 43)).toEqual(bytes);
    expect([slot[2], slot[43]]).toEqual([0xa5, 0xa5]);
  });

  it("setters change only their own bits", () => {
    const b = ONES.slice();
    v.wrap(viewOf(b), 0, b.length);
    v.trafficClass = 0;
    expect(b.subarray(0, 4)).toEqual(hex("60 0f ff ff"));
    v.flowLabel = 0x12345;
    expect(b.subarray(0, 4)).toEqual(hex("60 01 23 45"));
    v.trafficClass = 0x1ab; // out-of-range bits are dropped
    v.hopLimit = 1;
    expect(b.subarray(0, 8)).toEqual(hex("6a b1 23 45 ff ff ff 01"));
    expect([v.version, v.trafficClass, v.flowLabel]).toEqual([6, 0xab, 0x12345]);
  });

  it.each([
    ["39 bytes", "truncated", 14, 39, null],
    ["version 4", "bad-version", 14, 60, [0, 0x45]],
    ["payload length 21 with 20 present", "truncated", 18, 60, [5, 21]],
  ] as const)("%s: %s at %i", (_n, code, offset, avail, patch) => {
    const frame = new Uint8Array(14 + 60);
    frame.set(SRH_FIXED, 14);
    frame[14 + 5] = 20; // payload length 20
    if (patch) frame[14 + patch[0]] = patch[1];
    expect(() => v.wrap(viewOf(frame), 14, avail).parse()).toThrowError(new ParseError("ipv6", code, offset));
    expect(v.wrap(viewOf(frame), 14, 60).check()).toBe(patch === null ? null : code);
  });

  it("reports the cut captures as truncated at the payload length", () => {
    // Raw IPv6, caplen 48 of 262144, payload length 0x3030; tcpdump: "[remaining length 6 < 50]".
    const oobr = captureFrame("tcpdump__ipv6-next-header-oobr-1.pcap", 1).data;
    expect(() => v.wrap(viewOf(oobr), 0, oobr.length).parse()).toThrowError(new ParseError("ipv6", "truncated", 4));
    expect([v.payloadLen, v.payloadAvail, v.nextHeader]).toEqual([0x3030, 8, 0]);
    // caplen 85 of 86: the segment routing header's last byte is missing; tcpdump prints "[|rt6]".
    const srh = captureFrame("tcpdump__ipv6-srh-tlv-pad1-padn-5-trunc.pcap", 1).data;
    expect(() => v.wrap(viewOf(srh), 14, srh.length - 14).parse()).toThrowError(
      new ParseError("ipv6", "truncated", 18),
    );
    expect(v.walkExtensions(w)).toBe("truncated");
    expect(w.failAt).toBe(55); // the routing header's length byte: 32 bytes stated, 31 present
  });
});

describe("ipv6 extension headers", () => {
  it("walks the 100 extension headers of libpcap__ipv6_ext_headers.pcap to UDP, given room", () => {
    const f = captureFrame("libpcap__ipv6_ext_headers.pcap", 1).data;
    const row = readFieldsTsv("libpcap__ipv6_ext_headers.pcap")[0] ?? {};
    const chain = tsharkChain(row["frame.protocols"] ?? "");
    expect(chain).toEqual({ ext: 100, next: "udp" });
    v.wrap(viewOf(f), 14, f.length - 14).parse();
    expect(String(v.nextHeader)).toBe(row["ipv6.nxt"]);
    const big = new Ipv6ExtWalker(128);
    expect(v.walkExtensions(big)).toBeNull();
    expect([big.extCount, big.upperProto, big.upperOff]).toEqual([chain.ext, 17, 14 + 40 + 800]);
    // tshark lists the 33 fragment headers' offsets and M bits as 0; their ids run 1, 4, 7 …
    expect([big.hasFragment, big.fragOffset, big.moreFragments, big.laterFragment]).toEqual([true, 0, false, false]);
    expect((row["ipv6.fraghdr.offset"] ?? "").split(",")).toEqual(new Array(33).fill("0"));
    expect(big.fragId).toBe(1 + 3 * 32);
    // The default limit stops at the 17th header.
    expect(IPV6_MAX_EXT_HEADERS).toBe(16);
    expect(v.walkExtensions(w)).toBe("too-deep");
    expect([w.failAt, w.extCount]).toEqual([14 + 40 + 16 * 8, 16]);
  });

  it("re-emits a packet byte for byte from its Repr, extension headers included", () => {
    const cases = [
      ["libpcap__ipv6_ext_headers.pcap", 1, 128],
      ["tcpdump__ipv6-srh-ext-header.pcap", 1, 16],
      ["zeek__ip6-route0-udp-bad-chksum.pcap", 1, 16],
      ["packetnet__ipv6_ndp.pcap", 4, 16],
      ["zeek__ipv6-fragmented-dns.pcap", 6, 16],
      ["zeek__ipv6-fragmented-dns.pcap", 7, 16],
    ] as const;
    for (const [file, n, max] of cases) {
      const f = captureFrame(file, n).data;
      const repr = readIpv6(v.wrap(viewOf(f), 14, f.length - 14).parse(), max);
      const walker = new Ipv6ExtWalker(max);
      v.walkExtensions(walker);
      const end = walker.upperOff;
      const slot = dirtySlot(end - 14 + 4);
      expect(ipv6HeaderLen(repr), file).toBe(end - 14);
      expect(emitIpv6(repr, viewOf(slot), 1), file).toBe(1 + end - 14);
      expect(slot.subarray(1, 1 + end - 14), file).toEqual(f.subarray(14, end));
    }
  });

  it("reads fragment headers as tshark does (zeek__ipv6-fragmented-dns.pcap)", () => {
    // tshark -e ipv6.fraghdr.ident: 0x00000001 for frame 4, 0x00000002 for frames 6-8.
    const ids: Record<number, number> = { 4: 1, 6: 2, 7: 2, 8: 2 };
    const rows = readFieldsTsv("zeek__ipv6-fragmented-dns.pcap");
    captureFrames("zeek__ipv6-fragmented-dns.pcap").forEach((fr, i) => {
      const row = rows[i] ?? {};
      v.wrap(viewOf(fr.data), 14, fr.data.length - 14).parse();
      expect(v.walkExtensions(w)).toBeNull();
      const frag = row["ipv6.fraghdr.offset"] ?? "";
      expect(w.hasFragment).toBe(frag !== "");
      if (frag === "") return;
      expect(String(w.fragOffset / 8)).toBe(frag);
      expect(w.moreFragments ? "1" : "0").toBe(row["ipv6.fraghdr.more"]);
      expect(w.fragId).toBe(ids[i + 1]);
      expect(w.laterFragment).toBe(w.fragOffset > 0);
      expect(w.upperProto).toBe(17); // the fragment header's Next Header, later fragments too
      expect(w.fragHeaderOff).toBe(14 + 40);
      expect(w.upperOff).toBe(14 + 48);
    });
  });

  it("reads the fragment header of tcpdump__ipv6_frag6_negative_len.pcap", () => {
    const f = captureFrame("tcpdump__ipv6_frag6_negative_len.pcap", 1).data;
    v.wrap(viewOf(f), 14, f.length - 14).parse();
    // Payload length 0: within the stated payload there is no room for the fragment header …
    expect(v.walkExtensions(w)).toBe("truncated");
    expect(w.failAt).toBe(54);
    // … and over the captured bytes (as tcpdump and tshark read it) it is offset 1280, id
    // 0x80000074, M clear: a later fragment, whose Next Header is 2.
    expect(w.walk(viewOf(f), 54, f.length, v.nextHeader)).toBeNull();
    expect([w.hasFragment, w.fragOffset, w.fragId, w.moreFragments, w.laterFragment]).toEqual([
      true,
      1280,
      0x80000074,
      false,
      true,
    ]);
    expect([w.upperProto, w.upperOff, w.extCount]).toEqual([2, 62, 1]);
  });

  it("steps over AH with its 4-byte length unit (RFC 4302 §2.2)", () => {
    // AH (next 17, payload length 4 => (4 + 2) * 4 = 24 bytes), then UDP. Built by hand: no
    // conformance capture has AH.
    const b = new Uint8Array(40);
    b.set(hex("11 04 00 00 00 00 01 00 00 00 00 01"), 0);
    expect(w.walk(viewOf(b), 0, 40, 51)).toBeNull();
    expect([w.upperProto, w.upperOff, w.extCount, w.extLen(0)]).toEqual([17, 24, 1, 24]);
    expect(w.walk(viewOf(b), 0, 23, 51)).toBe("truncated");
    expect(w.failAt).toBe(1);
  });

  it.each([
    ["1 byte of a header", "truncated", 0, 1],
    ["7 bytes of a header", "truncated", 1, 7],
  ] as const)("%s: %s at %i", (_n, code, offset, end) => {
    const b = hex("11 00 00 00 00 00 00 00");
    expect(w.walk(viewOf(b), 0, end, 0)).toBe(code);
    expect(w.failAt).toBe(offset);
    expect(w.walk(viewOf(b), 0, 8, 0)).toBeNull(); // the walker works again afterwards
    expect([w.upperProto, w.upperOff, w.failAt]).toEqual([17, 8, -1]);
  });

  it("matches tshark's chain on every outer IPv6 header of the conformance captures", () => {
    let n = 0;
    for (const file of captureFiles()) {
      const frames = captureFrames(file);
      const rows = readFieldsTsv(file);
      if (frames.length !== rows.length) continue;
      frames.forEach((f, i) => {
        const row = rows[i] ?? {};
        const l3 = locateL3(f);
        if (l3?.etherType !== 0x86dd || (row["_ws.malformed"] ?? "") !== "") return;
        const where = `${file} frame ${i + 1}`;
        v.wrap(viewOf(f.data), l3.off, f.data.length - l3.off);
        if (v.check() !== null) {
          // only a short capture may stop the fixed header
          expect([v.check(), v.failAt], where).toEqual(["truncated", l3.off + 4]);
          expect(Number(row["frame.cap_len"]), where).toBeLessThan(Number(row["frame.len"]));
        }
        const first = (k: string) => (row[k] ?? "").split(",")[0];
        expect(v.src, where).toBe(first("ipv6.src"));
        expect(v.dst, where).toBe(first("ipv6.dst"));
        expect(String(v.nextHeader), where).toBe(first("ipv6.nxt"));
        const chain = tsharkChain(row["frame.protocols"] ?? "");
        const code = v.walkExtensions(w);
        if (chain.ext > IPV6_MAX_EXT_HEADERS) {
          expect(code, where).toBe("too-deep");
          return;
        }
        if (chain.next === undefined) {
          // tshark ran out of bytes inside the chain too
          expect(code, where).toBe("truncated");
          expect(w.extCount, where).toBe(chain.ext - 1);
          return;
        }
        expect(code, where).toBeNull();
        expect(w.extCount, where).toBe(chain.ext);
        if (w.laterFragment) expect(chain.next, where).toBe("data");
        else expect(w.upperProto, where).toBe(PROTO_OF_TOKEN[chain.next ?? ""] ?? -2);
        n++;
      });
    }
    expect(n).toBeGreaterThan(30);
  });
});

// The flow hash is MurmurHash3 x86_32 over the key's words read as little-endian bytes, so it is
// checked against published Murmur3 vectors (SMHasher-derived values as used by Bitcoin Core's
// src/test/hash_tests.cpp and other implementations' test suites), restricted to inputs that are
// whole words; the masked and word-list variants are checked against hashWords of a masked copy.
// flowHash5 has no published vectors (it is ours, after OVS's miniflow_hash_5tuple field choice),
// so it is checked for the properties the exact-match cache relies on: which words it reads, that
// a one-word change always changes it, and an even spread over slots for structured flows.
import { describe, it, expect } from "vitest";
import {
  hashWords,
  hashMaskedWords,
  hashWordList,
  hashFinish,
  hashAdd,
  XorShift32,
  flowHash5,
} from "../../src/tables/hash.ts";
import { FLOW_WORDS, W } from "../../src/flow/key.ts";
import { rng } from "./rng.ts";

/** Bytes to little-endian words, as Murmur3 reads its 4-byte blocks. */
function words(bytes: number[]): Uint32Array {
  const w = new Uint32Array(bytes.length / 4);
  for (let i = 0; i < w.length; i++) {
    w[i] =
      ((bytes[4 * i] as number) |
        ((bytes[4 * i + 1] as number) << 8) |
        ((bytes[4 * i + 2] as number) << 16) |
        ((bytes[4 * i + 3] as number) << 24)) >>>
      0;
  }
  return w;
}
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

describe("hashWords is Murmur3 x86_32", () => {
  it.each([
    [[], 0, 0x00000000],
    [[], 1, 0x514e28b7],
    [[], 0xffffffff, 0x81f16f39],
    [[0xff, 0xff, 0xff, 0xff], 0, 0x76293b50],
    [[0x21, 0x43, 0x65, 0x87], 0, 0xf55b516b],
    [[0x21, 0x43, 0x65, 0x87], 0x5082edee, 0x2362f9de],
    [[0, 0, 0, 0], 0, 0x2362f9de],
    [ascii("test"), 0, 0xba6bd213],
    [ascii("test"), 0x9747b28c, 0x704b81dc],
    [[0x00, 0x11, 0x22, 0x33], 0, 0xb4471bf8],
    [[0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77], 0, 0x8034d2a0],
  ] as const)("%j seed %i", (bytes, seed, expected) => {
    const w = words([...bytes]);
    expect(hashWords(w, 0, w.length, seed)).toBe(expected);
    // The same words at an offset inside a bigger array.
    const big = new Uint32Array(w.length + 5).fill(0xdeadbeef);
    big.set(w, 3);
    expect(hashWords(big, 3, w.length, seed)).toBe(expected);
    // And built from the exported steps.
    let h = seed | 0;
    for (const x of w) h = hashAdd(h, x);
    expect(hashFinish(h, w.length * 4)).toBe(expected);
  });
});

describe("masked hashing equals hashing a masked copy", () => {
  it("hashMaskedWords and hashWordList over random keys and masks", () => {
    const r = rng(7);
    for (let t = 0; t < 2000; t++) {
      const n = 1 + (r() % 70);
      const key = Uint32Array.from({ length: n + 2 }, () => r());
      const mask = Uint32Array.from({ length: n + 2 }, () => (r() % 3 === 0 ? 0 : r() % 2 ? 0xffffffff : r()));
      const masked = new Uint32Array(n);
      for (let i = 0; i < n; i++) masked[i] = (key[i + 1] as number) & (mask[i + 1] as number);
      const basis = r();
      expect(hashMaskedWords(key, 1, mask, 1, n, basis)).toBe(hashWords(masked, 0, n, basis));
      // The word list: only the non-zero mask words, compacted.
      const idx: number[] = [];
      for (let i = 0; i < n; i++) if (mask[i + 1] !== 0) idx.push(i);
      const compact = Uint32Array.from(idx, (i) => masked[i] as number);
      const mv = Uint32Array.from(idx, (i) => mask[i + 1] as number);
      const h = hashWordList(key, 1, Int32Array.from(idx), mv, 0, idx.length, basis);
      expect(hashFinish(h, idx.length * 4)).toBe(hashWords(compact, 0, compact.length, basis));
    }
  });
});

describe("XorShift32", () => {
  it("repeats per seed and follows Marsaglia's 13/17/5 xorshift", () => {
    // Marsaglia, "Xorshift RNGs" (2003): x ^= x << 13; x ^= x >> 17; x ^= x << 5, from 2463534242.
    const a = new XorShift32(2463534242 | 0);
    let x = 2463534242;
    for (let i = 0; i < 100; i++) {
      x = (x ^ (x << 13)) >>> 0;
      x = (x ^ (x >>> 17)) >>> 0;
      x = (x ^ (x << 5)) >>> 0;
      expect(a.next()).toBe(x);
    }
    expect(new XorShift32(0).next()).not.toBe(0); // a zero seed would stick at zero
  });
});

describe("flowHash5", () => {
  // The words OVS's miniflow_hash_5tuple reads (IPv6 or IPv4/ARP addresses, nw_proto, ports),
  // plus in_port, recirc_id, tun_id and dl_type.
  const HASHED = [
    W.IN_PORT,
    W.RECIRC_ID,
    W.TUN_ID_HI,
    W.TUN_ID_LO,
    W.DL_TYPE,
    W.NW_SRC,
    W.NW_DST,
    ...[0, 1, 2, 3].map((i) => W.IPV6_SRC + i),
    ...[0, 1, 2, 3].map((i) => W.IPV6_DST + i),
    W.NW_PROTO_TOS_TTL_FRAG,
    W.TP,
  ];
  it("ignores every word outside the 5-tuple, and nw_tos/ttl/frag", () => {
    const r = rng(21);
    const key = Uint32Array.from({ length: FLOW_WORDS + 1 }, () => r());
    const h = flowHash5(key, 1);
    for (let i = 0; i < FLOW_WORDS; i++) {
      if (HASHED.includes(i)) continue;
      const k2 = Uint32Array.from(key);
      k2[i + 1] = (key[i + 1] as number) ^ 0xffffffff;
      expect(flowHash5(k2, 1), `word ${i}`).toBe(h);
    }
    const k3 = Uint32Array.from(key);
    k3[W.NW_PROTO_TOS_TTL_FRAG + 1] = ((key[W.NW_PROTO_TOS_TTL_FRAG + 1] as number) ^ 0x00ffffff) >>> 0;
    expect(flowHash5(k3, 1)).toBe(h);
    const k4 = Uint32Array.from(key);
    k4[W.DL_TYPE + 1] = ((key[W.DL_TYPE + 1] as number) ^ 0xffff0000) >>> 0; // above dl_type's 16 bits
    expect(flowHash5(k4, 1)).toBe(h);
  });
  it("changes whenever exactly one hashed field changes", () => {
    const r = rng(22);
    for (let t = 0; t < 3000; t++) {
      const key = Uint32Array.from({ length: FLOW_WORDS }, () => r());
      const w = HASHED[r() % HASHED.length] as number;
      const k2 = Uint32Array.from(key);
      const flip =
        w === W.DL_TYPE ? 1 + (r() % 0xffff) : w === W.NW_PROTO_TOS_TTL_FRAG ? (1 + (r() % 255)) << 24 : r() | 1;
      k2[w] = ((key[w] as number) ^ flip) >>> 0;
      expect(flowHash5(k2, 0)).not.toBe(flowHash5(key, 0));
    }
  });
  it("spreads sequential IPv4 and IPv6 flows evenly over 4096 slots", () => {
    for (const v6 of [false, true]) {
      const slots = new Uint32Array(4096);
      const key = new Uint32Array(FLOW_WORDS);
      key[W.IN_PORT] = 1;
      key[W.DL_TYPE] = v6 ? 0x86dd : 0x0800;
      key[W.NW_PROTO_TOS_TTL_FRAG] = 6 << 24;
      const n = 409_600;
      for (let i = 0; i < n; i++) {
        if (v6) {
          key[W.IPV6_SRC + 3] = i >>> 6;
          key[W.IPV6_DST] = 0x20010db8;
        } else {
          key[W.NW_SRC] = (0x0a000000 + (i >>> 6)) >>> 0;
          key[W.NW_DST] = 0xc0a80001;
        }
        key[W.TP] = ((1024 + (i & 63)) << 16) | 443;
        const s = flowHash5(key, 0) & 4095;
        slots[s] = (slots[s] as number) + 1;
      }
      // Chi-square with 4095 degrees of freedom: mean 4095, sd ~90; 4500 is 4.5 sd out.
      const e = n / 4096;
      let chi = 0;
      for (const c of slots) chi += (c - e) ** 2 / e;
      expect(chi).toBeLessThan(4500);
    }
  });
});

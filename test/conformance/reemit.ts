// Re-emits a dissected frame from its per-layer Reprs, for the round-trip conformance test: every
// header is written by its own emitter into a junk-filled buffer, and only the bytes no layer
// claims (payloads, Ethernet trailers, headers we do not model) are copied from the original.
import { viewOf } from "../../src/wire/bytes.ts";
import type { Decoded } from "../../src/wire/decode.ts";
import { emitEthernet } from "../../src/wire/ethernet.ts";
import { emitVlan } from "../../src/wire/vlan.ts";
import { emitArp } from "../../src/wire/arp.ts";
import { emitIpv4 } from "../../src/wire/ipv4.ts";
import { emitIpv6 } from "../../src/wire/ipv6.ts";
import { emitIcmp } from "../../src/wire/icmp.ts";
import { emitUdp } from "../../src/wire/udp.ts";
import { emitTcp } from "../../src/wire/tcp.ts";
import { emitGre } from "../../src/wire/gre.ts";
import { emitVxlan } from "../../src/wire/vxlan.ts";
import { emitGeneve } from "../../src/wire/geneve.ts";

export function reemit(d: Decoded, original: Uint8Array): Uint8Array {
  const out = new Uint8Array(original.length).fill(0xa5);
  const claimed = new Uint8Array(original.length);
  const dv = viewOf(out);
  for (const l of d.layers) {
    let end: number;
    switch (l.name) {
      case "eth":
        end = emitEthernet(l.repr, dv, l.off);
        break;
      case "vlan":
        end = emitVlan(l.repr, dv, l.off);
        break;
      case "arp":
        end = emitArp(l.repr, dv, l.off);
        break;
      case "ipv4":
        end = emitIpv4(l.repr, dv, l.off, false);
        dv.setUint16(l.off + 10, l.repr.checksum); // kept as captured: some are wrong on purpose
        break;
      case "ipv6":
        end = emitIpv6(l.repr, dv, l.off);
        break;
      case "icmp":
        end = emitIcmp(l.repr, dv, l.off);
        break;
      case "udp":
        end = emitUdp(l.repr, dv, l.off);
        break;
      case "tcp":
        end = emitTcp(l.repr, dv, l.off);
        break;
      case "gre":
        end = emitGre(l.repr, dv, l.off);
        break;
      case "vxlan":
        end = emitVxlan(l.repr, dv, l.off);
        break;
      case "geneve":
        end = emitGeneve(l.repr, dv, l.off);
        break;
      default:
        continue; // cooked link headers, ICMPv6 and payloads: copied below
    }
    if (end - l.off !== l.len)
      throw new Error(`${l.name} at ${l.off}: emitted ${end - l.off} bytes, header is ${l.len}`);
    claimed.fill(1, l.off, end);
  }
  for (let i = 0; i < out.length; i++) if (!claimed[i]) out[i] = original[i] as number;
  return out;
}

/** How many bytes of `original` some emitter wrote (so a test can show the round trip did work). */
export function claimedBytes(d: Decoded): number {
  return d.layers.reduce(
    (n, l) => n + (l.name === "data" || l.name === "cooked" || l.name === "icmpv6" ? 0 : l.len),
    0,
  );
}

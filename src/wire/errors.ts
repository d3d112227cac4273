// Typed parse errors shared by every wire format, file reader and the hot-path parser.
//
// The hot path never throws: a view's check() returns a ParseErrorCode and records the offending
// byte in `failAt`; the datapath counts (layer, code) through the small integer ids below, which
// index fixed counter arrays without allocating. Tools and tests call parse(), which throws a
// ParseError carrying the same three facts: layer, code and absolute byte offset.

export const LAYERS = [
  "ethernet",
  "vlan",
  "arp",
  "ipv4",
  "ipv6",
  "icmp",
  "icmpv6",
  "udp",
  "tcp",
  "gre",
  "vxlan",
  "geneve",
  "pcap",
  "pcapng",
] as const;
export type Layer = (typeof LAYERS)[number];

/**
 * `truncated` means more bytes would help (a short snaplen, a cut-off file); every other code
 * means the bytes present are wrong.
 */
export const PARSE_ERROR_CODES = [
  "truncated",
  "bad-version",
  "bad-header-len",
  "bad-total-len",
  "bad-length",
  "bad-option",
  "bad-flags",
  "bad-magic",
  "bad-block-len",
  "bad-caplen",
  "bad-interface",
  "too-deep",
] as const;
export type ParseErrorCode = (typeof PARSE_ERROR_CODES)[number];

/** Index of a layer in LAYERS: the hot path stores this number instead of the string. */
export const LAYER_ID: Readonly<Record<Layer, number>> = Object.freeze(
  Object.fromEntries(LAYERS.map((l, i) => [l, i])) as Record<Layer, number>,
);
/** Index of a code in PARSE_ERROR_CODES; the hot path stores this number, 0 is never "ok". */
export const CODE_ID: Readonly<Record<ParseErrorCode, number>> = Object.freeze(
  Object.fromEntries(PARSE_ERROR_CODES.map((c, i) => [c, i])) as Record<ParseErrorCode, number>,
);

export class ParseError extends Error {
  override readonly name = "ParseError";
  constructor(
    readonly layer: Layer,
    readonly code: ParseErrorCode,
    readonly offset: number, // absolute in the frame (or file): first byte of the bad field
  ) {
    super(`${layer}: ${code} at byte ${offset}`);
  }
}

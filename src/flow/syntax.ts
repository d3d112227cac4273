// Shared pieces of the flow languages (ofctl.ts, actions.ts, odp.ts): the error they throw,
// Open vSwitch's key/value tokenizer, and its way of printing a number in hex.
//
// Open vSwitch reports bad flow text as a sentence ("1.2.3.4/33: IPv4 network prefix bits not
// between 0 and 32, inclusive"); we keep its wording and add where in the string it went wrong,
// because a scenario file may hold hundreds of flows.

export class FlowSyntaxError extends Error {
  override readonly name = "FlowSyntaxError";
  constructor(
    readonly reason: string, // what was wrong, in Open vSwitch's words where it has some
    readonly pos: number, // character offset in `text` of the first offending character
    readonly text: string, // the whole string that was being parsed
  ) {
    super(`${reason} (at character ${pos} of ${JSON.stringify(text)})`);
  }
}

/** C's "%#x", which Open vSwitch prints many values with: 0x-prefixed hex, but a bare "0" for zero. */
export const hexC = (v: bigint | number): string => (BigInt(v) === 0n ? "0" : `0x${v.toString(16)}`);

export interface KeyValue {
  key: string;
  value: string; // "" when the key had no value
  keyPos: number; // offset of the key in the string
  valuePos: number; // offset of the value (just after the delimiter)
  delim: string; // "=", ":", "(" or "" (none)
}

/** parse_value of lib/ofp-util.c: up to a delimiter, skipping over balanced parentheses. */
function valueEnd(s: string, from: number, delims: string): number {
  let n = from;
  while (n < s.length && !delims.includes(s[n] as string)) {
    if (s[n] === "(") {
      let level = 0;
      do {
        if (n >= s.length) return n;
        if (s[n] === "(") level++;
        else if (s[n] === ")") level--;
        n++;
      } while (level > 0);
    } else {
      n++;
    }
  }
  return n;
}

/**
 * ofputil_parse_key_value: the pairs of `s` (from `base`, offsets absolute). A key ends at one
 * of `:=(`, comma or white space; after `=` or `:` the value runs to a comma or white space,
 * after `(` to the matching `)`.
 */
export function keyValues(s: string, start = 0, end = s.length): KeyValue[] {
  const out: KeyValue[] = [];
  const t = s.slice(0, end);
  let i = start;
  for (;;) {
    while (i < t.length && ", \t\r\n".includes(t[i] as string)) i++;
    if (i >= t.length) return out;
    const keyPos = i;
    while (i < t.length && !":=(, \t\r\n".includes(t[i] as string)) i++;
    const key = t.slice(keyPos, i);
    const delim = i < t.length ? (t[i] as string) : "";
    if (delim) i++;
    if (delim !== ":" && delim !== "=" && delim !== "(") {
      out.push({ key, value: "", keyPos, valuePos: i, delim: "" });
      continue;
    }
    const valuePos = i;
    const ve = valueEnd(t, i, delim === "(" ? ")" : ", \t\r\n");
    out.push({ key, value: t.slice(valuePos, ve), keyPos, valuePos, delim });
    i = ve < t.length ? ve + 1 : ve;
  }
}

/** Split `s` at top-level commas (not inside parentheses), keeping each part's offset. */
export function splitTop(s: string, base = 0, sep = ","): { text: string; pos: number }[] {
  const out: { text: string; pos: number }[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = s[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if ((c === sep && depth === 0) || i === s.length) {
      out.push({ text: s.slice(from, i), pos: base + from });
      from = i + 1;
    }
  }
  return out;
}

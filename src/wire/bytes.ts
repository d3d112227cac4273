// Small helpers for handling packet bytes: DataViews that respect a Buffer's place in its pool,
// hex for test vectors and tools, and MAC/IP address text in the forms tcpdump and OVS print.

/** A DataView over exactly the bytes of `u8` (Node Buffers often sit inside a larger pool). */
export function viewOf(u8: Uint8Array): DataView {
  return new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
}

/** Bytes from hex text; whitespace, colons and newlines are ignored so vectors can be laid out. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/[\s:]/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) {
    throw new Error(`hex: not an even run of hex digits: ${JSON.stringify(text.slice(0, 40))}`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The bytes as one big-endian number (an address or option value of any length). */
export function bigFromBytes(u8: Uint8Array): bigint {
  let v = 0n;
  for (let i = 0; i < u8.length; i++) v = (v << 8n) | BigInt(u8[i] as number);
  return v;
}

/** The low `n` bytes of `v`, big-endian: bigFromBytes' inverse. */
export function bigToBytes(v: bigint, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = v;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

export function toHex(u8: Uint8Array): string {
  let s = "";
  for (let i = 0; i < u8.length; i++) s += (u8[i] as number).toString(16).padStart(2, "0");
  return s;
}

/** "aa:bb:cc:dd:ee:ff", lower case, as tshark and ovs-ofctl print. */
export function macToString(dv: DataView, off: number): string {
  let s = "";
  for (let i = 0; i < 6; i++) {
    if (i) s += ":";
    s += dv
      .getUint8(off + i)
      .toString(16)
      .padStart(2, "0");
  }
  return s;
}

export function macFromString(text: string): Uint8Array {
  const m = /^([0-9a-fA-F]{1,2})(?::([0-9a-fA-F]{1,2})){5}$/.test(text) ? text.split(":") : null;
  if (!m) throw new Error(`not a MAC address: ${JSON.stringify(text)} (expected xx:xx:xx:xx:xx:xx)`);
  return Uint8Array.from(m, (p) => parseInt(p, 16));
}

export function ipv4ToString(dv: DataView, off: number): string {
  return `${dv.getUint8(off)}.${dv.getUint8(off + 1)}.${dv.getUint8(off + 2)}.${dv.getUint8(off + 3)}`;
}

/** The address as an unsigned 32-bit number; throws on anything but a dotted quad. */
export function ipv4FromString(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new Error(`not an IPv4 address: ${JSON.stringify(text)} (expected a.b.c.d)`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function ipv4NumToString(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** RFC 5952 text: lower case, longest run of two or more zero groups as "::", first on ties. */
export function ipv6ToString(dv: DataView, off: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(dv.getUint16(off + 2 * i));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const part = (a: number[]) => a.map((x) => x.toString(16)).join(":");
  if (bestStart < 0) return part(g);
  return `${part(g.slice(0, bestStart))}::${part(g.slice(bestStart + bestLen))}`;
}

/** 16 bytes from IPv6 text (with "::" and an optional trailing dotted quad). */
export function ipv6FromString(text: string): Uint8Array {
  const bad = () => new Error(`not an IPv6 address: ${JSON.stringify(text)}`);
  let t = text;
  const lastColon = t.lastIndexOf(":");
  if (t.includes(".")) {
    const v4 = ipv4FromString(t.slice(lastColon + 1));
    t = `${t.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = t.split("::");
  if (halves.length > 2) throw bad();
  const parse = (s: string) =>
    s === ""
      ? []
      : s.split(":").map((h) => {
          if (!/^[0-9a-fA-F]{1,4}$/.test(h)) throw bad();
          return parseInt(h, 16);
        });
  const left = parse(halves[0] as string);
  const right = halves.length === 2 ? parse(halves[1] as string) : [];
  const fill = 8 - left.length - right.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) throw bad();
  const groups = [...left, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...right];
  const out = new Uint8Array(16);
  const dv = viewOf(out);
  groups.forEach((x, i) => dv.setUint16(2 * i, x));
  return out;
}

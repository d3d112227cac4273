// Reads the tshark dissections kept beside each public capture in ../shared/conformance/captures
// (see its README: `tshark -T fields -E occurrence=a -E aggregator=,`, one row per frame, repeated
// fields joined by "," outermost first, an empty cell for an absent field).
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const CONFORMANCE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../../shared/conformance/captures");

export interface TsharkRow {
  readonly [field: string]: string;
}

export function captureFiles(): string[] {
  return readdirSync(CONFORMANCE_DIR)
    .filter((f) => /\.(pcap|pcapng)$/.test(f))
    .sort();
}

export function capturePath(name: string): string {
  return join(CONFORMANCE_DIR, name);
}

export function readFieldsTsv(name: string): TsharkRow[] {
  const text = readFileSync(join(CONFORMANCE_DIR, `${name}.fields.tsv`), "utf8");
  const lines = text.split("\n").filter((l) => l.length > 0);
  const header = (lines[0] ?? "").split("\t");
  return lines.slice(1).map((line) => {
    const cells = line.split("\t");
    return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ""]));
  });
}

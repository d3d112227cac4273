// Run tshark on frames built in a test: writes a classic pcap (Ethernet) to a temporary file and
// returns one tab-separated line of the requested fields per frame.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function tsharkFields(frames: Uint8Array[], fields: string[], prefs: string[] = []): string[] {
  const parts: Uint8Array[] = [];
  const global = new DataView(new ArrayBuffer(24));
  global.setUint32(0, 0xa1b2c3d4, true);
  global.setUint16(4, 2, true);
  global.setUint16(6, 4, true);
  global.setUint32(16, 65535, true);
  global.setUint32(20, 1, true); // LINKTYPE_ETHERNET
  parts.push(new Uint8Array(global.buffer));
  for (const f of frames) {
    const rec = new DataView(new ArrayBuffer(16));
    rec.setUint32(8, f.length, true);
    rec.setUint32(12, f.length, true);
    parts.push(new Uint8Array(rec.buffer), f);
  }
  const dir = mkdtempSync(join(tmpdir(), "l4-tshark-"));
  try {
    const file = join(dir, "t.pcap");
    writeFileSync(file, Buffer.concat(parts));
    const args = ["-r", file, "-T", "fields"];
    for (const p of prefs) args.push("-o", p);
    for (const f of fields) args.push("-e", f);
    const out = execFileSync("tshark", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return out.split("\n").filter((l) => l !== "");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

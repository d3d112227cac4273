// The layer check (scripts/check-layers.mjs) passes on the tree as it is and fails, naming the
// file and line, on each kind of violation planted in a copy of it.
import { describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
const SCRIPT = join(ROOT, "scripts/check-layers.mjs");

function planted(plant: (src: string) => void): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), "layers-"));
  try {
    cpSync(join(ROOT, "src"), join(dir, "src"), { recursive: true });
    plant(join(dir, "src"));
    const r = spawnSync(process.execPath, [SCRIPT, "--root", dir], { encoding: "utf8" });
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("check-layers", () => {
  it("passes on the project's own tree", () => {
    expect(execFileSync(process.execPath, [SCRIPT], { encoding: "utf8" })).toMatch(/imports follow the layer order/);
  });

  it("fails on an import against the layer order, with file and line", () => {
    const r = planted((src) =>
      appendFileSync(join(src, "wire/bytes.ts"), '\nimport { W } from "../flow/key.ts";\nvoid W;\n'),
    );
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/src\/wire\/bytes\.ts:\d+: src\/wire\/ may not import src\/flow\//);
  });

  it("fails on a type-only import between dp/ and ofproto/", () => {
    const r = planted((src) =>
      appendFileSync(
        join(src, "ofproto/route.ts"),
        '\nimport type { PacketPool } from "../dp/pool.ts";\nexport type P = PacketPool;\n',
      ),
    );
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/src\/ofproto\/route\.ts:\d+: src\/ofproto\/ may not import src\/dp\//);
  });

  it("fails on a file import cycle inside one folder", () => {
    const r = planted((src) => {
      writeFileSync(join(src, "wire/cycle-a.ts"), 'import { b } from "./cycle-b.ts";\nexport const a = () => b;\n');
      writeFileSync(join(src, "wire/cycle-b.ts"), 'import { a } from "./cycle-a.ts";\nexport const b = () => a;\n');
    });
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/file import cycle among src\/wire\/cycle-a\.ts, src\/wire\/cycle-b\.ts/);
  });

  it("fails on a folder cycle and on anything but cmd/ importing cmd/", () => {
    const r = planted((src) =>
      appendFileSync(join(src, "host/netdev.ts"), '\nexport { main } from "../cmd/run.ts";\n'),
    );
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/src\/host\/netdev\.ts:\d+: src\/host\/ may not import src\/cmd\//);
    expect(r.out).toMatch(/folder import cycle among .*src\/host\/.*src\/cmd\//);
  });

  it("fails on native code loaded outside the TAP adapter", () => {
    const r = planted((src) =>
      appendFileSync(
        join(src, "ports/dgram.ts"),
        '\nimport { createRequire } from "node:module";\nexport const req = createRequire(import.meta.url);\n',
      ),
    );
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/src\/ports\/dgram\.ts:\d+: loads native code; only ports\/tap\.ts may/);
  });

  it("fails on a folder missing from the layer list", () => {
    const r = planted((src) => cpSync(join(src, "wire"), join(src, "newfolder"), { recursive: true }));
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/folder src\/newfolder\/ is not in the layer list/);
  });
});

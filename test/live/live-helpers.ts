// What the live-port tests need: root, /dev/net/tun, the TAP addon, ping and ip; their own
// network namespaces; the real program as a daemon. Like requireTool (test/helpers.ts), a
// missing requirement skips the test with its reason printed on a developer's machine, and under
// CI (CI set) runs it anyway so that it fails: CI never hides a skipped test.

import { execFile, execFileSync } from "node:child_process";
import { accessSync, constants, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { haveTool } from "../helpers.ts";
import { tapAddon } from "../../src/ports/tap.ts";

const run = promisify(execFile);
export const BIN = resolve(import.meta.dirname, "../../bin/offload-emu.js");

/** Why live tests cannot run here, or null when they can. */
export function liveMissing(needs: { tap?: boolean } = {}): string | null {
  const missing: string[] = [];
  if (process.platform !== "linux") missing.push(`Linux (this is ${process.platform})`);
  if (typeof process.getuid === "function" && process.getuid() !== 0)
    missing.push("root (network namespaces and TAP devices)");
  for (const t of ["ip", "ping"])
    if (!haveTool(t)) missing.push(`${t} (Debian: ${t === "ip" ? "iproute2" : "iputils-ping"})`);
  if (needs.tap) {
    try {
      accessSync("/dev/net/tun", constants.R_OK | constants.W_OK);
    } catch {
      missing.push("/dev/net/tun (modprobe tun)");
    }
    const a = tapAddon();
    if (typeof a === "string") missing.push(a);
  }
  return missing.length === 0 ? null : `needs ${missing.join(", ")}`;
}

/**
 * true: run the tests. Prints why not when they are skipped; under CI returns true anyway so
 * the missing requirement fails the test.
 */
export function requireLive(what: string, needs: { tap?: boolean } = {}): boolean {
  const why = liveMissing(needs);
  if (why === null) return true;
  if (process.env["CI"]) return true;
  console.warn(`skipping ${what}: ${why}`);
  return false;
}

/** Fails the calling test with the reason when a requirement is missing (under CI). */
export function assertLive(needs: { tap?: boolean } = {}): void {
  const why = liveMissing(needs);
  if (why !== null) throw new Error(`live test cannot run: ${why}`);
}

export interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

export async function sh(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Out> {
  try {
    const r = await run(cmd, args, {
      timeout: opts.timeoutMs ?? 30_000,
      maxBuffer: 16 << 20,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      ...(opts.env ? { env: opts.env } : {}),
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof x.code === "number" ? x.code : 1, stdout: x.stdout ?? "", stderr: x.stderr ?? x.message };
  }
}

/** One emulator daemon in its own run directory: `e(...argv)` runs `offload-emu argv`. */
export function daemon(
  prefix: string,
  extraEnv: Record<string, string> = {},
): { dir: string; e: (...argv: string[]) => Promise<Out> } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const env = { ...process.env, ...extraEnv, OFFLOAD_EMU_RUNDIR: join(dir, "run") };
  return { dir, e: (...argv) => sh(process.execPath, [BIN, ...argv], { cwd: dir, env }) };
}

/** Network namespaces created by this process, deleted by deleteNamespaces() even after a failure. */
const created = new Set<string>();

/** A fresh namespace name unlikely to collide with another run: oe-<tag>-<pid>. */
export function nsName(tag: string): string {
  return `oe-${tag}-${process.pid}`.slice(0, 32);
}

export function addNamespace(name: string): void {
  execFileSync("ip", ["netns", "add", name]);
  created.add(name);
  execFileSync("ip", ["-n", name, "link", "set", "lo", "up"]);
}

export function deleteNamespaces(): void {
  for (const n of created) {
    try {
      execFileSync("ip", ["netns", "del", n], { stdio: "ignore" });
    } catch {
      /* already gone */
    }
    created.delete(n);
  }
}

/** Moves `dev` into namespace `ns`, gives it `cidr` and brings it up. */
export function plug(dev: string, ns: string, cidr: string): void {
  execFileSync("ip", ["link", "set", dev, "netns", ns]);
  execFileSync("ip", ["-n", ns, "addr", "add", cidr, "dev", dev]);
  execFileSync("ip", ["-n", ns, "link", "set", dev, "up"]);
}

/** `ip netns exec ns cmd args`. */
export function inNs(ns: string, cmd: string, args: string[], timeoutMs = 30_000): Promise<Out> {
  return sh("ip", ["netns", "exec", ns, cmd, ...args], { timeoutMs });
}

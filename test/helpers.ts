// Shared test helpers: junk-filled slots, and whether tools that some tests need are present.
import { execFileSync } from "node:child_process";

/** A slot filled with 0xa5, as a reused pool slot would be: emitters must set every byte. */
export function dirtySlot(len: number): Uint8Array {
  return new Uint8Array(len).fill(0xa5);
}

export function haveTool(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a test that needs `cmd` should run. Without the tool it is skipped on a developer's
 * machine, but under CI (CI set) it runs anyway and fails, so CI never hides a skipped test.
 */
export function requireTool(cmd: string): boolean {
  return haveTool(cmd) || Boolean(process.env["CI"]);
}

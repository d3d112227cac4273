// Builds the TAP addon (native/tap) at `npm install`, with the node-gyp that ships inside npm and
// the C headers that ship beside the running node, so nothing is downloaded. It never fails the
// install: without a compiler, headers or Linux, TAP ports report why they are unavailable
// (src/ports/tap.ts reads native/tap/build/tap-status.json) and everything else works.
//
// Prints one line: whether the addon was built, or why not.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TAP_DIR = join(ROOT, "native", "tap");
const STATUS = join(TAP_DIR, "build", "tap-status.json");

function record(built, reason) {
  try {
    mkdirSync(dirname(STATUS), { recursive: true });
    writeFileSync(
      STATUS,
      `${JSON.stringify({ built, reason, node: process.version, at: new Date().toISOString() })}\n`,
    );
  } catch {
    /* a read-only tree: the driver then says the addon was never built */
  }
  console.log(
    built
      ? `offload-emu: TAP addon built (${join("native", "tap", "build", "Release", "tap.node")})`
      : `offload-emu: TAP addon not built: ${reason}; TAP ports are unavailable, everything else works`,
  );
}

// npm and node sit under one prefix: <prefix>/bin/node, <prefix>/include/node, and
// <prefix>/lib/node_modules/npm (Debian and the nodejs.org tarballs alike). npm sets npm_execpath
// to its CLI when it runs this script; otherwise look beside node.
function findNodeGyp(prefix) {
  const candidates = [];
  const npmCli = process.env["npm_execpath"];
  if (npmCli) candidates.push(join(dirname(npmCli), "..", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  candidates.push(join(prefix, "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  candidates.push(join(prefix, "share", "nodejs", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** The line of node-gyp's output that says what is missing, in a few words where we know it. */
function whyFailed(out, status) {
  if (/You need to install the latest version of Python/.test(out))
    return "Python 3 not found (node-gyp needs it; Debian: python3)";
  if (/not found: make|make: not found|make: No such file/.test(out)) return "make not found (Debian: make)";
  const cc = /(?:^|\s)(cc|gcc|g\+\+|c\+\+): (?:not found|No such file or directory|command not found)/m.exec(out);
  if (cc) return `C compiler ${cc[1]} not found (Debian: gcc)`;
  const lines = out
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("gyp info"));
  return (
    lines.find((l) => /\berror\b:/i.test(l)) ??
    lines.find((l) => /not found|No such file/i.test(l)) ??
    lines[0] ??
    `exit status ${status}`
  );
}

function main() {
  if (process.env["OFFLOAD_EMU_NO_TAP"]) return record(false, "OFFLOAD_EMU_NO_TAP is set");
  if (process.platform !== "linux") return record(false, `TAP devices need Linux (this is ${process.platform})`);
  const prefix = resolve(dirname(process.execPath), "..");
  const headers = join(prefix, "include", "node");
  if (!existsSync(join(headers, "node_api.h")))
    return record(
      false,
      `no Node headers at ${headers} (install the package that ships node_api.h, e.g. Debian's libnode-dev or nodejs from nodejs.org)`,
    );
  const gyp = findNodeGyp(prefix);
  if (gyp === null) return record(false, "node-gyp not found beside npm");
  const r = spawnSync(process.execPath, [gyp, "rebuild", `--nodedir=${prefix}`, "--loglevel=error"], {
    cwd: TAP_DIR,
    encoding: "utf8",
    env: { ...process.env, npm_config_nodedir: prefix },
    timeout: 300_000,
  });
  if (r.error) return record(false, `node-gyp did not run: ${r.error.message}`);
  if (r.status !== 0) {
    return record(false, `node-gyp failed: ${whyFailed(`${r.stderr}\n${r.stdout}`, r.status)}`);
  }
  if (!existsSync(join(TAP_DIR, "build", "Release", "tap.node")))
    return record(false, "node-gyp succeeded but left no tap.node");
  return record(true, null);
}

try {
  main();
} catch (e) {
  record(false, `build script error: ${e instanceof Error ? e.message : String(e)}`);
}
process.exit(0);

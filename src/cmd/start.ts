// `offload-emu start [--rundir DIR] [--detach] [--log-file[=FILE]] [--pidfile[=FILE]]`: runs the
// daemon (src/daemon/server.ts) on the run directory's control socket. With --detach it starts a
// copy of itself in the background (output to the log file) and returns once that copy answers
// on the socket, as `ovs-vswitchd --detach` returns once the daemon is ready.

import { spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { probe, runPaths, takeRundir } from "../daemon/rundir.ts";
import { DaemonError, Server, alreadyRunning } from "../daemon/server.ts";
import { DbLoadError } from "../ovsdb/db.ts";

const HELP = `usage: offload-emu start [--rundir DIR] [--detach] [--log-file[=FILE]] [--pidfile[=FILE]]

Runs the emulated host (SmartNIC + Open vSwitch) and serves offload-emu vsctl, ofctl and appctl on
the UNIX socket DIR/offload-emu.ctl. DIR is --rundir, else $OFFLOAD_EMU_RUNDIR, else ./.offload-emu;
it also holds the pid file, the configuration (conf.json, kept across restarts) and the log.
  --detach           run in the background; return once the daemon answers (at most 10 s)
  --log-file[=FILE]  log to FILE (default DIR/offload-emu.log)
  --pidfile[=FILE]   write the pid to FILE (default DIR/offload-emu.pid)
Stop it with \`offload-emu appctl exit\` (or SIGINT/SIGTERM).`;

const DETACH_WAIT_MS = 10_000;
const POLL_MS = 50;

/** `respawn`: the program and arguments that run `start` again (for --detach). */
export async function main(argv: string[], respawn: string[] = [process.argv[1] as string, "start"]): Promise<number> {
  const { dir, rest } = takeRundir(argv);
  const paths = runPaths(dir);
  let detach = false;
  let logFile: string | undefined;
  let pidFile: string | undefined;
  for (const a of rest) {
    if (a === "--help" || a === "-h") {
      console.log(HELP);
      return 0;
    }
    if (a === "--detach") detach = true;
    else if (a === "--log-file") logFile = paths.log;
    else if (a.startsWith("--log-file=")) logFile = resolve(a.slice("--log-file=".length));
    else if (a === "--pidfile") pidFile = paths.pid;
    else if (a.startsWith("--pidfile=")) pidFile = resolve(a.slice("--pidfile=".length));
    else {
      console.error(`offload-emu start: unrecognized argument '${a}'\n\n${HELP}`);
      return 2;
    }
  }
  // Checked here too, so that --detach refuses instead of finding the old daemon answering.
  if (await probe(paths.socket)) {
    console.error(`offload-emu start: ${alreadyRunning(paths)}`);
    return 1;
  }
  if (detach)
    return detachDaemon(
      paths.dir,
      rest.filter((a) => a !== "--detach"),
      logFile ?? paths.log,
      respawn,
    );

  let server: Server;
  try {
    server = await Server.start({
      rundir: paths.dir,
      ...(logFile ? { logFile } : {}),
      ...(pidFile ? { pidFile } : {}),
    });
  } catch (e) {
    if (e instanceof DaemonError || e instanceof DbLoadError) {
      console.error(`offload-emu start: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const stop = (sig: string) => () => void server.shutdown(`${sig} received`);
  process.once("SIGINT", stop("SIGINT"));
  process.once("SIGTERM", stop("SIGTERM"));
  await server.stopped;
  // Everything is closed; should some handle still hold the loop, do not linger socketless.
  setTimeout(() => process.exit(0), 1000).unref();
  return 0;
}

async function detachDaemon(dir: string, args: string[], logFile: string, respawn: string[]): Promise<number> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  mkdirSync(dirname(logFile), { recursive: true });
  const out = openSync(logFile, "a");
  const child = spawn(process.execPath, [...process.execArgv, ...respawn, "--rundir", dir, ...args], {
    detached: true,
    stdio: ["ignore", out, out],
    env: process.env,
  });
  let exited: number | null = null;
  child.once("exit", (code, sig) => {
    exited = code ?? (sig ? 128 : 1);
  });
  child.unref();
  const sock = runPaths(dir).socket;
  for (let waited = 0; waited < DETACH_WAIT_MS; waited += POLL_MS) {
    if (exited !== null) {
      const tail = readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-5).join("\n");
      console.error(
        `offload-emu start: the daemon exited with status ${exited} before answering; from ${logFile}:\n${tail}`,
      );
      return 1;
    }
    if (await probe(sock, 500)) return 0;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  console.error(
    `offload-emu start: the daemon (pid ${child.pid}) did not answer on ${sock} within ${DETACH_WAIT_MS / 1000} s; see ${logFile}`,
  );
  return 1;
}

// Run directly (`tsx src/cmd/start.ts ARGS`), as test/daemon/server.test.ts does.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2), [process.argv[1]]).then((c) => {
    process.exitCode = c;
  });
}

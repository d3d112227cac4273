// Where a daemon and its clients meet: the run directory, as Open vSwitch uses OVS_RUNDIR. It is
// `--rundir DIR`, else $OFFLOAD_EMU_RUNDIR, else ./.offload-emu, and holds the control socket
// (offload-emu.ctl, a UNIX socket: the daemon never listens on the network), the pid file, the
// configuration database (conf.json) and the log. The server (server.ts), `offload-emu start`
// (src/cmd/start.ts) and the client subcommands (src/cmd/ctl.ts) all find it here.

import { createConnection } from "node:net";
import { join, resolve } from "node:path";

export const DEFAULT_RUNDIR = ".offload-emu";
export const SOCKET_NAME = "offload-emu.ctl";
export const PID_NAME = "offload-emu.pid";
export const DB_NAME = "conf.json";
export const LOG_NAME = "offload-emu.log";
/** sockaddr_un.sun_path holds 108 bytes, the terminating NUL included (unix(7)). */
export const MAX_SOCKET_PATH_BYTES = 107;

export interface RunPaths {
  dir: string;
  socket: string;
  pid: string;
  db: string;
  log: string;
}

export function runPaths(dir: string): RunPaths {
  const d = resolve(dir);
  return { dir: d, socket: join(d, SOCKET_NAME), pid: join(d, PID_NAME), db: join(d, DB_NAME), log: join(d, LOG_NAME) };
}

/**
 * Takes `--rundir DIR` / `--rundir=DIR` out of the options that come before the first other
 * argument (so `vsctl --rundir X add-br br0` works and a command's own words are never touched),
 * and falls back to the environment, then the default.
 */
export function takeRundir(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): { dir: string; rest: string[] } {
  const rest: string[] = [];
  let dir: string | null = null;
  let leading = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (leading && a === "--rundir" && i + 1 < argv.length) {
      dir = argv[++i] as string;
      continue;
    }
    if (leading && a.startsWith("--rundir=")) {
      dir = a.slice("--rundir=".length);
      continue;
    }
    if (!a.startsWith("-") || a === "--") leading = false;
    rest.push(a);
  }
  return { dir: resolve(dir ?? (env["OFFLOAD_EMU_RUNDIR"] || DEFAULT_RUNDIR)), rest };
}

/** Whether something accepts connections on the socket: a live daemon, not a stale file. */
export function probe(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection(socketPath);
    const done = (v: boolean) => {
      clearTimeout(t);
      s.destroy();
      res(v);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

// The daemon: owns the configuration database (src/ovsdb/db.ts), the appctl command table
// (src/ctl/unixctl.ts) and the engine (src/host/engine.ts), and serves vsctl/ofctl/appctl requests on the
// run directory's UNIX socket (rundir.ts), one at a time and in order, as ovs-vswitchd's single
// main loop does. `offload-emu start` (src/cmd/start.ts) runs it; tests may run it in-process.
//
// A vsctl request runs its transaction and, when it changed something, the database's commit
// listeners reconfigure the engine (so `vsctl get Interface p1 ofport` right after add-port shows
// the number) and then save conf.json, before the reply goes out.
//
// `appctl exit` and SIGINT/SIGTERM stop it the same way: the engine flushes and closes its
// captures, the database is saved, the socket and pid file are removed, and only then does the
// exit request get its answer, so a script that runs `appctl exit` finds the run directory clean.
//
// Time: with no live port the engine keeps its virtual clock (deterministic captures). Once a
// port is attached to something real (TAP: src/ports/tap.ts; dgram, stream: src/ports/), frames
// arrive when the outside sends them: the engine is switched to the real clock (it stamps each
// live frame with its arrival time) and a timer here advances it in between so revalidation and
// ageing run. Without live ports again, the virtual clock resumes from there.

import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import type { HostEngine } from "../host/engine.ts";
import { Host } from "../host/host.ts";
import { formatLivePorts } from "../ports/live-ports.ts";
import type { CommandIo, CommandResult } from "../ctl/registry.ts";
import { Db } from "../ovsdb/db.ts";
import type { Request } from "./client.ts";
import { MAX_SOCKET_PATH_BYTES, probe, runPaths, type RunPaths } from "./rundir.ts";
import { Unixctl } from "../ctl/unixctl.ts";

/** The Open_vSwitch ovs_version column, which ovs-ctl fills in at start-up. */
export const OVS_VERSION = "3.1.0";

export interface ServerOptions {
  rundir: string;
  /** Log file (default RUNDIR/offload-emu.log). */
  logFile?: string;
  /** Pid file (default RUNDIR/offload-emu.pid). */
  pidFile?: string;
  /** Also print log lines on stderr (a daemon in the foreground). */
  echoLog?: boolean;
}

/** How often the real clock advances the engine when nothing else does (revalidator, ageing). */
export const REAL_CLOCK_TICK_MS = 100;

/** Why the daemon could not start, in words for the user. */
export class DaemonError extends Error {
  override readonly name = "DaemonError";
}

export class Server {
  readonly paths: RunPaths;
  readonly db: Db;
  readonly unixctl: Unixctl;
  readonly host: Host;
  readonly engine: HostEngine;
  /** Resolves once the daemon has stopped and released everything. */
  readonly stopped: Promise<void>;
  private net: NetServer | null = null;
  private queue: Promise<void> = Promise.resolve();
  private cleaned: Promise<void> | null = null;
  private finish!: () => void;
  private readonly logFile: string;
  private readonly pidFile: string;
  private readonly conns = new Set<Socket>();
  private clockTimer: NodeJS.Timeout | null = null;
  /** Requests refused before they reached a tool (not JSON, or not a request's shape). */
  badRequests = 0;

  private constructor(
    private readonly opts: ServerOptions,
    db: Db,
  ) {
    this.paths = runPaths(opts.rundir);
    this.logFile = opts.logFile ?? this.paths.log;
    this.pidFile = opts.pidFile ?? this.paths.pid;
    this.stopped = new Promise((res) => {
      this.finish = res;
    });
    this.db = db;
    this.unixctl = new Unixctl(this.paths.socket);
    this.unixctl.register("exit", "[--cleanup]", 0, 1, async () => {
      await this.cleanup("exit requested");
      return "";
    });
    this.unixctl.register("live/show", "", 0, 0, () => formatLivePorts());
    this.host = new Host({
      db,
      commands: this.unixctl,
      log: (l) => this.log(l),
      vsctl: { wait: true, logDir: this.paths.dir },
    });
    this.engine = this.host.engine;
    db.onCommit(() => this.updateClock());
    db.onCommit(() => db.save(this.paths.db));
  }

  /** Creates the run directory, takes it over (or refuses), loads conf.json, listens. */
  static async start(opts: ServerOptions): Promise<Server> {
    const paths = runPaths(opts.rundir);
    if (Buffer.byteLength(paths.socket) > MAX_SOCKET_PATH_BYTES) {
      throw new DaemonError(
        `${paths.socket}: too long for a UNIX socket (${Buffer.byteLength(paths.socket)} bytes, at most ${MAX_SOCKET_PATH_BYTES}); use a shorter --rundir`,
      );
    }
    mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    let stale = false;
    if (existsSync(paths.socket)) {
      if (await probe(paths.socket)) throw new DaemonError(alreadyRunning(paths));
      rmSync(paths.socket, { force: true });
      stale = true;
    }
    const db = existsSync(paths.db) ? Db.load(paths.db) : new Db();
    db.root.ovs_version ??= OVS_VERSION;
    const s = new Server(opts, db);
    if (stale) s.log(`removed the stale socket ${paths.socket} (its daemon is gone)`);
    s.engine.reconfigure();
    s.updateClock();
    db.save(paths.db);
    s.net = createServer((c) => s.serve(c));
    await new Promise<void>((res, rej) => {
      const net = s.net as NetServer;
      net.once("error", rej);
      net.listen(paths.socket, () => {
        net.off("error", rej);
        res();
      });
    });
    writeFileSync(s.pidFile, `${process.pid}\n`);
    s.log(`started, pid ${process.pid}, control socket ${paths.socket}`);
    return s;
  }

  /** Starts or stops the real clock as live ports come and go (after each reconfiguration). */
  private updateClock(): void {
    const e = this.engine;
    if (e.hasLivePorts && this.clockTimer === null) {
      e.setRealClock(true);
      this.clockTimer = setInterval(() => e.syncClock(), REAL_CLOCK_TICK_MS);
      this.log("live ports attached: running on the real clock");
    } else if (!e.hasLivePorts && this.clockTimer !== null) {
      this.stopClock();
      e.setRealClock(false);
      this.log("no live ports: back on the virtual clock");
    }
  }

  private stopClock(): void {
    if (this.clockTimer !== null) clearInterval(this.clockTimer);
    this.clockTimer = null;
  }

  log(line: string): void {
    const text = `${new Date().toISOString()}|${line}\n`;
    try {
      appendFileSync(this.logFile, text);
    } catch {
      /* a full disk must not stop the switch */
    }
    if (this.opts.echoLog) process.stderr.write(text);
  }

  private serve(c: Socket): void {
    this.conns.add(c);
    let buf = "";
    c.setEncoding("utf8");
    c.on("data", (d: string) => {
      buf += d;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.queue = this.queue
          .then(async () => {
            const reply = await this.handleLine(line);
            if (!c.destroyed) c.write(`${JSON.stringify(reply)}\n`);
            if (this.cleaned) this.close();
          })
          .catch((e: unknown) => {
            // Nothing one request does may stop the daemon or the requests queued after it.
            this.log(`request failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
            if (!c.destroyed)
              c.write(
                `${JSON.stringify({ code: 1, stdout: "", stderr: "offload-emu: internal error (see the log)\n" })}\n`,
              );
          });
      }
    });
    c.on("close", () => this.conns.delete(c));
    c.on("error", () => {
      /* a client that went away */
    });
  }

  private async handleLine(line: string): Promise<CommandResult> {
    let req: Request;
    try {
      req = checkRequest(JSON.parse(line));
    } catch (e) {
      this.badRequests++;
      return { code: 1, stdout: "", stderr: `offload-emu: bad request: ${(e as Error).message}\n` };
    }
    return this.handle(req);
  }

  /** One request, as if it came over the socket (requests are serialised by the caller). */
  async handle(req: Request): Promise<CommandResult> {
    if (this.cleaned) return { code: 1, stdout: "", stderr: `offload-emu ${req.tool}: the daemon is exiting\n` };
    const io: CommandIo = { cwd: req.cwd, ...(req.stdin !== undefined ? { stdin: req.stdin } : {}) };
    try {
      switch (req.tool) {
        case "vsctl":
        case "ofctl":
        case "appctl":
          return await this.host.exec(req.tool, req.argv, io);
        default:
          return { code: 1, stdout: "", stderr: `offload-emu: unknown tool ${JSON.stringify(req.tool)}\n` };
      }
    } catch (e) {
      this.log(`${req.tool} ${req.argv.join(" ")}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      return {
        code: 1,
        stdout: "",
        stderr: `offload-emu ${req.tool}: internal error: ${e instanceof Error ? e.message : String(e)}\n`,
      };
    }
  }

  /** Stops the daemon (SIGINT, SIGTERM, tests); `appctl exit` does the same from a request. */
  async shutdown(reason = "stopping"): Promise<void> {
    await this.cleanup(reason);
    this.close();
    await this.stopped;
  }

  private cleanup(reason: string): Promise<void> {
    this.cleaned ??= (async () => {
      this.log(`${reason}: closing`);
      this.stopClock();
      try {
        await this.engine.close();
      } finally {
        this.db.save(this.paths.db);
        rmSync(this.paths.socket, { force: true });
        if (readPid(this.pidFile) === process.pid) rmSync(this.pidFile, { force: true });
        this.log("stopped");
      }
    })();
    return this.cleaned;
  }

  private close(): void {
    const net = this.net;
    if (!net) return;
    this.net = null;
    for (const c of this.conns) c.end();
    net.close(() => this.finish());
  }
}

function readPid(path: string): number | null {
  try {
    return Number.parseInt(readFileSync(path, "utf8"), 10);
  } catch {
    return null;
  }
}

/** The refusal `start` prints when the run directory already has a live daemon. */
export function alreadyRunning(paths: RunPaths): string {
  const pid = readPid(paths.pid);
  return `a daemon is already running in ${paths.dir}${pid ? ` (pid ${pid})` : ""}; stop it with: offload-emu appctl --rundir ${paths.dir} exit`;
}

/**
 * A request as the client sends it (client.ts): {tool, argv, cwd, stdin?}, every argument a
 * string. Anything else is refused with what is wrong and where, before a tool sees it.
 */
function checkRequest(v: unknown): Request {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("expected a JSON object");
  const r = v as Record<string, unknown>;
  if (typeof r["tool"] !== "string") throw new Error("tool: expected a string");
  if (!Array.isArray(r["argv"])) throw new Error("argv: expected an array of strings");
  const argv = r["argv"] as unknown[];
  const bad = argv.findIndex((a) => typeof a !== "string");
  if (bad >= 0) throw new Error(`argv[${bad}]: expected a string, found ${JSON.stringify(argv[bad])}`);
  if (typeof r["cwd"] !== "string") throw new Error("cwd: expected a string");
  if (r["stdin"] !== undefined && typeof r["stdin"] !== "string") throw new Error("stdin: expected a string");
  return r as unknown as Request;
}

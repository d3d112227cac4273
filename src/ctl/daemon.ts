// The daemon (`offload-emu start`) and its control socket, and the client side of the `vsctl`,
// `ofctl` and `appctl` subcommands.
//
// As Open vSwitch uses OVS_RUNDIR, everything lives in one run directory: `--rundir DIR`, else
// $OFFLOAD_EMU_RUNDIR, else ./.offload-emu. It holds the control socket (offload-emu.ctl, a UNIX
// socket: the daemon never listens on the network), the pid file, the configuration database
// (conf.json, reloaded on the next start as ovsdb-server keeps conf.db) and the log.
//
// Protocol: one JSON request per line, {tool, argv, cwd, stdin?}, answered by one JSON line
// {code, stdout, stderr}; requests are served one at a time, in order.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join, resolve } from "node:path";
import { HostEngine } from "../host/engine.ts";
import { LocalCommands } from "../host/registry.ts";
import { ConfDb, interfaceErrors, runVsctl } from "../host/vsctl.ts";
import type { CommandIo, CommandResult } from "../host/types.ts";

export const SOCKET_NAME = "offload-emu.ctl";
export const PID_NAME = "offload-emu.pid";
export const DB_NAME = "conf.json";
export const LOG_NAME = "offload-emu.log";

export type Tool = "vsctl" | "ofctl" | "appctl";

interface Request {
  tool: Tool;
  argv: string[];
  cwd: string;
  stdin?: string;
}

/** The run directory from --rundir, the environment, or the default. */
export function runDir(argv: string[]): { dir: string; rest: string[] } {
  const rest: string[] = [];
  let dir = process.env["OFFLOAD_EMU_RUNDIR"] || ".offload-emu";
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--rundir") { dir = argv[++i] ?? dir; continue; }
    if (a.startsWith("--rundir=")) { dir = a.slice(9); continue; }
    rest.push(a);
  }
  return { dir: resolve(dir), rest };
}

/** Sends one request to the daemon of `dir`; rejects when nothing answers there. */
export function request(dir: string, req: Request, timeoutMs = 30_000): Promise<CommandResult> {
  return new Promise((res, rej) => {
    const sock = createConnection(join(dir, SOCKET_NAME));
    let buf = "";
    const timer = setTimeout(() => { sock.destroy(); rej(new Error("timed out waiting for the daemon")); }, timeoutMs);
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl >= 0) { clearTimeout(timer); sock.end(); res(JSON.parse(buf.slice(0, nl)) as CommandResult); }
    });
    sock.on("error", (e) => { clearTimeout(timer); rej(e); });
  });
}

/** The daemon itself: runs until `appctl exit`, SIGINT or SIGTERM. */
export class Daemon {
  private server: Server | null = null;
  readonly commands = new LocalCommands();
  readonly db: ConfDb;
  readonly engine: HostEngine;
  private queue: Promise<void> = Promise.resolve();
  private closing = false;

  constructor(readonly dir: string) {
    const dbPath = join(dir, DB_NAME);
    this.db = existsSync(dbPath) ? ConfDb.load(dbPath) : new ConfDb();
    this.engine = new HostEngine({ db: this.db, unixctl: this.commands, rundir: dir, log: (l) => this.log(l) });
    this.commands.register("exit", "", 0, 0, () => { setImmediate(() => void this.stop(0)); return ""; });
    this.commands.register("version", "", 0, 0, () => "offload-emu (Open vSwitch 3.1 compatible commands)");
    this.commands.register("list-commands", "", 0, 0, () =>
      `The available commands are:\n${[...this.commands.commands].sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .map(([n, c]) => `  ${`${n} ${c.usage}`.trimEnd()}`).join("\n")}`);
  }

  log(line: string): void {
    try { appendFileSync(join(this.dir, LOG_NAME), `${new Date().toISOString()}|${line}\n`); } catch { /* the log is best effort */ }
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const sockPath = join(this.dir, SOCKET_NAME);
    if (existsSync(sockPath)) {
      const live = await request(this.dir, { tool: "appctl", argv: ["version"], cwd: this.dir }, 2000).then(() => true, () => false);
      if (live) throw new Error(`a daemon is already running in ${this.dir} (stop it with: offload-emu appctl --rundir ${this.dir} exit)`);
      rmSync(sockPath, { force: true }); // stale: its daemon is gone
    }
    this.engine.reconfigure();
    this.server = createServer((s) => this.serve(s));
    await new Promise<void>((res, rej) => {
      (this.server as Server).once("error", rej);
      (this.server as Server).listen(sockPath, () => res());
    });
    writeFileSync(join(this.dir, PID_NAME), `${process.pid}\n`);
    this.log(`started, pid ${process.pid}, control socket ${sockPath}`);
    process.on("SIGINT", () => void this.stop(0));
    process.on("SIGTERM", () => void this.stop(0));
  }

  private serve(s: Socket): void {
    let buf = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.queue = this.queue.then(async () => {
          const reply = await this.handle(line);
          if (!s.destroyed) s.write(`${JSON.stringify(reply)}\n`);
        });
      }
    });
    s.on("error", () => { /* a client that went away */ });
  }

  /** One request, in order with the others. */
  async handle(line: string): Promise<CommandResult> {
    let req: Request;
    try { req = JSON.parse(line) as Request; } catch { return { code: 1, stdout: "", stderr: "offload-emu: bad request\n" }; }
    const io: CommandIo = { cwd: req.cwd, ...(req.stdin !== undefined ? { stdin: req.stdin } : {}) };
    try {
      switch (req.tool) {
        case "vsctl": {
          const r = runVsctl(this.db, req.argv, () => { this.engine.reconfigure(); return interfaceErrors(this.db.root); });
          this.db.save(join(this.dir, DB_NAME));
          return r;
        }
        case "ofctl": return this.engine.ofctl(req.argv, io);
        case "appctl": {
          const r = await this.commands.run(req.argv, io);
          if (r.code !== 0) r.stderr += `offload-emu appctl: ${join(this.dir, SOCKET_NAME)}: server returned an error\n`;
          return r;
        }
        default: return { code: 1, stdout: "", stderr: `offload-emu: unknown tool ${String(req.tool)}\n` };
      }
    } catch (e) {
      this.log(`error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      return { code: 1, stdout: "", stderr: `offload-emu ${req.tool}: ${e instanceof Error ? e.message : String(e)}\n` };
    } finally {
      this.engine.captures.flush();
    }
  }

  async stop(code: number): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.queue;
    await this.engine.close();
    this.server?.close();
    rmSync(join(this.dir, SOCKET_NAME), { force: true });
    rmSync(join(this.dir, PID_NAME), { force: true });
    this.log("stopped");
    process.exit(code);
  }
}

const START_HELP = `usage: offload-emu start [--rundir DIR] [--detach]

Starts the emulated host (SmartNIC + Open vSwitch) and serves vsctl/ofctl/appctl on
DIR/${SOCKET_NAME} (DIR: --rundir, else $OFFLOAD_EMU_RUNDIR, else ./.offload-emu).
--detach returns once the daemon answers; stop it with \`offload-emu appctl exit\`.`;

export async function startMain(argv: string[], entry: string): Promise<number> {
  const { dir, rest } = runDir(argv);
  if (rest.includes("--help") || rest.includes("-h")) { console.log(START_HELP); return 0; }
  const unknown = rest.filter((a) => a !== "--detach" && a !== "--pidfile" && !a.startsWith("--log-file"));
  if (unknown.length) { console.error(`offload-emu start: unknown option ${unknown[0]}\n\n${START_HELP}`); return 2; }
  if (rest.includes("--detach")) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const log = openSync(join(dir, LOG_NAME), "a");
    const child = spawn(process.execPath, [...process.execArgv, entry, "start", "--rundir", dir],
      { detached: true, stdio: ["ignore", log, log], cwd: process.cwd(), env: process.env });
    let exited: number | null = null;
    child.on("exit", (c) => { exited = c ?? 1; });
    child.unref();
    for (let waited = 0; waited < 10_000; waited += 50) {
      if (exited !== null) {
        console.error(`offload-emu start: the daemon exited (status ${exited}); see ${join(dir, LOG_NAME)}`);
        const tail = readFileSync(join(dir, LOG_NAME), "utf8").trim().split("\n").slice(-3).join("\n");
        if (tail) console.error(tail);
        return 1;
      }
      const ok = await request(dir, { tool: "appctl", argv: ["version"], cwd: dir }, 1000).then(() => true, () => false);
      if (ok) return 0;
      await new Promise((r) => setTimeout(r, 50));
    }
    console.error(`offload-emu start: the daemon did not answer on ${join(dir, SOCKET_NAME)} within 10 s`);
    return 1;
  }
  const d = new Daemon(dir);
  try {
    await d.start();
  } catch (e) {
    console.error(`offload-emu start: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  return new Promise<number>(() => { /* runs until stopped */ });
}

export async function clientMain(tool: Tool, argv: string[]): Promise<number> {
  const { dir, rest } = runDir(argv);
  let args = rest;
  if (tool === "appctl") {
    // ovs-appctl's -t/--target: one daemon per run directory here, so accepted and ignored.
    args = [];
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i] as string;
      if (a === "-t" || a === "--target") { i++; continue; }
      if (a.startsWith("--target=")) continue;
      args.push(a);
    }
  }
  let stdin: string | undefined;
  if (args.includes("-")) stdin = readFileSync(0, "utf8");
  let r: CommandResult;
  try {
    r = await request(dir, { tool, argv: args, cwd: process.cwd(), ...(stdin !== undefined ? { stdin } : {}) });
  } catch {
    process.stderr.write(`offload-emu ${tool}: cannot connect to ${join(dir, SOCKET_NAME)} (start it with offload-emu start --detach)\n`);
    return 1;
  }
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return r.code;
}

// One emulated host as its users drive it: the configuration database, the appctl command table
// and the engine, with every appctl command registered, and `exec` running a vsctl, ofctl or
// appctl invocation as typed after the tool's name. The daemon (src/daemon/server.ts) serves
// one over its control socket; a scenario (src/scenario/run.ts) builds one per emulated host;
// tests build them directly. Building the host here, and nowhere else, is what keeps the engine
// free of its commands (commands.ts imports the engine, not the other way round).

import type { CommandIo, CommandResult, CommandTable } from "../ctl/registry.ts";
import { Db } from "../ovsdb/db.ts";
import { runVsctl, type VsctlOptions } from "../ovsdb/vsctl.ts";
import { registerCommands } from "./commands/index.ts";
import { HostEngine, type EngineOptions } from "./engine.ts";

export type Tool = "vsctl" | "ofctl" | "appctl";

export interface HostOptions extends Omit<EngineOptions, "db" | "log"> {
  /** The database (default: a new, empty one). */
  db?: Db;
  /** The appctl command table: the daemon's Unixctl, or an in-process CommandTable (default). */
  commands: CommandTable;
  /** How vsctl behaves here (the daemon waits for its commits and names its log directory). */
  vsctl?: VsctlOptions;
  log?(line: string): void;
}

export class Host {
  readonly db: Db;
  readonly commands: CommandTable;
  readonly engine: HostEngine;

  constructor(private readonly opts: HostOptions) {
    this.db = opts.db ?? new Db();
    this.commands = opts.commands;
    const log = opts.log ?? (() => {});
    this.engine = new HostEngine({ ...opts, db: this.db, log });
    registerCommands(this.engine, this.commands);
    this.db.onCommit(() => this.engine.reconfigure());
  }

  /** One invocation of a tool, argv as typed after its name; captures are flushed after it. */
  async exec(tool: Tool, argv: string[], io: CommandIo): Promise<CommandResult> {
    try {
      switch (tool) {
        case "vsctl":
          return runVsctl(this.db, argv, io, this.opts.vsctl);
        case "ofctl":
          return this.engine.ofctl(argv, io);
        case "appctl":
          return await this.commands.run(argv, io);
      }
    } finally {
      this.engine.flush();
    }
  }
}

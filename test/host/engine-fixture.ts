// An engine on a database view built by hand (no vsctl), with every appctl command registered in
// an in-process table, as a Host would register them (src/host/host.ts).
import { CommandTable } from "../../src/ctl/registry.ts";
import { HostEngine, type EngineOptions } from "../../src/host/engine.ts";
import { registerCommands } from "../../src/host/commands/index.ts";
import type { ConfigSource } from "../../src/ovsdb/config.ts";

export function engineWithCommands(
  db: ConfigSource,
  opts: Partial<Omit<EngineOptions, "db">> = {},
): { e: HostEngine; cmds: CommandTable } {
  const cmds = new CommandTable();
  const e = new HostEngine({ log: () => {}, ...opts, db });
  registerCommands(e, cmds);
  return { e, cmds };
}

// The daemon's command table and `offload-emu appctl`'s behaviour around it, as Open vSwitch's
// lib/unixctl.c (server) and utilities/ovs-appctl.c (client) behave together: the same argument
// checks, messages, output layout of list-commands, exit statuses (1: the client could not ask;
// 2: the server returned an error) and trailing-newline rule.
//
// It implements the engine's CommandRegistry (src/ctl/registry.ts), so the engine registers its
// commands here exactly as on the in-process LocalCommands; a handler fails with UnixctlError (a
// CommandError), whose message is printed on stderr followed by ovs-appctl's
// "TARGET: server returned an error".

import { CommandError, type CommandHandler, type CommandRegistry } from "./registry.ts";
import type { CommandIo, CommandResult } from "../ctl/registry.ts";

export class UnixctlError extends CommandError {}

/** What `appctl version` prints; OVS scripts take the last word as the version. */
export const VERSION_TEXT = "offload-emu (Open vSwitch compatible) 3.1.0";

const PROG = "offload-emu appctl";

interface Entry {
  usage: string;
  min: number;
  max: number;
  handler: CommandHandler;
}

/** unixctl_command_reply: a non-empty body always ends with a newline. */
const body = (s: string): string => (s === "" || s.endsWith("\n") ? s : `${s}\n`);

export class Unixctl implements CommandRegistry {
  private readonly commands = new Map<string, Entry>();

  /** `target` names the server in "server returned an error" when -t is not given. */
  constructor(readonly target: string) {
    this.register("list-commands", "", 0, 0, () => this.listCommands());
    this.register("version", "", 0, 0, () => VERSION_TEXT);
  }

  register(name: string, usage: string, minArgs: number, maxArgs: number, handler: CommandHandler): void {
    this.commands.set(name, { usage, min: minArgs, max: maxArgs, handler });
  }

  has(name: string): boolean {
    return this.commands.has(name);
  }

  /** lib/unixctl.c's list-commands: sorted, name padded to 23 columns, then the usage. */
  listCommands(): string {
    const names = [...this.commands.keys()].sort();
    return `The available commands are:\n${names.map((n) => `  ${n.padEnd(23)} ${(this.commands.get(n) as Entry).usage}\n`).join("")}`;
  }

  /** One `appctl` invocation: argv as the user typed it after `appctl`, options included. */
  async run(argv: readonly string[], io: CommandIo): Promise<CommandResult> {
    let target = this.target;
    const words: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i] as string;
      if (words.length > 0) {
        words.push(a);
        continue;
      } // options only before the command
      if (a === "-t" || a === "--target") {
        if (i + 1 >= argv.length) {
          return this.usageError(
            a === "-t" ? "option requires an argument -- 't'" : `option '${a}' requires an argument`,
          );
        }
        target = argv[++i] as string;
      } else if (a.startsWith("--target=")) target = a.slice("--target=".length);
      else if (a === "-T" || a === "--timeout")
        i++; // one local daemon answers at once
      else if (a.startsWith("--timeout=")) {
        /* accepted, as above */
      } else if (a.startsWith("-") && a !== "-") return this.usageError(`unrecognized option '${a}'`);
      else words.push(a);
    }
    const [name, ...args] = words;
    if (name === undefined)
      return this.usageError("at least one non-option argument is required (use --help for help)");
    const serverError = (msg: string): CommandResult => ({
      code: 2,
      stdout: "",
      stderr: `${body(msg)}${PROG}: ${target}: server returned an error\n`,
    });
    const c = this.commands.get(name);
    if (!c)
      return serverError(`"${name}" is not a valid command (use "list-commands" to see a list of valid commands)`);
    if (args.length < c.min) return serverError(`"${name}" command requires at least ${c.min} arguments`);
    if (args.length > c.max) return serverError(`"${name}" command takes at most ${c.max} arguments`);
    try {
      return { code: 0, stdout: body(await c.handler(args, io)), stderr: "" };
    } catch (e) {
      if (e instanceof CommandError) return serverError(e.message);
      throw e;
    }
  }

  private usageError(msg: string): CommandResult {
    return { code: 1, stdout: "", stderr: `${PROG}: ${msg}\n` };
  }
}

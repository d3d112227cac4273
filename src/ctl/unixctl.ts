// The daemon's command table and `offload-emu appctl`'s behaviour around it, as Open vSwitch's
// lib/unixctl.c (server) and utilities/ovs-appctl.c (client) behave together: the same argument
// checks, messages, output layout of list-commands, exit statuses (1: the client could not ask;
// 2: the server returned an error) and trailing-newline rule.
//
// It is the one command table of registry.ts with ovs-appctl's front end: the host registers its
// commands here exactly as on an in-process table; a handler fails with UnixctlError (a
// CommandError), whose message is printed on stderr followed by ovs-appctl's
// "TARGET: server returned an error".

import { CommandError, CommandTable, replyBody, type CommandIo, type CommandResult } from "./registry.ts";

export class UnixctlError extends CommandError {}

/** What `appctl version` prints; OVS scripts take the last word as the version. */
export const VERSION_TEXT = "offload-emu (Open vSwitch compatible) 3.1.0";

const PROG = "offload-emu appctl";

/**
 * The daemon's command table: the same table, run as ovs-appctl runs it (options before the
 * command, "server returned an error" after a failure, exit 1 when the client could not ask).
 */
export class Unixctl extends CommandTable {
  /** `target` names the server in "server returned an error" when -t is not given. */
  constructor(readonly target: string) {
    super();
    this.register("list-commands", "", 0, 0, () => this.listCommands());
    this.register("version", "", 0, 0, () => VERSION_TEXT);
  }

  /** One `appctl` invocation: argv as the user typed it after `appctl`, options included. */
  override async run(argv: readonly string[], io: CommandIo): Promise<CommandResult> {
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
    const r = await this.call(name, args, io);
    if (r.ok) return { code: 0, stdout: r.body, stderr: "" };
    return { code: 2, stdout: "", stderr: `${replyBody(r.error)}${PROG}: ${target}: server returned an error\n` };
  }

  private usageError(msg: string): CommandResult {
    return { code: 1, stdout: "", stderr: `${PROG}: ${msg}\n` };
  }
}

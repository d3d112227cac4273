// The control-command contract and the one command table (OVS's unixctl_command_register):
// every appctl command is registered once, here, with its usage and argument counts. The daemon
// serves the table through Unixctl (unixctl.ts, ovs-appctl's options and messages around it); an
// in-process run (scenarios, tests) calls run() directly. A handler throws CommandError for a
// failure the user should read; ovs-appctl prints that text on stderr and exits 2.

/** What a control command returns to its client: ovs-* tools' stdout, stderr and exit status. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A control command's view of its caller: relative paths are the caller's. */
export interface CommandIo {
  cwd: string;
  stdin?: string;
}

export class CommandError extends Error {
  override readonly name = "CommandError";
}

/** A handler's way out with a message for the user: ovs-appctl prints it and exits 2. */
export function fail(msg: string): never {
  throw new CommandError(msg);
}

export type CommandHandler = (args: string[], io: CommandIo) => string | Promise<string>;

export interface CommandRegistry {
  register(name: string, usage: string, minArgs: number, maxArgs: number, handler: CommandHandler): void;
}

interface Entry {
  usage: string;
  min: number;
  max: number;
  handler: CommandHandler;
}

/** unixctl_command_reply: a non-empty body always ends with a newline. */
export const replyBody = (s: string): string => (s === "" || s.endsWith("\n") ? s : `${s}\n`);

/** What one command gave: its reply body, or the error text the server returns. */
export type CallResult = { ok: true; body: string } | { ok: false; error: string };

/** The command table, with lib/unixctl.c's argument checks and error texts. */
export class CommandTable implements CommandRegistry {
  private readonly commands = new Map<string, Entry>();

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

  /** Runs `name` with `args` after the argument checks; an exception other than CommandError is a bug and propagates. */
  async call(name: string, args: string[], io: CommandIo): Promise<CallResult> {
    const c = this.commands.get(name);
    if (!c)
      return {
        ok: false,
        error: `"${name}" is not a valid command (use "list-commands" to see a list of valid commands)`,
      };
    if (args.length < c.min) return { ok: false, error: `"${name}" command requires at least ${c.min} arguments` };
    if (args.length > c.max) return { ok: false, error: `"${name}" command takes at most ${c.max} arguments` };
    try {
      return { ok: true, body: replyBody(await c.handler(args, io)) };
    } catch (e) {
      if (e instanceof CommandError) return { ok: false, error: e.message };
      throw e;
    }
  }

  /** One in-process invocation: argv is the command and its arguments, no ovs-appctl options. */
  async run(argv: readonly string[], io: CommandIo = { cwd: process.cwd() }): Promise<CommandResult> {
    const [name, ...args] = argv;
    const r = await this.call(name ?? "", args, io);
    return r.ok ? { code: 0, stdout: r.body, stderr: "" } : { code: 2, stdout: "", stderr: `${r.error}\n` };
  }
}

// The engine's command table (OVS's unixctl_command_register): the daemon serves it over its
// control socket, and an in-process run (scenarios, tests) calls it directly through
// LocalCommands. A handler throws CommandError for a failure the user should read; ovs-appctl
// prints that text on stderr and exits 2.

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

/** A command table run in-process, with ovs-appctl's argument checks and exit codes. */
export class LocalCommands implements CommandRegistry {
  readonly commands = new Map<string, Entry>();

  register(name: string, usage: string, minArgs: number, maxArgs: number, handler: CommandHandler): void {
    this.commands.set(name, { usage, min: minArgs, max: maxArgs, handler });
  }

  async run(argv: readonly string[], io: CommandIo = { cwd: process.cwd() }): Promise<CommandResult> {
    const [name, ...args] = argv;
    const c = name === undefined ? undefined : this.commands.get(name);
    if (name === undefined || c === undefined) {
      return {
        code: 2,
        stdout: "",
        stderr: `"${name ?? ""}" is not a valid command (use "list-commands" to see a list of valid commands)\n`,
      };
    }
    if (args.length < c.min)
      return { code: 2, stdout: "", stderr: `"${name}" command requires at least ${c.min} arguments\n` };
    if (args.length > c.max)
      return { code: 2, stdout: "", stderr: `"${name}" command takes at most ${c.max} arguments\n` };
    try {
      const out = await c.handler(args, io);
      return { code: 0, stdout: out === "" || out.endsWith("\n") ? out : `${out}\n`, stderr: "" };
    } catch (e) {
      if (e instanceof CommandError) return { code: 2, stdout: "", stderr: `${e.message}\n` };
      throw e;
    }
  }
}

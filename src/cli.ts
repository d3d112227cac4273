// The `offload-emu` command line: one subcommand per job, each in its own module, loaded only when
// asked for so that `offload-emu decode` does not pay for the emulator's start-up.

interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  decode: {
    summary: "decode FILE [--json]            print each packet of a pcap/pcapng file",
    run: async (argv) => (await import("./cmd/decode.ts")).main(argv),
  },
  build: {
    summary: "build SPEC --out FILE           build packets from a JSON/YAML description",
    run: async (argv) => (await import("./cmd/build.ts")).main(argv),
  },
  demo: {
    summary: "demo [--out DIR]                 the built-in default run (what `npm start` does)",
    run: async (argv) => (await import("./cmd/demo.ts")).main(argv),
  },
};

function usage(): string {
  return [
    "usage: offload-emu COMMAND [ARGS]",
    "",
    ...Object.values(COMMANDS).map((c) => `  ${c.summary}`),
    "",
    "Run `offload-emu COMMAND --help` for a command's options.",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`offload-emu: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    console.error(`offload-emu: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);

// The `offload-emu` command line: one subcommand per job, each in its own module, loaded only when
// asked for so that `offload-emu decode` does not pay for the emulator's start-up.

import { fileURLToPath } from "node:url";

/** The program, for re-running itself (start --detach). */
const BIN = fileURLToPath(new URL("../bin/offload-emu.js", import.meta.url));

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
  start: {
    summary: "start [--rundir DIR] [--detach]  run the emulated host (control socket in DIR)",
    run: async (argv) => (await import("./cmd/start.ts")).main(argv, [BIN, "start"]),
  },
  vsctl: {
    summary: "vsctl ARGS...                   configure it, as ovs-vsctl",
    run: async (argv) => (await import("./cmd/ctl.ts")).main("vsctl", argv),
  },
  ofctl: {
    summary: "ofctl ARGS...                   OpenFlow tables, as ovs-ofctl",
    run: async (argv) => (await import("./cmd/ctl.ts")).main("ofctl", argv),
  },
  appctl: {
    summary: "appctl COMMAND [ARGS...]        ask the daemon, as ovs-appctl (list-commands)",
    run: async (argv) => (await import("./cmd/ctl.ts")).main("appctl", argv),
  },
  run: {
    summary: "run [SCENARIO.yaml] [--out DIR]  run a scenario (default: the built-in one `npm start` runs)",
    run: async (argv) => (await import("./cmd/run.ts")).main(argv),
  },
  demo: {
    summary: "demo [--out DIR]                 parse and write packets: a tour of the wire formats",
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
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`offload-emu: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);

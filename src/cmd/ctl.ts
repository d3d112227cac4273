// `offload-emu vsctl|ofctl|appctl ARGS...`: the clients. Each finds the daemon through the run
// directory (src/daemon/rundir.ts), sends its arguments, working directory and (only when an
// argument is exactly "-") its standard input, prints what comes back and exits with its status,
// so a script written for ovs-vsctl, ovs-ofctl and ovs-appctl runs with only the names changed.

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConnectError, request, type Tool } from "../daemon/client.ts";
import { runPaths, takeRundir } from "../daemon/rundir.ts";

export async function main(tool: Tool, argv: string[]): Promise<number> {
  const { dir, rest } = takeRundir(argv);
  const sock = runPaths(dir).socket;
  const stdin = rest.includes("-") ? readFileSync(0, "utf8") : undefined;
  try {
    const r = await request(sock, { tool, argv: rest, cwd: process.cwd(), ...(stdin !== undefined ? { stdin } : {}) });
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    return r.code;
  } catch (e) {
    if (e instanceof ConnectError) {
      process.stderr.write(
        `offload-emu ${tool}: cannot connect to ${sock} (start it with offload-emu start --detach)\n`,
      );
    } else {
      process.stderr.write(`offload-emu ${tool}: ${(e as Error).message}\n`);
    }
    return 1;
  }
}

// Run directly (`tsx src/cmd/ctl.ts vsctl ARGS`), as the tests do.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [tool, ...args] = process.argv.slice(2);
  if (tool !== "vsctl" && tool !== "ofctl" && tool !== "appctl") {
    process.stderr.write("usage: ctl.ts vsctl|ofctl|appctl ARGS...\n");
    process.exitCode = 2;
  } else {
    main(tool, args).then((c) => {
      process.exitCode = c;
    });
  }
}

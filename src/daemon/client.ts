// The client side of the control protocol: one JSON request per line, {tool, argv, cwd, stdin?},
// answered by one JSON line {code, stdout, stderr}. Used by the vsctl/ofctl/appctl subcommands
// (src/cmd/ctl.ts), `start --detach` (to see the daemon answer) and the tests.

import { createConnection } from "node:net";
import type { CommandResult } from "../ctl/registry.ts";

export type Tool = "vsctl" | "ofctl" | "appctl";

export interface Request {
  tool: Tool;
  argv: string[];
  cwd: string;
  stdin?: string;
}

/** Thrown when nothing answers on the socket (no daemon, a stale socket, a dead daemon). */
export class ConnectError extends Error {
  override readonly name = "ConnectError";
}

export function request(socketPath: string, req: Request, timeoutMs = 60_000): Promise<CommandResult> {
  return new Promise((res, rej) => {
    const s = createConnection(socketPath);
    let buf = "";
    let connected = false;
    const timer = setTimeout(() => {
      s.destroy();
      rej(new Error(`${socketPath}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.setEncoding("utf8");
    s.once("connect", () => {
      connected = true;
      s.write(`${JSON.stringify(req)}\n`);
    });
    s.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      s.end();
      try {
        res(JSON.parse(buf.slice(0, nl)) as CommandResult);
      } catch (e) {
        rej(new Error(`${socketPath}: bad reply: ${(e as Error).message}`));
      }
    });
    s.once("error", (e) => {
      clearTimeout(timer);
      rej(connected ? e : new ConnectError(e.message));
    });
    s.once("close", () => {
      clearTimeout(timer);
      rej(new Error(`${socketPath}: the daemon closed the connection without answering`));
    });
  });
}

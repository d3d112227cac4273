// The daemon (src/daemon/server.ts) and its clients. First in-process, over the real UNIX socket
// with the real engine; then end to end as separate programs: `start --detach`, the vsctl and
// appctl clients, `appctl exit`, a refused second start, a stale socket after kill -9.
// Expected vsctl/appctl texts are Open vSwitch 3.1's (ovs-vsctl show, ovs-appctl list-commands,
// ovs-appctl errors on ../shared/tools/ovs-oracle.sh), as in test/cmd/vsctl.test.ts and
// test/ctl/unixctl.test.ts; the rest (messages about the run directory) are ours.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { request } from "../../src/daemon/client.ts";
import { runPaths } from "../../src/daemon/rundir.ts";
import { DaemonError, Server } from "../../src/daemon/server.ts";

const root = mkdtempSync(join(tmpdir(), "emu-srv-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("Server in-process", () => {
  const dir = join(root, "a");
  const sock = runPaths(dir).socket;
  const ask = (tool: "vsctl" | "ofctl" | "appctl", ...argv: string[]) => request(sock, { tool, argv, cwd: dir });

  it("serves vsctl, ofctl and appctl, refuses a second daemon, and exit leaves the directory clean", async () => {
    const s = await Server.start({ rundir: dir });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(runPaths(dir).pid, "utf8")).toBe(`${process.pid}\n`);
    await expect(Server.start({ rundir: dir })).rejects.toThrowError(DaemonError);
    await expect(Server.start({ rundir: dir })).rejects.toThrowError(/already running in .*\(pid \d+\)/);

    expect(await ask("vsctl", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy")).toEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
    expect(
      await ask("vsctl", "add-port", "br0", "p1", "--", "set", "Interface", "p1", "type=dummy", "ofport_request=5"),
    ).toEqual({ code: 0, stdout: "", stderr: "" });
    // ovs-vsctl get Interface p1 ofport printed 5 right after that add-port (OVS 3.1).
    expect((await ask("vsctl", "get", "Interface", "p1", "ofport")).stdout).toBe("5\n");
    const show = await ask("vsctl", "show");
    expect(show.stdout).toBe(`${s.db.root.uuid}
    Bridge br0
        datapath_type: dummy
        Port br0
            Interface br0
                type: internal
        Port p1
            Interface p1
                type: dummy
    ovs_version: "3.1.0"
`);
    expect(JSON.parse(readFileSync(runPaths(dir).db, "utf8")).root.bridges[0].name).toBe("br0"); // saved on commit
    expect((await ask("ofctl", "add-flow", "br0", "actions=drop")).code).toBe(0);
    expect((await ask("appctl", "list-commands")).stdout).toMatch(/\n {2}exit {20}\[--cleanup\]\n/);
    expect(await ask("appctl", "frob")).toEqual({
      code: 2,
      stdout: "",
      stderr: `"frob" is not a valid command (use "list-commands" to see a list of valid commands)\noffload-emu appctl: ${sock}: server returned an error\n`,
    });

    expect(await ask("appctl", "exit")).toEqual({ code: 0, stdout: "", stderr: "" });
    // Already gone when the answer arrives.
    expect(readdirSync(dir).sort()).toEqual(["conf.json", "offload-emu.log"]);
    await s.stopped;
  });

  it("answers malformed requests with what is wrong and where, and keeps serving (../shared/robustness)", async () => {
    const d = join(root, "bad");
    const s = await Server.start({ rundir: d });
    // The reproducer that used to end the process: an argument that is an object, not a string.
    const crash = readFileSync(
      resolve(import.meta.dirname, "../../../shared/robustness/daemon-crash-argv-object.jsonl"),
      "utf8",
    )
      .trim()
      .split("\n");
    const lines = [
      ...crash,
      "not json",
      "[]",
      '{"tool":"appctl","argv":"version","cwd":"/"}',
      '{"tool":"appctl","argv":["version",7],"cwd":"/"}',
      '{"tool":"appctl","argv":["version"],"cwd":"/","stdin":{}}',
      '{"tool":"appctl","argv":["version"],"cwd":"/"}',
    ];
    const replies = await rawLines(runPaths(d).socket, lines);
    expect(replies.slice(0, crash.length)).toEqual(
      crash.map(() => ({
        code: 1,
        stdout: "",
        stderr: 'offload-emu: bad request: argv[0]: expected a string, found {"toString":1}\n',
      })),
    );
    expect(replies.slice(crash.length).map((r) => r.stderr)).toEqual([
      expect.stringMatching(/^offload-emu: bad request: Unexpected token/),
      "offload-emu: bad request: expected a JSON object\n",
      "offload-emu: bad request: argv: expected an array of strings\n",
      "offload-emu: bad request: argv[1]: expected a string, found 7\n",
      "offload-emu: bad request: stdin: expected a string\n",
      "",
    ]);
    expect(replies.at(-1)?.stdout).toMatch(/^offload-emu \(Open vSwitch compatible\) 3\.1\.0\n$/);
    expect(s.badRequests).toBe(crash.length + 5);
    // Still serving other clients.
    expect((await request(runPaths(d).socket, { tool: "appctl", argv: ["version"], cwd: d })).code).toBe(0);
    await s.shutdown();
  });

  it("starts again from conf.json", async () => {
    const s = await Server.start({ rundir: dir });
    expect((await ask("vsctl", "list-ports", "br0")).stdout).toBe("p1\n");
    expect((await ask("vsctl", "get", "Interface", "p1", "ofport")).stdout).toBe("5\n");
    await s.shutdown();
    expect(existsSync(sock)).toBe(false);
  });

  it("counts anything answering on the socket as a live daemon", async () => {
    // (A socket file nobody answers on, as kill -9 leaves it, is tested with real processes below.)
    const d = join(root, "b");
    await Server.start({ rundir: d }).then((s) => s.shutdown()); // make the directory
    const other = createServer();
    await new Promise<void>((r) => other.listen(runPaths(d).socket, r));
    await expect(Server.start({ rundir: d })).rejects.toThrowError(/already running/);
    await new Promise<void>((r) => other.close(() => r()));
  });

  it("says why a run directory's socket path cannot work", async () => {
    await expect(Server.start({ rundir: join(root, "x".repeat(120)) })).rejects.toThrowError(
      /too long for a UNIX socket/,
    );
  });
});

describe("start --detach and the clients, as programs", () => {
  const TSX = resolve(import.meta.dirname, "../../node_modules/.bin/tsx");
  const START = resolve(import.meta.dirname, "../../src/cmd/start.ts");
  const CTL = resolve(import.meta.dirname, "../../src/cmd/ctl.ts");
  const dir = join(root, "c");
  const env = { ...process.env, OFFLOAD_EMU_RUNDIR: dir };
  const run = async (file: string, ...args: string[]) => {
    try {
      const r = await promisify(execFile)(TSX, [file, ...args], { cwd: root, env });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, stdout: x.stdout, stderr: x.stderr };
    }
  };
  const paths = runPaths(dir);

  it("runs a whole session: start, configure, refuse a second start, exit, restart over a stale socket", async () => {
    expect(await run(CTL, "vsctl", "show")).toEqual({
      code: 1,
      stdout: "",
      stderr: `offload-emu vsctl: cannot connect to ${paths.socket} (start it with offload-emu start --detach)\n`,
    });
    expect(await run(START, "--detach")).toMatchObject({ code: 0, stderr: "" });
    expect(existsSync(paths.pid)).toBe(true);
    const again = await run(START, "--detach", "--rundir", dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /^offload-emu start: a daemon is already running in .*\(pid \d+\); stop it with: offload-emu appctl --rundir .* exit\n$/,
    );

    expect(
      await run(
        CTL,
        "vsctl",
        "add-br",
        "br0",
        "--",
        "add-port",
        "br0",
        "p1",
        "--",
        "set",
        "Interface",
        "p1",
        "type=dummy",
      ),
    ).toEqual({ code: 0, stdout: "", stderr: "" });
    expect((await run(CTL, "vsctl", "--rundir", dir, "list-ports", "br0")).stdout).toBe("p1\n");
    expect((await run(CTL, "appctl", "list-commands")).stdout).toContain("\n  version                 \n");

    expect(await run(CTL, "appctl", "exit")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(existsSync(paths.socket)).toBe(false);
    expect(existsSync(paths.pid)).toBe(false);

    // kill -9 leaves the socket and pid file behind; the next start takes the directory over.
    expect((await run(START, "--detach")).code).toBe(0);
    process.kill(Number(readFileSync(paths.pid, "utf8")), "SIGKILL");
    await new Promise((r) => setTimeout(r, 200));
    expect(existsSync(paths.socket)).toBe(true);
    expect(await run(START, "--detach")).toMatchObject({ code: 0, stderr: "" });
    expect((await run(CTL, "vsctl", "list-br")).stdout).toBe("br0\n"); // conf.json survived
    expect((await run(CTL, "appctl", "exit")).code).toBe(0);
    expect(existsSync(paths.socket)).toBe(false);
  }, 60_000);
});

/** Sends raw lines on the control socket, one after another, and collects one reply per line. */
function rawLines(sock: string, lines: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }[]> {
  return new Promise((res, rej) => {
    const c = createConnection(sock);
    const got: { code: number; stdout: string; stderr: string }[] = [];
    let buf = "";
    c.setEncoding("utf8");
    c.on("connect", () => c.write(lines.map((l) => `${l}\n`).join("")));
    c.on("data", (d: string) => {
      buf += d;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        got.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
      if (got.length === lines.length) {
        c.end();
        res(got);
      }
    });
    c.on("error", rej);
  });
}

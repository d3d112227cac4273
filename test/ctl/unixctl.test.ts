// The appctl command table (src/ctl/unixctl.ts) against what ovs-appctl 3.1 printed talking to
// ovs-vswitchd on a private userspace OVS (../shared/tools/ovs-oracle.sh), for the commands quoted
// with each case; OVS's target name `ovs-vswitchd` and program name `ovs-appctl` are ours here.
import { describe, expect, it } from "vitest";
import { Unixctl, UnixctlError, VERSION_TEXT } from "../../src/ctl/unixctl.ts";
import { CommandError } from "../../src/ctl/registry.ts";

const IO = { cwd: "/" };
const TARGET = "/run/emu/offload-emu.ctl";
const RETURNED = `offload-emu appctl: ${TARGET}: server returned an error\n`;

function table(): Unixctl {
  const u = new Unixctl(TARGET);
  u.register("time/warp", "[large_msecs] msecs", 1, 2, (args) => `warped ${args.join(" ")}`);
  u.register("exit", "[--cleanup]", 0, 1, () => "");
  u.register(
    "ofproto/trace",
    "{[dp_name] odp_flow | bridge br_flow} [OPTIONS...] [-generate|packet]",
    1,
    Infinity,
    (args) => {
      throw new UnixctlError(`${args[0]}: unknown bridge`);
    },
  );
  u.register("engine/fail", "", 0, 0, () => {
    throw new CommandError("from the engine's own error class");
  });
  u.register("echo/stdin", "-", 1, 1, (_a, io) => io.stdin ?? "");
  return u;
}

describe("Unixctl", () => {
  it("lists commands as ovs-appctl list-commands does: sorted, name in 23 columns, usage", () => {
    // ovs-appctl list-commands | cat -A: "  list-commands           $", "  time/warp               [large_msecs] msecs$",
    // "  exit                    [--cleanup]$", "  dpctl/ct-disable-tcp-seq-chk [dp]$" (a name longer than 23).
    const u = table();
    u.register("dpctl/ct-disable-tcp-seq-chk", "[dp]", 0, 1, () => "");
    return expect(u.run(["list-commands"], IO)).resolves.toEqual({
      code: 0,
      stderr: "",
      stdout: [
        "The available commands are:",
        "  dpctl/ct-disable-tcp-seq-chk [dp]",
        "  echo/stdin              -",
        "  engine/fail             ",
        "  exit                    [--cleanup]",
        "  list-commands           ",
        "  ofproto/trace           {[dp_name] odp_flow | bridge br_flow} [OPTIONS...] [-generate|packet]",
        "  time/warp               [large_msecs] msecs",
        "  version                 ",
        "",
      ].join("\n"),
    });
  });

  it("answers version with OVS's layout and a final newline", async () => {
    // ovs-appctl version: "ovs-vswitchd (Open vSwitch) 3.1.0"; ours names itself (stated choice).
    expect(await table().run(["version"], IO)).toEqual({ code: 0, stdout: `${VERSION_TEXT}\n`, stderr: "" });
    expect(VERSION_TEXT.split(" ").pop()).toBe("3.1.0");
  });

  it.each([
    [["frob"], '"frob" is not a valid command (use "list-commands" to see a list of valid commands)'],
    [["version", "extra"], '"version" command takes at most 0 arguments'],
    [["list-commands", "extra"], '"list-commands" command takes at most 0 arguments'],
    [["time/warp"], '"time/warp" command requires at least 1 arguments'],
    [["version", "-"], '"version" command takes at most 0 arguments'],
    [["ofproto/trace", "nobr", "in_port=1"], "nobr: unknown bridge"],
  ])("%j fails on the server side: message, then server returned an error, status 2", async (argv, msg) => {
    expect(await table().run(argv, IO)).toEqual({ code: 2, stdout: "", stderr: `${msg}\n${RETURNED}` });
  });

  it("treats the engine's CommandError like UnixctlError", async () => {
    expect(await table().run(["engine/fail"], IO)).toEqual({
      code: 2,
      stdout: "",
      stderr: `from the engine's own error class\n${RETURNED}`,
    });
  });

  it.each([
    [[], "at least one non-option argument is required (use --help for help)"],
    [["-t"], "option requires an argument -- 't'"],
    [["--bogus", "version"], "unrecognized option '--bogus'"],
  ])("%j fails on the client side with status 1", async (argv, msg) => {
    expect(await table().run(argv, IO)).toEqual({ code: 1, stdout: "", stderr: `offload-emu appctl: ${msg}\n` });
  });

  it("accepts -t/--target and --timeout as ovs-appctl does, naming -t's target in errors", async () => {
    const u = table();
    for (const argv of [
      ["-t", "ovs-vswitchd", "version"],
      ["--target=ovs-vswitchd", "version"],
      ["--timeout=5", "version"],
      ["-T", "5", "version"],
    ]) {
      expect((await u.run(argv, IO)).stdout).toBe(`${VERSION_TEXT}\n`);
    }
    expect((await u.run(["-t", "ovs-vswitchd", "frob"], IO)).stderr).toContain(
      "offload-emu appctl: ovs-vswitchd: server returned an error\n",
    );
  });

  it("passes arguments after the command through, dashes included, and the caller's stdin", async () => {
    const u = table();
    expect(await u.run(["time/warp", "--", "5"], IO)).toEqual({ code: 0, stdout: "warped -- 5\n", stderr: "" });
    expect(await u.run(["echo/stdin", "-"], { cwd: "/", stdin: "abc" })).toEqual({
      code: 0,
      stdout: "abc\n",
      stderr: "",
    });
    expect(await u.run(["exit"], IO)).toEqual({ code: 0, stdout: "", stderr: "" });
  });
});

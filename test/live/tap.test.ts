// TAP ports end to end, through the real program: a daemon with hw-offload=true, an uplink with
// two VFs whose far sides (options:backend=tap) are TAP devices, each moved into its own network
// namespace with an address. ping and a TCP transfer between the namespaces go through the
// emulated eSwitch; the flows end up on the NIC; the port capture holds the ICMP.
//
// Expected values: what the kernels in the two namespaces do (ping's replies, the bytes the TCP
// server counted), iputils ping's summary line, tshark 4.0's dissection of our capture, and the
// dpctl/dump-flows -m format of OVS 3.1 (offloaded:yes, dp:...). Needs root, /dev/net/tun, the
// TAP addon, ip and ping (live-helpers.ts: skipped with the reason, but failing under CI).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { requireTool } from "../helpers.ts";
import { addNamespace, assertLive, daemon, deleteNamespaces, inNs, nsName, plug, requireLive } from "./live-helpers.ts";

const TCP_BYTES = 300_000;

/** The bytes the client sends: i * 7 mod 251, so a reordered or lost segment changes the hash. */
const CLIENT = `const n=${TCP_BYTES},b=Buffer.alloc(n);for(let i=0;i<n;i++)b[i]=(i*7)%251;
const s=require("net").connect(5001,"10.77.0.2",()=>{s.end(b)});let r="";s.on("data",d=>r+=d);s.on("end",()=>{process.stdout.write(r)});
setTimeout(()=>{console.error("timeout");process.exit(2)},20000).unref();`;
const SERVER = `const h=require("crypto").createHash("sha256");let n=0;const srv=require("net").createServer(c=>{c.on("data",d=>{n+=d.length;h.update(d)});
c.on("end",()=>{c.end(n+" "+h.digest("hex"));srv.close()})}).listen(5001,"10.77.0.2",()=>console.log("ready"));
setTimeout(()=>process.exit(3),25000).unref();`;

describe.runIf(requireLive("TAP port tests", { tap: true }))(
  "tap ports behind VF representors, in two namespaces",
  () => {
    const { dir, e } = daemon("emu-tap-");
    const nsA = nsName("ta");
    const nsB = nsName("tb");
    const tapA = `oet${process.pid % 100000}a`;
    const tapB = `oet${process.pid % 100000}b`;
    const pcap = join(dir, "vm1.pcapng");
    let t0 = 0;

    beforeAll(async () => {
      assertLive({ tap: true });
      t0 = Date.now();
      expect((await e("start", "--detach")).code).toBe(0);
      const r = await e(
        "vsctl",
        "add-br",
        "br0",
        "--",
        "add-port",
        "br0",
        "pf0",
        "--",
        "set",
        "Interface",
        "pf0",
        "type=uplink",
        "options:n_vfs=2",
        "ofport_request=10",
        "--",
        "add-port",
        "br0",
        "vm1",
        "--",
        "set",
        "Interface",
        "vm1",
        "type=vf",
        "options:pf=pf0",
        "options:vf=0",
        "options:backend=tap",
        `options:ifname=${tapA}`,
        `options:pcap=${pcap}`,
        "ofport_request=1",
        "--",
        "add-port",
        "br0",
        "vm2",
        "--",
        "set",
        "Interface",
        "vm2",
        "type=vf",
        "options:pf=pf0",
        "options:vf=1",
        "options:backend=tap",
        `options:ifname=${tapB}`,
        "ofport_request=2",
        "--",
        "set",
        "Open_vSwitch",
        ".",
        "other_config:hw-offload=true",
      );
      expect(r).toMatchObject({ code: 0, stderr: "" });
      addNamespace(nsA);
      addNamespace(nsB);
      plug(tapA, nsA, "10.77.0.1/24");
      plug(tapB, nsB, "10.77.0.2/24");
    }, 60_000);

    afterAll(async () => {
      await e("appctl", "exit");
      deleteNamespaces();
    });

    it("pings from one namespace to the other", async () => {
      const r = await inNs(nsA, "ping", ["-c", "3", "-i", "0.2", "-W", "2", "10.77.0.2"]);
      expect(r.stdout).toContain("3 packets transmitted, 3 received, 0% packet loss");
    }, 30_000);

    it("carries a TCP transfer and its reply intact", async () => {
      const server = inNs(nsB, process.execPath, ["-e", SERVER]);
      await new Promise((res) => setTimeout(res, 500)); // the server prints "ready" once listening
      const client = await inNs(nsA, process.execPath, ["-e", CLIENT]);
      const srv = await server;
      expect(srv.stdout).toBe("ready\n");
      const want = Buffer.alloc(TCP_BYTES);
      for (let i = 0; i < TCP_BYTES; i++) want[i] = (i * 7) % 251;
      expect(client.stdout).toBe(`${TCP_BYTES} ${createHash("sha256").update(want).digest("hex")}`);
    }, 60_000);

    it("has the ICMP and TCP flows offloaded to the NIC", async () => {
      const dump = (await e("appctl", "dpctl/dump-flows", "-m")).stdout.split("\n");
      // NORMAL learns MACs only, so one megaflow per direction carries both ICMP and TCP (OVS 3.1
      // gives the same: ip protocol wildcarded, proto=1/0 shown from the first packet).
      const flows = dump.filter((l) => /in_port\(vm[12]\)/.test(l) && l.includes("eth_type(0x0800)"));
      expect(flows.length).toBe(2);
      for (const l of flows) {
        expect(l).toMatch(/offloaded:yes, dp:nic, actions:vm[12]$/);
        expect(Number(/packets:(\d+)/.exec(l)?.[1])).toBeGreaterThan(TCP_BYTES / 65536);
      }
      const live = (await e("appctl", "live/show")).stdout;
      expect(live).toContain(`vm1: tap ${tapA}\n`);
      expect(live).toMatch(/vm2: tap .*\n {2}rx [1-9]\d* frames/);
    });

    it.runIf(requireTool("tshark"))("captures the ICMP with real timestamps (tshark)", async () => {
      await e("appctl", "version"); // any command flushes the captures
      const out = execFileSync(
        "tshark",
        [
          "-r",
          pcap,
          "-Y",
          "icmp",
          "-T",
          "fields",
          "-e",
          "frame.time_epoch",
          "-e",
          "ip.src",
          "-e",
          "ip.dst",
          "-e",
          "icmp.type",
        ],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
      );
      const rows = out
        .trim()
        .split("\n")
        .map((l) => l.split("\t"));
      expect(rows.filter((r) => r[1] === "10.77.0.1" && r[2] === "10.77.0.2" && r[3] === "8").length).toBe(3);
      expect(rows.filter((r) => r[1] === "10.77.0.2" && r[2] === "10.77.0.1" && r[3] === "0").length).toBe(3);
      for (const r of rows) {
        const ms = Number(r[0]) * 1000;
        expect(ms).toBeGreaterThanOrEqual(t0 - 1000);
        expect(ms).toBeLessThanOrEqual(Date.now() + 1000);
      }
    });

    it("reports a deleted device in the Interface error column and keeps the rest running", async () => {
      execFileSync("ip", ["-n", nsB, "link", "del", tapB]);
      let err = "";
      for (let i = 0; i < 50 && !err.includes("TAP device"); i++) {
        await new Promise((res) => setTimeout(res, 100));
        err = (await e("vsctl", "get", "Interface", "vm2", "error")).stdout;
      }
      expect(err).toMatch(new RegExp(`^"TAP device ${tapB}: read failed: .*; was the device deleted\\?"\\n$`));
      expect((await e("vsctl", "get", "Interface", "vm1", "error")).stdout).toBe("[]\n");
      const r = await inNs(nsA, "ping", ["-c", "1", "-W", "1", "10.77.0.1"]);
      expect(r.stdout).toContain("1 received");
    }, 30_000);
  },
);

describe("tap ports without the addon", () => {
  // Runs anywhere: the addon is turned off for this daemon, as when it was never built.
  it("gives the reason in the Interface error column while the rest of the switch works", async () => {
    const { e } = daemon("emu-tapx-", { OFFLOAD_EMU_NO_TAP: "1" });
    expect((await e("start", "--detach")).code).toBe(0);
    try {
      const r = await e(
        "vsctl",
        "add-br",
        "br0",
        "--",
        "add-port",
        "br0",
        "t1",
        "--",
        "set",
        "Interface",
        "t1",
        "type=tap",
        "--",
        "add-port",
        "br0",
        "p1",
        "--",
        "set",
        "Interface",
        "p1",
        "type=internal",
      );
      // ovs-vsctl 3.1 words a port that failed to open this way (see test/ctl/daemon.test.ts).
      expect(r.stderr).toContain(
        "offload-emu vsctl: Error detected while setting up 't1': could not open network device t1 (TAP addon disabled by OFFLOAD_EMU_NO_TAP).",
      );
      expect((await e("vsctl", "get", "Interface", "t1", "error")).stdout).toBe(
        '"could not open network device t1 (TAP addon disabled by OFFLOAD_EMU_NO_TAP)"\n',
      );
      expect((await e("vsctl", "get", "Interface", "p1", "ofport")).stdout).toBe("1\n");
    } finally {
      await e("appctl", "exit");
    }
  }, 30_000);
});

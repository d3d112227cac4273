// Scenario runs in-process: counts that follow from the traffic given (a constant 1 kpps for a
// second is 1000 packets), every packet in exactly one tier, the on/off pair, the timeline,
// links between hosts, replay of a public sample capture (packet count from tshark's dissection
// in ../shared/conformance), bad input stopped before running, determinism (same scenario and
// seed, same bytes), and the captures read by tshark with checksums verified by Wireshark.

import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ScenarioError, parseScenario } from "../../src/scenario/load.ts";
import { runScenario } from "../../src/scenario/run.ts";
import { formatJson } from "../../src/scenario/report.ts";
import type { Report, RunResult } from "../../src/scenario/result.ts";
import { requireTool } from "../helpers.ts";

const CONFORMANCE = resolve(__dirname, "../../../shared/conformance/captures");

const HOST = `setup:
  - vsctl add-br br0 -- set Bridge br0 datapath_type=netdev fail_mode=secure
  - vsctl add-port br0 pf0 -- set Interface pf0 type=uplink options:n_vfs=2 ofport_request=10
  - vsctl add-port br0 vm1 -- set Interface vm1 type=vf options:pf=pf0 options:vf=0 ofport_request=1
  - vsctl add-port br0 vm2 -- set Interface vm2 type=vf options:pf=pf0 options:vf=1 ofport_request=2
  - vsctl add-port br0 p3 -- set Interface p3 type=dummy ofport_request=3
  - ofctl add-flow br0 in_port=vm1,actions=output:vm2
  - ofctl add-flow br0 in_port=pf0,actions=output:p3
`;

const TRAFFIC = `traffic:
  - port: vm1
    rate: 1kpps
    flows: 10
    protocol: udp
`;

async function run(
  text: string,
  dir = mkdtempSync(join(tmpdir(), "oe-scn-")),
): Promise<{ report: Report; dir: string }> {
  const sc = parseScenario(text, "t.yaml");
  return { report: await runScenario(sc, { baseDir: CONFORMANCE, outDir: dir }), dir };
}

const tier = (r: RunResult, name: string): number => r.tiers.find((t) => t.tier === name)?.packets ?? -1;

function expectTiersAddUp(r: RunResult): void {
  expect(r.tiers.reduce((a, t) => a + t.packets, 0)).toBe(r.packets);
}

describe("scenario runs", () => {
  it("sends what the traffic says and counts every packet in one tier, with hw-offload on and off", async () => {
    const { report } = await run(`duration: 1s\nsample: 100ms\n${HOST}${TRAFFIC}`);
    expect(report.runs.map((r) => r.label)).toEqual(["hw-offload on", "hw-offload off"]);
    const [on, off] = report.runs as [RunResult, RunResult];
    // 1 kpps from t=0 for 1 s: packets at 0, 1, ..., 999 ms.
    expect(on.packets).toBe(1000);
    expect(off.packets).toBe(1000);
    expectTiersAddUp(on);
    expectTiersAddUp(off);
    // One megaflow (in_port only): its first packet is the upcall, the rest stay on the NIC.
    expect(tier(on, "upcall")).toBe(1);
    expect(tier(on, "nic-l1") + tier(on, "nic-l2")).toBe(999);
    expect(on.flows).toMatchObject({ offloaded: 1, software: 0 });
    expect(tier(off, "nic-l1") + tier(off, "nic-l2")).toBe(0);
    expect(tier(off, "upcall")).toBe(1);
    expect(tier(off, "dp-emc") + tier(off, "dp-megaflow")).toBe(999);
    expect(on.samples).toHaveLength(10);
    // Each 100 ms sample holds 100 packets: 1000 packets/s across the tiers.
    for (const s of on.samples) expect(s.tierPps.reduce((a, b) => a + b, 0)).toBeCloseTo(1000, 6);
  });

  it("is deterministic: the same scenario and seed give byte-identical captures and reports", async () => {
    const text = `duration: 500ms\n${HOST}traffic:\n  - port: vm1\n    rate: 2kpps\n    flows: 300\n    lifetime: 50ms\n    distribution: zipf\n    size: imix\n    protocol: tcp\n`;
    const a = await run(text);
    const b = await run(text);
    expect(formatJson(b.report).replaceAll(b.dir, "")).toBe(formatJson(a.report).replaceAll(a.dir, ""));
    for (const tag of ["hw-on", "hw-off"]) {
      const fa = readFileSync(join(a.dir, "captures", `t-${tag}.pcapng`));
      const fb = readFileSync(join(b.dir, "captures", `t-${tag}.pcapng`));
      expect(fa.length).toBeGreaterThan(1000);
      expect(fb.equals(fa)).toBe(true);
    }
    // Another seed, other traffic.
    const c = await run(text.replace("duration: 500ms", "duration: 500ms\nseed: 2"));
    expect(
      readFileSync(join(c.dir, "captures", "t-hw-on.pcapng")).equals(
        readFileSync(join(a.dir, "captures", "t-hw-on.pcapng")),
      ),
    ).toBe(false);
  });

  describe.runIf(requireTool("tshark"))("captures, read by tshark", () => {
    it("hold every port as an interface, the tier in each comment, and valid checksums", async () => {
      const text = `duration: 200ms\nruns: [on]\n${HOST}traffic:
  - port: vm1
    rate: 1kpps
    flows: 50
    lifetime: 20ms
    protocol: tcp
    size: [60, 333, 1514]
  - port: vm1
    rate: 500pps
    flows: 7
    protocol: udp
    vlan: 5
  - port: vm1
    rate: 200pps
    flows: 9
    protocol: icmp
    ip: { src: 10.9.0.0/29, dst: 10.8.0.0/30 }
`;
      const { dir, report } = await run(text);
      const file = join(dir, "captures", "t-hw-on.pcapng");
      const out = execFileSync(
        "tshark",
        [
          "-r",
          file,
          "-o",
          "ip.check_checksum:TRUE",
          "-o",
          "tcp.check_checksum:TRUE",
          "-o",
          "udp.check_checksum:TRUE",
          // Generated TCP segments are stateless (every packet of a flow carries seq 1): Wireshark's
          // sequence analysis would call them retransmissions, which says nothing about the bytes.
          "-o",
          "tcp.analyze_sequence_numbers:FALSE",
          "-T",
          "fields",
          "-E",
          "separator=|",
          "-e",
          "frame.interface_id",
          "-e",
          "frame.comment",
          "-e",
          "ip.checksum.status",
          "-e",
          "tcp.checksum.status",
          "-e",
          "udp.checksum.status",
          "-e",
          "icmp.checksum.status",
          "-e",
          "_ws.expert.severity",
        ],
        { encoding: "utf8" },
      );
      const rows = out
        .trim()
        .split("\n")
        .map((l) => l.split("|"));
      const on = report.runs[0] as RunResult;
      // Each packet is recorded where it came in (vm1) and where it left (vm2).
      expect(rows).toHaveLength(on.packets * 2);
      expect(new Set(rows.map((r) => r[0])).size).toBe(2);
      for (const r of rows) {
        expect(r[1]).toMatch(/^(nic-l1|nic-l2|upcall|dp-emc|dp-megaflow)(: |$)/);
        // Wireshark's checksum status (proto.h): 0 bad, 1 good, 2 unverified.
        expect(r[2]).toBe("1");
        expect([r[3], r[4], r[5]].filter((x) => x !== "")).toEqual(["1"]);
        // The only expert item is the packet comment itself (PI_COMMENT, 0x100000): no warnings or errors.
        expect(r[6]).toBe(String(0x100000));
      }
      const ifaces = execFileSync("tshark", ["-r", file, "-Q", "-z", "io,stat,0"], { encoding: "utf8" });
      expect(ifaces).not.toMatch(/malformed/i);
    });
  });

  it("the built-in default scenario: every traffic class decodes cleanly in tshark, and its VXLAN part runs on the NIC", async () => {
    const { loadScenarioFile } = await import("../../src/scenario/load.ts");
    const { DEFAULT_SCENARIO } = await import("../../src/cmd/run.ts");
    const sc = loadScenarioFile(DEFAULT_SCENARIO);
    sc.runs = [true];
    const dir = mkdtempSync(join(tmpdir(), "oe-scn-"));
    const report = await runScenario(sc, { baseDir: dir, outDir: dir });
    const on = report.runs[0] as RunResult;
    expectTiersAddUp(on);
    // What the NIC cannot offload, and why (issue 4's "some traffic the NIC cannot offload").
    expect(on.flows.refused.map((r) => r.reason)).toContain("action userspace not supported");
    if (!requireTool("tshark")) return;
    const file = join(dir, "captures", "default-hw-on.pcapng");
    const out = execFileSync(
      "tshark",
      [
        "-r",
        file,
        "-o",
        "tcp.analyze_sequence_numbers:FALSE",
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-e",
        "frame.interface_name",
        "-e",
        "frame.protocols",
        "-e",
        "_ws.expert.severity",
        "-e",
        "frame.comment",
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 256 << 20 },
    );
    const rows = out
      .trim()
      .split("\n")
      .map((l) => l.split("|"));
    // Nothing above PI_CHAT (0x200000): no notes, warnings or errors.
    for (const r of rows)
      for (const sev of (r[2] as string).split(",")) expect(Number(sev)).toBeLessThanOrEqual(0x200000);
    // vm4's tenant traffic: encapsulated on the NIC on its way out, decapsulated on the NIC on its way in.
    const vxlanOut = rows.filter(
      (r) =>
        r[0] === "pf0" && (r[1] as string).includes(":vxlan:") && /^nic-l[12]: .*actions:tnl_push/.test(r[3] as string),
    );
    const vxlanIn = rows.filter(
      (r) =>
        r[0] === "vm4" && /^nic-l[12]: tunnel\(tun_id=0x1388,src=192\.0\.2\.20,dst=192\.0\.2\.10/.test(r[3] as string),
    );
    expect(vxlanOut.length).toBeGreaterThan(600);
    expect(vxlanIn.length).toBeGreaterThan(600);
  }, 60_000);

  it("applies the timeline: link down drops, hw-offload off moves traffic to the host, a rule change re-routes", async () => {
    const { report } = await run(`duration: 1s\nsample: 100ms\nruns: [on]\n${HOST}${TRAFFIC}timeline:
  - at: 300ms
    link: { port: vm2, state: down }
  - at: 400ms
    link: { port: vm2, state: up }
  - at: 600ms
    hw_offload: false
  - at: 800ms
    do: ofctl mod-flows br0 in_port=vm1,actions=output:p3
`);
    const on = report.runs[0] as RunResult;
    expectTiersAddUp(on);
    // 300..399 ms: 100 packets reach the NIC, whose output port is down.
    expect(on.drops["port link down"]).toBe(100);
    const s = (ms: number) => on.samples.find((x) => x.tMs === ms) as { tierPps: number[] };
    // Tiers: nic-l1, nic-l2, dp-emc, dp-megaflow, upcall, drop.
    expect((s(500).tierPps[0] as number) + (s(500).tierPps[1] as number)).toBeGreaterThan(0);
    expect((s(700).tierPps[0] as number) + (s(700).tierPps[1] as number)).toBe(0);
    expect(on.marks.map((m) => [m.tMs, m.label])).toEqual([
      [300, "link vm2 down"],
      [400, "link vm2 up"],
      [600, "hw-offload off"],
      [800, "ofctl mod-flows br0 in_port=vm1,actions=output:p3"],
    ]);
  });

  it("joins hosts by links: frames leaving one host's port arrive at the other's", async () => {
    const h = (n: string) => `  - name: ${n}
    setup:
      - vsctl add-br br0 -- set Bridge br0 datapath_type=netdev fail_mode=secure
      - vsctl add-port br0 wire -- set Interface wire type=dummy ofport_request=1
      - vsctl add-port br0 vm -- set Interface vm type=dummy ofport_request=2
      - ofctl add-flow br0 in_port=vm,actions=output:wire
      - ofctl add-flow br0 in_port=wire,actions=output:vm
`;
    const { report } = await run(
      `duration: 100ms\nruns: [off]\nhosts:\n${h("a")}${h("b")}links:\n  - { a: "a:wire", b: "b:wire" }\ntraffic:\n  - host: a\n    port: vm\n    rate: 1kpps\n`,
    );
    const r = report.runs[0] as RunResult;
    // 100 packets sent on a; each is handled by a, then by b: 200 packet handlings.
    expect(r.packets).toBe(200);
    expect(r.captures.map((c) => c.replace(/.*\//, ""))).toEqual(["t-a-hw-off.pcapng", "t-b-hw-off.pcapng"]);
  });

  it("replays a capture onto a port at its recorded timing", async () => {
    // ndpi__vxlan.pcap: 127 Ethernet frames over 631 ms (tshark's dissection: 127 rows).
    const rows = readFileSync(join(CONFORMANCE, "ndpi__vxlan.pcap.fields.tsv"), "utf8").trim().split("\n").length - 1;
    const { report } = await run(
      `duration: 1s\nruns: [off]\n${HOST}traffic:\n  - port: p3\n    pcap: ndpi__vxlan.pcap\n`,
    );
    expect(report.runs[0]?.packets).toBe(rows);
    const looped = await run(
      `duration: 2s\nruns: [off]\n${HOST}traffic:\n  - port: p3\n    pcap: ndpi__vxlan.pcap\n    loop: true\n    timing: 1kpps\n`,
    );
    // At 1 kpps the 127 frames take 127 ms a round: 2000 packets in 2 s.
    expect(looped.report.runs[0]?.packets).toBe(2000);
  });

  it("stops before running on an unknown port, a bad rule, a missing capture", async () => {
    const fails = async (text: string): Promise<string> => {
      try {
        await run(text);
      } catch (e) {
        if (e instanceof ScenarioError) return e.message;
        throw e;
      }
      throw new Error("ran");
    };
    expect(await fails(`duration: 1s\n${HOST}traffic:\n  - port: vm9\n    rate: 1kpps\n`)).toBe(
      't.yaml:11:11: traffic[0].port: no port "vm9" on the host (ports: br0, pf0, vm1, vm2, p3)',
    );
    expect(await fails(`duration: 1s\n${HOST}  - ofctl add-flow br0 in_port=1,actions=output:nowhere\n`)).toMatch(
      /^t\.yaml:10:5: setup: "ofctl add-flow br0 in_port=1,actions=output:nowhere" failed: /,
    );
    expect(await fails(`duration: 1s\n${HOST}traffic:\n  - port: p3\n    pcap: no-such.pcap\n`)).toMatch(
      /^t\.yaml:11:5: traffic\[0\]: cannot read .*no-such\.pcap: ENOENT$/,
    );
    expect(
      await fails(`duration: 1s\n${HOST}timeline:\n  - at: 1s\n    do: ofctl add-flow br0 ip,actions=bogus\n`),
    ).toMatch(/^t\.yaml:12:9: timeline at 1000 ms: "ofctl add-flow br0 ip,actions=bogus" failed: /);
    expect(await fails(`duration: 1s\n${HOST}  - vsctl add-port br0 t0 -- set Interface t0 type=nosuch\n`)).toMatch(
      /^t\.yaml:10:5: setup: after "vsctl add-port br0 t0 -- set Interface t0 type=nosuch": interface t0: /,
    );
  });
});

// Scenario files: what a valid file becomes, and that each kind of mistake stops with one message
// naming the file, line and column of the offending value. Expected positions are counted by hand
// in the texts below (1-based line and column, as the yaml package's LineCounter and editors do).

import { describe, expect, it } from "vitest";
import { ScenarioError, parseDuration, parseRate, parseScenario, splitWords } from "../../src/scenario/load.ts";

const BASE = `name: t
duration: 2s
setup:
  - vsctl add-br br0
traffic:
  - port: p1
    rate: 1kpps
`;

function err(text: string): string {
  try {
    parseScenario(text, "t.yaml");
  } catch (e) {
    if (e instanceof ScenarioError) return e.message;
    throw e;
  }
  throw new Error("no error");
}

describe("scenario files", () => {
  it("reads a whole scenario: hosts' commands, traffic, timeline, outputs", () => {
    const sc = parseScenario(
      `name: lab
description: two classes
seed: 7
duration: 1.5s
sample: 25ms
runs: [off]
cost: { upcallNs: 50000 }
setup:
  - offload-emu vsctl add-br br0 -- set Bridge br0 datapath_type=netdev
  - ovs-ofctl add-flow br0 "in_port=1, actions=output:2"
traffic:
  - name: web
    port: p1
    rate: 10Mbps
    burst: { on: 10ms, off: 30ms }
    flows: 100
    distribution: zipf(1.2)
    lifetime: 200ms
    size: imix
    protocol: tcp
    vlan: 10
    ip: { src: 10.1.0.0/30, dst: [10.2.0.1, 10.2.0.2] }
    src_ports: 2000-2999
timeline:
  - at: 1s
    hw_offload: false
  - at: 500ms
    link: { port: p2, state: down }
    warp: 100ms
outputs: { captures: false, report: out }
`,
      "lab.yaml",
    );
    expect(sc).toMatchObject({
      name: "lab",
      description: "two classes",
      seed: 7,
      durationMs: 1500,
      sampleMs: 25,
      runs: [false],
      cost: { upcallNs: 50000 },
    });
    expect(sc.hosts).toHaveLength(1);
    expect(sc.hosts[0]?.setup.map((c) => [c.tool, c.argv])).toEqual([
      ["vsctl", ["add-br", "br0", "--", "set", "Bridge", "br0", "datapath_type=netdev"]],
      ["ofctl", ["add-flow", "br0", "in_port=1, actions=output:2"]],
    ]);
    expect(sc.hosts[0]?.setup[1]?.where).toBe("lab.yaml:10:5");
    const t = sc.traffic[0];
    expect(t?.kind).toBe("generated");
    if (t?.kind !== "generated") return;
    expect(t.rate).toMatchObject({ value: 10e6, bits: true });
    expect(t.burst).toEqual({ onMs: 10, offMs: 30 });
    expect(t.distribution).toEqual({ kind: "zipf", s: 1.2 });
    expect(t.size).toMatchObject({ sizes: [60, 590, 1514], weights: [7, 4, 1] });
    // A /30 has two host addresses (RFC 950: not the network or broadcast address).
    expect(t.ipSrc).toEqual(["10.1.0.1", "10.1.0.2"]);
    expect(t.srcPorts).toEqual([2000, 2999]);
    // Sorted by time; structured events become the commands a user would type.
    expect(sc.timeline.map((e) => [e.atMs, e.label])).toEqual([
      [500, "link p2 down; clock warp 100 ms"],
      [1000, "hw-offload off"],
    ]);
    expect(sc.timeline[0]?.actions[0]).toMatchObject({
      kind: "command",
      command: { tool: "appctl", argv: ["netdev-dummy/set-admin-state", "p2", "down"] },
    });
    expect(sc.outputs).toEqual({ captures: null, report: "out" });
  });

  it("reads JSON too (YAML 1.2 is a superset)", () => {
    const sc = parseScenario(
      JSON.stringify({ duration: "1s", setup: ["vsctl add-br br0"], traffic: [{ port: "p1", rate: 100 }] }),
      "t.json",
    );
    expect(sc.traffic[0]).toMatchObject({ port: "p1", rate: { value: 100, bits: false } });
  });

  it("names the file, line and column of each mistake, and what was expected", () => {
    expect(err(BASE.replace("rate: 1kpps", "rate: fast"))).toBe(
      't.yaml:7:11: traffic[0].rate: expected a rate such as "20kpps" or "1.5Gbps" (more than 0), found "fast"',
    );
    expect(err(BASE.replace("rate: 1kpps", "rat: 1kpps"))).toMatch(
      /^t\.yaml:7:5: traffic\[0\]: unknown key "rat"; expected one of: name, host, port, rate/,
    );
    expect(err(BASE.replace("duration: 2s", "duration: soon"))).toMatch(/^t\.yaml:2:11: duration: expected a duration/);
    expect(err(BASE.replace("  - vsctl add-br br0", "  - ip link add br0"))).toMatch(
      /^t\.yaml:4:5: setup\[0\]: expected a command starting with vsctl, ofctl or appctl/,
    );
    expect(err(`${BASE}    protocol: sctp\n`)).toBe(
      't.yaml:8:15: traffic[0].protocol: expected udp, tcp, icmp or arp, found "sctp"',
    );
    expect(err(`${BASE}    size: 20\n`)).toMatch(
      /^t\.yaml:8:11: traffic\[0\]\.size: expected a frame size from 60 to 9000 bytes/,
    );
    expect(err(`${BASE}timeline:\n  - at: 5s\n    hw_offload: true\n`)).toMatch(
      /^t\.yaml:9:9: timeline\[0\]\.at: at 5000 ms is after the scenario ends/,
    );
    expect(err(`${BASE}cost: { upcalNs: 5 }\n`)).toMatch(
      /^t\.yaml:8:9: cost: unknown cost model key "upcalNs"; expected one of: coreGHz, nicL1Ns/,
    );
    expect(err("duration: [1s\n")).toMatch(/^t\.yaml:\d+:\d+: /);
  });

  it("refuses an impossible rate before running", () => {
    // 1 Gpps of 64-byte frames is (64 + 24) * 8 * 1e9 = 704 Gbit/s on the wire: more than a 400G port.
    expect(err(BASE.replace("rate: 1kpps", "rate: 1Gpps\n    size: 64"))).toBe(
      "t.yaml:7:11: traffic[0].rate: 1Gpps of 64-byte frames needs 704.0 Gbit/s on the wire, more than the fastest emulated link (400 Gbit/s)",
    );
    // 20 Mpps for 2 s is 40 M packets: more than a run may send.
    expect(err(BASE.replace("rate: 1kpps", "rate: 20Mpps"))).toMatch(
      /^t\.yaml:7:11: traffic\[0\]\.rate: 20Mpps for 2 s is 40,000,000 packets, more than the 20,000,000 a run may send$/,
    );
  });

  it("parses durations, rates and shell words", () => {
    expect([
      parseDuration("250ms"),
      parseDuration("1.5s"),
      parseDuration("2min"),
      parseDuration("40"),
      parseDuration("x"),
    ]).toEqual([250, 1500, 120000, 40, NaN]);
    expect([parseRate("20kpps"), parseRate("1.5 Gbps"), parseRate("800Mbit/s"), parseRate("3 fast")]).toEqual([
      { value: 20000, bits: false },
      { value: 1.5e9, bits: true },
      { value: 800e6, bits: true },
      null,
    ]);
    expect(splitWords(`add-flow br0 "in_port=1, actions=drop" 'a b'c \\"`)).toEqual([
      "add-flow",
      "br0",
      "in_port=1, actions=drop",
      "a bc",
      '"',
    ]);
    expect(() => splitWords('add "open')).toThrow(/unterminated " quote at column 5/);
  });
});

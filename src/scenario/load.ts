// Scenario files: YAML (or JSON, which YAML 1.2 reads as it is) into a checked Scenario. Every
// value is checked against what it must be before anything runs, and an error names the file,
// line and column of the offending value and says what was expected, as a compiler would:
//
//   lab.yaml:14:11: traffic[0].rate: expected a rate such as "20kpps" or "1.5Gbps", found "fast"
//
// A scenario holds the hosts (each configured by the same vsctl/ofctl/appctl commands a user
// types at a real host), the links between hosts, the traffic, a timeline of events, the cost
// model overrides and the outputs. The shape of the file is documented in README.md.

import { readFileSync } from "node:fs";
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from "yaml";
import { COST_KEYS } from "./cost.ts";
import { ipv4FromString, ipv4NumToString } from "../wire/bytes.ts";

export class ScenarioError extends Error {
  override readonly name = "ScenarioError";
}

/** Where a value came from: "file:line:col". */
export type Where = string;

export interface Command {
  tool: "vsctl" | "ofctl" | "appctl";
  argv: string[];
  text: string;
  where: Where;
}

export type Distribution = { kind: "uniform" } | { kind: "zipf"; s: number };

export interface Rate {
  /** Packets per second, or bits per second when `bits` (converted once the frame sizes are known). */
  value: number;
  bits: boolean;
  text: string;
}

export interface SizeMix {
  /** Frame sizes in bytes (without FCS) and their weights. */
  sizes: number[];
  weights: number[];
  text: string;
}

export interface GeneratedTraffic {
  kind: "generated";
  name: string;
  host: string;
  port: string;
  rate: Rate;
  /** On/off bursts: packets only during the first `onMs` of every `onMs + offMs`. */
  burst: { onMs: number; offMs: number } | null;
  startMs: number;
  stopMs: number;
  flows: number;
  distribution: Distribution;
  /** A flow's 5-tuple lasts this long before it is replaced by a new one (short flows); Infinity: forever. */
  lifetimeMs: number;
  size: SizeMix;
  protocol: "udp" | "tcp" | "icmp" | "arp";
  vlan: number | null;
  ethSrc: string;
  ethDst: string;
  /** Address pools: flows take addresses from these, spread over source ports first. */
  ipSrc: string[];
  ipDst: string[];
  srcPorts: [number, number];
  dstPort: number;
  /** The L4 payload of every packet (e.g. a real DNS query), or null for zero bytes up to `size`. */
  payload: Uint8Array | null;
  /** Frames arrive encapsulated: the generated frame is the inner one. */
  tunnel: TunnelSpec | null;
  where: Where;
}

export interface TunnelSpec {
  type: "vxlan" | "geneve" | "nvgre";
  /** VNI (VXLAN, GENEVE) or GRE key (NVGRE: VSID << 8 | flow id), as the tunnel port's options:key. */
  key: number;
  ethSrc: string;
  ethDst: string;
  ipSrc: string;
  ipDst: string;
}

export interface ReplayTraffic {
  kind: "replay";
  name: string;
  host: string;
  port: string;
  file: string;
  /** "recorded": the capture's own spacing; otherwise a constant rate. */
  timing: "recorded" | Rate;
  startMs: number;
  loop: boolean;
  where: Where;
}

export type Traffic = GeneratedTraffic | ReplayTraffic;

export type TimelineAction = { kind: "command"; host: string; command: Command } | { kind: "warp"; ms: number };

export interface TimelineEvent {
  atMs: number;
  label: string;
  actions: TimelineAction[];
  where: Where;
}

export interface HostSpec {
  name: string;
  setup: Command[];
  /** An underlay switch, not a host under study: it forwards, and the report leaves it out. */
  isSwitch: boolean;
  where: Where;
}

export interface LinkSpec {
  /** "host:port" ends; frames leaving one end arrive at the other. */
  a: { host: string; port: string };
  b: { host: string; port: string };
  where: Where;
}

export interface Scenario {
  name: string;
  description: string;
  source: string;
  seed: number;
  durationMs: number;
  sampleMs: number;
  /** hw-offload settings to run the same traffic with (default both, on first). */
  runs: boolean[];
  cost: Record<string, number>;
  hosts: HostSpec[];
  links: LinkSpec[];
  traffic: Traffic[];
  timeline: TimelineEvent[];
  outputs: { captures: string | null; report: string | null };
  /** Where each top-level item was, for errors found later (unknown port, …). */
  whereOf(path: string): Where;
}

/** Limits that keep a typo from asking for a run that never ends. */
export const MAX_DURATION_MS = 3_600_000;
export const MAX_PACKETS_PER_RUN = 20_000_000;

const TOP_KEYS = [
  "name",
  "description",
  "seed",
  "duration",
  "sample",
  "runs",
  "cost",
  "setup",
  "hosts",
  "links",
  "traffic",
  "timeline",
  "outputs",
];
const TRAFFIC_KEYS = [
  "name",
  "host",
  "port",
  "rate",
  "burst",
  "start",
  "stop",
  "flows",
  "distribution",
  "lifetime",
  "size",
  "protocol",
  "vlan",
  "eth",
  "ip",
  "src_ports",
  "dst_port",
  "payload",
  "tunnel",
  "pcap",
  "timing",
  "loop",
];
const EVENT_KEYS = ["at", "host", "do", "hw_offload", "link", "nic", "warp", "label"];

/** Loads and checks a scenario file. */
export function loadScenarioFile(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ScenarioError(`${path}: cannot read the scenario: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return parseScenario(text, path);
}

/** Parses and checks scenario text; `source` names it in errors. */
export function parseScenario(text: string, source: string): Scenario {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Where => {
    const p = lc.linePos(offset);
    return `${source}:${p.line}:${p.col}`;
  };
  const firstErr = doc.errors[0];
  if (firstErr) throw new ScenarioError(`${at(firstErr.pos[0])}: ${firstErr.message.split("\n")[0]}`);
  const c = new Checker(at, source);
  return c.scenario(doc.contents as YamlNode | null);
}

type N = YamlNode | null | undefined;

class Checker {
  private readonly wheres = new Map<string, Where>();

  constructor(
    private readonly at: (offset: number) => Where,
    private readonly source: string,
  ) {}

  private where(n: N): Where {
    const r = n?.range;
    return r ? this.at(r[0]) : `${this.source}:1:1`;
  }

  private fail(n: N, path: string, what: string): never {
    throw new ScenarioError(`${this.where(n)}: ${path}: ${what}`);
  }

  private expected(n: N, path: string, what: string): never {
    const found =
      n === null || n === undefined
        ? "nothing"
        : isScalar(n)
          ? JSON.stringify(n.value)
          : isSeq(n)
            ? "a list"
            : "a mapping";
    return this.fail(n, path, `expected ${what}, found ${found}`);
  }

  private map(n: N, path: string, keys: readonly string[]): Map<string, YamlNode | null> {
    if (!isMap(n)) return this.expected(n, path, "a mapping");
    const out = new Map<string, YamlNode | null>();
    for (const pair of n.items) {
      const k = pair.key as YamlNode;
      const name = isScalar(k) ? String(k.value) : "";
      if (!keys.includes(name)) {
        const near = keys.find((x) => x.replace(/_/g, "") === name.replace(/[_-]/g, "").toLowerCase());
        this.fail(
          k,
          path,
          `unknown key "${name}"${near ? ` (did you mean "${near}"?)` : ""}; expected one of: ${keys.join(", ")}`,
        );
      }
      out.set(name, (pair.value as YamlNode | null) ?? null);
      this.wheres.set(path === "" ? name : `${path}.${name}`, this.where(k));
    }
    return out;
  }

  private seq(n: N, path: string): YamlNode[] {
    if (!isSeq(n)) return this.expected(n, path, "a list");
    return n.items as YamlNode[];
  }

  private str(n: N, path: string): string {
    if (!isScalar(n) || (typeof n.value !== "string" && typeof n.value !== "number"))
      return this.expected(n, path, "a string");
    return String(n.value);
  }

  private num(n: N, path: string, min: number, max = Infinity, integer = false): number {
    const v = isScalar(n) ? (typeof n.value === "number" ? n.value : Number(n.value)) : NaN;
    if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      return this.expected(
        n,
        path,
        `${integer ? "an integer" : "a number"} ${max === Infinity ? `>= ${min}` : `from ${min} to ${max}`}`,
      );
    }
    return v;
  }

  private bool(n: N, path: string): boolean {
    if (isScalar(n) && typeof n.value === "boolean") return n.value;
    if (isScalar(n) && (n.value === "on" || n.value === "off")) return n.value === "on";
    return this.expected(n, path, "true or false");
  }

  /** "4s", "250ms", "1.5min", or a number of milliseconds. */
  private duration(n: N, path: string, allowZero = true): number {
    const v = isScalar(n) ? n.value : undefined;
    const ms = typeof v === "number" ? v : typeof v === "string" ? parseDuration(v) : NaN;
    if (!Number.isFinite(ms) || ms < 0 || (!allowZero && ms === 0) || ms > MAX_DURATION_MS) {
      return this.expected(
        n,
        path,
        `a duration such as "4s" or "250ms" (at most 1h${allowZero ? "" : ", more than 0"})`,
      );
    }
    return ms;
  }

  private rate(n: N, path: string): Rate {
    const v = isScalar(n) ? n.value : undefined;
    const r = typeof v === "number" ? { value: v, bits: false } : typeof v === "string" ? parseRate(v) : null;
    if (r === null || !Number.isFinite(r.value) || r.value <= 0) {
      return this.expected(n, path, 'a rate such as "20kpps" or "1.5Gbps" (more than 0)');
    }
    return { ...r, text: String(v) };
  }

  scenario(root: N): Scenario {
    const top = this.map(root, "", TOP_KEYS);
    const name = top.has("name")
      ? this.str(top.get("name"), "name")
      : this.source.replace(/^.*\//, "").replace(/\.[^.]*$/, "");
    const description = top.has("description") ? this.str(top.get("description"), "description").trim() : "";
    const seed = top.has("seed") ? this.num(top.get("seed"), "seed", 0, 2 ** 32 - 1, true) : 1;
    const durationMs = top.has("duration")
      ? this.duration(top.get("duration"), "duration", false)
      : this.expected(root, "duration", 'a "duration" key (how long the traffic runs, e.g. "4s")');
    const sampleMs = top.has("sample")
      ? this.duration(top.get("sample"), "sample", false)
      : Math.max(1, Math.min(100, durationMs / 20));
    let runs = [true, false];
    if (top.has("runs")) {
      const items = this.seq(top.get("runs"), "runs");
      if (items.length === 0) this.expected(top.get("runs"), "runs", "at least one of on, off");
      runs = items.map((it, i) => {
        const v = isScalar(it) ? it.value : undefined;
        if (v === "on" || v === true) return true;
        if (v === "off" || v === false) return false;
        return this.expected(it, `runs[${i}]`, "on or off (hw-offload)");
      });
    }
    const cost: Record<string, number> = {};
    if (top.has("cost")) {
      const cn = top.get("cost");
      if (!isMap(cn)) this.expected(cn, "cost", "a mapping of cost model values");
      for (const pair of cn.items) {
        const k = this.str(pair.key as YamlNode, "cost");
        if (!Object.hasOwn(COST_KEYS, k))
          this.fail(
            pair.key as YamlNode,
            "cost",
            `unknown cost model key "${k}"; expected one of: ${Object.keys(COST_KEYS).join(", ")}`,
          );
        cost[k] = this.num(pair.value as YamlNode, `cost.${k}`, k === "coreGHz" ? 0.001 : 0);
      }
    }
    let hosts: HostSpec[];
    if (top.has("hosts")) {
      if (top.has("setup")) this.fail(top.get("setup"), "setup", 'give either "setup" (one host) or "hosts", not both');
      hosts = this.seq(top.get("hosts"), "hosts").map((h, i) => this.host(h, `hosts[${i}]`));
      if (hosts.length === 0) this.expected(top.get("hosts"), "hosts", "at least one host");
    } else if (top.has("setup")) {
      hosts = [
        {
          name: "host",
          setup: this.commands(top.get("setup"), "setup"),
          isSwitch: false,
          where: this.where(top.get("setup")),
        },
      ];
    } else {
      return this.expected(root, "setup", 'a "setup" list of commands (or "hosts")');
    }
    const hostNames = new Set<string>();
    for (const h of hosts) {
      if (hostNames.has(h.name)) throw new ScenarioError(`${h.where}: hosts: two hosts are named "${h.name}"`);
      hostNames.add(h.name);
    }
    const defaultHost = hosts.length === 1 ? (hosts[0] as HostSpec).name : null;
    const hostOf = (n: N, path: string): string => {
      if (n === undefined || n === null) {
        if (defaultHost === null) this.expected(n, path, `"host:" naming one of ${[...hostNames].join(", ")}`);
        return defaultHost as string;
      }
      const h = this.str(n, path);
      if (!hostNames.has(h)) this.expected(n, path, `one of the hosts (${[...hostNames].join(", ")})`);
      return h;
    };
    const links = top.has("links")
      ? this.seq(top.get("links"), "links").map((l, i) => this.link(l, `links[${i}]`, hostNames))
      : [];
    const traffic = top.has("traffic")
      ? this.seq(top.get("traffic"), "traffic").map((t, i) => this.traffic(t, `traffic[${i}]`, hostOf, durationMs))
      : [];
    const timeline = top.has("timeline")
      ? this.seq(top.get("timeline"), "timeline").map((t, i) => this.event(t, `timeline[${i}]`, hostOf, durationMs))
      : [];
    timeline.sort((a, b) => a.atMs - b.atMs);
    let outputs: Scenario["outputs"] = { captures: "captures", report: null };
    if (top.has("outputs")) {
      const o = this.map(top.get("outputs"), "outputs", ["captures", "report"]);
      const opt = (k: string): string | null => {
        const n = o.get(k);
        if (!o.has(k)) return k === "captures" ? "captures" : null;
        if (isScalar(n) && (n.value === false || n.value === null)) return null;
        return this.str(n, `outputs.${k}`);
      };
      outputs = { captures: opt("captures"), report: opt("report") };
    }
    const wheres = this.wheres;
    const source = this.source;
    return {
      name,
      description,
      source,
      seed,
      durationMs,
      sampleMs,
      runs,
      cost,
      hosts,
      links,
      traffic,
      timeline,
      outputs,
      whereOf: (p) => wheres.get(p) ?? `${source}:1:1`,
    };
  }

  private host(n: N, path: string): HostSpec {
    const m = this.map(n, path, ["name", "setup", "switch"]);
    const name = this.str(m.get("name"), `${path}.name`);
    if (!/^[A-Za-z0-9_.-]+$/.test(name))
      this.expected(m.get("name"), `${path}.name`, "a name of letters, digits, '.', '_' or '-'");
    const isSwitch = m.has("switch") ? this.bool(m.get("switch"), `${path}.switch`) : false;
    return {
      name,
      setup: m.has("setup") ? this.commands(m.get("setup"), `${path}.setup`) : [],
      isSwitch,
      where: this.where(n),
    };
  }

  private commands(n: N, path: string): Command[] {
    return this.seq(n, path).map((c, i) => this.command(c, `${path}[${i}]`));
  }

  private command(n: N, path: string): Command {
    const text = this.str(n, path).trim();
    let words: string[];
    try {
      words = splitWords(text);
    } catch (e) {
      return this.fail(n, path, (e as Error).message);
    }
    // As typed at a shell: "offload-emu vsctl …", or OVS's own "ovs-vsctl …", or just "vsctl …".
    let [tool, ...argv] = words;
    if (tool === "offload-emu") [tool, ...argv] = argv;
    else if (tool?.startsWith("ovs-")) tool = tool.slice(4);
    if (tool !== "vsctl" && tool !== "ofctl" && tool !== "appctl") {
      return this.expected(n, path, 'a command starting with vsctl, ofctl or appctl (as typed after "offload-emu")');
    }
    if (argv.length === 0) this.expected(n, path, `arguments after ${tool}`);
    return { tool, argv, text, where: this.where(n) };
  }

  private link(n: N, path: string, hosts: ReadonlySet<string>): LinkSpec {
    const m = this.map(n, path, ["a", "b"]);
    const end = (k: "a" | "b") => {
      const v = this.str(m.get(k), `${path}.${k}`);
      const i = v.indexOf(":");
      const host = i < 0 ? "" : v.slice(0, i);
      if (i < 0 || !hosts.has(host) || i === v.length - 1)
        this.expected(m.get(k), `${path}.${k}`, `HOST:PORT with HOST one of ${[...hosts].join(", ")}`);
      return { host, port: v.slice(i + 1) };
    };
    return { a: end("a"), b: end("b"), where: this.where(n) };
  }

  private traffic(n: N, path: string, hostOf: (n: N, p: string) => string, durationMs: number): Traffic {
    const m = this.map(n, path, TRAFFIC_KEYS);
    const where = this.where(n);
    const name = m.has("name") ? this.str(m.get("name"), `${path}.name`) : path;
    const host = hostOf(m.get("host"), `${path}.host`);
    const port = this.str(m.get("port"), `${path}.port`);
    const startMs = m.has("start") ? this.duration(m.get("start"), `${path}.start`) : 0;
    if (startMs >= durationMs)
      this.fail(
        m.get("start"),
        `${path}.start`,
        `starts at ${startMs} ms, after the scenario ends (duration ${durationMs} ms)`,
      );
    if (m.has("pcap")) {
      for (const k of [
        "rate",
        "flows",
        "distribution",
        "lifetime",
        "size",
        "protocol",
        "vlan",
        "eth",
        "ip",
        "src_ports",
        "dst_port",
        "payload",
        "tunnel",
        "burst",
        "stop",
      ]) {
        if (m.has(k))
          this.fail(
            m.get(k),
            `${path}.${k}`,
            `"${k}" does not apply to a pcap replay (only port, start, timing, loop)`,
          );
      }
      const file = this.str(m.get("pcap"), `${path}.pcap`);
      let timing: ReplayTraffic["timing"] = "recorded";
      if (m.has("timing")) {
        const t = m.get("timing");
        timing = isScalar(t) && t.value === "recorded" ? "recorded" : this.rate(t, `${path}.timing`);
      }
      const loop = m.has("loop") ? this.bool(m.get("loop"), `${path}.loop`) : false;
      this.wheres.set(`${path}.pcap`, this.where(m.get("pcap")));
      this.wheres.set(`${path}.port`, this.where(m.get("port")));
      return { kind: "replay", name, host, port, file, timing, startMs, loop, where };
    }
    if (m.has("timing") || m.has("loop"))
      this.fail(m.get("timing") ?? m.get("loop"), path, '"timing" and "loop" apply to a pcap replay only');
    const rate = this.rate(m.get("rate"), `${path}.rate`);
    const stopMs = m.has("stop") ? this.duration(m.get("stop"), `${path}.stop`) : durationMs;
    if (stopMs <= startMs)
      this.fail(m.get("stop"), `${path}.stop`, `stops at ${stopMs} ms, not after its start (${startMs} ms)`);
    let burst: GeneratedTraffic["burst"] = null;
    if (m.has("burst")) {
      const b = this.map(m.get("burst"), `${path}.burst`, ["on", "off"]);
      burst = {
        onMs: this.duration(b.get("on"), `${path}.burst.on`, false),
        offMs: this.duration(b.get("off"), `${path}.burst.off`),
      };
    }
    const flows = m.has("flows") ? this.num(m.get("flows"), `${path}.flows`, 1, 10_000_000, true) : 1;
    let distribution: Distribution = { kind: "uniform" };
    if (m.has("distribution")) {
      const d = m.get("distribution");
      const v = isScalar(d) ? String(d.value) : "";
      const z = /^zipf(?:\(([\d.]+)\))?$/.exec(v);
      if (v === "uniform") distribution = { kind: "uniform" };
      else if (z) {
        const s = z[1] === undefined ? 1 : Number(z[1]);
        if (!(s > 0 && s <= 5)) this.expected(d, `${path}.distribution`, "a Zipf exponent from 0 to 5, e.g. zipf(1.1)");
        distribution = { kind: "zipf", s };
      } else this.expected(d, `${path}.distribution`, 'uniform, zipf or zipf(S) such as "zipf(1.1)"');
    }
    const lifetimeMs = m.has("lifetime") ? this.duration(m.get("lifetime"), `${path}.lifetime`, false) : Infinity;
    const size = m.has("size") ? this.size(m.get("size"), `${path}.size`) : { sizes: [64], weights: [1], text: "64" };
    let protocol: GeneratedTraffic["protocol"] = "udp";
    if (m.has("protocol")) {
      const p = this.str(m.get("protocol"), `${path}.protocol`).toLowerCase();
      if (p !== "udp" && p !== "tcp" && p !== "icmp" && p !== "arp")
        this.expected(m.get("protocol"), `${path}.protocol`, "udp, tcp, icmp or arp");
      protocol = p as GeneratedTraffic["protocol"];
    }
    const vlan = m.has("vlan") ? this.num(m.get("vlan"), `${path}.vlan`, 0, 4095, true) : null;
    let ethSrc = "02:00:00:00:00:01";
    let ethDst = "02:00:00:00:00:02";
    if (m.has("eth")) {
      const e = this.map(m.get("eth"), `${path}.eth`, ["src", "dst"]);
      if (e.has("src")) ethSrc = this.mac(e.get("src"), `${path}.eth.src`);
      if (e.has("dst")) ethDst = this.mac(e.get("dst"), `${path}.eth.dst`);
    }
    let ipSrc = ["10.0.0.1"];
    let ipDst = ["10.0.0.2"];
    if (m.has("ip")) {
      const ip = this.map(m.get("ip"), `${path}.ip`, ["src", "dst"]);
      if (ip.has("src")) ipSrc = this.pool(ip.get("src"), `${path}.ip.src`);
      if (ip.has("dst")) ipDst = this.pool(ip.get("dst"), `${path}.ip.dst`);
    }
    // Clients pick source ports from the dynamic range (RFC 6335 §6), as Wireshark expects of them.
    let srcPorts: [number, number] = [49152, 65535];
    if (m.has("src_ports")) {
      const t = this.str(m.get("src_ports"), `${path}.src_ports`);
      const r = /^(\d+)(?:-(\d+))?$/.exec(t);
      const lo = r ? Number(r[1]) : NaN;
      const hi = r ? Number(r[2] ?? r[1]) : NaN;
      if (!(lo >= 1 && hi <= 65535 && lo <= hi))
        this.expected(m.get("src_ports"), `${path}.src_ports`, 'a port or a range such as "1024-65535"');
      srcPorts = [lo, hi];
    }
    const dstPort = m.has("dst_port") ? this.num(m.get("dst_port"), `${path}.dst_port`, 1, 65535, true) : 80;
    let payload: Uint8Array | null = null;
    if (m.has("payload")) {
      const h = this.str(m.get("payload"), `${path}.payload`).replace(/[\s:]/g, "");
      if (!/^([0-9a-fA-F]{2})+$/.test(h))
        this.expected(m.get("payload"), `${path}.payload`, 'the payload bytes in hex, e.g. "12340100..."');
      payload = Uint8Array.from(h.match(/../g) as string[], (b) => parseInt(b, 16));
    }
    let tunnel: TunnelSpec | null = null;
    if (m.has("tunnel")) {
      const tp = `${path}.tunnel`;
      const t = this.map(m.get("tunnel"), tp, ["type", "key", "eth", "ip"]);
      const type = this.str(t.get("type"), `${tp}.type`);
      if (type !== "vxlan" && type !== "geneve" && type !== "nvgre")
        this.expected(t.get("type"), `${tp}.type`, "vxlan, geneve or nvgre");
      const key = this.num(t.get("key"), `${tp}.key`, 0, type === "nvgre" ? 0xffffffff : 0xffffff, true);
      const e = this.map(t.get("eth"), `${tp}.eth`, ["src", "dst"]);
      const ip = this.map(t.get("ip"), `${tp}.ip`, ["src", "dst"]);
      const one = (n: N, p: string): string => {
        const pool = this.pool(n, p);
        if (pool.length !== 1) this.expected(n, p, "one IPv4 address (a tunnel endpoint)");
        return pool[0] as string;
      };
      tunnel = {
        type,
        key,
        ethSrc: this.mac(e.get("src"), `${tp}.eth.src`),
        ethDst: this.mac(e.get("dst"), `${tp}.eth.dst`),
        ipSrc: one(ip.get("src"), `${tp}.ip.src`),
        ipDst: one(ip.get("dst"), `${tp}.ip.dst`),
      };
    }
    // A rate the sending port could not carry is a mistake in the file, not a load test.
    const minFrame = Math.min(...size.sizes);
    const pps = rate.bits ? rate.value / (8 * avgSize(size)) : rate.value;
    const onShare = burst ? burst.onMs / (burst.onMs + burst.offMs) : 1;
    const packets = pps * ((stopMs - startMs) / 1000) * onShare;
    const wireBits = pps * (minFrame + WIRE_OVERHEAD) * 8;
    if (wireBits > MAX_LINK_BPS) {
      this.fail(
        m.get("rate"),
        `${path}.rate`,
        `${rate.text} of ${minFrame}-byte frames needs ${(wireBits / 1e9).toFixed(1)} Gbit/s on the wire, more than the fastest emulated link (${MAX_LINK_BPS / 1e9} Gbit/s)`,
      );
    }
    if (packets > MAX_PACKETS_PER_RUN) {
      this.fail(
        m.get("rate"),
        `${path}.rate`,
        `${rate.text} for ${(stopMs - startMs) / 1000} s is ${Math.round(packets).toLocaleString("en-US")} packets, more than the ${MAX_PACKETS_PER_RUN.toLocaleString("en-US")} a run may send`,
      );
    }
    this.wheres.set(`${path}.port`, this.where(m.get("port")));
    return {
      kind: "generated",
      name,
      host,
      port,
      rate,
      burst,
      startMs,
      stopMs,
      flows,
      distribution,
      lifetimeMs,
      size,
      protocol,
      vlan,
      ethSrc,
      ethDst,
      ipSrc,
      ipDst,
      srcPorts,
      dstPort,
      payload,
      tunnel,
      where,
    };
  }

  private size(n: N, path: string): SizeMix {
    const check = (v: unknown, node: N, p: string): number => {
      const x = Number(v);
      if (!Number.isInteger(x) || x < 60 || x > 9000)
        this.expected(node, p, "a frame size from 60 to 9000 bytes (without FCS)");
      return x;
    };
    if (isScalar(n) && String(n.value).toLowerCase() === "imix") {
      // The "simple IMIX" 7:4:1 mix of 40-, 576- and 1500-byte IP packets (Agilent/Spirent IMIX,
      // RFC 6985 §4 names it), as Ethernet frames without FCS: +14 bytes, 40 padded to the 60 minimum.
      return { sizes: [60, 590, 1514], weights: [7, 4, 1], text: "imix" };
    }
    if (isScalar(n)) return { sizes: [check(n.value, n, path)], weights: [1], text: String(n.value) };
    const items = this.seq(n, path);
    if (items.length === 0) this.expected(n, path, "a size, imix, or a list of sizes");
    const sizes: number[] = [];
    const weights: number[] = [];
    items.forEach((it, i) => {
      if (isMap(it)) {
        const m = this.map(it, `${path}[${i}]`, ["size", "weight"]);
        sizes.push(check((m.get("size") as { value?: unknown } | null)?.value, m.get("size"), `${path}[${i}].size`));
        weights.push(m.has("weight") ? this.num(m.get("weight"), `${path}[${i}].weight`, 0) : 1);
      } else {
        sizes.push(check(isScalar(it) ? it.value : undefined, it, `${path}[${i}]`));
        weights.push(1);
      }
    });
    if (!weights.some((w) => w > 0)) this.fail(n, path, "every weight is 0");
    return { sizes, weights, text: sizes.join("/") };
  }

  private mac(n: N, path: string): string {
    const v = this.str(n, path).toLowerCase();
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(v)) this.expected(n, path, "a MAC address such as 02:00:00:00:00:01");
    return v;
  }

  /** An IPv4 address, a prefix (10.1.0.0/24: its host addresses) or a list of them. */
  private pool(n: N, path: string): string[] {
    const items = isSeq(n) ? (n.items as YamlNode[]) : [n as YamlNode];
    const out: string[] = [];
    items.forEach((it, i) => {
      const p = isSeq(n) ? `${path}[${i}]` : path;
      const v = this.str(it, p);
      const [addr, plen] = v.split("/") as [string, string | undefined];
      const len = plen === undefined ? 32 : /^\d+$/.test(plen) ? Number(plen) : NaN;
      let base = NaN;
      try {
        base = ipv4FromString(addr);
      } catch {
        /* reported below */
      }
      // Pools are expanded to their addresses: a /16 (65,534 hosts) is the largest kept.
      if (!(len >= 16 && len <= 32) || Number.isNaN(base))
        this.expected(it, p, "an IPv4 address or prefix such as 10.0.0.0/24 (at most /16)");
      const size = 2 ** (32 - len);
      const netw = base - (base % size);
      // A prefix stands for its hosts: not the network and broadcast addresses (/31, /32 whole).
      const first = len >= 31 ? 0 : 1;
      const last = len >= 31 ? size - 1 : size - 2;
      for (let h = first; h <= last; h++) out.push(ipv4NumToString(netw + h));
    });
    return out;
  }

  private event(n: N, path: string, hostOf: (n: N, p: string) => string, durationMs: number): TimelineEvent {
    const m = this.map(n, path, EVENT_KEYS);
    const where = this.where(n);
    if (!m.has("at")) this.expected(n, `${path}.at`, 'an "at" time such as "2s"');
    const atMs = this.duration(m.get("at"), `${path}.at`);
    if (atMs > durationMs)
      this.fail(m.get("at"), `${path}.at`, `at ${atMs} ms is after the scenario ends (duration ${durationMs} ms)`);
    const host = hostOf(m.get("host"), `${path}.host`);
    const actions: TimelineAction[] = [];
    const labels: string[] = [];
    const cmd = (text: string, node: N): void => {
      const [tool, ...argv] = splitWords(text) as [Command["tool"], ...string[]];
      actions.push({ kind: "command", host, command: { tool, argv, text, where: this.where(node) } });
    };
    if (m.has("do")) {
      const d = m.get("do");
      const list = isSeq(d) ? (d.items as YamlNode[]) : [d as YamlNode];
      list.forEach((c, i) => {
        const command = this.command(c, isSeq(d) ? `${path}.do[${i}]` : `${path}.do`);
        actions.push({ kind: "command", host, command });
        labels.push(command.text);
      });
    }
    if (m.has("hw_offload")) {
      const on = this.bool(m.get("hw_offload"), `${path}.hw_offload`);
      cmd(`vsctl set Open_vSwitch . other_config:hw-offload=${on}`, m.get("hw_offload"));
      labels.push(`hw-offload ${on ? "on" : "off"}`);
    }
    if (m.has("link")) {
      const l = this.map(m.get("link"), `${path}.link`, ["port", "state"]);
      const port = this.str(l.get("port"), `${path}.link.port`);
      const state = this.str(l.get("state"), `${path}.link.state`);
      if (state !== "up" && state !== "down") this.expected(l.get("state"), `${path}.link.state`, "up or down");
      cmd(`appctl netdev-dummy/set-admin-state ${port} ${state}`, m.get("link"));
      this.wheres.set(`${path}.link.port`, this.where(l.get("port")));
      labels.push(`link ${port} ${state}`);
    }
    if (m.has("nic")) {
      const k = this.map(m.get("nic"), `${path}.nic`, ["port", "l1_entries", "l2_entries", "max_masks"]);
      const port = this.str(k.get("port"), `${path}.nic.port`);
      const sets: string[] = [];
      for (const [key, opt] of [
        ["l1_entries", "hw-l1-entries"],
        ["l2_entries", "hw-l2-entries"],
        ["max_masks", "hw-max-masks"],
      ] as const) {
        if (k.has(key)) sets.push(`options:${opt}=${this.num(k.get(key), `${path}.nic.${key}`, 1, 16_777_216, true)}`);
      }
      if (sets.length === 0) this.expected(m.get("nic"), `${path}.nic`, "l1_entries, l2_entries or max_masks");
      cmd(`vsctl set Interface ${port} ${sets.join(" ")}`, m.get("nic"));
      labels.push(`${port} ${sets.map((s) => s.slice(8)).join(" ")}`);
    }
    if (m.has("warp")) {
      const ms = this.duration(m.get("warp"), `${path}.warp`, false);
      actions.push({ kind: "warp", ms });
      labels.push(`clock warp ${ms} ms`);
    }
    if (actions.length === 0) this.expected(n, path, "one of do, hw_offload, link, nic, warp");
    const label = m.has("label") ? this.str(m.get("label"), `${path}.label`) : labels.join("; ");
    return { atMs, label, actions, where };
  }
}

/** Ethernet preamble, start delimiter, FCS and inter-frame gap: what a frame costs on the wire beyond its bytes. */
export const WIRE_OVERHEAD = 24;
/** The fastest link a port may be (a 400G uplink). */
export const MAX_LINK_BPS = 400e9;

export function avgSize(m: SizeMix): number {
  let w = 0;
  let s = 0;
  m.sizes.forEach((x, i) => {
    s += x * (m.weights[i] as number);
    w += m.weights[i] as number;
  });
  return s / w;
}

const DURATION_UNITS: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  sec: 1000,
  min: 60_000,
  m: 60_000,
  h: 3_600_000,
};

export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|sec|min|m|h)?\s*$/.exec(text);
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === undefined ? 1 : (DURATION_UNITS[m[2]] as number));
}

const RATE_PREFIX: Record<string, number> = { "": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9 };

/** "20kpps", "1.5 Mpps", "10Gbps", "800 Mbit/s", "100bps". */
export function parseRate(text: string): { value: number; bits: boolean } | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKMG]?)(pps|bps|bit\/s|b\/s)\s*$/.exec(text);
  if (!m) return null;
  return { value: Number(m[1]) * (RATE_PREFIX[m[2] as string] as number), bits: m[3] !== "pps" };
}

/** Splits a command line as a POSIX shell does for words and quotes (no expansions). */
export function splitWords(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' quote at column ${i + 1}`);
      cur += text.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (ch === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === "\\" && j + 1 < text.length && '"\\$`'.includes(text[j + 1] as string)) j++;
        cur += text[j];
      }
      if (j >= text.length) throw new Error(`unterminated " quote at column ${i + 1}`);
      i = j;
      inWord = true;
    } else if (ch === "\\" && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (ch === " " || ch === "\t" || ch === "\n") {
      if (inWord) {
        out.push(cur);
        cur = "";
        inWord = false;
      }
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

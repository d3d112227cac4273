// Runs a scenario headless, in-process, on the virtual clock: for each hw-offload setting in
// `runs` (normally on, then off), fresh hosts are configured by the scenario's commands, the
// same seeded traffic is sent, the timeline is applied at its times, and statistics are sampled
// into a RunResult (result.ts). No daemon, no sockets, no wall clock: the same scenario and seed
// give byte-identical captures and reports.
//
// Before anything runs, the scenario is checked as a whole (check()): setup commands on a
// scratch host, ports named by traffic and links, timeline commands replayed in order without
// traffic, capture files to replay. The first problem stops the run with one message that
// points into the scenario file.

import { mkdirSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import type { Db } from "../ovsdb/db.ts";
import { CommandTable } from "../ctl/registry.ts";
import type { HostEngine } from "../host/engine.ts";
import { Host } from "../host/host.ts";
import { Tier } from "../dp/tier.ts";
import { flowLine } from "../host/commands/index.ts";
import { isTunnelType } from "../ofproto/tunnel.ts";
import { Links, type LinkDelivery } from "../ports/link.ts";
import type { DpFlow } from "../dp/datapath.ts";
import type { Netdev } from "../host/netdev.ts";
import type { CommandResult } from "../ctl/registry.ts";
import { ScenarioError, type Command, type Scenario, type TimelineEvent } from "./load.ts";
import { makeGenerators, type Generator } from "./traffic.ts";
import { TIERS, type Report, type RunResult, type Sample, type TimelineMark } from "./result.ts";

export interface RunOptions {
  /** Relative paths in the scenario (pcap files to replay) are relative to this. */
  baseDir: string;
  /** Outputs (captures) go under this directory. */
  outDir: string;
  /** Called now and then with the share of the work done (0..1). */
  progress?: (done: number, label: string) => void;
  /** Aborts the run between packets; captures written so far are closed and stay readable. */
  signal?: AbortSignal;
}

export class RunAborted extends Error {
  override readonly name = "RunAborted";
  constructor(readonly partial: Report) {
    super("interrupted");
  }
}

const N_TIERS = TIERS.length;
/** The clock moves in steps of at most this between packets, so timers run on time. */
const TICK_MS = 10;

/** One emulated host of the scenario (a Host, as a daemon holds one), and the flows it installed. */
export class EmuHost {
  readonly host: Host;
  readonly db: Db;
  readonly engine: HostEngine;
  readonly installed: DpFlow[] = [];

  constructor(
    readonly name: string,
    private readonly cwd: string,
    links?: Links,
  ) {
    this.host = new Host({
      commands: new CommandTable(),
      // A port a scenario link ends at gets the link's driver, whatever type its setup gave it.
      portDriverFor: (row) => {
        const end = linkEnd(name, row.name);
        return links?.has(end) ? links.factory(end) : undefined;
      },
      onFlowInstall: (f) => {
        this.installed.push(f);
      },
    });
    this.db = this.host.db;
    this.engine = this.host.engine;
    this.engine.reconfigure();
  }

  exec(c: Command): Promise<CommandResult> {
    return this.host.exec(c.tool, c.argv, { cwd: this.cwd });
  }

  /** Interfaces whose configuration failed, with the reason (vsctl shows it as Interface error). */
  errors(): string[] {
    const out: string[] = [];
    for (const b of this.db.root.bridges)
      for (const p of b.ports)
        for (const i of p.interfaces) {
          if (i.error) out.push(`interface ${i.name}: ${i.error}`);
        }
    return out;
  }

  /** Interface names; with `capturable`, only ports with packets of their own (a tunnel port's are the uplink's). */
  interfaceNames(capturable = false): string[] {
    return this.db.root.bridges.flatMap((b) =>
      b.ports.flatMap((p) => p.interfaces.filter((i) => !capturable || !isTunnelType(i.type)).map((i) => i.name)),
    );
  }
}

async function execOrFail(h: EmuHost, c: Command, what: string): Promise<void> {
  const r = await h.exec(c);
  if (r.code !== 0) {
    const msg = (r.stderr || r.stdout).trim().split("\n")[0];
    throw new ScenarioError(`${c.where}: ${what}: "${c.text}" failed: ${msg}`);
  }
  const errs = h.errors();
  if (errs.length > 0) throw new ScenarioError(`${c.where}: ${what}: after "${c.text}": ${errs[0]}`);
}

async function buildHosts(sc: Scenario, cwd: string, links?: Links): Promise<Map<string, EmuHost>> {
  const hosts = new Map<string, EmuHost>();
  for (const spec of sc.hosts) {
    const h = new EmuHost(spec.name, cwd, links);
    hosts.set(spec.name, h);
    for (const c of spec.setup) await execOrFail(h, c, sc.hosts.length > 1 ? `host ${spec.name} setup` : "setup");
  }
  return hosts;
}

function portOf(sc: Scenario, hosts: Map<string, EmuHost>, host: string, port: string, path: string): Netdev {
  const h = hosts.get(host) as EmuHost;
  const dev = h.engine.devByName(port);
  if (dev === null) {
    const known = h.interfaceNames();
    throw new ScenarioError(
      `${sc.whereOf(path)}: ${path}: no port "${port}" on ${sc.hosts.length > 1 ? `host ${host}` : "the host"} (ports: ${known.join(", ") || "none"})`,
    );
  }
  return dev;
}

/**
 * Checks the whole scenario without sending traffic: setup, ports, links, the timeline in
 * order, replay files. Throws ScenarioError with the first problem.
 */
export async function check(sc: Scenario, opts: Pick<RunOptions, "baseDir">): Promise<void> {
  const hosts = await buildHosts(sc, opts.baseDir);
  sc.traffic.forEach((t, i) => portOf(sc, hosts, t.host, t.port, `traffic[${i}].port`));
  sc.links.forEach((l, i) => {
    portOf(sc, hosts, l.a.host, l.a.port, `links[${i}].a`);
    portOf(sc, hosts, l.b.host, l.b.port, `links[${i}].b`);
  });
  makeGenerators(sc.traffic, sc.seed, opts.baseDir);
  for (const ev of sc.timeline) {
    for (const a of ev.actions) {
      if (a.kind === "command") await execOrFail(hosts.get(a.host) as EmuHost, a.command, `timeline at ${ev.atMs} ms`);
    }
  }
  for (const h of hosts.values()) await h.engine.close();
}

/** Runs every hw-offload setting of the scenario and returns the report. */
export async function runScenario(sc: Scenario, opts: RunOptions): Promise<Report> {
  await check(sc, opts);
  const report: Report = {
    scenario: { name: sc.name, description: sc.description, source: sc.source, seed: sc.seed },
    runs: [],
    costOverrides: { ...sc.cost },
  };
  for (let r = 0; r < sc.runs.length; r++) {
    const hw = sc.runs[r] as boolean;
    const progress = opts.progress
      ? (x: number) =>
          (opts.progress as NonNullable<RunOptions["progress"]>)(
            (r + x) / sc.runs.length,
            `hw-offload ${hw ? "on" : "off"}`,
          )
      : undefined;
    const res = await runOnce(sc, hw, opts, progress);
    report.runs.push(res.result);
    if (res.aborted) throw new RunAborted(report);
  }
  return report;
}

/** Per-run statistics of the hosts under study: bytes per tier, samples every sampleMs, peaks. */
class RunStats {
  readonly tierBytes = new Float64Array(N_TIERS);
  readonly samples: Sample[] = [];
  readonly marks: TimelineMark[] = [];
  readonly everOffloaded = new Set<DpFlow>();
  peakFlows = 0;
  peakOffloaded = 0;
  private readonly engines: HostEngine[];
  private readonly counted: Set<HostEngine>;
  private readonly lastTiers = new Float64Array(N_TIERS);
  private readonly sampleTiers = new Float64Array(N_TIERS);
  private readonly nowTiers = new Float64Array(N_TIERS);
  private sampleInstalls = 0;

  constructor(
    private readonly sampleMs: number,
    private readonly hosts: EmuHost[],
  ) {
    this.engines = hosts.map((h) => h.engine);
    this.counted = new Set(this.engines);
  }

  /**
   * Before `e` receives a frame: remembers its tier counters (no closure, no allocation per
   * packet); false for a host outside the statistics, which then needs no end().
   */
  begin(e: HostEngine): boolean {
    if (!this.counted.has(e)) return false;
    const tiers = e.tiers;
    const last = this.lastTiers;
    for (let i = 0; i < N_TIERS; i++) last[i] = tiers[i] as number;
    return true;
  }

  /** After a counted host received a frame of `len` bytes: its bytes go to the tier that handled it. */
  end(e: HostEngine, len: number): void {
    const tiers = e.tiers;
    const last = this.lastTiers;
    for (let i = 0; i < N_TIERS; i++) {
      if (tiers[i] !== last[i]) {
        this.tierBytes[i] = (this.tierBytes[i] as number) + len;
        break;
      }
    }
  }

  /** The time series' point at `tMs`: packet rates per tier, flows, offloads, setups. */
  sample(tMs: number): void {
    const now = this.nowTiers;
    now.fill(0);
    for (const e of this.engines)
      for (let i = 0; i < N_TIERS; i++) now[i] = (now[i] as number) + (e.tiers[i] as number);
    const secs = this.sampleMs / 1000;
    const tierPps = Array.from(now, (v, i) => (v - (this.sampleTiers[i] as number)) / secs);
    this.sampleTiers.set(now);
    let dpFlows = 0;
    let offloaded = 0;
    for (const e of this.engines)
      for (const f of e.dp.flows) {
        if (f === null) continue;
        dpFlows++;
        if (f.offload === "offloaded") {
          offloaded++;
          this.everOffloaded.add(f);
        }
      }
    const n = this.hosts.reduce((a, h) => a + h.installed.length, 0);
    this.samples.push({
      tMs,
      tierPps,
      dpFlows,
      offloadedFlows: offloaded,
      setupsPerSec: (n - this.sampleInstalls) / secs,
    });
    this.sampleInstalls = n;
    if (dpFlows > this.peakFlows) this.peakFlows = dpFlows;
    if (offloaded > this.peakOffloaded) this.peakOffloaded = offloaded;
  }
}

/** The end of a link at `port` of `host`, as Links names it. */
const linkEnd = (host: string, port: string): string => `${host}/${port}`;

/**
 * One run of the scenario's traffic and timeline on hosts already set up: the virtual clock
 * moves from one thing to happen to the next (a generator's packet, an event, a sample, a tick),
 * frames crossing links are delivered between packets.
 */
class Run {
  /** Virtual time of the run, ms. */
  t = 0;
  aborted = false;
  private nextSample: number;
  private ev = 0;
  private readonly allEngines: HostEngine[];
  private readonly gens: Generator[];
  private readonly genPorts: Netdev[];
  private readonly genEngines: HostEngine[];
  private readonly deliverLinked: LinkDelivery;

  constructor(
    private readonly sc: Scenario,
    private readonly hosts: Map<string, EmuHost>,
    private readonly links: Links,
    private readonly stats: RunStats,
    baseDir: string,
  ) {
    this.nextSample = sc.sampleMs;
    this.allEngines = [...hosts.values()].map((h) => h.engine);
    this.gens = makeGenerators(sc.traffic, sc.seed, baseDir);
    this.genPorts = sc.traffic.map((t) => (hosts.get(t.host) as EmuHost).engine.devByName(t.port) as Netdev);
    this.genEngines = sc.traffic.map((t) => (hosts.get(t.host) as EmuHost).engine);
    // The engine behind each link end, found once rather than from the end's name per frame.
    const endEngine = new Map<string, HostEngine>();
    for (const l of sc.links)
      for (const end of [l.a, l.b]) endEngine.set(linkEnd(end.host, end.port), (hosts.get(end.host) as EmuHost).engine);
    this.deliverLinked = (to, frame, receive) => {
      const e = endEngine.get(to) as HostEngine;
      e.nowMs = this.t;
      const counted = this.stats.begin(e);
      receive(frame);
      if (counted) this.stats.end(e, frame.length);
    };
  }

  async loop(opts: RunOptions, progress?: (x: number) => void): Promise<void> {
    const { sc, gens } = this;
    const end = sc.durationMs;
    let lastProgress = -1;
    let sinceYield = 0;
    while (this.t < end && !this.aborted) {
      // The next thing to happen: an event, or the earliest generator's packet.
      let g = -1;
      let gMs = Infinity;
      for (let i = 0; i < gens.length; i++) {
        const x = (gens[i] as Generator).nextMs;
        if (x < gMs) {
          gMs = x;
          g = i;
        }
      }
      const evMs = this.ev < sc.timeline.length ? (sc.timeline[this.ev] as TimelineEvent).atMs : Infinity;
      const next = Math.min(gMs, evMs, end);
      if (next > this.t) this.advanceTo(next);
      if (this.t >= end) break;
      if (evMs <= this.t) {
        await this.applyEvent(sc.timeline[this.ev++] as TimelineEvent);
        continue;
      }
      const gen = gens[g] as Generator;
      const e = this.genEngines[g] as HostEngine;
      const dev = this.genPorts[g] as Netdev;
      const frame = gen.frame();
      e.nowMs = this.t;
      const counted = this.stats.begin(e);
      e.receive(dev, frame);
      if (counted) this.stats.end(e, frame.length);
      gen.advance();
      if (this.links.pending > 0) this.links.drain(this.deliverLinked);
      if ((++sinceYield & 1023) === 0) {
        // Let Ctrl-C (and the terminal) in now and then.
        await new Promise<void>((r) => setImmediate(r));
        const p = Math.floor((this.t / end) * 1000);
        if (progress !== undefined && p !== lastProgress) {
          lastProgress = p;
          progress(this.t / end);
        }
      }
      if (opts.signal?.aborted) this.aborted = true;
    }
    if (!this.aborted) this.advanceTo(end);
    for (const e of this.allEngines) e.settle();
  }

  /** Moves the clock to `target` in ticks; sample boundaries inside are recorded with the counts at that point. */
  private advanceTo(target: number): void {
    while (this.t < target) {
      const step = Math.min(target, this.nextSample, this.t + TICK_MS) - this.t;
      for (const e of this.allEngines) e.advance(step);
      this.t += step;
      this.links.drain(this.deliverLinked);
      if (this.t >= this.nextSample) {
        this.stats.sample(this.nextSample);
        this.nextSample += this.sc.sampleMs;
      }
    }
  }

  private async applyEvent(ev: TimelineEvent): Promise<void> {
    this.stats.marks.push({ tMs: this.t, label: ev.label });
    let warp = 0;
    for (const a of ev.actions) {
      if (a.kind === "command")
        await execOrFail(this.hosts.get(a.host) as EmuHost, a.command, `timeline at ${ev.atMs} ms`);
      else warp += a.ms;
    }
    if (warp <= 0) return;
    // The clock jumps: timers run at the new time; packets due in between are not sent.
    const target = Math.min(this.sc.durationMs, this.t + warp);
    for (const e of this.allEngines) e.advance(target - this.t, 500);
    this.t = target;
    while (this.nextSample <= this.t) {
      this.stats.sample(this.nextSample);
      this.nextSample += this.sc.sampleMs;
    }
    for (const gen of this.gens) while (gen.nextMs < this.t) gen.advance();
  }
}

async function runOnce(
  sc: Scenario,
  hw: boolean,
  opts: RunOptions,
  progress?: (x: number) => void,
): Promise<{ result: RunResult; aborted: boolean }> {
  // Links: a frame leaving one end is received at the other once the current packet is done.
  const links = new Links();
  for (const l of sc.links) links.connect(linkEnd(l.a.host, l.a.port), linkEnd(l.b.host, l.b.port));
  const hosts = await buildHosts(sc, opts.baseDir, links);
  const captures = await configureRun(sc, hw, hosts, opts);
  links.plug();
  // Statistics cover the hosts under study; underlay switches only forward.
  const switches = new Set(sc.hosts.filter((h) => h.isSwitch).map((h) => h.name));
  const hostList = [...hosts.values()].filter((h) => !switches.has(h.name));
  const stats = new RunStats(sc.sampleMs, hostList);
  const run = new Run(sc, hosts, links, stats, opts.baseDir);
  await run.loop(opts, progress);
  const result = summarize(sc, hw, hostList, {
    tierBytes: stats.tierBytes,
    samples: stats.samples,
    marks: stats.marks,
    everOffloaded: stats.everOffloaded,
    peakFlows: stats.peakFlows,
    peakOffloaded: stats.peakOffloaded,
    captures,
    durationMs: run.aborted ? run.t : sc.durationMs,
  });
  for (const h of hosts.values()) await h.engine.close();
  progress?.(1);
  return { result, aborted: run.aborted };
}

/** Sets hw-offload on every host and points its ports' captures at the run's file; the files. */
async function configureRun(
  sc: Scenario,
  hw: boolean,
  hosts: Map<string, EmuHost>,
  opts: RunOptions,
): Promise<string[]> {
  const tag = hw ? "hw-on" : "hw-off";
  const captures: string[] = [];
  for (const h of hosts.values()) {
    await execOrFail(
      h,
      {
        tool: "vsctl",
        argv: ["set", "Open_vSwitch", ".", `other_config:hw-offload=${hw}`],
        text: `hw-offload=${hw}`,
        where: sc.source,
      },
      "run",
    );
    if (sc.outputs.captures !== null) {
      const dir = isAbsolute(sc.outputs.captures) ? sc.outputs.captures : resolve(opts.outDir, sc.outputs.captures);
      const file = resolve(dir, `${sc.name}${hosts.size > 1 ? `-${h.name}` : ""}-${tag}.pcapng`);
      mkdirSync(dirname(file), { recursive: true });
      const sets = h
        .interfaceNames(true)
        .flatMap((n, i) => [...(i > 0 ? ["--"] : []), "set", "Interface", n, `options:pcap=${file}`]);
      if (sets.length > 0)
        await execOrFail(h, { tool: "vsctl", argv: sets, text: "captures", where: sc.source }, "run");
      captures.push(file);
    }
  }
  return captures;
}

interface Collected {
  tierBytes: Float64Array;
  samples: Sample[];
  marks: TimelineMark[];
  everOffloaded: Set<DpFlow>;
  peakFlows: number;
  peakOffloaded: number;
  captures: string[];
  durationMs: number;
}

function summarize(sc: Scenario, hw: boolean, hosts: EmuHost[], c: Collected): RunResult {
  const tiers = new Float64Array(N_TIERS);
  const fallbacks: Record<string, number> = {};
  const drops: Record<string, number> = {};
  let l1Hits = 0;
  let l2Hits = 0;
  let nicRx = 0;
  let emcHits = 0;
  let megaflowHits = 0;
  let lost = 0;
  const refused = new Map<string, { flows: number; example: string }>();
  let offloaded = 0;
  let software = 0;
  let setups = 0;
  for (const h of hosts) {
    const e = h.engine;
    for (let i = 0; i < N_TIERS; i++) tiers[i] = (tiers[i] as number) + (e.tiers[i] as number);
    for (const [k, v] of e.fallbacks) fallbacks[k] = (fallbacks[k] ?? 0) + v;
    for (const [k, v] of e.drops) drops[k] = (drops[k] ?? 0) + v;
    for (const nic of e.nics.values()) {
      const k = nic.esw.counters();
      l1Hits += k.l1Hits;
      l2Hits += k.l2Hits;
      for (const x of k.rx) nicRx += x;
    }
    emcHits += e.tiers[Tier.DP_EMC] as number;
    megaflowHits += e.tiers[Tier.DP_MEGAFLOW] as number;
    lost += e.dp.lost;
    setups += h.installed.length;
    for (const f of h.installed) {
      if (f.offload === "offloaded" || c.everOffloaded.has(f)) {
        offloaded++;
        continue;
      }
      software++;
      if (f.offloadReason !== null) {
        const r = refused.get(f.offloadReason);
        if (r) r.flows++;
        else refused.set(f.offloadReason, { flows: 1, example: flowLine(e, f, false) });
      }
    }
  }
  const packets = Array.from(tiers).reduce((a, b) => a + b, 0);
  const secs = c.durationMs / 1000;
  return {
    label: `hw-offload ${hw ? "on" : "off"}`,
    hwOffload: hw,
    durationMs: c.durationMs,
    packets,
    bytes: c.tierBytes.reduce((a, b) => a + b, 0),
    tiers: TIERS.map((tier, i) => ({
      tier,
      packets: tiers[i] as number,
      bytes: c.tierBytes[i] as number,
      share: packets > 0 ? (tiers[i] as number) / packets : 0,
    })),
    nic: { l1Hits, l1Misses: nicRx - l1Hits, l2Hits, l2Misses: Math.max(0, nicRx - l1Hits - l2Hits) },
    datapath: { emcHits, megaflowHits, upcalls: tiers[Tier.UPCALL] as number, lost },
    flowSetups: setups,
    setupRate: secs > 0 ? setups / secs : 0,
    peakFlows: c.peakFlows,
    peakOffloaded: c.peakOffloaded,
    flows: {
      offloaded,
      software,
      refused: [...refused]
        .map(([reason, r]) => ({ reason, ...r }))
        .sort((a, b) => b.flows - a.flows || (a.reason < b.reason ? -1 : 1)),
    },
    fallbacks: sortedRecord(fallbacks),
    drops: sortedRecord(drops),
    samples: c.samples,
    sampleMs: sc.sampleMs,
    marks: c.marks,
    captures: c.captures,
  };
}

function sortedRecord(r: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(r).sort()) if ((r[k] as number) > 0) out[k] = r[k] as number;
  return out;
}

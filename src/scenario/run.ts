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
  ) {
    this.host = new Host({
      commands: new CommandTable(),
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

async function buildHosts(sc: Scenario, cwd: string): Promise<Map<string, EmuHost>> {
  const hosts = new Map<string, EmuHost>();
  for (const spec of sc.hosts) {
    const h = new EmuHost(spec.name, cwd);
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

interface Wire {
  to: Netdev;
  host: EmuHost;
}

async function runOnce(
  sc: Scenario,
  hw: boolean,
  opts: RunOptions,
  progress?: (x: number) => void,
): Promise<{ result: RunResult; aborted: boolean }> {
  const hosts = await buildHosts(sc, opts.baseDir);
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
  // Statistics cover the hosts under study; underlay switches only forward.
  const switches = new Set(sc.hosts.filter((h) => h.isSwitch).map((h) => h.name));
  const hostList = [...hosts.values()].filter((h) => !switches.has(h.name));
  const allEngines = [...hosts.values()].map((h) => h.engine);
  const engines = hostList.map((h) => h.engine);

  // Links: a frame leaving one end is received at the other once the current packet is done
  // (queued, so one host's processing never nests inside another's).
  const queue: { wire: Wire; frame: Uint8Array }[] = [];
  const wireEnds: { dev: Netdev; wire: Wire }[] = [];
  for (const l of sc.links) {
    const ha = hosts.get(l.a.host) as EmuHost;
    const hb = hosts.get(l.b.host) as EmuHost;
    const da = ha.engine.devByName(l.a.port) as Netdev;
    const db = hb.engine.devByName(l.b.port) as Netdev;
    wireEnds.push({ dev: da, wire: { to: db, host: hb } }, { dev: db, wire: { to: da, host: ha } });
  }
  const attachWires = (): void => {
    for (const { dev, wire } of wireEnds) {
      if (dev.driver !== null) continue;
      dev.driver = {
        live: false,
        send: (frame) => {
          queue.push({ wire, frame: frame.slice() });
        },
        close: () => {},
      };
    }
  };
  attachWires();
  const drain = (): void => {
    for (let i = 0; i < queue.length; i++) {
      const q = queue[i] as { wire: Wire; frame: Uint8Array };
      deliver(q.wire.host.engine, q.wire.to, q.frame);
    }
    queue.length = 0;
  };

  const gens = makeGenerators(sc.traffic, sc.seed, opts.baseDir);
  const genPorts = sc.traffic.map((t) => (hosts.get(t.host) as EmuHost).engine.devByName(t.port) as Netdev);
  const genEngines = sc.traffic.map((t) => (hosts.get(t.host) as EmuHost).engine);

  const tierBytes = new Float64Array(N_TIERS);
  const lastTiers = new Float64Array(N_TIERS);
  const sampleTiers = new Float64Array(N_TIERS);
  const nowTiers = new Float64Array(N_TIERS);
  const samples: Sample[] = [];
  const marks: TimelineMark[] = [];
  const everOffloaded = new Set<DpFlow>();
  let sampleInstalls = 0;
  let peakFlows = 0;
  let peakOffloaded = 0;

  const sumTiers = (out: Float64Array): void => {
    out.fill(0);
    for (const e of engines) for (let i = 0; i < N_TIERS; i++) out[i] = (out[i] as number) + (e.tiers[i] as number);
  };
  const installs = (): number => hostList.reduce((a, h) => a + h.installed.length, 0);
  const takeSample = (tMs: number): void => {
    const now = nowTiers;
    sumTiers(now);
    const secs = sc.sampleMs / 1000;
    const tierPps = Array.from(now, (v, i) => (v - (sampleTiers[i] as number)) / secs);
    sampleTiers.set(now);
    let dpFlows = 0;
    let offloaded = 0;
    for (const e of engines)
      for (const f of e.dp.flows) {
        if (f === null) continue;
        dpFlows++;
        if (f.offload === "offloaded") {
          offloaded++;
          everOffloaded.add(f);
        }
      }
    const n = installs();
    samples.push({ tMs, tierPps, dpFlows, offloadedFlows: offloaded, setupsPerSec: (n - sampleInstalls) / secs });
    sampleInstalls = n;
    if (dpFlows > peakFlows) peakFlows = dpFlows;
    if (offloaded > peakOffloaded) peakOffloaded = offloaded;
  };

  const applyEvent = async (ev: TimelineEvent, t: number): Promise<number> => {
    marks.push({ tMs: t, label: ev.label });
    let warp = 0;
    for (const a of ev.actions) {
      if (a.kind === "command") await execOrFail(hosts.get(a.host) as EmuHost, a.command, `timeline at ${ev.atMs} ms`);
      else warp += a.ms;
    }
    attachWires();
    return warp;
  };

  let t = 0;
  let nextSample = sc.sampleMs;
  let ev = 0;
  let aborted = false;
  let lastProgress = -1;
  let sinceYield = 0;
  const end = sc.durationMs;
  const counted = new Set(engines);
  /** A frame arrives at `dev` now; its bytes are counted in the tier that handled it. */
  const deliver = (e: HostEngine, dev: Netdev, frame: Uint8Array): void => {
    e.nowMs = t;
    if (!counted.has(e)) {
      e.receive(dev, frame);
      return;
    }
    const tiers = e.tiers;
    for (let i = 0; i < N_TIERS; i++) lastTiers[i] = tiers[i] as number;
    e.receive(dev, frame);
    for (let i = 0; i < N_TIERS; i++) {
      if (tiers[i] !== lastTiers[i]) {
        tierBytes[i] = (tierBytes[i] as number) + frame.length;
        break;
      }
    }
  };
  const advanceTo = (target: number): void => {
    // Sample boundaries inside the step are recorded with the counts at that point.
    while (t < target) {
      const step = Math.min(target, nextSample, t + TICK_MS) - t;
      for (const e of allEngines) e.advance(step);
      t += step;
      drain();
      if (t >= nextSample) {
        takeSample(nextSample);
        nextSample += sc.sampleMs;
      }
    }
  };

  while (t < end && !aborted) {
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
    const evMs = ev < sc.timeline.length ? (sc.timeline[ev] as TimelineEvent).atMs : Infinity;
    const next = Math.min(gMs, evMs, end);
    if (next > t) advanceTo(next);
    if (t >= end) break;
    if (evMs <= t) {
      const warp = await applyEvent(sc.timeline[ev++] as TimelineEvent, t);
      if (warp > 0) {
        // The clock jumps: timers run at the new time; packets due in between are not sent.
        const target = Math.min(end, t + warp);
        for (const e of allEngines) e.advance(target - t, 500);
        t = target;
        while (nextSample <= t) {
          takeSample(nextSample);
          nextSample += sc.sampleMs;
        }
        for (const gen of gens) while (gen.nextMs < t) gen.advance();
      }
      continue;
    }
    const gen = gens[g] as Generator;
    const e = genEngines[g] as HostEngine;
    const dev = genPorts[g] as Netdev;
    deliver(e, dev, gen.frame());
    gen.advance();
    if (queue.length > 0) drain();
    if ((++sinceYield & 1023) === 0) {
      // Let Ctrl-C (and the terminal) in now and then.
      await new Promise<void>((r) => setImmediate(r));
      const p = Math.floor((t / end) * 1000);
      if (progress !== undefined && p !== lastProgress) {
        lastProgress = p;
        progress(t / end);
      }
    }
    if (opts.signal?.aborted) aborted = true;
  }
  if (!aborted) advanceTo(end);
  for (const e of allEngines) e.settle();

  const result = summarize(sc, hw, hostList, {
    tierBytes,
    samples,
    marks,
    everOffloaded,
    peakFlows,
    peakOffloaded,
    captures,
    durationMs: aborted ? t : end,
  });
  for (const e of allEngines) await e.close();
  progress?.(1);
  return { result, aborted };
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

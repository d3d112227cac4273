import type { HostEngine } from "../../src/host/engine.ts";
import { engineWithCommands } from "./engine-fixture.ts";
import { addPort, newBridge, newInterface, type BridgeConfig, type OvsConfig } from "../../src/ovsdb/config.ts";

export interface TunnelHost {
  e: HostEngine;
  root: OvsConfig;
  br0: BridgeConfig;
  int: BridgeConfig;
  app(...argv: string[]): Promise<string>;
  appResult(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  ofctl(...argv: string[]): string;
  /** ofproto/trace's last line. */
  dpActions(flow: string): Promise<string>;
}

export const HWADDR = "aa:55:aa:55:00:00";

/** `tunnels`: [name, type, options, ofport_request] on int-br. */
export async function tunnelHost(
  tunnels: [string, string, Record<string, string>, number][],
  opts: { routes?: boolean; neigh?: boolean } = {},
): Promise<TunnelHost> {
  const br0 = newBridge("br0", "dummy", "secure");
  br0.other_config.set("hwaddr", HWADDR);
  const p0 = newInterface("p0", "dummy", {}, 1);
  p0.other_config = new Map([["hwaddr", HWADDR]]);
  addPort(br0, p0);
  const int = newBridge("int-br", "dummy");
  for (const [name, type, options, ofp] of tunnels) addPort(int, newInterface(name, type, options, ofp));
  const root: OvsConfig = { bridges: [br0, int], other_config: new Map() };
  const { e, cmds } = engineWithCommands({ root });
  e.reconfigure();
  const appResult = (...argv: string[]) => cmds.run(argv);
  const app = async (...argv: string[]): Promise<string> => {
    const r = await cmds.run(argv);
    if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const ofctl = (...argv: string[]): string => {
    const r = e.ofctl(argv, { cwd: process.cwd() });
    if (r.code !== 0) throw new Error(r.stderr);
    return r.stdout;
  };
  if (opts.routes !== false) {
    await app("netdev-dummy/ip4addr", "br0", "1.1.2.88/24");
    await app("netdev-dummy/ip6addr", "br0", "2001:cafe::88/24");
    await app("ovs/route/add", "1.1.2.92/24", "br0");
    await app("ovs/route/add", "2001:cafe::92/24", "br0");
  }
  ofctl("add-flow", "br0", "action=normal");
  if (opts.neigh) {
    await app("tnl/neigh/set", "br0", "1.1.2.92", "f8:bc:12:44:34:b6");
    await app("tnl/neigh/set", "br0", "1.1.2.93", "f8:bc:12:44:34:b7");
    await app("tnl/neigh/set", "br0", "2001:cafe::92", "f8:bc:12:44:34:b6");
  }
  const dpActions = async (flow: string): Promise<string> => {
    const out = await app("ofproto/trace", "ovs-dummy", flow);
    return out.trimEnd().split("\n").pop() as string;
  };
  return { e, root, br0, int, app, appResult, ofctl, dpActions };
}

/** The six tunnel ports of the OVS session quoted by the tests. */
export const PORTS: [string, string, Record<string, string>, number][] = [
  ["t2", "vxlan", { remote_ip: "1.1.2.92", key: "123" }, 2],
  ["t1", "gre", { remote_ip: "1.1.2.92", key: "456" }, 3],
  ["t3", "vxlan", { remote_ip: "1.1.2.93", out_key: "flow", csum: "true" }, 4],
  ["t4", "geneve", { remote_ip: "flow", key: "123" }, 5],
  ["t5", "vxlan", { remote_ip: "2001:cafe::92", key: "789" }, 6],
  ["t6", "geneve", { remote_ip: "1.1.2.92", key: "flow", tos: "inherit", ttl: "inherit" }, 7],
];

// The host's appctl commands, with ovs-appctl's names, arguments and output (checked against
// Open vSwitch 3.1 with dummy ports), plus the emulator's own nic/show and offload/show. One
// file per family, each with the narrow view of the host it needs; whoever builds a host
// registers them (src/host/host.ts), so the engine never loads its commands.

import type { CommandRegistry } from "../../ctl/registry.ts";
import type { HostEngine } from "../engine.ts";
import { registerDpctlCommands } from "./dpctl.ts";
import { registerDummyCommands } from "./netdev-dummy.ts";
import { registerOffloadCommands } from "./offload.ts";
import { registerSwitchCommands } from "./switch.ts";
import { registerTunnelCommands } from "./tunnel.ts";

export { flowLine } from "./dpctl.ts";

export function registerCommands(e: HostEngine, u: CommandRegistry): void {
  registerDummyCommands(e, u);
  registerTunnelCommands(e, u);
  registerDpctlCommands(e, u);
  registerOffloadCommands(e, u);
  registerSwitchCommands(e, u);
}

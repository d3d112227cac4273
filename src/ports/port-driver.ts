// Port drivers: what is behind a port that is neither a NIC representor nor host-only — a Linux
// TAP device, a UDP or stream socket to a VM or another emulator, a scenario's wire to another
// emulated host. The engine knows ports by type; a driver moves frames between the port and the
// outside. Drivers are looked up by Interface type when the configuration names one, so a new
// kind of port is a new driver and an entry in PORT_DRIVERS, with no change to the engine.

import type { InterfaceConfig } from "../ovsdb/config.ts";

export interface PortDriver {
  /** A frame leaves the switch on this port. `frame` is valid only during the call: copy it to keep it. */
  send(frame: Uint8Array): void;
  /** Releases the device or socket. Called once, when the port goes away or the engine closes. */
  close(): void | Promise<void>;
  /**
   * True for drivers attached to real things (devices, sockets): with any live port the daemon
   * runs on the real clock, since frames arrive when the outside sends them.
   */
  readonly live: boolean;
  /** A line for dpif/show-like listings (e.g. "udp 127.0.0.1:5555 → 127.0.0.1:5556"). */
  describe?(): string;
}

export interface PortDriverContext {
  /** The port's name (the Interface row's). */
  readonly name: string;
  /** A frame arrives on the port from outside. The engine copies it before returning. */
  receive(frame: Uint8Array): void;
  /** The port failed after it was opened (device gone, peer closed): the text becomes Interface error. */
  fail(error: string): void;
  /** The port works again after fail() (a peer reconnected): clears Interface error, link up. */
  recover(): void;
  log(line: string): void;
}

/**
 * Opens the driver for an Interface row, or returns the error text that goes in the Interface's
 * `error` column (OVS's style: "could not open network device NAME (REASON)").
 */
export type PortDriverFactory = (row: InterfaceConfig, ctx: PortDriverContext) => PortDriver | string;

/** Drivers by Interface type. Filled by the modules that implement them. */
export const PORT_DRIVERS = new Map<string, PortDriverFactory>();

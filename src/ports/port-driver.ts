// Port drivers: what is behind a port that is neither a NIC representor nor host-only — a Linux
// TAP device, a UDP or stream socket to a VM or another emulator, a scenario's wire to another
// emulated host. The engine knows ports by type; a driver moves frames between the port and the
// outside. Drivers are looked up by Interface type when the configuration names one, so a new
// kind of port is a new driver and an entry in PORT_DRIVERS, with no change to the engine.

import type { InterfaceConfig } from "../ovsdb/config.ts";

export interface PortDriver {
  /**
   * A frame leaves the switch on this port. `frame` is valid only during the call: copy it to
   * keep it. After close(), or while there is no peer, the frame is dropped, never thrown.
   */
  send(frame: Uint8Array): void;
  /**
   * Releases the device or socket, including any connect or retry still pending. Called when the
   * port goes away or the engine closes; never throws or rejects (the engine does not wait for
   * it everywhere), and a second call does nothing. Once called, the driver calls none of its
   * context's functions but `log`: a late fail() would land on a new port of the same name.
   */
  close(): void | Promise<void>;
  /**
   * True for drivers attached to real things (devices, sockets): with any live port the daemon
   * runs on the real clock, since frames arrive when the outside sends them.
   */
  readonly live: boolean;
  /** One line for live/show-like listings (e.g. "udp 127.0.0.1:5555 → 127.0.0.1:5556"). */
  describe(): string;
}

export interface PortDriverContext {
  /** The port's name (the Interface row's). */
  readonly name: string;
  /** A frame arrives on the port from outside. The engine copies it before returning. */
  receive(frame: Uint8Array): void;
  /** The port failed after it was opened (device gone, peer closed): one line, once per failure; it becomes Interface error. */
  fail(error: string): void;
  /** The port works again after fail() (a peer reconnected): clears Interface error, link up. */
  recover(): void;
  log(line: string): void;
}

/**
 * Opens the driver for an Interface row, or returns the error text that goes in the Interface's
 * `error` column (OVS's style: "could not open network device NAME (REASON)"), never throws;
 * problems found later go through the context's fail().
 */
export type PortDriverFactory = (row: InterfaceConfig, ctx: PortDriverContext) => PortDriver | string;

/** Drivers by Interface type. Filled by the modules that implement them. */
export const PORT_DRIVERS = new Map<string, PortDriverFactory>();

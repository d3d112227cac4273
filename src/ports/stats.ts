// Counters every live port keeps, shown by `appctl live/show` (src/daemon/server.ts). The engine
// counts frames once they are in the switch; these count what happened at the edge: frames
// that never got in or out because the outside was slower than the switch (back-pressure) or
// the link was not there.

export class LiveStats {
  rxFrames = 0;
  rxBytes = 0;
  txFrames = 0;
  txBytes = 0;
  /** Frames the switch sent that the port could not take (queue full, no peer, device down). */
  txDropped = 0;
  /** Frames that arrived but were refused (malformed framing, too long). */
  rxErrors = 0;

  format(): string {
    return `rx ${this.rxFrames} frames ${this.rxBytes} bytes (${this.rxErrors} errors), tx ${this.txFrames} frames ${this.txBytes} bytes (${this.txDropped} dropped)`;
  }
}

/** What register.ts and the daemon need from a live driver beyond PortDriver. */
export interface LivePort {
  readonly stats: LiveStats;
  describe(): string;
}

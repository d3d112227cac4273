// Port captures: the files a port's `options:pcap=`, `options:rxq_pcap=` and `options:tx_pcap=`
// name, as Open vSwitch's netdev-dummy writes them, plus pcapng.
//
// A path ending in .pcapng gets a pcapng file in which every packet's comment names the tier
// that handled it and the datapath flow that matched; several ports may name the same pcapng
// file, which then holds one interface per port, named after it. Any other path gets a classic
// pcap file (microseconds, Ethernet), which is what OVS writes and what its tests read back.
// Timestamps come from the caller's clock (the virtual clock), so the same input gives the same
// bytes.
//
// Writers buffer whole records; the engine flushes them after each control command, so a file
// can be read as soon as the command that produced its packets has returned.

import { resolve } from "node:path";
import { EpbFlags, openPcapngFile, type PcapngWriter } from "../io/pcapng.ts";
import { openPcapFile, type PcapWriter } from "../io/pcap.ts";

export type CaptureDirection = "rx" | "tx";

interface FileEntry {
  path: string;
  pcapng: PcapngWriter | null;
  pcap: PcapWriter | null;
  interfaces: Map<string, number>; // pcapng interface id by port name
  users: number;
}

/** One port's capture into one file. */
export class CaptureTap {
  constructor(
    private readonly file: FileEntry,
    private readonly ifaceId: number,
    readonly path: string,
  ) {}

  write(tsNs: bigint, data: Uint8Array, origLen: number, dir: CaptureDirection, comment: string): void {
    if (this.file.pcapng !== null) {
      this.file.pcapng.writePacket(
        this.ifaceId,
        tsNs,
        data,
        origLen,
        comment,
        dir === "rx" ? EpbFlags.INBOUND : EpbFlags.OUTBOUND,
      );
    } else {
      (this.file.pcap as PcapWriter).writePacket(tsNs, data, origLen);
    }
  }
}

export class CaptureHub {
  private readonly files = new Map<string, FileEntry>();

  /** A tap writing `port`'s packets into `path` (opened on first use, shared by path). */
  open(path: string, port: string, description = ""): CaptureTap {
    const abs = resolve(path);
    let f = this.files.get(abs);
    if (f === undefined) {
      const isNg = abs.endsWith(".pcapng");
      f = {
        path: abs,
        pcapng: isNg ? openPcapngFile(abs) : null,
        pcap: isNg ? null : openPcapFile(abs),
        interfaces: new Map(),
        users: 0,
      };
      this.files.set(abs, f);
    }
    let id = 0;
    if (f.pcapng !== null) {
      const known = f.interfaces.get(port);
      if (known !== undefined) id = known;
      else {
        id = f.pcapng.addInterface({ name: port, description: description || undefined });
        f.interfaces.set(port, id);
      }
    }
    f.users++;
    return new CaptureTap(f, id, abs);
  }

  /** Drops a tap; the file closes when its last tap goes. */
  release(tap: CaptureTap): void {
    const f = this.files.get(tap.path);
    if (f === undefined) return;
    if (--f.users > 0) return;
    this.closeFile(f);
    this.files.delete(f.path);
  }

  flush(): void {
    for (const f of this.files.values()) (f.pcapng ?? (f.pcap as PcapWriter)).flush();
  }

  closeAll(): void {
    for (const f of this.files.values()) this.closeFile(f);
    this.files.clear();
  }

  get openFiles(): string[] {
    return [...this.files.keys()];
  }

  private closeFile(f: FileEntry): void {
    (f.pcapng ?? (f.pcap as PcapWriter)).closeSync();
  }
}

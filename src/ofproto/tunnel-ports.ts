// The switch's tunnel Interfaces in one place (ofproto/tunnel.c and lib/tnl-ports.c): the tunnel
// behind each OpenFlow port, which shared vport listens on which UDP port, which tunnel port a
// decapsulated packet belongs to (tnl_port_receive), and the GENEVE option map (ofctl
// add-tlv-map) with what it puts into tun_metadataN. The host owns one; translation reaches it
// through TunnelEnv (tunnel.ts), the packet path calls receivePort and mapGeneveOptions.

import { GeneveView } from "../wire/geneve.ts";
import { IpProto } from "../wire/numbers.ts";
import { TUN_METADATA_WORDS, TunFlag, tunnelDst, tunnelSrc, u32, W, wordsToBig, type FlowKey } from "../flow/key.ts";
import type { TlvTable } from "./ofctl-commands.ts";
import type { TlvMapping, TunnelPort } from "./tunnel.ts";
import type { XPort } from "./types.ts";

/** What tun_metadata_table_mod allows in all: 256 bytes of option data (TUN_METADATA_TOT_OPT_SIZE). */
const TLV_SPACE_BYTES = 256;

export class TunnelPorts<P extends XPort = XPort> {
  /** Tunnel Interfaces by their port. */
  readonly byPort = new Map<P, TunnelPort>();
  /** add-tlv-map: GENEVE options <-> tun_metadataN, one table for the switch as in OVS. */
  readonly tlvMap: TlvMapping[] = [];
  /** The ofctl face of the TLV map: all-or-nothing changes with OpenFlow's error names. */
  readonly tlvTable: TlvTable;
  private readonly geneve = new GeneveView();

  /** `onTlvChange` runs after every change of the map: translations that read it are stale. */
  constructor(onTlvChange: () => void) {
    const map = this.tlvMap;
    this.tlvTable = {
      list: () => map,
      add: (entries) => {
        // tun_metadata_table_mod: a field already mapped, an option mapped twice, or no room.
        for (const e of entries) {
          if (map.some((m) => m.index === e.index)) return "NXTTMFC_ALREADY_MAPPED";
          if (map.some((m) => m.cls === e.cls && m.type === e.type)) return "NXTTMFC_DUP_ENTRY";
        }
        const space = [...map, ...entries].reduce((n, e) => n + e.len, 0);
        if (space > TLV_SPACE_BYTES) return "NXTTMFC_TABLE_FULL";
        map.push(...entries);
        onTlvChange();
        return null;
      },
      del: (entries) => {
        if (entries === null) {
          map.length = 0;
          onTlvChange();
          return null;
        }
        for (const e of entries) if (!map.some((m) => m.index === e.index)) return "NXTTMFC_INVALID_TLV_DEL";
        for (const e of entries)
          map.splice(
            map.findIndex((m) => m.index === e.index),
            1,
          );
        onTlvChange();
        return null;
      },
    };
  }

  /** Whether another tunnel still uses the datapath vport `odpPort`. */
  vportInUse(odpPort: number): boolean {
    for (const p of this.byPort.keys()) if (p.odpPort === odpPort) return true;
    return false;
  }

  /** tnl_port_map_lookup: the vport that listens for this IP protocol / UDP port, or -1. */
  listening(proto: number, udpDstPort: number): number {
    // One listener per vport, on every address (IPv4 and IPv6) the host has.
    for (const tp of this.byPort.values()) {
      const c = tp.cfg;
      if (proto === IpProto.GRE ? c.kind === "gre" : c.kind !== "gre" && c.dstPort === udpDstPort) {
        return tp.xport.odpPort;
      }
    }
    return -1;
  }

  /**
   * tnl_port_receive (tnl_find): the tunnel port a decapsulated packet belongs to. The most
   * specific configuration wins: a fixed key over key=flow, a fixed remote over remote_ip=flow,
   * a local_ip that matches over none.
   */
  receivePort(vport: number, key: FlowKey): TunnelPort | null {
    const src = tunnelSrc(key);
    const dst = tunnelDst(key);
    const hasKey = (u32(key, W.TUN_TOS_TTL_FLAGS) & TunFlag.KEY) !== 0;
    const id = hasKey ? wordsToBig(key, W.TUN_ID_HI, 2) : 0n;
    let best: TunnelPort | null = null;
    let bestScore = -1;
    for (const tp of this.byPort.values()) {
      if (tp.xport.odpPort !== vport) continue;
      const c = tp.cfg;
      let score = 0;
      if (c.inKey === "flow") score += 0;
      else if ((c.inKey ?? 0n) === id) score += 4;
      else continue;
      if (c.remote === null) score += 0;
      else if (c.remote === src) score += 2;
      else continue;
      if (c.local !== null) {
        if (c.local !== dst) continue;
        score += 1;
      }
      if (score > bestScore) {
        best = tp;
        bestScore = score;
      }
    }
    return best;
  }

  /**
   * GENEVE options into tun_metadataN through the TLV map (tun_metadata_from_geneve_udpif): each
   * mapped option's last 4 bytes; options the map does not name are not in the key. `off` is
   * the GENEVE header, already checked by the parser; the view's cursor never reads past the
   * options or `avail`. Allocates nothing.
   */
  mapGeneveOptions(key: FlowKey, dv: DataView, off: number, avail: number): void {
    key.fill(0, W.TUN_METADATA, W.TUN_METADATA + TUN_METADATA_WORDS);
    const map = this.tlvMap;
    if (map.length === 0) return;
    const g = this.geneve.wrap(dv, off, avail);
    for (let ok = g.optFirst(); ok; ok = g.optNext()) {
      const len = g.optLen;
      if (len < 4) continue;
      for (let i = 0; i < map.length; i++) {
        const m = map[i] as TlvMapping;
        if (m.cls === g.optClass && m.type === g.optType && m.len === len && m.index < TUN_METADATA_WORDS) {
          key[W.TUN_METADATA + m.index] = dv.getUint32(g.optDataOff + len - 4);
        }
      }
    }
  }
}

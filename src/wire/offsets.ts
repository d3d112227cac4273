// Where each layer of a packet starts: the hot-path parser's only output.
//
// Like Open vSwitch's dp_packet (l2_5_ofs, l3_ofs, l4_ofs, inner_l3_ofs …), the parser records
// offsets and a few protocol numbers, never objects. One Int32Array per worker is reused for every
// packet. A packet is described by two stacks of the same shape: the outer headers at OUTER and,
// when a tunnel (VXLAN, GENEVE, NVGRE/GRE carrying Ethernet) was followed, the inner frame at
// INNER. Absent layers are -1. Offsets are absolute in the slot's DataView.

/** Fields of one header stack, relative to the stack's base (OUTER or INNER). */
export const S = {
  L2: 0, // Ethernet header (or the first byte of the frame for other link types)
  VLAN_N: 1, // number of VLAN tags parsed (0..MAX_VLANS; as in OVS, a third stays in the payload)
  VLAN0: 2, // offset of the outer tag's TPID (the EtherType field that announced it)
  VLAN1: 3, // offset of the second tag's TPID
  DL_TYPE: 4, // EtherType after the tags (value, not offset); 0 if none
  L3: 5, // IPv4 / IPv6 / ARP header
  L3_END: 6, // end of the L3 datagram as its length field says, clipped to the capture
  NW_PROTO: 7, // upper-layer protocol after IPv6 extension headers (value); -1 if none
  NW_FRAG: 8, // NwFrag bits (src/flow/key.ts): fragment, later fragment
  L4: 9, // TCP/UDP/ICMP/GRE header; -1 for later fragments
  L7: 10, // L4 payload
  TUN_TYPE: 11, // TunnelType of the tunnel header found in this stack's L4 payload
  TUN: 12, // offset of the tunnel header (VXLAN, GENEVE, GRE)
} as const;
export const STACK_LEN = 13;

export const OUTER = 0;
export const INNER = STACK_LEN;

export const P = {
  START: 2 * STACK_LEN, // first byte of the frame
  END: 2 * STACK_LEN + 1, // one past the last captured byte
  ERR_LAYER: 2 * STACK_LEN + 2, // LAYER_ID of the layer that failed, or -1
  ERR_CODE: 2 * STACK_LEN + 3, // CODE_ID of the failure, or -1
  ERR_OFF: 2 * STACK_LEN + 4, // absolute offset of the offending field, or -1
} as const;
export const OFFSETS_LEN = 2 * STACK_LEN + 5;

/** NW_FRAG bits the parser records, Open vSwitch's FLOW_NW_FRAG_ANY and FLOW_NW_FRAG_LATER. */
export const NwFrag = { ANY: 1, LATER: 2 } as const;

export const TunnelType = { NONE: 0, VXLAN: 1, GENEVE: 2, GRE: 3 } as const;
export type TunnelType = (typeof TunnelType)[keyof typeof TunnelType];

export const MAX_VLANS = 2;

export function newOffsets(): Int32Array {
  return new Int32Array(OFFSETS_LEN).fill(-1);
}

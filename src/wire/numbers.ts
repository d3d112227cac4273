// Protocol numbers shared by several wire formats. Numbers not listed pass through unchanged:
// these are names for the ones the emulator acts on, not a closed set.

/** IEEE 802 EtherTypes (IANA "IEEE 802 Numbers"). */
export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  RARP: 0x8035, // RFC 903
  TEB: 0x6558, // Transparent Ethernet Bridging: the payload is an Ethernet frame (NVGRE, GENEVE)
  VLAN: 0x8100, // 802.1Q C-tag
  IPV6: 0x86dd,
  QINQ: 0x88a8, // 802.1ad S-tag
  QINQ_OLD: 0x9100, // pre-standard S-tag still seen on the wire
} as const;

/** IANA "Assigned Internet Protocol Numbers", also the IPv6 Next Header values. */
export const IpProto = {
  HOPOPTS: 0,
  ICMP: 1,
  IGMP: 2,
  IPIP: 4,
  TCP: 6,
  UDP: 17,
  IPV6: 41,
  ROUTING: 43,
  FRAGMENT: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NONE: 59,
  DSTOPTS: 60,
  MOBILITY: 135,
  HIP: 139,
  SHIM6: 140,
} as const;

/** IANA-assigned UDP destination ports of the tunnels we decapsulate. */
export const UdpPort = {
  VXLAN: 4789, // RFC 7348 §5
  GENEVE: 6081, // RFC 8926 §3.3
} as const;

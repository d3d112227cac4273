// The tiers a received packet can be handled in, fastest first. Every received packet is counted
// in exactly one of them, so the tier counters always add up to the packets received. A leaf
// module: the engine counts with it, and a saved report (src/scenario/result.ts) names its
// columns with it without loading the engine.

/** The tier that handled a packet, as an index into the tier counters. */
export const Tier = { NIC_L1: 0, NIC_L2: 1, DP_EMC: 2, DP_MEGAFLOW: 3, UPCALL: 4, DROP: 5 } as const;
export type Tier = (typeof Tier)[keyof typeof Tier];

/** Tier names as captures' comments, offload/show and reports print them, in Tier order. */
export const TIER_NAMES = ["nic-l1", "nic-l2", "dp-emc", "dp-megaflow", "upcall", "drop"] as const;
export type TierName = (typeof TIER_NAMES)[number];

export const N_TIERS = TIER_NAMES.length;

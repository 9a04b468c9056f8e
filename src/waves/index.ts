export { ALB_TARGETS_PER_GROUP, AZ_IMBALANCE_RATIO, NLB_TARGETS_PER_AZ } from "./fleet-checks.js";
export { type PlanWavesOptions, planWaves } from "./plan-waves.js";
export { summarizeFleet } from "./summary.js";
export type * from "./types.js";

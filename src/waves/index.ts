export { planWaves } from "./plan-waves.js";
export { summarizeFleet } from "./summary.js";
export type * from "./types.js";

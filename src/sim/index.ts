// The simulator's public surface: start it, and the types its callers and tests see.
export type * from "./model/api.js";
export { SimApiError } from "./model/api.js";
export type { ApiCallCounts, BucketSpec, RunningSimulator, SimulatorOptions, WireFaults } from "./server.js";
export { DEFAULT_BUCKETS, startSimulator } from "./server.js";

// The simulator's public surface: start it, and the types its callers and tests see.
export type * from "./model/api.js";
export { SimApiError } from "./model/api.js";
// For benchmarks and tests that drive the model without HTTP.
export { defaultFleetSpecPath, loadFleetSpec } from "./model/fleet-spec.js";
export { createWorld } from "./model/world.js";
export type { ApiCallCounts, BucketSpec, RunningSimulator, SimulatorOptions, WireFaults } from "./server.js";
export { DEFAULT_BUCKETS, startSimulator } from "./server.js";

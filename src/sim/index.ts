// The simulator's public surface: start it, and the types its callers and tests see.
export type * from "./model/api.js";
// For benchmarks and scenario tests that build the world from a changed fleet spec.
export { type FleetSpecFile, loadFleetSpec } from "./model/fleet-spec.js";
export { createWorld } from "./model/world.js";
export type { RunningSimulator, WireFaults } from "./server.js";
export { startSimulator } from "./server.js";

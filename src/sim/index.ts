// The simulator's public surface: start it, and the types its callers and tests see.
export type * from "./model/api.js";
export type { RunningSimulator, WireFaults } from "./server.js";
export { startSimulator } from "./server.js";

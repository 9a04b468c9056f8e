// Public library surface (the CLI is one consumer of it).

export type * from "./aws/types.js";
export type * from "./engine/events.js";
export type * from "./fleet/types.js";
export type * from "./plan/types.js";
export type { Clock } from "./util/clock.js";
export { ManualClock, ScaledClock, systemClock } from "./util/clock.js";
export type * from "./waves/types.js";

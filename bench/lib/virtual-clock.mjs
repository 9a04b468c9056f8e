// The benchmarks' virtual clock lives in src/util/clock.ts (scenario tests use it too): time stands
// still while code runs and jumps to the earliest sleeper once everything pending is asleep.
export { VirtualClock } from "../../dist/util/clock.js";

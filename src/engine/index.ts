/**
 * The rolling deploy engine, for callers outside src/ (bench/rollout.mjs): `runRollout(o)` (with
 * `resume: true` to continue), a `memoryJournal()`, and the event types. Inside src/, callers import
 * the modules themselves: engine/run.ts (`deploy`, `resume`), engine/dry-run.ts (`deploy --dry-run`),
 * engine/journal.ts. See docs/engine.md for the state machine, the tick, the policies, the seams
 * and the journal.
 */
export type * from "./events.js";
export { memoryJournal } from "./journal.js";
export { runRollout } from "./run.js";

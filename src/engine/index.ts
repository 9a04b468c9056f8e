/**
 * The rolling deploy engine. The CLI calls:
 *  - `runRollout(o)` for `rollwave deploy`, and with `resume: true` for `rollwave resume`;
 *  - `previewRollout(plan, fleet, wavePlan)` for `deploy --dry-run` (no AWS at all);
 *  - `capacityFloor(fleet, wavePlan)` to hand the simulator the floor the plan declares.
 * See docs/engine.md for the state machine, the tick, the policies, the seams and the journal.
 */
export { capacityFloor, connectionCapacityCheck, connectionDrainPredicate } from "./capacity.js";
export { decide } from "./decide.js";
export type {
  AdmissionCheck,
  AdmissionContext,
  AdmissionResult,
  DecideContext,
  DrainPredicate,
  Observation,
} from "./decide-context.js";
export type * from "./events.js";
export {
  type Journal,
  type JournalRecord,
  MemoryJournal,
  memoryJournal,
  openFileJournal,
  parseJournal,
  replayJournal,
} from "./journal.js";
export { type DryRunCall, type DryRunReport, type DryRunWave, previewRollout } from "./preview.js";
export {
  type FinishedEvent,
  type RolloutOptions,
  type RolloutResult,
  runRollout,
} from "./run.js";
export type { EngineState, InstanceRun } from "./state.js";

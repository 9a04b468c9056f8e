/**
 * The rolling deploy engine. The CLI calls:
 *  - `runRollout(o)` for `rollwave deploy`, and with `resume: true` for `rollwave resume`;
 *  - `dryRunRollout(plan, fleet, wavePlan)` for `deploy --dry-run` (no AWS at all);
 * (rollout/prepare.ts computes `capacityFloor(fleet, wavePlan)` and hands it to a simulator.)
 * See docs/engine.md for the state machine, the tick, the policies, the seams and the journal.
 */
export { capacityFloor } from "./capacity.js";
export { type DryRunReport, dryRunRollout } from "./dry-run.js";
export type * from "./events.js";
export { type Journal, memoryJournal, openFileJournal, replayJournal } from "./journal.js";
export {
  type ApprovalAnswer,
  type ApprovalRequest,
  type FinishedEvent,
  type RolloutOptions,
  type RolloutResult,
  runRollout,
} from "./run.js";

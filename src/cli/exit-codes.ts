/**
 * rollwave's exit codes: the contract with CI pipelines and wrapper scripts.
 *
 *   0    succeeded (or: the plan is valid / the preview was printed)
 *   1    the rollout failed or was rolled back; or an unexpected error
 *   2    bad input: a plan, variable, inventory or flag problem. Nothing was mutated.
 *   3    paused: awaiting approval or `rollwave resume` (a canary approval gate in CI, or the
 *        `pause` failure action)
 *   4    another rollout holds the lock for this plan
 *   5    `rollwave status`: the rollout is still running (0 succeeded, 1 failed/rolled back/aborted,
 *        3 paused or its process is gone: `rollwave resume` continues)
 *   130  interrupted (Ctrl-C, SIGINT, SIGTERM, SIGHUP or a closed output): nothing new started; the
 *        in-flight instances finished their steps, or (a fast stop, cli/stop.ts) the grace ran out
 *        and the journal's final record lists those still out; `rollwave resume` continues it
 */
import type { RolloutStatus } from "../engine/events.js";
import type { StatusState } from "../engine/status.js";

export const ExitCode = {
  ok: 0,
  failed: 1,
  badInput: 2,
  paused: 3,
  lockHeld: 4,
  running: 5,
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * `aborted` (the `abort` failure action, or "stop" at an approval prompt) is a failure for CI.
 * An interrupted run ends `paused`; `interrupted` turns that into 130.
 */
export function exitCodeForStatus(status: RolloutStatus, interrupted = false): ExitCodeValue {
  if (interrupted) return ExitCode.interrupted;
  switch (status) {
    case "succeeded":
      return ExitCode.ok;
    case "paused":
      return ExitCode.paused;
    case "failed":
    case "rolled-back":
    case "aborted":
      return ExitCode.failed;
  }
}

/** `rollwave status` as a CI gate: 0 succeeded, 1 failed, 3 paused or stopped (resume), 5 running. */
export function exitCodeForState(state: StatusState): ExitCodeValue {
  switch (state) {
    case "running":
      return ExitCode.running;
    case "stopped":
      return ExitCode.paused;
    default:
      return exitCodeForStatus(state);
  }
}

/** For `rollwave --help`. */
export const EXIT_CODES_HELP = `Exit codes:
  0    succeeded (plan valid, preview printed, rollout succeeded)
  1    rollout failed or rolled back, or an unexpected error
  2    bad input (plan, variables, inventory, flags): nothing was changed
  3    paused: awaiting approval or \`rollwave resume\`
  4    another rollwave process holds the lock for this plan
  5    status: the rollout is still running
  130  interrupted (Ctrl-C, SIGTERM, SIGHUP, closed output): stopped safely; resume continues`;

/**
 * Every warning the engine emits (`{ type: "warning", code, message }`), with one sentence on what it
 * means. The code is a stable name scripts can match; the message says what happened this time.
 * A problem that stops the rollout is an instance failure or the run's status, never a warning.
 */
export const WARNINGS = {
  W_INTERRUPTED:
    "The run was interrupted (Ctrl-C, SIGTERM): nothing new starts, the instances in flight finish their steps, then the run pauses for `rollwave resume`.",
  W_CAPACITY_LOST:
    "An instance the rollout had taken out of service is gone (terminated or stopped): its slot in the window stays taken, so the capacity floor holds.",
  W_OBSERVE_FAILED:
    "Reading AWS (target health, command status, alarms or the connection metric) failed this tick: the engine keeps the last reading and tries again next tick.",
  W_ASG_RESUME_FAILED:
    "Auto Scaling processes rollwave suspended could not be resumed: the message names the group and processes to resume by hand.",
  W_EXTRAS_FAILED:
    "The extras of `rollout.finished` (such as the simulator's summary) could not be gathered: the rollout's result is unaffected.",
  W_CAPACITY_BACK: "An instance counted as lost is healthy again: its slot in the window is free.",
  W_CANARY_REPLACED:
    "A canary was skipped (gone or not ready): another instance from the same AZ takes its place.",
  W_LOOP_ERROR:
    "An error in the loop (a failed read, a journal or reporting failure): nothing new starts, the instances in flight come back, then the run pauses; repeated errors end it.",
  W_PLAN_CHANGED:
    "A resume went ahead with --force although the plan, its variables or rollwave's version differ from the journal's.",
  W_JOURNAL_REPAIRED: "The journal's last line was torn (a crash mid-write) and was dropped before resuming.",
  W_JOURNAL_END_FAILED:
    "The end of the rollout could not be written to the journal: its last decision still describes the state, so `resume` re-observes from there.",
  W_CANCEL_COMMAND_FAILED:
    "A command the engine gave up on could not be cancelled: it may still run to its own executionTimeout; the instance is already failed, and the call is not retried.",
  W_CONTROL_FAILED:
    "Control requests (`rollwave abort`/`approve` from another terminal) could not be read or acknowledged this tick: the rollout goes on and reads again next tick.",
  W_PROBE_FAILED:
    "The connection probe gave no count for an instance (it failed, timed out, printed nothing or not a number): the message names the instance and what it printed; the capacity guard counts it at perInstanceLimit until a probe answers.",
} as const satisfies Record<`W_${string}`, string>;

export type WarningCode = keyof typeof WARNINGS;

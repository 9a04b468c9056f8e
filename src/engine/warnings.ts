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
} as const satisfies Record<`W_${string}`, string>;

export type WarningCode = keyof typeof WARNINGS;

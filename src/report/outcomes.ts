/**
 * Which instances did not end `done`, and why — for the summary, so the engineer reading it at
 * 3 a.m. sees `i-0abc  ap-northeast-1a  failed in deploying: … checksum mismatch` instead of a bare
 * count. Built from the event stream alone (renderers depend only on event types); the last word
 * on an instance wins, so one that failed and was then rolled back shows as rolled back.
 */
import type { InstancePhase, RolloutEvent } from "../engine/events.js";

export interface InstanceOutcome {
  id: string;
  az: string;
  outcome: "failed" | "skipped" | "rolledBack";
  /** Phase the instance was in when it failed (or was skipped). */
  phase: InstancePhase;
  reason: string;
}

export function createOutcomeTracker(): {
  onEvent(e: RolloutEvent): void;
  /** Instances that did not end done, failures first, in the order they happened. */
  problems(): InstanceOutcome[];
} {
  const byId = new Map<string, InstanceOutcome>();
  return {
    onEvent(e) {
      if (e.type === "instance.failed") {
        byId.set(e.id, { id: e.id, az: e.az, outcome: "failed", phase: e.phase, reason: e.reason });
      } else if (e.type === "instance.phase") {
        if (e.to === "skipped") {
          byId.set(e.id, {
            id: e.id,
            az: e.az,
            outcome: "skipped",
            phase: e.from,
            reason: e.detail ?? "skipped",
          });
        } else if (e.to === "rolledBack") {
          const failure = byId.get(e.id);
          byId.set(e.id, {
            id: e.id,
            az: e.az,
            outcome: "rolledBack",
            phase: failure?.phase ?? e.from,
            reason: failure ? `rolled back after: ${failure.reason}` : (e.detail ?? "rolled back"),
          });
        } else if (e.to === "done") {
          byId.delete(e.id);
        }
      }
    },
    problems() {
      const order = { failed: 0, skipped: 1, rolledBack: 2 } as const;
      return [...byId.values()].sort((a, b) => order[a.outcome] - order[b.outcome]);
    },
  };
}

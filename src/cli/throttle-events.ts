/**
 * Throttling errors become `aws.throttled` events, aggregated per operation so a throttling storm
 * (hundreds of retried calls a second) is a few lines, not hundreds. Each event carries the count
 * since the previous one for that operation; whatever is pending is flushed before the final event.
 *
 *   onThrottle("ELBv2.DescribeTargetHealth") ×40 within a second
 *     → { type: "aws.throttled", operation: "ELBv2.DescribeTargetHealth", count: 40 }
 */
import type { EventSink, RolloutEvent } from "../engine/events.js";
import type { Clock } from "../util/clock.js";

interface ThrottleReporter {
  /** Pass as `onThrottle` to createAws. */
  onThrottle(operation: string): void;
  /** Wrap the event sink: pending counts go out before `rollout.finished`. */
  wrap(sink: EventSink): EventSink;
}

export function throttleReporter(clock: Clock, everyMs = 1_000): ThrottleReporter {
  const pending = new Map<string, number>();
  let sink: EventSink | undefined;
  let last = Number.NEGATIVE_INFINITY;
  const flush = () => {
    if (!sink) return;
    const at = clock.now();
    for (const [operation, count] of pending) sink({ type: "aws.throttled", at, operation, count });
    pending.clear();
    last = at;
  };
  return {
    onThrottle(operation) {
      pending.set(operation, (pending.get(operation) ?? 0) + 1);
      if (clock.now() - last >= everyMs) flush();
    },
    wrap(next) {
      sink = next;
      return (e: RolloutEvent) => {
        if (e.type === "rollout.finished") flush();
        next(e);
      };
    },
  };
}

import { describe, expect, it } from "vitest";
import { throttleReporter } from "../../src/cli/throttle-events.js";
import type { RolloutEvent } from "../../src/engine/events.js";
import { ManualClock } from "../../src/util/clock.js";

const finished: RolloutEvent = {
  type: "rollout.finished",
  at: 0,
  status: "succeeded",
  instances: { total: 0, succeeded: 0, failed: 0, skipped: 0, rolledBack: 0 },
  apiCalls: { total: 0, byAction: {} },
  durationSeconds: 0,
};

describe("throttling events", () => {
  it("aggregates a storm per operation and flushes what is pending before the finished event", async () => {
    const clock = new ManualClock(10_000);
    const seen: RolloutEvent[] = [];
    const r = throttleReporter(clock, 1_000);
    const emit = r.wrap((e) => seen.push(e));
    r.onThrottle("ELBv2.DescribeTargetHealth"); // first one goes out at once
    for (let i = 0; i < 40; i++) r.onThrottle("ELBv2.DescribeTargetHealth");
    r.onThrottle("SSM.SendCommand");
    await clock.advance(1_000);
    r.onThrottle("SSM.SendCommand"); // a second later: flushes everything pending
    r.onThrottle("EC2.DescribeInstances");
    emit(finished);
    expect(seen.map((e) => (e.type === "aws.throttled" ? `${e.operation}:${e.count}` : e.type))).toEqual([
      "ELBv2.DescribeTargetHealth:1",
      "ELBv2.DescribeTargetHealth:40",
      "SSM.SendCommand:2",
      "EC2.DescribeInstances:1",
      "rollout.finished",
    ]);
  });
});

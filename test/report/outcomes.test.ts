import { describe, expect, it } from "vitest";
import type { RolloutEvent } from "../../src/engine/events.js";
import { createOutcomeTracker } from "../../src/report/outcomes.js";
import { makeChalk } from "../../src/report/output.js";
import { createPlainRenderer } from "../../src/report/plain.js";
import { createTtyRenderer } from "../../src/report/tty.js";
import { scriptedRollout } from "./scripted-events.js";
import { StringOutput } from "./string-output.js";

const at = 0;
const phase = (id: string, from: string, to: string, detail?: string): RolloutEvent =>
  ({ type: "instance.phase", at, id, az: "az-a", wave: 1, from, to, detail }) as RolloutEvent;
const failed = (id: string, p: string, reason: string): RolloutEvent => ({
  type: "instance.failed",
  at,
  id,
  az: "az-a",
  wave: 1,
  phase: p as "deploying",
  reason,
});

describe("the summary's list of instances that did not finish", () => {
  it("keeps each instance's last outcome: failed, skipped, or rolled back with the failure that caused it", () => {
    const t = createOutcomeTracker();
    for (const e of [
      failed("i-1", "deploying", "deploy: exit code 3: install: checksum mismatch"),
      phase("i-2", "draining", "skipped", "instance is terminated (during draining)"),
      failed("i-3", "warming", "alarm relay-5xx-rate in ALARM"),
      phase("i-3", "failed", "rolledBack"),
      failed("i-4", "registering", "flapped"),
      phase("i-4", "warming", "done"),
    ])
      t.onEvent(e);
    expect(t.problems()).toEqual([
      {
        id: "i-1",
        az: "az-a",
        outcome: "failed",
        phase: "deploying",
        reason: "deploy: exit code 3: install: checksum mismatch",
      },
      {
        id: "i-2",
        az: "az-a",
        outcome: "skipped",
        phase: "draining",
        reason: "instance is terminated (during draining)",
      },
      {
        id: "i-3",
        az: "az-a",
        outcome: "rolledBack",
        phase: "warming",
        reason: "rolled back after: alarm relay-5xx-rate in ALARM",
      },
    ]);
  });

  it("names every failed instance and its reason in the plain and tty summaries", async () => {
    for (const make of [
      (o: StringOutput) => createPlainRenderer(o, { env: {} }),
      (o: StringOutput) => createTtyRenderer(o, { env: {} }),
    ]) {
      const out = new StringOutput(false);
      const r = make(out);
      const events = scriptedRollout();
      const failure = events.find((e) => e.type === "instance.failed");
      if (failure?.type !== "instance.failed") throw new Error("fixture has a failure");
      for (const e of events) r.onEvent(e);
      await r.close();
      const line = out.lines().find((l) => l.trimStart().startsWith("failed ") && l.includes(failure.id));
      expect(line, out.text).toBeDefined();
      expect(line).toContain(`in ${failure.phase}: ${failure.reason.split("\n").join(" | ")}`);
    }
  });

  it("caps the list and says how many more there are", async () => {
    const { formatSummary } = await import("../../src/report/summary.js");
    const finished = scriptedRollout().at(-1);
    if (finished?.type !== "rollout.finished") throw new Error("fixture");
    const problems = Array.from({ length: 30 }, (_, i) => ({
      id: `i-${i}`,
      az: "az-a",
      outcome: "failed" as const,
      phase: "deploying" as const,
      reason: "boom",
    }));
    const text = formatSummary(finished, makeChalk(false), { problems, maxProblems: 5 });
    expect(text.split("\n").filter((l) => l.includes("boom"))).toHaveLength(5);
    expect(text).toContain("… and 25 more");
  });
});

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { RolloutEvent } from "../../src/engine/events.js";
import { EVENTS_SCHEMA_VERSION } from "../../src/report/json.js";
import { cli } from "../cli/harness.js";
import { recordedLines } from "./recorded.js";

interface EventsSchema {
  title: string;
  oneOf: { title: string; properties: { schemaVersion?: { const: number } } }[];
}
const json = JSON.parse(
  readFileSync(new URL("../../schema/events.schema.json", import.meta.url), "utf8"),
) as EventsSchema;
const schema = z.fromJSONSchema(json as unknown as Parameters<typeof z.fromJSONSchema>[0]);

/** Every event type the engine can emit: the compiler fails here when one is added or removed. */
const ENGINE_TYPES: Record<RolloutEvent["type"], true> = {
  "rollout.started": true,
  "wave.started": true,
  "wave.finished": true,
  "instance.phase": true,
  "instance.failed": true,
  "gate.waiting": true,
  "gate.passed": true,
  "policy.triggered": true,
  "asg.suspended": true,
  "asg.resumed": true,
  progress: true,
  warning: true,
  "aws.throttled": true,
  control: true,
  "rollout.finished": true,
};

function invalid(lines: string[]): { line: number; type: string; issues: string }[] {
  return lines.flatMap((l, i) => {
    const value = JSON.parse(l) as { type: string };
    const r = schema.safeParse(value);
    return r.success ? [] : [{ line: i + 1, type: value.type, issues: JSON.stringify(r.error.issues) }];
  });
}

describe("schema/events.schema.json", () => {
  it("describes exactly the engine's event types", () => {
    expect(json.oneOf.map((e) => e.title).sort()).toEqual(Object.keys(ENGINE_TYPES).sort());
  });

  it("carries the version the json renderer writes", () => {
    const started = json.oneOf.find((e) => e.title === "rollout.started");
    expect(started?.properties.schemaVersion?.const).toBe(EVENTS_SCHEMA_VERSION);
    expect(json.title).toContain(`version ${EVENTS_SCHEMA_VERSION}`);
  });

  it("accepts every line of the recorded runs", () => {
    for (const name of ["rolled-back", "paused"] as const) {
      const lines = recordedLines(name);
      expect(lines.length).toBeGreaterThan(20);
      expect(invalid(lines)).toEqual([]);
    }
  });

  it("rejects a line with an unknown field, a wrong type or an unknown phase", () => {
    const bad = [
      { type: "wave.finished", at: 1, index: 0, succeeded: 1, failed: 0, extra: true },
      { type: "wave.finished", at: 1, index: "0", succeeded: 1, failed: 0 },
      { type: "instance.phase", at: 1, id: "i-1", az: "a", wave: 0, from: "pending", to: "melting" },
      { type: "rollout.exploded", at: 1 },
    ].map((e) => JSON.stringify(e));
    expect(invalid(bad).map((b) => b.line)).toEqual([1, 2, 3, 4]);
  });

  it("accepts every line of a live simulated rollout's --output json", async () => {
    const r = await cli([
      "deploy",
      "test/report/fixtures/failing-relay.yaml",
      "--simulate",
      "test/report/fixtures/failing-fleet.yaml",
      "--seed",
      "4",
      "--time-scale",
      "400",
      "--var",
      "release=v2.0.0",
      "--yes",
      "--auto-approve",
      "--output",
      "json",
    ]);
    const lines = r.stdout.split("\n").filter((l) => l.trim() !== "");
    const types = new Set(lines.map((l) => (JSON.parse(l) as { type: string }).type));
    expect([...types]).toEqual(
      expect.arrayContaining(["rollout.started", "instance.phase", "rollout.finished"]),
    );
    expect(invalid(lines)).toEqual([]);
  }, 60_000);
});

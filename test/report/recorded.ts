/**
 * Event streams recorded from real simulated rollouts (`--output json`), for the renderer snapshots
 * and the events schema test. Recorded with the small relay plan and a fleet whose install fails a
 * quarter of the time (both in ./fixtures):
 *
 *   rolled-back.ndjson: rollwave deploy test/report/fixtures/failing-relay.yaml \
 *     --simulate test/report/fixtures/failing-fleet.yaml --var release=v2.0.0 --seed 4 \
 *     --time-scale 400 --yes --auto-approve --output json
 *   paused.ndjson: the same without --auto-approve (pauses at the canary's approval gate)
 */
import { readFileSync } from "node:fs";
import type { RolloutEvent } from "../../src/engine/events.js";

export type Recording = "rolled-back" | "paused";

export function recordedLines(name: Recording): string[] {
  return readFileSync(new URL(`./fixtures/${name}.ndjson`, import.meta.url), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "");
}

export function recordedRun(name: Recording): RolloutEvent[] {
  return recordedLines(name).map((l) => JSON.parse(l) as RolloutEvent);
}

/** Run the engine against the fake AWS on a ManualClock, stepping time until it finishes. */
import type { RolloutEvent } from "../../src/engine/events.js";
import { type MemoryJournal, memoryJournal } from "../../src/engine/journal.js";
import { type RolloutOptions, type RolloutResult, runRollout } from "../../src/engine/run.js";
import type { Plan } from "../../src/plan/types.js";
import { ManualClock } from "../../src/util/clock.js";
import { FakeAws, type FakeOptions } from "./fake-aws.js";
import { makeFleet, makePlan, type Setup } from "./fixtures.js";

export interface Harness extends Setup {
  clock: ManualClock;
  aws: FakeAws;
  plan: Plan;
  journal: MemoryJournal;
  events: RolloutEvent[];
  controller: AbortController;
}

export function harness(
  fleetOpts: Parameters<typeof makeFleet>[1],
  plan: Plan = makePlan(),
  fake: FakeOptions = {},
): Harness {
  const clock = new ManualClock(1_700_000_000_000);
  const aws = new FakeAws(clock, fake);
  const setup = makeFleet(aws, fleetOpts);
  return {
    ...setup,
    clock,
    aws,
    plan,
    journal: memoryJournal(),
    events: [],
    controller: new AbortController(),
  };
}

export function options(h: Harness, extra: Partial<RolloutOptions> = {}): RolloutOptions {
  return {
    plan: h.plan,
    fleet: h.fleet,
    wavePlan: h.wavePlan,
    aws: h.aws,
    clock: h.clock,
    signal: h.controller.signal,
    emit: (e) => h.events.push(e),
    journal: h.journal,
    tickMs: 5_000,
    pollMs: 10_000,
    ...extra,
  };
}

/** Step the clock until the run settles; `onTick` may inject faults at given times. */
export async function drive(
  h: Harness,
  run: Promise<RolloutResult>,
  onTick?: (elapsedMs: number) => void,
  maxMs = 48 * 3_600_000,
): Promise<RolloutResult> {
  let out: { r?: RolloutResult; e?: unknown } | undefined;
  run.then(
    (r) => {
      out = { r };
    },
    (e) => {
      out = { e };
    },
  );
  // Time moves only while the engine is parked in a sleep: real I/O (a file journal) may take
  // longer than a microtask flush, and simulated time must not run ahead of it.
  let t = 0;
  let idle = 0;
  while (!out && t < maxMs) {
    if (h.clock.pending === 0) {
      if (++idle > 5_000) throw new Error("the engine neither sleeps nor finishes");
      await new Promise((r) => setTimeout(r, 1));
      continue;
    }
    idle = 0;
    await h.clock.advance(5_000);
    t += 5_000;
    onTick?.(t);
  }
  if (!out) throw new Error("the rollout did not finish in time");
  if (out.e) throw out.e;
  return out.r as RolloutResult;
}

export function start(h: Harness, extra: Partial<RolloutOptions> = {}): Promise<RolloutResult> {
  return drive(h, runRollout(options(h, extra)));
}

/**
 * Run the engine against the in-process simulator over real SDK clients (HTTP), sharing one
 * ScaledClock: load the plan, discover the fleet, plan waves, give the simulator the floor, roll.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { MutableAwsConnection } from "../../src/aws/types.js";
import { acquireFleetLock } from "../../src/cli/fleet-lock.js";
import type { RolloutEvent } from "../../src/engine/events.js";
import { memoryJournal } from "../../src/engine/journal.js";
import { type RolloutOptions, type RolloutResult, runRollout } from "../../src/engine/run.js";
import type { Fleet } from "../../src/fleet/types.js";
import { parsePlanText } from "../../src/plan/load.js";
import type { Plan } from "../../src/plan/types.js";
import { prepareRollout } from "../../src/rollout/prepare.js";
import {
  createWorld,
  type FleetSpecFile,
  loadFleetSpec,
  type RunningSimulator,
  startSimulator,
  type WireFaults,
} from "../../src/sim/index.js";
import { type Clock, ScaledClock } from "../../src/util/clock.js";
import type { WavePlan } from "../../src/waves/types.js";

export const FLEET_300 = fileURLToPath(new URL("./fleet-300.yaml", import.meta.url));
export const PLAN = fileURLToPath(new URL("./plan.yaml", import.meta.url));

export interface SimRunOptions {
  fleetSpec?: string;
  /** Change the loaded fleet spec before the simulator starts (extra command behaviours, faults…). */
  spec?: (s: FleetSpecFile) => void;
  release?: string;
  scale?: number;
  /** Instead of a ScaledClock at `scale` (e.g. a VirtualClock, whose time does not depend on machine load). */
  clock?: Clock;
  seed?: number;
  /** Adjust the loaded plan (strategy, failure action…). */
  plan?: (p: Plan) => Plan;
  faults?: Partial<WireFaults>;
  /** Called once the simulator runs and the fleet is known, before the rollout starts. */
  before?: (sim: RunningSimulator, fleet: Fleet, wavePlan: WavePlan) => void;
  /** Called on every event (e.g. to inject a fault when an instance starts draining). */
  onEvent?: (e: RolloutEvent, sim: RunningSimulator) => void;
  engine?: Partial<RolloutOptions>;
  /** Hold the SSM fleet lock around the run, as `deploy` against AWS does (cli/fleet-lock.ts). */
  fleetLock?: boolean;
}

export interface SimRunResult {
  result: RolloutResult;
  sim: RunningSimulator;
  events: RolloutEvent[];
  fleet: Fleet;
  wavePlan: WavePlan;
  plan: Plan;
  aws: MutableAwsConnection;
}

export async function simRun(o: SimRunOptions = {}): Promise<SimRunResult> {
  const clock = o.clock ?? new ScaledClock(o.scale ?? 300);
  const seed = o.seed ?? 7;
  let world: ReturnType<typeof createWorld> | undefined;
  if (o.spec) {
    const spec = await loadFleetSpec(o.fleetSpec ?? FLEET_300);
    o.spec(spec);
    world = createWorld(spec, { clock, seed });
  }
  const sim = await startSimulator({
    fleet: o.fleetSpec ?? FLEET_300,
    clock,
    seed,
    ...(world ? { world } : {}),
  });
  try {
    const text = await readFile(PLAN, "utf8");
    const loaded = parsePlanText(text, PLAN, { vars: [`release=${o.release ?? "v2.0.0"}`] });
    const plan = o.plan ? o.plan(loaded.plan) : loaded.plan;
    const { aws, fleet, wavePlan } = await prepareRollout({
      plan,
      aws: {
        region: sim.region,
        endpointUrl: sim.endpoint,
        credentials: { accessKeyId: "sim", secretAccessKey: "sim" },
        clock,
      },
      simulator: sim.world,
    });
    if (o.faults) sim.setFaults(o.faults);
    o.before?.(sim, fleet, wavePlan);
    const events: RolloutEvent[] = [];
    const lock = o.fleetLock
      ? await acquireFleetLock({
          reader: aws.reader,
          writer: aws.writer,
          clock,
          parameter: plan.lock.parameter,
          staleAfterMs: plan.lock.staleAfterMs,
          rolloutId: "sim-run",
          resume: false,
          planFile: PLAN,
          owner: { user: "test", host: "sim-run" },
        })
      : undefined;
    const result = await runRollout({
      plan,
      fleet,
      wavePlan,
      aws,
      clock,
      signal: new AbortController().signal,
      emit: (e) => {
        events.push(e);
        o.onEvent?.(e, sim);
      },
      journal: memoryJournal(),
      apiCallsSince: aws.calls(),
      ...o.engine,
    });
    sim.setFaults({ throttleRate: 0, errorRate: 0 } as Partial<WireFaults>);
    await lock?.release();
    aws.close();
    return { result, sim, events, fleet, wavePlan, plan, aws };
  } catch (e) {
    await sim.close();
    throw e;
  }
}

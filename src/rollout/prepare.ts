/**
 * The wiring of a rollout, written once: connect → discover the fleet → plan the waves → declare the
 * capacity floor. `deploy`/`resume` (cli/deploy-run.ts), `plan` (cli/commands/plan.ts), the
 * integration tests (test/integration/sim-run.ts) and the rollout bench (bench/rollout.mjs) all
 * start here; what they do next (run the engine, print a preview) is theirs.
 *
 *   const { aws, fleet, wavePlan } = await prepareRollout({ plan, aws: { region: "eu-west-1" } });
 *   // aws has a writer; with `readOnly: true` it has none (a dry run or `plan` cannot mutate).
 */
import type { AwsOptions } from "../aws/connect.js";
import type { AwsConnection, MutableAwsConnection } from "../aws/types.js";
import { capacityFloor } from "../engine/capacity.js";
import { discoverFleet } from "../fleet/discover.js";
import type { Fleet } from "../fleet/types.js";
import { type LoadedPlan, locatePlanIssues } from "../plan/load.js";
import type { Plan } from "../plan/types.js";
import { planWaves } from "../waves/plan-waves.js";
import type { WavePlan } from "../waves/types.js";

/** In-service instances the rollout promises to keep, overall and per AZ (engine/capacity.ts). */
export type CapacityFloor = ReturnType<typeof capacityFloor>;

/** A simulated fleet: it checks the declared floor on its own, every simulated tick. */
interface SimulatedFleet {
  setCapacityFloor(floor: CapacityFloor): void;
}

interface PrepareOptions {
  plan: Plan;
  /** Where the AWS calls go (a simulator is just an endpoint here). */
  aws: AwsOptions;
  /** A dry run or a preview: the connection gets no writer, and no floor is declared. */
  readOnly?: boolean;
  /** The plan file, named in the planner's messages. */
  source?: string;
  /** Locates the planner's errors in the plan file (`LoadedPlan.locate`), for `file:line:col`. */
  locate?: LoadedPlan["locate"];
  /** Set when `aws` points at a simulator: the fleet is marked simulated and handed the floor. */
  simulator?: SimulatedFleet;
}

export interface PlannedRollout {
  fleet: Fleet;
  wavePlan: WavePlan;
  floor: CapacityFloor;
}

interface PreparedRollout<C extends AwsConnection> extends PlannedRollout {
  /** Open: the caller closes it. */
  aws: C;
}

/**
 * Plan the waves over a fleet already known (discovered, or read from an inventory file). With
 * `locate`, the planner's errors (InputError) point at their line and column in `source`.
 */
export function planRollout(
  plan: Plan,
  fleet: Fleet,
  source?: string,
  locate?: LoadedPlan["locate"],
): PlannedRollout {
  let wavePlan: WavePlan;
  try {
    wavePlan = planWaves(fleet, plan, source === undefined ? {} : { source });
  } catch (error) {
    throw source !== undefined && locate ? locatePlanIssues(error, { file: source, locate }) : error;
  }
  return { fleet, wavePlan, floor: capacityFloor(fleet, wavePlan) };
}

export function prepareRollout(
  o: PrepareOptions & { readOnly: true },
): Promise<PreparedRollout<AwsConnection>>;
export function prepareRollout(
  o: PrepareOptions & { readOnly?: false },
): Promise<PreparedRollout<MutableAwsConnection>>;
export async function prepareRollout(o: PrepareOptions): Promise<PreparedRollout<AwsConnection>> {
  // The SDK loads on first use, so planning from an inventory file never pays for it.
  const { createAws, createReadOnlyAws } = await import("../aws/connect.js");
  const aws = o.readOnly ? createReadOnlyAws(o.aws) : createAws(o.aws);
  try {
    const found = await discoverFleet(aws.reader, o.plan.fleet, { region: o.aws.region });
    const fleet: Fleet = o.simulator ? { ...found, source: "simulator" } : found;
    const planned = planRollout(o.plan, fleet, o.source, o.locate);
    if (o.simulator && !o.readOnly) o.simulator.setCapacityFloor(planned.floor);
    return { aws, ...planned };
  } catch (error) {
    aws.close();
    throw error;
  }
}

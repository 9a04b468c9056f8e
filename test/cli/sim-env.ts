/** A standalone simulator for tests that point the CLI at it with --endpoint-url, as another shell would. */
import { type RunningSimulator, startSimulator } from "../../src/sim/index.js";

export const SMALL_FLEET = "plans/sim/small-fleet.yaml";
export const SMALL_PLAN = "test/cli/fixtures/small-relay.yaml";

export async function standaloneSim(): Promise<RunningSimulator> {
  const sim = await startSimulator({ fleet: SMALL_FLEET, timeScale: 60, seed: 7 });
  // The SDK reads credentials from the process environment: the simulator's dummy ones.
  process.env.AWS_ACCESS_KEY_ID = "test";
  process.env.AWS_SECRET_ACCESS_KEY = "test";
  delete process.env.AWS_PROFILE;
  return sim;
}

/** Every action the simulator answered that is not a read (Describe*, List*, Get*). */
export function mutatingCalls(sim: RunningSimulator): string[] {
  return Object.keys(sim.apiCalls().byAction).filter(
    (k) => !/^(?:[\w-]+\.)?(?:Describe|List|Get)[A-Z]/.test(k),
  );
}

import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { capacityFloor } from "../../src/engine/capacity.js";
import { parsePlanText } from "../../src/plan/load.js";
import type { Plan } from "../../src/plan/types.js";
import { type CapacityFloor, prepareRollout } from "../../src/rollout/prepare.js";
import { type RunningSimulator, startSimulator } from "../../src/sim/index.js";
import { ManualClock } from "../../src/util/clock.js";

const FLEET_40 = new URL("../integration/fleet-40.yaml", import.meta.url).pathname;
const PLAN = new URL("../integration/plan.yaml", import.meta.url).pathname;

let sim: RunningSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function setUp(): Promise<{ sim: RunningSimulator; plan: Plan; clock: ManualClock }> {
  const clock = new ManualClock(0);
  sim = await startSimulator({ fleet: FLEET_40, clock, seed: 3 });
  const text = await readFile(PLAN, "utf8");
  const { plan } = parsePlanText(text, PLAN, { vars: ["release=v2.0.0"] });
  return { sim, plan, clock };
}

const awsOf = (s: RunningSimulator, clock: ManualClock) => ({
  region: s.region,
  endpointUrl: s.endpoint,
  credentials: { accessKeyId: "sim", secretAccessKey: "sim" },
  clock,
});

describe("prepareRollout", () => {
  it("discovers the fleet, plans its waves and hands a simulator the floor it will be held to", async () => {
    const { sim, plan, clock } = await setUp();
    const declared: CapacityFloor[] = [];
    const prepared = await prepareRollout({
      plan,
      aws: awsOf(sim, clock),
      simulator: { setCapacityFloor: (f) => declared.push(f) },
    });
    expect(prepared.fleet.instances).toHaveLength(40);
    expect(prepared.fleet.source).toBe("simulator");
    const planned = prepared.wavePlan.waves.flatMap((w) => w.instances.map((i) => i.id));
    expect(new Set(planned).size).toBe(40);
    expect(declared).toEqual([capacityFloor(prepared.fleet, prepared.wavePlan)]);
    expect(prepared.floor.total).toBeGreaterThan(0);
    expect(prepared.floor.total).toBeLessThan(40);
    expect("writer" in prepared.aws).toBe(true);
    prepared.aws.close();
  });

  it("gives a read-only preparation no writer and declares no floor", async () => {
    const { sim, plan, clock } = await setUp();
    const declared: CapacityFloor[] = [];
    const prepared = await prepareRollout({
      plan,
      aws: awsOf(sim, clock),
      readOnly: true,
      simulator: { setCapacityFloor: (f) => declared.push(f) },
    });
    expect("writer" in prepared.aws).toBe(false);
    expect(declared).toEqual([]);
    prepared.aws.close();
  });
});

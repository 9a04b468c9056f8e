import { fileURLToPath } from "node:url";
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../../src/sim/server.js";
import { ManualClock } from "../../../src/util/clock.js";

const smallFleet = fileURLToPath(new URL("../../../plans/sim/small-fleet.yaml", import.meta.url));
let sim: RunningSimulator | undefined;
const saved = { ...process.env };
afterAll(async () => {
  process.env = saved;
  await sim?.close();
});

describe("pointing unmodified clients at the simulator through the environment", () => {
  it("works with nothing but the printed export lines: endpoint, region and credentials", async () => {
    sim = await startSimulator({ fleet: smallFleet, clock: new ManualClock(Date.UTC(2026, 0, 1)) });
    for (const line of sim.envLines()) {
      const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
      expect(m).not.toBeNull();
      process.env[m?.[1] as string] = m?.[2];
    }
    delete process.env.AWS_PROFILE;
    const identity = await new STSClient({}).send(new GetCallerIdentityCommand({}));
    expect(identity.Account).toBe(sim.accountId);
    const out = await new EC2Client({}).send(new DescribeInstancesCommand({}));
    expect(out.Reservations?.length).toBe(12);
  });
});

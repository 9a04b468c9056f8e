/**
 * The simulator counts command executions per instance and step, and lists the duplicates: a step
 * that started again on an instance where it had already succeeded (or was still running). This is
 * what the crash matrix checks "no step was sent twice" against, so it is tested through the real
 * SSM client and GET /_sim/state, as a crash test in another process would read it.
 */
import { fileURLToPath } from "node:url";
import { ListCommandsCommand, SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SimStateSnapshot } from "../../../src/sim/model/api.js";
import { stepOf } from "../../../src/sim/model/commands.js";
import { type RunningSimulator, startSimulator } from "../../../src/sim/server.js";
import { ManualClock } from "../../../src/util/clock.js";

const smallFleet = fileURLToPath(new URL("../../../plans/sim/small-fleet.yaml", import.meta.url));

let sim: RunningSimulator;
let clock: ManualClock;
let ssm: SSMClient;
let ids: string[];
beforeAll(async () => {
  clock = new ManualClock(Date.UTC(2026, 0, 1, 3, 0, 0));
  sim = await startSimulator({ fleet: smallFleet, clock, seed: 5 });
  ssm = new SSMClient({
    region: sim.region,
    endpoint: sim.endpoint,
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  });
  ids = sim.state().instances.map((i) => i.id);
});
afterAll(async () => {
  ssm.destroy();
  await sim.close();
});

async function state(): Promise<SimStateSnapshot> {
  return (await (await fetch(`${sim.endpoint}/_sim/state`)).json()) as SimStateSnapshot;
}

async function send(comment: string, instanceIds: string[], commands: string[]): Promise<string> {
  const out = await ssm.send(
    new SendCommandCommand({
      DocumentName: "AWS-RunShellScript",
      InstanceIds: instanceIds,
      Parameters: { commands },
      Comment: comment,
    }),
  );
  return out.Command?.CommandId as string;
}

const HEALTHZ = ["curl -fsS http://127.0.0.1:8080/healthz"];

describe("execution counts in /_sim/state", () => {
  it("counts each step per instance, whatever token follows `rollwave <plan> <step>` in the Comment", async () => {
    const [a, b] = ids as [string, string];
    const first = await send("rollwave small-relay validate tok-1", [a, b], HEALTHZ);
    await clock.advance(10_000);
    let s = await state();
    expect(s.executions).toEqual(
      expect.arrayContaining([
        { instanceId: a, step: "rollwave small-relay validate", runs: 1, successes: 1 },
        { instanceId: b, step: "rollwave small-relay validate", runs: 1, successes: 1 },
      ]),
    );
    expect(s.duplicates).toEqual([]);

    // The same step again on `a`, under a new token: a duplicate naming the run that had succeeded.
    const again = await send("rollwave small-relay validate tok-2", [a], HEALTHZ);
    // Another step on `a` is not a duplicate.
    await send("rollwave small-relay preDrain tok-3", [a], HEALTHZ);
    await clock.advance(10_000);
    s = await state();
    expect(s.duplicates).toEqual([
      {
        at: expect.any(Number),
        instanceId: a,
        step: "rollwave small-relay validate",
        commandId: again,
        kind: "after-success",
        succeededIn: first,
      },
    ]);
    expect(s.executions).toContainEqual({
      instanceId: a,
      step: "rollwave small-relay validate",
      runs: 2,
      successes: 2,
    });
    expect(s.executions).toContainEqual({
      instanceId: a,
      step: "rollwave small-relay preDrain",
      runs: 1,
      successes: 1,
    });
  });

  it("flags a second run that starts while the first is still running", async () => {
    const c = ids[2] as string;
    const install = ["/opt/relay/bin/install v2.0.0"]; // 10 s median
    await send("rollwave small-relay deploy tok-4", [c], install);
    await clock.advance(1_500); // delivered and running
    const second = await send("rollwave small-relay deploy tok-5", [c], install);
    await clock.advance(60_000);
    const s = await state();
    expect(s.duplicates.filter((d) => d.instanceId === c)).toEqual([
      {
        at: expect.any(Number),
        instanceId: c,
        step: "rollwave small-relay deploy",
        commandId: second,
        kind: "while-running",
      },
    ]);
  });

  it("does not count a retry after a failure, or an invocation that never started, as a duplicate", async () => {
    const d = ids[3] as string;
    const e = ids[4] as string;
    sim.world.control({ op: "commandFailures", probability: 1, match: "healthz" });
    await send("rollwave small-relay validate tok-6", [d], HEALTHZ);
    await clock.advance(10_000);
    sim.world.control({ op: "commandFailures", probability: 0, match: "healthz" });
    await send("rollwave small-relay validate tok-7", [d], HEALTHZ);
    // `e`'s agent is offline: SendCommand answers, but the invocation is undeliverable.
    sim.world.control({ op: "ssmAgent", instanceId: e, online: false });
    await send("rollwave small-relay validate tok-8", [e], HEALTHZ);
    await clock.advance(10_000);
    const s = await state();
    expect(s.executions).toContainEqual({
      instanceId: d,
      step: "rollwave small-relay validate",
      runs: 2,
      successes: 1,
    });
    expect(s.executions.some((x) => x.instanceId === e)).toBe(false);
    expect(s.duplicates.filter((x) => x.instanceId === d || x.instanceId === e)).toEqual([]);
  });
});

describe("stepOf", () => {
  it("names a step by rollwave's comment prefix, else the comment, else the document and lines", () => {
    expect(stepOf("AWS-RunShellScript", "rollwave web deploy 7f3a-token", ["x"])).toBe("rollwave web deploy");
    expect(stepOf("AWS-RunShellScript", "rollwave web deploy", ["x"])).toBe("rollwave web deploy");
    expect(stepOf("AWS-RunShellScript", "nightly patch", ["x"])).toBe("nightly patch");
    expect(stepOf("AWS-RunShellScript", "", ["a", "b"])).toBe("AWS-RunShellScript: a; b");
  });
});

describe("lost responses (wire fault lostResponseRate)", () => {
  it("applies a SendCommand, answers 500, and the SDK's retry sends it again: two commands, one duplicate", async () => {
    const f = ids[6] as string;
    const set = await fetch(`${sim.endpoint}/_sim/faults`, {
      method: "POST",
      body: JSON.stringify({ lostResponseRate: 1 }),
    });
    expect(set.status).toBe(200);
    const retrying = new SSMClient({
      region: sim.region,
      endpoint: sim.endpoint,
      credentials: { accessKeyId: "x", secretAccessKey: "x" },
      maxAttempts: 2,
    });
    const err = await retrying
      .send(
        new SendCommandCommand({
          DocumentName: "AWS-RunShellScript",
          InstanceIds: [f],
          Parameters: { commands: ["/opt/relay/bin/install v2.0.0"] },
          Comment: "rollwave small-relay deploy tok-lost",
        }),
      )
      .catch((e: unknown) => e);
    retrying.destroy();
    expect(err).toMatchObject({
      name: "InternalServerError",
      $metadata: { httpStatusCode: 500, attempts: 2 },
    });
    await fetch(`${sim.endpoint}/_sim/faults`, {
      method: "POST",
      body: JSON.stringify({ lostResponseRate: 0 }),
    });

    // Reads are never lost; the token in the Comment finds both copies the client never saw.
    const listed = await ssm.send(new ListCommandsCommand({ InstanceId: f }));
    const copies = (listed.Commands ?? []).filter((c) => c.Comment?.includes("tok-lost"));
    expect(copies).toHaveLength(2);
    await clock.advance(120_000);
    const s = await state();
    expect(s.executions).toContainEqual({
      instanceId: f,
      step: "rollwave small-relay deploy",
      runs: 2,
      successes: 2,
    });
    expect(s.duplicates.filter((d) => d.instanceId === f)).toHaveLength(1);
  });
});

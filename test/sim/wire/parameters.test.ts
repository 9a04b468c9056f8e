/**
 * SSM Parameter Store as the API reference documents it, through the real SDK client and the real
 * model: what the fleet lock (remote-rollouts issue §1) builds on.
 */
import { fileURLToPath } from "node:url";
import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  PutParameterCommand,
  type PutParameterCommandInput,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_BUCKETS, type RunningSimulator, startSimulator } from "../../../src/sim/server.js";
import { ManualClock } from "../../../src/util/clock.js";

const smallFleet = fileURLToPath(new URL("../../../plans/sim/small-fleet.yaml", import.meta.url));
const T0 = Date.UTC(2026, 0, 1, 3, 0, 0);

let sim: RunningSimulator;
let clock: ManualClock;
let ssm: SSMClient;
beforeAll(async () => {
  clock = new ManualClock(T0);
  // Buckets would never refill on a clock that stands still: this test is about semantics, not rates.
  const noBuckets = Object.fromEntries(Object.keys(DEFAULT_BUCKETS).map((k) => [k, null]));
  sim = await startSimulator({ fleet: smallFleet, clock, seed: 1, faults: { buckets: noBuckets } });
  ssm = new SSMClient({
    region: sim.region,
    endpoint: sim.endpoint,
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  });
});
afterAll(async () => {
  ssm.destroy();
  await sim.close();
});

const put = (input: PutParameterCommandInput) => ssm.send(new PutParameterCommand(input));
const get = (Name: string) => ssm.send(new GetParameterCommand({ Name }));
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe("Parameter Store", () => {
  it("creates once: Overwrite false (the default) on an existing name is ParameterAlreadyExists", async () => {
    const name = "/rollwave/locks/camera-relay";
    expect(await put({ Name: name, Value: '{"owner":"a"}', Type: "String" })).toMatchObject({
      Version: 1,
      Tier: "Standard",
    });
    for (const Overwrite of [undefined, false]) {
      const err = await failure(put({ Name: name, Value: '{"owner":"b"}', Type: "String", Overwrite }));
      expect(err).toMatchObject({ name: "ParameterAlreadyExists", $metadata: { httpStatusCode: 400 } });
    }
    const read = await get(name);
    expect(read.Parameter).toMatchObject({ Name: name, Value: '{"owner":"a"}', Version: 1, Type: "String" });
    expect(read.Parameter?.ARN).toBe(`arn:aws:ssm:${sim.region}:${sim.accountId}:parameter${name}`);
  });

  it("counts versions up with Overwrite, and reads a past one as name:version with its Selector", async () => {
    const name = "/rollwave/locks/heartbeat";
    await put({ Name: name, Value: "beat-1", Type: "String" });
    await clock.advance(60_000);
    expect((await put({ Name: name, Value: "beat-2", Overwrite: true })).Version).toBe(2);
    await clock.advance(60_000);
    expect((await put({ Name: name, Value: "beat-3", Overwrite: true })).Version).toBe(3);

    const latest = (await get(name)).Parameter;
    expect(latest).toMatchObject({ Value: "beat-3", Version: 3 });
    expect(latest?.Selector).toBeUndefined();
    const second = (await get(`${name}:2`)).Parameter;
    expect(second).toMatchObject({ Name: name, Value: "beat-2", Version: 2, Selector: ":2" });
    expect(second?.LastModifiedDate?.getTime()).toBe(T0 + 60_000);
    expect(await failure(get(`${name}:9`))).toMatchObject({ name: "ParameterVersionNotFound" });
    expect(await failure(get(`${name}:some-label`))).toMatchObject({ name: "ParameterVersionNotFound" });

    const history = await ssm.send(new GetParameterHistoryCommand({ Name: name }));
    expect(history.Parameters?.map((p) => [p.Version, p.Value])).toEqual([
      [1, "beat-1"],
      [2, "beat-2"],
      [3, "beat-3"],
    ]);
  });

  it("keeps the 100 most recent versions, dropping the oldest", async () => {
    const name = "/rollwave/many";
    await put({ Name: name, Value: "v1", Type: "String" });
    for (let v = 2; v <= 101; v++) await put({ Name: name, Value: `v${v}`, Overwrite: true });
    expect((await get(name)).Parameter?.Version).toBe(101);
    expect(await failure(get(`${name}:1`))).toMatchObject({ name: "ParameterVersionNotFound" });
    expect((await get(`${name}:2`)).Parameter?.Value).toBe("v2");
  });

  it("starts again at version 1 after DeleteParameter; missing names are ParameterNotFound", async () => {
    const name = "/rollwave/locks/gone";
    await put({ Name: name, Value: "a", Type: "String" });
    await put({ Name: name, Value: "b", Overwrite: true });
    await ssm.send(new DeleteParameterCommand({ Name: name }));
    expect(await failure(get(name))).toMatchObject({ name: "ParameterNotFound" });
    expect(await failure(ssm.send(new DeleteParameterCommand({ Name: name })))).toMatchObject({
      name: "ParameterNotFound",
    });
    expect((await put({ Name: name, Value: "c", Type: "String" })).Version).toBe(1);
  });

  it("refuses a type change, bad names and oversized values as AWS does", async () => {
    await put({ Name: "/rollwave/typed", Value: "a", Type: "String" });
    expect(
      await failure(put({ Name: "/rollwave/typed", Value: "a", Type: "SecureString", Overwrite: true })),
    ).toMatchObject({ name: "HierarchyTypeMismatchException" });
    expect(await failure(put({ Name: "/aws/reserved", Value: "a", Type: "String" }))).toMatchObject({
      name: "ValidationException",
    });
    expect(await failure(put({ Name: "SSM-thing", Value: "a", Type: "String" }))).toMatchObject({
      name: "ValidationException",
    });
    expect(await failure(put({ Name: "/has space/x", Value: "a", Type: "String" }))).toMatchObject({
      name: "ValidationException",
    });
    const deep = `/${Array.from({ length: 16 }, (_, i) => `l${i}`).join("/")}`;
    expect(await failure(put({ Name: deep, Value: "a", Type: "String" }))).toMatchObject({
      name: "HierarchyLevelLimitExceededException",
    });
    expect(
      await failure(put({ Name: "/rollwave/big", Value: "x".repeat(4097), Type: "String" })),
    ).toMatchObject({ name: "ValidationException" });
    expect(
      await put({ Name: "/rollwave/big", Value: "x".repeat(4097), Type: "String", Tier: "Advanced" }),
    ).toMatchObject({ Version: 1, Tier: "Advanced" });
  });
});

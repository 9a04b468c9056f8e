/**
 * ListCommands / ListCommandInvocations filters as the SSM API reference documents them, through the
 * real SDK client and the real model: what exactly-once re-attach needs to find a command by the
 * token in its Comment, by instance and by time.
 */
import { fileURLToPath } from "node:url";
import {
  type CommandFilter,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../../src/sim/server.js";
import { ManualClock } from "../../../src/util/clock.js";

const smallFleet = fileURLToPath(new URL("../../../plans/sim/small-fleet.yaml", import.meta.url));
const T0 = Date.UTC(2026, 0, 1, 3, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

let sim: RunningSimulator;
let clock: ManualClock;
let ssm: SSMClient;
let a: string;
let b: string;
let e: string;
const cmd: Record<string, string> = {};

async function send(token: string, instanceId: string, commands: string[]): Promise<string> {
  const out = await ssm.send(
    new SendCommandCommand({
      DocumentName: "AWS-RunShellScript",
      InstanceIds: [instanceId],
      Parameters: { commands },
      Comment: `rollwave small-relay step ${token}`,
    }),
  );
  return out.Command?.CommandId as string;
}

beforeAll(async () => {
  clock = new ManualClock(T0);
  sim = await startSimulator({ fleet: smallFleet, clock, seed: 11 });
  ssm = new SSMClient({
    region: sim.region,
    endpoint: sim.endpoint,
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  });
  [a, b, , , e] = sim.state().instances.map((i) => i.id) as [string, string, string, string, string];
  // A at T0 (finishes), B at T0+60 s (a 10 s install, still running), C at T0+60 s to an offline agent.
  cmd.A = await send("tok-A", a, ["curl -fsS http://127.0.0.1:8080/healthz"]);
  await clock.advance(60_000);
  cmd.B = await send("tok-B", b, ["/opt/relay/bin/install v2.0.0"]);
  sim.world.control({ op: "ssmAgent", instanceId: e, online: false });
  cmd.C = await send("tok-C", e, ["curl -fsS http://127.0.0.1:8080/healthz"]);
  await clock.advance(1_500);
});
afterAll(async () => {
  ssm.destroy();
  await sim.close();
});

async function commands(Filters?: CommandFilter[], InstanceId?: string): Promise<string[]> {
  const out = await ssm.send(new ListCommandsCommand({ Filters, InstanceId }));
  return (out.Commands ?? []).map((c) => c.CommandId as string);
}

async function invocations(Filters?: CommandFilter[], InstanceId?: string) {
  const out = await ssm.send(new ListCommandInvocationsCommand({ Filters, InstanceId }));
  return out.CommandInvocations ?? [];
}

describe("ListCommands filters", () => {
  it("finds a command by instance and time, with its Comment carrying the token", async () => {
    const out = await ssm.send(
      new ListCommandsCommand({ InstanceId: a, Filters: [{ key: "InvokedAfter", value: iso(T0 - 1_000) }] }),
    );
    expect(out.Commands?.map((c) => [c.CommandId, c.Comment])).toEqual([
      [cmd.A, "rollwave small-relay step tok-A"],
    ]);
    expect(out.Commands?.[0]?.Comment).toContain("tok-A");
  });

  it("takes InvokedAfter as at-or-after and InvokedBefore as strictly before", async () => {
    expect(new Set(await commands([{ key: "InvokedAfter", value: iso(T0 + 30_000) }]))).toEqual(
      new Set([cmd.B, cmd.C]),
    );
    expect(await commands([{ key: "InvokedBefore", value: iso(T0 + 30_000) }])).toEqual([cmd.A]);
    expect(new Set(await commands([{ key: "InvokedAfter", value: iso(T0 + 60_000) }]))).toEqual(
      new Set([cmd.B, cmd.C]),
    );
    expect(await commands([{ key: "InvokedBefore", value: iso(T0) }])).toEqual([]);
    // Filters combine: after T0 and before T0+30 s.
    expect(
      await commands([
        { key: "InvokedAfter", value: iso(T0) },
        { key: "InvokedBefore", value: iso(T0 + 30_000) },
      ]),
    ).toEqual([cmd.A]);
  });

  it("filters by Status, ExecutionStage and DocumentName", async () => {
    expect(await commands([{ key: "Status", value: "Success" }])).toEqual([cmd.A]);
    expect(await commands([{ key: "Status", value: "InProgress" }])).toEqual([cmd.B]);
    expect(await commands([{ key: "ExecutionStage", value: "Executing" }])).toEqual([cmd.B]);
    expect(new Set(await commands([{ key: "ExecutionStage", value: "Complete" }]))).toEqual(
      new Set([cmd.A, cmd.C]),
    );
    expect((await commands([{ key: "DocumentName", value: "AWS-RunShellScript" }])).length).toBe(3);
    expect(await commands([{ key: "DocumentName", value: "AWS-RunPowerShellScript" }])).toEqual([]);
  });

  it("answers the documented errors for bad filters", async () => {
    const fail = (Filters: CommandFilter[]) =>
      ssm.send(new ListCommandsCommand({ Filters })).catch((err: unknown) => err);
    expect(await fail([{ key: "Bogus" as "Status", value: "x" }])).toMatchObject({
      name: "ValidationException",
    });
    expect(await fail([{ key: "InvokedAfter", value: "yesterday" }])).toMatchObject({
      name: "InvalidFilterKey",
    });
    expect(await fail([{ key: "Status", value: "Delayed" }])).toMatchObject({ name: "InvalidFilterKey" });
    expect(await fail([{ key: "ExecutionStage", value: "Later" }])).toMatchObject({
      name: "InvalidFilterKey",
    });
    const six = Array.from({ length: 6 }, () => ({
      key: "DocumentName" as const,
      value: "AWS-RunShellScript",
    }));
    expect(await fail(six)).toMatchObject({ name: "ValidationException" });
  });
});

describe("ListCommandInvocations filters", () => {
  it("finds the invocation on an instance by status, with the Comment", async () => {
    const running = await invocations([{ key: "Status", value: "InProgress" }], b);
    expect(running.map((i) => [i.CommandId, i.InstanceId, i.Comment])).toEqual([
      [cmd.B, b, "rollwave small-relay step tok-B"],
    ]);
    expect(await invocations([{ key: "Status", value: "InProgress" }], a)).toEqual([]);
  });

  it("matches a detailed status such as Undeliverable, and time and document filters", async () => {
    const undeliverable = await invocations([{ key: "Status", value: "Undeliverable" }]);
    expect(undeliverable.map((i) => [i.CommandId, i.InstanceId])).toEqual([[cmd.C, e]]);
    const early = await invocations([{ key: "InvokedBefore", value: iso(T0 + 1_000) }]);
    expect(early.map((i) => i.CommandId)).toEqual([cmd.A]);
    expect(await invocations([{ key: "DocumentName", value: "AWS-RunPatchBaseline" }])).toEqual([]);
  });

  it("refuses ExecutionStage, which only ListCommands takes", async () => {
    const err = await ssm
      .send(new ListCommandInvocationsCommand({ Filters: [{ key: "ExecutionStage", value: "Executing" }] }))
      .catch((x: unknown) => x);
    expect(err).toMatchObject({ name: "InvalidFilterKey" });
  });
});

import {
  CancelCommandCommand,
  DeleteParameterCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  PutParameterCommand,
  paginateListCommandInvocations,
  SendCommandCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pluginOutput } from "../../../src/sim/wire/services/ssm.js";
import { ManualClock } from "../../../src/util/clock.js";
import { startTestSim, type TestSim } from "./helpers.js";

let sim: TestSim;
let ssm: SSMClient;
beforeAll(async () => {
  // A clock that stands still makes every timestamp exact.
  sim = await startTestSim({ clock: new ManualClock(Date.UTC(2026, 0, 1, 3, 0, 0)) });
  ssm = new SSMClient(sim.client);
});
afterAll(async () => {
  ssm.destroy();
  await sim.close();
});

const ids = (n: number) => Array.from({ length: n }, (_, i) => `i-${String(i + 1).padStart(17, "0")}`);

describe("SSM Run Command over JSON 1.1", () => {
  it("sends a command and hands the model its documented inputs", async () => {
    sim.world.calls.length = 0;
    const out = await ssm.send(
      new SendCommandCommand({
        DocumentName: "AWS-RunShellScript",
        InstanceIds: ids(3),
        Parameters: { commands: ["systemctl restart relay"], executionTimeout: ["600"] },
        TimeoutSeconds: 120,
        MaxConcurrency: "10",
        MaxErrors: "0",
        Comment: "rollwave deploy",
      }),
    );
    expect(sim.world.calls[0]).toEqual({
      method: "sendCommand",
      args: [
        {
          documentName: "AWS-RunShellScript",
          instanceIds: ids(3),
          targets: undefined,
          parameters: { commands: ["systemctl restart relay"], executionTimeout: ["600"] },
          timeoutSeconds: 120,
          maxConcurrency: "10",
          maxErrors: "0",
          comment: "rollwave deploy",
        },
      ],
    });
    expect(out.Command).toMatchObject({
      DocumentName: "AWS-RunShellScript",
      InstanceIds: ids(3),
      Status: "Pending",
      TargetCount: 3,
      MaxConcurrency: "10",
      TimeoutSeconds: 120,
    });
    expect(out.Command?.RequestedDateTime).toBeInstanceOf(Date);
    expect(out.Command?.RequestedDateTime?.getTime()).toBe(sim.world.now);
  });

  it("refuses more than 50 instance ids with a ValidationException", async () => {
    const err = await ssm
      .send(new SendCommandCommand({ DocumentName: "AWS-RunShellScript", InstanceIds: ids(51) }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "ValidationException", $metadata: { httpStatusCode: 400 } });
  });

  it("sends to Targets by tag", async () => {
    sim.world.calls.length = 0;
    const out = await ssm.send(
      new SendCommandCommand({
        DocumentName: "AWS-RunShellScript",
        Targets: [{ Key: "tag:Service", Values: ["camera-relay"] }],
      }),
    );
    expect(sim.world.calls[0]?.args[0]).toMatchObject({
      targets: [{ key: "tag:Service", values: ["camera-relay"] }],
    });
    expect(out.Command?.Targets).toEqual([{ Key: "tag:Service", Values: ["camera-relay"] }]);
  });

  it("lists commands and their invocations, with plugin output cut at 2,500 characters", async () => {
    const sent = await ssm.send(
      new SendCommandCommand({ DocumentName: "AWS-RunShellScript", InstanceIds: ids(4) }),
    );
    const commandId = sent.Command?.CommandId as string;
    const listed = await ssm.send(new ListCommandsCommand({ CommandId: commandId }));
    expect(listed.Commands?.map((c) => c.CommandId)).toEqual([commandId]);

    const withDetails = await ssm.send(
      new ListCommandInvocationsCommand({ CommandId: commandId, Details: true }),
    );
    const inv = withDetails.CommandInvocations?.[0];
    expect(inv).toMatchObject({ CommandId: commandId, InstanceId: ids(1)[0], Status: "Success" });
    expect(inv?.CommandPlugins?.[0]).toMatchObject({
      Name: "aws:runShellScript",
      Status: "Success",
      ResponseCode: 0,
    });
    expect(inv?.CommandPlugins?.[0]?.Output).toHaveLength(2_500);
    expect(inv?.CommandPlugins?.[0]?.ResponseFinishDateTime).toBeInstanceOf(Date);

    const bare = await ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId }));
    expect(bare.CommandInvocations?.[0]?.CommandPlugins).toEqual([]);
  });

  it("pages command invocations with MaxResults and NextToken", async () => {
    const sent = await ssm.send(
      new SendCommandCommand({ DocumentName: "AWS-RunShellScript", InstanceIds: ids(5) }),
    );
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateListCommandInvocations(
      { client: ssm, pageSize: 2 },
      { CommandId: sent.Command?.CommandId },
    )) {
      pages++;
      for (const inv of page.CommandInvocations ?? []) seen.push(inv.InstanceId ?? "");
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(ids(5));
  });

  it("gives up to 24,000 characters of stdout from GetCommandInvocation, with string times", async () => {
    const sent = await ssm.send(
      new SendCommandCommand({ DocumentName: "AWS-RunShellScript", InstanceIds: ids(1) }),
    );
    const out = await ssm.send(
      new GetCommandInvocationCommand({ CommandId: sent.Command?.CommandId, InstanceId: ids(1)[0] }),
    );
    expect(out.StandardOutputContent).toHaveLength(24_000);
    expect(out.Status).toBe("Success");
    expect(out.ResponseCode).toBe(0);
    expect(out.PluginName).toBe("aws:runShellScript");
    expect(out.ExecutionElapsedTime).toBe("PT1.500S");
    expect(new Date(out.ExecutionStartDateTime ?? "").getTime()).toBe(sim.world.now);
  });

  it("answers InvocationDoesNotExist for an unknown invocation", async () => {
    const err = await ssm
      .send(new GetCommandInvocationCommand({ CommandId: "nope", InstanceId: ids(1)[0] }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "InvocationDoesNotExist", $metadata: { httpStatusCode: 400 } });
  });

  it("cancels a command and reports an unknown command id", async () => {
    const sent = await ssm.send(
      new SendCommandCommand({ DocumentName: "AWS-RunShellScript", InstanceIds: ids(2) }),
    );
    await ssm.send(
      new CancelCommandCommand({ CommandId: sent.Command?.CommandId, InstanceIds: [ids(1)[0] as string] }),
    );
    expect(sim.world.calls.at(-1)).toEqual({
      method: "cancelCommand",
      args: [sent.Command?.CommandId, [ids(1)[0]]],
    });
    const err = await ssm.send(new CancelCommandCommand({ CommandId: "missing" })).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "InvalidCommandId" });
  });

  it("describes instance information with both filter spellings", async () => {
    sim.world.calls.length = 0;
    const out = await ssm.send(
      new DescribeInstanceInformationCommand({
        Filters: [
          { Key: "PingStatus", Values: ["Online"] },
          { Key: "tag:Service", Values: ["camera-relay"] },
        ],
        InstanceInformationFilterList: [{ key: "InstanceIds", valueSet: ids(2) }],
        MaxResults: 50,
      }),
    );
    expect(sim.world.calls[0]?.args[0]).toMatchObject({
      instanceIds: ids(2),
      pingStatus: ["Online"],
      tagFilters: [{ key: "Service", values: ["camera-relay"] }],
      maxResults: 50,
    });
    expect(out.InstanceInformationList?.[0]).toMatchObject({
      InstanceId: ids(1)[0],
      PingStatus: "Online",
      PlatformType: "Linux",
      IPAddress: "10.0.0.10",
    });
    expect(out.InstanceInformationList?.[0]?.LastPingDateTime).toBeInstanceOf(Date);
  });
});

describe("SSM Parameter Store over JSON 1.1", () => {
  it("creates a parameter once: a second PutParameter without Overwrite is ParameterAlreadyExists", async () => {
    const first = await ssm.send(
      new PutParameterCommand({ Name: "/rollwave/lock", Value: "run-1", Type: "String" }),
    );
    expect(first.Version).toBe(1);
    const err = await ssm
      .send(
        new PutParameterCommand({ Name: "/rollwave/lock", Value: "run-2", Type: "String", Overwrite: false }),
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "ParameterAlreadyExists", $metadata: { httpStatusCode: 400 } });
    const got = await ssm.send(new GetParameterCommand({ Name: "/rollwave/lock" }));
    expect(got.Parameter).toMatchObject({
      Name: "/rollwave/lock",
      Value: "run-1",
      Version: 1,
      Type: "String",
    });
    expect(got.Parameter?.ARN).toBe("arn:aws:ssm:ap-northeast-1:123456789012:parameter/rollwave/lock");
    expect(got.Parameter?.LastModifiedDate).toBeInstanceOf(Date);
  });

  it("deletes a parameter, after which GetParameter is ParameterNotFound", async () => {
    await ssm.send(new PutParameterCommand({ Name: "temp", Value: "v", Type: "String" }));
    await ssm.send(new DeleteParameterCommand({ Name: "temp" }));
    const err = await ssm.send(new GetParameterCommand({ Name: "temp" })).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "ParameterNotFound" });
  });
});

describe("plugin output", () => {
  it("keeps stderr whole and cuts stdout first when the output exceeds 2,500 characters", () => {
    const out = pluginOutput("p".repeat(30_000), "install: checksum mismatch");
    expect(out).toHaveLength(2_500);
    expect(out.endsWith("\n----------ERROR-------\ninstall: checksum mismatch")).toBe(true);
    expect(pluginOutput("ok", "")).toBe("ok");
  });
});

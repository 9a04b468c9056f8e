import { afterEach, describe, expect, it } from "vitest";
import { connectTo } from "./helpers.js";
import { fail, formList, members, ok, type Stub, startStub, x } from "./stub-server.js";

let stub: Stub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

const ids = (n: number) => Array.from({ length: n }, (_, i) => `i-${String(i).padStart(8, "0")}`);

describe("SSM adapter", () => {
  it("asks DescribeInstanceInformation about at most 50 instances a call and follows NextToken", async () => {
    stub = await startStub((req) => {
      const filter = (req.json.Filters as { Key: string; Values: string[] }[])[0];
      expect(filter?.Key).toBe("InstanceIds");
      const known = (filter?.Values ?? []).filter((id) => !id.endsWith("7"));
      // Answer 20 per page whatever MaxResults says, to exercise paging inside one batch.
      const start = Number(req.json.NextToken ?? 0);
      const page = known.slice(start, start + 20).map((id, n) => ({
        InstanceId: id,
        PingStatus: n % 5 === 0 ? "ConnectionLost" : "Online",
      }));
      return ok({
        InstanceInformationList: page,
        ...(start + 20 < known.length ? { NextToken: String(start + 20) } : {}),
      });
    });
    const aws = connectTo(stub);
    const all = ids(120);
    const status = await aws.reader.describeInstanceInformation(all);
    const sent = stub.seen("SSM.DescribeInstanceInformation");
    const batchSizes = sent
      .filter((r) => !r.json.NextToken)
      .map((r) => (r.json.Filters as { Values: string[] }[])[0]?.Values.length);
    expect(batchSizes).toEqual([50, 50, 20]);
    expect(sent.every((r) => r.json.MaxResults === 50)).toBe(true);
    expect(Object.keys(status)).toHaveLength(all.filter((id) => !id.endsWith("7")).length);
    expect(status["i-00000007"]).toBeUndefined();
    expect(new Set(Object.values(status))).toEqual(new Set(["Online", "ConnectionLost"]));
    aws.close();
  });

  it("lists a command's invocations with details, paging, and stderr split from the output", async () => {
    stub = await startStub((req) => {
      expect(req.json).toMatchObject({ CommandId: "cmd-1", Details: true, MaxResults: 50 });
      if (!req.json.NextToken) {
        return ok({
          CommandInvocations: [
            {
              InstanceId: "i-1",
              Status: "Success",
              StatusDetails: "Success",
              CommandPlugins: [{ Name: "aws:runShellScript", ResponseCode: 0, Output: "installed v2" }],
            },
          ],
          NextToken: "p2",
        });
      }
      return ok({
        CommandInvocations: [
          {
            InstanceId: "i-2",
            Status: "Failed",
            StatusDetails: "Failed",
            CommandPlugins: [
              {
                ResponseCode: 7,
                Output: "fetching\n----------ERROR-------\ncurl: (7) Failed to connect\nsecond line",
              },
            ],
          },
          {
            InstanceId: "i-3",
            Status: "TimedOut",
            StatusDetails: "Delivery Timed Out",
            CommandPlugins: [{ ResponseCode: -1 }],
          },
        ],
      });
    });
    const aws = connectTo(stub);
    const invocations = await aws.reader.listCommandInvocations("cmd-1");
    expect(invocations).toEqual([
      {
        instanceId: "i-1",
        status: "Success",
        statusDetails: "Success",
        responseCode: 0,
        output: "installed v2",
      },
      {
        instanceId: "i-2",
        status: "Failed",
        statusDetails: "Failed",
        responseCode: 7,
        output: "fetching",
        stderr: "curl: (7) Failed to connect\nsecond line",
      },
      { instanceId: "i-3", status: "TimedOut", statusDetails: "Delivery Timed Out", responseCode: -1 },
    ]);
    expect(aws.calls().byAction["SSM.ListCommandInvocations"]).toBe(2);
    aws.close();
  });

  it("lists the commands sent to an instance since a time, with their comments, paging", async () => {
    const after = new Date("2026-12-02T10:00:00Z");
    stub = await startStub((req) => {
      expect(req.json).toMatchObject({
        InstanceId: "i-1",
        Filters: [{ key: "InvokedAfter", value: after.toISOString() }],
        MaxResults: 50,
      });
      const at = (iso: string) => new Date(iso).getTime() / 1000;
      if (!req.json.NextToken) {
        return ok({
          Commands: [
            {
              CommandId: "c-new",
              Comment: "rollwave r:1 deploy relay",
              RequestedDateTime: at("2026-12-02T10:05:00Z"),
              InstanceIds: ["i-1"],
            },
          ],
          NextToken: "p2",
        });
      }
      // An endpoint that ignores the filter: older commands are dropped here.
      return ok({
        Commands: [
          {
            CommandId: "c-old",
            Comment: "x",
            RequestedDateTime: at("2026-12-02T09:00:00Z"),
            InstanceIds: ["i-1"],
          },
        ],
      });
    });
    const aws = connectTo(stub);
    expect(await aws.reader.listCommands({ instanceId: "i-1", after })).toEqual([
      {
        commandId: "c-new",
        comment: "rollwave r:1 deploy relay",
        requestedAt: new Date("2026-12-02T10:05:00Z").getTime(),
        instanceIds: ["i-1"],
      },
    ]);
    expect(stub.seen("SSM.ListCommands")).toHaveLength(2);
    aws.close();
  });

  it("reads InvocationDoesNotExist right after SendCommand as no invocations yet", async () => {
    stub = await startStub(() =>
      fail(
        "InvocationDoesNotExist",
        "The command ID and instance ID you specified did not match any invocations.",
      ),
    );
    const aws = connectTo(stub);
    expect(await aws.reader.listCommandInvocations("cmd-new")).toEqual([]);
    aws.close();
  });

  it("gets a parameter, or null when it does not exist", async () => {
    stub = await startStub((req) =>
      req.json.Name === "/rollwave/lock"
        ? ok({ Parameter: { Name: "/rollwave/lock", Value: "run-7", Version: 3 } })
        : fail("ParameterNotFound", "Parameter not found"),
    );
    const aws = connectTo(stub);
    expect(await aws.reader.getParameter("/rollwave/lock")).toEqual({ value: "run-7", version: 3 });
    expect(await aws.reader.getParameter("/rollwave/other")).toBeNull();
    aws.close();
  });
});

describe("Auto Scaling adapter", () => {
  it("maps instances to their group 50 ids a call", async () => {
    stub = await startStub((req) => {
      const asked = formList(req.form, "InstanceIds.member");
      const inGroup = asked.filter((id) => !id.endsWith("3"));
      return ok(
        x(
          "AutoScalingInstances",
          members(inGroup, (id) => x("InstanceId", id) + x("AutoScalingGroupName", `asg-${id.slice(-1)}`)),
        ),
      );
    });
    const aws = connectTo(stub);
    const groups = await aws.reader.describeAutoScalingInstances(ids(101));
    expect(
      stub
        .seen("AutoScaling.DescribeAutoScalingInstances")
        .map((r) => formList(r.form, "InstanceIds.member").length),
    ).toEqual([50, 50, 1]);
    expect(groups["i-00000011"]).toBe("asg-1");
    expect(groups["i-00000013"]).toBeUndefined();
    aws.close();
  });

  it("describes groups by name with their suspended processes and instances, and none for no names", async () => {
    stub = await startStub((req) => {
      const names = formList(req.form, "AutoScalingGroupNames.member");
      return ok(
        x(
          "AutoScalingGroups",
          members(
            names,
            (name) =>
              x("AutoScalingGroupName", name) +
              x(
                "SuspendedProcesses",
                members(
                  ["AZRebalance"],
                  (p) => x("ProcessName", p) + x("SuspensionReason", "User suspended"),
                ),
              ) +
              x(
                "Instances",
                members([`${name}-i1`, `${name}-i2`], (id) => x("InstanceId", id)),
              ),
          ),
        ),
      );
    });
    const aws = connectTo(stub);
    expect(await aws.reader.describeAutoScalingGroups([])).toEqual([]);
    expect(aws.calls().total).toBe(0);
    const groups = await aws.reader.describeAutoScalingGroups(["relay-a", "relay-b"]);
    expect(groups).toEqual([
      { name: "relay-a", suspendedProcesses: ["AZRebalance"], instanceIds: ["relay-a-i1", "relay-a-i2"] },
      { name: "relay-b", suspendedProcesses: ["AZRebalance"], instanceIds: ["relay-b-i1", "relay-b-i2"] },
    ]);
    aws.close();
  });
});

describe("CloudWatch adapter", () => {
  it("reads alarm states 100 names a call, metric and composite alike", async () => {
    stub = await startStub((req) => {
      const names = req.json.AlarmNames as string[];
      expect(names.length).toBeLessThanOrEqual(100);
      return ok({
        MetricAlarms: names
          .filter((n) => n !== "composite")
          .map((n) => ({ AlarmName: n, StateValue: n === "a-5" ? "ALARM" : "OK" })),
        CompositeAlarms: names.includes("composite")
          ? [{ AlarmName: "composite", StateValue: "INSUFFICIENT_DATA", StateReason: "no data" }]
          : [],
      });
    });
    const aws = connectTo(stub);
    const names = [...Array.from({ length: 150 }, (_, n) => `a-${n}`), "composite"];
    const alarms = await aws.reader.describeAlarms(names);
    expect(alarms).toHaveLength(151);
    expect(alarms.find((a) => a.name === "a-5")?.state).toBe("ALARM");
    expect(alarms.find((a) => a.name === "composite")).toEqual({
      name: "composite",
      state: "INSUFFICIENT_DATA",
      reason: "no data",
    });
    expect(aws.calls().byAction["CloudWatch.DescribeAlarms"]).toBe(2);
    aws.close();
  });

  it("gets the latest datapoint per instance with at most 500 queries a call", async () => {
    stub = await startStub((req) => {
      const queries = req.json.MetricDataQueries as {
        Id: string;
        MetricStat: { Metric: { Dimensions: { Name: string; Value: string }[] } };
      }[];
      expect(queries.length).toBeLessThanOrEqual(500);
      // Older value first, to check the adapter picks by timestamp, not position; no data for i-…9.
      const results = queries
        .filter((q) => !q.MetricStat.Metric.Dimensions[0]?.Value.endsWith("9"))
        .map((q) => {
          const n = Number(q.MetricStat.Metric.Dimensions[0]?.Value.slice(2));
          return {
            Id: q.Id,
            Timestamps: [1_700_000_000, 1_700_000_060],
            Values: [1, 100 + n],
            StatusCode: "Complete",
          };
        });
      return ok({ MetricDataResults: results });
    });
    const aws = connectTo(stub);
    const all = ids(1_200);
    const values = await aws.reader.getInstanceMetric({
      namespace: "CameraRelay",
      metricName: "ActiveConnections",
      dimension: "InstanceId",
      instanceIds: all,
      statistic: "Maximum",
      periodSeconds: 60,
      start: new Date(1_700_000_000_000),
      end: new Date(1_700_000_120_000),
    });
    expect(aws.calls().byAction["CloudWatch.GetMetricData"]).toBe(3);
    expect(values["i-00000042"]).toBe(142);
    expect(values["i-00001150"]).toBe(1250);
    expect(values["i-00000009"]).toBeUndefined();
    expect(Object.keys(values)).toHaveLength(1_080);
    aws.close();
  });
});

describe("STS adapter", () => {
  it("reads the account and caller ARN", async () => {
    stub = await startStub(() =>
      ok(
        x("Arn", "arn:aws:sts::123456789012:assumed-role/deployer/ci") +
          x("UserId", "AROA:ci") +
          x("Account", "123456789012"),
      ),
    );
    const aws = connectTo(stub);
    expect(await aws.reader.getCallerIdentity()).toEqual({
      account: "123456789012",
      arn: "arn:aws:sts::123456789012:assumed-role/deployer/ci",
    });
    aws.close();
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { AwsCallError } from "../../src/aws/types.js";
import { connectTo } from "./helpers.js";
import { fail, formList, formStructs, ok, type Stub, startStub } from "./stub-server.js";

let stub: Stub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

const TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/relay/abc";

describe("AWS writer", () => {
  it("registers and deregisters targets in chunks, each with the port it was registered on", async () => {
    stub = await startStub(() => ok(""));
    const aws = connectTo(stub);
    const targets = Array.from({ length: 230 }, (_, n) => ({
      id: `i-${n}`,
      ...(n % 2 ? { port: 8000 + n } : {}),
    }));
    await aws.writer.deregisterTargets(TG, targets);
    await aws.writer.registerTargets(TG, targets.slice(0, 3));
    const dereg = stub.seen("ELBv2.DeregisterTargets");
    expect(dereg.map((r) => formStructs(r.form, "Targets.member").length)).toEqual([100, 100, 30]);
    expect(dereg.every((r) => r.form.TargetGroupArn === TG)).toBe(true);
    const sent = dereg.flatMap((r) => formStructs(r.form, "Targets.member"));
    expect(sent.map((t) => t.Id)).toEqual(targets.map((t) => t.id));
    expect(sent[1]).toEqual({ Id: "i-1", Port: "8001" });
    expect(sent[0]).toEqual({ Id: "i-0" });
    expect(formStructs(stub.seen("ELBv2.RegisterTargets")[0]?.form ?? {}, "Targets.member")).toEqual([
      { Id: "i-0" },
      { Id: "i-1", Port: "8001" },
      { Id: "i-2" },
    ]);
    expect(aws.calls().byAction).toEqual({ "ELBv2.DeregisterTargets": 3, "ELBv2.RegisterTargets": 1 });
    aws.close();
  });

  it("sends one RunShellScript command with string-second timeouts, delivery timeout clamped to SSM's range", async () => {
    stub = await startStub(() => ok({ Command: { CommandId: "cmd-42", Status: "Pending" } }));
    const aws = connectTo(stub);
    const out = await aws.writer.sendCommand({
      instanceIds: ["i-1", "i-2"],
      commands: ["/opt/relay/bin/install 'v2.0.0'", "systemctl restart relay"],
      timeoutSeconds: 5,
      executionTimeoutSeconds: 600.2,
      comment: `rollwave deploy ${"x".repeat(200)}`,
    });
    expect(out).toEqual({ commandId: "cmd-42" });
    const body = stub.seen("SSM.SendCommand")[0]?.json;
    expect(body).toMatchObject({
      DocumentName: "AWS-RunShellScript",
      InstanceIds: ["i-1", "i-2"],
      Parameters: {
        commands: ["/opt/relay/bin/install 'v2.0.0'", "systemctl restart relay"],
        executionTimeout: ["601"],
      },
      TimeoutSeconds: 30,
      MaxErrors: "100%",
    });
    expect(String(body?.Comment).length).toBe(100);
    await aws.writer.sendCommand({
      instanceIds: ["i-1"],
      commands: ["true"],
      timeoutSeconds: 10_000_000,
      executionTimeoutSeconds: 60,
    });
    expect(stub.seen("SSM.SendCommand")[1]?.json.TimeoutSeconds).toBe(2_592_000);
    await aws.writer.sendCommand({
      instanceIds: ["i-1"],
      commands: ["true"],
      timeoutSeconds: 60,
      executionTimeoutSeconds: 3 * 86_400,
    });
    expect(stub.seen("SSM.SendCommand")[2]?.json.Parameters).toMatchObject({ executionTimeout: ["172800"] });
    aws.close();
  });

  it("refuses a command for more than 50 instances without calling SSM", async () => {
    stub = await startStub(() => ok({ Command: { CommandId: "never" } }));
    const aws = connectTo(stub);
    const instanceIds = Array.from({ length: 51 }, (_, n) => `i-${n}`);
    await expect(
      aws.writer.sendCommand({
        instanceIds,
        commands: ["true"],
        timeoutSeconds: 60,
        executionTimeoutSeconds: 60,
      }),
    ).rejects.toThrow(/1 to 50 instance ids, got 51/);
    expect(aws.calls().total).toBe(0);
    aws.close();
  });

  it("surfaces a refused write as an AwsCallError with its operation, code and request id", async () => {
    stub = await startStub((req) => {
      if (req.action === "SendCommand") {
        return fail("InvalidInstanceId", "Instances not in a valid state.", 400, "req-refused");
      }
      throw new Error(req.action);
    });
    const aws = connectTo(stub);
    const error = await aws.writer
      .sendCommand({
        instanceIds: ["i-1"],
        commands: ["true"],
        timeoutSeconds: 60,
        executionTimeoutSeconds: 60,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsCallError);
    expect(error).toMatchObject({
      operation: "SSM.SendCommand",
      code: "InvalidInstanceId",
      requestId: "req-refused",
      retryable: false,
    });
    aws.close();
  });

  it("suspends and resumes exactly the processes given, and never sends an empty list (which means all)", async () => {
    stub = await startStub(() => ok(""));
    const aws = connectTo(stub);
    await aws.writer.suspendProcesses("relay-asg", ["AZRebalance", "Terminate"]);
    await aws.writer.suspendProcesses("relay-asg", []);
    await aws.writer.resumeProcesses("relay-asg", []);
    await aws.writer.resumeProcesses("relay-asg", ["Terminate"]);
    const suspend = stub.seen("AutoScaling.SuspendProcesses");
    expect(suspend).toHaveLength(1);
    expect(formList(suspend[0]?.form ?? {}, "ScalingProcesses.member")).toEqual(["AZRebalance", "Terminate"]);
    expect(suspend[0]?.form.AutoScalingGroupName).toBe("relay-asg");
    const resume = stub.seen("AutoScaling.ResumeProcesses");
    expect(resume.map((r) => formList(r.form, "ScalingProcesses.member"))).toEqual([["Terminate"]]);
    aws.close();
  });
});

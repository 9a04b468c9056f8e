import { describe, expect, it } from "vitest";
import { ClockRetryStrategy, DEFAULT_RETRY_POLICY } from "../../src/aws/retry.js";
import { AwsCallError } from "../../src/aws/types.js";
import { ManualClock } from "../../src/util/clock.js";
import { connectTo, InstantClock } from "./helpers.js";
import { fail, members, ok, startStub, x } from "./stub-server.js";

const TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/relay/abc";
const healthy = ok(
  x(
    "TargetHealthDescriptions",
    members(["i-1"], (id) => x("Target", x("Id", id)) + x("TargetHealth", x("State", "healthy"))),
  ),
);

describe("retries and throttling", () => {
  it("retries a throttled ELBv2 call with growing backoff until it succeeds, counting every attempt", async () => {
    let n = 0;
    const stub = await startStub(() => (++n <= 6 ? fail("Throttling", "Rate exceeded") : healthy));
    const clock = new InstantClock();
    const throttled: string[] = [];
    const aws = connectTo(stub, { clock, onThrottle: (op) => throttled.push(op) });
    const targets = await aws.reader.describeTargetHealth(TG);
    expect(targets.map((t) => t.id)).toEqual(["i-1"]);
    expect(throttled).toEqual(Array(6).fill("ELBv2.DescribeTargetHealth"));
    expect(aws.calls()).toEqual({ total: 7, byAction: { "ELBv2.DescribeTargetHealth": 7 }, throttled: 6 });
    // Full jitter below a ceiling of 1 s · 2^retry: the sixth wait may be up to 32 s, the first at most 1 s.
    expect(clock.sleeps).toHaveLength(6);
    expect(clock.sleeps[0]).toBeLessThan(1_000);
    expect(clock.sleeps.every((ms, i) => ms >= 0 && ms < Math.min(20_000, 1_000 * 2 ** i))).toBe(true);
    aws.close();
    await stub.close();
  });

  it("keeps retrying through a long throttling storm rather than failing the call", async () => {
    let n = 0;
    const stub = await startStub((req) =>
      ++n <= 30
        ? fail("ThrottlingException", "Rate exceeded")
        : ok({ Parameter: { Value: String(req.json.Name), Version: 1 } }),
    );
    const aws = connectTo(stub);
    expect(await aws.reader.getParameter("/p")).toEqual({ value: "/p", version: 1 });
    expect(aws.calls().throttled).toBe(30);
    aws.close();
    await stub.close();
  });

  it("treats EC2's RequestLimitExceeded (HTTP 503) as throttling", async () => {
    let n = 0;
    const stub = await startStub(() =>
      ++n <= 2 ? fail("RequestLimitExceeded", "Request limit exceeded.", 503) : ok(x("reservationSet", "")),
    );
    const throttled: string[] = [];
    const aws = connectTo(stub, { onThrottle: (op) => throttled.push(op) });
    expect(await aws.reader.describeInstances({ tags: { Service: "relay" } })).toEqual([]);
    expect(throttled).toEqual(["EC2.DescribeInstances", "EC2.DescribeInstances"]);
    aws.close();
    await stub.close();
  });

  it("fails a non-retryable error at once as an AwsCallError with operation, code and request id", async () => {
    const stub = await startStub(() =>
      fail("TargetGroupNotFound", "One or more target groups not found", 400, "0f7d8f5e-elb-request"),
    );
    const aws = connectTo(stub);
    const error = await aws.reader.describeTargetHealth(TG).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsCallError);
    expect(error).toMatchObject({
      operation: "ELBv2.DescribeTargetHealth",
      code: "TargetGroupNotFound",
      requestId: "0f7d8f5e-elb-request",
      retryable: false,
    });
    expect((error as Error).message).toBe(
      "ELBv2.DescribeTargetHealth: TargetGroupNotFound: One or more target groups not found (request 0f7d8f5e-elb-request)",
    );
    expect(aws.calls().total).toBe(1);
    aws.close();
    await stub.close();
  });

  it("finds the request id in a query error's body when no header carries it", async () => {
    const stub = await startStub(() => fail("TargetGroupNotFound", "not found", 400, "body-only:elb-req-5"));
    const aws = connectTo(stub);
    const error = await aws.reader.describeTargetHealth(TG).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "TargetGroupNotFound", requestId: "elb-req-5" });
    aws.close();
    await stub.close();
  });

  it("gives up on server errors after maxAttempts and says the failure is retryable", async () => {
    const stub = await startStub(() =>
      fail("InternalError", "We encountered an internal error.", 500, "ssm-req-9"),
    );
    const aws = connectTo(stub, { maxAttempts: 4 });
    const error = await aws.reader.listCommandInvocations("cmd-1").catch((e: unknown) => e);
    expect(error).toMatchObject({
      operation: "SSM.ListCommandInvocations",
      code: "InternalError",
      requestId: "ssm-req-9",
      retryable: true,
    });
    expect(aws.calls().byAction["SSM.ListCommandInvocations"]).toBe(4);
    expect(aws.calls().throttled).toBe(0);
    aws.close();
    await stub.close();
  });

  it("sends SendCommand once on an ambiguous failure (5xx, timeout), but still retries it when throttled", async () => {
    // SendCommand has no idempotency token: a 5xx may come after SSM accepted the command, so a
    // second attempt could run the step twice. The caller gets the error at once (and looks the
    // command up by its Comment); a throttled attempt was refused, so retrying it is safe.
    const req = { instanceIds: ["i-1"], commands: ["true"], timeoutSeconds: 60, executionTimeoutSeconds: 60 };
    let n = 0;
    const stub = await startStub((r) => {
      if (r.action === "SendCommand") {
        n++;
        if (n === 1) return fail("InternalServerError", "An internal error has occurred", 500);
        if (n <= 3) return fail("ThrottlingException", "Rate exceeded");
        if (n === 4) return ok({ Command: { CommandId: "cmd-ok" } });
        if (n === 5)
          return new Promise((res) => setTimeout(() => res(ok({ Command: { CommandId: "late" } })), 1_500));
        return fail("ServiceUnavailable", "Service is unavailable", 503);
      }
      return fail("InternalError", "We encountered an internal error.", 500);
    });
    const aws = connectTo(stub, { maxAttempts: 4, requestTimeoutMs: 200 });
    const first = await aws.writer.sendCommand(req).catch((e: unknown) => e);
    expect(first).toMatchObject({
      operation: "SSM.SendCommand",
      code: "InternalServerError",
      retryable: true,
    });
    expect(stub.seen("SSM.SendCommand")).toHaveLength(1);
    // Two throttles, then accepted: three attempts, one command.
    expect(await aws.writer.sendCommand(req)).toEqual({ commandId: "cmd-ok" });
    expect(stub.seen("SSM.SendCommand")).toHaveLength(4);
    expect(aws.calls().throttled).toBe(2);
    // A timeout is ambiguous too: one attempt, then the error.
    const timedOut = await aws.writer.sendCommand(req).catch((e: unknown) => e);
    expect(timedOut).toMatchObject({ operation: "SSM.SendCommand" });
    expect(stub.seen("SSM.SendCommand")).toHaveLength(5);
    await aws.writer.sendCommand(req).catch(() => undefined);
    expect(stub.seen("SSM.SendCommand")).toHaveLength(6);
    // Other operations keep their retries on the same connection.
    await aws.writer.cancelCommand("cmd-ok").catch(() => undefined);
    expect(stub.seen("SSM.CancelCommand")).toHaveLength(4);
    aws.close();
    await stub.close();
  });

  it("maps a CloudWatch error by its query-compatible code", async () => {
    const stub = await startStub(() =>
      fail("InvalidParameterValue", "The value 0 for parameter Period is not valid.", 400, "cw-req-1"),
    );
    const aws = connectTo(stub);
    const error = await aws.reader.describeAlarms(["a"]).catch((e: unknown) => e);
    expect(error).toMatchObject({
      operation: "CloudWatch.DescribeAlarms",
      code: "InvalidParameterValue",
      requestId: "cw-req-1",
    });
    aws.close();
    await stub.close();
  });
});

describe("ClockRetryStrategy", () => {
  it("waits on the injected clock, so backoff only passes when the clock moves", async () => {
    const clock = new ManualClock();
    const strategy = new ClockRetryStrategy(
      clock,
      DEFAULT_RETRY_POLICY,
      () => {},
      () => 0.5,
    );
    const first = await strategy.acquireInitialRetryToken("");
    let retried = false;
    const next = strategy.refreshRetryTokenForRetry(first, { errorType: "THROTTLING" }).then((t) => {
      retried = true;
      return t;
    });
    await clock.advance(499);
    expect(retried).toBe(false);
    await clock.advance(1);
    expect((await next).getRetryCount()).toBe(1);
    expect((await next).getRetryDelay()).toBe(0);
  });

  it("refuses to retry client errors, and stops transient retries at maxAttempts", async () => {
    const strategy = new ClockRetryStrategy(
      new InstantClock(),
      { ...DEFAULT_RETRY_POLICY, maxAttempts: 3 },
      () => {},
    );
    let token = await strategy.acquireInitialRetryToken("");
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: "CLIENT_ERROR" })).rejects.toThrow();
    token = await strategy.refreshRetryTokenForRetry(token, { errorType: "TRANSIENT" });
    token = await strategy.refreshRetryTokenForRetry(token, { errorType: "TRANSIENT" });
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: "TRANSIENT" })).rejects.toThrow(
      /exhausted/,
    );
  });

  it("gives throttling its own, larger budget than transient errors", async () => {
    const policy = { ...DEFAULT_RETRY_POLICY, maxAttempts: 2, maxThrottledAttempts: 5 };
    const strategy = new ClockRetryStrategy(new InstantClock(), policy, () => {});
    let token = await strategy.acquireInitialRetryToken("");
    for (let i = 0; i < 4; i++)
      token = await strategy.refreshRetryTokenForRetry(token, { errorType: "THROTTLING" });
    token = await strategy.refreshRetryTokenForRetry(token, { errorType: "TRANSIENT" });
    expect(token.getRetryCount()).toBe(5);
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: "THROTTLING" })).rejects.toThrow(
      /exhausted/,
    );
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TokenBucket } from "../../src/aws/rate-limit.js";
import { ManualClock } from "../../src/util/clock.js";
import { connectTo, eventually } from "./helpers.js";
import { fail, members, ok, startStub, x } from "./stub-server.js";

const TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/relay/abc";

describe("client-side token bucket", () => {
  it("lets a burst through, then one request per refill interval, first come first served", async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ burst: 2, perSecond: 1 }, clock);
    const order: number[] = [];
    const all = [0, 1, 2, 3, 4].map((n) => bucket.take().then(() => order.push(n)));
    await clock.advance(0);
    expect(order).toEqual([0, 1]);
    await clock.advance(999);
    expect(order).toEqual([0, 1]);
    await clock.advance(1);
    expect(order).toEqual([0, 1, 2]);
    await clock.advance(2_000);
    await Promise.all(all);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it("refills to the burst after an idle period but never beyond it", async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ burst: 3, perSecond: 10 }, clock);
    await Promise.all([bucket.take(), bucket.take(), bucket.take()]);
    expect(bucket.available()).toBeCloseTo(0);
    await clock.advance(60_000);
    expect(bucket.available()).toBe(3);
  });

  it("lets the queue move on when a waiter aborts", async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ burst: 1, perSecond: 1 }, clock);
    await bucket.take();
    const abort = new AbortController();
    const gaveUp = bucket.take(abort.signal).catch(() => "aborted");
    const next = bucket.take();
    await clock.advance(0);
    abort.abort();
    expect(await gaveUp).toBe("aborted");
    await clock.advance(1_000);
    await expect(next).resolves.toBeUndefined();
  });

  it("never lets more than burst + rate × elapsed requests through in any interval", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 25 }),
        async (burst, perSecond, arrivals) => {
          const clock = new ManualClock();
          const bucket = new TokenBucket({ burst, perSecond }, clock);
          const sent: number[] = [];
          const done: Promise<void>[] = [];
          const sorted = [...arrivals].sort((a, b) => a - b);
          for (const at of sorted) {
            await clock.advance(at - clock.now());
            done.push(bucket.take().then(() => void sent.push(clock.now())));
          }
          await clock.advance(sorted.length * Math.ceil(1_000 / perSecond) + 1_000);
          await Promise.all(done);
          expect(sent).toHaveLength(arrivals.length);
          for (let i = 0; i < sent.length; i++) {
            for (let j = i; j < sent.length; j++) {
              const elapsed = (sent[j] as number) - (sent[i] as number);
              expect(j - i + 1).toBeLessThanOrEqual(burst + (perSecond * elapsed) / 1_000 + 1e-6);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("rejects a budget that could never send anything", () => {
    expect(() => new TokenBucket({ burst: 0, perSecond: 1 }, new ManualClock())).toThrow(RangeError);
    expect(() => new TokenBucket({ burst: 1, perSecond: 0 }, new ManualClock())).toThrow(RangeError);
  });
});

describe("pacing real requests", () => {
  it("holds requests beyond the service's budget until the injected clock refills it", async () => {
    const stub = await startStub(() =>
      ok(
        x(
          "TargetHealthDescriptions",
          members(["i-1"], (id) => x("Target", x("Id", id)) + x("TargetHealth", x("State", "healthy"))),
        ),
      ),
    );
    const clock = new ManualClock();
    const aws = connectTo(stub, { clock, rateLimits: { ELBv2: { burst: 2, perSecond: 1 } } });
    const calls = Array.from({ length: 4 }, () => aws.reader.describeTargetHealth(TG));
    await eventually(() => stub.requests.length === 2, "the burst of 2 to reach the server");
    await clock.advance(999);
    expect(stub.requests).toHaveLength(2);
    await clock.advance(1);
    await eventually(() => stub.requests.length === 3, "a third request after 1 s");
    await clock.advance(1_000);
    await Promise.all(calls);
    expect(aws.calls().byAction).toEqual({ "ELBv2.DescribeTargetHealth": 4 });
    aws.close();
    await stub.close();
  });

  it("spends the same budget on SDK retries, so a throttled service is not hammered", async () => {
    let n = 0;
    const stub = await startStub((req) =>
      ++n <= 1
        ? fail("ThrottlingException", "Rate exceeded")
        : ok({ Parameter: { Value: String(req.json.Name), Version: 1 } }),
    );
    const clock = new ManualClock();
    const aws = connectTo(stub, {
      clock,
      rateLimits: { SSM: { burst: 1, perSecond: 1 } },
      retry: { throttleBaseDelayMs: 1, maxDelayMs: 1 },
    });
    const result = aws.reader.getParameter("/p");
    await eventually(() => stub.requests.length === 1, "the first attempt");
    // The backoff (≤1 ms) passes, but the retry still needs a token, which takes a second to refill.
    await clock.advance(500);
    expect(stub.requests).toHaveLength(1);
    await clock.advance(500);
    await expect(result).resolves.toEqual({ value: "/p", version: 1 });
    expect(aws.calls()).toMatchObject({ total: 2, throttled: 1 });
    aws.close();
    await stub.close();
  });

  it("keeps separate budgets per service", async () => {
    const stub = await startStub((req) =>
      req.service === "STS"
        ? ok(x("Arn", "arn") + x("Account", "1"))
        : ok({ Parameter: { Value: "v", Version: 1 } }),
    );
    const clock = new ManualClock();
    const aws = connectTo(stub, {
      clock,
      rateLimits: { SSM: { burst: 1, perSecond: 1 }, STS: { burst: 1, perSecond: 1 } },
    });
    await Promise.all([aws.reader.getParameter("/a"), aws.reader.getCallerIdentity()]);
    expect(aws.calls().byAction).toEqual({ "SSM.GetParameter": 1, "STS.GetCallerIdentity": 1 });
    aws.close();
    await stub.close();
  });
});

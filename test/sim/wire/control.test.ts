import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSim, type TestSim } from "./helpers.js";

let sim: TestSim;
beforeAll(async () => {
  sim = await startTestSim();
});
afterAll(async () => {
  await sim.close();
});

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${sim.endpoint}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe("control and observability endpoints", () => {
  it("serves the world's state at the current simulated time", async () => {
    const before = sim.clock.now();
    const res = await call("GET", "/_sim/state");
    expect(res.status).toBe(200);
    expect(res.json.now).toBeGreaterThanOrEqual(before);
    expect(res.json).toHaveProperty("instances");
  });

  it("adds API call counts to the world's metrics", async () => {
    await fetch(sim.endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: "AWS4-HMAC-SHA256 Credential=x/20260101/ap-northeast-1/sts/aws4_request, Signature=0",
      },
      body: "Action=GetCallerIdentity&Version=2011-06-15",
    });
    const res = await call("GET", "/_sim/metrics");
    expect(res.status).toBe(200);
    expect(res.json).toHaveProperty("cameras");
    expect(res.json.api).toMatchObject({
      byAction: { "STS.GetCallerIdentity": 1 },
      throttled: 0,
      errors5xx: 0,
    });
  });

  it("changes wire faults at run time and answers the faults now in force", async () => {
    const res = await call("POST", "/_sim/faults", {
      latencyMs: 0,
      errorRate: 0,
      buckets: { "ELBv2.Describe*": { burst: 5, perSecond: 1 } },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      errorRate: 0,
      buckets: { "ELBv2.Describe*": { burst: 5, perSecond: 1 } },
    });
    const get = await call("GET", "/_sim/faults");
    expect(get.json).toMatchObject({ buckets: { "ELBv2.Describe*": { burst: 5, perSecond: 1 } } });
  });

  it("rejects a bad faults body with a 400 that names the field", async () => {
    const res = await call("POST", "/_sim/faults", { errorRate: 2 });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/errorRate/);
    const notJson = await call("POST", "/_sim/faults", "{oops");
    expect(notJson.status).toBe(400);
    const unknown = await call("POST", "/_sim/faults", { errorRat: 0.1 });
    expect(unknown.status).toBe(400);
  });

  it("passes model faults to world.control and reports the model's refusal as a 400", async () => {
    const ok = await call("POST", "/_sim/control", {
      op: "healthFlap",
      instanceId: "i-00000000000000001",
      seconds: 30,
    });
    expect(ok.status).toBe(200);
    expect(sim.world.calls.at(-1)).toEqual({
      method: "control",
      args: [{ op: "healthFlap", instanceId: "i-00000000000000001", seconds: 30 }],
    });
    const refused = await call("POST", "/_sim/control", { op: "terminateInstance", instanceId: "i-nope" });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatch(/i-nope/);
    const badOp = await call("POST", "/_sim/control", { op: "explode" });
    expect(badOp.status).toBe(400);
  });

  it("sets and clears the capacity floor the simulator checks", async () => {
    const set = await call("POST", "/_sim/floor", { total: 900, perAz: { "ap-northeast-1a": 300 } });
    expect(set.status).toBe(200);
    expect(sim.world.calls.at(-1)).toEqual({
      method: "setCapacityFloor",
      args: [{ total: 900, perAz: { "ap-northeast-1a": 300 } }],
    });
    await call("POST", "/_sim/floor", null);
    expect(sim.world.calls.at(-1)).toEqual({ method: "setCapacityFloor", args: [null] });
    const bad = await call("POST", "/_sim/floor", { total: -1 });
    expect(bad.status).toBe(400);
  });

  it("answers unknown endpoints with 404 and wrong methods with 405", async () => {
    expect((await call("GET", "/_sim/nothing")).status).toBe(404);
    expect((await call("DELETE", "/_sim/state")).status).toBe(405);
  });
});

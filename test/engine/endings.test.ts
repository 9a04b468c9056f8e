/**
 * The ending matrix: a failure injected at each await point of the loop (observe, journal append,
 * act, Auto Scaling suspend, the metric read) must end safely — no instance left out of service that
 * was not failed, Auto Scaling processes resumed, and a journal that `resume` finishes from.
 */
import { describe, expect, it, vi } from "vitest";
import type { RolloutEvent } from "../../src/engine/events.js";
import type { RolloutResult } from "../../src/engine/run.js";
import { runRollout } from "../../src/engine/run.js";
import { makePlan, metricConnections } from "./fixtures.js";
import { drive, type Harness, harness, options } from "./harness.js";

// Faults for the loop's own steps: each counter makes that many calls throw.
const faults = vi.hoisted(() => ({ observe: 0, act: 0 }));
vi.mock("../../src/engine/observe.js", async (importOriginal) => {
  const mod = await importOriginal<typeof import("../../src/engine/observe.js")>();
  return {
    ...mod,
    observe: (...args: Parameters<typeof mod.observe>) => {
      if (faults.observe > 0) {
        faults.observe--;
        return Promise.reject(new Error("ECONNRESET while observing"));
      }
      return mod.observe(...args);
    },
  };
});
vi.mock("../../src/engine/act.js", async (importOriginal) => {
  const mod = await importOriginal<typeof import("../../src/engine/act.js")>();
  return {
    ...mod,
    act: (...args: Parameters<typeof mod.act>) => {
      if (faults.act > 0) {
        faults.act--;
        return Promise.reject(new TypeError("Cannot read properties of undefined (reading 'id')"));
      }
      return mod.act(...args);
    },
  };
});

const ofType = <T extends RolloutEvent["type"]>(events: RolloutEvent[], type: T) =>
  events.filter((e): e is Extract<RolloutEvent, { type: T }> => e.type === type);

/** True once some instance is out of service (drained or further): the moment to inject a fault. */
function midFlight(h: Harness): boolean {
  return ofType(h.events, "instance.phase").some((e) => e.to === "draining" && e.wave > 0);
}

/** The safe ending, then a `resume` that finishes the job with every step sent once per instance. */
async function expectSafeAndResumable(h: Harness, r: RolloutResult) {
  expect(r.status).toBe("paused");
  // No instance left out of service that the rollout did not fail (keepOut keeps failed ones out).
  const failed = new Set(
    Object.entries(r.perInstance)
      .filter(([, p]) => p.phase === "failed")
      .map(([id]) => id),
  );
  const out = [...h.aws.instances.keys()].filter((id) => !h.aws.inService().includes(id) && !failed.has(id));
  expect(out).toEqual([]);
  // Nothing in flight: every instance is pending or done.
  expect(Object.values(r.perInstance).every((p) => p.phase === "pending" || p.phase === "done")).toBe(true);
  for (const g of h.aws.asgs.values()) expect([...g.suspended]).toEqual([]);
  await expectResumes(h);
}

async function expectResumes(h: Harness) {
  h.controller = new AbortController();
  const r2 = await drive(h, runRollout(options(h, { resume: true, signal: h.controller.signal })));
  expect(`${r2.status} ${r2.reason ?? ""}`).toBe("succeeded ");
  expect([...h.aws.instances.values()].every((i) => i.version === "v2")).toBe(true);
  expect(h.aws.inService()).toHaveLength(h.aws.instances.size);
  for (const g of h.aws.asgs.values()) expect([...g.suspended]).toEqual([]);
  const deployed = new Map<string, number>();
  for (const c of h.aws.commands.values()) {
    if (!c.req.commands[0]?.startsWith("deploy")) continue;
    for (const id of c.req.instanceIds) deployed.set(id, (deployed.get(id) ?? 0) + 1);
  }
  expect([...deployed.values()].every((n) => n === 1)).toBe(true);
}

describe("the ending matrix: an error in the loop pauses safely, and resume finishes", () => {
  it("observe throws once mid-flight", async () => {
    const h = harness({ n: 10, canary: 1, window: 3 });
    let injected = false;
    const r = await drive(h, runRollout(options(h)), () => {
      if (!injected && midFlight(h)) {
        injected = true;
        faults.observe = 1;
      }
    });
    expect(injected).toBe(true);
    expect(r.reason).toMatch(/^error: observe: ECONNRESET while observing; nothing left in flight/);
    expect(ofType(h.events, "warning").map((w) => w.code)).toContain("W_LOOP_ERROR");
    await expectSafeAndResumable(h, r);
  });

  it("a journal append fails once (ENOSPC) mid-flight: the unrecorded decision is not acted on", async () => {
    const h = harness({ n: 10, canary: 1, window: 3 });
    const orig = h.journal.append.bind(h.journal);
    let armed = false;
    let failedAt = -1;
    h.journal.append = async (rec) => {
      if (armed && rec.type === "decision") {
        armed = false;
        failedAt = h.aws.mutations.length;
        throw new Error("ENOSPC: no space left on device, write");
      }
      await orig(rec);
    };
    let injected = false;
    let mutationsAfterFailure = -1;
    const r = await drive(h, runRollout(options(h)), () => {
      if (!injected && midFlight(h)) {
        injected = armed = true;
      }
      if (failedAt >= 0 && mutationsAfterFailure < 0) mutationsAfterFailure = h.aws.mutations.length;
    });
    expect(failedAt).toBeGreaterThanOrEqual(0);
    // The tick whose decision could not be journaled made no call.
    expect(mutationsAfterFailure).toBe(failedAt);
    expect(r.reason).toMatch(/^error: journal write failed: ENOSPC/);
    await expectSafeAndResumable(h, r);
  });

  it("act throws once mid-flight", async () => {
    const h = harness({ n: 10, canary: 1, window: 3 });
    let injected = false;
    const r = await drive(h, runRollout(options(h)), () => {
      if (!injected && midFlight(h)) {
        injected = true;
        faults.act = 1;
      }
    });
    expect(r.reason).toMatch(/^error: act: Cannot read properties/);
    await expectSafeAndResumable(h, r);
  });

  it("the event sink throws (a renderer bug): the rollout stops new work and pauses", async () => {
    const h = harness({ n: 10, canary: 1, window: 3 });
    const events: RolloutEvent[] = [];
    let broken = false;
    const r = await drive(
      h,
      runRollout(
        options(h, {
          emit: (e) => {
            events.push(e);
            h.events.push(e);
            if (broken) throw new Error("EPIPE: broken pipe, write");
          },
        }),
      ),
      () => {
        if (midFlight(h)) broken = true;
      },
    );
    expect(r.reason).toMatch(/^error: reporting events failed: EPIPE/);
    await expectSafeAndResumable(h, r);
  });

  it("the journal keeps failing: gives up after maxConsecutiveErrors, names what is in flight, still resumes Auto Scaling", async () => {
    const h = harness({ n: 10, canary: 1, window: 3 });
    const orig = h.journal.append.bind(h.journal);
    let broken = false;
    h.journal.append = async (rec) => {
      if (broken) throw new Error("EIO: i/o error, write");
      await orig(rec);
    };
    const r = await drive(h, runRollout(options(h, { maxConsecutiveErrors: 3 })), () => {
      if (midFlight(h)) broken = true;
    });
    expect(r.status).toBe("paused");
    expect(r.reason).toMatch(
      /^gave up after 3 errors in a row \(first: journal write failed: EIO.*still in flight: i-\d+ \(\w+\)/,
    );
    for (const g of h.aws.asgs.values()) expect([...g.suspended]).toEqual([]);
    broken = false;
    await expectResumes(h);
  });

  it("the 2nd of 3 Auto Scaling groups fails to suspend: the 1st is resumed, nothing is touched", async () => {
    const h = harness({ n: 9, canary: 1, window: 3 });
    h.fleet.instances.forEach((inst, k) => {
      inst.autoScalingGroup = `asg-${k % 3}`;
    });
    for (const k of [0, 1, 2]) h.aws.asgs.set(`asg-${k}`, { suspended: new Set() });
    h.aws.asgs.delete("relay-asg");
    // A process suspended before the rollout stays suspended.
    h.aws.asgs.get("asg-0")?.suspended.add("Launch");
    const suspend = h.aws.writer.suspendProcesses;
    let calls = 0;
    h.aws.writer.suspendProcesses = async (group, processes) => {
      if (++calls === 2) throw new Error("ThrottlingException: Rate exceeded");
      await suspend(group, processes);
    };
    const r = await drive(h, runRollout(options(h)));
    expect(r.status).toBe("paused");
    expect(r.reason).toMatch(/^error: Auto Scaling: ThrottlingException/);
    expect([...(h.aws.asgs.get("asg-0")?.suspended ?? [])]).toEqual(["Launch"]);
    expect(h.aws.asgs.get("asg-1")?.suspended.size).toBe(0);
    expect(h.aws.asgs.get("asg-2")?.suspended.size).toBe(0);
    expect(ofType(h.events, "asg.resumed").map((e) => e.group)).toContain("asg-0");
    expect(h.aws.mutations.filter((m) => m.action.startsWith("ELBv2") || m.action.startsWith("SSM"))).toEqual(
      [],
    );
    h.aws.writer.suspendProcesses = suspend;
    h.aws.asgs.get("asg-0")?.suspended.clear();
    await expectResumes(h);
  });

  it("the metric read fails for a while: no floor breach, the run still ends by itself", async () => {
    const plan = makePlan({ capacity: { connections: metricConnections() } });
    const h = harness({ n: 12, canary: 1, window: 3 }, plan);
    for (const id of h.aws.instances.keys()) h.aws.connections[id] = 100;
    const read = h.aws.reader.getInstanceMetric;
    // Failing from the start: the first read is the one admissions depend on.
    let failing = true;
    h.aws.reader.getInstanceMetric = async (q) => {
      if (failing) throw new Error("InternalFailure: CloudWatch is unavailable");
      return read(q);
    };
    let maxOut = 0;
    const r = await drive(h, runRollout(options(h)), (t) => {
      failing = t < 20 * 60_000;
      maxOut = Math.max(maxOut, h.aws.instances.size - h.aws.inService().length);
    });
    expect(r.status).toBe("succeeded");
    expect(maxOut).toBeLessThanOrEqual(3);
    expect(ofType(h.events, "warning").some((w) => /GetMetricData failed/.test(w.message))).toBe(true);
    for (const g of h.aws.asgs.values()) expect([...g.suspended]).toEqual([]);
  });
});

/**
 * The capacity guard end to end against the fake AWS: it fails safe on missing datapoints, stale
 * readings and failed reads, and counts what drains cut.
 */
import { describe, expect, it } from "vitest";
import type { RolloutEvent } from "../../src/engine/events.js";
import { runRollout } from "../../src/engine/run.js";
import { makeChalk } from "../../src/report/output.js";
import { formatSummary } from "../../src/report/summary.js";
import { makePlan, metricConnections, TG_A } from "./fixtures.js";
import { drive, type Harness, harness, options } from "./harness.js";

const ofType = <T extends RolloutEvent["type"]>(events: RolloutEvent[], type: T) =>
  events.filter((e): e is Extract<RolloutEvent, { type: T }> => e.type === type);

const guarded = (extra: Parameters<typeof makePlan>[0] = {}) =>
  makePlan({ capacity: { connections: metricConnections() }, ...extra });

function setAll(h: Harness, n: number, except: string[] = []) {
  for (const id of h.aws.instances.keys()) {
    if (except.includes(id)) delete h.aws.connections[id];
    else h.aws.connections[id] = n;
  }
}

/** Times at which each instance was taken out of service (DeregisterTargets), relative to the start. */
function deregTimes(h: Harness, t0: number): number[] {
  return h.aws.mutations
    .filter((m) => m.action === "ELBv2.DeregisterTargets")
    .flatMap((m) => (m.detail.split(" ")[1] ?? "").split(",").map(() => m.at - t0));
}

describe("capacity guard: missing datapoints count at the limit", () => {
  // 10 instances, limit 250 at 10% headroom: with one out, the 9 left hold 2,025.
  it("holds when two instances report nothing and the rest carry 220 (8 × 220 + 2 × 250 > 2,025)", async () => {
    const h = harness({ n: 10, canary: 1, batch: 3, window: 2 }, guarded());
    setAll(h, 220, ["i-00008", "i-00009"]);
    const r = await drive(h, runRollout(options(h, { capacityWaitMs: 10 * 60_000 })));
    expect(r.status).toBe("paused");
    expect(r.reason).toMatch(/held by capacity for too long: capacity: 2260 connections would not fit/);
    expect(r.reason).toMatch(/2 instance\(s\) without a datapoint counted at 250/);
    expect(deregTimes(h, 0)).toEqual([]);
    expect(ofType(h.events, "gate.waiting")[0]).toMatchObject({ gate: "capacity" });
  });

  it("control: the same gaps with a light load (8 × 150 + 2 × 250 = 1,700) roll through", async () => {
    const h = harness({ n: 10, canary: 1, batch: 3, window: 2 }, guarded());
    setAll(h, 150, ["i-00008", "i-00009"]);
    const r = await drive(h, runRollout(options(h)));
    expect(r.status).toBe("succeeded");
    expect(r.instances.succeeded).toBe(10);
  });
});

describe("capacity guard: readings are never older than maxAge", () => {
  // Each instance stays out ~6 minutes (a 5-minute deregistration delay), so the window is full
  // most of the time: the case where the old guard read the metric once and trusted it for good.
  const fake = { drainDelayMs: 5 * 60_000 };
  const RISE_AT = 3 * 60_000;

  async function run(rise: boolean) {
    // No canary: two instances are out from the start, and the window stays full.
    const h = harness(
      { n: 10, canary: 0, batch: 3, window: 2 },
      guarded({ rollout: { canary: null } }),
      fake,
    );
    const t0 = h.clock.now();
    setAll(h, 100);
    const r = await drive(h, runRollout(options(h, { capacityWaitMs: 10 * 60_000 })), (t) => {
      // Peak load while two instances are out: 10 × 220 = 2,200 > 9 × 225 = 2,025.
      if (rise && t === RISE_AT) setAll(h, 220);
    });
    return { h, r, t0 };
  }

  it("admits nothing on a reading taken before the load rose, once it is older than maxAge", async () => {
    const { h, r, t0 } = await run(true);
    const times = deregTimes(h, t0);
    // Instances that came back re-register; only deregistrations start an instance's work.
    expect(times.filter((t) => t >= RISE_AT + 120_000)).toEqual([]);
    expect(r.status).toBe("paused");
    expect(r.reason).toMatch(/capacity: 2200 connections would not fit on 9 instance\(s\)/);
    // While instances waited for a slot the metric was re-read, not once for the whole run.
    expect(
      h.aws.metricReads.filter((t) => t - t0 > 0 && t - t0 < RISE_AT + 120_000).length,
    ).toBeGreaterThanOrEqual(2);
  });

  it("control: without the peak it rolls through, every admission on a reading at most maxAge old", async () => {
    const { h, r, t0 } = await run(false);
    expect(r.status).toBe("succeeded");
    const reads = h.aws.metricReads;
    for (const m of h.aws.mutations.filter((x) => x.action === "ELBv2.DeregisterTargets")) {
      const last = Math.max(...reads.filter((t) => t <= m.at));
      expect(m.at - last).toBeLessThanOrEqual(120_000);
    }
    expect(deregTimes(h, t0).length).toBe(10);
    // The live view sees where the numbers come from and how old they are.
    const progress = ofType(h.events, "progress").filter((e) => e.connections !== undefined);
    expect(progress.length).toBeGreaterThan(0);
    for (const e of progress) {
      expect(e.connectionsSource).toBe("CameraRelay/ActiveConnections Maximum");
      expect(e.connectionsAgeSeconds).toBeLessThanOrEqual(120);
    }
  });
});

describe("capacity guard: a metric read failure holds admissions", () => {
  it("holds with the error while GetMetricData fails, and goes on once it reads again", async () => {
    const h = harness({ n: 6, canary: 1, batch: 3, window: 2 }, guarded());
    const t0 = h.clock.now();
    setAll(h, 50);
    h.aws.metricError = "ThrottlingException: Rate exceeded";
    const RECOVER_AT = 4 * 60_000;
    const r = await drive(h, runRollout(options(h)), (t) => {
      if (t === RECOVER_AT) h.aws.metricError = undefined;
    });
    expect(r.status).toBe("succeeded");
    expect(Math.min(...deregTimes(h, t0))).toBeGreaterThanOrEqual(RECOVER_AT);
    const waiting = ofType(h.events, "gate.waiting").filter((e) => e.gate === "capacity");
    expect(waiting[0]?.message).toBe(
      "capacity: no connection reading, the metric could not be read: ThrottlingException: Rate exceeded",
    );
    expect(ofType(h.events, "gate.passed").some((e) => e.gate === "capacity")).toBe(true);
  });

  it("stops letting instances out when reads fail mid-run and the last good reading ages past maxAge", async () => {
    const h = harness({ n: 10, canary: 1, batch: 3, window: 2 }, guarded(), { drainDelayMs: 5 * 60_000 });
    const t0 = h.clock.now();
    setAll(h, 50);
    const FAIL_AT = 60_000;
    const r = await drive(h, runRollout(options(h, { capacityWaitMs: 10 * 60_000 })), (t) => {
      if (t === FAIL_AT) h.aws.metricError = "AccessDenied";
    });
    expect(r.status).toBe("paused");
    expect(r.reason).toMatch(/older than maxAge 2m; the metric could not be read: AccessDenied/);
    expect(deregTimes(h, t0).filter((t) => t > FAIL_AT + 120_000)).toEqual([]);
  });
});

describe("cut accounting: connections left when a drain ends", () => {
  /** On every tick: a deregistered instance sheds to `left(id)`; one back in rotation carries 40 again. */
  function follow(h: Harness, left: (id: string) => number) {
    for (const [id, t] of h.aws.groups.get(TG_A) ?? []) {
      if (t.deregisteredAt !== undefined) h.aws.connections[id] = left(id);
      else if (t.registeredAt !== undefined && t.registeredAt > 0) h.aws.connections[id] = 40;
    }
  }

  it("counts stragglers still connected when the deregistration delay ends, per instance and in total", async () => {
    const h = harness({ n: 6, canary: 1, batch: 2, window: 2 }, guarded());
    setAll(h, 40);
    const r = await drive(h, runRollout(options(h)), () => follow(h, (id) => (id === "i-00001" ? 7 : 0)));
    expect(r.status).toBe("succeeded");
    expect(r.finished.connections).toEqual({ displaced: 240, cut: 7, cutPerInstance: { "i-00001": 7 } });
    expect(r.perInstance["i-00001"]).toMatchObject({ displaced: 40, cut: 7 });
    expect(r.perInstance["i-00002"]).toMatchObject({ displaced: 40, cut: 0 });
  });

  it("counts what is left when drain.timeout ends the drain", async () => {
    const h = harness(
      { n: 3, canary: 0, batch: 3, window: 1 },
      guarded({ rollout: { canary: null }, drain: { timeoutMs: 60_000 } }),
      { drainDelayMs: 5 * 60_000 },
    );
    setAll(h, 40);
    const r = await drive(h, runRollout(options(h)), () => follow(h, () => 12));
    expect(r.status).toBe("paused");
    expect(r.perInstance["i-00000"]).toMatchObject({ phase: "failed", cut: 12 });
    expect(r.finished.connections).toEqual({ displaced: 40, cut: 12, cutPerInstance: { "i-00000": 12 } });
  });

  it("shows the totals in the summary", () => {
    const text = formatSummary(
      {
        type: "rollout.finished",
        at: 0,
        status: "succeeded",
        instances: { total: 6, succeeded: 6, failed: 0, skipped: 0, rolledBack: 0 },
        apiCalls: { total: 10, byAction: {} },
        durationSeconds: 60,
        connections: { displaced: 240, cut: 9, cutPerInstance: { "i-00001": 7, "i-00004": 2 } },
      },
      makeChalk(false),
    );
    expect(text).toContain("  connections 240 displaced · 9 cut on 2 instances\n");
  });
});

describe("capacity guard: per AZ when cross-zone load balancing is off", () => {
  // 9 instances, 3 per AZ. AZ a's carry 220 each (660), the others 100: fleet-wide 1,260 fits on
  // 8 × 225 = 1,800, but AZ a's 660 does not fit on its 2 remaining servers (2 × 225 = 450).
  function heavyA(h: Harness) {
    for (const [id, i] of h.aws.instances) h.aws.connections[id] = i.az === "eu-west-1a" ? 220 : 100;
  }
  const opts = { n: 9, canary: 0, batch: 3, window: 2 };
  const plan = (perAz = false) =>
    makePlan({
      rollout: { canary: null },
      capacity: { connections: { ...metricConnections(), perAz } },
    });

  it("with cross-zone off, holds an instance whose AZ could not take its devices", async () => {
    const h = harness({ ...opts, crossZone: false }, plan());
    heavyA(h);
    const r = await drive(h, runRollout(options(h, { capacityWaitMs: 10 * 60_000 })));
    expect(r.status).toBe("paused");
    expect(r.reason).toContain(
      "capacity: 660 connections in eu-west-1a would not fit on the 2 instance(s) left there (450 with 10% headroom; per AZ: cross-zone load balancing off)",
    );
    expect(h.aws.mutations.filter((m) => m.action === "ELBv2.DeregisterTargets")).toEqual([]);
  });

  it("control, cross-zone on: the same fleet is checked fleet-wide and rolls through", async () => {
    const h = harness({ ...opts, crossZone: true }, plan());
    heavyA(h);
    const r = await drive(h, runRollout(options(h)));
    expect(r.status).toBe("succeeded");
    expect(r.instances.succeeded).toBe(9);
  });

  it("capacity.connections.perAz forces the per-AZ check even with cross-zone on", async () => {
    const h = harness({ ...opts, crossZone: true }, plan(true));
    heavyA(h);
    const r = await drive(h, runRollout(options(h, { capacityWaitMs: 10 * 60_000 })));
    expect(r.status).toBe("paused");
    expect(r.reason).toContain("per AZ: capacity.connections.perAz");
  });
});

describe("fleet connectivity gate: health.connectedDevices", () => {
  // 6 instances × 100 devices; the bar is 99% of 600 = 594. The canary's 100 devices leave when it
  // is deregistered; whether they come back elsewhere decides the rollout.
  const gated = () =>
    makePlan({
      capacity: { connections: metricConnections() },
      health: { connectedDevices: { atLeast: 0.99, withinMs: 120_000 } },
    });
  /** Devices of a deregistered instance reconnect `reconnectMs` later on the least-loaded routed one (never with null). */
  function run(reconnectMs: number | null) {
    const h = harness({ n: 6, canary: 1, batch: 2, window: 2 }, gated());
    setAll(h, 100);
    const moved = new Set<string>();
    const waiting: { n: number; at: number }[] = [];
    const r = drive(h, runRollout(options(h)), (t) => {
      const group = h.aws.groups.get(TG_A) ?? new Map();
      for (const [id, tg] of group) {
        if (tg.deregisteredAt !== undefined && !moved.has(id)) {
          moved.add(id);
          if (reconnectMs !== null) waiting.push({ n: h.aws.connections[id] ?? 0, at: t + reconnectMs });
          h.aws.connections[id] = 0;
        }
      }
      for (const w of waiting.filter((x) => x.at <= t)) {
        const routed = [...group].filter(([, tg]) => tg.deregisteredAt === undefined).map(([id]) => id);
        routed.sort((a, b) => (h.aws.connections[a] ?? 0) - (h.aws.connections[b] ?? 0));
        const to = routed[0];
        if (!to) continue;
        h.aws.connections[to] = (h.aws.connections[to] ?? 0) + w.n;
        waiting.splice(waiting.indexOf(w), 1);
      }
    });
    return { h, r };
  }

  it("holds the rest of the fleet and runs the failure action when devices do not come back", async () => {
    const { h, r: pending } = run(null);
    const r = await pending;
    expect(r.status).toBe("paused");
    expect(r.reason).toMatch(
      /connected devices did not recover within 2m: 500 devices connected, 594 needed/,
    );
    // Only the canary ever left service.
    const dereg = h.aws.mutations.filter((m) => m.action === "ELBv2.DeregisterTargets");
    expect(dereg.every((m) => m.detail.endsWith(" i-00000"))).toBe(true);
    expect(ofType(h.events, "gate.waiting").some((e) => e.gate === "connectedDevices")).toBe(true);
  });

  it("control: when the devices reconnect within the deadline, the gate passes and the rollout goes on", async () => {
    const { h, r: pending } = run(60_000);
    const r = await pending;
    expect(ofType(h.events, "gate.passed").some((e) => e.gate === "connectedDevices")).toBe(true);
    expect(r.status).toBe("succeeded");
  });
});

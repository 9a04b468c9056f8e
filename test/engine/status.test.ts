/**
 * `rollwave status`'s derivation, pure: journal records + one observation → the status view. The
 * records are built as the runner writes them (header, begin, decision, control, end).
 */
import { describe, expect, it } from "vitest";
import type { JournalRecord } from "../../src/engine/journal.js";
import { slimGlobal } from "../../src/engine/journal.js";
import { type EngineState, type InstanceRun, initialState } from "../../src/engine/state.js";
import { deriveStatus, type StatusObservation } from "../../src/engine/status.js";
import { ManualClock } from "../../src/util/clock.js";
import { FakeAws } from "./fake-aws.js";
import { makeFleet, makePlan } from "./fixtures.js";

const T0 = Date.parse("2026-12-02T10:00:00.000Z");
const ID = "9b1f2c3d-0000-4000-8000-000000000000";

function start() {
  const plan = makePlan();
  const { fleet, wavePlan } = makeFleet(new FakeAws(new ManualClock()), { n: 6, canary: 1, window: 2 });
  const state = initialState(plan.name, plan.rollout.strategy, fleet, wavePlan, T0);
  const records: JournalRecord[] = [
    {
      type: "header",
      at: T0,
      rolloutId: ID,
      name: plan.name,
      planFile: "plans/relay.yaml",
      vars: { release: "v2.0.0" },
      waves: [],
      account: "123456789012",
      region: "eu-west-1",
      startedBy: "ana@ci-7 (CI job github:1/1)",
    },
    { type: "begin", at: T0, name: plan.name, state },
  ];
  return { state, records };
}

/** A decision record moving instances and changing the global state, as the runner journals it. */
function decision(
  s: EngineState,
  at: number,
  patch: Record<string, Partial<InstanceRun>>,
  global: Partial<EngineState["global"]> = {},
): { s: EngineState; r: JournalRecord } {
  const instances = { ...s.instances };
  for (const [id, p] of Object.entries(patch)) instances[id] = { ...(instances[id] as InstanceRun), ...p };
  const next: EngineState = { global: { ...s.global, ...global }, instances };
  return {
    s: next,
    r: {
      type: "decision",
      at,
      instances: Object.keys(patch).map((id) => instances[id] as InstanceRun),
      global: slimGlobal(next.global),
    },
  };
}

const alive = (o: Partial<StatusObservation> = {}): StatusObservation => ({
  owner: {
    lock: "ssm",
    user: "ana",
    host: "ci-7",
    pid: 42,
    heartbeatAt: new Date(T0 + 590_000).toISOString(),
    heartbeatAgeSeconds: 10,
    stale: false,
  },
  alive: true,
  at: T0 + 600_000,
  ...o,
});

const waves = (s: EngineState, started: number[], finished: number[]) =>
  s.global.waves.map((w) => ({
    ...w,
    started: started.includes(w.index),
    finished: finished.includes(w.index),
  }));

describe("deriveStatus", () => {
  it("a rollout at a remote approval gate: running, the gate with its deadline, next is approve", () => {
    const { state, records } = start();
    const d = decision(
      state,
      T0 + 300_000,
      { "i-00000": { phase: "done" } },
      {
        waves: waves(state, [0], [0]),
        canary: { ...state.global.canary, baked: true, approval: "waiting", approvalUntil: T0 + 2_100_000 },
      },
    );
    const v = deriveStatus([...records, d.r], alive());
    expect(v).toMatchObject({
      schemaVersion: 1,
      rolloutId: ID,
      plan: "relay",
      state: "running",
      startedBy: "ana@ci-7 (CI job github:1/1)",
      owner: { user: "ana", heartbeatAgeSeconds: 10 },
      wave: { index: 0, kind: "canary", of: 3 },
      instances: { total: 6, succeeded: 1, pending: 5, inFlight: 0 },
      waitingFor: { gate: "approval", until: new Date(T0 + 2_100_000).toISOString() },
      outOfService: [],
      next: { command: "rollwave approve plans/relay.yaml" },
    });
    expect(v.updatedAt).toBe(new Date(T0 + 300_000).toISOString());
  });

  it("no end record and no live owner: stopped (its process is gone), next is resume with its variables", () => {
    const { state, records } = start();
    const d = decision(
      state,
      T0 + 60_000,
      { "i-00000": { phase: "draining", out: true } },
      { waves: waves(state, [0], []) },
    );
    const v = deriveStatus(
      [...records, d.r],
      { owner: null, alive: false, at: T0 + 900_000 },
      { commandArgs: ["--journal-dir", "/j"] },
    );
    expect(v.state).toBe("stopped");
    expect(v.outOfService).toEqual([
      { id: "i-00000", az: expect.any(String), phase: "draining", targetHealth: null },
    ]);
    expect(v.next?.command).toBe("rollwave resume plans/relay.yaml --var release=v2.0.0 --journal-dir /j");
    expect(v.next?.why).toContain("instances were in flight");
  });

  it("a lock that cannot be read leaves the rollout counted as running, with the error", () => {
    const { records } = start();
    const v = deriveStatus(records, { owner: null, alive: false, ownerError: "AccessDenied", at: T0 });
    expect(v.state).toBe("running");
    expect(v.observation.errors).toEqual(["AccessDenied"]);
  });

  it("a capacity hold: the gate with its reason (the numbers), since and the deadline that pauses it", () => {
    const { state, records } = start();
    const reason =
      "capacity: 2000 connections in eu-west-1a would not fit on the 8 instance(s) left there (1800 with 10% headroom)";
    const d = decision(
      state,
      T0 + 120_000,
      { "i-00000": { phase: "done" } },
      {
        waves: waves(state, [0, 1], [0]),
        canary: { ...state.global.canary, baked: true },
        heldSince: T0 + 100_000,
        heldReason: reason,
      },
    );
    const v = deriveStatus([...records, d.r], alive());
    expect(v.waitingFor).toEqual({
      gate: "capacity",
      message: reason,
      since: new Date(T0 + 100_000).toISOString(),
      until: new Date(T0 + 100_000 + 30 * 60_000).toISOString(),
    });
    expect(v.wave).toEqual({ index: 1, kind: "batch", of: 3 });
  });

  it("failures with reasons, out-of-service instances with their fresh target health", () => {
    const { state, records } = start();
    const d = decision(state, T0 + 200_000, {
      "i-00001": { phase: "failed", failedPhase: "deploying", out: true, reason: "deploy: exit 3" },
      "i-00002": { phase: "registering", out: true },
    });
    const v = deriveStatus(
      [...records, d.r],
      alive({
        health: {
          "i-00002": [{ targetGroup: "tg-a", state: "initial", reason: "Elb.RegistrationInProgress" }],
        },
      }),
    );
    expect(v.failures).toEqual([
      { id: "i-00001", az: expect.any(String), phase: "deploying", reason: "deploy: exit 3" },
    ]);
    expect(v.outOfService.map((i) => [i.id, i.phase, i.targetHealth?.[0]?.state ?? null])).toEqual([
      ["i-00001", "failed", null],
      ["i-00002", "registering", "initial"],
    ]);
    expect(v.instances).toMatchObject({ failed: 1, inFlight: 1 });
  });

  it("ended: paused says resume, aborted lists the control request that ended it, succeeded points at the report", () => {
    const { records } = start();
    const paused = deriveStatus(
      [...records, { type: "end", at: T0 + 1, status: "paused", reason: "waiting for approval" }],
      alive({ alive: false, owner: null }),
    );
    expect(paused).toMatchObject({ state: "paused", reason: "waiting for approval" });
    expect(paused.next?.command).toMatch(/^rollwave resume plans\/relay.yaml --var release=v2.0.0$/);
    const request = {
      id: "q1",
      action: "abort" as const,
      rolloutId: ID,
      requestedBy: "bo@laptop",
      at: new Date(T0).toISOString(),
    };
    const aborted = deriveStatus(
      [
        ...records,
        { type: "control", at: T0 + 5, request, outcome: "applied", message: "aborting" },
        {
          type: "end",
          at: T0 + 9,
          status: "aborted",
          reason: "aborted by bo@laptop (rollwave abort); aborted",
        },
      ],
      alive({ alive: false, owner: null }),
    );
    expect(aborted.state).toBe("aborted");
    expect(aborted.control).toEqual([
      {
        action: "abort",
        requestedBy: "bo@laptop",
        at: new Date(T0 + 5).toISOString(),
        outcome: "applied",
        message: "aborting",
      },
    ]);
    const ok = deriveStatus(
      [...records, { type: "end", at: T0 + 9, status: "succeeded" }],
      alive({ alive: false }),
    );
    expect(ok.next?.command).toBe("rollwave report plans/relay.yaml --out report.html");
  });

  it("a stopping rollout says why (the abort in progress) while its in-flight instances come back", () => {
    const { state, records } = start();
    const d = decision(
      state,
      T0 + 50,
      { "i-00000": { phase: "warming", out: true } },
      {
        mode: "stopping",
        policy: { action: "abort", acknowledgedFailures: 0, reason: "aborted by bo@laptop (rollwave abort)" },
      },
    );
    const v = deriveStatus([...records, d.r], alive());
    expect(v).toMatchObject({
      state: "running",
      reason: "stopping: aborted by bo@laptop (rollwave abort)",
      waitingFor: null,
    });
  });
});

import { describe, expect, it } from "vitest";
import type { RolloutEvent } from "../../src/engine/events.js";
import type { JournalRecord } from "../../src/engine/journal.js";
import { type ApprovalRequest, runRollout } from "../../src/engine/run.js";
import type { InstanceRun } from "../../src/engine/state.js";
import { makePlan } from "./fixtures.js";
import { drive, harness, options, start } from "./harness.js";

const ofType = <T extends RolloutEvent["type"]>(events: RolloutEvent[], type: T) =>
  events.filter((e): e is Extract<RolloutEvent, { type: T }> => e.type === type);

describe("runRollout against the fake AWS", () => {
  it("updates every instance, registered and healthy, never exceeding the window or an AZ cap", async () => {
    const h = harness({ n: 24, canary: 2, batch: 6, window: 4, perAz: 2, twoGroups: true });
    let maxOut = 0;
    const perAzMax: Record<string, number> = {};
    const r = await drive(h, runRollout(options(h)), () => {
      const inSvc = new Set(h.aws.inService());
      const out = [...h.aws.instances.values()].filter((i) => !inSvc.has(i.id));
      maxOut = Math.max(maxOut, out.length);
      const byAz: Record<string, number> = {};
      for (const i of out) byAz[i.az] = (byAz[i.az] ?? 0) + 1;
      for (const [az, n] of Object.entries(byAz)) perAzMax[az] = Math.max(perAzMax[az] ?? 0, n);
    });
    expect(r.status).toBe("succeeded");
    expect(r.instances).toMatchObject({ total: 24, succeeded: 24, failed: 0 });
    expect([...h.aws.instances.values()].every((i) => i.version === "v2")).toBe(true);
    expect(h.aws.inService()).toHaveLength(24);
    expect(maxOut).toBeLessThanOrEqual(4);
    expect(Math.max(...Object.values(perAzMax))).toBeLessThanOrEqual(2);
    // Deregistration carried the port override each target was registered with (the fake, like ELB,
    // ignores a deregistration without it, so the rollout could not have finished otherwise).
    const dereg = h.aws.mutations.filter((m) => m.action === "ELBv2.DeregisterTargets");
    expect(dereg.length).toBeGreaterThan(0);
    for (const m of dereg) expect(m.detail).toMatch(/^\S+ i-\d+:8080(,i-\d+:8080)*$/);
  });

  it("batches AWS calls: at most a few calls per instance, one SendCommand for many instances", async () => {
    const h = harness({ n: 60, canary: 2, batch: 20, window: 20 });
    const r = await start(h);
    expect(r.status).toBe("succeeded");
    const sends = h.aws.mutations.filter((m) => m.action === "SSM.SendCommand");
    expect(sends.length).toBeLessThan(20);
    expect(r.apiCalls.total / 60).toBeLessThan(3);
  });

  it("in strategy waves, finishes each wave before starting the next", async () => {
    const h = harness(
      { n: 13, canary: 1, batch: 4, window: 4 },
      makePlan({ rollout: { strategy: "waves" } }),
    );
    const r = await start(h);
    expect(r.status).toBe("succeeded");
    const order = h.events
      .filter((e) => e.type === "wave.started" || e.type === "wave.finished")
      .map((e) => `${e.type}:${(e as { index: number }).index}`);
    expect(order).toEqual([
      "wave.started:0",
      "wave.finished:0",
      "wave.started:1",
      "wave.finished:1",
      "wave.started:2",
      "wave.finished:2",
      "wave.started:3",
      "wave.finished:3",
    ]);
  });

  it("handles a command not listed yet right after SendCommand", async () => {
    const h = harness({ n: 4, canary: 1, window: 2 }, makePlan(), { visibleAfterMs: 25_000 });
    const r = await start(h);
    expect(r.status).toBe("succeeded");
  });

  it("journals every decision before acting on it", async () => {
    const h = harness({ n: 6, canary: 1, window: 2 });
    const appended: { mutationsBefore: number; record: JournalRecord }[] = [];
    const orig = h.journal.append.bind(h.journal);
    h.journal.append = async (record) => {
      appended.push({ mutationsBefore: h.aws.mutations.length, record });
      await orig(record);
    };
    await start(h);
    h.aws.mutations.forEach((m, k) => {
      if (!m.action.startsWith("ELBv2") && m.action !== "SSM.SendCommand") return;
      const need =
        m.action === "SSM.SendCommand"
          ? "command"
          : m.action === "ELBv2.DeregisterTargets"
            ? "deregister"
            : "register";
      // ELB: "<arn> id[:port],…"; SendCommand: "<count> id,… <commands>".
      const ids = (m.detail.split(" ")[1] ?? "").split(",").map((t) => t.split(":")[0] as string);
      expect(ids.length).toBeGreaterThan(0);
      const decided = appended.filter((a) => a.mutationsBefore <= k && a.record.type === "decision");
      for (const id of ids) {
        const said = decided.some((a) =>
          (a.record as { instances: InstanceRun[] }).instances.some((i) => i.id === id && i.need === need),
        );
        expect(said, `${m.action} ${id} journaled first`).toBe(true);
      }
      expect(decided.length).toBeGreaterThan(0);
    });
  });
});

describe("failures", () => {
  it("stops at the canary and rolls it back when the release fails health checks", async () => {
    const plan = makePlan({ rollout: { failures: { action: "rollback" } } });
    const h = harness({ n: 10, canary: 1, window: 2 }, plan, { badVersion: "v2" });
    const r = await start(h);
    expect(r.status).toBe("rolled-back");
    expect(r.perInstance["i-00000"]?.phase).toBe("rolledBack");
    expect(h.aws.instances.get("i-00000")?.version).toBe("v1");
    // Nothing past the canary was touched.
    expect([...h.aws.instances.values()].filter((i) => i.version !== "v1")).toEqual([]);
    const deploys = h.aws.mutations.filter(
      (m) => m.action === "SSM.SendCommand" && m.detail.includes("deploy"),
    );
    expect(deploys).toHaveLength(1);
  });

  it("reports a failed instance's reason and keeps it out of service by default", async () => {
    const h = harness({ n: 6, canary: 1, window: 2, maxFailed: 1 });
    h.aws.commandResult = (_req, id) => (id === "i-00003" ? "Failed" : "Success");
    const r = await start(h);
    expect(r.status).toBe("succeeded");
    expect(r.perInstance["i-00003"]).toMatchObject({
      phase: "failed",
      reason: expect.stringMatching(/^deploy: the command failed with exit code 1 \(Failed\): boom: exit 1/),
    });
    expect(h.aws.inService()).not.toContain("i-00003");
  });

  it("re-registers a failed instance when the plan says reregister", async () => {
    const plan = makePlan({ rollout: { failures: { failedInstances: "reregister" } } });
    const h = harness({ n: 6, canary: 1, window: 2, maxFailed: 1 }, plan);
    h.aws.commandResult = (_req, id) => (id === "i-00003" ? "Failed" : "Success");
    const r = await start(h);
    expect(r.perInstance["i-00003"]?.phase).toBe("failed");
    expect(h.aws.inService()).toContain("i-00003");
  });

  for (const action of ["pause", "abort", "rollback"] as const) {
    it(`runs the ${action} action when failures exceed maxFailed`, async () => {
      const plan = makePlan({ rollout: { failures: { action } } });
      const h = harness({ n: 20, canary: 1, window: 3, maxFailed: 1 }, plan);
      h.aws.commandResult = (req, id) =>
        req.commands[0]?.startsWith("deploy") && ["i-00002", "i-00003", "i-00004"].includes(id)
          ? "Failed"
          : "Success";
      const r = await start(h);
      expect(ofType(h.events, "policy.triggered")[0]).toMatchObject({ action, maxFailed: 1 });
      expect(r.status).toBe({ pause: "paused", abort: "aborted", rollback: "rolled-back" }[action]);
      const untouched = Object.values(r.perInstance).filter((p) => p.phase === "pending").length;
      expect(untouched).toBeGreaterThan(10);
      if (action === "rollback") {
        expect([...h.aws.instances.values()].every((i) => i.version === "v1")).toBe(true);
        expect(r.instances.rolledBack).toBeGreaterThan(0);
      }
    });
  }

  it("skips an instance terminated mid-drain and carries on", async () => {
    const h = harness({ n: 8, canary: 1, window: 2, maxFailed: 0 });
    const r = await drive(h, runRollout(options(h)), () => {
      const draining = h.events.some(
        (e) => e.type === "instance.phase" && e.id === "i-00003" && e.to === "draining",
      );
      if (draining) h.aws.terminate("i-00003");
    });
    expect(r.perInstance["i-00003"]).toMatchObject({
      phase: "skipped",
      reason: expect.stringMatching(/terminated/),
    });
    expect(r.status).toBe("succeeded");
    expect(r.instances.succeeded).toBe(7);
  });

  it("fails an instance whose SSM agent is offline with an Undeliverable reason", async () => {
    const h = harness({ n: 4, canary: 1, window: 1, maxFailed: 1 });
    const agent = h.aws.instances.get("i-00002");
    if (agent) agent.ssmOnline = false;
    const r = await start(h);
    expect(r.perInstance["i-00002"]).toMatchObject({
      phase: "failed",
      reason: expect.stringMatching(/deploy: SSM could not deliver the command/),
    });
  });
});

describe("guards, Auto Scaling and approval", () => {
  it("refuses a mismatched account before any mutating call", async () => {
    const h = harness({ n: 4 }, makePlan({ guard: { account: "999999999999" } }));
    const r = await start(h);
    expect(r.status).toBe("failed");
    expect(r.reason).toMatch(/account guard: credentials are for account 111122223333.*999999999999/);
    expect(h.aws.mutations).toEqual([]);
  });

  it("resumes only the processes it suspended, on success", async () => {
    const h = harness({ n: 4 });
    h.aws.asgs.get("relay-asg")?.suspended.add("Launch");
    const r = await start(h);
    expect(r.status).toBe("succeeded");
    expect(ofType(h.events, "asg.suspended")[0]?.processes).toEqual(["Terminate", "AZRebalance"]);
    expect([...(h.aws.asgs.get("relay-asg")?.suspended ?? [])]).toEqual(["Launch"]);
  });

  it.each([
    ["a failure", "rollback", "failed"],
    ["an abort", "abort", "aborted"],
    ["a pause", "pause", "paused"],
  ] as const)("resumes suspended processes after %s", async (_n, action, status) => {
    // A bad release with no rollback step ends failed; abort and pause end as they say.
    const plan = makePlan({ rollout: { failures: { action } }, steps: { rollback: null } });
    const h = harness({ n: 4 }, plan, { badVersion: "v2" });
    const r = await start(h);
    expect(r.status).toBe(status);
    expect(h.aws.asgs.get("relay-asg")?.suspended.size).toBe(0);
    expect(ofType(h.events, "asg.resumed")).toHaveLength(1);
  });

  it("resumes suspended processes when interrupted, and when the journal throws", async () => {
    const h = harness({ n: 4 });
    const run = runRollout(options(h));
    const r = await drive(h, run, (t) => {
      if (t === 60_000) h.controller.abort();
    });
    expect(r.status).toBe("paused");
    expect(r.reason).toMatch(/interrupted/);
    expect(h.aws.asgs.get("relay-asg")?.suspended.size).toBe(0);

    const h2 = harness({ n: 4 });
    const orig = h2.journal.append.bind(h2.journal);
    let n = 0;
    h2.journal.append = async (rec) => {
      if (rec.type === "decision" && ++n === 3) throw new Error("disk full");
      await orig(rec);
    };
    const r2 = await start(h2);
    // An error is not a rollout outcome: the run pauses so `resume` can continue.
    expect(r2.status).toBe("paused");
    expect(r2.reason).toMatch(/^error: journal write failed: disk full/);
    expect(h2.aws.asgs.get("relay-asg")?.suspended.size).toBe(0);
  });

  it("pauses at an approval gate without a prompt, and `resume` continues without redoing the canary", async () => {
    const plan = makePlan({ rollout: { canary: { approve: true } } });
    const h = harness({ n: 6, canary: 1, window: 2 }, plan);
    const r1 = await start(h);
    expect(r1.status).toBe("paused");
    expect(ofType(h.events, "gate.waiting").map((e) => e.gate)).toContain("approval");
    const r2 = await start(h, { resume: true });
    expect(r2.status).toBe("succeeded");
    expect([...h.aws.instances.values()].every((i) => i.version === "v2")).toBe(true);
    const deregCanary = h.aws.mutations.filter(
      (m) => m.action === "ELBv2.DeregisterTargets" && m.detail.includes("i-00000"),
    );
    expect(deregCanary).toHaveLength(1);
  });

  it("reports the canary's bake as passed, and journals it, before asking for approval", async () => {
    const plan = makePlan({ rollout: { canary: { approve: true, bakeMs: 60_000 } } });
    const h = harness({ n: 4, canary: 1, window: 2 }, plan);
    let seenAtPrompt: string[] = [];
    const r = await start(h, {
      approve: async () => {
        seenAtPrompt = h.events.map((e) =>
          e.type.startsWith("gate.") ? `${e.type}:${(e as { gate: string }).gate}` : e.type,
        );
        return "approve";
      },
    });
    expect(r.status).toBe("succeeded");
    expect(seenAtPrompt).toContain("gate.passed:bake");
    expect(seenAtPrompt).toContain("gate.waiting:approval");
    expect(seenAtPrompt).not.toContain("gate.passed:approval");
  });

  it("asks the approve callback with what the bake saw, and pauses on stop: resume continues", async () => {
    const plan = makePlan({ rollout: { canary: { approve: true } } });
    const h = harness({ n: 6, canary: 1, window: 2 }, plan);
    const asked: ApprovalRequest[] = [];
    const r = await start(h, {
      approve: async (g) => {
        asked.push(g);
        return "stop";
      },
    });
    expect(asked).toHaveLength(1);
    const req = asked[0] as ApprovalRequest;
    expect(req.canary).toEqual([expect.objectContaining({ id: "i-00000", phase: "done" })]);
    expect(req.bakeMs).toBe(60_000);
    expect(req.canRollBack).toBe(true);
    expect(req.evidenceAt).toBeGreaterThanOrEqual((req.canaryStartedAt ?? 0) + req.bakeMs);
    expect(req.now).toBeGreaterThanOrEqual(req.evidenceAt ?? 0);
    expect(r.status).toBe("paused");
    expect(r.reason).toMatch(/stopped at the approval gate/);
    // Nothing after the canary, and the canary stays on the new release.
    expect(h.aws.instances.get("i-00000")?.version).toBe("v2");
    expect([...h.aws.instances.values()].filter((i) => i.version === "v2")).toHaveLength(1);
    // The answer is journaled with the state.
    const records = await h.journal.read();
    const answered = records.filter(
      (x) => x.type === "decision" && (x.global as { canary: { answer?: { answer: string } } }).canary.answer,
    );
    expect(answered.at(-1)).toMatchObject({ global: { canary: { answer: { answer: "stop" } } } });
    const r2 = await start(h, { resume: true });
    expect(r2.status).toBe("succeeded");
    expect([...h.aws.instances.values()].every((i) => i.version === "v2")).toBe(true);
  });

  it("rolls the canary back through the plan's rollback step when the answer is rollback", async () => {
    const plan = makePlan({ rollout: { canary: { approve: true } } });
    const h = harness({ n: 6, canary: 1, window: 2 }, plan);
    const r = await start(h, { approve: async () => "rollback" });
    expect(r.status).toBe("rolled-back");
    expect(r.reason).toMatch(/canary rejected at the approval gate; rolled back 1 instance/);
    expect(r.perInstance["i-00000"]?.phase).toBe("rolledBack");
    expect(h.aws.inService()).toHaveLength(6);
    // Only the canary ever left service; nothing else was deployed.
    const dereg = h.aws.mutations.filter((m) => m.action === "ELBv2.DeregisterTargets");
    expect(dereg.every((m) => m.detail.includes("i-00000"))).toBe(true);
    expect(ofType(h.events, "policy.triggered")).toEqual([
      expect.objectContaining({ action: "rollback", reason: "canary rejected at the approval gate" }),
    ]);
    // An ended rollout is not resumed.
    await expect(start(h, { resume: true })).rejects.toThrow(/ended/);
  });

  it("on interruption, lets in-flight instances finish back into service, then resume does the rest once", async () => {
    const h = harness({ n: 8, canary: 1, window: 3 });
    let outAtAbort = 0;
    const r1 = await drive(h, runRollout(options(h)), (t) => {
      if (t === 240_000) {
        outAtAbort = 8 - h.aws.inService().length;
        h.controller.abort();
      }
    });
    expect(outAtAbort).toBeGreaterThan(0);
    expect(r1.status).toBe("paused");
    expect(r1.reason).toMatch(/interrupted/);
    const phases = Object.values(r1.perInstance).map((p) => p.phase);
    expect(phases.every((p) => p === "pending" || p === "done")).toBe(true);
    expect(phases).toContain("pending");
    expect(h.aws.inService()).toHaveLength(8);
    h.controller = new AbortController();
    const r2 = await start(h, { resume: true, signal: h.controller.signal });
    expect(r2.status).toBe("succeeded");
    const deployed = new Map<string, number>();
    for (const c of h.aws.commands.values()) {
      if (!c.req.commands[0]?.startsWith("deploy")) continue;
      for (const id of c.req.instanceIds) deployed.set(id, (deployed.get(id) ?? 0) + 1);
    }
    expect([...deployed.values()].every((n) => n === 1)).toBe(true);
    expect(deployed.size).toBe(8);
  });
});

describe("edge cases", () => {
  it("rolls an instance that is in no target group (nothing to drain, nothing to wait for)", async () => {
    const h = harness({ n: 3, canary: 1, window: 1 });
    const loner = h.fleet.instances[2];
    if (loner) loner.targets = [];
    const r = await start(h);
    expect(r.status).toBe("succeeded");
    expect(h.aws.instances.get("i-00002")?.version).toBe("v2");
  });
});

/**
 * The probe connection source: output parsing, rounds of SSM commands (batches, Comment, polling,
 * deadline), and the capacity guard fed by it end to end against the fake AWS — missing output
 * counts at the limit, a parse error names the instance, a reading older than maxAge holds.
 */
import { describe, expect, it } from "vitest";
import type {
  AwsReader,
  AwsWriter,
  CommandInvocationSummary,
  SendCommandRequest,
} from "../../src/aws/types.js";
import type { RolloutEvent } from "../../src/engine/events.js";
import { PROBE_TIMEOUT_MS, ProbeSource, parseProbeOutput, probeComment } from "../../src/engine/probe.js";
import { runRollout } from "../../src/engine/run.js";
import type { WarningCode } from "../../src/engine/warnings.js";
import { makePlan, metricConnections } from "./fixtures.js";
import { drive, type Harness, harness, options } from "./harness.js";

const ofType = <T extends RolloutEvent["type"]>(events: RolloutEvent[], type: T) =>
  events.filter((e): e is Extract<RolloutEvent, { type: T }> => e.type === type);

const PROBE_CMD = "count-connections";

describe("parseProbeOutput", () => {
  it("takes one non-negative integer, surrounding whitespace allowed", () => {
    expect(parseProbeOutput("183\n")).toEqual({ ok: true, n: 183 });
    expect(parseProbeOutput("  0 ")).toEqual({ ok: true, n: 0 });
  });
  it("refuses anything else, saying what was printed", () => {
    expect(parseProbeOutput(undefined)).toEqual({ ok: false, why: "printed nothing" });
    expect(parseProbeOutput("\n")).toEqual({ ok: false, why: "printed nothing" });
    for (const bad of ["-1", "12 34", "1.5", "ss: permission denied", "183\n184"]) {
      const r = parseProbeOutput(bad);
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.why).toContain("not a connection count");
    }
    const long = parseProbeOutput("x".repeat(500));
    expect(!long.ok && long.why.length).toBeLessThan(120);
  });
});

/** A scripted SSM: what each instance prints (undefined = never answers), and call logs. */
function stubSsm(answer: (id: string) => { status: string; output?: string } | undefined) {
  const sent: SendCommandRequest[] = [];
  const listed: string[] = [];
  let failSend: string | undefined;
  const writer = {
    sendCommand: async (req: SendCommandRequest) => {
      if (failSend) throw new Error(failSend);
      sent.push(req);
      return { commandId: `c${sent.length}` };
    },
  } as unknown as AwsWriter;
  const reader = {
    listCommandInvocations: async (commandId: string) => {
      listed.push(commandId);
      const req = sent[Number(commandId.slice(1)) - 1] as SendCommandRequest;
      const out: CommandInvocationSummary[] = [];
      for (const id of req.instanceIds) {
        const a = answer(id);
        if (!a) continue;
        out.push({
          instanceId: id,
          status: a.status as CommandInvocationSummary["status"],
          statusDetails: a.status,
          ...(a.output !== undefined ? { output: a.output } : {}),
        });
      }
      return out;
    },
  } as unknown as AwsReader;
  const warnings: { code: WarningCode; message: string }[] = [];
  const source = new ProbeSource({
    reader,
    writer,
    command: PROBE_CMD,
    tag: "r:1a2b3c4d",
    planName: "relay",
    warn: (code, message) => warnings.push({ code, message }),
  });
  return {
    source,
    sent,
    listed,
    warnings,
    failSends(msg: string | undefined) {
      failSend = msg;
    },
  };
}

const ids = (n: number) => Array.from({ length: n }, (_, k) => `i-${String(k).padStart(5, "0")}`);

describe("ProbeSource rounds", () => {
  it("sends ≤ 50 ids per SendCommand with a probe Comment no step re-attach can match", async () => {
    const s = stubSsm(() => ({ status: "Success", output: "7\n" }));
    await s.source.start("fleet", ids(120), 0);
    expect(s.sent.map((r) => r.instanceIds.length)).toEqual([50, 50, 20]);
    expect(s.sent[0]?.commands).toEqual([PROBE_CMD]);
    expect(s.sent[0]?.comment).toBe("rollwave r:1a2b3c4d probe/1 relay");
    expect(probeComment("r:1a2b3c4d", 2, "relay").startsWith("rollwave r:1a2b3c4d deploy ")).toBe(false);
    expect(s.sent[0]?.timeoutSeconds).toBe(30);
    // Not due before its first poll: no call.
    expect(await s.source.poll(1_000)).toEqual([]);
    expect(s.listed).toEqual([]);
    const [r] = await s.source.poll(2_000);
    expect(s.listed).toEqual(["c1", "c2", "c3"]);
    expect(r?.at).toBe(0);
    expect(Object.keys(r?.values ?? {})).toHaveLength(120);
    expect(r?.values["i-00119"]).toBe(7);
    expect(s.source.inFlight("fleet")).toBe(false);
    // The next round has its own number (its own "step" in SSM's history).
    await s.source.start("drain", ids(1), 5_000);
    expect(s.sent[3]?.comment).toBe("rollwave r:1a2b3c4d probe/2 relay");
  });

  it("a parse error leaves the instance without a count and names it, once across rounds", async () => {
    const s = stubSsm((id) =>
      id === "i-00001"
        ? { status: "Success", output: "ss: command not found" }
        : { status: "Success", output: "12" },
    );
    for (const t of [0, 60_000]) {
      await s.source.start("fleet", ids(3), t);
      const [r] = await s.source.poll(t + 2_000);
      expect(r?.values).toEqual({ "i-00000": 12, "i-00002": 12 });
      expect(r?.missing["i-00001"]).toMatch(/printed "ss: command not found", not a connection count/);
    }
    expect(s.warnings).toHaveLength(1);
    expect(s.warnings[0]?.code).toBe("W_PROBE_FAILED");
    expect(s.warnings[0]?.message).toMatch(/^i-00001: the probe printed "ss: command not found"/);
  });

  it("a failed probe, and one that never answers, are missing once the round's deadline passes", async () => {
    const s = stubSsm((id) =>
      id === "i-00000"
        ? { status: "Success", output: "5" }
        : id === "i-00001"
          ? { status: "Failed" }
          : id === "i-00002"
            ? { status: "InProgress" }
            : undefined,
    );
    await s.source.start("fleet", ids(4), 0);
    // Still waiting on two instances: not finished, polled again.
    expect(await s.source.poll(2_000)).toEqual([]);
    expect(s.source.nextDueAt()).toBe(5_000);
    const [r] = await s.source.poll(PROBE_TIMEOUT_MS + 2_000);
    expect(r?.values).toEqual({ "i-00000": 5 });
    expect(r?.missing["i-00001"]).toMatch(/ended Failed/);
    expect(r?.missing["i-00002"]).toBe("no answer within 30s");
    expect(r?.missing["i-00003"]).toBe("no answer within 30s");
    expect(s.warnings.map((w) => w.message.split(":")[0])).toEqual(["i-00001", "i-00002", "i-00003"]);
  });

  it("throws when no batch could be sent, so the caller keeps its older reading and says why", async () => {
    const s = stubSsm(() => ({ status: "Success", output: "1" }));
    s.failSends("AccessDeniedException: not authorized to perform ssm:SendCommand");
    await expect(s.source.start("fleet", ids(3), 0)).rejects.toThrow(
      /SendCommand \(probe\) failed: AccessDenied/,
    );
    expect(s.source.inFlight("fleet")).toBe(false);
  });
});

// ---- The guard fed by the probe, against the fake AWS. ----

const probed = (extra: Parameters<typeof makePlan>[0] = {}) =>
  makePlan({
    capacity: { connections: { ...metricConnections(), source: { kind: "probe", command: PROBE_CMD } } },
    ...extra,
  });

/** Probes answer in a second with the fake's per-instance count (or `print(id)` when given). */
function probing(h: Harness, print?: (id: string) => string | undefined) {
  h.aws.commandDuration = (req) => (req.commands[0] === PROBE_CMD ? 1_000 : h.aws.opts.commandMs);
  h.aws.commandOutput = (req, id) => {
    if (req.commands[0] !== PROBE_CMD) return undefined;
    if (print) return print(id);
    const n = h.aws.connections[id];
    return n === undefined ? "" : `${n}\n`;
  };
}

function setAll(h: Harness, n: number) {
  for (const id of h.aws.instances.keys()) h.aws.connections[id] = n;
}

/** Probe SendCommands that went through (a refused one is logged as a mutation, but sent nothing). */
const probeSends = (h: Harness) =>
  [...h.aws.commands.values()].filter((c) => c.req.commands[0] === PROBE_CMD);
const deregs = (h: Harness) => h.aws.mutations.filter((m) => m.action === "ELBv2.DeregisterTargets");

describe("the capacity guard on a probe source", () => {
  it("control: rolls a lightly loaded fleet on probe readings, never reading the metric", async () => {
    const h = harness({ n: 10, canary: 1, batch: 3, window: 2 }, probed());
    setAll(h, 150);
    probing(h);
    const r = await drive(h, runRollout(options(h)));
    expect(r.status).toBe("succeeded");
    expect(r.instances.succeeded).toBe(10);
    expect(h.aws.metricReads).toEqual([]);
    expect(probeSends(h).length).toBeGreaterThan(0);
    // Every admission used a probe round sent at most maxAge before it.
    const sends = probeSends(h).map((m) => m.at);
    for (const d of deregs(h)) {
      const last = Math.max(...sends.filter((t) => t <= d.at));
      expect(d.at - last).toBeLessThanOrEqual(120_000);
    }
    const progress = ofType(h.events, "progress").filter((e) => e.connectionsSource !== undefined);
    expect(progress[0]?.connectionsSource).toBe(`probe: ${PROBE_CMD}`);
  });

  it("missing output counts at the limit: two unparseable, 8 × 220 + 2 × 250 > 2,025 → hold, naming both", async () => {
    const h = harness({ n: 10, canary: 1, batch: 3, window: 2 }, probed());
    setAll(h, 220);
    probing(h, (id) => (id === "i-00008" ? "" : id === "i-00009" ? "relay: not running" : "220"));
    const r = await drive(h, runRollout(options(h, { capacityWaitMs: 10 * 60_000 })));
    expect(r.status).toBe("paused");
    expect(r.reason).toMatch(/capacity: 2260 connections would not fit on 9 instance\(s\)/);
    expect(r.reason).toMatch(/2 instance\(s\) without a datapoint counted at 250/);
    expect(deregs(h)).toEqual([]);
    const w = ofType(h.events, "warning").filter((e) => e.code === "W_PROBE_FAILED");
    // Once per instance, however many rounds ran.
    expect(w.map((e) => e.message.split(":")[0]).sort()).toEqual(["i-00008", "i-00009"]);
    expect(w.find((e) => e.message.startsWith("i-00009"))?.message).toContain('printed "relay: not running"');
    expect(probeSends(h).length).toBeGreaterThan(1);
  });

  it("control: the same two gaps with a light load (8 × 150 + 2 × 250 = 1,700) roll through", async () => {
    const h = harness({ n: 10, canary: 1, batch: 3, window: 2 }, probed());
    setAll(h, 150);
    probing(h, (id) => (id === "i-00008" || id === "i-00009" ? "" : "150"));
    const r = await drive(h, runRollout(options(h)));
    expect(r.status).toBe("succeeded");
  });

  it("stale: when probes can no longer be sent, nothing leaves once the last reading is older than maxAge", async () => {
    const h = harness({ n: 10, canary: 1, batch: 3, window: 2 }, probed(), { drainDelayMs: 5 * 60_000 });
    const t0 = h.clock.now();
    setAll(h, 50);
    probing(h);
    const FAIL_AT = 60_000;
    let failing = false;
    h.aws.sendError = (req) =>
      failing && req.commands[0] === PROBE_CMD ? "ThrottlingException: Rate exceeded" : undefined;
    const r = await drive(h, runRollout(options(h, { capacityWaitMs: 10 * 60_000 })), (t) => {
      if (t === FAIL_AT) failing = true;
    });
    expect(r.status).toBe("paused");
    expect(r.reason).toMatch(
      /older than maxAge 2m; the probe could not be read: SendCommand \(probe\) failed: Throttling/,
    );
    const lastRead = Math.max(...probeSends(h).map((m) => m.at));
    expect(lastRead - t0).toBeLessThanOrEqual(FAIL_AT);
    expect(deregs(h).filter((m) => m.at > lastRead + 120_000)).toEqual([]);
  });

  it("drains by the probe: drain.until connections ends the drain on a probe reading taken during it", async () => {
    const h = harness(
      { n: 4, canary: 0, batch: 2, window: 2 },
      probed({ rollout: { canary: null }, drain: { untilConnections: 0 } }),
      { drainDelayMs: 10 * 60_000 },
    );
    setAll(h, 30);
    probing(h);
    const r = await drive(h, runRollout(options(h)), () => {
      // A deregistered instance has shed its devices a tick later.
      for (const [id, t] of h.aws.groups.values().next().value ?? [])
        if (t.deregisteredAt !== undefined) h.aws.connections[id] = 0;
    });
    expect(r.status).toBe("succeeded");
    // Ended by the predicate, long before the 10-minute deregistration delay.
    expect(r.durationMs).toBeLessThan(10 * 60_000);
    expect(r.finished.connections).toMatchObject({ displaced: 120, cut: 0 });
  });
});

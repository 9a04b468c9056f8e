#!/usr/bin/env node
// The 1,000-server default fleet rolled with plans/camera-relay.yaml through the simulator, over real
// SDK clients on loopback HTTP. Prints one JSON line: wall and simulated time, API calls in total and
// per instance, the engine's outcome and the simulator's camera stats.
//
// Time is virtual by default (bench/lib/virtual-clock.mjs): it stands still while code runs and jumps to
// the next sleeper, so the simulated makespan does not depend on how loaded the machine is.
// `--scale N` runs on a real clock N times faster instead (what `rollwave --simulate` does).
//
//   npm run build && node bench/rollout.mjs [--scale 200] [--strategy window|waves] [--no-displacement-limit]
import { parseArgs } from "node:util";
import { capacityPreview, readFleetConnections } from "../dist/engine/capacity-preview.js";
import { memoryJournal, runRollout } from "../dist/engine/index.js";
import { loadPlan } from "../dist/plan/load.js";
import { prepareRollout } from "../dist/rollout/prepare.js";
import { boundInstances, effectiveWindow, intrinsicTotals, physicalBound } from "../dist/sim/bound.js";
import { startSimulator } from "../dist/sim/index.js";
import { ScaledClock } from "../dist/util/clock.js";
import { VirtualClock } from "./lib/virtual-clock.mjs";

const { values } = parseArgs({
  options: {
    scale: { type: "string" },
    strategy: { type: "string" },
    release: { type: "string", default: "v2.0.0" },
    // Drop capacity.connections.maxDisplacedPerMinute, to see what the displacement limit costs.
    "no-displacement-limit": { type: "boolean", default: false },
    // Engine batching knobs (RolloutOptions.batchHoldMs / readSlackMs), in ms, for experiments.
    "batch-hold": { type: "string" },
    "read-slack": { type: "string" },
  },
});
const scale = values.scale === undefined ? null : Number(values.scale);
const clock = scale === null ? new VirtualClock() : new ScaledClock(scale);
const sim = await startSimulator({ clock, seed: 1 });
const { plan: loaded } = await loadPlan("plans/camera-relay.yaml", {
  vars: [`release=${values.release}`],
  autoApprove: true,
});
let plan = values.strategy
  ? { ...loaded, rollout: { ...loaded.rollout, strategy: values.strategy } }
  : loaded;
if (values["no-displacement-limit"] && plan.capacity.connections) {
  plan = {
    ...plan,
    capacity: { connections: { ...plan.capacity.connections, maxDisplacedPerMinute: null } },
  };
}

const wall0 = performance.now();
const sim0 = clock.now();
const { aws, fleet, wavePlan } = await prepareRollout({
  plan,
  aws: {
    region: sim.region,
    endpointUrl: sim.endpoint,
    credentials: { accessKeyId: "sim", secretAccessKey: "sim" },
    clock,
  },
  simulator: sim.world,
});
// The simulator's intrinsic drain ends at the plan's threshold, as `rollwave deploy --simulate` sets
// it: without it a drain would only end at 0 connections, i.e. when the engine closes them.
if (plan.drain.untilConnections !== null) sim.world.setDrainThreshold(plan.drain.untilConnections);
const discoverCalls = aws.calls().total;
// The capacity limit for the bound's effective window: the guard's arithmetic on the starting load
// (read before the rollout; it does not count as the rollout's calls).
const planned0 = wavePlan.waves.flatMap((w) => w.instances.map((i) => i.id));
const preview = capacityPreview(
  plan,
  fleet,
  wavePlan,
  await readFleetConnections(aws.reader, plan, planned0, clock.now()),
);
const counts = {};
const failures = [];
// Where the time went: canary (start → canary wave finished), bake, approval, batch phase, and how
// full the window was over time (out-of-service instances sampled at every phase change).
const marks = {};
let out = 0;
let outArea = 0;
let outAt = 0;
const outSeries = [];
const isOut = (phase) => !["pending", "done", "skipped", "rolledBack", "failed"].includes(phase);
// Engine time per phase (close counted apart from draining), summed over instances.
const phaseMs = {};
const lastAt = new Map();
const lastKey = new Map();
const rss0 = process.memoryUsage().rss;
let maxRss = rss0;
const memTimer = setInterval(() => {
  maxRss = Math.max(maxRss, process.memoryUsage().rss);
}, 200);
const result = await runRollout({
  plan,
  fleet,
  wavePlan,
  aws,
  clock,
  signal: new AbortController().signal,
  emit: (e) => {
    counts[e.type] = (counts[e.type] ?? 0) + 1;
    if (e.type === "instance.failed") failures.push(e);
    if (e.type === "wave.finished" && e.index === 0) marks.canaryDone ??= e.at;
    if (e.type === "gate.passed" && e.gate === "bake") marks.baked ??= e.at;
    if (e.type === "gate.passed" && e.gate === "approval") marks.approved ??= e.at;
    if (e.type === "instance.phase") {
      const key = lastKey.get(e.id) ?? e.from;
      if (lastAt.has(e.id)) phaseMs[key] = (phaseMs[key] ?? 0) + (e.at - lastAt.get(e.id));
      lastAt.set(e.id, e.at);
      lastKey.set(e.id, e.from === "draining" && e.to === "draining" ? "close" : e.to);
    }
    if (e.type === "instance.phase" && isOut(e.from) !== isOut(e.to)) {
      if (marks.approved !== undefined) {
        outArea += out * (e.at - Math.max(outAt, marks.approved));
        outAt = e.at;
      }
      out += isOut(e.to) ? 1 : -1;
      if (outSeries.length === 0 || e.at - outSeries.at(-1)[0] >= 60_000) outSeries.push([e.at, out]);
    }
  },
  journal: memoryJournal(),
  autoApprove: true,
  apiCallsSince: aws.calls(),
  ...(values["batch-hold"] !== undefined ? { batchHoldMs: Number(values["batch-hold"]) } : {}),
  ...(values["read-slack"] !== undefined ? { readSlackMs: Number(values["read-slack"]) } : {}),
});
clearInterval(memTimer);
const wallMs = performance.now() - wall0;
const m = sim.metrics();
const simState = sim.state();
const canaryWave = wavePlan.waves.find((w) => w.kind === "canary");
// Per AZ the smaller of its cap and what capacity lets out there (cross-zone off); fleet-wide capacity.
const window = effectiveWindow({
  maxUnavailable: wavePlan.window.maxUnavailable,
  perAzCaps: preview
    ? preview.azs.map((a) =>
        Math.min(wavePlan.window.perAz[a.az] ?? a.instances, a.capacityMaxOut ?? a.instances, a.instances),
      )
    : wavePlan.window.perAz,
  ...(preview?.total.capacityMaxOut != null ? { capacityLimit: preview.total.capacityMaxOut } : {}),
});
const bound = physicalBound({
  instances: boundInstances(simState.intrinsic),
  canaryIds: canaryWave ? canaryWave.instances.map((i) => i.id) : [],
  bakeMs: plan.rollout.canary?.bakeMs ?? 0,
  stableForMs: plan.health.stableForMs,
  window,
  maxDisplacedPerMinute: plan.capacity.connections?.maxDisplacedPerMinute ?? null,
});
const endAt = sim0 + result.durationMs;
const min = (ms) => Math.round(ms / 6000) / 10;
const planned = wavePlan.waves.reduce((a, w) => a + w.instances.length, 0);
// Failure reasons, grouped with ids and numbers blurred, most common first.
const reasons = {};
for (const p of failures) {
  const k = p.reason.replace(/i-[0-9a-f]+/g, "i-…").replace(/\d+/g, "N");
  reasons[k] = (reasons[k] ?? 0) + 1;
}
console.log(
  JSON.stringify({
    bench: "rollout",
    fleet: fleet.instances.length,
    planned,
    strategy: plan.rollout.strategy,
    timeScale: scale ?? "virtual",
    status: result.status,
    reason: result.reason,
    instances: result.instances,
    wallSeconds: Math.round(wallMs / 100) / 10,
    simulatedMinutes: Math.round((clock.now() - sim0) / 6000) / 10,
    rolloutSimulatedMinutes: Math.round(result.durationMs / 6000) / 10,
    apiCalls: {
      total: result.apiCalls.total,
      perInstance: Math.round((result.apiCalls.total / planned) * 100) / 100,
      discovery: discoverCalls,
      byAction: result.apiCalls.byAction,
      throttled: aws.calls().throttled,
    },
    bound: {
      minutes: min(bound.boundMs),
      ratio: Math.round((bound.boundMs / result.durationMs) * 1000) / 1000,
      limitedBy: bound.limitedBy,
      window,
      canaryMinutes: min(bound.canaryMs),
      bakeMinutes: min(bound.bakeMs),
      batchMinutes: min(bound.batchMs),
      terms: Object.fromEntries(Object.entries(bound.terms).map(([k, v]) => [k, min(v)])),
      intrinsic: intrinsicTotals(simState.intrinsic),
      // What the engine charged to the displacement budget (its metric readings) against the above.
      engineDisplaced: Object.values(result.perInstance).reduce((a, p) => a + (p.displaced ?? 0), 0),
    },
    // Measured phases (minutes): canary until its wave finished, bake, approval, batch phase.
    phases: {
      canary: min((marks.canaryDone ?? endAt) - sim0),
      bake: min((marks.baked ?? endAt) - (marks.canaryDone ?? endAt)),
      approval: min((marks.approved ?? endAt) - (marks.baked ?? endAt)),
      batch: min(endAt - (marks.approved ?? endAt)),
      meanOutOfServiceInBatch:
        marks.approved === undefined ? null : Math.round((outArea / (endAt - marks.approved)) * 10) / 10,
      // Mean engine seconds per instance in each phase (`close`: drain.closeCommand running).
      secondsPerInstance: Object.fromEntries(
        Object.entries(phaseMs).map(([k, v]) => [k, Math.round(v / planned / 100) / 10]),
      ),
      outOfServiceEveryMinute: outSeries.map(([t, n]) => [min(t - sim0), n]),
    },
    failureReasons: Object.fromEntries(
      Object.entries(reasons)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5),
    ),
    events: counts,
    sim: {
      invariantViolations: m.invariantViolations.length,
      cameras: m.cameras,
      maxLoadRatio: m.maxLoadRatio,
    },
    displacementLimit: plan.capacity.connections?.maxDisplacedPerMinute ?? null,
    maxRssMB: Math.round(maxRss / 1e6),
  }),
);
aws.close();
await sim.close();

#!/usr/bin/env node
// Small fleet (rollout-speed issue §4): the 60-server copy of the camera fleet
// (plans/sim/camera-fleet-60.yaml) rolled with plans/camera-relay.yaml as a playbook would be
// written for it: no canary gate, batches [1, 5%, 10%], `strategy: waves`, up to 5% failures. Once
// by rollwave, once by the hand-written per-instance baseline (bench/lib/baseline.mjs) over the
// same waves, each against a fresh simulator with the same seed on its own virtual clock.
// Targets: rollwave ≥ 25% faster, with ≥ 10× fewer calls. `--quick` runs the same (it is small).
//
//   npm run build && node bench/small-fleet.mjs [--quick]
import { parseArgs } from "node:util";
import { prepareRollout } from "../dist/rollout/prepare.js";
import { startSimulator } from "../dist/sim/index.js";
import { parseSize } from "../dist/util/size.js";
import { baselineRollout } from "./lib/baseline.mjs";
import { loadBenchPlan, simRollout } from "./lib/sim-rollout.mjs";
import { VirtualClock } from "./lib/virtual-clock.mjs";

const { values } = parseArgs({ options: { quick: { type: "boolean", default: false } } });
const fleet = "plans/sim/camera-fleet-60.yaml";
const planFile = "plans/camera-relay.yaml";
const loaded = await loadBenchPlan(planFile, {
  canary: null,
  waves: [1, "5%", "10%"].map((s) => parseSize(s)),
  strategy: "waves",
});
const plan = {
  ...loaded,
  rollout: { ...loaded.rollout, failures: { ...loaded.rollout.failures, maxFailed: parseSize("5%") } },
};

const rw = await simRollout({ plan, fleet });
console.error(`  rollwave: ${rw.makespanMinutes} min, ${rw.apiCalls.total} calls, ${rw.wallSeconds} s wall`);

const clock = new VirtualClock();
const sim = await startSimulator({ clock, seed: 1, fleet });
let base;
let baseSim;
try {
  const {
    aws,
    fleet: found,
    wavePlan,
  } = await prepareRollout({
    plan,
    aws: {
      region: sim.region,
      endpointUrl: sim.endpoint,
      credentials: { accessKeyId: "sim", secretAccessKey: "sim" },
      clock,
    },
    simulator: sim.world,
  });
  aws.close();
  base = await baselineRollout({ plan, fleet: found, wavePlan, sim, clock });
  const m = sim.metrics();
  baseSim = {
    refused: m.cameras.refused,
    p99DisconnectSeconds: m.cameras.disconnectSeconds.p99,
    invariantViolations: m.invariantViolations.length,
  };
} finally {
  await sim.close();
}
const baseMinutes = Math.round(base.makespanMs / 6000) / 10;
console.error(`  baseline: ${baseMinutes} min, ${base.apiCalls.total} calls`);

const scenario = `small fleet (${rw.planned} servers, batches [1, 5%, 10%], waves) vs per-instance baseline`;
const faster = Math.round((1 - rw.makespanMinutes / baseMinutes) * 1000) / 10;
const fewer = Math.round((base.apiCalls.total / rw.apiCalls.total) * 10) / 10;
const rows = [
  {
    scenario,
    metric: "rollwave: status",
    value: rw.status,
    target: "succeeded",
    pass: rw.status === "succeeded",
  },
  { scenario, metric: "rollwave: makespan", value: rw.makespanMinutes, unit: "min" },
  { scenario, metric: "baseline: makespan", value: baseMinutes, unit: "min" },
  { scenario, metric: "rollwave faster by", value: faster, unit: "%", target: "≥ 25", pass: faster >= 25 },
  { scenario, metric: "rollwave: calls", value: rw.apiCalls.total },
  { scenario, metric: "baseline: calls", value: base.apiCalls.total },
  {
    scenario,
    metric: "baseline ÷ rollwave calls",
    value: fewer,
    unit: "×",
    target: "≥ 10",
    pass: fewer >= 10,
  },
  { scenario, metric: "rollwave: calls per instance", value: rw.apiCalls.perInstance },
  {
    scenario,
    metric: "baseline: calls per instance",
    value: Math.round((base.apiCalls.total / base.planned) * 100) / 100,
  },
  { scenario, metric: "rollwave: physical bound", value: rw.bound.minutes, unit: "min" },
  { scenario, metric: "rollwave: failed instances", value: rw.instances.failed },
  { scenario, metric: "baseline: failed instances", value: base.failed },
  { scenario, metric: "rollwave: p99 disconnect", value: rw.cameras.p99DisconnectSeconds, unit: "s" },
  { scenario, metric: "baseline: p99 disconnect", value: baseSim.p99DisconnectSeconds, unit: "s" },
  {
    scenario,
    metric: "rollwave: cameras refused",
    value: rw.cameras.refused,
    target: "0",
    pass: rw.cameras.refused === 0,
  },
  { scenario, metric: "baseline: cameras refused", value: baseSim.refused },
];
console.log(
  JSON.stringify(
    {
      bench: "small-fleet",
      quick: values.quick,
      plan: planFile,
      fleet,
      rows,
      rollwave: rw,
      baseline: { ...base, makespanMinutes: baseMinutes, sim: baseSim },
    },
    null,
    2,
  ),
);

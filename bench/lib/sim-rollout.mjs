// One rollout of a plan against the in-process simulator, through real SDK clients on loopback HTTP,
// on the virtual clock (./virtual-clock.mjs), summarised for the efficiency, API-economy and
// small-fleet benches: makespan, the physical bound from what the simulator drew, where the time
// went, what held the window, calls by action and the naive per-instance poller's count.
import { memoryJournal, runRollout } from "../../dist/engine/index.js";
import { loadPlan } from "../../dist/plan/load.js";
import { prepareRollout } from "../../dist/rollout/prepare.js";
import { boundInstances, effectiveWindow, physicalBound } from "../../dist/sim/bound.js";
import { startSimulator } from "../../dist/sim/index.js";
import { naivePollerCalls } from "./naive-poller.mjs";
import { VirtualClock } from "./virtual-clock.mjs";

const minutes = (ms) => Math.round(ms / 6000) / 10;

/** The plan as loaded, with `rollout` fields overridden (e.g. `{ strategy: "waves" }`). */
export async function loadBenchPlan(file, rolloutOverride = {}) {
  const { plan } = await loadPlan(file, { vars: ["release=v2.0.0"], autoApprove: true });
  return { ...plan, rollout: { ...plan.rollout, ...rolloutOverride } };
}

/**
 * The most instances that may be out at once without breaking the capacity guard: everything
 * connected must fit in the rest at perInstanceLimit × (1 − headroom). Infinity without a guard.
 */
export function capacityLimit(plan, instances, cameras) {
  const c = plan.capacity.connections;
  if (!c) return Number.POSITIVE_INFINITY;
  const perServer = c.perInstanceLimit * (1 - c.headroom);
  return Math.max(1, instances - Math.ceil(cameras / perServer));
}

/**
 * Run `plan` over the fleet spec `fleet` (default: the simulator's 1,000-server camera fleet).
 * Returns the summary described at the top of this file.
 */
export async function simRollout({ plan, fleet, seed = 1 }) {
  const clock = new VirtualClock();
  const sim = await startSimulator({ clock, seed, ...(fleet ? { fleet } : {}) });
  try {
    if (plan.drain.untilConnections !== null) sim.world.setDrainThreshold(plan.drain.untilConnections);
    const wall0 = performance.now();
    const cpu0 = process.cpuUsage();
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
    const trace = eventTrace();
    let result;
    try {
      result = await runRollout({
        plan,
        fleet: found,
        wavePlan,
        aws,
        clock,
        signal: new AbortController().signal,
        emit: trace.emit,
        journal: memoryJournal(),
        autoApprove: true,
        apiCallsSince: aws.calls(),
      });
    } finally {
      aws.close();
    }
    const cpu = process.cpuUsage(cpu0);
    const state = sim.state();
    const metrics = sim.metrics();
    const planned = wavePlan.waves.reduce((a, w) => a + w.instances.length, 0);
    const canary = wavePlan.waves.find((w) => w.kind === "canary");
    const canaryIds = canary ? canary.instances.map((i) => i.id) : [];
    const window = effectiveWindow({
      maxUnavailable: wavePlan.window.maxUnavailable,
      perAzCaps: wavePlan.window.perAz,
      capacityLimit: capacityLimit(plan, planned, metrics.cameras.total),
    });
    const bound = physicalBound({
      instances: boundInstances(state.intrinsic),
      canaryIds,
      bakeMs: plan.rollout.canary?.bakeMs ?? 0,
      stableForMs: plan.health.stableForMs ?? 0,
      window,
      maxDisplacedPerMinute: plan.capacity.connections?.maxDisplacedPerMinute ?? null,
    });
    const makespanMs = result.durationMs;
    const targetGroupsPerInstance = Math.max(1, ...found.instances.map((i) => i.targets.length));
    const naive = naivePollerCalls(state.intrinsic, {
      targetGroups: targetGroupsPerInstance,
      stableForMs: plan.health.stableForMs ?? 0,
    });
    return {
      fleet: found.instances.length,
      planned,
      strategy: plan.rollout.strategy,
      status: result.status,
      reason: result.reason,
      instances: result.instances,
      wallSeconds: Math.round((performance.now() - wall0) / 100) / 10,
      cpuSeconds: Math.round((cpu.user + cpu.system) / 1e5) / 10,
      // The process's peak so far (simulator and engine share it; sampling memoryUsage cost more CPU).
      processPeakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      makespanMinutes: minutes(makespanMs),
      bound: {
        minutes: minutes(bound.boundMs),
        canaryMinutes: minutes(bound.canaryMs),
        bakeMinutes: minutes(bound.bakeMs),
        batchMinutes: minutes(bound.batchMs),
        terms: {
          serviceOverWindowMinutes: minutes(bound.terms.serviceOverWindowMs),
          displacedOverRateMinutes: minutes(bound.terms.displacedOverRateMs),
          longestInstanceMinutes: minutes(bound.terms.longestInstanceMs),
        },
        limitedBy: bound.limitedBy,
        window,
      },
      ratio: Math.round((bound.boundMs / makespanMs) * 1000) / 1000,
      breakdown: trace.breakdown(result),
      windowLimits: trace.windowLimits(wavePlan.window.maxUnavailable),
      apiCalls: {
        total: result.apiCalls.total,
        perInstance: Math.round((result.apiCalls.total / planned) * 100) / 100,
        byAction: result.apiCalls.byAction,
        throttled: aws.calls().throttled,
      },
      naivePoller: naive,
      cameras: {
        total: metrics.cameras.total,
        refused: metrics.cameras.refused,
        cut: metrics.cameras.cut,
        p99DisconnectSeconds: metrics.cameras.disconnectSeconds.p99,
        minConnected: metrics.cameras.minConnected,
      },
      invariantViolations: metrics.invariantViolations.length,
      duplicateExecutions: state.duplicates.length,
    };
  } finally {
    await sim.close();
  }
}

/**
 * Collects the few events the summary needs (not every event: a 10k rollout emits millions).
 * - breakdown: canary (start → canary wave finished), bake and approval (gate.waiting → passed),
 *   batch phase (the last gate passed → the end);
 * - window limits: over the batch phase, how long the window was full, held by a gate
 *   (capacity, alarms, connectedDevices …), short with instances still pending (pacing, admission
 *   checks), or short because nothing was left to start (the tail).
 */
function eventTrace() {
  let startedAt;
  let canaryDoneAt;
  let lastGatePassedAt;
  const gates = {}; // kind → { open: at | undefined, ms }
  const samples = []; // { at, out, pending, gate }
  const open = new Set();
  const gate = (kind) => {
    if (!gates[kind]) gates[kind] = { open: undefined, ms: 0 };
    return gates[kind];
  };
  return {
    emit(e) {
      switch (e.type) {
        case "rollout.started":
          startedAt ??= e.at;
          break;
        case "wave.finished":
          if (e.index === 0 && canaryDoneAt === undefined) canaryDoneAt = e.at;
          break;
        case "gate.waiting": {
          const g = gate(e.gate);
          g.open ??= e.at;
          open.add(e.gate);
          samples.push({ at: e.at, gate: [...open][0] });
          break;
        }
        case "gate.passed": {
          const g = gate(e.gate);
          if (g.open !== undefined) g.ms += e.at - g.open;
          g.open = undefined;
          open.delete(e.gate);
          if (e.gate === "bake" || e.gate === "approval") lastGatePassedAt = e.at;
          samples.push({ at: e.at, gate: [...open][0] });
          break;
        }
        case "progress":
          samples.push({
            at: e.at,
            out: e.outOfService,
            pending: e.phases.pending ?? 0,
          });
          break;
      }
    },
    breakdown(result) {
      const end = (startedAt ?? 0) + result.durationMs;
      const bake = gates.bake?.ms ?? 0;
      const approval = gates.approval?.ms ?? 0;
      const batchStart = lastGatePassedAt ?? canaryDoneAt ?? startedAt ?? end;
      return {
        canaryMinutes: minutes((canaryDoneAt ?? startedAt ?? 0) - (startedAt ?? 0)),
        bakeMinutes: minutes(bake),
        approvalMinutes: minutes(approval),
        batchMinutes: minutes(end - batchStart),
        gateHeldMinutes: Object.fromEntries(Object.entries(gates).map(([k, g]) => [k, minutes(g.ms)])),
      };
    },
    /** Batch-phase time by what the window was limited by, in minutes, and the mean occupancy. */
    windowLimits(maxUnavailable) {
      const from = lastGatePassedAt ?? canaryDoneAt ?? startedAt ?? 0;
      let out = 0;
      let pending = 0;
      let gate;
      let prev = from;
      const by = { full: 0, gate: 0, pacing: 0, tail: 0 };
      const gateKinds = {};
      let weighted = 0;
      let span = 0;
      for (const s of samples) {
        if (s.at > prev && prev >= from) {
          const dt = s.at - prev;
          span += dt;
          weighted += out * dt;
          if (out >= maxUnavailable) by.full += dt;
          else if (gate) {
            by.gate += dt;
            gateKinds[gate] = (gateKinds[gate] ?? 0) + dt;
          } else if (pending > 0) by.pacing += dt;
          else by.tail += dt;
        }
        if (s.at >= prev) prev = s.at;
        if (s.out !== undefined) {
          out = s.out;
          pending = s.pending;
        }
        if ("gate" in s) gate = s.gate;
      }
      return {
        windowFullMinutes: minutes(by.full),
        heldByGateMinutes: minutes(by.gate),
        heldByGate: Object.fromEntries(Object.entries(gateKinds).map(([k, ms]) => [k, minutes(ms)])),
        shortWithPendingMinutes: minutes(by.pacing),
        tailMinutes: minutes(by.tail),
        meanOutOfService: span > 0 ? Math.round((weighted / span) * 10) / 10 : 0,
        maxUnavailable,
      };
    },
  };
}

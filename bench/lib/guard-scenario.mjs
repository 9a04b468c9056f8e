// The capacity guard's scenario (issue 10 §7), run once with the guard and once without:
// plans/sim/guard-fleet.yaml rolled with plans/guard-relay.yaml through the in-process simulator
// over real SDK clients, on a virtual clock (simulated time does not depend on machine load).
//
// "Guard off" is a host-counting rollout: the same plan with perInstanceLimit raised to 10^9, so
// the connection check always admits; everything else (drain, close command, reads) is unchanged.
//
// The code it runs is injected (`mods`): bench/guard.mjs passes dist/, the integration test src/.
// `scale` shrinks the fleet (servers and cameras alike; 0.2 → 200 servers, 31,800 cameras).

export const FLEET = "plans/sim/guard-fleet.yaml";
export const PLAN = "plans/guard-relay.yaml";

/** Phases that hold a window slot (engine/state.ts IN_FLIGHT_PHASES). */
const OUT = new Set([
  "preDrain",
  "deregistering",
  "draining",
  "deploying",
  "validating",
  "registering",
  "warming",
]);

/**
 * @param {object} mods { loadFleetSpec, createWorld, startSimulator, loadPlan, prepareRollout, runRollout, memoryJournal, VirtualClock }
 * @param {{ guard: boolean, scale?: number, seed?: number, fleet?: string, plan?: string, hotAz?: string }} o
 */
export async function runGuardScenario(mods, o) {
  const scale = o.scale ?? 1;
  const seed = o.seed ?? 1;
  const spec = await mods.loadFleetSpec(o.fleet ?? FLEET);
  if (scale !== 1) {
    for (const g of spec.instanceGroups)
      for (const az of Object.keys(g.countPerAz))
        g.countPerAz[az] = Math.max(1, Math.round(g.countPerAz[az] * scale));
    spec.cameras.total = Math.round(spec.cameras.total * scale);
  }
  const clock = new mods.VirtualClock();
  const t0 = clock.now();
  const world = mods.createWorld(spec, { clock, seed });
  const sim = await mods.startSimulator({ clock, world, seed });
  const wall0 = performance.now();
  try {
    const { plan: loaded } = await mods.loadPlan(o.plan ?? PLAN, {
      vars: ["release=v2.0.0"],
      autoApprove: true,
    });
    const c = loaded.capacity.connections;
    const plan = o.guard ? loaded : { ...loaded, capacity: { connections: { ...c, perInstanceLimit: 1e9 } } };
    const { aws, fleet, wavePlan } = await mods.prepareRollout({
      plan,
      aws: {
        region: sim.region,
        endpointUrl: sim.endpoint,
        credentials: { accessKeyId: "sim", secretAccessKey: "sim" },
        clock,
      },
      simulator: sim.world,
    });
    const hotAz = o.hotAz ?? spec.azs[0];
    const phase = new Map();
    const azOf = new Map(fleet.instances.map((i) => [i.id, i.az]));
    /** Instances out of service (window slots taken), sampled at every change: [minute, total, hot AZ]. */
    const windowLog = [];
    let holds = 0;
    const events = [];
    const out = () => {
      let total = 0;
      let hot = 0;
      for (const [id, p] of phase) {
        if (!OUT.has(p)) continue;
        total++;
        if (azOf.get(id) === hotAz) hot++;
      }
      return [total, hot];
    };
    const result = await mods.runRollout({
      plan,
      fleet,
      wavePlan,
      aws,
      clock,
      signal: new AbortController().signal,
      emit: (e) => {
        if (e.type === "instance.phase") {
          phase.set(e.id, e.to);
          const [total, hot] = out();
          windowLog.push([(e.at - t0) / 60_000, total, hot]);
        } else if (e.type === "gate.waiting" && e.gate === "capacity") holds++;
        else if (e.type === "rollout.finished" || e.type === "policy.triggered") events.push(e);
      },
      journal: mods.memoryJournal(),
      autoApprove: true,
      apiCallsSince: aws.calls(),
    });
    aws.close();
    const m = sim.metrics();
    const planned = wavePlan.waves.reduce((a, w) => a + w.instances.length, 0);
    return {
      guard: o.guard,
      servers: fleet.instances.length,
      cameras: spec.cameras.total,
      hotAz,
      status: result.status,
      reason: result.reason,
      instances: result.instances,
      rolloutMinutes: Math.round(result.durationMs / 6000) / 10,
      wallSeconds: Math.round((performance.now() - wall0) / 100) / 10,
      apiCallsPerInstance: Math.round((result.apiCalls.total / planned) * 100) / 100,
      capacityHolds: holds,
      engine: result.finished.connections ?? { displaced: 0, cut: 0, cutPerInstance: {} },
      sim: {
        refused: m.cameras.refused,
        serversAtLimit: m.cameras.serversAtLimit,
        maxLoadRatio: m.maxLoadRatio,
        p99DisconnectSeconds: m.cameras.disconnectSeconds.p99,
        maxDisconnectSeconds: m.cameras.disconnectSeconds.max,
        reconnectsPerCamera: m.cameras.reconnectsPerCamera,
        cut: m.cameras.cut,
        invariantViolations: m.invariantViolations.length,
        violationKinds: [...new Set(m.invariantViolations.map((v) => v.invariant))],
      },
      window: windowPhases(windowLog, spec.cameras.schedule),
      windowLog,
    };
  } finally {
    await sim.close();
  }
}

/**
 * The most instances out at once, in total and in the hot AZ, before the peak's ramp, on its
 * plateau, and after its ramp down (from the fleet spec's schedule: step 0 up, step 1 down).
 */
export function windowPhases(log, schedule) {
  const up = schedule[0];
  const down = schedule[1];
  if (!up || !down) return null;
  const min = (ms) => ms / 60_000;
  const spans = {
    beforePeak: [0, min(up.at)],
    peak: [min(up.at + up.over), min(down.at)],
    afterPeak: [min(down.at + down.over), Number.POSITIVE_INFINITY],
  };
  const outOf = {};
  for (const [name, [a, b]] of Object.entries(spans)) {
    let total = 0;
    let hot = 0;
    for (const [t, n, h] of log) {
      if (t < a || t >= b) continue;
      total = Math.max(total, n);
      hot = Math.max(hot, h);
    }
    outOf[name] = { fromMinute: a, toMinute: Number.isFinite(b) ? b : null, maxOut: total, maxOutHotAz: hot };
  }
  return outOf;
}

/** The rows bench/run.mjs prints as tables: guard off and on side by side. */
export function guardRows(off, on) {
  const rows = [];
  for (const r of [off, on]) {
    const scenario = `${r.servers} servers, ${r.cameras} cameras, guard ${r.guard ? "on" : "off"}`;
    const add = (metric, value, unit, target, pass) =>
      rows.push({ scenario, metric, value, ...(unit ? { unit } : {}), ...(target ? { target, pass } : {}) });
    add("status", r.status);
    add("rollout (simulated)", r.rolloutMinutes, "min");
    add("wall time", r.wallSeconds, "s");
    if (r.guard) {
      add("refused connections", r.sim.refused, "", "0", r.sim.refused === 0);
      add("servers that reached their limit", r.sim.serversAtLimit, "", "0", r.sim.serversAtLimit === 0);
      add("max server load", r.sim.maxLoadRatio, "× limit", "< 1", r.sim.maxLoadRatio < 1);
      add("p99 disconnect", r.sim.p99DisconnectSeconds, "s", "≤ 10", r.sim.p99DisconnectSeconds <= 10);
      add("reconnects per camera", r.sim.reconnectsPerCamera, "", "≤ 1.5", r.sim.reconnectsPerCamera <= 1.5);
    } else {
      add("refused connections", r.sim.refused, "", "> 0 (the scenario bites)", r.sim.refused > 0);
      add("servers that reached their limit", r.sim.serversAtLimit);
      add("max server load", r.sim.maxLoadRatio, "× limit");
      add("p99 disconnect", r.sim.p99DisconnectSeconds, "s");
      add("reconnects per camera", r.sim.reconnectsPerCamera);
    }
    add("max disconnect", r.sim.maxDisconnectSeconds, "s");
    add("cut (engine)", r.engine.cut, "", `= simulator's ${r.sim.cut}`, r.engine.cut === r.sim.cut);
    add("displaced (engine)", r.engine.displaced);
    add("capacity holds", r.capacityHolds);
    add("API calls per instance", r.apiCallsPerInstance);
    add("invariant violations", r.sim.invariantViolations, "", "0", r.sim.invariantViolations === 0);
    const w = r.window;
    if (w) {
      add(`most out in ${r.hotAz} before the peak`, w.beforePeak.maxOutHotAz);
      add(`most out in ${r.hotAz} at the peak`, w.peak.maxOutHotAz);
      add(`most out in ${r.hotAz} after the peak`, w.afterPeak.maxOutHotAz);
      add(
        "most out (fleet) before / at / after the peak",
        `${w.beforePeak.maxOut} / ${w.peak.maxOut} / ${w.afterPeak.maxOut}`,
      );
    }
  }
  return rows;
}

/**
 * The capacity guard where it matters (issue 10 §7), against the simulator on a virtual clock:
 * plans/sim/guard-fleet.yaml scaled to 200 servers (the full 1,000 run in bench/guard.mjs; here
 * the same spec and plan with servers and cameras × 0.2), rolled with plans/guard-relay.yaml.
 * And the probe source end to end, with what drain.closeCommand cuts counted by both sides.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runGuardScenario } from "../../bench/lib/guard-scenario.mjs";
import { memoryJournal } from "../../src/engine/journal.js";
import { runRollout } from "../../src/engine/run.js";
import { loadPlan } from "../../src/plan/load.js";
import { prepareRollout } from "../../src/rollout/prepare.js";
import { createWorld, loadFleetSpec, startSimulator } from "../../src/sim/index.js";
import { VirtualClock } from "../../src/util/clock.js";
import { simRun } from "./sim-run.js";

const mods = {
  loadFleetSpec,
  createWorld,
  startSimulator,
  loadPlan,
  prepareRollout,
  runRollout,
  memoryJournal,
  VirtualClock,
};
const SEED = 1;

describe("the capacity guard scenario (AZ a: 40% of cameras on 30% of servers, a +10% peak, 30% out at once)", () => {
  it("guard off (host counting): cameras are refused and AZ a's servers fill up — the scenario bites", async () => {
    const r = await runGuardScenario(mods, { guard: false, scale: 0.1, seed: SEED });
    expect(r.servers).toBe(100);
    expect(r.sim.refused).toBeGreaterThan(1000);
    expect(r.sim.serversAtLimit).toBeGreaterThan(0);
    expect(r.sim.maxLoadRatio).toBe(1);
    expect(r.sim.p99DisconnectSeconds).toBeGreaterThan(10);
  }, 600_000);

  it("guard on: 0 refused, no server at its limit, p99 disconnect ≤ 10 s, ≤ 1.5 reconnects; the window shrinks at the peak and grows after it", async () => {
    const r = await runGuardScenario(mods, { guard: true, scale: 0.2, seed: SEED });
    expect(r.servers).toBe(200);
    expect(r.status).toBe("succeeded");
    expect(r.instances.succeeded).toBe(200);
    expect(r.sim.refused).toBe(0);
    expect(r.sim.serversAtLimit).toBe(0);
    expect(r.sim.maxLoadRatio).toBeLessThan(1);
    expect(r.sim.p99DisconnectSeconds).toBeLessThanOrEqual(10);
    expect(r.sim.reconnectsPerCamera).toBeLessThanOrEqual(1.5);
    expect(r.sim.invariantViolations).toBe(0);
    // AZ a (60 servers at 212): 60 − ⌈12,720 / 237.5⌉ = 6 may be out before the peak; at its
    // height (233 each) 60 − ⌈13,992 / 237.5⌉ = 1; after it, 6 again.
    const w = r.window;
    expect(w?.beforePeak.maxOutHotAz).toBe(6);
    expect(w?.peak.maxOutHotAz).toBe(1);
    expect(w?.afterPeak.maxOutHotAz).toBeGreaterThan(w?.peak.maxOutHotAz ?? 0);
    expect(r.capacityHolds).toBeGreaterThan(0);
    // §5: what drain.closeCommand closed is counted as cut, as the simulator counted it.
    expect(r.sim.cut).toBeGreaterThan(0);
    expect(r.engine.cut).toBe(r.sim.cut);
  }, 900_000);
});

describe("the probe connection source against the simulator", () => {
  const FLEET_40 = fileURLToPath(new URL("./fleet-40.yaml", import.meta.url));
  const PROBE = "/opt/relay/bin/relayctl connections";

  it("rolls 40 relays on probe readings through SSM, drains by them, and counts what the close command cuts as the simulator does", async () => {
    const { result, sim, events, aws } = await simRun({
      fleetSpec: FLEET_40,
      // Virtual time: on a loaded machine a scaled clock can run a 5-minute delay out in a second.
      clock: new VirtualClock(),
      spec: (s) => {
        // The relay answers the probe with its live count, and closes stragglers on request.
        const line = (match: string, stdout: string, effects: { closeConnections?: boolean } = {}) => ({
          match,
          duration: { p50: 100, p99: 300 },
          failureProbability: 0,
          exitCode: 1,
          stdout,
          stderr: "",
          effects,
        });
        s.commands.unshift(
          line("^/opt/relay/bin/relayctl connections$", "{connections}"),
          line("^/opt/relay/bin/relayctl close-all$", "closed", { closeConnections: true }),
        );
        // A delay longer than the NLB grace (2 min), so drains end by the probe and the close command.
        const rtmp = s.loadBalancers[0]?.targetGroups[0];
        if (rtmp) rtmp.deregistrationDelay = 300_000;
        s.faults.slowDrainShare = 0.03;
      },
      plan: (p) => ({
        ...p,
        capacity: {
          connections: {
            ...(p.capacity.connections as NonNullable<typeof p.capacity.connections>),
            source: { kind: "probe", command: PROBE },
          },
        },
        drain: { ...p.drain, untilConnections: 10 },
        steps: { ...p.steps, close: { commands: ["/opt/relay/bin/relayctl close-all"], timeoutMs: 60_000 } },
      }),
    });
    try {
      expect(result.status).toBe("succeeded");
      expect(result.instances.succeeded).toBe(40);
      const calls = result.apiCalls.byAction;
      expect(calls["CloudWatch.GetMetricData"] ?? 0).toBe(0);
      const state = sim.state();
      // Probe rounds are never mistaken for a step run twice, and every step ran once per instance.
      expect(state.duplicates).toEqual([]);
      const probes = state.executions.filter((x) => /probe\/\d+$/.test(x.step));
      expect(probes.length).toBeGreaterThan(40);
      for (const x of state.executions.filter((e) => !/probe\//.test(e.step))) expect(x.runs).toBe(1);
      expect(events.filter((e) => e.type === "warning" && e.code === "W_PROBE_FAILED")).toEqual([]);
      const progress = events.filter((e) => e.type === "progress" && e.connectionsSource !== undefined);
      expect(progress[0]?.type === "progress" && progress[0].connectionsSource).toBe(`probe: ${PROBE}`);
      // What was left when each drain ended (closed by the close command, or by the restart after a drain
      // that ran out its delay) is cut, counted by the engine from its probe readings as by the simulator.
      const m = sim.metrics();
      expect(m.cameras.cut).toBeGreaterThan(0);
      expect(result.finished.connections?.cut).toBe(m.cameras.cut);
      expect(m.cameras.refused).toBe(0);
      expect(m.invariantViolations).toEqual([]);
    } finally {
      aws.close();
      await sim.close();
    }
  }, 600_000);
});

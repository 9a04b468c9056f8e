/**
 * The fleet connectivity gate (`health.connectedDevices`), pure, part of `decide`: the devices
 * connected across the fleet — the sum of the connection readings — must stay at or above
 * `atLeast` of what the first reading of the rollout saw. Below it nothing new leaves service
 * (`gate.waiting connectedDevices`); back above, `gate.passed`; still below after `within`, the
 * failure action runs. It is checked on every tick with a fresh reading, so after the canary comes
 * back, before each new wave and, with `strategy: window`, continuously.
 *
 * Worked example: 180,000 connected at the start, `atLeast: 99%` → the bar is 178,200. A drain
 * displaces 3,000 and 2,500 have not reconnected after a minute: 177,500 < 178,200 → hold; if they
 * are not back within `within` (5 min) → pause / abort / rollback as `failures.action` says.
 */
import { formatDuration } from "../util/duration.js";
import type { DecideContext } from "./decide-context.js";
import type { RolloutEvent } from "./events.js";
import type { EngineState } from "./state.js";

/** Returns true when admissions must wait this tick. */
export function devicesGate(s: EngineState, ctx: DecideContext, events: RolloutEvent[]): boolean {
  const spec = ctx.plan.health.connectedDevices;
  const c = ctx.plan.capacity.connections;
  const g = s.global;
  if (!spec || !c || g.mode !== "running") return false;
  // Only a reading within maxAge counts (without one the capacity guard holds anyway).
  if (!ctx.connections || ctx.connectionsAt === undefined || ctx.now - ctx.connectionsAt > c.maxAgeMs)
    return g.devices?.lowSince !== undefined;
  let connected = 0;
  for (const v of Object.values(ctx.connections)) connected += v;
  if (!g.devices) {
    g.devices = { start: connected };
    return false;
  }
  const bar = Math.ceil(spec.atLeast * g.devices.start);
  const what = `${connected} devices connected, ${bar} needed (${Math.round(spec.atLeast * 1000) / 10}% of ${g.devices.start} at the start)`;
  if (connected >= bar) {
    if (g.devices.lowSince !== undefined) {
      g.devices = { start: g.devices.start };
      events.push({ type: "gate.passed", at: ctx.now, gate: "connectedDevices", message: what });
    }
    return false;
  }
  if (g.devices.lowSince === undefined) {
    g.devices = { start: g.devices.start, lowSince: ctx.now };
    events.push({
      type: "gate.waiting",
      at: ctx.now,
      gate: "connectedDevices",
      message: `${what}: starting nothing new for up to ${formatDuration(spec.withinMs)}`,
      until: ctx.now + spec.withinMs,
    });
    return true;
  }
  if (ctx.now - g.devices.lowSince > spec.withinMs) {
    const action = ctx.plan.rollout.failures.action;
    const reason = `connected devices did not recover within ${formatDuration(spec.withinMs)}: ${what}`;
    g.policy = { ...g.policy, action, reason };
    g.mode = action === "rollback" ? "rollingBack" : "stopping";
    events.push({
      type: "policy.triggered",
      at: ctx.now,
      action,
      failed: 0,
      maxFailed: ctx.maxFailed,
      reason,
    });
  }
  return true;
}

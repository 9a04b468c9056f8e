// The calls a naive per-instance poller would make on the same rollout, derived from the durations
// the simulator drew for every instance (GET /_sim/state `intrinsic`). Formula (bench/README.md):
//
//   per instance i, per cycle, with p = 5 s and G = target groups it is in:
//     Σ over its steps s  ( 1 SendCommand + ⌈d(i,s) / p⌉ GetCommandInvocation )
//   + G DeregisterTargets + G · ⌈drain(i) / p⌉ DescribeTargetHealth
//   + G RegisterTargets   + G · ⌈(health(i) + stableFor) / p⌉ DescribeTargetHealth
//
// d(i,s) is the step's drawn command time, drain(i) the time until its connections reached the
// drain threshold (or the delay ended), health(i) the time until it could first pass health checks.
// Every poll is at least one call (a 0.1 s command still costs one GetCommandInvocation).

export const NAIVE_POLL_MS = 5_000;

export function naivePollerCalls(intrinsic, { targetGroups, stableForMs, pollMs = NAIVE_POLL_MS }) {
  const polls = (ms) => Math.max(1, Math.ceil(ms / pollMs));
  const byAction = {
    SendCommand: 0,
    GetCommandInvocation: 0,
    DeregisterTargets: 0,
    RegisterTargets: 0,
    DescribeTargetHealth: 0,
  };
  let instances = 0;
  for (const i of intrinsic) {
    if (i.cycles === 0) continue;
    instances++;
    // Per cycle: the sums are over cycles, so spread them evenly (one cycle for nearly every instance).
    const c = i.cycles;
    for (const ms of Object.values(i.stepMs)) {
      byAction.SendCommand += c;
      byAction.GetCommandInvocation += c * polls(ms / c);
    }
    byAction.DeregisterTargets += c * targetGroups;
    byAction.RegisterTargets += c * targetGroups;
    byAction.DescribeTargetHealth +=
      c * targetGroups * (polls(i.drainMs / c) + polls(i.healthMs / c + stableForMs));
  }
  const total = Object.values(byAction).reduce((a, b) => a + b, 0);
  return {
    pollSeconds: pollMs / 1000,
    instances,
    total,
    perInstance: instances ? Math.round((total / instances) * 100) / 100 : 0,
    byAction,
  };
}

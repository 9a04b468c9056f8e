/**
 * Observe: the batched reads one tick needs, and only those. What is "due" comes from the state:
 *  - one DescribeTargetHealth per target group holding an instance whose check is due
 *    (its `checkAt` passed, its deadline passed, or the canary bake wants a look);
 *  - one ListCommandInvocations per outstanding command whose next poll is due;
 *  - one DescribeAlarms for the whole fleet when an instance is at the alarm gate or bake checks;
 *  - one batched GetMetricData when an admission or a connection-aware drain needs connections;
 *  - one DescribeInstances for suspect instances only (InvalidState, Undeliverable, call errors).
 * A read that fails (after the SDK's retries) is left out: nothing is decided on missing data.
 */
import type { AwsReader } from "../aws/types.js";
import type { Plan } from "../plan/types.js";
import { awaitsAdmission, batchingPays, wantsAdmission } from "./admit.js";
import { carriesDevices } from "./capacity.js";
import type { Observation } from "./decide-context.js";
import { paceVerdict } from "./pacing.js";
import type { ProbeReading, ProbeSource } from "./probe.js";
import { batchHolds, mergeStep, READ_SLACK_MS } from "./schedule.js";
import type { EngineState, InstanceRun } from "./state.js";
import type { WarningCode } from "./warnings.js";

export interface ObserveDeps {
  reader: AwsReader;
  plan: Plan;
  window: { maxUnavailable: number; perAz: Record<string, number> };
  pollMs: number;
  /** Instance ids whose connections feed the capacity check (the planned fleet). */
  fleetIds: string[];
  drainByConnections: boolean;
  /**
   * With the built-in connection drain: re-read a draining instance's groups only once the metric
   * says it is drained, or its deregistration delay can be over (not every poll for 300 s).
   */
  drainGate?: {
    untilConnections: number;
    drainDelayMs: Record<string, number>;
    /** Per group: how long after deregistration the drain predicate cannot be true yet (NLB grace). */
    graceMs?: Record<string, number>;
  };
  warn: (code: WarningCode, message: string) => void;
  /** How late a health read may be while batching pays (default `READ_SLACK_MS`). */
  readSlackMs?: number;
  /** How long a batchable call may wait while batching pays (default `BATCH_HOLD_MS`), for the sleep. */
  batchHoldMs?: number;
  /** The probe connection source (`capacity.connections.probe`): rounds of SSM commands in flight. */
  probe?: ProbeSource;
}

/** Connections cache shared across ticks: a metric is read at most once per poll interval. */
export interface ConnectionCache {
  values?: Record<string, number>;
  at?: number;
  /** The last read failed with this (cleared by the next good read). */
  error?: string | undefined;
  /**
   * Probe source: when each instance's value was taken (a round's SendCommand), where a drain round
   * read it after the last fleet round. `at` stays the fleet round's: admissions judge the whole load.
   */
  instAt?: Record<string, number>;
}

/** Datapoints are per minute: reading the metric more often than this buys nothing (maxAge permitting). */
const METRIC_MAX_AGE_MS = 30_000;
const HEALTH_PHASES = new Set(["draining", "registering", "warming"]);
const ALL_STATES = ["pending", "running", "shutting-down", "terminated", "stopping", "stopped"];

/**
 * Reads happen when something is due, not on a grid (schedule.ts decides the due times): one read of
 * a group judges every instance in it, so instances that move together are still read together.
 */
function healthDue(i: InstanceRun, now: number, slackMs: number): boolean {
  if (i.need) return false;
  if (i.doorHeld) return (i.checkAt ?? 0) <= now;
  if (HEALTH_PHASES.has(i.phase)) {
    if (i.atAlarmGate || i.step === "close") return false; // closing: its command is polled instead
    return (i.checkAt ?? 0) + slackMs <= now || (i.deadline !== undefined && i.deadline < now);
  }
  return i.phase === "failed" && i.out && i.checkAt !== undefined && i.checkAt + slackMs <= now;
}

/**
 * How late a health read may be: `READ_SLACK_MS` while batching pays (reads falling due within it
 * share one DescribeTargetHealth per group, and one read judges every instance in the group), else 0.
 */
function readSlack(s: EngineState, deps: ObserveDeps): number {
  return batchingPays(s) ? (deps.readSlackMs ?? READ_SLACK_MS) : 0;
}

export async function observe(
  s: EngineState,
  now: number,
  deps: ObserveDeps,
  cache: ConnectionCache,
): Promise<Observation> {
  const obs: Observation = { at: now, health: {}, commands: {} };
  const groups = new Set<string>();
  const suspects: string[] = [];
  let alarms = false;
  const draining: InstanceRun[] = [];
  const slack = readSlack(s, deps);
  for (const i of Object.values(s.instances)) {
    if (healthDue(i, now, slack)) {
      if (i.phase === "draining") draining.push(i);
      else for (const t of i.targets) groups.add(t.arn);
    }
    if (i.atAlarmGate) alarms = true;
    if (i.suspect && !i.ec2Checked) suspects.push(i.id);
  }
  // Connections first (when needed): they decide which draining instances are worth a health read.
  // Only a drain that can end now needs them (an NLB drain cannot before its grace).
  await readConnections(
    s,
    now,
    deps,
    cache,
    obs,
    draining.filter((i) => drainCanEnd(i, now, deps)),
  );
  for (const i of draining) {
    if (drainHealthWanted(i, now, deps, obs.connections, slack)) for (const t of i.targets) groups.add(t.arn);
  }
  const c = s.global.canary;
  if (c.wave !== null && c.bakeUntil !== undefined && !c.baked && (c.nextBakeCheckAt ?? 0) <= now) {
    for (const id of s.global.waves.find((w) => w.index === c.wave)?.ids ?? []) {
      const i = s.instances[id];
      if (i?.phase === "done") for (const t of i.targets) groups.add(t.arn);
    }
    alarms = true;
  }
  const jobs: Promise<void>[] = [];
  const guard = async (what: string, f: () => Promise<void>) => {
    try {
      await f();
    } catch (e) {
      deps.warn("W_OBSERVE_FAILED", `${what} failed, retrying next tick: ${(e as Error).message}`);
    }
  };
  for (const arn of groups) {
    jobs.push(
      guard(`DescribeTargetHealth ${arn}`, async () => {
        const rows = await deps.reader.describeTargetHealth(arn);
        const m: Observation["health"][string] = {};
        for (const r of rows) m[r.id] = r;
        obs.health[arn] = m;
      }),
    );
  }
  const overdue = new Set<string>();
  for (const i of Object.values(s.instances)) {
    if (i.commandId && i.deadline !== undefined && i.deadline < now) overdue.add(i.commandId);
  }
  for (const cmd of Object.values(s.global.commands)) {
    if (cmd.nextPollAt > now && !overdue.has(cmd.id)) continue;
    jobs.push(
      guard(`ListCommandInvocations ${cmd.id}`, async () => {
        const rows = await deps.reader.listCommandInvocations(cmd.id);
        const m: Observation["commands"][string] = {};
        for (const r of rows) m[r.instanceId] = r;
        obs.commands[cmd.id] = m;
      }),
    );
  }
  if (alarms && deps.plan.health.alarms.length > 0) {
    jobs.push(
      guard("DescribeAlarms", async () => {
        obs.alarms = await deps.reader.describeAlarms(deps.plan.health.alarms);
      }),
    );
  } else if (alarms) obs.alarms = [];
  if (suspects.length > 0) {
    jobs.push(
      guard("DescribeInstances", async () => {
        const rows = await deps.reader.describeInstances({ instanceIds: suspects, states: ALL_STATES });
        const m: Record<string, string> = {};
        for (const id of suspects) m[id] = "absent";
        for (const r of rows) m[r.id] = r.state;
        obs.ec2 = m;
      }),
    );
  }
  await Promise.all(jobs);
  return obs;
}

/**
 * The connection reading, kept fresh enough for every admission: read (one batched GetMetricData,
 * ≤ 500 ids a call) when a draining instance or an admission needs it and the cache is older than
 * the poll interval or `maxAge`; and, while instances wait for a slot, before the cache turns older
 * than `maxAge − pollMs`, since a slot can free up within the tick. The query only looks back
 * `maxAge` plus one period, so a datapoint older than that counts as missing.
 */
async function readConnections(
  s: EngineState,
  now: number,
  deps: ObserveDeps,
  cache: ConnectionCache,
  obs: Observation,
  draining: InstanceRun[],
): Promise<void> {
  const c = deps.plan.capacity.connections;
  const src = c?.source;
  if (c && src?.kind === "probe") return readProbe(s, now, deps, cache, obs, draining, c.maxAgeMs);
  if (!c || src?.kind !== "metric") return;
  const drainingDue = draining.length > 0;
  const age = cache.at === undefined ? Number.POSITIVE_INFINITY : now - cache.at;
  const refresh = Math.max(deps.pollMs, METRIC_MAX_AGE_MS);
  // A drain may end this tick: what is left on the instance then is counted as cut, so the
  // reading must postdate the drain's start.
  // (At most once a poll interval: a drain shorter than that may end with its cut unknown.)
  const sinceDrain =
    age >= deps.pollMs && draining.some((i) => cache.at === undefined || cache.at < i.phaseSince);
  const wanted = drainingDue || wantsAdmission(s, deps);
  const due =
    (wanted && age >= Math.min(refresh, c.maxAgeMs)) ||
    sinceDrain ||
    (awaitsAdmission(s) && age >= Math.max(0, c.maxAgeMs - deps.pollMs));
  if (due) {
    try {
      const periodSeconds = 60;
      const values = await deps.reader.getInstanceMetric({
        namespace: src.namespace,
        metricName: src.name,
        dimension: src.dimension,
        statistic: src.statistic,
        instanceIds: deps.fleetIds,
        periodSeconds,
        start: new Date(now - c.maxAgeMs - periodSeconds * 1000),
        end: new Date(now + 1000),
      });
      cache.values = values;
      cache.at = now;
      cache.error = undefined;
    } catch (e) {
      cache.error = (e as Error).message;
      deps.warn("W_OBSERVE_FAILED", `GetMetricData failed, retrying next tick: ${cache.error}`);
    }
  }
  // A reading older than a drain's start would say nothing about it (the read failed): leave it out.
  const predates = draining.some((i) => cache.at === undefined || cache.at < i.phaseSince);
  if (cache.values && drainingDue && !predates) obs.connections = cache.values;
}

/** A probe round answers within a few seconds: start the fleet's this long before the reading expires. */
const PROBE_LEAD_MS = 10_000;

/**
 * The probe source (probe.ts): fold the rounds that finished into the cache, then start what is
 * needed, one round of each kind at a time:
 *  - a fleet round (every instance that carries devices) when an admission is possible (a slot is
 *    free) and the cached reading would be older than `maxAge` by the time the next poll could use it;
 *  - a drain round for the draining instances whose check is due, once their NLB grace is over (the
 *    drain predicate cannot be true before), without a reading taken within the last poll interval.
 * Draining instances get their value in `obs.connections` only when it was taken after their drain
 * started, as with the metric.
 */
async function readProbe(
  s: EngineState,
  now: number,
  deps: ObserveDeps,
  cache: ConnectionCache,
  obs: Observation,
  draining: InstanceRun[],
  maxAgeMs: number,
): Promise<void> {
  const probe = deps.probe;
  if (!probe) return;
  for (const r of await probe.poll(now)) foldProbe(cache, r);
  const age = cache.at === undefined ? Number.POSITIVE_INFINITY : now - cache.at;
  // Only when a slot is free (not while the window is full, as the metric is): a round costs
  // 2 calls per 50 instances, and the admission waits the few seconds it takes to answer.
  const wanted = wantsAdmission(s, deps);
  const jobs: Promise<void>[] = [];
  const send = (kind: "fleet" | "drain", ids: string[]) =>
    jobs.push(
      probe.start(kind, ids, now).catch((e: unknown) => {
        if (kind === "fleet") cache.error = (e as Error).message;
        deps.warn("W_OBSERVE_FAILED", `${(e as Error).message}; retrying next tick`);
      }),
    );
  if (wanted && !probe.inFlight("fleet") && age >= Math.max(0, maxAgeMs - deps.pollMs - PROBE_LEAD_MS)) {
    send(
      "fleet",
      Object.values(s.instances)
        .filter(carriesDevices)
        .sort((a, b) => a.seq - b.seq)
        .map((i) => i.id),
    );
  }
  const readAt = (i: InstanceRun) => cache.instAt?.[i.id] ?? cache.at ?? Number.NEGATIVE_INFINITY;
  const drainIds = draining
    .filter(
      (i) =>
        now >= i.phaseSince + (deps.drainGate ? drainGraceMs(i, deps.drainGate) : 0) &&
        (readAt(i) < i.phaseSince || now - readAt(i) >= deps.pollMs) &&
        !probe.inFlight("drain", i.id) &&
        !probe.inFlight("fleet", i.id),
    )
    .map((i) => i.id);
  if (drainIds.length > 0) send("drain", drainIds);
  await Promise.all(jobs);
  if (cache.values && draining.length > 0) {
    const conns = { ...cache.values };
    for (const i of draining) if (readAt(i) < i.phaseSince) delete conns[i.id];
    obs.connections = conns;
  }
}

/** A finished round into the cache: per instance, the newer value wins; a fleet round dates the load. */
function foldProbe(cache: ConnectionCache, r: ProbeReading): void {
  const values = cache.values ? { ...cache.values } : {};
  const instAt = { ...(cache.instAt ?? {}) };
  if (r.kind === "fleet") {
    // Instances the round left out no longer carry devices: they count only what they report.
    const asked = new Set(r.ids);
    for (const id of Object.keys(values)) if (!asked.has(id) && (instAt[id] ?? -1) < r.at) delete values[id];
  }
  for (const id of r.ids) {
    if ((instAt[id] ?? cache.at ?? Number.NEGATIVE_INFINITY) > r.at) continue;
    const v = r.values[id];
    if (v === undefined) delete values[id];
    else values[id] = v;
    instAt[id] = r.at;
  }
  cache.values = values;
  cache.instAt = instAt;
  if (r.kind === "fleet") {
    cache.at = r.at;
    cache.error = undefined;
  }
}

/** Is a health read of this draining instance useful now? Always, unless the drain gate says not yet. */
function drainHealthWanted(
  i: InstanceRun,
  now: number,
  deps: ObserveDeps,
  conns: Record<string, number> | undefined,
  slackMs: number,
): boolean {
  const gate = deps.drainGate;
  if (!gate) return true;
  if (i.deadline !== undefined && i.deadline < now) return true;
  const delay = Math.max(0, ...i.targets.map((t) => gate.drainDelayMs[t.arn] ?? 300_000));
  if (now >= i.phaseSince + delay + slackMs) return true;
  if (now < i.phaseSince + drainGraceMs(i, gate) + slackMs) return false;
  const n = conns?.[i.id];
  return n === undefined || n <= gate.untilConnections;
}

/** Can this drain end now: no NLB grace left, or its deadline or deregistration delay has passed? */
function drainCanEnd(i: InstanceRun, now: number, deps: ObserveDeps): boolean {
  const gate = deps.drainGate;
  if (!gate) return true;
  if (i.deadline !== undefined && i.deadline < now) return true;
  const delay = Math.max(0, ...i.targets.map((t) => gate.drainDelayMs[t.arn] ?? 300_000));
  return now >= i.phaseSince + Math.min(delay, drainGraceMs(i, gate));
}

function drainGraceMs(i: InstanceRun, gate: NonNullable<ObserveDeps["drainGate"]>): number {
  return Math.max(0, ...i.targets.map((t) => gate.graceMs?.[t.arn] ?? 0));
}

/**
 * The earliest time a read or a decision is due: the runner sleeps until then (bounded by its tick,
 * which also retries failed calls). Mirrors what `observe` reads and what `decide` waits for.
 */
export function nextDueAt(
  s: EngineState,
  now: number,
  deps: ObserveDeps,
  connections?: Record<string, number>,
): number {
  let due = Number.POSITIVE_INFINITY;
  const at = (t: number | undefined) => {
    if (t !== undefined && t < due) due = t;
  };
  const batching = batchingPays(s);
  const slack = readSlack(s, deps);
  const step = mergeStep(deps.plan.steps.close !== null);
  at(batchHolds(Object.values(s.instances), now, batching, step, deps.batchHoldMs).releaseAt);
  for (const i of Object.values(s.instances)) {
    if (i.suspect && !i.ec2Checked) at(now);
    if (i.need) continue;
    if (i.atAlarmGate) at(now);
    else if (i.doorHeld) at(i.checkAt);
    else if (i.step !== "close" && (HEALTH_PHASES.has(i.phase) || (i.phase === "failed" && i.out))) {
      let t = i.checkAt;
      if (t !== undefined && i.phase === "draining" && deps.drainGate)
        t = Math.max(t, i.phaseSince + drainGraceMs(i, deps.drainGate));
      at(t === undefined ? t : t + slack);
    }
    if (i.deadline !== undefined && !(i.phase === "done" || i.phase === "pending")) at(i.deadline + 1);
  }
  for (const c of Object.values(s.global.commands)) at(c.nextPollAt);
  if (deps.probe) at(deps.probe.nextDueAt());
  const c = s.global.canary;
  if (c.wave !== null && c.bakeUntil !== undefined && !c.baked) {
    at(c.nextBakeCheckAt);
    at(c.bakeUntil);
  }
  // A paced admission: wake when the token bucket lets the next instance go.
  const perMinute = deps.plan.capacity.connections?.maxDisplacedPerMinute ?? null;
  if (perMinute !== null && connections && wantsAdmission(s, deps)) {
    let next: InstanceRun | undefined;
    for (const i of Object.values(s.instances))
      if (i.phase === "pending" && (!next || i.seq < next.seq)) next = i;
    if (next) {
      const v = paceVerdict(s.global, now, connections[next.id] ?? 0, perMinute);
      if (!v.admit) at(v.retryAt);
    }
  }
  return due;
}

/**
 * Validated input → the `Plan` the rest of rollwave consumes: durations in ms, sizes parsed,
 * defaults filled in, variables interpolated. Only called once the input has no errors.
 */
import { parseDuration } from "../util/duration.js";
import { parseS3Url } from "../util/s3-url.js";
import { parseSize, type Size } from "../util/size.js";
import { percentFraction } from "./raw.js";
import type { PlanInput } from "./schema.js";
import type { Plan, StepSpec, TagSelector, VarSpec } from "./types.js";
import { interpolate } from "./vars.js";

/** Every default, in one place (docs/plan-format.md lists the same values). */
const PLAN_DEFAULTS = {
  suspendProcesses: ["AZRebalance", "ReplaceUnhealthy", "Terminate", "ScheduledActions", "InstanceRefresh"],
  notReady: "skip",
  canaryBakeMs: 0,
  canaryApprove: false,
  strategy: "window",
  maxFailed: { kind: "count", count: 0 } as Size,
  failureAction: "pause",
  failedInstances: "keepOut",
  stepTimeoutMs: 10 * 60_000,
  // Above the target-group default deregistration delay (300 s), so a plain drain can finish.
  drainTimeoutMs: 6 * 60_000,
  targetHealthyTimeoutMs: 5 * 60_000,
  stableForMs: 0,
  headroom: 0.1,
  connectionsMaxAgeMs: 2 * 60_000,
  statistic: "Maximum",
  lockStaleAfterMs: 5 * 60_000,
} as const;

export function normalizePlan(input: PlanInput, values: Record<string, string>): Plan {
  const vars: Record<string, VarSpec> = declaredVars(input);
  const names = Object.keys(vars);
  const cmd = (c: string) => interpolate(c, names, values).text;
  const cmds = (c: string | string[]) => (typeof c === "string" ? [c] : c).map(cmd);
  const step = (
    s: { commands: string | string[]; timeout?: string | number } | undefined,
  ): StepSpec | null =>
    s ? { commands: cmds(s.commands), timeoutMs: dur(s.timeout, PLAN_DEFAULTS.stepTimeoutMs) } : null;

  const r = input.rollout;
  const maxUnavailable = size(r.maxUnavailable);
  const conn = input.capacity?.connections;
  const drainTimeoutMs = dur(input.drain?.timeout, PLAN_DEFAULTS.drainTimeoutMs);
  const preCommand = input.drain?.preCommand;

  return {
    version: 1,
    name: input.name,
    region: input.region ?? null,
    guard: { account: input.guard?.account ?? null },
    lock: {
      store: input.lock?.store ?? "ssm",
      parameter: input.lock?.parameter ?? `/rollwave/locks/${input.name}`,
      staleAfterMs: dur(input.lock?.staleAfter, PLAN_DEFAULTS.lockStaleAfterMs),
    },
    journal: s3Location(input.journal),
    vars,
    values,
    fleet: {
      select: selector(input.fleet.select),
      exclude: selector(input.fleet.exclude ?? {}),
      targetGroups: input.fleet.targetGroups ?? [],
      autoScaling: {
        suspendProcesses: [...(input.fleet.autoScaling?.suspendProcesses ?? PLAN_DEFAULTS.suspendProcesses)],
      },
      notReady: input.fleet.notReady ?? PLAN_DEFAULTS.notReady,
    },
    rollout: {
      canary: r.canary
        ? {
            size: size(r.canary.size),
            bakeMs: dur(r.canary.bake, PLAN_DEFAULTS.canaryBakeMs),
            approve: r.canary.approve ?? PLAN_DEFAULTS.canaryApprove,
          }
        : null,
      waves: r.waves ? r.waves.map(size) : [maxUnavailable],
      strategy: r.strategy ?? PLAN_DEFAULTS.strategy,
      maxUnavailable,
      maxUnavailablePerAz: r.maxUnavailablePerAz === undefined ? null : size(r.maxUnavailablePerAz),
      failures: {
        maxFailed: r.failures?.maxFailed === undefined ? PLAN_DEFAULTS.maxFailed : size(r.failures.maxFailed),
        action: r.failures?.action ?? PLAN_DEFAULTS.failureAction,
        failedInstances: r.failures?.failedInstances ?? PLAN_DEFAULTS.failedInstances,
      },
      seed: r.seed ?? seedFromName(input.name),
    },
    capacity: {
      connections: conn
        ? {
            source: conn.metric
              ? {
                  kind: "metric",
                  namespace: conn.metric.namespace,
                  name: conn.metric.name,
                  dimension: conn.metric.dimension,
                  statistic: conn.metric.statistic ?? PLAN_DEFAULTS.statistic,
                }
              : { kind: "probe", command: cmd(conn.probe?.command ?? "") },
            perInstanceLimit: conn.perInstanceLimit,
            headroom:
              conn.headroom === undefined ? PLAN_DEFAULTS.headroom : percentFraction(String(conn.headroom)),
            maxDisplacedPerMinute: conn.maxDisplacedPerMinute ?? null,
            maxAgeMs: dur(conn.maxAge, PLAN_DEFAULTS.connectionsMaxAgeMs),
            perAz: conn.perAz ?? false,
          }
        : null,
    },
    drain: { untilConnections: input.drain?.until?.connections ?? null, timeoutMs: drainTimeoutMs },
    steps: {
      preDrain: preCommand === undefined ? null : { commands: cmds(preCommand), timeoutMs: drainTimeoutMs },
      close:
        input.drain?.closeCommand === undefined
          ? null
          : { commands: cmds(input.drain.closeCommand), timeoutMs: drainTimeoutMs },
      deploy: step(input.steps.deploy) as StepSpec,
      validate: step(input.steps.validate),
      rollback: step(input.steps.rollback),
    },
    health: {
      targetHealthyTimeoutMs: dur(input.health?.targetHealthy?.timeout, PLAN_DEFAULTS.targetHealthyTimeoutMs),
      stableForMs: dur(input.health?.stableFor, PLAN_DEFAULTS.stableForMs),
      alarms: input.health?.alarms ?? [],
      connectedDevices: input.health?.connectedDevices
        ? {
            atLeast: percentFraction(String(input.health.connectedDevices.atLeast)),
            withinMs: dur(input.health.connectedDevices.within, 5 * 60_000),
          }
        : null,
    },
  };
}

/** `required` defaults to true unless the variable has a default. `release:` alone is required. */
export function declaredVars(input: Pick<PlanInput, "vars">): Record<string, VarSpec> {
  const out: Record<string, VarSpec> = {};
  for (const [name, d] of Object.entries(input.vars ?? {})) {
    const spec: VarSpec = { required: d?.required ?? d?.default === undefined };
    if (d?.pattern !== undefined) spec.pattern = d.pattern;
    if (d?.default !== undefined) spec.default = d.default;
    if (d?.description !== undefined) spec.description = d.description;
    out[name] = spec;
  }
  return out;
}

/**
 * The default seed: FNV-1a of the plan name, so a plan orders its instances the same way on every
 * run (and `plan` previews the very canaries `deploy` will pick) without the user choosing a seed.
 */
function seedFromName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function selector(s: TagSelector): TagSelector {
  const out: TagSelector = {};
  if (s.tags && Object.keys(s.tags).length) out.tags = { ...s.tags };
  if (s.autoScalingGroups?.length) out.autoScalingGroups = [...s.autoScalingGroups];
  if (s.instanceIds?.length) out.instanceIds = [...s.instanceIds];
  return out;
}

function size(v: string | number): Size {
  const s = parseSize(v);
  if (!s) throw new Error(`unvalidated size ${String(v)}`);
  return s;
}

function dur(v: string | number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v === "number") return v; // only 0 passes validation
  const ms = parseDuration(v);
  if (ms === undefined) throw new Error(`unvalidated duration ${v}`);
  return ms;
}

/** The plan's `journal:` (validated by the schema) as bucket and prefix. */
function s3Location(text: string | undefined): { bucket: string; prefix: string } | null {
  if (text === undefined) return null;
  const parsed = parseS3Url(text);
  return "error" in parsed ? null : parsed;
}

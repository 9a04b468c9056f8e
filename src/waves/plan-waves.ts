/**
 * The pure wave planner: (fleet, plan) → WavePlan. No I/O, no clock, no Math.random: the same
 * fleet and `rollout.seed` always give the same waves, whatever order the instances came in.
 *
 * Worked example (test/waves/plan-waves.test.ts): 1,000 instances in AZs 400/350/250, canary
 * `1/az`, waves `[2%, 5%, 10%]`, `maxUnavailable: 10%`, `maxUnavailablePerAz: 12%`:
 *   window 100, per AZ 48/42/30
 *   wave 0 canary  3  (1/1/1)
 *   wave 1 batch  20  (8/7/5)      2% of 1,000
 *   wave 2 batch  50  (20/18/12)   5%
 *   wave 3 batch 100  (40/35/25)   10%, and then 10% again until all 1,000 are planned.
 *
 * Errors are collected (all of them, not the first) and thrown as one `InputError`, so a plan that
 * cannot run on this fleet never reaches AWS; warnings are returned in `WavePlan.warnings`.
 */
import type { Fleet } from "../fleet/types.js";
import { InputError, type InputIssue, type Plan } from "../plan/types.js";
import { formatSize, resolveSize, type Size } from "../util/size.js";
import { checkFleetShape } from "./fleet-checks.js";
import { type AzQueue, buildQueues, draw, remaining } from "./interleave.js";
import { examples, partitionByReadiness } from "./readiness.js";
import type { Wave, WavePlan } from "./types.js";
import { type Findings, isZero, type ResolvedWindow, resolveWindow } from "./window.js";

interface PlanWavesOptions {
  /** `InputIssue.source` for the errors: the plan file path when the caller has one. Default `fleet`. */
  source?: string;
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/**
 * Plan the waves. Throws `InputError` (every issue, code E_INPUT, exit 2 in the CLI) when the plan
 * cannot run on this fleet: duplicate instance ids, nothing to roll, `fleet.notReady: fail` with
 * unready instances, a zero window or wave size, a canary larger than the window.
 */
export function planWaves(
  fleet: Fleet,
  plan: Pick<Plan, "rollout" | "fleet">,
  options: PlanWavesOptions = {},
): WavePlan {
  const source = options.source ?? "fleet";
  const issues: InputIssue[] = [];
  const warnings: string[] = [];
  const findings: Findings = {
    error: (path, message, hint) =>
      issues.push({ severity: "error", source, path, message, ...(hint ? { hint } : {}) }),
    warn: (message) => warnings.push(message),
  };

  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const i of fleet.instances) (seen.has(i.id) ? dups : seen).add(i.id);
  if (dups.size > 0) {
    findings.error("instances", `instance id(s) listed more than once: ${examples([...dups].sort())}`);
  }

  const { planned, skipped } = partitionByReadiness(fleet.instances, plan.fleet.notReady, findings);
  checkFleetShape(fleet, planned, findings);
  if (fleet.instances.length === 0) {
    findings.error("fleet.select", "the fleet selection matched no instances", "check fleet.select tags");
  } else if (planned.length === 0 && issues.length === 0) {
    findings.error(
      "fleet.notReady",
      `all ${fleet.instances.length} selected instance(s) were skipped as not ready: nothing to roll`,
      "see the skipped list; fleet.notReady: include plans them anyway",
    );
  }

  const queues = buildQueues(dups.size > 0 ? dedupe(planned) : planned, plan.rollout.seed);
  const azs: Record<string, number> = {};
  for (const q of queues) azs[q.az] = q.instances.length;
  const total = sum(queues.map((q) => q.instances.length));
  const window = resolveWindow(plan.rollout, new Map(Object.entries(azs)), total, findings);

  const waves: Wave[] = [];
  if (total > 0) {
    const canary = planCanary(plan.rollout.canary?.size ?? null, queues, total, window, findings);
    if (canary.length > 0) {
      waves.push({ index: 0, kind: "canary", instances: canary });
      if (canary.length === total) {
        findings.warn(`the canary takes all ${total} instance(s): there are no batch waves after it`);
      }
    }
    for (const instances of planBatches(plan.rollout.waves, queues, total, window, findings)) {
      waves.push({ index: waves.length, kind: "batch", instances });
    }
  }

  if (issues.length > 0) {
    throw new InputError([
      ...issues,
      ...warnings.map((message): InputIssue => ({ severity: "warning", source, message })),
    ]);
  }
  return {
    waves,
    skipped,
    window: { maxUnavailable: window.maxUnavailable, perAz: window.perAz },
    maxFailed: window.maxFailed,
    azs,
    warnings,
  };
}

function dedupe<T extends { id: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => !seen.has(i.id) && seen.add(i.id));
}

function capOf(window: ResolvedWindow, q: AzQueue): number {
  return window.perAz[q.az] ?? 0;
}

/** The canary wave's instances, or [] when there is no canary (or it is invalid: error recorded). */
function planCanary(
  size: Size | null,
  queues: AzQueue[],
  total: number,
  window: ResolvedWindow,
  findings: Findings,
) {
  if (!size) return [];
  const path = "rollout.canary.size";
  if (isZero(size)) {
    findings.error(path, "a canary of 0 instances", "remove rollout.canary to roll without a canary");
    return [];
  }
  let count: number;
  let limits: number[];
  let ok = true;
  if (size.kind === "perAz") {
    // `N/az` takes N from every AZ (all of a smaller AZ), wherever the proportional order would go.
    limits = queues.map((q) => Math.min(size.count, q.instances.length));
    count = sum(limits);
    const over = queues.filter((q, k) => (limits[k] as number) > capOf(window, q));
    if (over.length > 0) {
      ok = false;
      findings.error(
        path,
        `canary ${formatSize(size)} takes more of ${examples(over.map((q) => `${q.az} (window ${capOf(window, q)})`))} than maxUnavailablePerAz lets out at once`,
        "make the canary smaller or maxUnavailablePerAz larger",
      );
    }
  } else {
    count = resolveSize(size, total, queues.length);
    limits = queues.map((q) => capOf(window, q));
    const room = sum(queues.map((q) => Math.min(capOf(window, q), q.instances.length)));
    if (count > room && count <= window.maxUnavailable) {
      ok = false;
      findings.error(
        path,
        `canary ${formatSize(size)} is ${count} instance(s), but maxUnavailablePerAz lets only ${room} out at once across all AZs`,
        "make the canary smaller or maxUnavailablePerAz larger",
      );
    }
  }
  if (count > window.maxUnavailable) {
    ok = false;
    findings.error(
      path,
      `canary ${formatSize(size)} is ${count} instance(s), larger than the window (maxUnavailable ${window.maxUnavailable})`,
      "make the canary smaller or maxUnavailable larger",
    );
  }
  return ok ? draw(queues, count, limits) : [];
}

/**
 * Batch waves: the listed sizes in order, the last repeating until every instance is planned.
 * Each wave takes min(listed size, window, what the per-AZ caps allow of what is left); for `N/az`
 * the listed size is N from each AZ that still has instances.
 */
function planBatches(
  sizes: Size[],
  queues: AzQueue[],
  total: number,
  window: ResolvedWindow,
  findings: Findings,
) {
  const W = window.maxUnavailable;
  sizes.forEach((s, j) => {
    if (isZero(s)) findings.error(`rollout.waves[${j}]`, `a wave of ${formatSize(s)} instances never ends`);
  });
  // No sizes listed: every batch is a full window.
  const list = sizes.length > 0 ? sizes : [{ kind: "count", count: W } satisfies Size];
  const capRoom = sum(queues.map((q) => Math.min(capOf(window, q), q.instances.length)));
  const warned = new Set<number>();
  const out = [];
  for (let j = 0; queues.some((q) => remaining(q) > 0); j++) {
    const li = Math.min(j, list.length - 1);
    const s = list[li] as Size;
    let listed: number;
    let limits: number[];
    // wanted: what this size means on the full fleet; most: what the window lets one wave take.
    let wanted: number;
    let most: number;
    if (s.kind === "perAz") {
      listed = s.count * queues.length;
      limits = queues.map((q) => Math.min(s.count, capOf(window, q), remaining(q)));
      wanted = sum(queues.map((q) => Math.min(s.count, q.instances.length)));
      most = Math.min(W, sum(queues.map((q) => Math.min(s.count, capOf(window, q)))));
    } else {
      listed = resolveSize(s, total, queues.length);
      limits = queues.map((q) => Math.min(capOf(window, q), remaining(q)));
      wanted = listed;
      most = Math.min(W, capRoom);
    }
    if (most < wanted && !warned.has(li)) {
      warned.add(li);
      const why = wanted > W ? `maxUnavailable is ${W}` : `maxUnavailablePerAz allows ${most}`;
      findings.warn(
        `wave size ${formatSize(s)} (${wanted} instance(s)) is more than the window allows (${why}); those waves take at most ${most}`,
      );
    }
    const wave = draw(queues, Math.min(listed, W), limits);
    if (wave.length === 0) throw new Error("wave planner made no progress (bug): every AZ is capped at 0");
    out.push(wave);
  }
  return out;
}

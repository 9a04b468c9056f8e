/**
 * The final summary every output mode except json ends with: how it ended, what happened to the
 * instances, how long it took, what it cost in AWS calls, and (with --simulate) what the cameras saw.
 *
 *   rollout succeeded in 41m12s
 *     instances   1000 total · 998 succeeded · 0 failed · 2 skipped · 0 rolled back
 *     API calls   2841 (2.8 per instance)
 *       ELBv2.DescribeTargetHealth     1200
 *     connections 180000 displaced · 37 cut on 2 instances
 *     cameras     180000 · min connected 179100 (99.50%) · refused 12 · p99 disconnect 14s …
 */
import type { ChalkInstance } from "chalk";
import type { RolloutEvent, RolloutStatus } from "../engine/events.js";
import { formatDuration } from "../util/duration.js";
import type { InstanceOutcome } from "./outcomes.js";

export type FinishedEvent = Extract<RolloutEvent, { type: "rollout.finished" }>;

export function statusColor(chalk: ChalkInstance, status: RolloutStatus): (s: string) => string {
  switch (status) {
    case "succeeded":
      return chalk.green;
    case "paused":
      return chalk.yellow;
    default:
      return chalk.red;
  }
}

export function formatSummary(
  e: FinishedEvent,
  chalk: ChalkInstance,
  opts: {
    name?: string /** Throttling errors seen (from aws.throttled events), all retried. */;
    throttled?: number;
    /** Instances that did not end done (from the outcome tracker); listed up to `maxProblems`. */
    problems?: InstanceOutcome[];
    maxProblems?: number;
  } = {},
): string {
  const color = statusColor(chalk, e.status);
  const title = opts.name ? `rollout ${opts.name}` : "rollout";
  const lines: string[] = [];
  lines.push(chalk.bold(`${title} ${color(e.status)} in ${formatDuration(e.durationSeconds * 1000)}`));
  if (e.reason) lines.push(`  reason      ${e.reason}`);
  const c = e.instances;
  lines.push(
    `  instances   ${c.total} total · ${c.succeeded} succeeded · ${c.failed} failed · ${c.skipped} skipped · ${c.rolledBack} rolled back`,
  );
  const problems = opts.problems ?? [];
  const shown = problems.slice(0, opts.maxProblems ?? 25);
  const idWidth = Math.max(0, ...shown.map((p) => p.id.length));
  const azWidth = Math.max(0, ...shown.map((p) => p.az.length));
  for (const p of shown) {
    const label =
      p.outcome === "failed" ? chalk.red("failed ") : p.outcome === "skipped" ? "skipped" : "rolled ";
    const where = p.outcome === "failed" ? `in ${p.phase}: ` : "";
    // One row per instance: a multi-line reason (stderr) is folded onto the row.
    const reason = p.reason.trim().split(/\r?\n/).join(" | ");
    lines.push(`    ${label} ${p.id.padEnd(idWidth)}  ${p.az.padEnd(azWidth)}  ${where}${reason}`);
  }
  if (problems.length > shown.length) {
    lines.push(
      `    … and ${problems.length - shown.length} more (every one is in the journal and the json events)`,
    );
  }
  const perInstance = c.total > 0 ? ` (${(e.apiCalls.total / c.total).toFixed(1)} per instance)` : "";
  const throttled = opts.throttled ? ` · ${opts.throttled} throttled and retried` : "";
  lines.push(`  API calls   ${e.apiCalls.total}${perInstance}${throttled}`);
  const actions = Object.entries(e.apiCalls.byAction).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const width = Math.max(0, ...actions.map(([k]) => k.length));
  for (const [action, n] of actions) lines.push(`    ${action.padEnd(width)}  ${String(n).padStart(7)}`);
  if (e.connections) {
    const k = e.connections;
    const on = Object.keys(k.cutPerInstance).length;
    lines.push(
      `  connections ${k.displaced} displaced · ${k.cut} cut${on > 0 ? ` on ${on} instance${on === 1 ? "" : "s"}` : ""}`,
    );
  }
  if (e.sim) {
    const s = e.sim;
    const pct =
      s.cameras.total > 0 ? ` (${((100 * s.cameras.minConnected) / s.cameras.total).toFixed(2)}%)` : "";
    lines.push(
      `  cameras     ${s.cameras.total} · min connected ${s.cameras.minConnected}${pct} · refused ${s.cameras.refused}${s.cameras.cut ? ` · cut ${s.cameras.cut} (drain.closeCommand)` : ""} · p99 disconnect ${formatDuration(s.cameras.p99DisconnectSeconds * 1000)} · ${s.cameras.reconnectsPerCamera.toFixed(2)} reconnects/camera`,
    );
    const violations =
      s.invariantViolations > 0 ? chalk.red(String(s.invariantViolations)) : String(s.invariantViolations);
    lines.push(
      `  simulator   max load ratio ${s.maxLoadRatio.toFixed(2)} · invariant violations ${violations}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

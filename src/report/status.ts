/** `rollwave status` and `rollwave list` as text (the JSON is the view itself). */
import type { ChalkInstance } from "chalk";
import type { RolloutStatusView, StatusState } from "../engine/status.js";
import { formatDuration } from "../util/duration.js";

function stateColor(chalk: ChalkInstance, s: StatusState): (t: string) => string {
  if (s === "succeeded") return chalk.green;
  if (s === "running") return chalk.cyan;
  if (s === "paused" || s === "stopped") return chalk.yellow;
  return chalk.red;
}

const ago = (iso: string, now: number) => formatDuration(Math.max(0, now - Date.parse(iso)));

export function formatStatus(v: RolloutStatusView, chalk: ChalkInstance): string {
  const now = Date.parse(v.observation.at);
  const lines: string[] = [];
  lines.push(
    `rollout ${v.rolloutId} of ${v.plan}: ${stateColor(chalk, v.state)(v.state)}${v.reason ? ` (${v.reason})` : ""}`,
  );
  lines.push(
    `  started ${v.startedAt}${v.startedBy ? ` by ${v.startedBy}` : ""}; last journal record ${ago(v.updatedAt, now)} ago`,
  );
  if (v.owner) {
    const o = v.owner;
    const who = o.user ? `${o.user}@${o.host}` : `pid ${o.pid}${o.host ? ` on ${o.host}` : ""}`;
    const ci = o.ciJob ? ` (CI job ${o.ciJob})` : "";
    const beat =
      o.heartbeatAgeSeconds !== undefined
        ? `; heartbeat ${formatDuration(o.heartbeatAgeSeconds * 1000)} ago${o.stale ? chalk.yellow(" (stale: its process is gone)") : ""}`
        : "";
    lines.push(`  owner: ${who}${ci}${o.user ? `, pid ${o.pid}` : ""} (${o.lock} lock)${beat}`);
  } else if (v.state === "running" || v.state === "stopped") {
    lines.push(`  owner: ${v.state === "stopped" ? "none (no live lock holder)" : "unknown"}`);
  }
  const n = v.instances;
  const wave = v.wave ? `wave ${v.wave.index + 1} of ${v.wave.of} (${v.wave.kind})` : "no wave started";
  lines.push(
    `  ${wave}; ${n.total} instances: ${n.succeeded} done, ${n.inFlight} in flight, ${n.pending} pending, ${n.failed} failed, ${n.skipped} skipped${n.rolledBack ? `, ${n.rolledBack} rolled back` : ""}`,
  );
  const phases = Object.entries(v.phases)
    .filter(([, c]) => (c ?? 0) > 0)
    .map(([p, c]) => `${p} ${c}`)
    .join(", ");
  if (phases) lines.push(`  phases: ${phases}`);
  if (v.waitingFor) {
    const w = v.waitingFor;
    const until = w.until
      ? `, until ${w.until} (${Date.parse(w.until) > now ? `in ${ago(new Date(now).toISOString(), Date.parse(w.until))}` : "passed"})`
      : "";
    const since = w.since ? `, since ${ago(w.since, now)} ago` : "";
    lines.push(`  waiting for ${chalk.yellow(w.gate)}: ${w.message}${since}${until}`);
  }
  if (v.failures.length) {
    lines.push(`  failures (${v.failures.length}):`);
    for (const f of v.failures.slice(0, 20))
      lines.push(`    ${chalk.red(f.id)} ${f.az} in ${f.phase}: ${f.reason}`);
    if (v.failures.length > 20)
      lines.push(`    … and ${v.failures.length - 20} more (--output json lists all)`);
  }
  if (v.outOfService.length) {
    lines.push(`  out of service (${v.outOfService.length}):`);
    for (const i of v.outOfService.slice(0, 20)) {
      const health = i.targetHealth
        ? ` — now ${i.targetHealth.map((t) => `${t.state} in ${t.targetGroup}${t.reason ? ` (${t.reason})` : ""}`).join(", ")}`
        : "";
      lines.push(`    ${i.id} ${i.az} ${i.phase}${i.reason ? `: ${i.reason}` : ""}${health}`);
    }
    if (v.outOfService.length > 20)
      lines.push(`    … and ${v.outOfService.length - 20} more (--output json lists all)`);
  } else lines.push("  out of service: none");
  if (v.pendingControl)
    lines.push(
      `  pending request: ${v.pendingControl.action} from ${v.pendingControl.requestedBy} at ${v.pendingControl.at} (not handled yet)`,
    );
  for (const c of v.control.slice(-3))
    lines.push(`  request ${c.action} from ${c.requestedBy} at ${c.at}: ${c.outcome}: ${c.message}`);
  for (const e of v.observation.errors) lines.push(`  ${chalk.yellow("warning")}: ${e}`);
  if (v.next) lines.push(`  next: ${v.next.command}   # ${v.next.why}`);
  return `${lines.join("\n")}\n`;
}

/** One line for `--watch` without a terminal: printed when it changes. */
export function statusLine(v: RolloutStatusView): string {
  const n = v.instances;
  const wait = v.waitingFor ? `; waiting for ${v.waitingFor.gate}` : "";
  return `${v.observation.at} ${v.state}: ${n.succeeded}/${n.total} done, ${n.inFlight} in flight, ${n.failed} failed, ${v.outOfService.length} out of service${wait}${v.reason ? ` (${v.reason})` : ""}`;
}

export interface ListRow {
  rolloutId: string;
  plan: string;
  startedAt: string;
  startedBy?: string;
  state: string;
  reason?: string;
  journal: string;
}

export function formatList(rows: ListRow[]): string {
  if (rows.length === 0) return "no rollouts\n";
  const table = [
    ["ROLLOUT", "PLAN", "STARTED", "STATE", "STARTED BY"],
    ...rows.map((r) => [r.rolloutId.slice(0, 8), r.plan, r.startedAt, r.state, r.startedBy ?? "-"]),
  ];
  const widths = table[0]?.map((_, k) => Math.max(...table.map((row) => (row[k] ?? "").length))) ?? [];
  return `${table
    .map((row) =>
      row
        .map((c, k) => c.padEnd(widths[k] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")}\n`;
}

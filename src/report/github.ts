/**
 * GitHub Actions, when `GITHUB_ACTIONS=true`: workflow commands in the log and a job summary.
 *
 * - each wave's lines sit in a collapsible `::group::` (waves that overlap under the sliding
 *   window close the earlier group when the later wave starts: GitHub groups do not nest);
 * - failures and warnings become `::error` / `::warning` annotations on the run's page;
 * - the job summary (markdown appended to `$GITHUB_STEP_SUMMARY`) says how it ended, each wave with
 *   its duration, every failure with its reason, cameras, API calls, and the resume command when paused.
 *
 * Docs: https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands
 */
import type { RolloutEvent } from "../engine/events.js";
import { formatDuration } from "../util/duration.js";
import type { RunRecord } from "./run-record.js";

/** Escape a workflow command's message: `%`, CR and LF. */
export function ghData(s: string): string {
  return s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}
/** Escape a workflow command's property value: also `:` and `,`. */
function ghProp(s: string): string {
  return ghData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

/** The annotation an event becomes, if any. */
export function annotation(e: RolloutEvent): string | undefined {
  switch (e.type) {
    case "warning":
      return `::warning title=${ghProp(e.code)}::${ghData(e.message)}`;
    case "instance.failed":
      return `::error title=${ghProp(`${e.id} failed in ${e.phase}`)}::${ghData(e.reason)}`;
    case "policy.triggered":
      return `::error title=failure policy::${ghData(`${e.failed} instances failed (max ${e.maxFailed}): ${e.action}`)}`;
    case "rollout.finished":
      if (e.status === "succeeded") return undefined;
      return `::${e.status === "paused" ? "warning" : "error"} title=${ghProp(`rollout ${e.status}`)}::${ghData(e.reason ?? `rollout ${e.status}`)}`;
    default:
      return undefined;
  }
}

/**
 * Opens and closes `::group::` blocks around each wave. `before(e)` returns the lines to write
 * before the event's own line, `after(e)` those after it.
 */
export function createGrouper(): {
  before(e: RolloutEvent): string[];
  after(e: RolloutEvent): string[];
} {
  let open: number | undefined;
  return {
    before(e) {
      if (e.type === "wave.started") {
        const out = open !== undefined ? ["::endgroup::"] : [];
        open = e.index;
        return [...out, `::group::wave ${e.index} (${e.kind}): ${e.instanceIds.length} instances`];
      }
      if (e.type === "rollout.finished" && open !== undefined) {
        open = undefined;
        return ["::endgroup::"];
      }
      return [];
    },
    after(e) {
      if (e.type === "wave.finished" && e.index === open) {
        open = undefined;
        return ["::endgroup::"];
      }
      return [];
    },
  };
}

/** A table cell: one line, no column breaks, no HTML. */
function cell(s: string): string {
  return s.trim().replace(/\r?\n/g, " ⏎ ").replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function clock(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}

const ICON: Record<string, string> = {
  succeeded: "✅",
  paused: "⏸️",
  failed: "❌",
  "rolled-back": "↩️",
  aborted: "🛑",
};

interface JobSummaryOptions {
  name?: string;
  /** The command that continues a paused run, shown when it paused. */
  resumeCommand?: string;
  /** Failures listed before "… and N more" (default 50). */
  maxFailures?: number;
}

/** The markdown job summary of one run. */
export function formatJobSummary(r: RunRecord, o: JobSummaryOptions = {}): string {
  const name = o.name ?? r.started?.name ?? "rollout";
  const f = r.finished;
  const status = f?.status ?? "stopped";
  const lines: string[] = [];
  lines.push(`### ${ICON[status] ?? "⚠️"} rollwave ${cell(name)}: ${status}`, "");
  if (f) {
    const c = f.instances;
    lines.push(
      `**${formatDuration(f.durationSeconds * 1000)}** · ${c.total} instances: ${c.succeeded} succeeded · ${c.failed} failed · ${c.skipped} skipped · ${c.rolledBack} rolled back`,
    );
    if (f.reason) lines.push("", `**Reason:** ${cell(f.reason)}`);
  } else {
    lines.push("The rollout stopped before it finished (no `rollout.finished` event).");
  }
  for (const p of r.policy) lines.push("", `**Failure policy:** ${cell(p)}`);
  if (status === "paused" && o.resumeCommand) {
    lines.push("", "**Continue with:**", "", "```sh", o.resumeCommand, "```");
  }

  lines.push(
    "",
    "#### Waves",
    "",
    "| wave | kind | instances | started | duration | result |",
    "|---:|---|---:|---|---:|---|",
  );
  for (const w of r.waves) {
    const started = w.startedAt !== undefined ? clock(w.startedAt) : "—";
    const duration =
      w.startedAt !== undefined && w.finishedAt !== undefined
        ? formatDuration(w.finishedAt - w.startedAt)
        : "—";
    const result =
      w.finishedAt !== undefined
        ? `${w.succeeded ?? 0} succeeded${w.failed ? `, **${w.failed} failed**` : ""}`
        : w.startedAt !== undefined
          ? "stopped before it finished"
          : "not run";
    lines.push(`| ${w.index} | ${w.kind} | ${w.size} | ${started} | ${duration} | ${result} |`);
  }

  if (r.failures.length > 0) {
    const max = o.maxFailures ?? 50;
    lines.push(
      "",
      `#### Failures (${r.failures.length})`,
      "",
      "| instance | AZ | wave | phase | reason |",
      "|---|---|---:|---|---|",
    );
    for (const x of r.failures.slice(0, max)) {
      lines.push(`| \`${cell(x.id)}\` | ${cell(x.az)} | ${x.wave} | ${x.phase} | ${cell(x.reason)} |`);
    }
    if (r.failures.length > max) {
      lines.push(
        "",
        `… and ${r.failures.length - max} more (every one is in the journal and the json events).`,
      );
    }
  }

  const sim = f?.sim;
  if (sim || r.connections) {
    lines.push("", "#### Cameras", "");
    if (sim) {
      const c = sim.cameras;
      const pct = c.total > 0 ? ` (${((100 * c.minConnected) / c.total).toFixed(2)}%)` : "";
      lines.push(
        `${c.total} cameras (simulated) · min connected ${c.minConnected}${pct} · refused ${c.refused} · p99 disconnect ${formatDuration(c.p99DisconnectSeconds * 1000)} · ${c.reconnectsPerCamera.toFixed(2)} reconnects/camera · invariant violations ${sim.invariantViolations}`,
      );
    }
    // The metric's 1-min max is an upper bound; the simulator's exact count, when there is one, says more.
    if (r.connections && !sim) {
      const k = r.connections;
      lines.push(
        `Connections reported by the metric (1-min max per instance, an upper bound): ${k.first} at the start · lowest ${k.min} · ${k.last} at the end`,
      );
    }
  }

  if (f) {
    const perInstance =
      f.instances.total > 0 ? ` (${(f.apiCalls.total / f.instances.total).toFixed(1)} per instance)` : "";
    const throttled = r.throttled > 0 ? ` · ${r.throttled} throttled and retried` : "";
    lines.push(
      "",
      `#### API calls: ${f.apiCalls.total}${perInstance}${throttled}`,
      "",
      "| action | calls |",
      "|---|---:|",
    );
    const actions = Object.entries(f.apiCalls.byAction).sort(
      (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]),
    );
    for (const [action, n] of actions) lines.push(`| ${cell(action)} | ${n} |`);
  }
  return `${lines.join("\n")}\n`;
}

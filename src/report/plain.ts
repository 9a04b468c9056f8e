/**
 * Plain lines for CI logs: compact by default, so a 1,000-server run stays readable — one line per
 * wave transition, per failure, per gate, a progress line at most once a minute (by the event
 * clock), and per-instance transitions only with `--verbose`. No cursor movement; colour only when
 * the stream is a terminal and NO_COLOR is unset. With GITHUB_ACTIONS=true each wave is a
 * `::group::`, warnings and failures become annotations, and a markdown job summary is written at
 * the end (see ./github.ts).
 *
 *   2026-11-22T02:03:04Z wave 1 (batch) started: 20 instances
 *   2026-11-22T02:09:40Z ERROR i-0abc ap-northeast-1a wave 1 failed in validating: exit 1: curl: (7) connection refused
 *   ::error title=i-0abc failed in validating::exit 1: curl: (7) connection refused
 *   2026-11-22T02:10:00Z progress: 980 in service, 20 out of service | draining 5, deploying 15
 *   2026-11-22T02:12:41Z wave 1 finished: 19 succeeded, 1 failed
 *
 * With --verbose, also:   2026-11-22T02:03:05Z i-0abc ap-northeast-1a wave 1: pending -> deregistering
 */
import type { ChalkInstance } from "chalk";
import type { InstancePhase, RolloutEvent } from "../engine/events.js";
import { formatDuration } from "../util/duration.js";
import { annotation, createGrouper, formatJobSummary, ghData } from "./github.js";
import { createOutcomeTracker } from "./outcomes.js";
import { colorEnabled, makeChalk, type OutputStream, type Renderer } from "./output.js";
import { createRunRecorder } from "./run-record.js";
import { formatSummary, statusColor } from "./summary.js";

interface PlainRendererOptions {
  env?: Record<string, string | undefined>;
  /** Also print every instance's phase transitions (thousands of lines on a big fleet). */
  verbose?: boolean;
  /** GitHub Actions groups and annotations; default: `GITHUB_ACTIONS=true` in `env`. */
  github?: boolean;
  /** Where the GitHub job summary goes (appended to `$GITHUB_STEP_SUMMARY`); absent: none is written. */
  writeJobSummary?: (markdown: string) => Promise<void>;
  /** The command that continues this rollout if it pauses, for the job summary. */
  resumeCommand?: string;
  /** Force colour on or off; default: decided from the stream and env. */
  color?: boolean;
  /** Minimum clock time between two progress lines; progress is not a transition, so it is sampled. */
  progressEveryMs?: number;
  /** Plan name for the summary line. */
  name?: string;
}

function timestamp(at: number): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function formatPhases(phases: Partial<Record<InstancePhase, number>>): string {
  return Object.entries(phases)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([p, n]) => `${p} ${n}`)
    .join(", ");
}

/** Format one event as plain lines (without annotations); `undefined` when the event prints nothing. */
function formatPlainEvent(e: RolloutEvent, chalk: ChalkInstance): string | undefined {
  switch (e.type) {
    case "rollout.started": {
      const perAz = Object.entries(e.window.perAz)
        .map(([az, n]) => `${az} ${n}`)
        .join(", ");
      return (
        `rollout ${e.name}${e.dryRun ? " (dry run)" : ""} started: ${e.total} instances in ${e.waves.length} waves, ` +
        `strategy ${e.strategy}, window ${e.window.maxUnavailable}${perAz ? ` (per AZ: ${perAz})` : ""}, max failed ${e.maxFailed}` +
        (e.rolloutId ? `; rollout id ${e.rolloutId}` : "")
      );
    }
    case "wave.started":
      return `wave ${e.index} (${e.kind}) started: ${e.instanceIds.length} instances`;
    case "wave.finished":
      return `wave ${e.index} finished: ${e.succeeded} succeeded, ${e.failed} failed`;
    case "instance.phase":
      return `${e.id} ${e.az} wave ${e.wave}: ${e.from} -> ${e.to}${e.detail ? ` (${e.detail})` : ""}`;
    case "instance.failed":
      return `${chalk.red("ERROR")} ${e.id} ${e.az} wave ${e.wave} failed in ${e.phase}: ${e.reason}`;
    case "gate.waiting":
      return `gate ${e.gate} waiting: ${e.message}${e.until !== undefined ? ` (until ${timestamp(e.until)})` : ""}`;
    case "gate.passed":
      return `gate ${e.gate} passed: ${e.message}`;
    case "policy.triggered":
      return `${chalk.red("POLICY")} ${e.failed} failed (max ${e.maxFailed}): ${e.action}`;
    case "asg.suspended":
      return `asg ${e.group}: suspended ${e.processes.join(", ")}`;
    case "asg.resumed":
      return `asg ${e.group}: resumed ${e.processes.join(", ")}`;
    case "progress": {
      const age = e.connectionsAgeSeconds !== undefined ? `, read ${e.connectionsAgeSeconds}s ago` : "";
      const conn = e.connections !== undefined ? `, ≤${e.connections} connections (1-min max${age})` : "";
      const phases = formatPhases(e.phases);
      return `progress: ${e.inService} in service, ${e.outOfService} out of service${conn}${phases ? ` | ${phases}` : ""}`;
    }
    case "warning":
      return `${chalk.yellow("WARN")} ${e.code}: ${e.message}`;
    case "aws.throttled":
      return `aws throttled: ${e.operation} x${e.count}`;
    case "control":
      return `${chalk.yellow("CONTROL")} ${e.action} from ${e.requestedBy}: ${e.outcome}: ${e.message}`;
    case "rollout.finished":
      return `rollout finished: ${statusColor(chalk, e.status)(e.status)} after ${formatDuration(e.durationSeconds * 1000)}${e.reason ? ` (${e.reason})` : ""}`;
  }
}

export function createPlainRenderer(out: OutputStream, o: PlainRendererOptions = {}): Renderer {
  const env = o.env ?? {};
  const chalk = makeChalk(o.color ?? colorEnabled(out, env));
  const github = o.github ?? env.GITHUB_ACTIONS === "true";
  const groups = github ? createGrouper() : undefined;
  const progressEvery = o.progressEveryMs ?? 60_000;
  let lastProgress = Number.NEGATIVE_INFINITY;
  const waitingSince = new Map<string, number>();
  let throttledSincePrint = 0;
  const outcomes = createOutcomeTracker();
  const recorder = createRunRecorder();
  let lastThrottlePrint = Number.NEGATIVE_INFINITY;
  let finished = false;
  const line = (at: number, text: string) => out.write(`${chalk.dim(timestamp(at))} ${text}\n`);

  function print(e: RolloutEvent): void {
    // Per-instance transitions are the bulk of a big run (8,000 lines for 1,000 servers): only with
    // --verbose. Failures always print (instance.failed).
    if (e.type === "instance.phase" && !o.verbose) return;
    if (e.type === "progress") {
      if (e.at - lastProgress < progressEvery) return;
      lastProgress = e.at;
    }
    // A gate that keeps holding (capacity re-checked every tick) prints once per interval, not
    // once per tick; a pass in between resets it.
    if (e.type === "gate.waiting") {
      const last = waitingSince.get(e.gate);
      if (last !== undefined && e.at - last < progressEvery) return;
      waitingSince.set(e.gate, e.at);
    }
    if (e.type === "gate.passed") waitingSince.delete(e.gate);
    if (e.type === "aws.throttled") {
      throttledSincePrint += e.count;
      if (e.at - lastThrottlePrint < progressEvery) return;
      lastThrottlePrint = e.at;
      line(e.at, `aws throttled: ${throttledSincePrint} call(s) retried (latest ${e.operation})`);
      throttledSincePrint = 0;
      return;
    }
    const text = formatPlainEvent(e, chalk);
    if (text !== undefined) line(e.at, text);
  }

  return {
    onEvent(e) {
      outcomes.onEvent(e);
      recorder.onEvent(e);
      if (finished) return;
      for (const l of groups?.before(e) ?? []) out.write(`${l}\n`);
      print(e);
      const note = github ? annotation(e) : undefined;
      if (note) out.write(`${note}\n`);
      for (const l of groups?.after(e) ?? []) out.write(`${l}\n`);
      if (e.type === "rollout.finished") {
        finished = true;
        const run = recorder.record();
        out.write(
          `\n${formatSummary(e, chalk, { name: o.name, throttled: run.throttled, problems: outcomes.problems() })}`,
        );
      }
    },
    async close() {
      if (!github || !o.writeJobSummary) return;
      const run = recorder.record();
      if (!run.started) return;
      try {
        await o.writeJobSummary(
          formatJobSummary(run, {
            ...(o.name ? { name: o.name } : {}),
            ...(o.resumeCommand ? { resumeCommand: o.resumeCommand } : {}),
          }),
        );
      } catch (err) {
        out.write(
          `::warning title=job summary::${ghData(`could not write the job summary: ${String(err)}`)}\n`,
        );
      }
    },
  };
}

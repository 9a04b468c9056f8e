/**
 * Plain lines for CI logs: one timestamped line per transition, no cursor movement, colour only when
 * the stream is a terminal and NO_COLOR is unset. With GITHUB_ACTIONS=true, warnings and failures
 * also become workflow annotations (`::warning title=…::…`, `::error title=…::…`), which GitHub shows
 * on the run's summary page.
 *
 *   2026-11-22T02:03:04Z wave 1 (batch) started: 20 instances
 *   2026-11-22T02:03:05Z i-0abc ap-northeast-1a wave 1: pending -> deregistering
 *   2026-11-22T02:09:40Z ERROR i-0abc failed in validating: exit 1: curl: (7) connection refused
 *   ::error title=i-0abc failed in validating::exit 1: curl: (7) connection refused
 */
import type { ChalkInstance } from "chalk";
import type { InstancePhase, RolloutEvent } from "../engine/events.js";
import { formatDuration } from "../util/duration.js";
import { createOutcomeTracker } from "./outcomes.js";
import { colorEnabled, makeChalk, type OutputStream, type Renderer } from "./output.js";
import { formatSummary, statusColor } from "./summary.js";

export interface PlainRendererOptions {
  env?: Record<string, string | undefined>;
  /** Force colour on or off; default: decided from the stream and env. */
  color?: boolean;
  /** Minimum clock time between two progress lines; progress is not a transition, so it is sampled. */
  progressEveryMs?: number;
  /** Plan name for the summary line. */
  name?: string;
}

/** Escape a GitHub workflow command value: `%`, CR and LF (and `:`/`,` in properties). */
function ghData(s: string): string {
  return s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}
function ghProp(s: string): string {
  return ghData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

export function timestamp(at: number): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function formatPhases(phases: Partial<Record<InstancePhase, number>>): string {
  return Object.entries(phases)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([p, n]) => `${p} ${n}`)
    .join(", ");
}

/** Format one event as plain lines (without annotations); `undefined` when the event prints nothing. */
export function formatPlainEvent(e: RolloutEvent, chalk: ChalkInstance): string | undefined {
  switch (e.type) {
    case "rollout.started": {
      const perAz = Object.entries(e.window.perAz)
        .map(([az, n]) => `${az} ${n}`)
        .join(", ");
      return (
        `rollout ${e.name}${e.dryRun ? " (dry run)" : ""} started: ${e.total} instances in ${e.waves.length} waves, ` +
        `strategy ${e.strategy}, window ${e.window.maxUnavailable}${perAz ? ` (per AZ: ${perAz})` : ""}, max failed ${e.maxFailed}`
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
    case "rollout.finished":
      return `rollout finished: ${statusColor(chalk, e.status)(e.status)} after ${formatDuration(e.durationSeconds * 1000)}${e.reason ? ` (${e.reason})` : ""}`;
  }
}

function annotation(e: RolloutEvent): string | undefined {
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

export function createPlainRenderer(out: OutputStream, o: PlainRendererOptions = {}): Renderer {
  const env = o.env ?? {};
  const chalk = makeChalk(o.color ?? colorEnabled(out, env));
  const github = env.GITHUB_ACTIONS === "true";
  const progressEvery = o.progressEveryMs ?? 60_000;
  let lastProgress = Number.NEGATIVE_INFINITY;
  const waitingSince = new Map<string, number>();
  let throttled = 0;
  let throttledSincePrint = 0;
  const outcomes = createOutcomeTracker();
  let lastThrottlePrint = Number.NEGATIVE_INFINITY;
  let finished = false;
  return {
    onEvent(e) {
      outcomes.onEvent(e);
      if (finished) return;
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
        throttled += e.count;
        throttledSincePrint += e.count;
        if (e.at - lastThrottlePrint < progressEvery) return;
        lastThrottlePrint = e.at;
        out.write(
          `${chalk.dim(timestamp(e.at))} aws throttled: ${throttledSincePrint} call(s) retried (latest ${e.operation})\n`,
        );
        throttledSincePrint = 0;
        return;
      }
      const line = formatPlainEvent(e, chalk);
      if (line !== undefined) out.write(`${chalk.dim(timestamp(e.at))} ${line}\n`);
      const note = github ? annotation(e) : undefined;
      if (note) out.write(`${note}\n`);
      if (e.type === "rollout.finished") {
        finished = true;
        out.write(`\n${formatSummary(e, chalk, { name: o.name, throttled, problems: outcomes.problems() })}`);
      }
    },
    async close() {},
  };
}

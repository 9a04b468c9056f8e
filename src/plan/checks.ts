/**
 * Cross-field rules: things no single field can know. They read the raw document defensively,
 * so a plan with a type error elsewhere still gets every other problem reported in one pass.
 * Fleet-dependent rules (a percent that rounds to 0 of *this* fleet) belong to the wave planner.
 */
import { LIMITS, STEP_TIMEOUT_MS } from "../aws/limits.js";
import { formatDuration } from "../util/duration.js";
import { shown } from "../util/quote.js";
import { formatSize, type Size } from "../util/size.js";
import type { Locator, PathSegment } from "./locate.js";
import { commandsAt, durationAt, get, has, recordAt, sizeAt, stringAt } from "./raw.js";
import type { InputIssue } from "./types.js";

interface CheckOptions {
  /** The plan is about to drive a real (not dry) rollout: problems only a run would hit become errors. */
  forRollout?: boolean;
}

const ACCOUNT_RE = /^\d{12}$/;
// ap-northeast-1, us-east-1, us-gov-west-1, cn-north-1, eu-central-2
const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d+$/;

export function crossFieldChecks(raw: unknown, loc: Locator, opts: CheckOptions): InputIssue[] {
  const issues: InputIssue[] = [];
  const err = (path: PathSegment[], message: string, hint?: string) =>
    issues.push(loc.issue("error", path, message, hint));
  const warn = (path: PathSegment[], message: string, hint?: string) =>
    issues.push(loc.issue("warning", path, message, hint));

  const region = stringAt(raw, ["region"]);
  if (region !== undefined && !REGION_RE.test(region)) {
    err(["region"], `'${shown(region)}' does not look like an AWS Region`, "e.g. ap-northeast-1, us-east-1");
  }
  const account = stringAt(raw, ["guard", "account"]);
  if (account !== undefined && !ACCOUNT_RE.test(account)) {
    err(
      ["guard", "account"],
      `'${shown(account)}' is not a 12-digit AWS account ID`,
      'e.g. "123456789012" (quoted)',
    );
  }

  const select = recordAt(raw, ["fleet", "select"]);
  if (select && !["tags", "autoScalingGroups", "instanceIds"].some((k) => nonEmpty(select[k]))) {
    err(
      ["fleet", "select"],
      "selects nothing: give tags, autoScalingGroups or instanceIds",
      "e.g. select: { tags: { Service: camera-relay } }; combined criteria narrow each other",
    );
  }

  // Windows and waves.
  const window = sizeAt(raw, ["rollout", "maxUnavailable"]);
  const perAz = sizeAt(raw, ["rollout", "maxUnavailablePerAz"]);
  const zeroHint = "a window of 0 never lets an instance leave service; use at least 1 (or 1%)";
  if (window && isZero(window))
    err(["rollout", "maxUnavailable"], "a window that rounds to 0 instances", zeroHint);
  if (perAz && isZero(perAz))
    err(["rollout", "maxUnavailablePerAz"], "a per-AZ window that rounds to 0 instances", zeroHint);

  const canary = sizeAt(raw, ["rollout", "canary", "size"]);
  if (canary && isZero(canary)) {
    err(["rollout", "canary", "size"], "a canary of 0 instances", "omit rollout.canary for no canary");
  } else if (canary) {
    const over = (limit: Size | undefined, perAzLimit: boolean) => {
      if (!limit || !comparable(canary, limit, perAzLimit)) return false;
      return amount(canary) > amount(limit);
    };
    if (over(window, false)) {
      err(
        ["rollout", "canary", "size"],
        `a canary of ${formatSize(canary)} is larger than the window (maxUnavailable ${formatSize(window as Size)})`,
        "the canary must fit in the window: shrink it or raise maxUnavailable",
      );
    } else if (over(perAz, true)) {
      err(
        ["rollout", "canary", "size"],
        `a canary of ${formatSize(canary)} is larger than the per-AZ window (maxUnavailablePerAz ${formatSize(perAz as Size)})`,
        "the canary must fit in every AZ's window: shrink it or raise maxUnavailablePerAz",
      );
    }
  }

  const waves = get(raw, ["rollout", "waves"]);
  if (Array.isArray(waves)) {
    let prev: Size | undefined;
    waves.forEach((_, i) => {
      const s = sizeAt(raw, ["rollout", "waves", i]);
      if (!s) return;
      if (isZero(s))
        err(["rollout", "waves", i], "a wave of 0 instances never finishes", "use at least 1 (or 1%)");
      else if (prev && s.kind === prev.kind && amount(s) < amount(prev)) {
        warn(
          ["rollout", "waves", i],
          `wave size ${formatSize(s)} is smaller than the one before it (${formatSize(prev)})`,
          "waves usually grow as confidence grows; the last size repeats",
        );
      }
      prev = s;
    });
  }

  if (stringAt(raw, ["rollout", "failures", "action"]) === "rollback" && !has(raw, ["steps", "rollback"])) {
    err(
      ["rollout", "failures", "action"],
      "action rollback needs steps.rollback",
      "add steps.rollback with the commands that restore the previous release, or use pause / abort",
    );
  }

  // Connections.
  const conn = recordAt(raw, ["capacity", "connections"]);
  if (conn) {
    const sources = ["metric", "probe"].filter((k) => conn[k] !== undefined);
    if (sources.length !== 1) {
      err(
        ["capacity", "connections"],
        sources.length ? "give either metric or probe, not both" : "needs a source: metric or probe",
        "metric: { namespace, name, dimension } reads CloudWatch; probe: { command } asks each instance",
      );
    }
    const probe = stringAt(raw, ["capacity", "connections", "probe", "command"]);
    if (probe !== undefined && probe.trim() === "") {
      err(
        ["capacity", "connections", "probe", "command"],
        "the probe command is empty",
        "a command that prints the instance's connection count, e.g. \"ss -Htn state established '( sport = :1935 )' | wc -l\"",
      );
    }
    const headroom = stringAt(raw, ["capacity", "connections", "headroom"]);
    if (headroom !== undefined && Number(headroom.trim().replace("%", "")) >= 100) {
      err(
        ["capacity", "connections", "headroom"],
        `headroom ${headroom} leaves no capacity to use`,
        "use less than 100%, e.g. 10%",
      );
    }
  }
  if (has(raw, ["drain", "closeCommand"]) && !has(raw, ["drain", "until", "connections"])) {
    err(
      ["drain", "closeCommand"],
      "drain.closeCommand runs when drain.until.connections is reached, and there is no drain.until",
      "add drain.until: { connections: N } (a small number of stragglers to close), or remove drain.closeCommand",
    );
  }
  if (has(raw, ["health", "connectedDevices"]) && !conn) {
    err(
      ["health", "connectedDevices"],
      "health.connectedDevices needs capacity.connections to count connected devices",
      "add capacity.connections with a metric, or remove health.connectedDevices",
    );
  }
  if (has(raw, ["drain", "until", "connections"]) && !conn) {
    err(
      ["drain", "until"],
      "drain.until.connections needs capacity.connections to count connections",
      "add capacity.connections (a metric or probe), or remove drain.until to wait for the deregistration delay",
    );
  }

  // SSM bounds on every command step: the engine derives both SSM timeouts from the step timeout.
  const timeouts: PathSegment[][] = [
    ["steps", "deploy", "timeout"],
    ["steps", "validate", "timeout"],
    ["steps", "rollback", "timeout"],
  ];
  if (has(raw, ["drain", "preCommand"]) || has(raw, ["drain", "closeCommand"]))
    timeouts.push(["drain", "timeout"]);
  for (const path of timeouts) {
    const ms = durationAt(raw, path);
    if (ms === undefined) continue;
    if (ms < STEP_TIMEOUT_MS.min || ms > STEP_TIMEOUT_MS.max) {
      err(
        path,
        `${formatDuration(ms)} is outside what SSM Run Command accepts`,
        `use ${formatDuration(STEP_TIMEOUT_MS.min)} to ${formatDuration(STEP_TIMEOUT_MS.max)} (SSM's shortest delivery timeout is ${LIMITS.ssmDeliveryTimeoutSeconds.min} s; AWS-RunShellScript's executionTimeout is at most ${LIMITS.ssmExecutionTimeoutSeconds.max} s)${path[0] === "drain" ? "; drain.timeout also bounds drain.preCommand and drain.closeCommand" : ""}`,
      );
    }
  }

  return issues;
}

/** Every place a command can be written, for interpolation. */
export function commandPaths(raw: unknown): { text: string; path: PathSegment[] }[] {
  return [
    ...commandsAt(raw, ["drain", "preCommand"]),
    ...commandsAt(raw, ["drain", "closeCommand"]),
    ...commandsAt(raw, ["steps", "deploy", "commands"]),
    ...commandsAt(raw, ["steps", "validate", "commands"]),
    ...commandsAt(raw, ["steps", "rollback", "commands"]),
    ...commandsAt(raw, ["capacity", "connections", "probe", "command"]),
  ];
}

function nonEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === "object") return Object.keys(v).length > 0;
  return false;
}

function isZero(s: Size): boolean {
  return amount(s) === 0;
}

function amount(s: Size): number {
  return s.kind === "percent" ? s.percent : s.count;
}

/**
 * Sizes compare without knowing the fleet only when they count the same thing: against the
 * overall window, two sizes of the same kind; against the per-AZ window (a number per AZ), a
 * per-AZ canary such as `2/az` with a count `1` or `1/az`. `10%` of the fleet and `12%` of one
 * AZ have different denominators, so they are left to the planner.
 */
function comparable(a: Size, b: Size, perAzLimit: boolean): boolean {
  if (!perAzLimit) return a.kind === b.kind;
  return a.kind === "perAz" && (b.kind === "count" || b.kind === "perAz");
}

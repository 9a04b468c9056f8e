/**
 * The pure parts of SSM Run Command: which instances a SendCommand addresses, how invocation
 * statuses roll up into the command's status, and the output templates of command behaviours.
 */
import { SimApiError, type SimCommand, type SimInvocation, type SimSendCommandInput } from "./api.js";
import type { Core, Inst } from "./core.js";

const TERMINAL = new Set(["Success", "Cancelled", "TimedOut", "Failed"]);

export function isTerminal(status: string): boolean {
  return TERMINAL.has(status);
}

/** The AWS-RunShellScript parameters: command lines (blank and `#` lines dropped) and both timeouts. */
export function parseRunShellScript(input: SimSendCommandInput): {
  lines: string[];
  execTimeout: number;
  timeoutSeconds: number;
} {
  if (input.documentName !== "AWS-RunShellScript") {
    throw new SimApiError("InvalidDocument", `Document ${input.documentName} does not exist in your account`);
  }
  const lines = (input.parameters?.commands ?? [])
    .flatMap((c) => c.split("\n"))
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  if (lines.length === 0) throw new SimApiError("InvalidParameters", "Parameter commands is required.");
  const execTimeout = Number(input.parameters?.executionTimeout?.[0] ?? "3600");
  if (!Number.isInteger(execTimeout) || execTimeout < 1 || execTimeout > 172_800) {
    throw new SimApiError("InvalidParameters", "executionTimeout must be an integer from 1 to 172800.");
  }
  const timeoutSeconds = input.timeoutSeconds ?? 3600;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 30 || timeoutSeconds > 2_592_000) {
    throw new SimApiError(
      "ValidationException",
      `1 validation error detected: Value '${timeoutSeconds}' at 'timeoutSeconds' failed to satisfy constraint: Member must have value between 30 and 2592000`,
    );
  }
  return { lines, execTimeout, timeoutSeconds };
}

/** The instances of a SendCommand: `InstanceIds` (≤ 50, all known and not terminated) or `Targets`. */
export function resolveTargets(core: Core, input: SimSendCommandInput): Inst[] {
  const ids = input.instanceIds ?? [];
  const targets = input.targets ?? [];
  if (ids.length > 0 && targets.length > 0) {
    throw new SimApiError("ValidationException", "Specify either InstanceIds or Targets, not both");
  }
  if (ids.length > 50) {
    throw new SimApiError(
      "ValidationException",
      "1 validation error detected: Value at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 50",
    );
  }
  if (ids.length > 0) {
    const unknown = ids.filter((id) => {
      const i = core.byId.get(id);
      return !i || i.state === "terminated";
    });
    if (unknown.length > 0) {
      throw new SimApiError(
        "InvalidInstanceId",
        `Instances [[${unknown.join(", ")}]] not in a valid state for account ${core.spec.account}`,
      );
    }
    return [...new Set(ids)].map((id) => core.byId.get(id) as Inst);
  }
  if (targets.length === 0)
    throw new SimApiError("ValidationException", "InstanceIds or Targets is required");
  if (targets.length > 5 || targets.some((t) => t.values.length > 50)) {
    throw new SimApiError("ValidationException", "Targets: at most 5 keys of at most 50 values each");
  }
  for (const t of targets) {
    if (t.key !== "InstanceIds" && t.key !== "tag-key" && !t.key.startsWith("tag:")) {
      throw new SimApiError("InvalidTarget", `Unsupported target key ${t.key}`);
    }
  }
  return core.instances.filter(
    (inst) =>
      inst.state !== "terminated" &&
      targets.every((t) => {
        if (t.key === "InstanceIds") return t.values.includes(inst.id);
        if (t.key === "tag-key") return t.values.some((k) => k in inst.tags);
        return t.values.includes(inst.tags[t.key.slice(4)] ?? "\u0000");
      }),
  );
}

/**
 * The command's status from its invocations, the way SSM rolls them up:
 * - not all terminal: In Progress once any has left Pending, else Pending;
 * - all terminal: Cancelled if CancelCommand was called; Success if every one succeeded; Failed when
 *   errors (Failed, Execution Timed Out; not Undeliverable) exceed MaxErrors — details `Execution Timed
 *   Out` if they were all timeouts; TimedOut / `Delivery Timed Out` when delivery timeouts exceed
 *   MaxErrors; otherwise Failed / `Incomplete` (some did not succeed, not enough to fail it).
 */
export function rollUp(
  d: SimCommand,
  maxErrors: number,
  invs: SimInvocation[],
  cancelRequested: boolean,
): void {
  let done = 0;
  let failed = 0;
  let undeliverable = 0;
  let execTimedOut = 0;
  let deliveryTimedOut = 0;
  let started = false;
  let success = 0;
  for (const inv of invs) {
    const s = inv.status;
    if (s !== "Pending") started = true;
    if (!TERMINAL.has(s)) continue;
    done++;
    if (s === "Success") success++;
    else if (inv.statusDetails === "Undeliverable") undeliverable++;
    else if (s === "Failed") failed++;
    else if (inv.statusDetails === "Execution Timed Out") execTimedOut++;
    else if (inv.statusDetails === "Delivery Timed Out") deliveryTimedOut++;
  }
  const errors = failed + execTimedOut;
  d.completedCount = done;
  d.errorCount = errors + undeliverable;
  d.deliveryTimedOutCount = deliveryTimedOut;
  if (done < invs.length) {
    d.status = started ? "InProgress" : "Pending";
    d.statusDetails = started ? "In Progress" : "Pending";
    return;
  }
  if (cancelRequested) [d.status, d.statusDetails] = ["Cancelled", "Cancelled"];
  else if (success === invs.length) [d.status, d.statusDetails] = ["Success", "Success"];
  else if (errors > maxErrors) {
    d.status = "Failed";
    d.statusDetails = failed === 0 ? "Execution Timed Out" : "Failed";
  } else if (deliveryTimedOut > maxErrors) [d.status, d.statusDetails] = ["TimedOut", "Delivery Timed Out"];
  else [d.status, d.statusDetails] = ["Failed", "Incomplete"];
}

/** Live values a template may print. */
interface TemplateValues {
  connections(): number;
  version: string;
  instanceId: string;
}

/**
 * `$1` → capture group 1 (shell quotes stripped); `{connections}`, `{version}`, `{instanceId}` → live
 * values. Example: `"draining {connections} at $1/s"` with group 1 = "50" → "draining 180 at 50/s".
 */
export function fillTemplate(text: string, groups: ArrayLike<string | undefined>, v: TemplateValues): string {
  return text
    .replace(/\$(\d)/g, (_, n: string) => unquote(groups[Number(n)] ?? ""))
    .replace(/\{connections\}/g, () => String(v.connections()))
    .replace(/\{version\}/g, () => v.version)
    .replace(/\{instanceId\}/g, () => v.instanceId);
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith("'") && s.endsWith("'") ? s.slice(1, -1) : s;
}

/** MaxConcurrency / MaxErrors: "50" → 50; "10%" of 25 targets → round(2.5) with the given rounding. */
export function resolveCount(text: string, n: number, round: (x: number) => number, field: string): number {
  const m = /^(\d+)(%?)$/.exec(text.trim());
  if (!m) {
    throw new SimApiError("ValidationException", `${field} must be a number or a percentage, got "${text}"`);
  }
  const v = Number(m[1]);
  return m[2] ? round((v * n) / 100) : v;
}

export function uuid(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

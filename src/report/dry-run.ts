/**
 * `deploy --dry-run` as text: every call the rollout would make, wave by wave, and the capacity
 * floor it promises. (With --output json the CLI prints the report object itself.)
 *
 *   wave 1 batch · 20 instances
 *     ELBv2.DeregisterTargets  relay-rtmp  20 targets
 *     SSM.SendCommand          deploy on 20 instances: /opt/relay/bin/install v2.0.0 (timeout 600s)
 */
import type { ChalkInstance } from "chalk";
import type { DryRunCall, DryRunReport, Eta } from "../engine/dry-run.js";
import { shortTg } from "../fleet/types.js";
import { formatDuration } from "../util/duration.js";
import { escapeText, quote } from "../util/quote.js";
import { formatCapacity } from "./preview.js";

const MAX_IDS = 6;

function ids(list: string[]): string {
  return list.length <= MAX_IDS
    ? list.join(", ")
    : `${list.slice(0, MAX_IDS).join(", ")}, … (+${list.length - MAX_IDS})`;
}

function formatDryRunCall(c: DryRunCall): string {
  const name = `${`${c.service}.${c.action}`.padEnd(28)}  `;
  switch (c.service) {
    case "ELBv2":
      return `${name}${shortTg(c.targetGroupArn)}  ${c.targets.length} target${c.targets.length === 1 ? "" : "s"}`;
    case "SSM":
      // A variable's value may hold control or bidi characters: shown escaped, never raw.
      return `${name}${c.step} on ${c.instanceIds.length} instance${c.instanceIds.length === 1 ? "" : "s"}: ${c.commands.map((x) => escapeText(x)).join("; ")} (timeout ${c.executionTimeoutSeconds}s)`;
    case "AutoScaling":
      return `${name}${c.group}  ${c.processes.join(", ")}`;
  }
}

/**
 * `vars` (when given): the values the commands were built with, each in double quotes with control
 * and bidi characters escaped and long values cut (util/quote.ts), e.g. `release="v2.0.0"`.
 */
export function formatDryRun(
  r: DryRunReport,
  chalk: ChalkInstance,
  vars: Record<string, string> = {},
  target?: string,
): string {
  const out: string[] = [];
  const planned = r.waves.reduce((n, w) => n + w.instances.length, 0);
  out.push(
    chalk.bold(`dry run of ${r.name}: ${planned} instances in ${r.waves.length} waves; nothing is changed`),
  );
  out.push(
    [target, `region ${r.region ?? "unknown"}`, `account ${r.account ?? "unknown"}`]
      .filter(Boolean)
      .join(" · "),
  );
  const perAz = byAz(r.window.perAz);
  out.push(
    `strategy ${r.strategy} · window ${r.window.maxUnavailable}${perAz ? ` (per AZ: ${perAz})` : ""} · max failed ${r.maxFailed}, then ${r.failureAction}`,
  );
  const floorAz = byAz(r.floor.perAz);
  out.push(`keeps in service at least ${r.floor.total}${floorAz ? ` (per AZ: ${floorAz})` : ""}`);
  const varList = Object.entries(vars).map(([k, v]) => `${k}=${quote(v)}`);
  if (varList.length > 0) out.push(`vars ${varList.join(" ")}`);
  if (r.perInstance.length > 0) out.push(`every instance: ${r.perInstance.join(" → ")}`);
  if (r.before.length > 0) {
    out.push("", chalk.bold("before the first wave"));
    for (const c of r.before) out.push(`  ${formatDryRunCall(c)}`);
  }
  for (const w of r.waves) {
    out.push(
      "",
      chalk.bold(`wave ${w.index} ${w.kind} · ${w.instances.length} instances`) +
        `  ${ids(w.instances.map((i) => i.id))}`,
    );
    for (const c of w.calls) out.push(`  ${formatDryRunCall(c)}`);
    if (w.gateAfter) out.push(`  ${chalk.yellow("then")} ${w.gateAfter}`);
  }
  if (r.after.length > 0) {
    out.push("", chalk.bold("after the last wave (however the rollout ends)"));
    for (const c of r.after) out.push(`  ${formatDryRunCall(c)}`);
  }
  out.push("", ...formatOnFailure(r, chalk));
  if (r.capacity) out.push("", formatCapacity(r.capacity, chalk).trimEnd());
  out.push("", ...formatEta(r.eta, chalk));
  if (r.skipped.length > 0) {
    out.push("", chalk.bold(`skipped (${r.skipped.length}, never touched)`));
    for (const s of r.skipped.slice(0, 20)) out.push(`  ${s.id}  ${s.az}  ${s.reason}`);
    if (r.skipped.length > 20) out.push(`  … and ${r.skipped.length - 20} more`);
  }
  if (r.warnings.length > 0) {
    out.push("", chalk.yellow.bold(`warnings (${r.warnings.length})`));
    for (const w of r.warnings) out.push(`  ${chalk.yellow("!")} ${w}`);
  }
  return `${out.join("\n")}\n`;
}

/** What a failure sets off, with the rollback command as it would be sent. */
function formatOnFailure(r: DryRunReport, chalk: ChalkInstance): string[] {
  const f = r.onFailure;
  const out = [chalk.bold(`on failure (more than ${f.maxFailed} failed): ${f.action}`)];
  const rb = f.rollback;
  const rollbackLine = rb
    ? `SSM.SendCommand rollback: ${rb.commands.map((x) => escapeText(x)).join("; ")} (timeout ${rb.timeoutSeconds}s)`
    : undefined;
  if (f.action === "rollback") {
    out.push(
      "  every instance whose deploy ran, newest first, under the same window: deregister, drain →",
      `  ${rollbackLine} → register, healthy`,
    );
  } else {
    out.push(
      f.action === "pause"
        ? "  nothing new starts; instances in flight finish; `rollwave resume` continues"
        : "  nothing new starts; instances in flight finish; the rollout ends",
    );
    out.push(
      rollbackLine
        ? `  rollback command (run only with failures.action: rollback): ${rollbackLine}`
        : "  no rollback step in the plan",
    );
  }
  out.push(
    f.failedInstances === "keepOut"
      ? "  a failed instance stays out of service"
      : "  a failed instance is registered again",
  );
  return out;
}

/** The ETA range and how it was reached. */
function formatEta(e: Eta, chalk: ChalkInstance): string[] {
  const d = formatDuration;
  return [
    chalk.bold(`ETA ${d(e.lowMs)} to ${d(e.highMs)}`) +
      " (commands instant … every command at its timeout; approval waits not counted)",
    `  ${e.canaryRounds ? `canary ${e.canaryRounds} cycle${e.canaryRounds === 1 ? "" : "s"} + bake ${d(e.bakeMs)} + ` : ""}${e.rounds} cycle${e.rounds === 1 ? "" : "s"} of up to ${e.window} instance${e.window === 1 ? "" : "s"} at once`,
    `  a cycle: drain ${d(e.drainMs)} + health ${d(e.healthMs)} + stable ${d(e.stableMs)}, plus commands 0 to ${d(e.commandsMaxMs)}`,
  ];
}

/** `ap-northeast-1a 43, ap-northeast-1c 40`: AZs in name order, whatever order the counts came in. */
function byAz(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([az, n]) => `${az} ${n}`)
    .join(", ");
}

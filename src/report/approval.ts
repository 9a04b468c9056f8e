/**
 * The approval prompt's text: what the canary's bake saw (health, alarms, connections, how long),
 * then the question with the answers on offer. Pure: the CLI asks it on stderr.
 *
 *   canary done: 3 instance(s) in 3 AZs, 14m12s since its first deploy; bake 10m
 *     health   3/3 done · healthy in every target group (last read 4s ago)
 *     alarms   relay-5xx-rate, relay-camera-disconnects: OK (none fired during the bake)
 *     conns    i-0a1… ap-northeast-1a 181 · i-0b2… ap-northeast-1c 176 · … (fleet 180,004, read 12s ago)
 *   continue with the rest of the fleet? [approve/stop/rollback]
 */
import type { ChalkInstance } from "chalk";
import type { ApprovalRequest } from "../engine/run.js";
import { formatDuration } from "../util/duration.js";

export function approvalChoices(
  req: Pick<ApprovalRequest, "canRollBack">,
): ("approve" | "stop" | "rollback")[] {
  return req.canRollBack ? ["approve", "stop", "rollback"] : ["approve", "stop"];
}

export function formatApproval(req: ApprovalRequest, chalk: ChalkInstance): string {
  const lines: string[] = [];
  const azs = new Set(req.canary.map((c) => c.az)).size;
  const took =
    req.canaryStartedAt !== undefined
      ? `, ${formatDuration(req.now - req.canaryStartedAt)} since its first deploy`
      : "";
  lines.push(
    chalk.bold(
      `canary done: ${req.canary.length} instance(s) in ${azs} AZ${azs === 1 ? "" : "s"}${took}; bake ${formatDuration(req.bakeMs)}`,
    ),
  );
  const done = req.canary.filter((c) => c.phase === "done").length;
  const notDone = req.canary.filter((c) => c.phase !== "done");
  const evidence =
    req.evidenceAt !== undefined
      ? `healthy in every target group (last read ${formatDuration(Math.max(0, req.now - req.evidenceAt))} ago)`
      : "no health reading since the bake";
  lines.push(`  health   ${done}/${req.canary.length} done · ${evidence}`);
  for (const c of notDone)
    lines.push(`           ${c.id} ${c.az} ${c.phase}${c.reason ? `: ${c.reason}` : ""}`);
  lines.push(
    `  alarms   ${req.alarms.length ? `${req.alarms.join(", ")}: OK (none fired during the bake)` : "none watched (health.alarms is empty)"}`,
  );
  const per = req.canary
    .filter((c) => c.connections !== undefined)
    .map((c) => `${c.id} ${c.az} ${(c.connections as number).toLocaleString("en-US")}`);
  if (per.length || req.fleetConnections) {
    const fleet = req.fleetConnections
      ? `fleet ${req.fleetConnections.total.toLocaleString("en-US")}, read ${formatDuration(Math.max(0, req.now - req.fleetConnections.at))} ago`
      : "";
    lines.push(`  conns    ${[per.join(" · "), fleet && `(${fleet})`].filter(Boolean).join(" ")}`);
  } else lines.push("  conns    no connection metric in the plan");
  lines.push(chalk.dim("  approve   continue with the rest of the fleet"));
  lines.push(chalk.dim("  stop      pause here; the canary stays on the new release (resume continues)"));
  if (req.canRollBack)
    lines.push(chalk.dim("  rollback  roll the canary back with the plan's rollback step"));
  return `${lines.join("\n")}\ncontinue with the rest of the fleet? [${approvalChoices(req).join("/")}] `;
}

/**
 * The `rollwave plan` preview: one data document (`--output json`) and its table rendering.
 *
 * Table columns, per wave:
 *   WAVE        index (0 is the canary when the plan has one)
 *   KIND        canary | batch
 *   SIZE        instances in the wave
 *   <az>…       instances the wave takes from each AZ (AZ names shortened to their suffix, e.g. `1a`)
 *   CUM%        share of the planned instances updated once the wave is done
 *   IN SVC <az> instances of each AZ still in service while the wave runs, in the worst case: the
 *               wave's own instances out for `strategy: waves`, the whole per-AZ window for `window`
 *               (the sliding window can overlap a wave with the tail of the previous one).
 */
import type { ChalkInstance } from "chalk";
import type { TargetGroup } from "../aws/types.js";
import type { BindingLimit, CapacityPreview } from "../engine/capacity-preview.js";
import type { Fleet } from "../fleet/types.js";
import type { Plan } from "../plan/types.js";
import type { FleetSummary, PlannedInstance, SkippedInstance, WavePlan } from "../waves/types.js";
import { formatTable } from "./table.js";

interface PreviewTargetGroup {
  arn: string;
  name: string;
  type: TargetGroup["type"];
  port?: number;
  /** Every target registered in the group (the ALB quota applies to this). */
  targets: number;
  /** Instances of this fleet registered in the group. */
  fleetInstances: number;
  /** An ALB group over the 1,000-targets quota. */
  overQuota: boolean;
  deregistrationDelaySeconds: number;
}

interface PreviewWave {
  index: number;
  kind: "canary" | "batch";
  size: number;
  /** Instances taken from each AZ. */
  azs: Record<string, number>;
  /** Planned instances updated once this wave is done, and their share of all planned (0–100). */
  cumulative: number;
  cumulativePercent: number;
  /** Worst-case instances still in service per AZ while this wave runs. */
  inService: Record<string, number>;
  instances: PlannedInstance[];
}

/** What `rollwave plan --output json` prints. */
export interface PlanPreview {
  name: string;
  region: string | null;
  account: string | null;
  strategy: "window" | "waves";
  fleet: {
    instances: number;
    source: Fleet["source"];
    azs: Record<string, number>;
    targetGroups: PreviewTargetGroup[];
    autoScalingGroups: string[];
  };
  window: WavePlan["window"];
  maxFailed: number;
  waves: PreviewWave[];
  skipped: SkippedInstance[];
  warnings: string[];
  /** The capacity guard's math per AZ, when the plan has a connection metric. */
  capacity?: CapacityPreview;
}

/**
 * The preview document from the planner's own summary (`summarizeFleet` in src/waves computes
 * the per-AZ and worst-case in-service numbers; this only shapes them for people and JSON).
 */
export function buildPlanPreview(
  plan: Plan,
  fleet: Fleet,
  wavePlan: WavePlan,
  summary: FleetSummary,
  extraWarnings: string[] = [],
): PlanPreview {
  const azNames = Object.keys(summary.azs).sort();
  const byIndex = new Map(wavePlan.waves.map((w) => [w.index, w]));
  const delay = new Map(fleet.targetGroups.map((tg) => [tg.arn, tg.deregistrationDelaySeconds]));
  const types = new Map(fleet.targetGroups.map((tg) => [tg.arn, tg.type]));
  return {
    name: plan.name,
    region: fleet.region ?? plan.region,
    account: fleet.account,
    strategy: plan.rollout.strategy,
    fleet: {
      instances: summary.instances,
      source: fleet.source,
      azs: Object.fromEntries(azNames.map((az) => [az, summary.azs[az] ?? 0])),
      targetGroups: summary.targetGroups.map(
        (tg): PreviewTargetGroup => ({
          arn: tg.arn,
          name: tg.name,
          type: types.get(tg.arn) ?? "unknown",
          ...(tg.port !== undefined ? { port: tg.port } : {}),
          targets: tg.targetCount,
          fleetInstances: tg.fleetTargets,
          overQuota: tg.overQuota,
          deregistrationDelaySeconds: delay.get(tg.arn) ?? 0,
        }),
      ),
      autoScalingGroups: fleet.autoScalingGroups,
    },
    window: wavePlan.window,
    maxFailed: wavePlan.maxFailed,
    waves: summary.waves.map(
      (w): PreviewWave => ({
        index: w.index,
        kind: w.kind,
        size: w.size,
        azs: w.perAz,
        cumulative: w.cumulative,
        cumulativePercent: w.cumulativePercent,
        inService: w.inServicePerAz,
        instances: (byIndex.get(w.index)?.instances ?? []).map((i) => ({ id: i.id, az: i.az })),
      }),
    ),
    skipped: wavePlan.skipped,
    warnings: [...new Set([...wavePlan.warnings, ...extraWarnings])],
  };
}

/**
 * Short AZ labels for column headers: drop the shared region prefix but keep the digit, so
 * `ap-northeast-1a`, `ap-northeast-1c` → `1a`, `1c`. A single AZ keeps its full name.
 */
export function azLabels(azs: string[]): Record<string, string> {
  if (azs.length < 2) return Object.fromEntries(azs.map((a) => [a, a]));
  let prefix = azs[0] ?? "";
  for (const az of azs) while (!az.startsWith(prefix)) prefix = prefix.slice(0, -1);
  while (/\d$/.test(prefix)) prefix = prefix.slice(0, -1);
  return Object.fromEntries(azs.map((a) => [a, a.slice(prefix.length) || a]));
}

const MAX_LISTED_SKIPPED = 20;

export function formatPlanPreview(p: PlanPreview, chalk: ChalkInstance, source?: string): string {
  const azNames = Object.keys(p.fleet.azs);
  const label = azLabels(azNames);
  const out: string[] = [];
  const where = [
    source ?? p.fleet.source,
    p.region ? `region ${p.region}` : "",
    p.account ? `account ${p.account}` : "",
  ]
    .filter(Boolean)
    .join(" · ");
  out.push(
    `${chalk.bold(p.name)}: ${p.fleet.instances} instances in ${azNames.length} AZs (${azNames.map((az) => `${az} ${p.fleet.azs[az]}`).join(", ")}) · ${where}`,
  );
  const perAz = Object.entries(p.window.perAz)
    .map(([az, n]) => `${label[az] ?? az} ${n}`)
    .join(", ");
  out.push(
    `strategy ${p.strategy} · window ${p.window.maxUnavailable} out of service at once${perAz ? ` (per AZ: ${perAz})` : ""} · max failed ${p.maxFailed}`,
  );
  if (p.fleet.autoScalingGroups.length > 0)
    out.push(`auto scaling groups: ${p.fleet.autoScalingGroups.join(", ")}`);
  out.push("");

  out.push(chalk.bold("Target groups"));
  if (p.fleet.targetGroups.length === 0) out.push("  (none)");
  else
    out.push(
      formatTable(
        ["NAME", "TYPE", "PORT", "TARGETS", "IN FLEET", "DEREG DELAY"],
        p.fleet.targetGroups.map((tg) => [
          tg.name,
          tg.type,
          tg.port !== undefined ? String(tg.port) : "-",
          tg.overQuota ? chalk.red(String(tg.targets)) : String(tg.targets),
          String(tg.fleetInstances),
          `${tg.deregistrationDelaySeconds}s`,
        ]),
        ["left", "left", "right", "right", "right", "right"],
      ).trimEnd(),
    );
  out.push("");

  out.push(chalk.bold("Waves"));
  const headers = [
    "WAVE",
    "KIND",
    "SIZE",
    ...azNames.map((az) => label[az] ?? az),
    "CUM%",
    ...azNames.map((az) => `IN SVC ${label[az] ?? az}`),
  ];
  const rows = p.waves.map((w) => [
    String(w.index),
    w.kind === "canary" ? chalk.cyan(w.kind) : w.kind,
    String(w.size),
    ...azNames.map((az) => String(w.azs[az] ?? 0)),
    `${w.cumulativePercent.toFixed(1)}%`,
    ...azNames.map((az) => String(w.inService[az] ?? 0)),
  ]);
  out.push(
    formatTable(headers, rows, ["right", "left", ...headers.slice(2).map(() => "right" as const)]).trimEnd(),
  );

  if (p.capacity) {
    out.push("");
    out.push(formatCapacity(p.capacity, chalk).trimEnd());
  }

  if (p.skipped.length > 0) {
    out.push("");
    out.push(chalk.bold(`Skipped (${p.skipped.length}, never touched)`));
    for (const s of p.skipped.slice(0, MAX_LISTED_SKIPPED)) out.push(`  ${s.id}  ${s.az}  ${s.reason}`);
    if (p.skipped.length > MAX_LISTED_SKIPPED)
      out.push(`  … and ${p.skipped.length - MAX_LISTED_SKIPPED} more`);
  }
  if (p.warnings.length > 0) {
    out.push("");
    out.push(chalk.yellow.bold(`Warnings (${p.warnings.length})`));
    for (const w of p.warnings) out.push(`  ${chalk.yellow("!")} ${w}`);
  }
  return `${out.join("\n")}\n`;
}

const BINDS: Record<BindingLimit, string> = {
  maxUnavailable: "maxUnavailable",
  maxUnavailablePerAz: "per-AZ cap",
  capacity: "capacity",
  displacement: "displacement budget",
};

/**
 * The capacity guard's math, per AZ then in total, for `plan` and `deploy --dry-run`:
 *
 *   Capacity (CameraRelay/ActiveConnections Maximum, read at plan time; limit 250, headroom 10%)
 *   AZ   INSTANCES  CONNECTIONS  CHECK  MOST OUT  BINDS        DISPLACED/MIN
 *   1a          10         1800  AZ            2  capacity               720
 */
export function formatCapacity(c: CapacityPreview, chalk: ChalkInstance): string {
  const out: string[] = [];
  const src = `${c.source.metric} ${c.source.statistic}`;
  const read =
    c.source.readAt !== null
      ? `read at ${new Date(c.source.readAt).toISOString().replace(/\.\d{3}Z$/, "Z")}`
      : c.source.error
        ? chalk.yellow(`not read: ${c.source.error}`)
        : "not read (no AWS connection)";
  const paced = c.maxDisplacedPerMinute !== null ? `, at most ${c.maxDisplacedPerMinute} displaced/min` : "";
  out.push(
    chalk.bold("Capacity") +
      ` (${src}, ${read}; limit ${c.perInstanceLimit}, headroom ${Math.round(c.headroom * 100)}%, readings at most ${c.maxAgeSeconds}s old${paced})`,
  );
  const label = azLabels(c.azs.map((a) => a.az));
  const num = (v: number | null) => (v === null ? "?" : String(v));
  const rows = c.azs.map((a) => [
    label[a.az] ?? a.az,
    String(a.instances),
    a.connections === null ? "?" : `${a.connections}${a.missing > 0 ? ` (${a.missing} missing)` : ""}`,
    a.perAz ? "AZ" : "fleet",
    String(a.maxOut),
    BINDS[a.binds],
    num(a.displacedPerMinute),
  ]);
  const t = c.total;
  rows.push([
    "total",
    String(t.instances),
    num(t.connections),
    "",
    String(t.maxOut),
    BINDS[t.binds],
    num(t.displacedPerMinute),
  ]);
  out.push(
    formatTable(["AZ", "INSTANCES", "CONNECTIONS", "CHECK", "MOST OUT", "BINDS", "DISPLACED/MIN"], rows, [
      "left",
      "right",
      "right",
      "left",
      "right",
      "left",
      "right",
    ]).trimEnd(),
  );
  out.push(
    `  CHECK: AZ = the AZ's servers must hold its devices (cross-zone off or perAz), fleet = all servers do. DISPLACED/MIN: MOST OUT × connections per instance per ${c.drainSeconds}s drain (an estimate).`,
  );
  if (t.connections === null)
    out.push(
      chalk.yellow(
        "  No reading: MOST OUT shows the window's limits only. A rollout reads the connections first and holds until it has a reading.",
      ),
    );
  return `${out.join("\n")}\n`;
}

/**
 * The saved plan (`rollwave plan … --out plan.json`, applied by `deploy --plan plan.json`):
 * Terraform's habit of applying exactly what was reviewed. It records the plan file's hash, the
 * variables, where the fleet was (account, Region), the fleet itself (instance ids, AZs, target
 * groups, Auto Scaling groups), the waves and the window, and a hash over all of it.
 *
 * `deploy --plan` loads the same plan file with the same variables, discovers the fleet again and
 * plans again (the planner is pure and seeded, so an unchanged fleet gives the same waves), then
 * compares: any difference is listed (`savedPlanChanges`) and the deploy refuses before any
 * mutating call. Format: docs/saved-plan.md.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { Fleet } from "../fleet/types.js";
import { InputError } from "../plan/types.js";
import { shown } from "../util/quote.js";
import type { WavePlan } from "../waves/types.js";

const SAVED_PLAN_FORMAT = "rollwave.plan/1";

const savedPlanSchema = z.object({
  format: z.string(),
  rollwave: z.string(),
  createdAt: z.string(),
  plan: z.object({ file: z.string(), hash: z.string(), name: z.string() }),
  vars: z.record(z.string(), z.string()),
  target: z.object({
    source: z.enum(["aws", "inventory", "simulator"]),
    account: z.string().nullable(),
    region: z.string().nullable(),
  }),
  fleet: z.object({
    instances: z.array(
      z.object({
        id: z.string(),
        az: z.string(),
        targetGroups: z.array(z.string()),
        autoScalingGroup: z.string().optional(),
      }),
    ),
    targetGroups: z.array(z.string()),
  }),
  window: z.object({ maxUnavailable: z.number(), perAz: z.record(z.string(), z.number()) }),
  maxFailed: z.number(),
  waves: z.array(
    z.object({ index: z.number(), kind: z.enum(["canary", "batch"]), instances: z.array(z.string()) }),
  ),
  skipped: z.array(z.object({ id: z.string(), reason: z.string() })),
  hash: z.string(),
});

export type SavedPlan = z.infer<typeof savedPlanSchema>;

/** What the saved plan is made of, as `plan` has it (and `deploy --plan` has it again). */
export interface PlanSnapshot {
  planFile: string;
  planHash: string;
  planName: string;
  vars: Record<string, string>;
  fleet: Fleet;
  wavePlan: WavePlan;
}

/** JSON with every object's keys in order, so the same content always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** `sha256:…` over everything but the `hash` field itself. */
function contentHash(saved: Omit<SavedPlan, "hash"> & { hash?: string }): string {
  const { hash: _, ...content } = saved;
  return `sha256:${createHash("sha256").update(canonical(content)).digest("hex")}`;
}

/** The comparable part of a snapshot: everything but when and by which version it was made. */
function comparable(s: PlanSnapshot): Omit<SavedPlan, "format" | "rollwave" | "createdAt" | "hash"> {
  const { fleet, wavePlan } = s;
  return {
    plan: { file: s.planFile, hash: s.planHash, name: s.planName },
    vars: s.vars,
    target: { source: fleet.source, account: fleet.account, region: fleet.region },
    fleet: {
      instances: [...fleet.instances]
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .map((i) => ({
          id: i.id,
          az: i.az,
          targetGroups: i.targets.map((t) => t.targetGroupArn).sort(),
          ...(i.autoScalingGroup ? { autoScalingGroup: i.autoScalingGroup } : {}),
        })),
      targetGroups: fleet.targetGroups.map((tg) => tg.arn).sort(),
    },
    window: wavePlan.window,
    maxFailed: wavePlan.maxFailed,
    waves: wavePlan.waves.map((w) => ({
      index: w.index,
      kind: w.kind,
      instances: w.instances.map((i) => i.id),
    })),
    skipped: wavePlan.skipped.map((s) => ({ id: s.id, reason: s.reason })),
  };
}

export function savePlan(s: PlanSnapshot, o: { version: string; now: number }): SavedPlan {
  const content = {
    format: SAVED_PLAN_FORMAT,
    rollwave: o.version,
    createdAt: new Date(o.now).toISOString(),
    ...comparable(s),
  };
  return { ...content, hash: contentHash(content) };
}

/**
 * A saved plan read back: its shape, its format version and its hash are checked. Anything else
 * is bad input naming the file (exit 2): a file edited by hand after `plan` wrote it is refused.
 */
export function parseSavedPlan(text: string, file: string): SavedPlan {
  const fail = (message: string, hint: string): never => {
    throw new InputError([{ severity: "error", source: file, message, hint }]);
  };
  const again = "write it again with `rollwave plan <plan> --out <file>`";
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return fail(`not a saved plan: ${shown((e as Error).message, 200)}`, again);
  }
  const format = (raw as { format?: unknown } | null)?.format;
  if (typeof format !== "string" || !format.startsWith("rollwave.plan/")) {
    return fail("not a saved plan: it has no `format: rollwave.plan/…`", again);
  }
  if (format !== SAVED_PLAN_FORMAT) {
    return fail(
      `saved plan format ${shown(format, 40)} is not one this rollwave reads (${SAVED_PLAN_FORMAT})`,
      `${again}, with this version of rollwave`,
    );
  }
  const parsed = savedPlanSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return fail(
      `not a saved plan: ${first?.path.join(".") || "(top)"}: ${first?.message ?? "invalid"}`,
      again,
    );
  }
  if (contentHash(parsed.data) !== parsed.data.hash) {
    return fail(
      "the saved plan was changed after `rollwave plan` wrote it: its content does not match its hash",
      `review the rollout again and ${again}; a saved plan is applied only as it was reviewed`,
    );
  }
  return parsed.data;
}

const short = (arn: string) => /targetgroup\/([^/]+)/.exec(arn)?.[1] ?? arn;

/**
 * Every difference between the saved plan and the same plan made now, one line each, in the
 * shape of a diff (`+` added since, `-` gone since, `~` changed). Empty: apply it.
 *
 *   + i-0abc  ap-northeast-1a  added to the fleet
 *   - i-0def  ap-northeast-1c  gone from the fleet
 *   ~ i-0123  target groups: -relay-a +relay-b
 */
export function savedPlanChanges(saved: SavedPlan, now: PlanSnapshot): string[] {
  const fresh = comparable(now);
  const out: string[] = [];
  if (saved.plan.hash !== fresh.plan.hash) {
    out.push(
      `~ plan file ${saved.plan.file}: edited since (${saved.plan.hash.slice(0, 19)}… → ${fresh.plan.hash.slice(0, 19)}…)`,
    );
  }
  for (const k of new Set([...Object.keys(saved.vars), ...Object.keys(fresh.vars)])) {
    if (saved.vars[k] !== fresh.vars[k])
      out.push(`~ var ${k}: ${saved.vars[k] ?? "(unset)"} → ${fresh.vars[k] ?? "(unset)"}`);
  }
  for (const k of ["account", "region"] as const) {
    const was = saved.target[k];
    const is = fresh.target[k];
    if (was !== null && was !== is) out.push(`~ ${k}: ${was} → ${is ?? "unknown"}`);
  }
  const before = new Map(saved.fleet.instances.map((i) => [i.id, i]));
  const after = new Map(fresh.fleet.instances.map((i) => [i.id, i]));
  for (const [id, i] of after) if (!before.has(id)) out.push(`+ ${id}  ${i.az}  added to the fleet`);
  for (const [id, i] of before) if (!after.has(id)) out.push(`- ${id}  ${i.az}  gone from the fleet`);
  for (const [id, was] of before) {
    const is = after.get(id);
    if (!is) continue;
    if (was.az !== is.az) out.push(`~ ${id}  AZ ${was.az} → ${is.az}`);
    const diff = setDiff(was.targetGroups, is.targetGroups).map((d) => `${d[0]}${short(d.slice(1))}`);
    if (diff.length) out.push(`~ ${id}  target groups: ${diff.join(" ")}`);
    if ((was.autoScalingGroup ?? "") !== (is.autoScalingGroup ?? "")) {
      out.push(
        `~ ${id}  Auto Scaling group: ${was.autoScalingGroup ?? "none"} → ${is.autoScalingGroup ?? "none"}`,
      );
    }
  }
  for (const d of setDiff(saved.fleet.targetGroups, fresh.fleet.targetGroups)) {
    out.push(`${d[0]} target group ${short(d.slice(1))}  ${d[0] === "+" ? "added" : "gone"}`);
  }
  // The fleet is the same but the planner decided otherwise: an instance became (not) ready, or
  // the planner itself changed between versions.
  const waveOf = (waves: SavedPlan["waves"]) =>
    new Map(waves.flatMap((w) => w.instances.map((id) => [id, w.index] as const)));
  const wasIn = waveOf(saved.waves);
  const isIn = waveOf(fresh.waves);
  const skippedNow = new Map(fresh.skipped.map((s) => [s.id, s.reason]));
  for (const [id, w] of wasIn) {
    if (!after.has(id)) continue;
    const nowIn = isIn.get(id);
    if (nowIn === undefined && skippedNow.has(id))
      out.push(`~ ${id}  wave ${w} → skipped (${skippedNow.get(id)})`);
    else if (nowIn !== undefined && nowIn !== w) out.push(`~ ${id}  wave ${w} → wave ${nowIn}`);
  }
  for (const [id, w] of isIn) if (!wasIn.has(id) && before.has(id)) out.push(`~ ${id}  skipped → wave ${w}`);
  if (out.length === 0 && canonical(saved.waves) !== canonical(fresh.waves))
    out.push("~ waves: the order of instances changed");
  if (canonical(saved.window) !== canonical(fresh.window)) {
    out.push(
      `~ window: ${saved.window.maxUnavailable} → ${fresh.window.maxUnavailable} out of service at once`,
    );
  }
  if (saved.maxFailed !== fresh.maxFailed) out.push(`~ max failed: ${saved.maxFailed} → ${fresh.maxFailed}`);
  return out;
}

/** `+x` for what `b` has and `a` not, `-x` the other way, in name order. */
function setDiff(a: string[], b: string[]): string[] {
  const A = new Set(a);
  const B = new Set(b);
  return [
    ...[...B].filter((x) => !A.has(x)).map((x) => `+${x}`),
    ...[...A].filter((x) => !B.has(x)).map((x) => `-${x}`),
  ].sort((x, y) => (x.slice(1) < y.slice(1) ? -1 : 1));
}

/**
 * What `status`, `abort` and `approve` share: find the rollout a person names (a plan file, a rollout
 * id or its first characters, or nothing when the journal location holds one plan), find its lock
 * and control store, and observe it once, read-only: the lock's owner and heartbeat, a pending
 * control request, the target health of its instances out of service.
 *
 * Where it talks: the fleet lock's SSM parameter (and its `/control` sibling) when the plan's
 * `lock.store` is `ssm`; with `lock.store: local` or `--simulate` (whose simulator lives in the
 * process running the rollout) the journal directory only: the lock file and `control.json`.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { AwsReader, AwsWriter } from "../aws/types.js";
import type { JournalRecord, RolloutHeader } from "../engine/journal.js";
import type { StatusObservation, TargetHealthNow } from "../engine/status.js";
import { shortTg } from "../fleet/types.js";
import type { Plan } from "../plan/types.js";
import type { Clock } from "../util/clock.js";
import { systemClock } from "../util/clock.js";
import {
  type ControlStore,
  controlFile,
  controlParameter,
  fileControlStore,
  ssmControlStore,
} from "./control.js";
import { UsageError } from "./errors.js";
import { heartbeatAge, parseFleetLock } from "./fleet-lock.js";
import type { CliIo } from "./io.js";
import { type JournalEntry, type JournalSource, journalSource } from "./journal-source.js";
import { currentOwner, parseLock, staleReason } from "./lock.js";
import { loadPlanFromFlags, type VarFlags } from "./plan-input.js";
import { openTarget, type TargetFlags } from "./target.js";

export interface RemoteFlags extends TargetFlags, VarFlags {
  /** `--journal <dir>` (alias `--journal-dir`): where the journals are (default .rollwave). */
  journal?: string;
  journalDir?: string;
}

export interface RolloutRef {
  source: JournalSource;
  entry: JournalEntry;
  records: JournalRecord[];
  header: RolloutHeader;
  /** Loaded when the plan file could be read (given, or named by the journal's header). */
  plan?: Plan;
  planFile?: string;
  lock: { store: "ssm" | "local"; parameter: string; staleAfterMs: number };
  /** Talk through the journal directory only (`lock.store: local`, or the rollout runs with --simulate). */
  local: boolean;
  /** Appended to suggested commands: `--journal-dir <dir>` when not the default. */
  commandArgs: string[];
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

const looksLikePlan = (arg: string) => /\.(ya?ml|json)$/i.test(arg);

export async function resolveRollout(
  io: CliIo,
  arg: string | undefined,
  flags: RemoteFlags,
): Promise<RolloutRef> {
  const location = flags.journal ?? flags.journalDir;
  const source = journalSource(location, io.cwd);
  const entries = await source.entries();
  let plan: Plan | undefined;
  let planFile: string | undefined;
  let entry: JournalEntry | undefined;
  let records: JournalRecord[] | undefined;
  if (arg !== undefined && (looksLikePlan(arg) || (await isFile(join(io.cwd, arg))))) {
    planFile = arg;
    const requireVars = (flags.var ?? []).length > 0 || (flags.varFile ?? []).length > 0;
    plan = (await loadPlanFromFlags(io, arg, flags, { requireVars })).plan;
    const name = plan.name;
    entry = entries.find((e) => e.plan === name && e.current) ?? entries.find((e) => e.plan === name);
    if (!entry)
      throw new UsageError(
        `no rollout of ${name} in ${source.label}`,
        "pass the journal directory the rollout writes to with --journal (default .rollwave)",
      );
  } else if (arg !== undefined) {
    if (arg.length < 4)
      throw new UsageError(
        `'${arg}' is neither a plan file nor a rollout id`,
        "give a plan file or at least 4 characters of a rollout id",
      );
    const found: { entry: JournalEntry; records: JournalRecord[] }[] = [];
    for (const e of entries) {
      const rs = await e.records().catch(() => []);
      const h = rs.find((r) => r.type === "header");
      if (h?.type === "header" && h.rolloutId.startsWith(arg)) found.push({ entry: e, records: rs });
    }
    if (found.length === 0)
      throw new UsageError(
        `no rollout ${arg} in ${source.label}`,
        "`rollwave list` shows the rollouts there; pass another location with --journal",
      );
    const ids = new Set(found.map((f) => (f.records[0] as { rolloutId?: string }).rolloutId));
    if (ids.size > 1)
      throw new UsageError(`'${arg}' matches ${ids.size} rollouts`, "give more characters of the id");
    const f = found.find((x) => x.entry.current) ?? (found[0] as (typeof found)[number]);
    entry = f.entry;
    records = f.records;
  } else {
    const current = entries.filter((e) => e.current);
    if (current.length !== 1)
      throw new UsageError(
        current.length === 0
          ? `no rollout in ${source.label}`
          : `${source.label} holds rollouts of ${current.length} plans (${current.map((e) => e.plan).join(", ")})`,
        "name one: a plan file or a rollout id (`rollwave list` shows them)",
      );
    entry = current[0] as JournalEntry;
  }
  records ??= await entry.records();
  const header = [...records].reverse().find((r) => r.type === "header");
  if (header?.type !== "header")
    throw new UsageError(
      `${entry.where} has no header record`,
      "it was written by an older rollwave: use `rollwave report`",
    );
  const { type: _t, at: _a, changes: _c, ...h } = header;
  if (!plan && h.planFile && (await isFile(join(io.cwd, h.planFile)))) {
    try {
      plan = (await loadPlanFromFlags(io, h.planFile, {}, { requireVars: false })).plan;
      planFile = h.planFile;
    } catch {
      plan = undefined; // the plan changed or moved since: the defaults below still find the lock
    }
  }
  const lock = plan?.lock ?? {
    store: "ssm" as const,
    parameter: `/rollwave/locks/${h.name}`,
    staleAfterMs: 5 * 60_000,
  };
  const ref: RolloutRef = {
    source,
    entry,
    records,
    header: h,
    lock,
    local: Boolean(flags.simulate) || lock.store === "local",
    commandArgs: source.flag !== undefined ? ["--journal-dir", source.flag] : [],
  };
  if (plan) ref.plan = plan;
  if (planFile ?? h.planFile) ref.planFile = (planFile ?? h.planFile) as string;
  return ref;
}

interface RemoteConnection {
  reader: AwsReader;
  writer?: AwsWriter;
  clock: Clock;
  close(): Promise<void>;
}

/** The AWS connection for a rollout's lock and health (none for a local one). */
export async function connectFor(
  io: CliIo,
  ref: RolloutRef,
  flags: RemoteFlags,
  o: { write: boolean },
): Promise<RemoteConnection | undefined> {
  if (ref.local) return undefined;
  const region = flags.region ?? ref.plan?.region ?? ref.header.region ?? null;
  const target = await openTarget(io, { region } as Pick<Plan, "region">, { ...flags, simulate: false });
  const { createAws, createReadOnlyAws } = await import("../aws/connect.js");
  const aws = o.write ? createAws(target.aws) : createReadOnlyAws(target.aws);
  const writer = o.write ? (aws as ReturnType<typeof createAws>).writer : undefined;
  return {
    reader: aws.reader,
    ...(writer ? { writer } : {}),
    clock: target.clock,
    async close() {
      aws.close();
      await target.close();
    },
  };
}

export function controlStoreFor(ref: RolloutRef, conn: RemoteConnection | undefined): ControlStore {
  if (conn) return ssmControlStore(conn, controlParameter(ref.lock.parameter));
  if (!ref.entry.dir)
    throw new UsageError(`${ref.entry.where}: a local control file needs a local journal directory`);
  return fileControlStore(controlFile(ref.entry.dir));
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * One read-only look: who holds the lock (and whether that is this rollout, alive), a pending
 * control request, and the target health of the instances the journal has out of service.
 */
export async function observeRollout(
  ref: RolloutRef,
  conn: RemoteConnection | undefined,
  outOfService: { id: string; targets: string[] }[],
): Promise<StatusObservation> {
  const clock = conn?.clock ?? systemClock;
  const obs: StatusObservation = { owner: null, alive: false, at: clock.now() };
  if (!conn) {
    // The local lock beside the journal: held by a process that may be running → alive.
    if (ref.entry.current && ref.entry.dir) {
      const { readFile } = await import("node:fs/promises");
      const text = await readFile(join(ref.entry.dir, "lock"), "utf8").catch(() => undefined);
      if (text !== undefined) {
        const holder = parseLock(text);
        const stale = staleReason(holder, await currentOwner());
        if (holder && stale === undefined) {
          obs.alive = true;
          obs.owner = { lock: "local", pid: holder.pid, ...(holder.host ? { host: holder.host } : {}) };
        }
      }
    }
  } else {
    try {
      const p = await conn.reader.getParameter(ref.lock.parameter);
      const holder = p && parseFleetLock(p.value);
      if (holder && holder.rolloutId === ref.header.rolloutId) {
        const age = heartbeatAge(holder, obs.at, ref.lock.staleAfterMs);
        obs.alive = !age.stale;
        obs.owner = {
          lock: "ssm",
          user: holder.owner.user,
          host: holder.owner.host,
          ...(holder.owner.ciJob ? { ciJob: holder.owner.ciJob } : {}),
          pid: holder.pid,
          heartbeatAt: holder.heartbeatAt,
          heartbeatAgeSeconds: Math.round(age.ageMs / 1000),
          stale: age.stale,
        };
      }
      // No lock, or another rollout's: this one is not running (owner null, not alive).
    } catch (e) {
      obs.ownerError = `could not read the fleet lock ${ref.lock.parameter}: ${errText(e)}`;
    }
  }
  try {
    const pending = await controlStoreFor(ref, conn).get();
    obs.pendingControl =
      pending === "invalid" ? null : pending && pending.rolloutId === ref.header.rolloutId ? pending : null;
  } catch (e) {
    obs.ownerError ??= `could not read the control requests: ${errText(e)}`;
  }
  if (conn && outOfService.length > 0) {
    const groups = [...new Set(outOfService.flatMap((i) => i.targets))];
    const health: Record<string, TargetHealthNow[]> = {};
    try {
      for (const arn of groups) {
        const all = await conn.reader.describeTargetHealth(arn);
        for (const i of outOfService) {
          if (!i.targets.includes(arn)) continue;
          const d = all.find((t) => t.id === i.id);
          const row: TargetHealthNow = { targetGroup: shortTg(arn), state: d?.state ?? "absent" };
          if (d?.reason) row.reason = d.reason;
          health[i.id] = [...(health[i.id] ?? []), row];
        }
      }
      obs.health = health;
    } catch (e) {
      obs.healthError = `could not read target health: ${errText(e)}`;
    }
  }
  return obs;
}

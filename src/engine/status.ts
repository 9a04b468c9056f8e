/**
 * `rollwave status`: where a rollout stands, derived PURELY from its journal plus one fresh
 * observation the CLI makes (the lock's owner and heartbeat, the target health of the instances
 * out of service, a pending control request). Nothing here reads AWS or files.
 *
 * The state, and the CLI's exit code for it (a CI gate, as `argo rollouts status` is):
 *   running      the journal has no end and its owner is alive (a fresh lock)        exit 5
 *   paused       the journal ends `paused`: `rollwave resume` continues               exit 3
 *   stopped      no end, and no live owner: the process was killed; resume continues  exit 3
 *   succeeded                                                                         exit 0
 *   failed | rolled-back | aborted                                                    exit 1
 *
 * The JSON shape (`status --output json`) is `RolloutStatusView`, schemaVersion 1: fields are only
 * added within a version; times are ISO 8601 strings.
 */
import type { ControlRequest } from "./control.js";
import type { GateKind, InstancePhase, RolloutStatus } from "./events.js";
import { type JournalRecord, type RolloutHeader, replayJournal } from "./journal.js";
import { countInstances, type EngineState, type InstanceRun, isInFlight, occupiesSlot } from "./state.js";

const STATUS_SCHEMA_VERSION = 1;
/** The runner's default capacity wait (RolloutOptions.capacityWaitMs): a hold this long pauses. */
const DEFAULT_CAPACITY_WAIT_MS = 30 * 60_000;

export type StatusState = "running" | "paused" | "stopped" | RolloutStatus;

interface StatusOwner {
  user?: string;
  host?: string;
  ciJob?: string;
  pid?: number;
  /** Where the owner was read: `ssm` (the fleet lock) or `local` (the lock file beside the journal). */
  lock: "ssm" | "local";
  heartbeatAt?: string;
  heartbeatAgeSeconds?: number;
  stale?: boolean;
}

export interface TargetHealthNow {
  targetGroup: string;
  state: string;
  reason?: string;
}

export interface StatusObservation {
  /** The lock's holder when it is this rollout's; null when there is no lock (or another rollout's). */
  owner: StatusOwner | null;
  /** The owner may be running (a fresh heartbeat, a live local process). */
  alive: boolean;
  /** The lock could not be read: liveness unknown (the rollout counts as running). */
  ownerError?: string;
  /** Fresh target health per out-of-service instance, when read. */
  health?: Record<string, TargetHealthNow[]>;
  healthError?: string;
  /** A control request waiting for the rollout (not handled yet). */
  pendingControl?: ControlRequest | null;
  at: number;
}

export interface RolloutStatusView {
  schemaVersion: number;
  rolloutId: string;
  plan: string;
  planFile?: string;
  vars: Record<string, string>;
  state: StatusState;
  /** Why it paused or ended, or what it is doing when stopping. */
  reason?: string;
  startedAt: string;
  startedBy?: string;
  /** The journal's last record. */
  updatedAt: string;
  owner: StatusOwner | null;
  wave: { index: number; kind: "canary" | "batch"; of: number } | null;
  instances: {
    total: number;
    pending: number;
    inFlight: number;
    succeeded: number;
    failed: number;
    skipped: number;
    rolledBack: number;
  };
  phases: Partial<Record<InstancePhase, number>>;
  waitingFor: { gate: GateKind; message: string; since?: string; until?: string } | null;
  failures: { id: string; az: string; phase: InstancePhase; reason: string }[];
  outOfService: {
    id: string;
    az: string;
    phase: InstancePhase;
    reason?: string;
    /** Fresh target health in each of its groups; null when not read. */
    targetHealth: TargetHealthNow[] | null;
  }[];
  /** Control requests handled so far (from the journal), newest last. */
  control: { action: string; requestedBy: string; at: string; outcome: string; message: string }[];
  pendingControl: ControlRequest | null;
  /** The next command to run, with a word on why. */
  next: { command: string; why: string } | null;
  observation: { at: string; errors: string[] };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Where this rollout stands. `commandArgs` are appended to suggested commands (`--journal-dir …`). */
export function deriveStatus(
  records: JournalRecord[],
  obs: StatusObservation,
  o: { planFile?: string; commandArgs?: string[] } = {},
): RolloutStatusView {
  const { state: s, header, end } = replayJournal(records);
  const h: RolloutHeader = header ?? {
    rolloutId: "unknown",
    name: s.global.name,
    vars: {},
    waves: [],
    account: null,
    region: null,
  };
  const last = records[records.length - 1];
  const g = s.global;
  const instances = Object.values(s.instances);

  let state: StatusState;
  if (end) state = end.status;
  else if (obs.alive || obs.ownerError !== undefined) state = "running";
  else state = "stopped";

  const phases: Partial<Record<InstancePhase, number>> = {};
  for (const i of instances) phases[i.phase] = (phases[i.phase] ?? 0) + 1;
  const counts = countInstances(s);
  const inFlight = instances.filter(isInFlight).length;

  const failures = instances
    .filter((i) => i.phase === "failed")
    .map((i) => ({ id: i.id, az: i.az, phase: i.failedPhase ?? i.phase, reason: i.reason ?? "failed" }));
  const outOfService = instances
    .filter((i) => i.out || occupiesSlot(i))
    .map((i) => {
      const row: RolloutStatusView["outOfService"][number] = {
        id: i.id,
        az: i.az,
        phase: i.phase,
        targetHealth: obs.health?.[i.id] ?? null,
      };
      const why = i.reason ?? i.lost;
      if (why !== undefined) row.reason = why;
      return row;
    });

  const control = records.flatMap((r) =>
    r.type === "control"
      ? [
          {
            action: r.request.action,
            requestedBy: r.request.requestedBy,
            at: iso(r.at),
            outcome: r.outcome,
            message: r.message,
          },
        ]
      : [],
  );

  const reason =
    end?.reason ??
    (g.mode !== "running" && g.policy.reason
      ? `${g.mode === "rollingBack" ? "rolling back" : "stopping"}: ${g.policy.reason}`
      : undefined);
  const planFile = o.planFile ?? h.planFile ?? h.name;
  const view: RolloutStatusView = {
    schemaVersion: STATUS_SCHEMA_VERSION,
    rolloutId: h.rolloutId,
    plan: h.name,
    ...(h.planFile !== undefined ? { planFile: h.planFile } : {}),
    vars: h.vars,
    state,
    ...(reason !== undefined ? { reason } : {}),
    startedAt: iso(g.startedAt),
    ...(h.startedBy !== undefined ? { startedBy: h.startedBy } : {}),
    updatedAt: iso(last?.at ?? g.startedAt),
    owner: obs.owner,
    wave: currentWave(s),
    instances: {
      total: counts.total,
      pending: phases.pending ?? 0,
      inFlight,
      succeeded: counts.succeeded,
      failed: counts.failed,
      skipped: counts.skipped,
      rolledBack: counts.rolledBack,
    },
    phases,
    waitingFor: state === "running" ? waitingFor(s, obs.at) : pausedGate(s),
    failures,
    outOfService,
    control,
    pendingControl: obs.pendingControl ?? null,
    next: null,
    observation: {
      at: iso(obs.at),
      errors: [obs.ownerError, obs.healthError].filter((e): e is string => e !== undefined),
    },
  };
  view.next = nextCommand(view, h, planFile, o.commandArgs ?? [], s, end !== undefined);
  return view;
}

function currentWave(s: EngineState): RolloutStatusView["wave"] {
  const waves = s.global.waves;
  const w = waves.find((x) => x.started && !x.finished) ?? [...waves].reverse().find((x) => x.started);
  return w ? { index: w.index, kind: w.kind, of: waves.length } : null;
}

/** What a running rollout is holding for: a gate with its deadline, or a capacity hold with its numbers. */
function waitingFor(s: EngineState, now: number): RolloutStatusView["waitingFor"] {
  const g = s.global;
  const c = g.canary;
  if (g.mode !== "running") return null;
  if (c.approval === "waiting")
    return {
      gate: "approval",
      message:
        c.approvalUntil !== undefined
          ? "canary done: waiting for `rollwave approve` (or `rollwave abort`) from any terminal"
          : "canary done: waiting for an answer at the prompt of the terminal running it",
      ...(c.approvalUntil !== undefined ? { until: iso(c.approvalUntil) } : {}),
    };
  if (c.bakeUntil !== undefined && !c.baked)
    return {
      gate: "bake",
      message:
        now < c.bakeUntil
          ? "canary baking: watching health and alarms"
          : "canary bake over: waiting for evidence (health and alarms readable)",
      until: iso(c.bakeUntil),
    };
  if (g.heldSince !== undefined)
    return {
      gate: "capacity",
      message: g.heldReason ?? "held by a capacity check",
      since: iso(g.heldSince),
      until: iso(g.heldSince + DEFAULT_CAPACITY_WAIT_MS),
    };
  if (g.devices?.lowSince !== undefined)
    return {
      gate: "connectedDevices",
      message: `fewer devices connected than the plan's health.connectedDevices allows (${g.devices.start} at the start)`,
      since: iso(g.devices.lowSince),
    };
  return null;
}

/** A paused rollout waits for `resume`; say which gate it paused at, if any. */
function pausedGate(s: EngineState): RolloutStatusView["waitingFor"] {
  const g = s.global;
  if (g.pausedFor === "approval")
    return {
      gate: "approval",
      message: "paused at the approval gate: `rollwave resume` counts as the approval",
    };
  if (g.pausedFor === "capacity" && g.heldReason)
    return { gate: "capacity", message: `paused after a capacity hold: ${g.heldReason}` };
  return null;
}

function nextCommand(
  v: RolloutStatusView,
  h: RolloutHeader,
  planFile: string,
  extra: string[],
  s: EngineState,
  ended: boolean,
): RolloutStatusView["next"] {
  const q = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);
  const cmd = (...args: string[]) => ["rollwave", ...args, ...extra].map(q).join(" ");
  const vars = Object.entries(h.vars).flatMap(([k, val]) => ["--var", `${k}=${val}`]);
  switch (v.state) {
    case "running":
      if (v.waitingFor?.gate === "approval" && s.global.canary.approvalUntil !== undefined)
        return {
          command: cmd("approve", planFile),
          why: "the canary is done and the approval gate waits (`rollwave abort` stops it instead)",
        };
      return { command: cmd("status", planFile, "--watch"), why: "the rollout is running" };
    case "paused":
    case "stopped": {
      const inFlight = Object.values(s.instances).some((i: InstanceRun) => isInFlight(i));
      return {
        command: cmd("resume", planFile, ...vars),
        why:
          v.state === "stopped"
            ? `its process is gone without an end record${inFlight ? " (instances were in flight: resume re-observes them)" : ""}; resume continues`
            : "resume continues the rollout (`rollwave abort` ends it instead)",
      };
    }
    default:
      return ended
        ? { command: cmd("report", planFile, "--out", "report.html"), why: "the rollout has ended" }
        : null;
  }
}

/**
 * The fleet lock: one rollout of a plan at a time, across machines, as an SSM parameter
 * (`lock.parameter`, default `/rollwave/locks/<plan name>`). The local file lock (./lock.ts) only
 * keeps two processes on one machine off one journal; this one keeps two machines off one fleet.
 *
 *   - Create: PutParameter with `Overwrite: false`, AWS's atomic create-if-absent
 *     (ParameterAlreadyExists when someone holds it). The value is JSON:
 *     {"owner":{"user":"ana","host":"ci-7","ciJob":"github:1234/1"},"pid":4242,
 *      "rolloutId":"…","startedAt":"2026-…Z","heartbeatAt":"2026-…Z"}
 *   - Heartbeat: every minute (on the run's clock), read the parameter and overwrite it only when it
 *     is still ours (rollout id, pid and host) at the version we last wrote. Parameter Store has no
 *     conditional overwrite, so a writer slipping in between the read and the write is caught
 *     afterwards: our write's version is not the one after the version we read. Either way the
 *     lock is reported lost and the rollout pauses; it never keeps running on someone else's lock.
 *   - Held: a second rollout fails with exit 4, naming the owner, the rollout id and the
 *     heartbeat's age. A heartbeat older than `lock.staleAfter` (default 5m) is stale: `resume` of
 *     the same rollout id takes it over; `rollwave unlock` removes it.
 *   - Release: when the run ends (any status), deleted if it is still ours.
 */
import { randomUUID } from "node:crypto";
import { hostname, userInfo } from "node:os";
import type { AwsReader, AwsWriter } from "../aws/types.js";
import type { JournalRecord } from "../engine/journal.js";
import { brand, hasBrand } from "../util/brand.js";
import type { Clock } from "../util/clock.js";
import { formatDuration } from "../util/duration.js";

const HEARTBEAT_MS = 60_000;

export interface FleetLockOwner {
  user: string;
  host: string;
  /** The CI job when known: `github:<run id>/<attempt>`, `gitlab:<job id>`, `jenkins:<tag>`… */
  ciJob?: string;
}

export interface FleetLockValue {
  owner: FleetLockOwner;
  pid: number;
  rolloutId: string;
  startedAt: string;
  heartbeatAt: string;
}

/**
 * Thrown when another rollout holds the lock: exit 4. Branded as a `LockHeldError` (cli/lock.ts),
 * which is what cli/errors.ts recognises.
 */
export class FleetLockHeldError extends Error {
  static isFleetLockHeldError(e: unknown): e is FleetLockHeldError {
    return hasBrand(e, "FleetLockHeldError");
  }
  readonly code = "E_LOCK_HELD";
  constructor(
    message: string,
    readonly hint: string,
    readonly holder?: FleetLockValue,
  ) {
    super(message);
    this.name = "LockHeldError";
    brand(this, "LockHeldError");
    brand(this, "FleetLockHeldError");
  }
}

/** This process as a lock owner, with the CI job from the environment when there is one. */
export function currentFleetOwner(env: Record<string, string | undefined>): FleetLockOwner {
  let user = env.USER ?? env.USERNAME;
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = "unknown";
    }
  }
  const owner: FleetLockOwner = { user, host: hostname() };
  const ciJob = env.GITHUB_RUN_ID
    ? `github:${env.GITHUB_REPOSITORY ? `${env.GITHUB_REPOSITORY}/` : ""}${env.GITHUB_RUN_ID}/${env.GITHUB_RUN_ATTEMPT ?? "1"}`
    : env.CI_JOB_ID
      ? `gitlab:${env.CI_JOB_ID}`
      : env.BUILD_TAG
        ? `jenkins:${env.BUILD_TAG}`
        : env.CODEBUILD_BUILD_ID
          ? `codebuild:${env.CODEBUILD_BUILD_ID}`
          : env.CIRCLE_WORKFLOW_JOB_ID
            ? `circleci:${env.CIRCLE_WORKFLOW_JOB_ID}`
            : undefined;
  if (ciJob) owner.ciJob = ciJob;
  return owner;
}

export function parseFleetLock(text: string): FleetLockValue | undefined {
  try {
    const v = JSON.parse(text) as FleetLockValue;
    if (typeof v?.rolloutId !== "string" || typeof v.heartbeatAt !== "string" || !v.owner) return undefined;
    if (Number.isNaN(Date.parse(v.heartbeatAt))) return undefined;
    return v;
  } catch {
    return undefined;
  }
}

/** `ana@ci-7 (CI job github:1234/1), pid 4242` */
export function describeOwner(v: FleetLockValue): string {
  return `${v.owner.user}@${v.owner.host}${v.owner.ciJob ? ` (CI job ${v.owner.ciJob})` : ""}, pid ${v.pid}`;
}

/** How old the heartbeat is at `now`, and whether that is stale. */
export function heartbeatAge(v: FleetLockValue, now: number, staleAfterMs: number) {
  const ageMs = Math.max(0, now - Date.parse(v.heartbeatAt));
  return { ageMs, stale: ageMs > staleAfterMs, text: formatDuration(ageMs) };
}

function same(a: FleetLockValue, b: FleetLockValue): boolean {
  return a.rolloutId === b.rolloutId && a.pid === b.pid && a.owner.host === b.owner.host;
}

export interface FleetLockOptions {
  reader: AwsReader;
  writer: AwsWriter;
  clock: Clock;
  parameter: string;
  staleAfterMs: number;
  rolloutId: string;
  /** `resume`: a stale lock of the same rollout id is taken over. */
  resume: boolean;
  /** For messages: `rollwave unlock <planFile>`. */
  planFile: string;
  owner: FleetLockOwner;
  pid?: number;
  heartbeatMs?: number;
  /** A stale lock was taken over (the CLI prints it). */
  onTakeover?(message: string): void;
  /** The lock is no longer ours (taken, removed): the CLI pauses the rollout. Called once. */
  onLost?(message: string): void;
  /** A heartbeat failed (an AWS error): retried at the next beat. */
  onWarning?(message: string): void;
}

interface FleetLock {
  readonly value: FleetLockValue;
  /** Version of the parameter last written by us. */
  readonly version: number;
  /** Renew the heartbeat once now (the loop does this every minute); false when the lock is lost. */
  beat(): Promise<boolean>;
  /** Stop heartbeating and delete the parameter if it is still ours. */
  release(): Promise<void>;
}

/** Take the fleet lock or throw FleetLockHeldError; heartbeats until released. */
export async function acquireFleetLock(o: FleetLockOptions): Promise<FleetLock> {
  const now = () => new Date(o.clock.now()).toISOString();
  const mine: FleetLockValue = {
    owner: o.owner,
    pid: o.pid ?? process.pid,
    rolloutId: o.rolloutId,
    startedAt: now(),
    heartbeatAt: now(),
  };
  let version = 0;
  for (let attempt = 0; attempt < 3 && version === 0; attempt++) {
    const created = await o.writer.putParameter({
      name: o.parameter,
      value: JSON.stringify(mine),
      overwrite: false,
    });
    if (created) {
      version = created.version;
      break;
    }
    const current = await o.reader.getParameter(o.parameter);
    if (!current) continue; // released between our create and our read: try the create again
    const holder = parseFleetLock(current.value);
    if (!holder) {
      throw new FleetLockHeldError(
        `the fleet lock ${o.parameter} exists but is not a rollwave lock (${JSON.stringify(current.value.slice(0, 80))})`,
        `if nothing else uses that parameter, remove it with \`rollwave unlock ${o.planFile} --force\`, or set lock.parameter in the plan`,
      );
    }
    const age = heartbeatAge(holder, o.clock.now(), o.staleAfterMs);
    if (age.stale && o.resume && holder.rolloutId === o.rolloutId) {
      const put = await o.writer.putParameter({
        name: o.parameter,
        value: JSON.stringify(mine),
        overwrite: true,
      });
      // Two resumers taking over at once: only the one whose write is the very next version wins.
      if (put && put.version === current.version + 1) {
        version = put.version;
        o.onTakeover?.(
          `taking over the stale fleet lock ${o.parameter} of rollout ${holder.rolloutId} (${describeOwner(holder)}; last heartbeat ${age.text} ago)`,
        );
        break;
      }
      continue;
    }
    const staleText = age.stale ? ` (stale: older than ${formatDuration(o.staleAfterMs)})` : "";
    throw new FleetLockHeldError(
      `rollout ${holder.rolloutId} holds the fleet lock ${o.parameter}: ${describeOwner(holder)}, started ${holder.startedAt}; last heartbeat ${age.text} ago${staleText}`,
      age.stale
        ? holder.rolloutId === o.rolloutId
          ? `that rollout's process is gone: \`rollwave resume ${o.planFile}\` takes the lock over`
          : `if that rollout's process is gone, \`rollwave resume ${o.planFile}\` with its journal takes the lock over, or \`rollwave unlock ${o.planFile}\` removes it`
        : `wait for it to end, or ask its owner; if its process is gone, the lock turns stale ${formatDuration(o.staleAfterMs - age.ageMs)} from now (\`rollwave unlock ${o.planFile} --force\` removes it at once)`,
      holder,
    );
  }
  if (version === 0) {
    throw new FleetLockHeldError(
      `the fleet lock ${o.parameter} kept changing while rollwave tried to take it`,
      "another rollout is starting at the same moment: try again",
    );
  }

  const stop = new AbortController();
  let lost = false;
  const loseIt = (message: string) => {
    if (lost) return;
    lost = true;
    stop.abort();
    o.onLost?.(message);
  };

  const beat = async (): Promise<boolean> => {
    if (lost) return false;
    const current = await o.reader.getParameter(o.parameter);
    const holder = current && parseFleetLock(current.value);
    if (!current || !holder) {
      loseIt(`the fleet lock ${o.parameter} was removed (rollwave unlock?) while this rollout held it`);
      return false;
    }
    if (!same(holder, mine) || current.version !== version) {
      loseIt(
        `the fleet lock ${o.parameter} now belongs to rollout ${holder.rolloutId} (${describeOwner(holder)})`,
      );
      return false;
    }
    const next: FleetLockValue = { ...mine, heartbeatAt: now() };
    const put = await o.writer.putParameter({
      name: o.parameter,
      value: JSON.stringify(next),
      overwrite: true,
    });
    if (!put || put.version !== current.version + 1) {
      loseIt(`another process wrote the fleet lock ${o.parameter} while this rollout renewed it`);
      return false;
    }
    version = put.version;
    return true;
  };

  const loop = (async () => {
    const every = o.heartbeatMs ?? HEARTBEAT_MS;
    while (!stop.signal.aborted) {
      try {
        await o.clock.sleep(every, stop.signal);
      } catch {
        return;
      }
      if (stop.signal.aborted) return;
      try {
        await beat();
      } catch (e) {
        o.onWarning?.(
          `warning: could not renew the fleet lock ${o.parameter}: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
  })();

  return {
    value: mine,
    get version() {
      return version;
    },
    beat,
    async release() {
      stop.abort();
      await loop;
      if (lost) return;
      const current = await o.reader.getParameter(o.parameter);
      const holder = current && parseFleetLock(current.value);
      if (current && holder && same(holder, mine) && current.version === version) {
        await o.writer.deleteParameter(o.parameter);
      }
    },
  };
}

/** What `deploy` / `resume` hold while they run: the rollout id the lock names, and its release. */
export interface HeldFleetLock {
  rolloutId: string;
  /** Called once when the lock is lost (at once if it already was): pause the rollout. */
  onLost(handler: (message: string) => void): void;
  release(): Promise<void>;
}

/**
 * The lock for a `deploy` (a new rollout id) or a `resume` (the journal's rollout id), when the
 * plan's `lock.store` is `ssm`; undefined for `local` (the journal's file lock is then the only one).
 */
export async function takeFleetLock(o: {
  plan: { lock: { store: "ssm" | "local"; parameter: string; staleAfterMs: number } };
  reader: AwsReader;
  writer: AwsWriter;
  clock: Clock;
  env: Record<string, string | undefined>;
  resume: boolean;
  /** The journal's records when claimed: a resume keeps their rollout id. */
  journalRecords: JournalRecord[];
  planFile: string;
  onTakeover(message: string): void;
  onWarning(message: string): void;
}): Promise<HeldFleetLock | undefined> {
  if (o.plan.lock.store !== "ssm") return undefined;
  const rolloutId = (o.resume ? await journalRolloutId(o.journalRecords) : undefined) ?? randomUUID();
  let lostMessage: string | undefined;
  let handler: ((message: string) => void) | undefined;
  const lock = await acquireFleetLock({
    reader: o.reader,
    writer: o.writer,
    clock: o.clock,
    parameter: o.plan.lock.parameter,
    staleAfterMs: o.plan.lock.staleAfterMs,
    rolloutId,
    resume: o.resume,
    planFile: o.planFile,
    owner: currentFleetOwner(o.env),
    onTakeover: o.onTakeover,
    onWarning: o.onWarning,
    onLost: (m) => {
      lostMessage = m;
      handler?.(m);
    },
  });
  return {
    rolloutId,
    onLost(h) {
      handler = h;
      if (lostMessage !== undefined) h(lostMessage);
    },
    release: () => lock.release(),
  };
}

/** The rollout id in a journal's header, if it has one. */
async function journalRolloutId(records: JournalRecord[]): Promise<string | undefined> {
  const { replayJournal } = await import("../engine/journal.js");
  try {
    return replayJournal(records).header?.rolloutId;
  } catch {
    return undefined;
  }
}

/**
 * The journal of a `deploy`/`resume`: where it is, its lock, and whether the rollout in it may
 * start or continue. Locally `.rollwave/<plan>/journal.ndjson` beside a `lock` file; in S3
 * (`--journal s3://bucket/prefix`, or `journal:` in the plan) objects under `<prefix>/<plan>/`
 * (engine/journal-store.ts), with no local file at all, so a resume can run on another machine. With
 * `--simulate` the fleet lives only in this process, so the journal defaults to a throwaway
 * directory, kept only when the run pauses (there is then something to resume).
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { AwsOptions } from "../aws/connect.js";
import type { Journal, JournalRecord } from "../engine/journal.js";
import type { JournalLocation } from "../engine/journal-store.js";
import { UsageError } from "./errors.js";
import type { CliIo } from "./io.js";
import { acquireLock } from "./lock.js";

export interface RunJournal {
  /** For messages: the journal file, e.g. `.rollwave/camera-relay/journal.ndjson`, or `s3://bucket/prefix/camera-relay/`. */
  file: string;
  /** Set for a throwaway `--simulate` directory: resuming needs `--journal-dir <it>`. */
  tempDir?: string;
  /** The latest rollout's records as read when claimed ([] when there is none). */
  previous: JournalRecord[];
  /** Open it for the engine; a finished rollout's journal is first moved aside. Only once confirmed. */
  open(): Promise<Journal>;
  /** Keep a throwaway directory after all (the run paused). */
  keep(): void;
  /** Close the journal, release the lock, remove a throwaway directory unless kept. */
  release(): Promise<void>;
}

/**
 * Where the journal lives: `--journal` (S3 or a directory), else `--journal-dir`, else the plan's
 * `journal:`, else `.rollwave` (a temp dir with `--simulate`). Both flags at once, or S3 with
 * `--simulate` from the flag, are bad input; the plan's S3 journal is not used by `--simulate`.
 */
export function chooseJournalLocation(
  io: CliIo,
  o: {
    journal?: JournalLocation;
    journalDir?: string;
    planJournal: { bucket: string; prefix: string } | null;
    simulated: boolean;
  },
): JournalLocation | undefined {
  if (o.journal && o.journalDir !== undefined) {
    throw new UsageError(
      "--journal and --journal-dir both choose where the journal lives",
      "use one of them",
    );
  }
  if (o.journal?.kind === "s3" && o.simulated) {
    throw new UsageError(
      "--journal s3://… with --simulate: the simulator --simulate starts lives only in this process, so its S3 is gone when the run ends",
      "start a standalone `rollwave sim` and pass --endpoint-url (and --sim-clock), or drop --journal",
    );
  }
  if (o.journal) return o.journal;
  if (o.journalDir !== undefined) return { kind: "dir", dir: o.journalDir };
  if (o.planJournal && !o.simulated) return { kind: "s3", ...o.planJournal };
  if (o.planJournal)
    io.stderr.write("note: --simulate keeps the journal locally; the plan's S3 journal is not used\n");
  return undefined;
}

/**
 * Lock the plan's journal directory (a local one) and check that `resume` has a rollout to continue
 * and `deploy` would not overwrite an open one (both `UsageError`, exit 2). Throws `LockHeldError`
 * (exit 4) when another process holds the lock. In S3 there is no local lock: the fleet lock keeps
 * two machines apart, and the conditional puts stop a second writer at its first record.
 */
export async function claimRunJournal(
  io: CliIo,
  o: {
    planName: string;
    location?: JournalLocation;
    simulated: boolean;
    resume: boolean;
    /** For a journal in S3: the connection's options (Region, credentials, endpoint). */
    aws?: AwsOptions & { forcePathStyle?: boolean };
  },
): Promise<RunJournal> {
  const [{ openJournalStore }, { replayJournal }] = await Promise.all([
    import("../engine/journal-store.js"),
    import("../engine/journal.js"),
  ]);
  const s3 = o.location?.kind === "s3" ? o.location : undefined;
  const journalDir = o.location?.kind === "dir" ? o.location.dir : undefined;
  const tempDir =
    !s3 && !journalDir && o.simulated ? await mkdtemp(join(tmpdir(), "rollwave-sim-")) : undefined;
  const root = s3 ? undefined : (tempDir ?? resolve(io.cwd, journalDir ?? ".rollwave"));
  let keep = tempDir === undefined;
  let journal: Journal | undefined;
  let unlock: (() => Promise<void>) | undefined;
  let closeStore: (() => Promise<void>) | undefined;
  const release = async () => {
    await journal?.close();
    await closeStore?.();
    await unlock?.();
    if (!keep && root) await rm(root, { recursive: true, force: true });
  };
  try {
    if (root) {
      const dir = join(root, o.planName);
      await mkdir(dir, { recursive: true });
      unlock = await acquireLock(join(dir, "lock"), {
        onTakeover: (message) => io.stderr.write(`${message}\n`),
      });
    }
    const store = await openJournalStore(s3 ?? { kind: "dir", dir: root as string }, {
      planName: o.planName,
      ...(o.aws ? { aws: o.aws } : {}),
    });
    closeStore = () => store.close();
    const previous = await readForClaim(store, s3 !== undefined);
    const state = unfinished(previous, replayJournal);
    if (o.resume && state !== "open") {
      throw new UsageError(
        state === "none"
          ? `no rollout of ${o.planName} to resume in ${store.where}`
          : `the last rollout of ${o.planName} has ended`,
        "start one with `rollwave deploy`",
      );
    }
    if (!o.resume && state === "open") {
      throw new UsageError(
        `a rollout of ${o.planName} is paused or was interrupted (journal ${store.where})`,
        s3
          ? "continue it with `rollwave resume` and the same --journal"
          : "continue it with `rollwave resume`, or move the journal away to start over",
      );
    }
    return {
      file: store.where,
      ...(tempDir ? { tempDir } : {}),
      previous,
      async open() {
        journal = await store.open({ fresh: !o.resume && state === "finished" });
        return journal;
      },
      keep() {
        keep = true;
      },
      release,
    };
  } catch (error) {
    await release();
    throw error;
  }
}

/** The latest rollout's records; an S3 failure names the location and what to check (exit 2 when it is the input's fault). */
async function readForClaim(
  store: { where: string; readAll(): Promise<JournalRecord[]> },
  s3: boolean,
): Promise<JournalRecord[]> {
  try {
    return await store.readAll();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (s3 && (code === "NoSuchBucket" || code === "AccessDenied" || code === "PermanentRedirect")) {
      throw new UsageError(
        `cannot read the journal ${store.where}: ${(error as Error).message}`,
        code === "NoSuchBucket"
          ? "create the bucket first (aws s3 mb), or correct --journal / the plan's journal:"
          : code === "AccessDenied"
            ? "the credentials need s3:ListBucket and s3:GetObject/PutObject on the journal's prefix (rollwave iam-policy lists them)"
            : "the bucket is in another Region: pass its Region with --region or use a bucket in the fleet's Region",
      );
    }
    throw error;
  }
}

/** Is there a rollout in this journal that has not ended (or ended paused)? The engine's replay decides. */
function unfinished(
  records: JournalRecord[],
  replay: (r: JournalRecord[]) => { end?: { status: string } },
): "none" | "finished" | "open" {
  if (records.length === 0) return "none";
  try {
    const { end } = replay(records);
    return end && end.status !== "paused" ? "finished" : "open";
  } catch {
    return "open"; // unreadable as a rollout: let resume report it rather than deploy overwrite it
  }
}

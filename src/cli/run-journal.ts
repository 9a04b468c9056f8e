/**
 * The journal directory of a `deploy`/`resume`: where it is, its lock, and whether the rollout in
 * it may start or continue. `.rollwave/<plan>/journal.ndjson` beside a `lock` file; with
 * `--simulate` the fleet lives only in this process, so the journal defaults to a throwaway
 * directory, kept only when the run pauses (there is then something to resume).
 */
import { mkdir, mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Journal } from "../engine/journal.js";
import { UsageError } from "./errors.js";
import type { CliIo } from "./io.js";
import { acquireLock } from "./lock.js";

export interface RunJournal {
  /** The journal file, e.g. `.rollwave/camera-relay/journal.ndjson`. */
  file: string;
  /** Set for a throwaway `--simulate` directory: resuming needs `--journal-dir <it>`. */
  tempDir?: string;
  /** Open it for the engine; a finished rollout's journal is first moved aside. Only once confirmed. */
  open(): Promise<Journal>;
  /** Keep a throwaway directory after all (the run paused). */
  keep(): void;
  /** Close the journal, release the lock, remove a throwaway directory unless kept. */
  release(): Promise<void>;
}

/**
 * Lock the plan's journal directory and check that `resume` has a rollout to continue and `deploy`
 * would not overwrite an open one (both `UsageError`, exit 2). Throws `LockHeldError` (exit 4)
 * when another process holds the lock.
 */
export async function claimRunJournal(
  io: CliIo,
  o: { planName: string; journalDir?: string; simulated: boolean; resume: boolean },
): Promise<RunJournal> {
  const tempDir = !o.journalDir && o.simulated ? await mkdtemp(join(tmpdir(), "rollwave-sim-")) : undefined;
  const root = tempDir ?? resolve(io.cwd, o.journalDir ?? ".rollwave");
  let keep = tempDir === undefined;
  let journal: Journal | undefined;
  let unlock: (() => Promise<void>) | undefined;
  const release = async () => {
    await journal?.close();
    await unlock?.();
    if (!keep) await rm(root, { recursive: true, force: true });
  };
  try {
    const dir = join(root, o.planName);
    await mkdir(dir, { recursive: true });
    const file = join(dir, "journal.ndjson");
    unlock = await acquireLock(join(dir, "lock"), {
      onTakeover: (message) => io.stderr.write(`${message}\n`),
    });
    const previous = await unfinished(file);
    if (o.resume && previous !== "open") {
      throw new UsageError(
        previous === "none"
          ? `no rollout of ${o.planName} to resume in ${dir}`
          : `the last rollout of ${o.planName} has ended`,
        "start one with `rollwave deploy`",
      );
    }
    if (!o.resume && previous === "open") {
      throw new UsageError(
        `a rollout of ${o.planName} is paused or was interrupted (journal ${file})`,
        "continue it with `rollwave resume`, or move the journal away to start over",
      );
    }
    return {
      file,
      ...(tempDir ? { tempDir } : {}),
      async open() {
        if (!o.resume && previous === "finished")
          await rename(file, join(dir, `journal-${Date.now()}.ndjson`));
        const { openFileJournal } = await import("../engine/journal.js");
        journal = await openFileJournal(file);
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

/** Is there a rollout in this journal that has not ended (or ended paused)? The engine's replay decides. */
async function unfinished(journalFile: string): Promise<"none" | "finished" | "open"> {
  let text: string;
  try {
    text = await readFile(journalFile, "utf8");
  } catch {
    return "none";
  }
  const { parseJournal, replayJournal } = await import("../engine/journal.js");
  const records = parseJournal(text);
  if (records.length === 0) return "none";
  try {
    const { end } = replayJournal(records);
    return end && end.status !== "paused" ? "finished" : "open";
  } catch {
    return "open"; // unreadable as a rollout: let resume report it rather than deploy overwrite it
  }
}

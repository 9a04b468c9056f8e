/**
 * Reading the rollouts of a journal location, for `status`, `list`, `abort` and `approve`: every
 * journal read by these commands goes through `journalSource(location)`. Today a location is a
 * directory (`.rollwave` by default) laid out as `deploy` writes it:
 *
 *   <dir>/<plan name>/journal.ndjson          the current (or last) rollout of that plan
 *   <dir>/<plan name>/journal-<ms>.ndjson     earlier rollouts, moved aside by the next `deploy`
 *   <dir>/<plan name>/lock                    the local lock of the process running it
 *   <dir>/<plan name>/control.json            a pending control request (lock.store: local)
 *
 * An S3 location (`s3://bucket/prefix`) plugs in here: one more branch returning the same entries.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type Journal, type JournalRecord, parseJournal } from "../engine/journal.js";
import { UsageError } from "./errors.js";

export interface JournalEntry {
  /** The plan name (the directory). */
  plan: string;
  /** Where it is, for messages: a file path (or an S3 key). */
  where: string;
  /** The plan's current journal (`journal.ndjson`), not an archived one. */
  current: boolean;
  /** The plan's directory, for the local lock and control file; absent for remote locations. */
  dir?: string;
  /** Last modification time (ms), to sort by recency. */
  modifiedAt: number;
  records(): Promise<JournalRecord[]>;
  /** Open it to append (the caller holds the journal's lock). */
  open(): Promise<Journal>;
}

export interface JournalSource {
  /** `.rollwave` (resolved) or `s3://…`, for messages. */
  label: string;
  /** The root as given, for the `--journal-dir` of a suggested command; absent for the default. */
  flag?: string;
  entries(): Promise<JournalEntry[]>;
}

const DEFAULT_JOURNAL_DIR = ".rollwave";

export function journalSource(location: string | undefined, cwd: string): JournalSource {
  if (location?.startsWith("s3://")) {
    throw new UsageError(
      `${location}: an S3 journal location is not supported by this build`,
      "pass the journal directory (default .rollwave)",
    );
  }
  const root = resolve(cwd, location ?? DEFAULT_JOURNAL_DIR);
  return {
    label: root,
    ...(location !== undefined ? { flag: location } : {}),
    async entries() {
      let plans: string[];
      try {
        plans = (await readdir(root, { withFileTypes: true }))
          .filter((d) => d.isDirectory())
          .map((d) => d.name);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw e;
      }
      const out: JournalEntry[] = [];
      for (const plan of plans.sort()) {
        const dir = join(root, plan);
        const files = (await readdir(dir)).filter((f) => /^journal(-\d+)?\.ndjson$/.test(f));
        for (const f of files) {
          const path = join(dir, f);
          const st = await stat(path).catch(() => undefined);
          if (!st) continue;
          out.push({
            plan,
            where: path,
            current: f === "journal.ndjson",
            dir,
            modifiedAt: st.mtimeMs,
            records: async () => parseJournal(await readFile(path, "utf8")),
            open: async () => (await import("../engine/journal.js")).openFileJournal(path),
          });
        }
      }
      return out.sort((a, b) => b.modifiedAt - a.modifiedAt);
    },
  };
}

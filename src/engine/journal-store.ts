/**
 * Where a plan's journal lives: a local directory (the default) or S3, behind one small interface.
 * `deploy`/`resume` open it for appending; `status`, `list` and `report` only read it.
 *
 *   const store = await openJournalStore(parseJournalLocation("s3://ops-bucket/rollwave"), {
 *     planName: "camera-relay",
 *     aws: { region: "eu-west-1" },            // only for s3:// (plus endpointUrl/credentials for a simulator)
 *   });
 *   const records = await store.readAll();     // the latest rollout's records, in order ([] if none)
 *   await store.close();
 *
 * Layouts:
 *   dir  <dir>/<plan>/journal.ndjson — one NDJSON file, fsync'ed per record; a finished rollout's
 *        journal is renamed to journal-<ms>.ndjson when the next deploy starts (openFileJournal).
 *   s3   <prefix>/<plan>/r000001/0000000001.ndjson, 0000000002.ndjson, … — one object per flush
 *        (one or more NDJSON records), in a zero-padded sequence, created with `If-None-Match: *`
 *        so two writers can never interleave: the second one to take a sequence number gets 412
 *        and stops (`JournalConflictError`), never overwriting. Each rollout gets the next
 *        generation (`r000002/` …); the latest generation is the current rollout, older ones stay
 *        (as the renamed files do locally). S3 is strongly read-after-write consistent, so a resume
 *        on another machine lists every object that was acted upon.
 */
import { readFile, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import type { AwsOptions } from "../aws/connect.js";
import type { ObjectStore } from "../aws/object-store.js";
import { brand } from "../util/brand.js";
import { parseS3Url } from "../util/s3-url.js";
import { type Journal, type JournalRecord, openFileJournal, parseJournal } from "./journal.js";

export type JournalLocation = { kind: "dir"; dir: string } | { kind: "s3"; bucket: string; prefix: string };

interface JournalStore {
  /** For messages: the file (`.rollwave/web/journal.ndjson`) or `s3://bucket/prefix/web/r000003/`. */
  readonly where: string;
  /** Every record of the latest rollout at this location, in order; [] when there is none. Reads only. */
  readAll(): Promise<JournalRecord[]>;
  /**
   * Open for appending. `fresh: false` continues the latest rollout's journal (resume); `fresh: true`
   * starts a new one (deploy), keeping the previous one (renamed aside, or an older generation).
   */
  open(o: { fresh: boolean }): Promise<Journal>;
  /** Release what the store holds (the S3 connection). Journals it opened are closed by their owner. */
  close(): Promise<void>;
}

/** Another writer holds the journal: it took the sequence number this process meant to write. */
export class JournalConflictError extends Error {
  readonly code = "E_JOURNAL_CONFLICT";
  readonly hint: string;
  constructor(
    readonly where: string,
    readonly key: string,
  ) {
    super(
      `another writer holds the journal ${where}: it wrote ${key} first (S3 412 PreconditionFailed); nothing was overwritten and this process writes no more to it`,
    );
    this.hint =
      "another rollwave process is running this rollout (check the fleet lock); when it is gone, `rollwave resume` continues from the journal";
    this.name = "JournalConflictError";
    // Exit 4 like a held lock when it happens before anything changed.
    brand(this, "LockHeldError");
  }
}

/** An S3 journal that cannot be trusted as a whole: a gap, a foreign key, a body that is not NDJSON. */
export class JournalCorruptError extends Error {
  readonly code = "E_JOURNAL_CORRUPT";
  constructor(
    message: string,
    readonly hint = "the journal in S3 is written only by rollwave; restore the object from a version or backup, or move the prefix away to start over",
  ) {
    super(message);
    this.name = "JournalCorruptError";
  }
}

/** `s3://…` → an S3 location (throws on a bad URL); anything else is a directory. */
export function parseJournalLocation(text: string): JournalLocation {
  if (!text.startsWith("s3://")) return { kind: "dir", dir: text };
  const parsed = parseS3Url(text);
  if ("error" in parsed) throw new Error(`${parsed.error} (${parsed.hint})`);
  return { kind: "s3", ...parsed };
}

/**
 * The store at a location. A directory is taken as given (resolve it first); S3 opens its own
 * connection from `aws` (path-style when an endpoint is set).
 */
export async function openJournalStore(
  location: JournalLocation,
  o: { planName: string; aws?: AwsOptions & { forcePathStyle?: boolean } },
): Promise<JournalStore> {
  if (location.kind === "dir") return fileJournalStore(location.dir, o.planName);
  if (!o.aws) throw new Error("a journal in S3 needs AWS options (region, credentials)");
  const { createS3ObjectStore } = await import("../aws/object-store.js");
  return s3JournalStore(createS3ObjectStore(o.aws), location, o.planName);
}

/** The local journal: `<dir>/<plan>/journal.ndjson`, as before there was a store. */
export function fileJournalStore(dir: string, planName: string): JournalStore {
  const folder = join(dir, planName);
  const file = join(folder, "journal.ndjson");
  return {
    where: file,
    async readAll() {
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch {
        return [];
      }
      return parseJournal(text);
    },
    async open({ fresh }) {
      if (fresh && (await stat(file).catch(() => undefined))) {
        await rename(file, join(folder, `journal-${Date.now()}.ndjson`));
      }
      return openFileJournal(file);
    },
    async close() {},
  };
}

const GENERATION_RE = /^r(\d{6})\/$/;
const OBJECT_RE = /^(\d{10})\.ndjson$/;
/** GETs in flight at once while reading a journal (a 2-hour rollout holds ~1,000 objects). */
const READ_CONCURRENCY = 16;

const pad = (n: number, width: number) => String(n).padStart(width, "0");

/** The journal in S3 (see the file comment for the layout). */
export function s3JournalStore(
  objects: ObjectStore,
  location: { bucket: string; prefix: string },
  planName: string,
): JournalStore {
  const { bucket } = location;
  const base = `${location.prefix ? `${location.prefix}/` : ""}${planName}/`;
  const url = (key: string) => `s3://${bucket}/${key}`;

  /** The generations under the plan's prefix, ascending. Other "folders" there are not ours: ignored. */
  async function generations(): Promise<number[]> {
    const { prefixes } = await objects.listObjects(bucket, base, { delimiter: "/" });
    const out: number[] = [];
    for (const p of prefixes) {
      const m = GENERATION_RE.exec(p.slice(base.length));
      if (m) out.push(Number(m[1]));
    }
    return out.sort((a, b) => a - b);
  }

  const genPrefix = (gen: number) => `${base}r${pad(gen, 6)}/`;

  /** Every record of one generation, checked whole: keys 1..n with no gap, every object NDJSON. */
  async function readGeneration(gen: number): Promise<{ records: JournalRecord[]; last: number }> {
    const prefix = genPrefix(gen);
    const { keys } = await objects.listObjects(bucket, prefix);
    const seqs: number[] = [];
    for (const key of keys) {
      const m = OBJECT_RE.exec(key.slice(prefix.length));
      if (!m)
        throw new JournalCorruptError(
          `the journal ${url(prefix)} holds an object that is not rollwave's: ${url(key)}`,
        );
      seqs.push(Number(m[1]));
    }
    seqs.forEach((seq, i) => {
      if (seq !== i + 1) {
        throw new JournalCorruptError(
          `the journal ${url(prefix)} is missing object ${pad(i + 1, 10)}.ndjson (the next one is ${pad(seq, 10)}.ndjson): records that were acted on may be lost`,
        );
      }
    });
    const bodies: string[] = new Array(keys.length);
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const i = next++;
        const key = keys[i] as string;
        const body = await objects.getObject(bucket, key);
        if (body === undefined)
          throw new JournalCorruptError(`the journal object ${url(key)} was listed but is gone`);
        bodies[i] = body;
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, keys.length) }, worker));
    const records: JournalRecord[] = [];
    bodies.forEach((body, i) => {
      records.push(...parseObject(body, url(keys[i] as string)));
    });
    return { records, last: keys.length };
  }

  const store: JournalStore = {
    where: url(base),
    async readAll() {
      const gens = await generations();
      const latest = gens.at(-1);
      return latest === undefined ? [] : (await readGeneration(latest)).records;
    },
    async open({ fresh }) {
      const gens = await generations();
      const latest = gens.at(-1) ?? 0;
      if (fresh || latest === 0) {
        const gen = latest + 1;
        return new S3Journal(objects, bucket, genPrefix(gen), url(genPrefix(gen)), [], 1);
      }
      const { records, last } = await readGeneration(latest);
      return new S3Journal(objects, bucket, genPrefix(latest), url(genPrefix(latest)), records, last + 1);
    },
    async close() {
      objects.close();
    },
  };
  return store;
}

/** An object's records. PutObject is atomic, so a body that does not parse is not a torn write: refused. */
function parseObject(body: string, where: string): JournalRecord[] {
  if (body === "" || !body.endsWith("\n")) {
    throw new JournalCorruptError(
      `the journal object ${where} is ${body === "" ? "empty" : "not newline-terminated NDJSON"}: rollwave did not write it`,
    );
  }
  return body
    .slice(0, -1)
    .split("\n")
    .map((line, n) => {
      try {
        const r = JSON.parse(line) as unknown;
        if (typeof r !== "object" || r === null || typeof (r as { type?: unknown }).type !== "string")
          throw new Error("not a journal record");
        return r as JournalRecord;
      } catch (e) {
        throw new JournalCorruptError(
          `the journal object ${where} is corrupt at line ${n + 1}: ${(e as Error).message}`,
        );
      }
    });
}

interface Pending {
  record: JournalRecord;
  resolve(): void;
  reject(e: unknown): void;
}

/**
 * Appends as objects. Records appended while a put is in flight go out together in the next one
 * (each append resolves once the object holding it exists). A put whose answer was lost is
 * recognised when its sequence number turns out taken by an object with exactly its bytes.
 */
class S3Journal implements Journal {
  private queue: Pending[] = [];
  private pumping: Promise<void> | undefined;
  private conflict: JournalConflictError | undefined;
  /** A put that failed without a clear answer: it may have landed. */
  private uncertain: { seq: number; body: string } | undefined;

  constructor(
    private readonly objects: ObjectStore,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly where: string,
    private readonly records: JournalRecord[],
    private seq: number,
  ) {}

  append(record: JournalRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      // A copy, as a file would hold: later mutation of the state cannot rewrite history.
      this.queue.push({ record: JSON.parse(JSON.stringify(record)) as JournalRecord, resolve, reject });
      this.pumping ??= this.pump();
    });
  }

  async read(): Promise<JournalRecord[]> {
    await this.settled();
    return this.records.map((r) => JSON.parse(JSON.stringify(r)) as JournalRecord);
  }

  async close(): Promise<void> {
    await this.settled();
  }

  private async settled(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      try {
        await this.write(batch.map((p) => p.record));
        for (const p of batch) p.resolve();
      } catch (e) {
        for (const p of batch) p.reject(e);
      }
    }
    // Cleared in the same step that saw the queue empty: an append from now on starts a new pump.
    this.pumping = undefined;
  }

  private async write(records: JournalRecord[]): Promise<void> {
    if (this.conflict) throw this.conflict;
    const body = records.map((r) => `${JSON.stringify(r)}\n`).join("");
    for (;;) {
      const key = `${this.prefix}${pad(this.seq, 10)}.ndjson`;
      let outcome: "created" | "exists";
      try {
        outcome = await this.objects.putIfAbsent(this.bucket, key, body);
      } catch (e) {
        // Not durable as far as anyone knows; the engine records the state again next tick.
        this.uncertain = { seq: this.seq, body };
        throw e;
      }
      if (outcome === "exists") {
        const there = await this.objects.getObject(this.bucket, key);
        if (there === body) {
          // This very put: the SDK retried one whose answer was lost, and the retry found it.
        } else if (this.uncertain?.seq === this.seq && there === this.uncertain.body) {
          // An earlier put that seemed to fail had landed: its records are in the journal.
          this.records.push(...parseObject(there, key));
          this.seq++;
          this.uncertain = undefined;
          continue;
        } else {
          this.conflict = new JournalConflictError(this.where, key.slice(this.prefix.length));
          throw this.conflict;
        }
      }
      this.records.push(...records);
      this.seq++;
      this.uncertain = undefined;
      return;
    }
  }
}

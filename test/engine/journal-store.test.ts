/**
 * The journal in S3 (engine/journal-store.ts) against the simulator's S3, through the real SDK
 * client: ordered objects, another machine continuing where the first stopped, pagination past
 * 1,000 objects, the conditional write that stops a second writer, a put whose answer was lost,
 * and objects that are not rollwave's.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createS3ObjectStore, type ObjectStore } from "../../src/aws/object-store.js";
import { AwsCallError } from "../../src/aws/types.js";
import type { JournalRecord } from "../../src/engine/journal.js";
import {
  fileJournalStore,
  JournalConflictError,
  JournalCorruptError,
  openJournalStore,
  parseJournalLocation,
  s3JournalStore,
} from "../../src/engine/journal-store.js";
import { startTestSim, type TestSim } from "../sim/wire/helpers.js";

let sim: TestSim;
const stores: ObjectStore[] = [];
beforeAll(async () => {
  sim = await startTestSim();
  sim.wire.objects.createBucket("journal");
});
afterEach(() => {
  sim.wire.faults.set({ errorRate: 0, lostResponseRate: 0 });
});
afterAll(async () => {
  for (const s of stores) s.close();
  await sim.close();
});

/** A connection as another process would open it (its own client); few attempts keep errors quick. */
function objects(maxAttempts = 3): ObjectStore {
  const s = createS3ObjectStore({
    // The client-side budget runs on real time here: lift it so the 1,005 reads do not wait on it.
    rateLimits: { S3: { burst: 10_000, perSecond: 10_000 } },
    region: sim.region,
    endpointUrl: sim.endpoint,
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
    maxAttempts,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
  });
  stores.push(s);
  return s;
}

let n = 0;
/** A fresh prefix per test: tests share one bucket. */
const prefix = () => `t${++n}`;
const rec = (i: number): JournalRecord => ({
  type: "asg",
  at: i,
  op: "suspend",
  group: `g${i}`,
  processes: [],
});
const puts = () => sim.wire.counter.snapshot().byAction["S3.PutObject"] ?? 0;
const keys = (p: string) => (sim.wire.objects.snapshot().journal ?? []).filter((k) => k.startsWith(`${p}/`));

describe("the journal in S3", () => {
  it("writes one object per record in sequence; another machine reads them in order and continues", async () => {
    const p = prefix();
    const a = s3JournalStore(objects(), { bucket: "journal", prefix: p }, "web");
    const j = await a.open({ fresh: true });
    for (let i = 1; i <= 3; i++) await j.append(rec(i));
    expect(keys(p)).toEqual([
      `${p}/web/r000001/0000000001.ndjson`,
      `${p}/web/r000001/0000000002.ndjson`,
      `${p}/web/r000001/0000000003.ndjson`,
    ]);
    // Another process: its own connection, nothing but the location.
    const b = await openJournalStore(parseJournalLocation(`s3://journal/${p}/`), {
      planName: "web",
      aws: {
        region: sim.region,
        endpointUrl: sim.endpoint,
        credentials: { accessKeyId: "y", secretAccessKey: "y" },
      },
    });
    expect(b.where).toBe(`s3://journal/${p}/web/`);
    expect((await b.readAll()).map((r) => r.at)).toEqual([1, 2, 3]);
    const j2 = await b.open({ fresh: false });
    await j2.append(rec(4));
    expect(keys(p).at(-1)).toBe(`${p}/web/r000001/0000000004.ndjson`);
    expect((await j2.read()).map((r) => r.at)).toEqual([1, 2, 3, 4]);
    await b.close();
  });

  it("records appended while a put is in flight go out together, each durable before its append resolves", async () => {
    const p = prefix();
    const j = await s3JournalStore(objects(), { bucket: "journal", prefix: p }, "web").open({ fresh: true });
    const before = puts();
    const settled: number[] = [];
    await Promise.all(Array.from({ length: 20 }, (_, i) => j.append(rec(i)).then(() => settled.push(i))));
    expect(settled).toHaveLength(20);
    // The first put carries one record; the other 19 wait for it and share the next one.
    expect(puts() - before).toBe(2);
    const again = s3JournalStore(objects(), { bucket: "journal", prefix: p }, "web");
    expect((await again.readAll()).map((r) => r.at)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("reads a journal of 1,005 objects across two list pages, in sequence order", async () => {
    const p = prefix();
    for (let i = 1; i <= 1005; i++) {
      const key = `${p}/big/r000001/${String(i).padStart(10, "0")}.ndjson`;
      sim.wire.objects.put("journal", key, `${JSON.stringify(rec(i))}\n`, 0);
    }
    const lists = () => sim.wire.counter.snapshot().byAction["S3.ListObjectsV2"] ?? 0;
    const before = lists();
    const store = s3JournalStore(objects(), { bucket: "journal", prefix: p }, "big");
    const records = await store.readAll();
    expect(records.map((r) => r.at)).toEqual(Array.from({ length: 1005 }, (_, i) => i + 1));
    // One listing of the generations, two pages of objects.
    expect(lists() - before).toBe(3);
    const j = await store.open({ fresh: false });
    await j.append(rec(1006));
    expect(keys(p).at(-1)).toBe(`${p}/big/r000001/0000001006.ndjson`);
  }, 60_000);

  it("a second writer on the same sequence gets 412: it stops with JournalConflictError and overwrites nothing", async () => {
    const p = prefix();
    const a = await s3JournalStore(objects(), { bucket: "journal", prefix: p }, "web").open({ fresh: true });
    await a.append(rec(1));
    // Two processes resume the same rollout at once: both will write object 2.
    const b1 = await s3JournalStore(objects(), { bucket: "journal", prefix: p }, "web").open({
      fresh: false,
    });
    const b2 = await s3JournalStore(objects(), { bucket: "journal", prefix: p }, "web").open({
      fresh: false,
    });
    await b1.append(rec(2));
    const err = await b2.append(rec(99)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(JournalConflictError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `another writer holds the journal s3://journal/${p}/web/r000001/: it wrote 0000000002.ndjson first`,
      ),
    );
    expect(sim.wire.objects.get("journal", `${p}/web/r000001/0000000002.ndjson`).body).toBe(
      `${JSON.stringify(rec(2))}\n`,
    );
    // It writes nothing more, not even at the next free number.
    const before = puts();
    await expect(b2.append(rec(100))).rejects.toBeInstanceOf(JournalConflictError);
    expect(puts()).toBe(before);
    expect(keys(p)).toHaveLength(2);
  });

  it("two deploys starting a new rollout at once: one gets the generation, the other a conflict", async () => {
    const p = prefix();
    const [x, y] = await Promise.all([
      s3JournalStore(objects(), { bucket: "journal", prefix: p }, "web").open({ fresh: true }),
      s3JournalStore(objects(), { bucket: "journal", prefix: p }, "web").open({ fresh: true }),
    ]);
    const results = await Promise.allSettled([x.append(rec(1)), y.append(rec(2))]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect((results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason).toBeInstanceOf(
      JournalConflictError,
    );
  });

  it("a put whose answer was lost: the SDK's retry finds its own object and the record is written once", async () => {
    const p = prefix();
    const j = await s3JournalStore(objects(), { bucket: "journal", prefix: p }, "web").open({ fresh: true });
    sim.wire.faults.set({ lostResponseRate: 1 });
    await j.append(rec(1));
    sim.wire.faults.set({ lostResponseRate: 0 });
    await j.append(rec(2));
    const again = s3JournalStore(objects(), { bucket: "journal", prefix: p }, "web");
    expect((await again.readAll()).map((r) => r.at)).toEqual([1, 2]);
  });

  it("a put that failed but had landed is found by the next one, which goes to the next number", async () => {
    const p = prefix();
    // One attempt: the lost answer surfaces as a failed append (the engine re-records next tick).
    const j = await s3JournalStore(objects(1), { bucket: "journal", prefix: p }, "web").open({ fresh: true });
    sim.wire.faults.set({ lostResponseRate: 1 });
    await expect(j.append(rec(1))).rejects.toMatchObject({
      operation: "S3.PutObject",
      code: "InternalError",
    });
    sim.wire.faults.set({ lostResponseRate: 0 });
    await j.append(rec(2));
    expect(keys(p)).toHaveLength(2);
    expect((await j.read()).map((r) => r.at)).toEqual([1, 2]);
  });

  it("S3 errors reach the caller as AwsCallErrors; nothing is recorded, and the next append retries the number", async () => {
    const p = prefix();
    const j = await s3JournalStore(objects(2), { bucket: "journal", prefix: p }, "web").open({ fresh: true });
    sim.wire.faults.set({ errorRate: 1 });
    const err = await j.append(rec(1)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(AwsCallError.isAwsCallError(err)).toBe(true);
    expect(err).toMatchObject({ operation: "S3.PutObject", retryable: true });
    sim.wire.faults.set({ errorRate: 0 });
    await j.append(rec(2));
    expect(keys(p)).toEqual([`${p}/web/r000001/0000000001.ndjson`]);
    expect((await j.read()).map((r) => r.at)).toEqual([2]);

    const missing = s3JournalStore(objects(1), { bucket: "no-such-bucket", prefix: "" }, "web");
    await expect(missing.readAll()).rejects.toMatchObject({
      operation: "S3.ListObjectsV2",
      code: "NoSuchBucket",
    });
  });

  it("a new rollout after a finished one is the next generation; the old one is kept", async () => {
    const p = prefix();
    const store = s3JournalStore(objects(), { bucket: "journal", prefix: p }, "web");
    const first = await store.open({ fresh: true });
    await first.append(rec(1));
    await first.append({ type: "end", at: 2, status: "succeeded" });
    const second = await store.open({ fresh: true });
    await second.append(rec(3));
    expect(keys(p)).toEqual([
      `${p}/web/r000001/0000000001.ndjson`,
      `${p}/web/r000001/0000000002.ndjson`,
      `${p}/web/r000002/0000000001.ndjson`,
    ]);
    expect((await store.readAll()).map((r) => r.at)).toEqual([3]);
  });

  describe("objects that are not rollwave's are refused, naming the key", () => {
    async function journalWith(extra: [string, string][]) {
      const p = prefix();
      const j = await s3JournalStore(objects(), { bucket: "journal", prefix: p }, "web").open({
        fresh: true,
      });
      await j.append(rec(1));
      await j.append(rec(2));
      for (const [k, body] of extra) sim.wire.objects.put("journal", `${p}/web/r000001/${k}`, body, 0);
      return s3JournalStore(objects(), { bucket: "journal", prefix: p }, "web");
    }
    const corrupt = async (extra: [string, string][]) => {
      const err = await (await journalWith(extra)).readAll().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(JournalCorruptError);
      return (err as Error).message;
    };

    it("garbage as the last object (PutObject is atomic, so it is no torn write)", async () => {
      expect(await corrupt([["0000000003.ndjson", '{"type":"decis']])).toMatch(
        /0000000003\.ndjson is not newline-terminated NDJSON/,
      );
      expect(await corrupt([["0000000003.ndjson", "not json\n"]])).toMatch(
        /0000000003\.ndjson is corrupt at line 1: /,
      );
      expect(await corrupt([["0000000003.ndjson", '{"type":"asg"}\n[1]\n']])).toMatch(
        /0000000003\.ndjson is corrupt at line 2: not a journal record/,
      );
      expect(await corrupt([["0000000003.ndjson", ""]])).toMatch(/0000000003\.ndjson is empty/);
    });

    it("a gap in the sequence (an object deleted) and a foreign key", async () => {
      expect(await corrupt([["0000000004.ndjson", `${JSON.stringify(rec(4))}\n`]])).toMatch(
        /is missing object 0000000003\.ndjson \(the next one is 0000000004\.ndjson\)/,
      );
      expect(await corrupt([["notes.txt", "hello\n"]])).toMatch(
        /holds an object that is not rollwave's: .*notes\.txt/,
      );
    });

    it("a resume refuses to open such a journal for appending", async () => {
      const store = await journalWith([["0000000003.ndjson", "garbage\n"]]);
      await expect(store.open({ fresh: false })).rejects.toBeInstanceOf(JournalCorruptError);
    });
  });
});

describe("journal locations", () => {
  it("parses s3:// URLs and refuses malformed ones", () => {
    expect(parseJournalLocation("s3://ops-bucket/rollwave/journals/")).toEqual({
      kind: "s3",
      bucket: "ops-bucket",
      prefix: "rollwave/journals",
    });
    expect(parseJournalLocation("s3://ops-bucket")).toEqual({ kind: "s3", bucket: "ops-bucket", prefix: "" });
    expect(parseJournalLocation("./state")).toEqual({ kind: "dir", dir: "./state" });
    expect(() => parseJournalLocation("s3://Bad_Bucket/x")).toThrow(/not a valid S3 bucket name/);
    expect(() => parseJournalLocation("s3://ok-bucket/a//b")).toThrow(/empty, '\.' or '\.\.' segment/);
    expect(() => parseJournalLocation("s3://ok-bucket/a/../b")).toThrow(/segment/);
  });

  it("the local store is the file journal as before: .rollwave/<plan>/journal.ndjson", () => {
    expect(fileJournalStore("/tmp/x", "web").where).toBe("/tmp/x/web/journal.ndjson");
  });
});

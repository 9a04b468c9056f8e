/**
 * S3 through the real SDK client, path-style, against the simulator's object model: what the journal
 * in S3 (remote-rollouts issue §2) builds on. Conditional create, NoSuchKey/NoSuchBucket, and
 * ListObjectsV2 paging by continuation token, start-after, max-keys and delimiter.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSim, type TestSim } from "./helpers.js";

let sim: TestSim;
let s3: S3Client;
beforeAll(async () => {
  sim = await startTestSim();
  s3 = new S3Client({ ...sim.client, forcePathStyle: true, maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: "journal" }));
});
afterAll(async () => {
  s3.destroy();
  await sim.close();
});

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );
const put = (Key: string, Body: string, IfNoneMatch?: string) =>
  s3.send(new PutObjectCommand({ Bucket: "journal", Key, Body, ...(IfNoneMatch ? { IfNoneMatch } : {}) }));
const text = async (Key: string) =>
  (await s3.send(new GetObjectCommand({ Bucket: "journal", Key }))).Body?.transformToString();

describe("S3 objects", () => {
  it("PutObject with If-None-Match: * creates once; a second one is 412 PreconditionFailed and changes nothing", async () => {
    const first = await put("a/000001.ndjson", '{"n":1}\n', "*");
    expect(first.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    const err = await failure(put("a/000001.ndjson", '{"n":2}\n', "*"));
    expect(err).toMatchObject({ name: "PreconditionFailed", $metadata: { httpStatusCode: 412 } });
    expect(await text("a/000001.ndjson")).toBe('{"n":1}\n');
    // Without the condition a put overwrites, as in S3.
    await put("a/000001.ndjson", '{"n":3}\n');
    expect(await text("a/000001.ndjson")).toBe('{"n":3}\n');
  });

  it("GetObject of a missing key is NoSuchKey (404); a missing bucket is NoSuchBucket (404)", async () => {
    expect(await failure(text("a/nothing"))).toMatchObject({
      name: "NoSuchKey",
      $metadata: { httpStatusCode: 404 },
    });
    const err = await failure(s3.send(new GetObjectCommand({ Bucket: "no-such-bucket", Key: "k" })));
    expect(err).toMatchObject({ name: "NoSuchBucket", $metadata: { httpStatusCode: 404 } });
  });

  it("keys with spaces and unicode round-trip; DeleteObject removes a key and succeeds on a missing one", async () => {
    await put("odd/ä b+c%.txt", "x");
    expect(await text("odd/ä b+c%.txt")).toBe("x");
    await s3.send(new DeleteObjectCommand({ Bucket: "journal", Key: "odd/ä b+c%.txt" }));
    expect(await failure(text("odd/ä b+c%.txt"))).toMatchObject({ name: "NoSuchKey" });
    await s3.send(new DeleteObjectCommand({ Bucket: "journal", Key: "odd/ä b+c%.txt" }));
  });

  it("ListObjectsV2 pages 2,500 keys 1,000 at a time in key order, by continuation token", async () => {
    const keys = Array.from({ length: 2500 }, (_, i) => `many/${String(i).padStart(6, "0")}`);
    // Written into the model directly: 2,500 signed PUTs would only slow the test down.
    for (const k of keys) sim.wire.objects.put("journal", k, k, 0);
    const pages: number[] = [];
    const seen: string[] = [];
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: "journal", Prefix: "many/" })) {
      pages.push(page.KeyCount ?? -1);
      for (const o of page.Contents ?? []) seen.push(o.Key as string);
    }
    expect(pages).toEqual([1000, 1000, 500]);
    expect(seen).toEqual(keys);
  });

  it("ListObjectsV2 honours max-keys, start-after and a delimiter's common prefixes", async () => {
    for (const k of ["d/p/1/a", "d/p/1/b", "d/p/2/a", "d/p/3/a", "d/p/top"]) await put(k, k);
    const small = await s3.send(new ListObjectsV2Command({ Bucket: "journal", Prefix: "d/", MaxKeys: 2 }));
    expect(small.Contents?.map((o) => o.Key)).toEqual(["d/p/1/a", "d/p/1/b"]);
    expect(small.IsTruncated).toBe(true);
    const after = await s3.send(
      new ListObjectsV2Command({ Bucket: "journal", Prefix: "d/", StartAfter: "d/p/2/a" }),
    );
    expect(after.Contents?.map((o) => o.Key)).toEqual(["d/p/3/a", "d/p/top"]);
    expect(after.IsTruncated).toBe(false);
    const first = await s3.send(
      new ListObjectsV2Command({ Bucket: "journal", Prefix: "d/p/", Delimiter: "/", MaxKeys: 2 }),
    );
    expect(first.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["d/p/1/", "d/p/2/"]);
    const second = await s3.send(
      new ListObjectsV2Command({
        Bucket: "journal",
        Prefix: "d/p/",
        Delimiter: "/",
        ContinuationToken: first.NextContinuationToken,
      }),
    );
    expect(second.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["d/p/3/"]);
    expect(second.Contents?.map((o) => o.Key)).toEqual(["d/p/top"]);
    expect(second.Contents?.[0]).toMatchObject({ Size: 7 });
  });

  it("every call is counted as S3.<Operation>", () => {
    const by = sim.wire.counter.snapshot().byAction;
    expect(by["S3.PutObject"]).toBe(9);
    expect(by["S3.GetObject"]).toBe(6);
    expect(by["S3.DeleteObject"]).toBe(2);
    expect(by["S3.ListObjectsV2"]).toBeGreaterThanOrEqual(3);
    expect(by["S3.CreateBucket"]).toBe(1);
  });
});

/**
 * The few S3 calls the journal in S3 makes (engine/journal-store.ts), behind a small interface so
 * tests can put a failing store in its place:
 *
 *   const store = createS3ObjectStore({ region: "eu-west-1" });
 *   await store.putIfAbsent("bucket", "rollwave/web/r000001/0000000001.ndjson", body); // "created" | "exists"
 *   await store.getObject("bucket", key);                                            // text | undefined
 *   await store.listObjects("bucket", "rollwave/web/", { delimiter: "/" });          // every page
 *
 * Failures are `AwsCallError`s named `S3.<Operation>`, as for the other services.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { type AwsOptions, openS3Client } from "./connect.js";
import { call, hasCode } from "./errors.js";
import type { ApiCallCounts } from "./types.js";

export interface ObjectStore {
  /**
   * Create the object only if the key does not exist (`If-None-Match: *`). "exists" when S3 answers
   * 412 PreconditionFailed: the key is someone's (perhaps this very put's, when the SDK retried a
   * put whose answer was lost; the caller compares the contents).
   */
  putIfAbsent(bucket: string, key: string, body: string): Promise<"created" | "exists">;
  /** The object's text, or undefined when there is no such key. */
  getObject(bucket: string, key: string): Promise<string | undefined>;
  /**
   * Every key under `prefix` in S3's order (all pages of ListObjectsV2), and with a delimiter the
   * common prefixes (one level of "folders").
   */
  listObjects(
    bucket: string,
    prefix: string,
    o?: { delimiter?: string; startAfter?: string },
  ): Promise<{ keys: string[]; prefixes: string[] }>;
  /** Calls sent so far, by `S3.<Operation>`. */
  calls(): ApiCallCounts;
  close(): void;
}

export function createS3ObjectStore(o: AwsOptions & { forcePathStyle?: boolean }): ObjectStore {
  const { client, counter } = openS3Client(o);
  return {
    async putIfAbsent(bucket, key, body) {
      try {
        await call("S3.PutObject", () =>
          client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key,
              Body: body,
              IfNoneMatch: "*",
              ContentType: "application/x-ndjson",
            }),
          ),
        );
        return "created";
      } catch (error) {
        // 412: the key exists. (409 ConditionalRequestConflict: a concurrent conditional write of
        // the same key is in progress; it is the other writer's, so it is "exists" as well.)
        if (hasCode(error, "PreconditionFailed", "ConditionalRequestConflict")) return "exists";
        throw error;
      }
    },
    async getObject(bucket, key) {
      try {
        return await call("S3.GetObject", async () => {
          const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          return (await out.Body?.transformToString("utf-8")) ?? "";
        });
      } catch (error) {
        if (hasCode(error, "NoSuchKey")) return undefined;
        throw error;
      }
    },
    async listObjects(bucket, prefix, lo = {}) {
      const keys: string[] = [];
      const prefixes: string[] = [];
      let token: string | undefined;
      // Pages of at most 1,000 keys, until S3 says the listing is not truncated.
      for (;;) {
        const page = await call("S3.ListObjectsV2", () =>
          client.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: prefix,
              ...(lo.delimiter ? { Delimiter: lo.delimiter } : {}),
              ...(token ? { ContinuationToken: token } : lo.startAfter ? { StartAfter: lo.startAfter } : {}),
            }),
          ),
        );
        for (const c of page.Contents ?? []) if (c.Key !== undefined) keys.push(c.Key);
        for (const p of page.CommonPrefixes ?? []) if (p.Prefix !== undefined) prefixes.push(p.Prefix);
        if (!page.IsTruncated) break;
        if (!page.NextContinuationToken) {
          // A truncated page without a way on: stopping here would silently drop keys.
          throw new Error(
            `S3.ListObjectsV2: s3://${bucket}/${prefix}: a truncated page has no continuation token`,
          );
        }
        token = page.NextContinuationToken;
      }
      return { keys, prefixes };
    },
    calls: () => counter.snapshot(),
    close: () => client.destroy(),
  };
}

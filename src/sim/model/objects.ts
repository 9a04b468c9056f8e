/**
 * S3 objects, as much of S3 as rollwave's journal uses: buckets (created by CreateBucket or by the
 * simulator's `buckets` option), PutObject with `If-None-Match: *` (create only when absent),
 * GetObject, DeleteObject and ListObjectsV2 (prefix, delimiter, start-after, continuation token,
 * max-keys). Keys are ordered as S3 orders them: by their UTF-8 bytes. Bodies are kept as text (the
 * journal is NDJSON); nothing else of S3 (versioning, multipart, ACLs, storage classes) is modelled.
 */
import { createHash } from "node:crypto";
import { SimApiError } from "./api.js";

interface SimObject {
  key: string;
  body: string;
  /** Quoted MD5 hex of the body, as S3 returns it for a single-part upload. */
  etag: string;
  lastModified: number;
  size: number;
}

interface ListObjectsInput {
  bucket: string;
  prefix?: string;
  delimiter?: string;
  startAfter?: string;
  continuationToken?: string;
  maxKeys?: number;
}

interface ListObjectsOutput {
  contents: SimObject[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextContinuationToken?: string;
  maxKeys: number;
}

/** S3 returns at most 1,000 keys per ListObjectsV2 page, whatever max-keys asks for. */
const LIST_PAGE_LIMIT = 1000;

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

export class ObjectBuckets {
  private readonly buckets = new Map<string, Map<string, SimObject>>();

  constructor(initial: string[] = []) {
    for (const b of initial) this.buckets.set(b, new Map());
  }

  createBucket(name: string): void {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name)) {
      throw new SimApiError("InvalidBucketName", "The specified bucket is not valid.", 400);
    }
    if (this.buckets.has(name)) {
      throw new SimApiError(
        "BucketAlreadyOwnedByYou",
        "Your previous request to create the named bucket succeeded and you already own it.",
        409,
      );
    }
    this.buckets.set(name, new Map());
  }

  /** `ifNoneMatch: "*"` creates only when the key is absent (412 PreconditionFailed otherwise). */
  put(bucket: string, key: string, body: string, now: number, o: { ifNoneMatch?: string } = {}): SimObject {
    const objects = this.bucket(bucket);
    checkKey(key);
    if (o.ifNoneMatch !== undefined) {
      if (o.ifNoneMatch.trim() !== "*") {
        throw new SimApiError("NotImplemented", "If-None-Match on PutObject accepts only '*'.", 501);
      }
      if (objects.has(key)) {
        throw new SimApiError(
          "PreconditionFailed",
          "At least one of the pre-conditions you specified did not hold",
          412,
        );
      }
    }
    const size = Buffer.byteLength(body, "utf8");
    const etag = `"${createHash("md5").update(body, "utf8").digest("hex")}"`;
    const object = { key, body, etag, lastModified: now, size };
    objects.set(key, object);
    return object;
  }

  get(bucket: string, key: string): SimObject {
    const object = this.bucket(bucket).get(key);
    if (!object) throw new SimApiError("NoSuchKey", "The specified key does not exist.", 404);
    return object;
  }

  /** Like S3: deleting a key that does not exist succeeds. */
  delete(bucket: string, key: string): void {
    this.bucket(bucket).delete(key);
  }

  list(input: ListObjectsInput): ListObjectsOutput {
    const objects = this.bucket(input.bucket);
    const maxKeys = Math.min(input.maxKeys ?? LIST_PAGE_LIMIT, LIST_PAGE_LIMIT);
    if (!Number.isInteger(maxKeys) || maxKeys < 0) {
      throw new SimApiError("InvalidArgument", "max-keys must be a non-negative integer", 400);
    }
    let after = input.startAfter ?? "";
    if (input.continuationToken !== undefined) {
      const decoded = decodeToken(input.continuationToken);
      if (decoded === undefined) {
        throw new SimApiError("InvalidArgument", "The continuation token provided is incorrect", 400);
      }
      after = decoded;
    }
    const prefix = input.prefix ?? "";
    const keys = [...objects.keys()]
      .filter((k) => k.startsWith(prefix) && byBytes(k, after) > 0)
      .sort(byBytes);
    const contents: SimObject[] = [];
    const commonPrefixes: string[] = [];
    let resumeAfter: string | undefined;
    let isTruncated = false;
    for (const key of keys) {
      const d = input.delimiter ? key.indexOf(input.delimiter, prefix.length) : -1;
      const rollup = d >= 0 ? key.slice(0, d + (input.delimiter as string).length) : undefined;
      // Keys under the common prefix just returned are rolled up into it, not counted again.
      if (rollup !== undefined && rollup === commonPrefixes.at(-1)) continue;
      if (contents.length + commonPrefixes.length >= maxKeys) {
        // (max-keys 0 returns nothing and is not truncated, as in S3)
        isTruncated = resumeAfter !== undefined;
        break;
      }
      if (rollup !== undefined) {
        commonPrefixes.push(rollup);
        // The next page starts after every key under it.
        resumeAfter = `${rollup}\u{10ffff}`;
      } else {
        contents.push(objects.get(key) as SimObject);
        resumeAfter = key;
      }
    }
    const out: ListObjectsOutput = { contents, commonPrefixes, isTruncated, maxKeys };
    if (isTruncated && resumeAfter !== undefined) {
      out.nextContinuationToken = Buffer.from(`v1:${resumeAfter}`, "utf8").toString("base64");
    }
    return out;
  }

  /** Every object (tests, the state snapshot): bucket → keys in order. */
  snapshot(): Record<string, string[]> {
    return Object.fromEntries([...this.buckets].map(([b, m]) => [b, [...m.keys()].sort(byBytes)]));
  }

  private bucket(name: string): Map<string, SimObject> {
    const objects = this.buckets.get(name);
    if (!objects) throw new SimApiError("NoSuchBucket", "The specified bucket does not exist", 404);
    return objects;
  }
}

function checkKey(key: string): void {
  if (key === "" || Buffer.byteLength(key, "utf8") > 1024) {
    throw new SimApiError("KeyTooLongError", "Your key is empty or longer than 1024 bytes.", 400);
  }
}

function decodeToken(token: string): string | undefined {
  const text = Buffer.from(token, "base64").toString("utf8");
  return text.startsWith("v1:") ? text.slice(3) : undefined;
}

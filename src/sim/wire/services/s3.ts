/**
 * S3's REST-XML protocol, path-style (`http://127.0.0.1:4566/<bucket>/<key>`; clients need
 * `forcePathStyle: true`): CreateBucket, PutObject (with `If-None-Match: *`), GetObject,
 * DeleteObject and ListObjectsV2. Recognised by the SigV4 credential scope's service `s3`. Errors
 * are S3's bare `<Error><Code>…</Code>…</Error>` documents with the HTTP status S3 uses.
 */
import { SimApiError } from "../../model/api.js";
import type { ObjectBuckets } from "../../model/objects.js";
import type { WireResponse } from "../protocol.js";
import { escapeXml, toXml, xmlDocument } from "../xml.js";

const NS = "http://s3.amazonaws.com/doc/2006-03-01/";

interface S3Request {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The operation a request asks for, from its method, path and query; undefined when not served. */
export function s3Action(req: S3Request): string {
  const { bucket, key, query } = parseS3Url(req.url);
  const m = req.method.toUpperCase();
  if (!bucket) return m === "GET" ? "ListBuckets" : "Unknown";
  if (key === undefined) {
    if (m === "PUT") return "CreateBucket";
    if (m === "GET") return query.get("list-type") === "2" ? "ListObjectsV2" : "ListObjects";
    if (m === "HEAD") return "HeadBucket";
    if (m === "DELETE") return "DeleteBucket";
    return "Unknown";
  }
  if (m === "PUT") return header(req, "x-amz-copy-source") !== undefined ? "CopyObject" : "PutObject";
  if (m === "GET") return "GetObject";
  if (m === "DELETE") return "DeleteObject";
  if (m === "HEAD") return "HeadObject";
  return "Unknown";
}

/** Answers an S3 request against the buckets; throws SimApiError for S3's errors. */
export function handleS3(
  objects: ObjectBuckets,
  req: S3Request,
  action: string,
  now: number,
  requestId: string,
): WireResponse {
  const { bucket, key, query } = parseS3Url(req.url);
  const base = { "x-amz-request-id": requestId };
  switch (action) {
    case "CreateBucket":
      objects.createBucket(bucket);
      return { status: 200, headers: { ...base, location: `/${bucket}` }, body: "" };
    case "PutObject": {
      if (/aws-chunked/.test(header(req, "content-encoding") ?? "")) {
        throw new SimApiError("NotImplemented", "The simulator does not accept aws-chunked uploads", 501);
      }
      const ifNoneMatch = header(req, "if-none-match");
      const o = objects.put(
        bucket,
        key as string,
        req.body,
        now,
        ifNoneMatch === undefined ? {} : { ifNoneMatch },
      );
      return { status: 200, headers: { ...base, etag: o.etag }, body: "" };
    }
    case "GetObject": {
      const o = objects.get(bucket, key as string);
      return {
        status: 200,
        headers: {
          ...base,
          etag: o.etag,
          "content-type": "application/octet-stream",
          "last-modified": new Date(o.lastModified).toUTCString(),
        },
        body: o.body,
      };
    }
    case "DeleteObject":
      objects.delete(bucket, key as string);
      return { status: 204, headers: base, body: "" };
    case "ListObjectsV2": {
      const maxKeys = query.get("max-keys");
      const input = {
        bucket,
        ...optional("prefix", query.get("prefix")),
        ...optional("delimiter", query.get("delimiter")),
        ...optional("startAfter", query.get("start-after")),
        ...optional("continuationToken", query.get("continuation-token")),
        ...(maxKeys !== null ? { maxKeys: Number(maxKeys) } : {}),
      };
      const out = objects.list(input);
      const xml = {
        Name: bucket,
        Prefix: input.prefix ?? "",
        ...(input.delimiter !== undefined ? { Delimiter: input.delimiter } : {}),
        ...(input.startAfter !== undefined ? { StartAfter: input.startAfter } : {}),
        ...(input.continuationToken !== undefined ? { ContinuationToken: input.continuationToken } : {}),
        KeyCount: out.contents.length + out.commonPrefixes.length,
        MaxKeys: out.maxKeys,
        IsTruncated: out.isTruncated,
        ...(out.nextContinuationToken ? { NextContinuationToken: out.nextContinuationToken } : {}),
      };
      // Contents and CommonPrefixes are flattened lists: one element per entry, no wrapper.
      const contents = out.contents
        .map(
          (o) =>
            `<Contents>${toXml({ Key: o.key, LastModified: new Date(o.lastModified), ETag: o.etag, Size: o.size, StorageClass: "STANDARD" }, "member")}</Contents>`,
        )
        .join("");
      const prefixes = out.commonPrefixes
        .map((p) => `<CommonPrefixes><Prefix>${escapeXml(p)}</Prefix></CommonPrefixes>`)
        .join("");
      return {
        status: 200,
        headers: { ...base, "content-type": "application/xml" },
        body: xmlDocument("ListBucketResult", NS, toXml(xml, "member") + contents + prefixes),
      };
    }
    default:
      throw new SimApiError("NotImplemented", `The simulator does not serve S3 ${action}`, 501);
  }
}

/** S3's error document. */
export function s3Error(code: string, message: string, status: number, requestId: string): WireResponse {
  const inner = `<Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message><RequestId>${escapeXml(requestId)}</RequestId>`;
  return {
    status,
    headers: { "content-type": "application/xml", "x-amz-request-id": requestId },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${inner}</Error>`,
  };
}

function parseS3Url(url: string): { bucket: string; key: string | undefined; query: URLSearchParams } {
  const q = url.indexOf("?");
  const path = q >= 0 ? url.slice(0, q) : url;
  const query = new URLSearchParams(q >= 0 ? url.slice(q + 1) : "");
  const rest = path.replace(/^\//, "");
  const slash = rest.indexOf("/");
  if (slash < 0) return { bucket: decodeURIComponent(rest), key: undefined, query };
  const key = rest.slice(slash + 1);
  return {
    bucket: decodeURIComponent(rest.slice(0, slash)),
    key: key === "" ? undefined : decodeURIComponent(key),
    query,
  };
}

function header(req: S3Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function optional<K extends string>(name: K, v: string | null): { [k in K]?: string } {
  return v === null ? {} : ({ [name]: v } as { [k in K]: string });
}

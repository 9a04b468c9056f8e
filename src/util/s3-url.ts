/** `s3://bucket/prefix` locations (the journal in S3): parsed here so the plan and the CLI say the same. */
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * `s3://bucket[/prefix]` → its parts, or a message with a hint. The prefix is normalised without
 * leading or trailing slashes; empty segments, `.`/`..` segments and control characters are refused.
 */
export function parseS3Url(
  text: string,
): { bucket: string; prefix: string } | { error: string; hint: string } {
  const hint = "write it as s3://<bucket>/<prefix>, e.g. s3://ops-rollwave/journals";
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(text);
  if (!m) return { error: `'${text}' is not an s3:// URL`, hint };
  const bucket = m[1] as string;
  if (!BUCKET_RE.test(bucket) || bucket.includes("..")) {
    return {
      error: `'${bucket}' is not a valid S3 bucket name`,
      hint: "bucket names are 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit",
    };
  }
  const prefix = (m[2] ?? "").replace(/\/+$/, "");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
  if (/[\u0000-\u001f\u007f]/.test(prefix))
    return { error: "the S3 prefix contains a control character", hint };
  if (prefix !== "" && prefix.split("/").some((s) => s === "" || s === "." || s === "..")) {
    return { error: `the S3 prefix '${prefix}' has an empty, '.' or '..' segment`, hint };
  }
  if (Buffer.byteLength(prefix) > 512) return { error: "the S3 prefix is longer than 512 bytes", hint };
  return { bucket, prefix };
}

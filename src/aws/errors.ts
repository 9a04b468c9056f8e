/** SDK errors → `AwsCallError` (operation, code, message, request id, retryable). */
import { AwsCallError } from "./types.js";

interface SdkLikeError {
  name?: string;
  /** The wire error code (query protocols, and JSON ones that are query compatible), e.g. `TargetGroupNotFound`. */
  Code?: string;
  /** Query protocols' body request id, kept by the SDK when no `x-amzn-requestid` header came. */
  RequestId?: string;
  code?: string;
  message?: string;
  $retryable?: unknown;
  $fault?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

const THROTTLING_CODES = new Set([
  "Throttling",
  "ThrottlingException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "RequestThrottled",
  "RequestThrottledException",
]);

/**
 * `retryable` says whether trying again later can succeed (throttling, 5xx, network): the SDK has
 * already retried it, but a reconcile loop may well try again on its next tick.
 */
function toAwsCallError(operation: string, error: unknown): AwsCallError {
  if (AwsCallError.isAwsCallError(error)) return error;
  const e = (
    typeof error === "object" && error !== null ? error : { message: String(error) }
  ) as SdkLikeError;
  const status = e.$metadata?.httpStatusCode;
  // Prefer the code on the wire: the SDK names modeled errors after their class
  // (`TargetGroupNotFoundException`), but AWS docs, consoles and logs show `TargetGroupNotFound`.
  const code = e.Code || (e.name && e.name !== "Error" ? e.name : (e.code ?? "UnknownError"));
  const retryable =
    Boolean(e.$retryable) ||
    THROTTLING_CODES.has(code) ||
    (status !== undefined && (status === 429 || status >= 500)) ||
    (status === undefined && typeof e.code === "string" && /^E[A-Z]+/.test(e.code)) ||
    code === "TimeoutError";
  const wrapped = new AwsCallError(
    operation,
    code,
    e.message || code,
    e.$metadata?.requestId || e.RequestId || undefined,
    retryable,
  );
  wrapped.cause = error;
  return wrapped;
}

export function hasCode(error: unknown, ...codes: string[]): boolean {
  if (AwsCallError.isAwsCallError(error)) return codes.includes(error.code);
  const e = error as SdkLikeError | undefined;
  return codes.some((c) => c === e?.Code || c === e?.name);
}

/** Run one logical call (its pages and batches included), mapping any SDK failure to an `AwsCallError` named `Service.Action`. */
export async function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toAwsCallError(operation, error);
  }
}

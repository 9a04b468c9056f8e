/**
 * Connections to AWS (or to anything that speaks its wire protocols, like the bundled simulator).
 *
 *   const aws = createAws({ region: "eu-west-1", profile: "prod" });          // reader + writer
 *   const preview = createReadOnlyAws({ region: "eu-west-1" });               // reader only
 *   const sim = createAws({ region: "us-east-1", endpointUrl: "http://127.0.0.1:4566",
 *                           credentials: { accessKeyId: "sim", secretAccessKey: "sim" }, clock });
 *
 * Every request a connection sends, first tries and SDK retries alike, first waits for its
 * service's token bucket (on the injected clock) and is then counted as `Service.Action`.
 * `SSM.SendCommand` is never repeated after an ambiguous failure (5xx, timeout, reset): it has no
 * idempotency token, so the SDK's retry could run a step twice. The caller gets the error and
 * finds out what happened (the engine: ListCommands by the Comment token, engine/reattach.ts).
 */

import type { S3Client } from "@aws-sdk/client-s3";
import type { AwsCredentialIdentity, FinalizeRequestMiddleware, RetryErrorInfo } from "@smithy/types";
import { type Clock, systemClock } from "../util/clock.js";
import {
  type AwsClients,
  buildClients,
  buildS3Client,
  SERVICE_OF_CLIENT,
  type SharedClientConfig,
} from "./clients.js";
import { TokenBucket } from "./rate-limit.js";
import { createReader } from "./reader.js";
import { ClockRetryStrategy, DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.js";
import { type AwsService, DEFAULT_RATE_LIMITS, type RateLimit } from "./services.js";
import { type ApiCallCounts, AwsCallError, type AwsConnection, type MutableAwsConnection } from "./types.js";
import { createWriter } from "./writer.js";

export interface AwsOptions {
  /** Required: rollwave never guesses a Region. */
  region: string;
  /** A named profile from the shared config/credentials files (`--profile`). */
  profile?: string;
  /** `--endpoint-url`: one endpoint for every service. The SDK also honours `AWS_ENDPOINT_URL*` itself. */
  endpointUrl?: string;
  /** Fixed credentials (e.g. dummy ones for the simulator); default: the SDK's default provider chain. */
  credentials?: AwsCredentialIdentity;
  /** Rate limiting and retry backoff run on this clock, so they scale with a simulator's clock. */
  clock?: Clock;
  /** Attempts for transient failures (5xx, timeouts, resets), first try included. Default 10. */
  maxAttempts?: number;
  /** Finer retry tuning; `maxAttempts` above wins over `retry.maxAttempts`. */
  retry?: Partial<RetryPolicy>;
  /** Per-service client-side budgets, merged over `DEFAULT_RATE_LIMITS`. */
  rateLimits?: Partial<Record<AwsService, RateLimit>>;
  /** Told about every throttling error (each one is retried), e.g. to emit an `aws.throttled` event. */
  onThrottle?: (operation: string) => void;
  /** Real-time HTTP limits per attempt (ms). Defaults: connect 10 s, whole request 60 s. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** Reader + writer: only a real (non-dry) rollout gets one of these. */
export function createAws(o: AwsOptions): MutableAwsConnection {
  const { clients, counter } = openClients(o, false);
  return Object.freeze({
    reader: Object.freeze(createReader(clients)),
    writer: Object.freeze(createWriter(clients)),
    calls: () => counter.snapshot(),
    close: () => closeAll(clients),
  });
}

/**
 * Reader only. The returned object has no `writer` and nothing reachable from it can mutate: the
 * SDK clients live in closures, not properties. As a second line, the clients themselves refuse
 * any operation that is not `Describe*`, `List*` or `Get*` before it is sent.
 */
export function createReadOnlyAws(o: AwsOptions): AwsConnection {
  const { clients, counter } = openClients(o, true);
  return Object.freeze({
    reader: Object.freeze(createReader(clients)),
    calls: () => counter.snapshot(),
    close: () => closeAll(clients),
  });
}

const READ_ONLY_ACTION = /^(Describe|List|Get)[A-Z]/;

/**
 * Operations the SDK must not repeat after an ambiguous failure: AWS may have applied the first
 * attempt and only its answer was lost. Throttled attempts are still retried (refused, not applied).
 */
const SINGLE_ATTEMPT_OPERATIONS: ReadonlySet<string> = new Set(["SSM.SendCommand"]);

/**
 * @internal The paced, counted SDK clients behind a connection. Exported for tests only: the
 * connections above never expose them.
 */
export function openClients(o: AwsOptions, readOnly: boolean): { clients: AwsClients; counter: CallCounter } {
  if (!o.region) throw new Error("an AWS Region is required (plan `region`, --region or AWS_REGION)");
  const clock = o.clock ?? systemClock;
  const counter = new CallCounter();
  const policy: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    ...o.retry,
    ...(o.maxAttempts !== undefined ? { maxAttempts: o.maxAttempts } : {}),
  };
  // The retry strategy learns which operation failed from the error object the pacing middleware
  // saw on its way out (the strategy is only handed the error).
  const operationOfError = new WeakMap<object, string>();
  const operationOf = (info: RetryErrorInfo) => (info.error && operationOfError.get(info.error)) || "unknown";
  const onThrottled = (info: RetryErrorInfo) => {
    const operation = operationOf(info);
    counter.throttle();
    try {
      o.onThrottle?.(operation);
    } catch {
      // A listener's failure must not turn a retryable throttle into a failed call.
    }
  };

  const clients = buildClients(
    (): SharedClientConfig =>
      sharedConfig(o, clock, policy, onThrottled, (info) => SINGLE_ATTEMPT_OPERATIONS.has(operationOf(info))),
  );
  for (const key of Object.keys(clients) as (keyof AwsClients)[]) {
    paceAndCount(clients[key], SERVICE_OF_CLIENT[key], o, clock, counter, operationOfError, readOnly);
  }
  return { clients, counter };
}

/** The configuration every client of a connection shares. */
function sharedConfig(
  o: AwsOptions,
  clock: Clock,
  policy: RetryPolicy,
  onThrottled: (info: RetryErrorInfo) => void,
  singleAttempt?: (info: RetryErrorInfo) => boolean,
): SharedClientConfig {
  return {
    region: o.region,
    ...(o.profile ? { profile: o.profile } : {}),
    ...(o.endpointUrl ? { endpoint: o.endpointUrl } : {}),
    ...(o.credentials ? { credentials: o.credentials } : {}),
    maxAttempts: policy.maxAttempts,
    retryStrategy: new ClockRetryStrategy(clock, policy, onThrottled, Math.random, singleAttempt),
    requestHandler: {
      connectionTimeout: o.connectionTimeoutMs ?? 10_000,
      requestTimeout: o.requestTimeoutMs ?? 60_000,
      // Without it the SDK's node handler only logs a warning when a request outlives
      // requestTimeout (and keeps waiting): the timeout must end the attempt with a TimeoutError.
      throwOnRequestTimeout: true,
    },
  };
}

/**
 * Every attempt (first tries and SDK retries alike) waits for the service's token bucket on the
 * injected clock and is counted as `Service.Action`; a read-only connection refuses any operation
 * that is not Describe/List/Get before it is sent.
 */
function paceAndCount(
  client: { middlewareStack: unknown },
  service: AwsService,
  o: AwsOptions,
  clock: Clock,
  counter: CallCounter,
  operationOfError: WeakMap<object, string>,
  readOnly: boolean,
): void {
  const bucket = new TokenBucket({ ...DEFAULT_RATE_LIMITS[service], ...o.rateLimits?.[service] }, clock);
  const perAttempt: FinalizeRequestMiddleware<object, object> = (next, context) => async (args) => {
    const action = String(context.commandName ?? "Unknown").replace(/Command$/, "");
    const operation = `${service}.${action}`;
    if (readOnly && !READ_ONLY_ACTION.test(action)) {
      throw new AwsCallError(operation, "ReadOnlyConnection", "refused: this AWS connection is read-only");
    }
    const smithy = (context as { __smithy_context?: { abortSignal?: AbortSignal } }).__smithy_context;
    await bucket.take(smithy?.abortSignal);
    counter.count(operation);
    try {
      return await next(args);
    } catch (error) {
      if (typeof error === "object" && error !== null) operationOfError.set(error, operation);
      throw error;
    }
  };
  // After the retry middleware, so every attempt is paced and counted, not just the first.
  (client.middlewareStack as { addRelativeTo: (m: unknown, o: object) => void }).addRelativeTo(perAttempt, {
    relation: "after",
    toMiddleware: "retryMiddleware",
    name: "rollwavePaceAndCount",
    override: true,
  });
}

/**
 * @internal An S3 client paced, counted and retried like the connection's clients, with its own
 * call counter (the journal's calls are not the rollout's fleet calls). Path-style addressing when
 * an endpoint is set (`forcePathStyle`): the simulator and most S3-compatible endpoints need it.
 * Used by `createS3ObjectStore` (object-store.ts).
 */
export function openS3Client(o: AwsOptions & { forcePathStyle?: boolean }): {
  client: S3Client;
  counter: CallCounter;
} {
  if (!o.region) throw new Error("an AWS Region is required (plan `region`, --region or AWS_REGION)");
  const clock = o.clock ?? systemClock;
  const counter = new CallCounter();
  const policy: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    ...o.retry,
    ...(o.maxAttempts !== undefined ? { maxAttempts: o.maxAttempts } : {}),
  };
  const operationOfError = new WeakMap<object, string>();
  const onThrottled = (info: RetryErrorInfo) => {
    const operation = (info.error && operationOfError.get(info.error)) || "unknown";
    counter.throttle();
    try {
      o.onThrottle?.(operation);
    } catch {
      // A listener's failure must not turn a retryable throttle into a failed call.
    }
  };
  const client = buildS3Client(sharedConfig(o, clock, policy, onThrottled), {
    forcePathStyle: o.forcePathStyle ?? o.endpointUrl !== undefined,
  });
  paceAndCount(client, "S3", o, clock, counter, operationOfError, false);
  return { client, counter };
}

function closeAll(clients: AwsClients): void {
  for (const client of Object.values(clients)) client.destroy();
}

/** Counts of requests sent, by `Service.Action`, and of throttling errors seen. */
class CallCounter {
  private total = 0;
  private throttled = 0;
  private readonly byAction = new Map<string, number>();
  count(operation: string): void {
    this.total++;
    this.byAction.set(operation, (this.byAction.get(operation) ?? 0) + 1);
  }
  throttle(): void {
    this.throttled++;
  }
  snapshot(): ApiCallCounts {
    const byAction = Object.fromEntries([...this.byAction].sort(([a], [b]) => a.localeCompare(b)));
    return { total: this.total, byAction, throttled: this.throttled };
  }
}

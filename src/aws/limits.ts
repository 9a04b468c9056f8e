/**
 * AWS's per-call limits, written once: the readers and the writer batch by them, the engine groups
 * instances by them, and the plan checks refuse values the APIs would refuse mid-rollout. Sources:
 * /work/shared/aws-facts.md and the API references. (The simulator keeps its own copy on purpose:
 * it models AWS independently, so it can catch rollwave breaking one of these.)
 */
export const LIMITS = {
  // Reads.
  ec2InstanceIdsPerCall: 200,
  ec2MaxResults: 1000,
  elbNamesPerCall: 20,
  elbPageSize: 400,
  ssmInstanceIdsPerCall: 50,
  /** DescribeInstanceInformation and ListCommandInvocations `MaxResults` (1–50). */
  ssmMaxResults: 50,
  asgInstanceIdsPerCall: 50,
  asgNamesPerCall: 100,
  alarmNamesPerCall: 100,
  /** GetMetricData: queries per call. */
  metricQueriesPerCall: 500,

  // Writes.
  /** SendCommand `InstanceIds` per call: the engine groups instances into commands of at most this. */
  sendCommandInstanceIds: 50,
  /** Targets per RegisterTargets / DeregisterTargets call (kept modest; AWS documents no cap). */
  targetsPerCall: 100,
  /** SendCommand `Comment` length. */
  commentLength: 100,
  /** SendCommand `TimeoutSeconds`, the delivery timeout: 30 s to 30 days. */
  ssmDeliveryTimeoutSeconds: { min: 30, max: 2_592_000 },
  /** AWS-RunShellScript's `executionTimeout` parameter: 1 s to 48 hours. */
  ssmExecutionTimeoutSeconds: { min: 1, max: 172_800 },
} as const;

/** Stop rather than loop forever if an endpoint hands back the token it was given. */
export const PAGING = { stopOnSameToken: true } as const;

/**
 * The step timeouts a plan may declare: at least SSM's shortest delivery timeout, at most the
 * longest `executionTimeout` AWS-RunShellScript takes (a longer one would fail at SendCommand,
 * mid-rollout). Worked example: 30s and 48h pass; 29s and 3d are refused by the plan checks.
 */
export const STEP_TIMEOUT_MS = {
  min: LIMITS.ssmDeliveryTimeoutSeconds.min * 1000,
  max: LIMITS.ssmExecutionTimeoutSeconds.max * 1000,
} as const;

interface SsmTimeouts {
  /** SendCommand `TimeoutSeconds` (delivery). */
  timeoutSeconds: number;
  /** AWS-RunShellScript `executionTimeout`. */
  executionTimeoutSeconds: number;
}

/**
 * The SSM timeouts for a step that may run `timeoutMs`, each clamped to what SSM accepts.
 * Worked example: 10 s → `{ timeoutSeconds: 30, executionTimeoutSeconds: 10 }`;
 * 600.4 s → `{ 601, 601 }`; 3 days → `{ 259200, 172800 }` (the plan checks refuse that one first).
 */
export function ssmTimeouts(timeoutMs: number): SsmTimeouts {
  const seconds = Math.ceil(timeoutMs / 1000);
  return {
    timeoutSeconds: clamp(seconds, LIMITS.ssmDeliveryTimeoutSeconds),
    executionTimeoutSeconds: clamp(seconds, LIMITS.ssmExecutionTimeoutSeconds),
  };
}

/** `n` held to `range`, e.g. `clamp(10, LIMITS.ssmDeliveryTimeoutSeconds)` → 30. */
export function clamp(n: number, range: { readonly min: number; readonly max: number }): number {
  return Math.min(range.max, Math.max(range.min, n));
}

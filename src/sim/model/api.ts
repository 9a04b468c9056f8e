/**
 * The boundary between the simulator's wire layer (src/sim/wire: HTTP, AWS protocols, throttling,
 * injected 5xx/latency) and its fleet model (src/sim/model: instances, target groups, cameras,
 * commands, metrics, alarms, invariants). The wire layer parses a request into these plain inputs,
 * calls the model, and serializes the plain outputs in the service's own format. A model method
 * signals an AWS error by throwing `SimApiError`; the wire layer renders it in the service's shape.
 *
 * Times are epoch milliseconds of the simulator's clock. Nothing here imports from the engine.
 */

export class SimApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** HTTP status; 400 for client errors. */
    readonly status = 400,
  ) {
    super(message);
    this.name = "SimApiError";
  }
}

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

// ── EC2 ──────────────────────────────────────────────────────────────────────
export interface Ec2Filter {
  name: string;
  values: string[];
}
export interface SimEc2Instance {
  instanceId: string;
  imageId: string;
  instanceType: string;
  az: string;
  stateCode: number;
  stateName: string;
  privateIp: string;
  launchTime: number;
  tags: Record<string, string>;
}

// ── ELBv2 ────────────────────────────────────────────────────────────────────
export interface SimLoadBalancer {
  arn: string;
  name: string;
  type: "application" | "network";
  dnsName: string;
  scheme: "internet-facing" | "internal";
  azs: string[];
  createdAt: number;
}
export interface SimTargetGroup {
  arn: string;
  name: string;
  protocol: string;
  port: number;
  loadBalancerArns: string[];
  healthCheck: {
    intervalSeconds: number;
    healthyThreshold: number;
    unhealthyThreshold: number;
    path?: string;
  };
  targetType: "instance";
}
interface SimTargetGroupAttributes {
  [key: string]: string; // e.g. "deregistration_delay.timeout_seconds": "300"
}
export interface SimTargetRef {
  id: string;
  port?: number;
}
export interface SimTargetHealth {
  id: string;
  port: number;
  az: string;
  state: "initial" | "healthy" | "unhealthy" | "unhealthy.draining" | "unused" | "draining" | "unavailable";
  reason?: string;
  description?: string;
}

// ── SSM ──────────────────────────────────────────────────────────────────────
export interface SimSendCommandInput {
  documentName: string;
  instanceIds?: string[];
  targets?: { key: string; values: string[] }[];
  parameters?: Record<string, string[]>;
  timeoutSeconds?: number;
  maxConcurrency?: string;
  maxErrors?: string;
  comment?: string;
}
export interface SimCommand {
  commandId: string;
  documentName: string;
  comment: string;
  parameters: Record<string, string[]>;
  instanceIds: string[];
  requestedAt: number;
  expiresAfter: number;
  status: "Pending" | "InProgress" | "Success" | "Cancelled" | "Failed" | "TimedOut" | "Cancelling";
  statusDetails: string;
  maxConcurrency: string;
  maxErrors: string;
  targetCount: number;
  completedCount: number;
  errorCount: number;
  deliveryTimedOutCount: number;
  timeoutSeconds: number;
}
export interface SimInvocation {
  commandId: string;
  instanceId: string;
  documentName: string;
  comment: string;
  requestedAt: number;
  status:
    | "Pending"
    | "InProgress"
    | "Delayed"
    | "Success"
    | "Cancelled"
    | "TimedOut"
    | "Failed"
    | "Cancelling";
  statusDetails: string;
  responseCode: number; // -1 before start
  executionStartedAt?: number;
  executionEndedAt?: number;
  stdout: string;
  stderr: string;
}
export interface SimInstanceInformation {
  instanceId: string;
  pingStatus: "Online" | "ConnectionLost" | "Inactive";
  lastPingAt: number;
  platformType: "Linux";
  agentVersion: string;
  ipAddress: string;
}
export interface SimParameter {
  name: string;
  value: string;
  type: "String" | "StringList" | "SecureString";
  version: number;
  lastModifiedAt: number;
  /** `Standard` or `Advanced`. */
  tier?: string;
  /** Set when read as `name:version`: `":<version>"`. */
  selector?: string;
}

// ── CloudWatch ───────────────────────────────────────────────────────────────
export interface SimAlarm {
  name: string;
  arn: string;
  state: "OK" | "ALARM" | "INSUFFICIENT_DATA";
  reason: string;
  updatedAt: number;
  namespace?: string;
  metricName?: string;
  threshold?: number;
  comparison?: string;
}
export interface SimMetricQuery {
  id: string;
  namespace: string;
  metricName: string;
  dimensions: { name: string; value: string }[];
  periodSeconds: number;
  stat: string;
}
export interface SimMetricResult {
  id: string;
  label: string;
  timestamps: number[]; // newest first, like CloudWatch's default TimestampDescending
  values: number[];
  statusCode: "Complete" | "PartialData";
}

// ── Auto Scaling ─────────────────────────────────────────────────────────────
export interface SimAutoScalingGroup {
  name: string;
  arn: string;
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  azs: string[];
  targetGroupArns: string[];
  instances: { instanceId: string; az: string; lifecycleState: string; healthStatus: string }[];
  suspendedProcesses: string[];
  createdAt: number;
}

/** Everything the wire layer may ask of the model. Methods are synchronous: the model is in memory. */
export interface SimBackend {
  readonly accountId: string;
  readonly region: string;

  // EC2
  describeInstances(q: {
    instanceIds?: string[];
    filters?: Ec2Filter[];
    maxResults?: number;
    nextToken?: string;
  }): Page<SimEc2Instance>;
  describeAvailabilityZones(): { name: string; id: string; state: "available" }[];

  // ELBv2
  describeLoadBalancers(q: {
    arns?: string[];
    names?: string[];
    pageSize?: number;
    marker?: string;
  }): Page<SimLoadBalancer>;
  describeTargetGroups(q: {
    arns?: string[];
    names?: string[];
    loadBalancerArn?: string;
    pageSize?: number;
    marker?: string;
  }): Page<SimTargetGroup>;
  describeTargetGroupAttributes(arn: string): SimTargetGroupAttributes;
  describeLoadBalancerAttributes(arn: string): SimTargetGroupAttributes;
  describeTargetHealth(arn: string, targets?: SimTargetRef[]): SimTargetHealth[];
  registerTargets(arn: string, targets: SimTargetRef[]): void;
  deregisterTargets(arn: string, targets: SimTargetRef[]): void;

  // SSM
  sendCommand(input: SimSendCommandInput): SimCommand;
  /** `filters`: see ./command-filters.ts (InvokedAfter, InvokedBefore, Status, DocumentName, ExecutionStage). */
  listCommands(q: {
    commandId?: string;
    instanceId?: string;
    filters?: { key: string; value: string }[];
    maxResults?: number;
    nextToken?: string;
  }): Page<SimCommand>;
  listCommandInvocations(q: {
    commandId?: string;
    instanceId?: string;
    filters?: { key: string; value: string }[];
    details: boolean;
    maxResults?: number;
    nextToken?: string;
  }): Page<SimInvocation>;
  getCommandInvocation(commandId: string, instanceId: string): SimInvocation;
  cancelCommand(commandId: string, instanceIds?: string[]): void;
  describeInstanceInformation(q: {
    instanceIds?: string[];
    pingStatus?: string[];
    tagFilters?: { key: string; values: string[] }[];
    maxResults?: number;
    nextToken?: string;
  }): Page<SimInstanceInformation>;
  putParameter(p: { name: string; value: string; type?: string; overwrite: boolean; tier?: string }): {
    version: number;
    tier?: string;
  };
  /** `name` or `name:version` (a past version, answered with `selector`). */
  getParameter(name: string): SimParameter;
  /** Kept versions, oldest first. */
  getParameterHistory(q: { name: string; maxResults?: number; nextToken?: string }): Page<SimParameter>;
  deleteParameter(name: string): void;

  // CloudWatch
  describeAlarms(q: {
    alarmNames?: string[];
    stateValue?: string;
    maxRecords?: number;
    nextToken?: string;
  }): Page<SimAlarm>;
  getMetricData(q: { queries: SimMetricQuery[]; start: number; end: number }): SimMetricResult[];

  // Auto Scaling
  describeAutoScalingGroups(q: {
    names?: string[];
    maxRecords?: number;
    nextToken?: string;
  }): Page<SimAutoScalingGroup>;
  describeAutoScalingInstances(q: { instanceIds?: string[]; maxRecords?: number; nextToken?: string }): Page<{
    instanceId: string;
    groupName: string;
    az: string;
    lifecycleState: string;
    healthStatus: string;
  }>;
  suspendProcesses(group: string, processes?: string[]): void;
  resumeProcesses(group: string, processes?: string[]): void;

  // STS
  getCallerIdentity(): { account: string; arn: string; userId: string };
}

// ── Control, observability and the model's life cycle ─────────────────────────

/** Model-level faults that can be injected at run time (via the control endpoint or directly). */
export type SimControlCommand =
  | { op: "terminateInstance"; instanceId: string }
  | { op: "ssmAgent"; instanceId: string; online: boolean }
  /** Make health checks fail for `seconds` of simulated time (a flap). */
  | { op: "healthFlap"; instanceId: string; seconds: number }
  /** Share (0..1) of cameras that ignore a server's shed request (a slow drain); `instanceIds` absent = all. */
  | { op: "slowDrain"; share: number; instanceIds?: string[] }
  /** Override the failure probability of commands whose text matches `match` (regex); absent = all. */
  | { op: "commandFailures"; probability: number; match?: string }
  /**
   * Background churn over the next `overSeconds`: that share (0..1) of the instances running now
   * terminate, lose their SSM agent (back after `offlineSeconds`, else for good) or flap (`flapSeconds`,
   * default 60), each at a seeded random time in the span, on a random instance still running then.
   */
  | {
      op: "churn";
      overSeconds: number;
      terminate?: number;
      ssmOffline?: number;
      offlineSeconds?: number;
      healthFlap?: number;
      flapSeconds?: number;
    };

/**
 * The capacity floor a rollout declares, checked independently by the simulator on every tick:
 * healthy, in-service instances per AZ must never drop below `perAz[az]` (and overall below `total`).
 * "In service" = registered and `healthy` in every target group the instance belongs to.
 */
export interface CapacityFloor {
  total?: number;
  perAz?: Record<string, number>;
}

export interface InvariantViolation {
  at: number;
  invariant: string;
  message: string;
}

export interface CameraStats {
  total: number;
  connected: number;
  minConnected: number;
  refused: number;
  /**
   * Connections cut on a server out of rotation: by a close command (drain.closeCommand's
   * `closeConnections` effect) or by a restart there (the deploy) while cameras were still on it.
   */
  cut: number;
  /** Over every camera ever online (a load schedule brings more online at its peak). */
  disconnectSeconds: { p50: number; p99: number; max: number };
  reconnectsPerCamera: number;
  /** Distinct servers that reached their connection limit (full, refusing new connections) at some point. */
  serversAtLimit: number;
}

export interface SimSample {
  t: number;
  connected: number;
  inService: number;
  draining: number;
  outOfService: number;
  maxLoadRatio: number;
}

interface SimInstanceState {
  id: string;
  az: string;
  state: string;
  version: string;
  ssm: string;
  serviceUp: boolean;
  connections: number;
  targets: Record<string, string>; // target group name → health state
}

/**
 * How often a step started running on an instance (an invocation that reached InProgress; one that
 * was undeliverable, cancelled or timed out before it started is not an execution), and how many of
 * those runs succeeded. The step is named as `stepOf` in ./commands.ts derives it from the Comment.
 */
export interface SimExecutionCount {
  instanceId: string;
  step: string;
  runs: number;
  successes: number;
}

/**
 * An execution that should not have happened: the step started on an instance where it had already
 * succeeded (`after-success`, `succeededIn` naming that command), or while another run of it was
 * still running there (`while-running`).
 */
export interface SimDuplicateExecution {
  at: number;
  instanceId: string;
  step: string;
  commandId: string;
  kind: "after-success" | "while-running";
  succeededIn?: string;
}

/**
 * The intrinsic time one instance needed, as drawn (see ./intrinsic.ts), summed over its `cycles`
 * (out of service and back). `serviceMs` = commands + drain + health; the bound adds `stableFor`.
 */
export interface SimIntrinsic {
  instanceId: string;
  az: string;
  cycles: number;
  /** Every command line's drawn duration. */
  commandMs: number;
  /** The same by step (as `stepOf` names it). */
  stepMs: Record<string, number>;
  /** Drain start until connections ≤ the drain threshold, or the deregistration delay ended. */
  drainMs: number;
  /** Registration until healthy in every target group it belongs to. */
  healthMs: number;
  serviceMs: number;
  /** Connections on it when its drain started. */
  displaced: number;
  /** Drains that lasted the whole deregistration delay (the threshold was not reached). */
  drainsEndedByDelay: number;
}

/** What GET /_sim/state returns (the wire layer adds nothing). */
export interface SimStateSnapshot {
  now: number;
  instances: SimInstanceState[];
  targetGroups: { arn: string; name: string; type: "application" | "network"; targets: number }[];
  autoScalingGroups: { name: string; suspendedProcesses: string[] }[];
  /** Command executions per instance and step. */
  executions: SimExecutionCount[];
  /** Executions of a step on an instance where it had already succeeded (or was still running). */
  duplicates: SimDuplicateExecution[];
  /** Per instance, the intrinsic phase times the simulator drew. */
  intrinsic: SimIntrinsic[];
  /** A drain counts as done at this many connections (set by the plan's drain.until.connections). */
  drainThreshold: number;
}

/** What GET /_sim/metrics returns; the wire layer adds `api`. */
export interface SimMetricsSnapshot {
  now: number;
  cameras: CameraStats;
  maxLoadRatio: number;
  invariantViolations: InvariantViolation[];
  /**
   * Dips below the capacity floor that injected faults account for (servers terminated or flapping
   * while in service): not violations, since no driver can prevent them, but the driver must not
   * take another server out while short (that is a `capacity-floor` violation).
   */
  floorDipsFromFaults: InvariantViolation[];
  series: SimSample[];
  api?: { byAction: Record<string, number>; total: number; throttled: number; errors5xx: number };
}

/** The model: SimBackend plus time, control and observability. Built by `createWorld` in ./world.ts. */
export interface SimWorld extends SimBackend {
  /** Advance the model to `now` (simulated ms). Cheap when nothing is due: the ticker calls it often. */
  advanceTo(now: number): void;
  control(cmd: SimControlCommand): void;
  setCapacityFloor(floor: CapacityFloor | null): void;
  /** The plan's `drain.until.connections`, for the intrinsic drain times (default 0). */
  setDrainThreshold(connections: number): void;
  state(): SimStateSnapshot;
  metrics(): SimMetricsSnapshot;
}

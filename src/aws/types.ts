/**
 * The AWS facade the rest of rollwave talks to. Adapters in this folder implement it over the SDK v3
 * clients with pagination, batching (by the limits in aws/limits.ts), client-side rate limits and
 * call counting. Dry runs get only an `AwsReader`, which has no mutating method at all.
 */
import { brand, hasBrand } from "../util/brand.js";

export type TargetHealthState =
  | "initial"
  | "healthy"
  | "unhealthy"
  | "unhealthy.draining"
  | "unused"
  | "draining"
  | "unavailable";

export type SsmPingStatus = "Online" | "ConnectionLost" | "Inactive" | "Unknown";

/** A target group as discovered (DescribeTargetGroups + its attributes). */
export interface TargetGroup {
  arn: string;
  name: string;
  /** application (ALB) or network (NLB). */
  type: "application" | "network" | "gateway" | "unknown";
  protocol?: string;
  port?: number;
  loadBalancerArns: string[];
  deregistrationDelaySeconds: number;
  /** NLB `deregistration_delay.connection_termination.enabled`. */
  connectionTermination: boolean;
  /**
   * `load_balancing.cross_zone.enabled` of the group, or of its load balancer when the group uses
   * the load balancer's configuration; undefined when unknown (then the type's AWS default: off
   * for a network load balancer, on for an application one).
   */
  crossZone?: boolean;
  /** Total targets registered in the group (all of them, not only the selected fleet). */
  targetCount: number;
  /** The group's health check, when discovered: the engine reads health when it can have passed. */
  healthCheck?: { intervalSeconds: number; healthyThreshold: number };
}

export interface Ec2InstanceSummary {
  id: string;
  az: string;
  state: string;
  privateIp?: string;
  /** The instance's VPC (absent for EC2-Classic or when the endpoint does not report it). */
  vpcId?: string;
  tags: Record<string, string>;
}

export interface TargetHealthDescription {
  id: string;
  port?: number;
  az?: string;
  state: TargetHealthState;
  reason?: string;
  description?: string;
}

type CommandStatus =
  | "Pending"
  | "InProgress"
  | "Success"
  | "Cancelled"
  | "Failed"
  | "TimedOut"
  | "Cancelling";
export type InvocationStatus = CommandStatus | "Delayed";

export interface CommandInvocationSummary {
  instanceId: string;
  status: InvocationStatus;
  /** e.g. `Success`, `Failed`, `Undeliverable`, `Delivery Timed Out`, `Execution Timed Out`, `Terminated`. */
  statusDetails: string;
  /** -1 before the command started. */
  responseCode?: number;
  /** Plugin output (SSM cuts it at 2,500 characters). */
  output?: string;
  /** Plugin standard error when the adapter has it. */
  stderr?: string;
  /** When the agent finished running it (epoch ms), once it has: the engine's step-duration estimate. */
  finishedAt?: number;
}

export interface AlarmStateSummary {
  name: string;
  state: "OK" | "ALARM" | "INSUFFICIENT_DATA";
  reason?: string;
}

export interface AutoScalingGroupSummary {
  name: string;
  suspendedProcesses: string[];
  instanceIds: string[];
}

interface MetricQuery {
  namespace: string;
  metricName: string;
  /** Dimension name whose value is the instance id (e.g. `InstanceId`). */
  dimension: string;
  instanceIds: string[];
  statistic: string; // Average | Maximum | Sum …
  periodSeconds: number;
  start: Date;
  end: Date;
}

/** Read-only AWS. Every call is batched and paginated inside; none is per instance. */
export interface AwsReader {
  getCallerIdentity(): Promise<{ account: string; arn: string }>;
  /** Running instances (or `states`) matching all `tags`, or exactly `instanceIds`. Paginated. */
  describeInstances(q: {
    tags?: Record<string, string>;
    instanceIds?: string[];
    states?: string[];
  }): Promise<Ec2InstanceSummary[]>;
  /**
   * Target groups by ARN or name; all of the region's when both are empty. Attributes and the load
   * balancer type are filled in unless `details: false` (then the type comes from the protocol and
   * the deregistration settings are AWS's defaults), which saves a call per group when listing a
   * whole region only to find the few groups that matter. `instanceTargetsInVpcs` keeps only the
   * groups that can hold those VPCs' instances (target type `instance`, same VPC; a group or
   * endpoint that reports no VPC is kept). `targetCount` is 0: DescribeTargetHealth knows it.
   */
  describeTargetGroups(q: {
    arns?: string[];
    names?: string[];
    details?: boolean;
    instanceTargetsInVpcs?: string[];
  }): Promise<TargetGroup[]>;
  /** Every target of one group (not paginated in AWS). */
  describeTargetHealth(targetGroupArn: string): Promise<TargetHealthDescription[]>;
  /** SSM ping status per instance id; ids SSM does not know are absent. Batched by 50. */
  describeInstanceInformation(instanceIds: string[]): Promise<Record<string, SsmPingStatus>>;
  /** Auto Scaling group name per instance id; ids in no group are absent. Batched by 50. */
  describeAutoScalingInstances(instanceIds: string[]): Promise<Record<string, string>>;
  describeAutoScalingGroups(names: string[]): Promise<AutoScalingGroupSummary[]>;
  /** Every invocation of one command, with details. Paginated. */
  listCommandInvocations(commandId: string): Promise<CommandInvocationSummary[]>;
  /**
   * Commands sent to one instance at or after `after` (ListCommands, paginated): how a SendCommand
   * whose answer was lost (a crash, a timeout) is found again by its Comment.
   */
  listCommands(q: { instanceId: string; after: Date }): Promise<CommandSummary[]>;
  describeAlarms(names: string[]): Promise<AlarmStateSummary[]>;
  /** Latest value of a per-instance metric, by instance id (absent when no datapoint). */
  getInstanceMetric(q: MetricQuery): Promise<Record<string, number>>;
  getParameter(name: string): Promise<{ value: string; version: number } | null>;
}

export interface TargetRef {
  id: string;
  port?: number;
}

export interface CommandSummary {
  commandId: string;
  comment: string;
  /** When SSM received it, epoch ms. */
  requestedAt: number;
  instanceIds: string[];
}

export interface SendCommandRequest {
  /** At most `LIMITS.sendCommandInstanceIds` (the adapter rejects more: group them upstream). */
  instanceIds: string[];
  commands: string[];
  /** SSM delivery timeout (`TimeoutSeconds`); the adapter clamps both to `LIMITS` (aws/limits.ts). */
  timeoutSeconds: number;
  /** `executionTimeout` parameter of AWS-RunShellScript. */
  executionTimeoutSeconds: number;
  comment?: string;
}

/** Mutating AWS. Only the engine's real run gets one. */
export interface AwsWriter {
  deregisterTargets(targetGroupArn: string, targets: TargetRef[]): Promise<void>;
  registerTargets(targetGroupArn: string, targets: TargetRef[]): Promise<void>;
  sendCommand(req: SendCommandRequest): Promise<{ commandId: string }>;
  /** Stop a command the engine gave up on, so a rollback can never race it. */
  cancelCommand(commandId: string, instanceIds?: string[]): Promise<void>;
  suspendProcesses(autoScalingGroup: string, processes: string[]): Promise<void>;
  resumeProcesses(autoScalingGroup: string, processes: string[]): Promise<void>;
  /**
   * PutParameter (Type String). With `overwrite: false` it is an atomic create-if-absent: null when
   * the name exists (ParameterAlreadyExists). Returns the version written. The fleet lock's primitive.
   */
  putParameter(p: { name: string; value: string; overwrite: boolean }): Promise<{ version: number } | null>;
  /** DeleteParameter; false when there was none (ParameterNotFound). */
  deleteParameter(name: string): Promise<boolean>;
}

/** Counts of API calls made, keyed `Service.Action` (e.g. `ELBv2.DescribeTargetHealth`). */
export interface ApiCallCounts {
  total: number;
  byAction: Record<string, number>;
  /** Throttling errors seen (each retried by the SDK). */
  throttled: number;
}

export interface AwsConnection {
  reader: AwsReader;
  calls(): ApiCallCounts;
  close(): void;
}

export interface MutableAwsConnection extends AwsConnection {
  writer: AwsWriter;
}

/** An AWS failure as data: operation, code and request id for the report. */
export class AwsCallError extends Error {
  static isAwsCallError(e: unknown): e is AwsCallError {
    return hasBrand(e, "AwsCallError");
  }
  constructor(
    readonly operation: string,
    readonly code: string,
    message: string,
    readonly requestId?: string,
    readonly retryable = false,
  ) {
    super(`${operation}: ${code}: ${message}${requestId ? ` (request ${requestId})` : ""}`);
    this.name = "AwsCallError";
    brand(this, "AwsCallError");
  }
}

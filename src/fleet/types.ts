/** The fleet: the instances a plan selects, with everything the planner and engine need to know. */

export type TargetHealthState =
  | "initial"
  | "healthy"
  | "unhealthy"
  | "unhealthy.draining"
  | "unused"
  | "draining"
  | "unavailable";

export type SsmPingStatus = "Online" | "ConnectionLost" | "Inactive" | "Unknown";

export interface InstanceTarget {
  targetGroupArn: string;
  /** Port the instance is registered with (needed to deregister a port override). */
  port?: number;
  state: TargetHealthState;
  reason?: string;
}

export interface Instance {
  id: string;
  az: string;
  state: string; // EC2 state name: running, stopped, …
  privateIp?: string;
  tags: Record<string, string>;
  autoScalingGroup?: string;
  ssm: SsmPingStatus;
  targets: InstanceTarget[];
}

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
}

export interface Fleet {
  region: string | null;
  account: string | null;
  instances: Instance[];
  targetGroups: TargetGroup[];
  autoScalingGroups: string[];
  /** Where the fleet came from, for the preview. */
  source: "aws" | "inventory" | "simulator";
}

/** Why an instance is not ready to be rolled (used by the planner's notReady policy). */
export function notReadyReasons(i: Instance): string[] {
  const reasons: string[] = [];
  if (i.state !== "running") reasons.push(`instance is ${i.state}`);
  if (i.ssm !== "Online") reasons.push(`SSM agent ${i.ssm}`);
  for (const t of i.targets) {
    if (t.state !== "healthy") reasons.push(`${t.state} in ${shortTg(t.targetGroupArn)}`);
  }
  return reasons;
}

export function shortTg(arn: string): string {
  const m = /targetgroup\/([^/]+)/.exec(arn);
  return m?.[1] ?? arn;
}

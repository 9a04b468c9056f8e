/** The fleet: the instances a plan selects, with everything the planner and engine need to know. */
import type { SsmPingStatus, TargetGroup, TargetHealthState } from "../aws/types.js";

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

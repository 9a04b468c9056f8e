import { isScalingProcess } from "../../../util/auto-scaling.js";
import { SimApiError } from "../../model/api.js";
import type { QueryParams } from "../query-params.js";
import type { QueryService } from "./types.js";

/** Auto Scaling: query protocol, version 2011-01-01, lists as `InstanceIds.member.N`. */
export const autoScalingService: QueryService = {
  name: "AutoScaling",
  protocol: "query",
  version: "2011-01-01",
  signingName: "autoscaling",
  xmlNamespace: "http://autoscaling.amazonaws.com/doc/2011-01-01/",
  actions: {
    DescribeAutoScalingGroups(p, world) {
      const page = world.describeAutoScalingGroups({
        names: p.list("AutoScalingGroupNames"),
        maxRecords: maxRecords(p, 100),
        nextToken: p.str("NextToken"),
      });
      return {
        AutoScalingGroups: page.items.map((g) => ({
          AutoScalingGroupName: g.name,
          AutoScalingGroupARN: g.arn,
          MinSize: g.minSize,
          MaxSize: g.maxSize,
          DesiredCapacity: g.desiredCapacity,
          DefaultCooldown: 300,
          AvailabilityZones: g.azs,
          LoadBalancerNames: [],
          TargetGroupARNs: g.targetGroupArns,
          HealthCheckType: "ELB",
          HealthCheckGracePeriod: 300,
          Instances: g.instances.map((i) => ({
            InstanceId: i.instanceId,
            AvailabilityZone: i.az,
            LifecycleState: i.lifecycleState,
            HealthStatus: i.healthStatus,
            ProtectedFromScaleIn: false,
          })),
          CreatedTime: new Date(g.createdAt),
          SuspendedProcesses: g.suspendedProcesses.map((ProcessName) => ({
            ProcessName,
            SuspensionReason: "User suspended",
          })),
          EnabledMetrics: [],
          Tags: [],
          NewInstancesProtectedFromScaleIn: false,
        })),
        NextToken: page.nextToken,
      };
    },

    DescribeAutoScalingInstances(p, world) {
      const instanceIds = p.list("InstanceIds");
      if (instanceIds && instanceIds.length > 50) {
        throw new SimApiError(
          "ValidationError",
          "The number of instance ids that may be passed in is limited to 50",
        );
      }
      const page = world.describeAutoScalingInstances({
        instanceIds,
        maxRecords: maxRecords(p, 50),
        nextToken: p.str("NextToken"),
      });
      return {
        AutoScalingInstances: page.items.map((i) => ({
          InstanceId: i.instanceId,
          AutoScalingGroupName: i.groupName,
          AvailabilityZone: i.az,
          LifecycleState: i.lifecycleState,
          HealthStatus: i.healthStatus,
          ProtectedFromScaleIn: false,
        })),
        NextToken: page.nextToken,
      };
    },

    SuspendProcesses(p, world) {
      world.suspendProcesses(p.required("AutoScalingGroupName"), processes(p));
      return undefined;
    },

    ResumeProcesses(p, world) {
      world.resumeProcesses(p.required("AutoScalingGroupName"), processes(p));
      return undefined;
    },
  },
};

function maxRecords(p: QueryParams, max: number): number | undefined {
  const n = p.int("MaxRecords");
  if (n !== undefined && (n < 1 || n > max)) {
    throw new SimApiError("ValidationError", `MaxRecords must be between 1 and ${max}, got ${n}`);
  }
  return n;
}

/** Absent list = every process, as the real API does. */
function processes(p: QueryParams): string[] | undefined {
  const list = p.list("ScalingProcesses");
  for (const name of list ?? []) {
    if (!isScalingProcess(name)) {
      throw new SimApiError("ValidationError", `Process '${name}' is not a valid scaling process`);
    }
  }
  return list;
}

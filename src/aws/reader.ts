/**
 * `AwsReader` over the SDK clients. Every method batches ids to the API's per-call limit and follows
 * pagination to the end; none makes a call per instance.
 */
import {
  paginateDescribeAutoScalingGroups,
  paginateDescribeAutoScalingInstances,
} from "@aws-sdk/client-auto-scaling";
import { paginateDescribeAlarms, paginateGetMetricData } from "@aws-sdk/client-cloudwatch";
import { type Filter, paginateDescribeInstances } from "@aws-sdk/client-ec2";
import {
  DescribeTargetGroupAttributesCommand,
  DescribeTargetHealthCommand,
  paginateDescribeLoadBalancers,
  paginateDescribeTargetGroups,
  type TargetGroup as SdkTargetGroup,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  GetParameterCommand,
  paginateDescribeInstanceInformation,
  paginateListCommandInvocations,
} from "@aws-sdk/client-ssm";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import type { SsmPingStatus, TargetGroup, TargetHealthState } from "../fleet/types.js";
import { chunk, splitStderr } from "./chunk.js";
import type { AwsClients } from "./clients.js";
import { hasCode, toAwsCallError } from "./errors.js";
import type {
  AlarmStateSummary,
  AutoScalingGroupSummary,
  AwsReader,
  CommandInvocationSummary,
  Ec2InstanceSummary,
  InvocationStatus,
  TargetHealthDescription,
} from "./types.js";

/** Per-call limits of the APIs (see /work/shared/aws-facts.md). */
export const LIMITS = {
  ec2InstanceIdsPerCall: 200,
  ec2MaxResults: 1000,
  elbNamesPerCall: 20,
  elbPageSize: 400,
  ssmInstanceIdsPerCall: 50,
  ssmMaxResults: 50,
  asgInstanceIdsPerCall: 50,
  asgNamesPerCall: 100,
  alarmNamesPerCall: 100,
  metricQueriesPerCall: 500,
} as const;

const PAGING = { stopOnSameToken: true } as const;

/** Run one logical read, mapping any SDK failure to an `AwsCallError` named `Service.Action`. */
export async function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toAwsCallError(operation, error);
  }
}

export function createReader(c: AwsClients): AwsReader {
  const reader: AwsReader = {
    getCallerIdentity: () =>
      call("STS.GetCallerIdentity", async () => {
        const out = await c.sts.send(new GetCallerIdentityCommand({}));
        return { account: out.Account ?? "", arn: out.Arn ?? "" };
      }),

    describeInstances: (q) =>
      call("EC2.DescribeInstances", async () => {
        const filters: Filter[] = Object.entries(q.tags ?? {}).map(([k, v]) => ({
          Name: `tag:${k}`,
          Values: [v],
        }));
        // Asking for ids without states means "whatever state they are in": the engine looks up
        // instances it already knows to notice one being stopped or terminated.
        const states = q.states ?? (q.instanceIds ? [] : ["running"]);
        if (states.length > 0) filters.push({ Name: "instance-state-name", Values: states });
        // Ids go in an `instance-id` filter, not `InstanceIds`: a filter combines with MaxResults
        // paging and simply omits an id that no longer exists, where `InstanceIds` fails the whole
        // call with InvalidInstanceID.NotFound.
        const idBatches = q.instanceIds ? chunk(unique(q.instanceIds), LIMITS.ec2InstanceIdsPerCall) : [null];
        const pages = await Promise.all(
          idBatches.map(async (ids) => {
            const out: Ec2InstanceSummary[] = [];
            const batchFilters = ids ? [...filters, { Name: "instance-id", Values: ids }] : filters;
            const input = { Filters: batchFilters, MaxResults: LIMITS.ec2MaxResults };
            for await (const page of paginateDescribeInstances({ client: c.ec2, ...PAGING }, input)) {
              for (const r of page.Reservations ?? [])
                for (const i of r.Instances ?? []) {
                  if (!i.InstanceId) continue;
                  out.push({
                    id: i.InstanceId,
                    az: i.Placement?.AvailabilityZone ?? "",
                    state: i.State?.Name ?? "unknown",
                    ...(i.PrivateIpAddress ? { privateIp: i.PrivateIpAddress } : {}),
                    ...(i.VpcId ? { vpcId: i.VpcId } : {}),
                    tags: Object.fromEntries((i.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""])),
                  });
                }
            }
            return out;
          }),
        );
        return dedupeBy(pages.flat(), (i) => i.id);
      }),

    describeTargetGroups: (q) => call("ELBv2.DescribeTargetGroups", () => describeTargetGroups(c, q)),

    describeTargetHealth: (arn) =>
      call("ELBv2.DescribeTargetHealth", async () => {
        const out = await c.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
        return (out.TargetHealthDescriptions ?? []).flatMap((d): TargetHealthDescription[] => {
          if (!d.Target?.Id) return [];
          return [
            {
              id: d.Target.Id,
              ...(d.Target.Port !== undefined ? { port: d.Target.Port } : {}),
              ...(d.Target.AvailabilityZone ? { az: d.Target.AvailabilityZone } : {}),
              state: (d.TargetHealth?.State ?? "unavailable") as TargetHealthState,
              ...(d.TargetHealth?.Reason ? { reason: d.TargetHealth.Reason } : {}),
              ...(d.TargetHealth?.Description ? { description: d.TargetHealth.Description } : {}),
            },
          ];
        });
      }),

    describeInstanceInformation: (ids) =>
      call("SSM.DescribeInstanceInformation", async () => {
        const result: Record<string, SsmPingStatus> = {};
        await Promise.all(
          chunk(unique(ids), LIMITS.ssmInstanceIdsPerCall).map(async (batch) => {
            const input = {
              Filters: [{ Key: "InstanceIds", Values: batch }],
              MaxResults: LIMITS.ssmMaxResults,
            };
            for await (const page of paginateDescribeInstanceInformation(
              { client: c.ssm, ...PAGING },
              input,
            )) {
              for (const info of page.InstanceInformationList ?? []) {
                if (info.InstanceId) result[info.InstanceId] = pingStatus(info.PingStatus);
              }
            }
          }),
        );
        return result;
      }),

    describeAutoScalingInstances: (ids) =>
      call("AutoScaling.DescribeAutoScalingInstances", async () => {
        const result: Record<string, string> = {};
        await Promise.all(
          chunk(unique(ids), LIMITS.asgInstanceIdsPerCall).map(async (batch) => {
            const input = { InstanceIds: batch, MaxRecords: LIMITS.asgInstanceIdsPerCall };
            for await (const page of paginateDescribeAutoScalingInstances(
              { client: c.asg, ...PAGING },
              input,
            )) {
              for (const i of page.AutoScalingInstances ?? []) {
                if (i.InstanceId && i.AutoScalingGroupName) result[i.InstanceId] = i.AutoScalingGroupName;
              }
            }
          }),
        );
        return result;
      }),

    describeAutoScalingGroups: (names) =>
      call("AutoScaling.DescribeAutoScalingGroups", async () => {
        // No names means none, not "every group in the region".
        const batches = chunk(unique(names), LIMITS.asgNamesPerCall);
        const groups = await Promise.all(
          batches.map(async (batch) => {
            const out: AutoScalingGroupSummary[] = [];
            const input = { AutoScalingGroupNames: batch, MaxRecords: LIMITS.asgNamesPerCall };
            for await (const page of paginateDescribeAutoScalingGroups({ client: c.asg, ...PAGING }, input)) {
              for (const g of page.AutoScalingGroups ?? []) {
                out.push({
                  name: g.AutoScalingGroupName ?? "",
                  suspendedProcesses: (g.SuspendedProcesses ?? []).flatMap((p) =>
                    p.ProcessName ? [p.ProcessName] : [],
                  ),
                  instanceIds: (g.Instances ?? []).flatMap((i) => (i.InstanceId ? [i.InstanceId] : [])),
                });
              }
            }
            return out;
          }),
        );
        return groups.flat();
      }),

    listCommandInvocations: (commandId) =>
      call("SSM.ListCommandInvocations", async () => {
        const out: CommandInvocationSummary[] = [];
        const input = { CommandId: commandId, Details: true, MaxResults: LIMITS.ssmMaxResults };
        try {
          for await (const page of paginateListCommandInvocations({ client: c.ssm, ...PAGING }, input)) {
            for (const inv of page.CommandInvocations ?? []) {
              if (!inv.InstanceId) continue;
              const plugin = inv.CommandPlugins?.[0];
              const { output, stderr } = splitStderr(plugin?.Output);
              out.push({
                instanceId: inv.InstanceId,
                status: (inv.Status ?? "Pending") as InvocationStatus,
                statusDetails: inv.StatusDetails ?? inv.Status ?? "",
                ...(plugin?.ResponseCode !== undefined ? { responseCode: plugin.ResponseCode } : {}),
                ...(output !== undefined ? { output } : {}),
                ...(stderr !== undefined ? { stderr } : {}),
              });
            }
          }
        } catch (error) {
          // Right after SendCommand, SSM can say the invocations do not exist yet (eventual
          // consistency): that is "nothing to report yet", not a failure.
          if (hasCode(error, "InvocationDoesNotExist")) return [];
          throw error;
        }
        return out;
      }),

    describeAlarms: (names) =>
      call("CloudWatch.DescribeAlarms", async () => {
        const batches = chunk(unique(names), LIMITS.alarmNamesPerCall);
        const pages = await Promise.all(
          batches.map(async (batch) => {
            const out: AlarmStateSummary[] = [];
            const input = {
              AlarmNames: batch,
              AlarmTypes: ["MetricAlarm" as const, "CompositeAlarm" as const],
              MaxRecords: LIMITS.alarmNamesPerCall,
            };
            for await (const page of paginateDescribeAlarms({ client: c.cw, ...PAGING }, input)) {
              for (const a of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
                if (!a.AlarmName) continue;
                out.push({
                  name: a.AlarmName,
                  state: (a.StateValue ?? "INSUFFICIENT_DATA") as AlarmStateSummary["state"],
                  ...(a.StateReason ? { reason: a.StateReason } : {}),
                });
              }
            }
            return out;
          }),
        );
        return pages.flat();
      }),

    getInstanceMetric: (q) =>
      call("CloudWatch.GetMetricData", async () => {
        const latest = new Map<string, { at: number; value: number }>();
        const batches = chunk(unique(q.instanceIds), LIMITS.metricQueriesPerCall);
        await Promise.all(
          batches.map(async (ids) => {
            // Query ids must match ^[a-z][a-zA-Z0-9_]*$, so they are positions, mapped back here.
            const byQueryId = new Map(ids.map((id, n) => [`m${n}`, id]));
            const input = {
              MetricDataQueries: ids.map((id, n) => ({
                Id: `m${n}`,
                MetricStat: {
                  Metric: {
                    Namespace: q.namespace,
                    MetricName: q.metricName,
                    Dimensions: [{ Name: q.dimension, Value: id }],
                  },
                  Period: q.periodSeconds,
                  Stat: q.statistic,
                },
                ReturnData: true,
              })),
              StartTime: q.start,
              EndTime: q.end,
              ScanBy: "TimestampDescending" as const,
            };
            for await (const page of paginateGetMetricData({ client: c.cw, ...PAGING }, input)) {
              for (const r of page.MetricDataResults ?? []) {
                const instanceId = r.Id ? byQueryId.get(r.Id) : undefined;
                if (!instanceId) continue;
                (r.Values ?? []).forEach((value, n) => {
                  const at = r.Timestamps?.[n]?.getTime() ?? Number.NEGATIVE_INFINITY;
                  const seen = latest.get(instanceId);
                  if (!seen || at > seen.at) latest.set(instanceId, { at, value });
                });
              }
            }
          }),
        );
        return Object.fromEntries([...latest].map(([id, v]) => [id, v.value]));
      }),

    getParameter: (name) =>
      call("SSM.GetParameter", async () => {
        try {
          const out = await c.ssm.send(new GetParameterCommand({ Name: name }));
          return { value: out.Parameter?.Value ?? "", version: out.Parameter?.Version ?? 0 };
        } catch (error) {
          if (hasCode(error, "ParameterNotFound")) return null;
          throw error;
        }
      }),
  };
  return reader;
}

async function describeTargetGroups(
  c: AwsClients,
  q: { arns?: string[]; names?: string[]; details?: boolean; instanceTargetsInVpcs?: string[] },
): Promise<TargetGroup[]> {
  const arns = unique(q.arns ?? []);
  const names = unique(q.names ?? []);
  const inputs =
    arns.length === 0 && names.length === 0
      ? [{ PageSize: LIMITS.elbPageSize }]
      : [
          ...chunk(arns, LIMITS.elbNamesPerCall).map((b) => ({ TargetGroupArns: b })),
          ...chunk(names, LIMITS.elbNamesPerCall).map((b) => ({ Names: b })),
        ];
  const pages = await Promise.all(
    inputs.map(async (input) => {
      const out: SdkTargetGroup[] = [];
      for await (const page of paginateDescribeTargetGroups({ client: c.elb, ...PAGING }, input)) {
        out.push(...(page.TargetGroups ?? []));
      }
      return out;
    }),
  );
  const vpcs = q.instanceTargetsInVpcs ? new Set(q.instanceTargetsInVpcs) : undefined;
  const groups = dedupeBy(
    pages
      .flat()
      .filter((g) => g.TargetGroupArn)
      // ip / lambda / alb groups cannot list an instance id, and a group in another VPC cannot hold
      // these instances: skipping them saves a DescribeTargetHealth each in a busy Region.
      .filter(
        (g) =>
          !vpcs ||
          ((g.TargetType ?? "instance") === "instance" && (!g.VpcId || vpcs.size === 0 || vpcs.has(g.VpcId))),
      ),
    (g) => g.TargetGroupArn as string,
  );
  if (q.details === false) return groups.map((g) => toTargetGroup(g, undefined, {}));

  const lbArns = unique(groups.flatMap((g) => g.LoadBalancerArns ?? []));
  const [lbTypes, attributes] = await Promise.all([
    loadBalancerTypes(c, lbArns),
    // ELBv2 has no batch form of DescribeTargetGroupAttributes: one call per group, never per instance.
    Promise.all(
      groups.map(async (g) => {
        const out = await c.elb.send(
          new DescribeTargetGroupAttributesCommand({ TargetGroupArn: g.TargetGroupArn }),
        );
        return Object.fromEntries((out.Attributes ?? []).map((a) => [a.Key ?? "", a.Value ?? ""]));
      }),
    ),
  ]);
  return groups.map((g, n) => {
    const lbType = (g.LoadBalancerArns ?? []).map((a) => lbTypes.get(a)).find((t) => t !== undefined);
    return toTargetGroup(g, lbType, attributes[n] ?? {});
  });
}

async function loadBalancerTypes(c: AwsClients, arns: string[]): Promise<Map<string, string>> {
  const types = new Map<string, string>();
  await Promise.all(
    chunk(arns, LIMITS.elbNamesPerCall).map(async (batch) => {
      for await (const page of paginateDescribeLoadBalancers(
        { client: c.elb, ...PAGING },
        { LoadBalancerArns: batch },
      )) {
        for (const lb of page.LoadBalancers ?? [])
          if (lb.LoadBalancerArn && lb.Type) types.set(lb.LoadBalancerArn, lb.Type);
      }
    }),
  );
  return types;
}

function toTargetGroup(
  g: SdkTargetGroup,
  lbType: string | undefined,
  attrs: Record<string, string>,
): TargetGroup {
  const delay = Number(attrs["deregistration_delay.timeout_seconds"] ?? "300");
  return {
    arn: g.TargetGroupArn ?? "",
    name: g.TargetGroupName ?? "",
    type: groupType(lbType, g.Protocol),
    ...(g.Protocol ? { protocol: g.Protocol } : {}),
    ...(g.Port !== undefined ? { port: g.Port } : {}),
    loadBalancerArns: g.LoadBalancerArns ?? [],
    deregistrationDelaySeconds: Number.isFinite(delay) ? delay : 300,
    connectionTermination: attrs["deregistration_delay.connection_termination.enabled"] === "true",
    // Filled by whoever reads the group's targets (DescribeTargetHealth); unknown here.
    targetCount: 0,
  };
}

/** The load balancer's type when known; otherwise the protocol tells: TCP/UDP/TLS only exist on NLBs. */
export function groupType(lbType: string | undefined, protocol: string | undefined): TargetGroup["type"] {
  if (lbType === "application" || lbType === "network" || lbType === "gateway") return lbType;
  switch (protocol) {
    case "HTTP":
    case "HTTPS":
      return "application";
    case "TCP":
    case "UDP":
    case "TLS":
    case "TCP_UDP":
    case "QUIC":
    case "TCP_QUIC":
      return "network";
    case "GENEVE":
      return "gateway";
    default:
      return "unknown";
  }
}

function pingStatus(s: string | undefined): SsmPingStatus {
  return s === "Online" || s === "ConnectionLost" || s === "Inactive" ? s : "Unknown";
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

function dedupeBy<T>(xs: T[], key: (x: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const x of xs) if (!seen.has(key(x))) seen.set(key(x), x);
  return [...seen.values()];
}

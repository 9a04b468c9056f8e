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
import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  GetParameterCommand,
  paginateDescribeInstanceInformation,
  paginateListCommandInvocations,
  paginateListCommands,
} from "@aws-sdk/client-ssm";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { chunk, dedupeBy, splitStderr, unique } from "./chunk.js";
import type { AwsClients } from "./clients.js";
import { call, hasCode } from "./errors.js";
import { LIMITS, PAGING } from "./limits.js";
import { describeTargetGroups } from "./target-groups.js";
import type {
  AlarmStateSummary,
  AutoScalingGroupSummary,
  AwsReader,
  CommandInvocationSummary,
  CommandSummary,
  Ec2InstanceSummary,
  InvocationStatus,
  SsmPingStatus,
  TargetHealthDescription,
  TargetHealthState,
} from "./types.js";

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
                ...(plugin?.ResponseFinishDateTime
                  ? { finishedAt: plugin.ResponseFinishDateTime.getTime() }
                  : {}),
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

    listCommands: ({ instanceId, after }) =>
      call("SSM.ListCommands", async () => {
        const out: CommandSummary[] = [];
        const input = {
          InstanceId: instanceId,
          Filters: [{ key: "InvokedAfter" as const, value: after.toISOString() }],
          MaxResults: LIMITS.ssmMaxResults,
        };
        for await (const page of paginateListCommands({ client: c.ssm, ...PAGING }, input)) {
          for (const cmd of page.Commands ?? []) {
            const requestedAt = cmd.RequestedDateTime?.getTime() ?? 0;
            // The filter is applied here too: not every SSM-compatible endpoint honours it.
            if (!cmd.CommandId || requestedAt < after.getTime()) continue;
            out.push({
              commandId: cmd.CommandId,
              comment: cmd.Comment ?? "",
              requestedAt,
              instanceIds: cmd.InstanceIds ?? [],
            });
          }
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

function pingStatus(s: string | undefined): SsmPingStatus {
  return s === "Online" || s === "ConnectionLost" || s === "Inactive" ? s : "Unknown";
}

/**
 * DescribeTargetGroups with what rollwave needs filled in: deregistration delay, NLB connection
 * termination and cross-zone load balancing (DescribeTargetGroupAttributes, one call per group —
 * ELBv2 has no batch form), the load balancer type (DescribeLoadBalancers, 20 ARNs a call) and,
 * for groups that use their load balancer's cross-zone setting, that setting
 * (DescribeLoadBalancerAttributes, one call per such load balancer).
 */
import {
  DescribeLoadBalancerAttributesCommand,
  DescribeTargetGroupAttributesCommand,
  paginateDescribeLoadBalancers,
  paginateDescribeTargetGroups,
  type TargetGroup as SdkTargetGroup,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { chunk, dedupeBy, unique } from "./chunk.js";
import type { AwsClients } from "./clients.js";
import { LIMITS, PAGING } from "./limits.js";
import type { TargetGroup } from "./types.js";

export async function describeTargetGroups(
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
  const lbCrossZone = await loadBalancerCrossZone(
    c,
    unique(
      groups.flatMap((g, n) =>
        crossZoneAttr(attributes[n] ?? {}) === undefined ? (g.LoadBalancerArns ?? []) : [],
      ),
    ),
  );
  return groups.map((g, n) => {
    const lbType = (g.LoadBalancerArns ?? []).map((a) => lbTypes.get(a)).find((t) => t !== undefined);
    const out = toTargetGroup(g, lbType, attributes[n] ?? {});
    const own = crossZoneAttr(attributes[n] ?? {});
    const fromLb = (g.LoadBalancerArns ?? []).map((a) => lbCrossZone.get(a)).find((v) => v !== undefined);
    const crossZone = own ?? fromLb;
    if (crossZone !== undefined) out.crossZone = crossZone;
    return out;
  });
}

/** `load_balancing.cross_zone.enabled` when the group sets it (not `use_load_balancer_configuration`). */
function crossZoneAttr(attrs: Record<string, string>): boolean | undefined {
  const v = attrs["load_balancing.cross_zone.enabled"];
  return v === "true" ? true : v === "false" ? false : undefined;
}

async function loadBalancerCrossZone(c: AwsClients, arns: string[]): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>();
  await Promise.all(
    arns.map(async (arn) => {
      const r = await c.elb.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: arn }));
      const v = (r.Attributes ?? []).find((a) => a.Key === "load_balancing.cross_zone.enabled")?.Value;
      if (v === "true" || v === "false") out.set(arn, v === "true");
    }),
  );
  return out;
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
    ...(g.HealthCheckIntervalSeconds && g.HealthyThresholdCount
      ? {
          healthCheck: {
            intervalSeconds: g.HealthCheckIntervalSeconds,
            healthyThreshold: g.HealthyThresholdCount,
          },
        }
      : {}),
  };
}

/** The load balancer's type when known; otherwise the protocol tells: TCP/UDP/TLS only exist on NLBs. */
function groupType(lbType: string | undefined, protocol: string | undefined): TargetGroup["type"] {
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

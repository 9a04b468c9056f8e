import { SimApiError, type SimTargetRef } from "../../model/api.js";
import type { QueryParams } from "../query-params.js";
import type { QueryService } from "./types.js";

/** Elastic Load Balancing v2: query protocol, lists as `Targets.member.N.Id`. */
export const elbv2Service: QueryService = {
  name: "ELBv2",
  protocol: "query",
  version: "2015-12-01",
  signingName: "elasticloadbalancing",
  xmlNamespace: "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
  actions: {
    DescribeLoadBalancers(p, world) {
      const page = world.describeLoadBalancers({
        arns: p.list("LoadBalancerArns"),
        names: p.list("Names"),
        pageSize: pageSize(p),
        marker: p.str("Marker"),
      });
      return {
        LoadBalancers: page.items.map((lb) => ({
          LoadBalancerArn: lb.arn,
          DNSName: lb.dnsName,
          CanonicalHostedZoneId: lb.type === "network" ? "Z26RNL4JYFTOTI" : "Z35SXDOTRQ7X7K",
          CreatedTime: new Date(lb.createdAt),
          LoadBalancerName: lb.name,
          Scheme: lb.scheme,
          State: { Code: "active" },
          Type: lb.type,
          AvailabilityZones: lb.azs.map((az) => ({ ZoneName: az })),
          IpAddressType: "ipv4",
        })),
        NextMarker: page.nextToken,
      };
    },

    DescribeTargetGroups(p, world) {
      const page = world.describeTargetGroups({
        arns: p.list("TargetGroupArns"),
        names: p.list("Names"),
        loadBalancerArn: p.str("LoadBalancerArn"),
        pageSize: pageSize(p),
        marker: p.str("Marker"),
      });
      return {
        TargetGroups: page.items.map((tg) => ({
          TargetGroupArn: tg.arn,
          TargetGroupName: tg.name,
          Protocol: tg.protocol,
          Port: tg.port,
          HealthCheckProtocol: tg.protocol === "HTTPS" ? "HTTPS" : tg.protocol === "HTTP" ? "HTTP" : "TCP",
          HealthCheckPort: "traffic-port",
          HealthCheckEnabled: true,
          HealthCheckIntervalSeconds: tg.healthCheck.intervalSeconds,
          HealthCheckTimeoutSeconds: Math.min(5, tg.healthCheck.intervalSeconds),
          HealthyThresholdCount: tg.healthCheck.healthyThreshold,
          UnhealthyThresholdCount: tg.healthCheck.unhealthyThreshold,
          HealthCheckPath: tg.healthCheck.path,
          Matcher: tg.healthCheck.path ? { HttpCode: "200" } : undefined,
          LoadBalancerArns: tg.loadBalancerArns,
          TargetType: tg.targetType,
          IpAddressType: "ipv4",
        })),
        NextMarker: page.nextToken,
      };
    },

    DescribeTargetGroupAttributes(p, world) {
      const attrs = world.describeTargetGroupAttributes(p.required("TargetGroupArn"));
      return { Attributes: Object.entries(attrs).map(([Key, Value]) => ({ Key, Value })) };
    },

    DescribeLoadBalancerAttributes(p, world) {
      const attrs = world.describeLoadBalancerAttributes(p.required("LoadBalancerArn"));
      return { Attributes: Object.entries(attrs).map(([Key, Value]) => ({ Key, Value })) };
    },

    DescribeTargetHealth(p, world) {
      const health = world.describeTargetHealth(p.required("TargetGroupArn"), targets(p, false));
      return {
        TargetHealthDescriptions: health.map((h) => ({
          Target: { Id: h.id, Port: h.port, AvailabilityZone: h.az },
          HealthCheckPort: String(h.port),
          TargetHealth: { State: h.state, Reason: h.reason, Description: h.description },
        })),
      };
    },

    RegisterTargets(p, world) {
      world.registerTargets(p.required("TargetGroupArn"), targets(p, true) ?? []);
      return {};
    },

    DeregisterTargets(p, world) {
      world.deregisterTargets(p.required("TargetGroupArn"), targets(p, true) ?? []);
      return {};
    },
  },
};

function pageSize(p: QueryParams): number | undefined {
  const n = p.int("PageSize");
  if (n !== undefined && (n < 1 || n > 400)) {
    throw new SimApiError("ValidationError", `PageSize must be between 1 and 400, got ${n}`);
  }
  return n;
}

function targets(p: QueryParams, required: boolean): SimTargetRef[] | undefined {
  const items = p.structs("Targets");
  if (items.length === 0) {
    if (required)
      throw new SimApiError("ValidationError", "1 validation error detected: 'Targets' must not be null");
    return undefined;
  }
  return items.map((t) => {
    const port = t.int("Port");
    return port === undefined ? { id: t.required("Id") } : { id: t.required("Id"), port };
  });
}

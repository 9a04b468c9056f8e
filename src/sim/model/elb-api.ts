/** ELBv2 describe calls with AWS's lookup rules: by ARN or name, every one must exist, Marker paging. */
import { type Page, SimApiError, type SimBackend, type SimLoadBalancer, type SimTargetGroup } from "./api.js";
import { page, pageSize } from "./paging.js";
import type { Elb } from "./target-health.js";

export function describeLoadBalancers(
  elb: Elb,
  q: Parameters<SimBackend["describeLoadBalancers"]>[0],
): Page<SimLoadBalancer> {
  const size = pageSize(q.pageSize, 1, 400, 400, "ValidationError");
  let views = elb.describeLoadBalancers();
  const wanted = [...(q.arns ?? []), ...(q.names ?? [])];
  if (wanted.length > 0) {
    const missing = wanted.filter((w) => !views.some((lb) => lb.arn === w || lb.name === w));
    if (missing.length > 0) {
      throw new SimApiError("LoadBalancerNotFound", `Load balancers '${missing.join(", ")}' not found`);
    }
    views = views.filter((lb) => wanted.includes(lb.arn) || wanted.includes(lb.name));
  }
  return page(views, size, q.marker, "ValidationError");
}

export function describeTargetGroups(
  elb: Elb,
  q: Parameters<SimBackend["describeTargetGroups"]>[0],
): Page<SimTargetGroup> {
  const size = pageSize(q.pageSize, 1, 400, 400, "ValidationError");
  let tgs = elb.tgs;
  if (q.loadBalancerArn) {
    const lb = elb.lbs.find((l) => l.arn === q.loadBalancerArn);
    if (!lb) throw new SimApiError("LoadBalancerNotFound", `Load balancer '${q.loadBalancerArn}' not found`);
    tgs = lb.targetGroups;
  }
  const wanted = [...(q.arns ?? []), ...(q.names ?? [])];
  if (wanted.length > 0) {
    const missing = wanted.filter((w) => !tgs.some((tg) => tg.arn === w || tg.name === w));
    if (missing.length > 0) {
      throw new SimApiError("TargetGroupNotFound", `Target groups '${missing.join(", ")}' not found`);
    }
    tgs = tgs.filter((tg) => wanted.includes(tg.arn) || wanted.includes(tg.name));
  }
  return page(
    tgs.map((tg) => elb.describeTargetGroup(tg)),
    size,
    q.marker,
    "ValidationError",
  );
}

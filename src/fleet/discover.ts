/**
 * Fleet discovery (read-only): the plan's `fleet` section → the instances it selects, their
 * target groups and ports, Auto Scaling groups and SSM status. Every read is batched inside the
 * `AwsReader`; nothing here loops over instances making calls.
 *
 * Calls for a 1,000-instance fleet selected by tags, in a Region with T instance-type target groups
 * in the fleet's VPCs, of which G hold the fleet (no target groups named in the plan):
 *
 *   STS.GetCallerIdentity                      1
 *   EC2.DescribeInstances                      1   (1,000 a page)
 *   AutoScaling.DescribeAutoScalingInstances  20   (50 ids a call)
 *   SSM.DescribeInstanceInformation           20   (50 ids a call)
 *   ELBv2.DescribeTargetGroups                 1 + ⌈G/20⌉   (list the Region, then details of G)
 *   ELBv2.DescribeTargetHealth                 T   (one per group: there is no other way to learn membership)
 *   ELBv2.DescribeTargetGroupAttributes        G
 *   ELBv2.DescribeLoadBalancers                ⌈LBs/20⌉
 *   ELBv2.DescribeLoadBalancerAttributes       one per load balancer of a group that uses its
 *                                              load balancer's cross-zone setting (the default)
 *
 * i.e. about 45 + T + 2G + LBs calls: 51 for the simulator's default 1,000-server fleet (T = G = 2).
 */
import type { AwsReader, SsmPingStatus, TargetGroup, TargetHealthDescription } from "../aws/types.js";
import type { FleetSpec } from "../plan/types.js";
import { selectInstances } from "./select.js";
import type { Fleet, Instance, InstanceTarget } from "./types.js";

/** The EC2 states an explicitly listed instance may be in and still be shown (as not ready). */
const LISTED_STATES = ["pending", "running", "stopping", "stopped"];

export async function discoverFleet(
  reader: AwsReader,
  spec: FleetSpec,
  o: { region: string },
): Promise<Fleet> {
  const accountPromise = reader.getCallerIdentity().then(
    (id) => id.account || null,
    // An account we cannot read is shown as unknown; the deploy guard checks it again and refuses.
    () => null,
  );

  const candidates = await resolveSelection(reader, spec);
  const ids = candidates.map((i) => i.id);
  const [groupOf, ssm] = await Promise.all([
    ids.length ? reader.describeAutoScalingInstances(ids) : Promise.resolve({} as Record<string, string>),
    ids.length
      ? reader.describeInstanceInformation(ids)
      : Promise.resolve({} as Record<string, SsmPingStatus>),
  ]);

  const withGroups = candidates.map((i) => ({
    ...i,
    ...(groupOf[i.id] ? { autoScalingGroup: groupOf[i.id] } : {}),
  }));
  const selected = selectInstances(withGroups, spec.select, spec.exclude);
  const fleetIds = new Set(selected.map((i) => i.id));

  const vpcIds = [...new Set(selected.flatMap((i) => (i.vpcId ? [i.vpcId] : [])))];
  const { groups, health } = await resolveTargetGroups(reader, spec.targetGroups, fleetIds, vpcIds);

  const targetsOf = new Map<string, InstanceTarget[]>();
  for (const g of groups) {
    for (const t of health.get(g.arn) ?? []) {
      if (!fleetIds.has(t.id)) continue;
      const list = targetsOf.get(t.id) ?? [];
      list.push({
        targetGroupArn: g.arn,
        ...(t.port !== undefined ? { port: t.port } : {}),
        state: t.state,
        ...(t.reason ? { reason: t.reason } : {}),
      });
      targetsOf.set(t.id, list);
    }
  }

  const instances: Instance[] = selected
    .map((i) => ({
      id: i.id,
      az: i.az,
      state: i.state,
      ...(i.privateIp ? { privateIp: i.privateIp } : {}),
      tags: i.tags,
      ...(i.autoScalingGroup ? { autoScalingGroup: i.autoScalingGroup } : {}),
      ssm: ssm[i.id] ?? "Unknown",
      targets: targetsOf.get(i.id) ?? [],
    }))
    .sort((a, b) => a.id.localeCompare(b.id));

  return {
    region: o.region,
    account: await accountPromise,
    instances,
    targetGroups: groups,
    autoScalingGroups: [
      ...new Set(instances.flatMap((i) => (i.autoScalingGroup ? [i.autoScalingGroup] : []))),
    ].sort(),
    source: "aws",
  };
}

/**
 * The instances the selection names, before excludes. Each criterion narrows the others:
 * `{ tags: {Service: relay}, autoScalingGroups: [relay-a] }` is the relay-tagged instances of relay-a.
 */
async function resolveSelection(reader: AwsReader, spec: FleetSpec) {
  const { tags, autoScalingGroups, instanceIds } = spec.select;
  const hasTags = Object.keys(tags ?? {}).length > 0;
  let ids: string[] | undefined;
  if (autoScalingGroups?.length) {
    const groups = await reader.describeAutoScalingGroups(autoScalingGroups);
    ids = groups.flatMap((g) => g.instanceIds);
  }
  if (instanceIds?.length) {
    const listed = new Set(instanceIds);
    ids = ids ? ids.filter((id) => listed.has(id)) : instanceIds;
  }
  if (ids) {
    if (ids.length === 0) return [];
    // Instances named by id (directly or through their group) are shown even when stopped, so the
    // preview can say why one is not ready; a tag selection only ever means running instances.
    return reader.describeInstances({
      instanceIds: [...new Set(ids)],
      ...(hasTags ? { tags } : {}),
      states: instanceIds?.length ? LISTED_STATES : ["running"],
    });
  }
  if (hasTags) return reader.describeInstances({ tags, states: ["running"] });
  // An empty selection selects nothing (plan validation rejects it before it gets here).
  return [];
}

async function resolveTargetGroups(
  reader: AwsReader,
  wanted: string[],
  fleetIds: Set<string>,
  vpcIds: string[],
): Promise<{ groups: TargetGroup[]; health: Map<string, TargetHealthDescription[]> }> {
  const health = new Map<string, TargetHealthDescription[]>();
  const readHealth = async (arns: string[]) => {
    const results = await Promise.all(arns.map((arn) => reader.describeTargetHealth(arn)));
    arns.forEach((arn, n) => {
      health.set(arn, results[n] ?? []);
    });
  };

  let groups: TargetGroup[];
  if (wanted.length > 0) {
    const arns = wanted.filter((w) => w.startsWith("arn:"));
    const names = wanted.filter((w) => !w.startsWith("arn:"));
    groups = await reader.describeTargetGroups({ arns, names });
    await readHealth(groups.map((g) => g.arn));
  } else {
    // No groups named: every instance-type group in the fleet's VPCs is a suspect. List them
    // without per-group details, read each one's targets, and only describe in full the few that
    // hold the fleet.
    if (fleetIds.size === 0) return { groups: [], health };
    const all = await reader.describeTargetGroups({ details: false, instanceTargetsInVpcs: vpcIds });
    await readHealth(all.map((g) => g.arn));
    const holding = all
      .filter((g) => (health.get(g.arn) ?? []).some((t) => fleetIds.has(t.id)))
      .map((g) => g.arn);
    groups = holding.length ? await reader.describeTargetGroups({ arns: holding }) : [];
  }

  return {
    groups: groups
      .map((g) => ({ ...g, targetCount: registeredCount(health.get(g.arn) ?? []) }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    health,
  };
}

/** Targets registered in a group: what DescribeTargetHealth lists, minus the "not registered" answers. */
function registeredCount(targets: TargetHealthDescription[]): number {
  return targets.filter((t) => !(t.state === "unused" && t.reason === "Target.NotRegistered")).length;
}

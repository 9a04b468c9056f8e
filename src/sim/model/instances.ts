/**
 * EC2 and the SSM inventory in the model: building the fleet from the spec, DescribeInstances with
 * its filters and paging, DescribeAvailabilityZones and DescribeInstanceInformation.
 *
 * Instance ids are derived from the group, AZ and index (not the seed), so the same spec always
 * yields the same ids: `i-0` + 16 hex digits.
 */
import {
  type Ec2Filter,
  type Page,
  SimApiError,
  type SimEc2Instance,
  type SimInstanceInformation,
} from "./api.js";
import { type Core, hexId, type Inst } from "./core.js";
import { page, pageSize } from "./paging.js";

const EC2_STATE_CODES: Record<string, number> = {
  pending: 0,
  running: 16,
  "shutting-down": 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export function buildInstances(core: Core): void {
  const { spec } = core;
  const rng = core.rng;
  for (const group of spec.instanceGroups) {
    for (const [az, count] of Object.entries(group.countPerAz)) {
      const azIdx = spec.azs.indexOf(az);
      const zone = az.slice(spec.region.length) || az;
      const asg = group.autoScalingGroup?.replaceAll("{az}", az).replaceAll("{zone}", zone);
      for (let n = 0; n < count; n++) {
        const idx = core.instances.length;
        let id = `i-0${hexId(`${group.name}/${az}/${n}`, 16)}`;
        for (let salt = 1; core.byId.has(id); salt++)
          id = `i-0${hexId(`${group.name}/${az}/${n}/${salt}`, 16)}`;
        const inst: Inst = {
          idx,
          id,
          az,
          azIdx,
          group: group.name,
          asg,
          instanceType: group.instanceType,
          imageId: group.imageId,
          privateIp: `10.${azIdx}.${Math.floor(n / 250) + 16}.${(n % 250) + 4}`,
          // Launched over the previous month, at whole seconds.
          launchTime: Math.floor((core.now - 30 * 86_400_000 * rng()) / 1000) * 1000,
          tags: {
            Name: `${group.name}-${zone}-${String(n + 1).padStart(3, "0")}`,
            ...group.tags,
            ...(asg ? { "aws:autoscaling:groupName": asg } : {}),
          },
          state: "running",
          ssmOnline: rng() < group.ssmOnlineShare,
          serviceHolds: 0,
          crashed: false,
          installedVersion: spec.app.version,
          installedBad: false,
          previousVersion: spec.app.version,
          runningVersion: spec.app.version,
          runningBad: false,
          shedRate: 0,
          flapUntil: 0,
          inService: false,
          lostToFault: false,
          excused: false,
          lostAt: 0,
          draining: false,
        };
        core.instances.push(inst);
        core.byId.set(id, inst);
      }
    }
  }
}

export function describeInstances(
  core: Core,
  q: { instanceIds?: string[]; filters?: Ec2Filter[]; maxResults?: number; nextToken?: string },
): Page<SimEc2Instance> {
  let list: Inst[];
  if (q.instanceIds && q.instanceIds.length > 0) {
    if (q.maxResults !== undefined) {
      throw new SimApiError(
        "InvalidParameterCombination",
        "The parameter instancesSet cannot be used with the parameter maxResults",
      );
    }
    const missing = q.instanceIds.filter((id) => !core.byId.has(id));
    if (missing.length > 0) {
      const s = missing.length > 1 ? "s" : "";
      throw new SimApiError(
        "InvalidInstanceID.NotFound",
        `The instance ID${s} '${missing.join(", ")}' do${s ? "" : "es"} not exist`,
      );
    }
    list = [...new Set(q.instanceIds)].map((id) => core.byId.get(id) as Inst);
  } else list = core.instances;
  const filters = q.filters ?? [];
  const matchers = filters.map(filterMatcher);
  const matched = list.filter((i) => matchers.every((m) => m(i)));
  // DescribeInstances pages only when MaxResults is given (5–1000); otherwise it returns everything.
  const size =
    q.maxResults === undefined
      ? matched.length || 1
      : pageSize(q.maxResults, 5, 1000, 1000, "InvalidParameterValue");
  const p = page(matched, size, q.nextToken, "InvalidParameterValue");
  return { items: p.items.map(ec2View), ...(p.nextToken ? { nextToken: p.nextToken } : {}) };
}

function filterMatcher(f: Ec2Filter): (i: Inst) => boolean {
  const values = f.values;
  const anyOf = (v: string | undefined) => v !== undefined && values.some((pattern) => wildcard(pattern, v));
  if (f.name.startsWith("tag:")) {
    const key = f.name.slice(4);
    return (i) => anyOf(i.tags[key]);
  }
  switch (f.name) {
    case "tag-key":
      return (i) => Object.keys(i.tags).some((k) => anyOf(k));
    case "instance-state-name":
      return (i) => anyOf(i.state);
    case "instance-state-code":
      return (i) => anyOf(String(EC2_STATE_CODES[i.state]));
    case "availability-zone":
      return (i) => anyOf(i.az);
    case "instance-id":
      return (i) => anyOf(i.id);
    case "instance-type":
      return (i) => anyOf(i.instanceType);
    case "private-ip-address":
      return (i) => anyOf(i.privateIp);
    default:
      throw new SimApiError("InvalidParameterValue", `The filter '${f.name}' is invalid`);
  }
}

/** EC2 filter values accept `*` and `?` wildcards. */
function wildcard(pattern: string, value: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === value;
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );
  return re.test(value);
}

function ec2View(i: Inst): SimEc2Instance {
  return {
    instanceId: i.id,
    imageId: i.imageId,
    instanceType: i.instanceType,
    az: i.az,
    stateCode: EC2_STATE_CODES[i.state] as number,
    stateName: i.state,
    privateIp: i.privateIp,
    launchTime: i.launchTime,
    tags: { ...i.tags },
  };
}

export function availabilityZones(core: Core): { name: string; id: string; state: "available" }[] {
  // ap-northeast-1 → apne1; zone ids are per account in AWS, here simply numbered.
  const [area = "", dir = "", num = ""] = core.spec.region.split("-");
  const short = area + dir.replace(/(north|south|east|west|central)/g, (w) => w[0] as string) + num;
  return core.spec.azs.map((name, n) => ({ name, id: `${short}-az${n + 1}`, state: "available" }));
}

export function describeInstanceInformation(
  core: Core,
  q: {
    instanceIds?: string[];
    pingStatus?: string[];
    tagFilters?: { key: string; values: string[] }[];
    maxResults?: number;
    nextToken?: string;
  },
): Page<SimInstanceInformation> {
  const size = pageSize(q.maxResults, 5, 50, 50, "ValidationException");
  const wanted = q.instanceIds && q.instanceIds.length > 0 ? new Set(q.instanceIds) : undefined;
  // Terminated instances stay in the inventory as ConnectionLost, like a dead agent.
  const rows: SimInstanceInformation[] = [];
  for (const i of core.instances) {
    if (wanted && !wanted.has(i.id)) continue;
    const ping = i.ssmOnline && i.state === "running" ? "Online" : "ConnectionLost";
    if (q.pingStatus && q.pingStatus.length > 0 && !q.pingStatus.includes(ping)) continue;
    if (q.tagFilters && !q.tagFilters.every((t) => t.values.includes(i.tags[t.key] ?? "\u0000"))) continue;
    rows.push({
      instanceId: i.id,
      pingStatus: ping,
      lastPingAt: ping === "Online" ? Math.floor(core.now / 60_000) * 60_000 : i.launchTime,
      platformType: "Linux",
      agentVersion: "3.3.1142.0",
      ipAddress: i.privateIp,
    });
  }
  return page(rows, size, q.nextToken, "InvalidNextToken");
}

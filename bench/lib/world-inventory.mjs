// An inventory file (docs/inventory.md) of a simulated fleet, read from the model directly (no
// HTTP): what `rollwave plan --inventory` would be given for that fleet. Used by bench/scale.mjs to
// preview the 10,000-server fleet offline.
import { loadFleetSpec } from "../../dist/sim/model/fleet-spec.js";
import { createWorld } from "../../dist/sim/model/world.js";

function all(page) {
  const items = [];
  for (let token; ; ) {
    const p = page(token);
    items.push(...p.items);
    token = p.nextToken ?? p.nextMarker;
    if (!token) return items;
  }
}

export async function inventoryOfFleetSpec(specPath) {
  const spec = await loadFleetSpec(specPath);
  const world = createWorld(spec, {
    clock: { now: () => Date.UTC(2026, 0, 1), sleep: async () => {} },
    seed: 1,
  });
  const instances = all((nextToken) => world.describeInstances({ maxResults: 1000, nextToken }));
  const ssm = new Map(
    all((nextToken) => world.describeInstanceInformation({ maxResults: 50, nextToken })).map((i) => [
      i.instanceId,
      i.pingStatus,
    ]),
  );
  const groups = all((marker) => world.describeTargetGroups({ marker }));
  const targetsOf = new Map();
  const targetGroups = groups.map((g) => {
    const attrs = world.describeTargetGroupAttributes(g.arn);
    const health = world.describeTargetHealth(g.arn);
    for (const t of health) {
      if (!targetsOf.has(t.id)) targetsOf.set(t.id, []);
      targetsOf.get(t.id).push({ targetGroup: g.name, ...(t.state !== "healthy" ? { state: t.state } : {}) });
    }
    const network = g.loadBalancerArns.some((a) => a.includes("/net/"));
    return {
      arn: g.arn,
      name: g.name,
      type: network ? "network" : "application",
      protocol: g.protocol,
      port: g.port,
      loadBalancerArns: g.loadBalancerArns,
      deregistrationDelaySeconds: Number(attrs["deregistration_delay.timeout_seconds"] ?? 300),
      connectionTermination:
        network && attrs["deregistration_delay.connection_termination.enabled"] === "true",
      targetCount: health.length,
    };
  });
  return {
    version: 1,
    region: world.region,
    account: world.accountId,
    targetGroups,
    instances: instances.map((i) => {
      const { "aws:autoscaling:groupName": asg, ...tags } = i.tags;
      return {
        id: i.instanceId,
        az: i.az,
        ...(i.privateIp ? { privateIp: i.privateIp } : {}),
        tags,
        ...(asg ? { autoScalingGroup: asg } : {}),
        ...(ssm.get(i.instanceId) !== "Online" ? { ssm: ssm.get(i.instanceId) ?? "Unknown" } : {}),
        targets: targetsOf.get(i.instanceId) ?? [],
      };
    }),
  };
}

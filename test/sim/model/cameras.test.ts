import { describe, expect, it } from "vitest";
import type { SimWorld } from "../../../src/sim/model/api.js";
import {
  connectionsOf,
  healthOf,
  instanceIds,
  makeWorld,
  type Raw,
  smallSpec,
  type TestWorld,
  tgArn,
} from "./helpers.js";

const rtmp = (raw: Raw) => raw.loadBalancers[0].targetGroups[0];

function send(w: SimWorld, ids: string[], commands: string[], extra: Record<string, string[]> = {}) {
  return w.sendCommand({
    documentName: "AWS-RunShellScript",
    instanceIds: ids,
    parameters: { commands, ...extra },
  });
}

async function settle(t: TestWorld, ms = 5_000) {
  await t.step(ms);
}

describe("cameras", () => {
  it("start connected, spread by least connections within the per-instance limit", async () => {
    const t = makeWorld(await smallSpec());
    const m = t.world.metrics();
    expect(m.cameras).toMatchObject({ total: 2000, connected: 2000, refused: 0 });
    const loads = t.world.state().instances.map((i) => i.connections);
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1);
    expect(m.maxLoadRatio).toBeLessThanOrEqual(1);
  });

  it("leave a shedding server at the set rate and reconnect to other instances", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[0] as string;
    const before = connectionsOf(t.world, id);
    send(t.world, [id], ["/opt/relay/bin/relayctl drain --rate 20/s"]);
    await t.until(() => connectionsOf(t.world, id) < before, 30_000);
    const startedAt = t.clock.now();
    const n0 = connectionsOf(t.world, id);
    await t.step(3_000);
    // 20 per second: three seconds shed 60 (±1 tick).
    expect(n0 - connectionsOf(t.world, id)).toBeGreaterThanOrEqual(40);
    expect(n0 - connectionsOf(t.world, id)).toBeLessThanOrEqual(80);
    await t.until(() => connectionsOf(t.world, id) === 0, 60_000);
    expect(t.clock.now() - startedAt).toBeGreaterThanOrEqual(((before - 20) / 20) * 1000 - 2000);
    await settle(t);
    const m = t.world.metrics();
    expect(m.cameras.connected).toBe(2000);
    expect(m.cameras.reconnectsPerCamera).toBeCloseTo(before / 2000, 3);
    // The shedding server takes no new connections even though it is still registered.
    expect(connectionsOf(t.world, id)).toBe(0);
    expect(healthOf(t.world, "relay-rtmp", id)).toBe("healthy");
  });

  it("leave slow-drain cameras in place when their server sheds", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[0] as string;
    t.world.control({ op: "slowDrain", share: 1, instanceIds: [id] });
    const before = connectionsOf(t.world, id);
    send(t.world, [id], ["/opt/relay/bin/relayctl drain --rate 50/s"]);
    await t.step(30_000);
    expect(connectionsOf(t.world, id)).toBe(before);
  });

  it("are refused when no instance has room, and retry with backoff until there is", async () => {
    const spec = await smallSpec((raw) => {
      raw.cameras.perInstanceLimit = 170; // 12 × 170 = 2,040 slots for 2,000 cameras
      raw.commands.find((c: Raw) => c.match.includes("systemctl")).duration = { p50: "120s", p99: "121s" };
    });
    const t = makeWorld(spec);
    const ids = instanceIds(t.world).slice(0, 3);
    send(t.world, ids, ["systemctl restart relay"]); // 9 × 170 = 1,530 slots while these restart
    await t.step(60_000);
    let m = t.world.metrics();
    expect(m.cameras.connected).toBe(1530);
    expect(m.cameras.minConnected).toBeLessThanOrEqual(1530);
    // 470 cameras without room for 60 s. Retrying every second would be ~28,000 refusals; doubling
    // backoff (0.5, 1, 2, 4, 8, 15, 15 … s on average) is about 7–8 attempts each.
    expect(m.cameras.refused).toBeGreaterThan(470 * 4);
    expect(m.cameras.refused).toBeLessThan(470 * 12);
    expect(m.maxLoadRatio).toBe(1);
    // The restart ends at ~120 s; the targets need three passing checks (≤ 30 s) before they take
    // connections again, and backoff caps at 30 s: by ~190 s every camera is back.
    await t.step(130_000);
    m = t.world.metrics();
    expect(m.cameras.connected).toBe(2000);
    expect(m.cameras.disconnectSeconds.max).toBeGreaterThan(100);
    expect(m.invariantViolations.filter((v) => v.invariant !== "capacity-floor")).toEqual([]);
  });

  it("reconnect within the first backoff (1 s, full jitter) when there is room", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[5] as string;
    send(t.world, [id], ["systemctl restart relay"]);
    await t.step(2_000);
    await settle(t);
    const m = t.world.metrics();
    expect(m.cameras.connected).toBe(2000);
    expect(m.cameras.disconnectSeconds.max).toBeGreaterThan(0);
    expect(m.cameras.disconnectSeconds.max).toBeLessThanOrEqual(1.5);
  });

  it("stay connected after an NLB deregistration delay when connection termination is off", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[0] as string;
    const before = connectionsOf(t.world, id);
    t.world.deregisterTargets(tgArn(t.world, "relay-rtmp"), [{ id }]);
    await t.step(90_000); // delay is 60 s
    expect(healthOf(t.world, "relay-rtmp", id)).toBe("unused");
    expect(connectionsOf(t.world, id)).toBe(before);
  });

  it("still land on a deregistered NLB target while the NLB keeps routing new connections to it", async () => {
    const lagging = makeWorld(
      await smallSpec((raw) => {
        rtmp(raw).newConnectionsAfterDeregistration = "120s";
        rtmp(raw).deregistrationDelay = "300s"; // still draining when the 120 s have passed
      }),
    );
    const prompt = makeWorld(await smallSpec());
    const moved = async (t: TestWorld, wait: number) => {
      const [x, y] = instanceIds(t.world) as [string, string];
      t.world.deregisterTargets(tgArn(t.world, "relay-rtmp"), [{ id: x }]);
      await t.step(wait);
      const before = connectionsOf(t.world, x);
      send(t.world, [y], ["systemctl restart relay"]); // y's cameras look for a new server
      await t.step(10_000);
      return connectionsOf(t.world, x) - before;
    };
    expect(await moved(lagging, 1_000)).toBeGreaterThan(0);
    expect(await moved(prompt, 1_000)).toBe(0);
    const late = makeWorld(
      await smallSpec((raw) => {
        rtmp(raw).newConnectionsAfterDeregistration = "120s";
        rtmp(raw).deregistrationDelay = "300s"; // still draining when the 120 s have passed
      }),
    );
    expect(await moved(late, 125_000)).toBe(0);
  });

  it("are disconnected at the end of an NLB delay when connection termination is on", async () => {
    const spec = await smallSpec((raw) => {
      rtmp(raw).connectionTermination = true;
    });
    const t = makeWorld(spec);
    const id = instanceIds(t.world)[0] as string;
    const before = connectionsOf(t.world, id);
    t.world.deregisterTargets(tgArn(t.world, "relay-rtmp"), [{ id }]);
    await t.step(59_000);
    expect(connectionsOf(t.world, id)).toBe(before);
    await t.step(2_000);
    expect(connectionsOf(t.world, id)).toBe(0);
    await settle(t);
    expect(t.world.metrics().cameras.connected).toBe(2000);
  });

  it("are disconnected at the end of an ALB delay", async () => {
    const spec = await smallSpec((raw) => {
      raw.loadBalancers[0].targetGroups[0].cameras = false;
      raw.loadBalancers[1].targetGroups[0].cameras = true; // relay-http (ALB, delay 30 s)
    });
    const t = makeWorld(spec);
    const id = instanceIds(t.world)[0] as string;
    const before = connectionsOf(t.world, id);
    t.world.deregisterTargets(tgArn(t.world, "relay-http"), [{ id }]);
    await t.step(29_000);
    expect(connectionsOf(t.world, id)).toBe(before);
    await t.step(2_000);
    expect(connectionsOf(t.world, id)).toBe(0);
  });

  it("are reset when their NLB target turns unhealthy", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[0] as string;
    const before = connectionsOf(t.world, id);
    t.world.control({ op: "healthFlap", instanceId: id, seconds: 120 });
    await t.step(10_000);
    expect(connectionsOf(t.world, id)).toBe(before); // one failed check is not enough
    await t.until(() => healthOf(t.world, "relay-rtmp", id) === "unhealthy", 30_000);
    expect(connectionsOf(t.world, id)).toBe(0);
    await settle(t);
    expect(t.world.metrics().cameras.connected).toBe(2000);
  });

  it("are dropped when their instance is terminated, which stays visible as terminated", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[0] as string;
    t.world.control({ op: "terminateInstance", instanceId: id });
    expect(connectionsOf(t.world, id)).toBe(0);
    expect(t.world.describeInstances({ instanceIds: [id] }).items[0]?.stateName).toBe("shutting-down");
    await t.step(30_000);
    expect(t.world.describeInstances({ instanceIds: [id] }).items[0]).toMatchObject({
      stateName: "terminated",
      stateCode: 48,
    });
    expect(t.world.metrics().cameras.connected).toBe(2000);
  });
});

describe("cameras behind a zonal NLB (cross-zone load balancing off)", () => {
  /** Three of AZ c's five servers shed every camera; which AZ do those cameras land in? */
  async function shedThreeInC(crossZone: boolean) {
    const t = makeWorld(
      await smallSpec((raw) => {
        raw.loadBalancers[0].crossZone = crossZone;
      }),
    );
    const before = t.world.state().instances;
    const inA = before.filter((i) => i.az === "ap-northeast-1a");
    const inC = before.filter((i) => i.az === "ap-northeast-1c");
    const aBefore = inA.reduce((n, i) => n + i.connections, 0);
    const cBefore = inC.reduce((n, i) => n + i.connections, 0);
    send(
      t.world,
      inC.slice(0, 3).map((i) => i.id),
      ["/opt/relay/bin/relayctl drain --rate 1000/s"],
    );
    await t.step(90_000);
    const after = t.world.state().instances;
    const sum = (az: string) => after.filter((i) => i.az === az).reduce((n, i) => n + i.connections, 0);
    return { t, aBefore, cBefore, aAfter: sum("ap-northeast-1a"), cAfter: sum("ap-northeast-1c") };
  }

  it("reconnect only in their own AZ: AZ a takes none of AZ c's cameras, the rest are refused", async () => {
    const { t, aBefore, cBefore, aAfter, cAfter } = await shedThreeInC(false);
    expect(aAfter).toBe(aBefore);
    // AZ c has 2 servers left: 2 × 250 = 500 of its ~833 cameras fit.
    expect(cAfter).toBe(500);
    const m = t.world.metrics();
    expect(m.cameras.connected).toBe(aBefore + 500);
    expect(m.cameras.refused).toBeGreaterThan(0);
    expect(cBefore).toBeGreaterThan(500);
  });

  it("control, cross-zone on: the displaced cameras spread over both AZs and all fit", async () => {
    const { t, aBefore, aAfter } = await shedThreeInC(true);
    expect(aAfter).toBeGreaterThan(aBefore);
    expect(t.world.metrics().cameras.connected).toBe(2000);
  });

  it("the load balancer and its groups report the setting as ELBv2 attributes", async () => {
    const t = makeWorld(await smallSpec());
    const nlb = t.world.describeLoadBalancers({}).items.find((lb) => lb.type === "network");
    if (!nlb) throw new Error("fixture: no NLB");
    expect(t.world.describeLoadBalancerAttributes(nlb.arn)["load_balancing.cross_zone.enabled"]).toBe("true");
    expect(
      t.world.describeTargetGroupAttributes(tgArn(t.world, "relay-rtmp"))[
        "load_balancing.cross_zone.enabled"
      ],
    ).toBe("use_load_balancer_configuration");
    const zonal = makeWorld(
      await smallSpec((raw) => {
        delete raw.loadBalancers[0].crossZone;
      }),
    );
    const zonalNlb = zonal.world.describeLoadBalancers({}).items.find((lb) => lb.type === "network");
    // Off by default on a network load balancer, as on AWS.
    expect(
      zonal.world.describeLoadBalancerAttributes(zonalNlb?.arn ?? "")["load_balancing.cross_zone.enabled"],
    ).toBe("false");
  });
});

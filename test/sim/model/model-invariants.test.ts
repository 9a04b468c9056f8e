import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SimWorld } from "../../../src/sim/model/api.js";
import { instanceIds, makeWorld, smallSpec, tgArn } from "./helpers.js";

/** One thing an operator, the engine or a fault might do to the fleet. */
const op = fc.oneof(
  fc.record({
    kind: fc.constant("deregister"),
    i: fc.nat(11),
    tg: fc.constantFrom("relay-rtmp", "relay-http"),
  }),
  fc.record({
    kind: fc.constant("register"),
    i: fc.nat(11),
    tg: fc.constantFrom("relay-rtmp", "relay-http"),
  }),
  fc.record({
    kind: fc.constant("command"),
    i: fc.nat(11),
    line: fc.constantFrom(
      "/opt/relay/bin/relayctl drain --rate 40/s",
      "/opt/relay/bin/install v2.0.0",
      "/opt/relay/bin/install v2.0.0-bad",
      "/opt/relay/bin/install --previous",
      "systemctl restart relay",
    ),
  }),
  fc.record({ kind: fc.constant("flap"), i: fc.nat(11), seconds: fc.integer({ min: 5, max: 90 }) }),
  fc.record({ kind: fc.constant("terminate"), i: fc.nat(11) }),
  fc.record({ kind: fc.constant("agent"), i: fc.nat(11), online: fc.boolean() }),
  fc.record({ kind: fc.constant("slowDrain"), share: fc.double({ min: 0, max: 1, noNaN: true }) }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

function apply(w: SimWorld, ids: string[], o: Op): void {
  try {
    switch (o.kind) {
      case "deregister":
        w.deregisterTargets(tgArn(w, o.tg), [{ id: ids[o.i] as string }]);
        return;
      case "register":
        w.registerTargets(tgArn(w, o.tg), [{ id: ids[o.i] as string }]);
        return;
      case "command":
        w.sendCommand({
          documentName: "AWS-RunShellScript",
          instanceIds: [ids[o.i] as string],
          parameters: { commands: [o.line] },
        });
        return;
      case "flap":
        w.control({ op: "healthFlap", instanceId: ids[o.i] as string, seconds: o.seconds });
        return;
      case "terminate":
        w.control({ op: "terminateInstance", instanceId: ids[o.i] as string });
        return;
      case "agent":
        w.control({ op: "ssmAgent", instanceId: ids[o.i] as string, online: o.online });
        return;
      case "slowDrain":
        w.control({ op: "slowDrain", share: o.share });
        return;
    }
  } catch (e) {
    // Refusals the API documents (registering a terminated instance, commands to one) are fine.
    if (!["InvalidTarget", "InvalidInstanceId"].includes((e as { code?: string }).code ?? "")) throw e;
  }
}

describe("the model's own bookkeeping", () => {
  it("never breaks its invariants, whatever is done to the fleet in whatever order", async () => {
    const spec = await smallSpec();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(op, fc.integer({ min: 0, max: 40_000 })), { maxLength: 20 }),
        async (steps) => {
          const t = makeWorld(spec, 11);
          const ids = instanceIds(t.world);
          for (const [o, wait] of steps) {
            apply(t.world, ids, o);
            await t.step(wait);
          }
          await t.step(120_000);
          const m = t.world.metrics();
          const state = t.world.state();
          // Violations other than a capacity floor (none is set here) are bugs in the model.
          expect(m.invariantViolations).toEqual([]);
          const onServers = state.instances.reduce((n, i) => n + i.connections, 0);
          expect(onServers).toBe(m.cameras.connected);
          expect(m.cameras.connected).toBeLessThanOrEqual(m.cameras.total);
          expect(m.cameras.minConnected).toBeLessThanOrEqual(m.cameras.connected);
          for (const i of state.instances) {
            if (!i.serviceUp) expect(i.connections).toBe(0);
            expect(i.connections).toBeLessThanOrEqual(250);
          }
          expect(m.maxLoadRatio).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 80, seed: 20261122 },
    );
  });
});

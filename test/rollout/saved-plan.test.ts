/**
 * The saved plan's format and comparison, without AWS: what `deploy --plan` lists as changed, and
 * what it accepts as the same (a file re-indented or with its keys reordered still matches its hash).
 */
import { describe, expect, it } from "vitest";
import type { Fleet } from "../../src/fleet/types.js";
import type { Plan } from "../../src/plan/types.js";
import {
  type PlanSnapshot,
  parseSavedPlan,
  savedPlanChanges,
  savePlan,
} from "../../src/rollout/saved-plan.js";
import { planWaves } from "../../src/waves/plan-waves.js";
import { makeFleet, makePlan } from "../waves/fleet-builder.js";

const OTHER_TG =
  "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/relay-http/fedcba9876543210";

function snapshot(fleet: Fleet, over: Partial<PlanSnapshot> = {}): PlanSnapshot {
  const plan = makePlan({ canary: 1, waves: ["50%"], maxUnavailable: 2 }) as Plan;
  return {
    planFile: "plans/relay.yaml",
    planHash: "sha256:aaaa",
    planName: "relay",
    vars: { release: "v2.0.0" },
    fleet,
    wavePlan: planWaves(fleet, plan),
    ...over,
  };
}

const FLEET = { ...makeFleet({ "ap-northeast-1a": 3, "ap-northeast-1c": 3 }), account: "123456789012" };
const saved = savePlan(snapshot(FLEET), { version: "0.1.0", now: Date.UTC(2026, 11, 2) });

describe("the saved plan", () => {
  it("reads back what it wrote, however the JSON is laid out", () => {
    expect(parseSavedPlan(JSON.stringify(saved, null, 2), "p.json")).toEqual(saved);
    // Keys in another order, no indentation (e.g. after `jq -S -c`): the same content, the same hash.
    const reordered = Object.fromEntries(Object.entries(saved).reverse());
    expect(parseSavedPlan(JSON.stringify(reordered), "p.json").hash).toBe(saved.hash);
  });

  it("refuses a file edited after it was saved, another format, and something that is not a saved plan", () => {
    const edited = { ...saved, waves: [...saved.waves].reverse() };
    expect(() => parseSavedPlan(JSON.stringify(edited), "p.json")).toThrow(/problem/);
    const messages = (text: string) => {
      try {
        parseSavedPlan(text, "p.json");
        return "";
      } catch (e) {
        return (e as { issues: { message: string }[] }).issues.map((i) => i.message).join();
      }
    };
    expect(messages(JSON.stringify(edited))).toContain("does not match its hash");
    expect(messages(JSON.stringify({ ...saved, format: "rollwave.plan/2" }))).toContain(
      "is not one this rollwave reads (rollwave.plan/1)",
    );
    expect(messages("{ not json")).toMatch(/^not a saved plan: /);
    expect(messages(JSON.stringify({ format: "rollwave.plan/1" }))).toMatch(/^not a saved plan: rollwave: /);
  });

  it("finds nothing changed when the fleet and plan are the same", () => {
    expect(savedPlanChanges(saved, snapshot(FLEET))).toEqual([]);
  });

  it("lists a changed target group, a gone instance, a new account and an edited plan, each on its line", () => {
    const [first, second, ...rest] = FLEET.instances;
    if (!first || !second) throw new Error("fixture");
    const moved = { ...first, targets: [{ targetGroupArn: OTHER_TG, state: "healthy" as const }] };
    const fleet: Fleet = {
      ...FLEET,
      account: "999999999999",
      instances: [moved, ...rest],
      targetGroups: [
        ...FLEET.targetGroups,
        { ...(FLEET.targetGroups[0] as Fleet["targetGroups"][number]), arn: OTHER_TG },
      ],
    };
    const changes = savedPlanChanges(saved, snapshot(fleet, { planHash: "sha256:bbbb" }));
    expect(changes).toContain("~ plan file plans/relay.yaml: edited since (sha256:aaaa… → sha256:bbbb…)");
    expect(changes).toContain("~ account: 123456789012 → 999999999999");
    expect(changes).toContain(`- ${second.id}  ${second.az}  gone from the fleet`);
    expect(changes).toContain(`~ ${first.id}  target groups: +relay-http -relay-rtmp`);
    expect(changes).toContain("+ target group relay-http  added");
  });

  it("lists a window that changed, per AZ too", () => {
    const changes = savedPlanChanges(
      { ...saved, window: { ...saved.window, perAz: { ...saved.window.perAz, "ap-northeast-1a": 9 } } },
      snapshot(FLEET),
    );
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatch(
      /^~ window: 2 \(per AZ: ap-northeast-1a 9, ap-northeast-1c \d+\) → 2 \(per AZ: ap-northeast-1a \d+, /,
    );
  });

  it("lists an instance the planner now skips (not ready any more)", () => {
    const [first] = FLEET.instances;
    if (!first) throw new Error("fixture");
    const fleet: Fleet = {
      ...FLEET,
      instances: FLEET.instances.map((i) => (i.id === first.id ? { ...i, ssm: "ConnectionLost" } : i)),
    };
    const changes = savedPlanChanges(saved, snapshot(fleet));
    expect(
      changes.some(
        (c) => c.startsWith(`~ ${first.id}  wave `) && c.includes("→ skipped (SSM agent ConnectionLost)"),
      ),
    ).toBe(true);
  });
});

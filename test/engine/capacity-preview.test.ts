import { describe, expect, it } from "vitest";
import { capacityPreview, readFleetConnections } from "../../src/engine/capacity-preview.js";
import { makeChalk } from "../../src/report/output.js";
import { formatCapacity } from "../../src/report/preview.js";
import { ManualClock } from "../../src/util/clock.js";
import { FakeAws } from "./fake-aws.js";
import { makeFleet, makePlan, metricConnections } from "./fixtures.js";

// 30 instances, 10 per AZ; AZ a's carry 200 each, the others 100. Limit 250 at 10% headroom: 225
// usable each. Window 9, at most 3 per AZ.
function setup(o: { crossZone: boolean; maxDisplacedPerMinute?: number; drop?: string[] }) {
  const aws = new FakeAws(new ManualClock());
  const { fleet, wavePlan } = makeFleet(aws, { n: 30, window: 9, perAz: 3, crossZone: o.crossZone });
  const plan = makePlan({ capacity: { connections: metricConnections(o.maxDisplacedPerMinute ?? null) } });
  const values: Record<string, number> = {};
  for (const i of fleet.instances)
    if (!o.drop?.includes(i.id)) values[i.id] = i.az === "eu-west-1a" ? 200 : 100;
  return { aws, fleet, wavePlan, plan, values };
}

describe("capacity preview", () => {
  it("with cross-zone off, checks each AZ: AZ a's 2,000 need 9 of its 10 servers, so capacity binds at 1", () => {
    const { fleet, wavePlan, plan, values } = setup({ crossZone: false });
    const p = capacityPreview(plan, fleet, wavePlan, { ok: true, values, at: 0 });
    const a = p?.azs.find((x) => x.az === "eu-west-1a");
    const b = p?.azs.find((x) => x.az === "eu-west-1b");
    expect(a).toMatchObject({ instances: 10, connections: 2000, perAz: true, maxOut: 1, binds: "capacity" });
    // AZ b: 10 − ⌈1,000 / 225⌉ = 5 by capacity, but the per-AZ cap of 3 binds first.
    expect(b).toMatchObject({
      connections: 1000,
      capacityMaxOut: 5,
      maxOut: 3,
      binds: "maxUnavailablePerAz",
    });
    expect(p?.total).toMatchObject({ connections: 4000, maxOut: 7, binds: "capacity" });
  });

  it("with cross-zone on, checks fleet-wide: 30 − ⌈4,000 / 225⌉ = 12 ≥ the window, which binds", () => {
    const { fleet, wavePlan, plan, values } = setup({ crossZone: true });
    const p = capacityPreview(plan, fleet, wavePlan, { ok: true, values, at: 0 });
    expect(p?.azs.find((x) => x.az === "eu-west-1a")).toMatchObject({ perAz: false, maxOut: 3 });
    expect(p?.total).toMatchObject({ capacityMaxOut: 12, maxOut: 9, binds: "maxUnavailable" });
  });

  it("names the displacement budget when it binds, and counts missing datapoints at the limit", () => {
    const { fleet, wavePlan, plan, values } = setup({
      crossZone: true,
      maxDisplacedPerMinute: 500,
      drop: ["i-00000", "i-00003"],
    });
    const p = capacityPreview(plan, fleet, wavePlan, { ok: true, values, at: 0 });
    // AZ a: 8 × 200 + 2 × 250.
    expect(p?.azs.find((x) => x.az === "eu-west-1a")).toMatchObject({ connections: 2100, missing: 2 });
    // 500/min at ≈137 per instance, over a 30 s drain: ⌊500 / 136.7 × 0.5⌋ = 1 instance at once.
    expect(p?.total).toMatchObject({ maxOut: 1, binds: "displacement" });
    const text = formatCapacity(p as NonNullable<typeof p>, makeChalk(false));
    expect(text).toMatch(/^ {2}1a\s+10\s+2100 \(2 missing\)\s+fleet\s+3\s+per-AZ cap\s+\d+$/m);
    // One instance out per 30 s drain at ≈137 each: 273 a minute, under the 500 budget.
    expect(text).toMatch(/^ {2}total\s+30\s+4100\s+1\s+displacement budget\s+273$/m);
  });

  it("without a reading shows the window's limits only, and says why", async () => {
    const { aws, fleet, wavePlan, plan } = setup({ crossZone: false });
    aws.metricError = "AccessDenied";
    const reading = await readFleetConnections(aws.reader, plan, ["i-00000"], 0);
    const p = capacityPreview(plan, fleet, wavePlan, reading);
    expect(p?.source.error).toBe("GetMetricData failed: AccessDenied");
    expect(p?.total).toMatchObject({ connections: null, maxOut: 9, binds: "maxUnavailable" });
    expect(formatCapacity(p as NonNullable<typeof p>, makeChalk(false))).toContain(
      "not read: GetMetricData failed: AccessDenied",
    );
  });
});

/**
 * Camera placement and load over time: `cameras.azShare` homes cameras per AZ behind a zonal NLB,
 * `cameras.schedule` brings cameras online and offline (a peak hour).
 */
import { describe, expect, it } from "vitest";
import { makeWorld, type Raw, smallSpec } from "./helpers.js";

/** The problems a spec is refused with, one line each. */
async function problems(spec: Promise<unknown>): Promise<string> {
  try {
    await spec;
    return "";
  } catch (e) {
    const issues = (e as { issues?: { path?: string; message: string }[] }).issues ?? [];
    return issues.map((i) => `${i.path ?? ""}: ${i.message}`).join("\n");
  }
}

const zonal = (raw: Raw) => {
  raw.loadBalancers[0].crossZone = false;
};

function perAz(
  t: ReturnType<typeof makeWorld>,
): Record<string, { servers: number; cameras: number; max: number }> {
  const out: Record<string, { servers: number; cameras: number; max: number }> = {};
  for (const i of t.world.state().instances) {
    const a = out[i.az] ?? { servers: 0, cameras: 0, max: 0 };
    a.servers++;
    a.cameras += i.connections;
    a.max = Math.max(a.max, i.connections);
    out[i.az] = a;
  }
  return out;
}

describe("cameras.azShare", () => {
  it("homes the given share of cameras in each AZ (7 + 5 servers, 30% / 70%)", async () => {
    const t = makeWorld(
      await smallSpec((raw) => {
        zonal(raw);
        raw.cameras.azShare = { "ap-northeast-1a": 0.3, "ap-northeast-1c": 0.7 };
      }),
    );
    const az = perAz(t);
    expect(az["ap-northeast-1a"]?.cameras).toBe(600);
    // 1,400 homed on 5 servers: 280 each would exceed 250, so 150 are refused and wait (never in AZ a).
    expect(az["ap-northeast-1c"]?.cameras).toBe(1250);
    expect(az["ap-northeast-1c"]?.max).toBe(250);
    expect(t.world.metrics().cameras.connected).toBe(1850);
    expect(t.world.metrics().cameras.serversAtLimit).toBe(5);
  });

  it("control: without azShare the cameras spread like the servers", async () => {
    const t = makeWorld(await smallSpec(zonal));
    const az = perAz(t);
    expect(
      Math.abs((az["ap-northeast-1a"]?.cameras ?? 0) / 7 - (az["ap-northeast-1c"]?.cameras ?? 0) / 5),
    ).toBeLessThan(2);
    expect(t.world.metrics().cameras.serversAtLimit).toBe(0);
  });

  it("is refused when the shares do not add up, or the NLB balances across zones", async () => {
    expect(
      await problems(
        smallSpec((raw) => {
          zonal(raw);
          raw.cameras.azShare = { "ap-northeast-1a": 0.3, "ap-northeast-1c": 0.6 };
        }),
      ),
    ).toBe("cameras.azShare: the shares add up to 0.8999999999999999, not 1");
    expect(
      await problems(
        smallSpec((raw) => {
          raw.cameras.azShare = { "ap-northeast-1a": 0.5, "ap-northeast-1c": 0.5 };
        }),
      ),
    ).toMatch(/^cameras.azShare: only a zonal cameras' load balancer/);
  });
});

describe("cameras.schedule", () => {
  it("ramps cameras online for a peak and offline after it, without counting either as disconnections", async () => {
    const t = makeWorld(
      await smallSpec((raw) => {
        raw.cameras.schedule = [
          { at: "1m", load: 1.2, over: "1m" },
          { at: "5m", load: 1, over: "1m" },
        ];
      }),
    );
    const connected = () => t.world.metrics().cameras.connected;
    expect(connected()).toBe(2000);
    await t.step(90_000);
    // Halfway up the ramp.
    expect(connected()).toBeGreaterThan(2100);
    expect(connected()).toBeLessThan(2300);
    await t.step(60_000);
    expect(connected()).toBe(2400);
    expect(t.world.metrics().cameras.total).toBe(2400);
    await t.step(5 * 60_000);
    const m = t.world.metrics();
    expect(m.cameras).toMatchObject({ total: 2000, connected: 2000, refused: 0, reconnectsPerCamera: 0 });
    // Arrivals connect within their first backoff (≤ 1 s) — no camera ever waited on a refusal.
    expect(m.cameras.disconnectSeconds.max).toBeLessThanOrEqual(1);
    expect(m.invariantViolations).toEqual([]);
  });

  it("refuses arrivals when the fleet is full, and counts their wait", async () => {
    // 12 × 250 = 3,000 slots; a peak of 1.6 × 2,000 = 3,200 cameras leaves 200 without a server.
    const t = makeWorld(
      await smallSpec((raw) => {
        raw.cameras.schedule = [{ at: "1m", load: 1.6, over: "30s" }];
      }),
    );
    await t.step(3 * 60_000);
    const m = t.world.metrics();
    expect(m.cameras.connected).toBe(3000);
    expect(m.cameras.refused).toBeGreaterThan(0);
    expect(m.cameras.serversAtLimit).toBe(12);
    expect(m.cameras.disconnectSeconds.max).toBeGreaterThan(60);
  });

  it("rejects steps out of time order", async () => {
    expect(
      await problems(
        smallSpec((raw) => {
          raw.cameras.schedule = [
            { at: "10m", load: 1.1, over: "5m" },
            { at: "12m", load: 1 },
          ];
        }),
      ),
    ).toBe("cameras.schedule.1.at: schedule steps must be in time order");
  });
});

import { describe, expect, it } from "vitest";
import { clamp, LIMITS, STEP_TIMEOUT_MS, ssmTimeouts } from "../../src/aws/limits.js";

describe("AWS limits", () => {
  it("derives both SSM timeouts from a step timeout, each held to what SSM accepts", () => {
    expect(ssmTimeouts(10_000)).toEqual({ timeoutSeconds: 30, executionTimeoutSeconds: 10 });
    expect(ssmTimeouts(600_400)).toEqual({ timeoutSeconds: 601, executionTimeoutSeconds: 601 });
    expect(ssmTimeouts(3 * 86_400_000)).toEqual({
      timeoutSeconds: 259_200,
      executionTimeoutSeconds: 172_800,
    });
    expect(ssmTimeouts(0)).toEqual({ timeoutSeconds: 30, executionTimeoutSeconds: 1 });
  });

  it("lets a plan declare a step timeout only when SSM can run it as written", () => {
    expect(STEP_TIMEOUT_MS).toEqual({ min: 30_000, max: 172_800_000 });
    const atMax = ssmTimeouts(STEP_TIMEOUT_MS.max);
    expect(atMax.executionTimeoutSeconds * 1000).toBe(STEP_TIMEOUT_MS.max);
    expect(ssmTimeouts(STEP_TIMEOUT_MS.max + 1000).executionTimeoutSeconds * 1000).toBeLessThan(
      STEP_TIMEOUT_MS.max + 1000,
    );
  });

  it("clamps to a range", () => {
    expect(clamp(10, LIMITS.ssmDeliveryTimeoutSeconds)).toBe(30);
    expect(clamp(3_000_000, LIMITS.ssmDeliveryTimeoutSeconds)).toBe(2_592_000);
    expect(clamp(600, LIMITS.ssmDeliveryTimeoutSeconds)).toBe(600);
  });
});

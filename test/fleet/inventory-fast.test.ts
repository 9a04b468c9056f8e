/**
 * The inventory loader reads well-formed instances with plain checks (`fastInstance`) and leaves
 * everything else to zod (`instanceSchema`), for its located messages. The two must agree: whatever
 * the fast path accepts, zod accepts with the same result; and the fast path must take the
 * ordinary instances (otherwise it saves nothing).
 */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fastInstance, instanceSchema } from "../../src/fleet/inventory-schema.js";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

// Values near the edges of what each field takes: right, wrong type, out of range, empty.
const anyValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.constant(""),
  fc.boolean(),
  fc.integer({ min: -2, max: 70_000 }),
  fc.double(),
  fc.string(),
  fc.array(fc.string(), { maxLength: 2 }),
);
const targetArb = fc.record(
  {
    targetGroup: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom("relay-rtmp", "x") },
      fc.constant(""),
      anyValue,
    ),
    port: fc.oneof(fc.constantFrom(1, 1935, 65_535, 0, 65_536, 1.5, "80"), anyValue),
    state: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom("healthy", "draining", "unhealthy.draining", "bogus") },
      anyValue,
    ),
    reason: fc.oneof(fc.constantFrom("Target.Timeout"), anyValue),
    extra: anyValue,
  },
  { requiredKeys: ["targetGroup"] },
);
const instanceArb = fc.record(
  {
    id: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom("i-0123456789abcdef0", "i-01234567") },
      { weight: 1, arbitrary: fc.constantFrom("i-0123456789ABCDEF0", "i-123", "") },
      { weight: 1, arbitrary: anyValue },
    ),
    az: fc.oneof({ weight: 6, arbitrary: fc.constant("ap-northeast-1a") }, fc.constantFrom("", 3)),
    state: fc.oneof({ weight: 5, arbitrary: fc.constantFrom("running", "stopped", "Running") }, anyValue),
    privateIp: fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      fc.constantFrom("10.0.1.11", "255.255.255.255", "256.1.1.1", "01.2.3.4", "10.0.1", "::1"),
      fc.ipV4(),
      anyValue,
    ),
    tags: fc.oneof(
      { weight: 3, arbitrary: fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 })) },
      fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.string({ maxLength: 5 }), fc.integer())),
      anyValue,
    ),
    autoScalingGroup: fc.oneof({ weight: 5, arbitrary: fc.constantFrom("relay-prod-1a", "") }, anyValue),
    ssm: fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom("Online", "ConnectionLost", "Inactive", "Unknown", "online") },
      anyValue,
    ),
    targets: fc.oneof({ weight: 5, arbitrary: fc.array(targetArb, { maxLength: 2 }) }, anyValue),
  },
  { requiredKeys: ["id", "az"] },
);

describe("fastInstance", () => {
  it("accepts only what instanceSchema accepts, and returns what it returns", () => {
    let accepted = 0;
    fc.assert(
      fc.property(instanceArb, (raw) => {
        // JSON has no undefined: drop those keys as JSON.parse would never produce them.
        const value = JSON.parse(JSON.stringify(raw)) as unknown;
        const fast = fastInstance(value);
        if (fast === undefined) return;
        accepted++;
        const slow = instanceSchema.safeParse(value);
        expect(slow.success).toBe(true);
        expect(fast).toStrictEqual(slow.data);
      }),
      { numRuns: 3_000 },
    );
    // The generator leans towards valid fields, so both answers are exercised.
    expect(accepted).toBeGreaterThan(50);
  });

  it("takes every instance of the 1,000-instance fixture, as zod reads it", () => {
    const doc = JSON.parse(readFileSync(fixture("inventory-1000.json"), "utf8")) as { instances: unknown[] };
    for (const item of doc.instances) {
      const fast = fastInstance(item);
      expect(fast).toBeDefined();
      expect(fast).toStrictEqual(instanceSchema.parse(item));
    }
  });

  it("leaves a prototype-touching tag key and an unknown key to zod", () => {
    const base = { id: "i-0123456789abcdef0", az: "ap-northeast-1a" };
    expect(fastInstance(JSON.parse('{"id":"i-0123456789abcdef0","az":"a","tags":{"__proto__":"x"}}'))).toBe(
      undefined,
    );
    expect(fastInstance({ ...base, autoscalingGroup: "x" })).toBe(undefined);
    expect(fastInstance({ ...base, targets: [{ targetGroup: "g", weight: 1 }] })).toBe(undefined);
    expect(fastInstance(base)).toStrictEqual(instanceSchema.parse(base));
  });
});

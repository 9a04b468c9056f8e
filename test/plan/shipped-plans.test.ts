import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadPlan, parsePlanText } from "../../src/plan/load.js";
import { planJsonSchema } from "../../src/plan/schema.js";
import { InputError } from "../../src/plan/types.js";
import { MINIMAL, WITH_RELEASE } from "./helpers.js";

describe("shipped plans", () => {
  it("loads camera-relay with no errors or warnings and the values the simulator relies on", async () => {
    const { plan, warnings } = await loadPlan("plans/camera-relay.yaml", { vars: ["release=v2.0.0"] });
    expect(warnings).toEqual([]);
    expect(plan).toMatchObject({
      name: "camera-relay",
      region: "ap-northeast-1",
      guard: { account: "123456789012" },
      fleet: { select: { tags: { Service: "camera-relay", Env: "prod" } }, notReady: "skip" },
      rollout: {
        canary: { size: { kind: "perAz", count: 1 }, bakeMs: 600_000, approve: true },
        maxUnavailable: { kind: "percent", percent: 10 },
        failures: { action: "rollback", failedInstances: "keepOut" },
      },
      capacity: {
        connections: {
          source: {
            kind: "metric",
            namespace: "CameraRelay",
            name: "ActiveConnections",
            dimension: "InstanceId",
          },
          perInstanceLimit: 250,
          headroom: 0.1,
        },
      },
      drain: { untilConnections: 10, timeoutMs: 360_000 },
      health: { stableForMs: 60_000, alarms: ["relay-5xx-rate", "relay-camera-disconnects"] },
    });
    expect(plan.steps.preDrain).toEqual({
      commands: ["/opt/relay/bin/relayctl drain --rate 50/s"],
      timeoutMs: 360_000,
    });
    expect(plan.steps.close).toEqual({ commands: ["/opt/relay/bin/relayctl close-all"], timeoutMs: 360_000 });
    expect(plan.steps.deploy.commands[0]).toBe("/opt/relay/bin/install v2.0.0");
  });

  it("loads web-api with no errors", async () => {
    const { plan, warnings } = await loadPlan("plans/web-api.yaml", { vars: ["release=2024.06.1"] });
    expect(warnings).toEqual([]);
    expect(plan.capacity.connections).toBeNull();
    expect(plan.rollout.strategy).toBe("waves");
    expect(plan.steps.deploy.commands[0]).toBe(
      "aws s3 cp s3://web-api-artifacts/web-api/2024.06.1.tar.gz /tmp/web-api.tar.gz",
    );
  });

  it("validates the shipped plans without variables when they are not required", async () => {
    for (const f of ["plans/camera-relay.yaml", "plans/web-api.yaml"]) {
      await expect(loadPlan(f, { requireVars: false })).resolves.toBeDefined();
    }
  });

  it("refuses camera-relay without a release, and with one that fails the pattern", async () => {
    await expect(loadPlan("plans/camera-relay.yaml")).rejects.toBeInstanceOf(InputError);
    await expect(loadPlan("plans/camera-relay.yaml", { vars: ["release=latest"] })).rejects.toBeInstanceOf(
      InputError,
    );
  });

  it("points editors at the generated schema on the first line", () => {
    for (const f of ["plans/camera-relay.yaml", "plans/web-api.yaml"]) {
      expect(readFileSync(f, "utf8").split("\n")[0]).toBe(
        "# yaml-language-server: $schema=../schema/plan.schema.json",
      );
    }
  });
});

describe("defaults", () => {
  it("fills documented defaults for everything optional", () => {
    const { plan } = parsePlanText(MINIMAL, "p.yaml", WITH_RELEASE);
    expect(plan.rollout).toMatchObject({
      canary: null,
      waves: [{ kind: "percent", percent: 10 }],
      strategy: "window",
      maxUnavailablePerAz: null,
      failures: { maxFailed: { kind: "count", count: 0 }, action: "pause", failedInstances: "keepOut" },
    });
    expect(plan.fleet).toMatchObject({ exclude: {}, targetGroups: [], notReady: "skip" });
    expect(plan.fleet.autoScaling.suspendProcesses).toContain("AZRebalance");
    expect(plan.drain).toEqual({ untilConnections: null, timeoutMs: 360_000 });
    expect(plan.steps).toMatchObject({
      preDrain: null,
      close: null,
      validate: null,
      rollback: null,
      deploy: { timeoutMs: 600_000 },
    });
    expect(plan.health).toEqual({
      targetHealthyTimeoutMs: 300_000,
      stableForMs: 0,
      alarms: [],
      connectedDevices: null,
    });
    expect(plan.region).toBeNull();
    expect(plan.guard.account).toBeNull();
  });

  it("derives a stable seed from the name unless one is given", () => {
    const a = parsePlanText(MINIMAL, "p.yaml", WITH_RELEASE).plan.rollout.seed;
    const b = parsePlanText(MINIMAL.replace("name: mini", "name: other"), "p.yaml", WITH_RELEASE).plan.rollout
      .seed;
    expect(a).toBe(parsePlanText(MINIMAL, "q.yaml", WITH_RELEASE).plan.rollout.seed);
    expect(a).not.toBe(b);
    const seeded = MINIMAL.replace("  maxUnavailable: 10%", "  maxUnavailable: 10%\n  seed: 42");
    expect(parsePlanText(seeded, "p.yaml", WITH_RELEASE).plan.rollout.seed).toBe(42);
  });
});

describe("JSON plans", () => {
  const json = JSON.stringify(parse(MINIMAL), null, 2);

  it("loads a JSON plan like its YAML twin", () => {
    expect(parsePlanText(json, "p.json", WITH_RELEASE).plan).toEqual(
      parsePlanText(MINIMAL, "p.yaml", WITH_RELEASE).plan,
    );
  });

  it("locates errors inside a JSON plan", () => {
    const bad = json.replace('"maxUnavailable": "10%"', '"maxUnavailable": "10%", "maxUnavailabel": 3');
    try {
      parsePlanText(bad, "p.json", WITH_RELEASE);
      expect.unreachable();
    } catch (e) {
      const issues = (e as InputError).issues;
      expect(issues).toHaveLength(1);
      const line = bad.split("\n").findIndex((l) => l.includes("maxUnavailabel")) + 1;
      expect(issues[0]).toMatchObject({ source: "p.json", line, path: "rollout.maxUnavailabel" });
      expect(issues[0]?.hint).toBe("did you mean 'maxUnavailable'?");
    }
  });
});

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  anyOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
};

/** Just enough JSON Schema to check what an editor would flag: keys, types, enums, patterns. */
function violations(s: Schema, v: unknown, path = "$"): string[] {
  if (s.anyOf)
    return s.anyOf.some((o) => violations(o, v, path).length === 0) ? [] : [`${path}: no anyOf branch`];
  if (s.const !== undefined && v !== s.const) return [`${path}: not ${String(s.const)}`];
  if (s.enum && !s.enum.includes(v)) return [`${path}: not in enum`];
  const t = Array.isArray(v) ? "array" : v === null ? "null" : typeof v;
  const ok =
    !s.type ||
    s.type === t ||
    (s.type === "integer" && Number.isInteger(v)) ||
    (s.type === "object" && t === "object" && !Array.isArray(v));
  if (!ok) return [`${path}: expected ${s.type}, got ${t}`];
  if (s.pattern && typeof v === "string" && !new RegExp(s.pattern).test(v)) return [`${path}: pattern`];
  const out: string[] = [];
  if (t === "object" && s.type === "object") {
    const o = v as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in o)) out.push(`${path}.${r}: required`);
    for (const [k, val] of Object.entries(o)) {
      const p = s.properties?.[k];
      if (p) out.push(...violations(p, val, `${path}.${k}`));
      else if (s.additionalProperties === false) out.push(`${path}.${k}: not allowed`);
      else if (typeof s.additionalProperties === "object")
        out.push(...violations(s.additionalProperties, val, `${path}.${k}`));
    }
  }
  if (t === "array" && s.items) {
    for (const [i, x] of (v as unknown[]).entries()) out.push(...violations(s.items, x, `${path}[${i}]`));
  }
  return out;
}

describe("JSON Schema", () => {
  const schema = planJsonSchema() as Schema & { $schema: string };

  it("is draft-07 JSON with every top-level key and no extra keys allowed", () => {
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(Object.keys(schema.properties ?? {})).toEqual([
      "version",
      "name",
      "region",
      "guard",
      "lock",
      "journal",
      "vars",
      "fleet",
      "rollout",
      "capacity",
      "drain",
      "steps",
      "health",
    ]);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(["version", "name", "fleet", "rollout", "steps"]);
  });

  it("accepts the shipped plans as written", () => {
    for (const f of ["plans/camera-relay.yaml", "plans/web-api.yaml"]) {
      expect(violations(schema, parse(readFileSync(f, "utf8")))).toEqual([]);
    }
  });

  it("flags what the loader rejects: an unknown key, a bad size, a bad duration", () => {
    const plan = parse(MINIMAL);
    plan.rollout.maxUnavailabel = 3;
    plan.rollout.waves = ["ten"];
    plan.steps.deploy.timeout = "10";
    expect(violations(schema, plan)).toEqual([
      "$.rollout.maxUnavailabel: not allowed",
      "$.rollout.waves[0]: no anyOf branch",
      "$.steps.deploy.timeout: no anyOf branch",
    ]);
  });
});

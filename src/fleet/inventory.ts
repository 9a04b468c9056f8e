/**
 * Offline fleets: `--inventory fleet.json` plans from a file instead of AWS (docs/inventory.md).
 *
 * Every problem is collected, located `file:line:col` and thrown as one `InputError`. JSON goes
 * through JSON.parse (a 12,000-instance file in ~30 ms); the YAML parser, which keeps positions
 * but is ~100× slower, runs only when the file is YAML or when there are problems to locate.
 */
import type { z } from "zod";
import { formatPath, Locator, type PathSegment } from "../plan/locate.js";
import { suggestionHint } from "../plan/suggest.js";
import { type FleetSpec, InputError, type InputIssue } from "../plan/types.js";
import { parseYamlText, readTextFile, requireYaml } from "../plan/yaml-text.js";
import { quote, shown } from "../util/quote.js";
import {
  fastInstance,
  instanceSchema,
  inventorySchema,
  type RawInstance,
  type RawTargetGroup,
  REGION_RE,
  TG_ARN_RE,
  targetGroupSchema,
  targetSchema,
} from "./inventory-schema.js";

export { inventoryJsonSchema } from "./inventory-schema.js";

import type { TargetGroup } from "../aws/types.js";
import { selectInstances } from "./select.js";
import type { Fleet, Instance, InstanceTarget } from "./types.js";

/** A problem found before positions are known: located only if the load fails. */
interface Problem {
  path: PathSegment[];
  message: string;
  hint?: string;
  key?: boolean;
}

const KEYS = {
  inventory: Object.keys(inventorySchema.shape),
  targetGroup: Object.keys(targetGroupSchema.shape),
  instance: Object.keys(instanceSchema.shape),
  target: Object.keys(targetSchema.shape),
};

/** Read and validate an inventory file; with a FleetSpec, apply the plan's selection to it. */
export async function loadInventory(file: string, select?: FleetSpec): Promise<Fleet> {
  return parseInventory(await readTextFile(file, "the inventory"), file, select);
}

/** Same as `loadInventory`, from text in memory (`file` names it in errors). */
export function parseInventory(text: string, file: string, select?: FleetSpec): Fleet {
  let raw: unknown;
  let locator: Locator | undefined;
  const locate = (): Locator | undefined => {
    if (!locator) {
      // JSON that parsed: the YAML reader only adds positions (a duplicate key, which JSON.parse
      // allows, is not an error here). JSON nested too deep for it stays unlocated.
      const { doc, lines } = parseYamlText(text, file);
      if (doc) locator = new Locator(file, doc, lines);
    }
    return locator;
  };
  try {
    raw = JSON.parse(text);
  } catch {
    // YAML (or JSON with a syntax error, which the YAML parser locates).
    const { doc, lines } = requireYaml(parseYamlText(text, file));
    locator = new Locator(file, doc, lines);
    try {
      raw = doc.toJS();
    } catch (e) {
      const message =
        e instanceof RangeError
          ? "nesting too deep: aliases expand into too many levels of maps and lists"
          : shown((e as Error).message, 200);
      throw new InputError([{ severity: "error", source: file, line: 1, column: 1, message }]);
    }
  }

  const problems: Problem[] = [];
  const top = check(inventorySchema, raw, [], "inventory", problems);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw located(problems, file, locate);
  // Keep going when the top level has problems, so the items' problems are reported too.
  const doc = raw as Record<string, unknown>;
  const region =
    top?.region ?? (typeof doc.region === "string" && REGION_RE.test(doc.region) ? doc.region : null);
  const account =
    top?.account ??
    (typeof doc.account === "string" && /^\d{12}$/.test(doc.account) ? doc.account : undefined);
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

  const groups: { tg: RawTargetGroup; name: string; k: number }[] = [];
  // Names and ARNs of groups with their own problems: instances may still refer to them.
  const broken: string[] = [];
  list(doc.targetGroups).forEach((item, k) => {
    const tg = check(targetGroupSchema, item, ["targetGroups", k], "targetGroup", problems);
    if (tg) groups.push({ tg, name: tg.name ?? (TG_ARN_RE.exec(tg.arn)?.[3] as string), k });
    else broken.push(...refsOf(item));
  });
  const instances: { i: RawInstance; k: number }[] = [];
  list(doc.instances).forEach((item, k) => {
    const i = fastInstance(item) ?? check(instanceSchema, item, ["instances", k], "instance", problems);
    if (i) instances.push({ i, k });
  });

  const byRef = checkTargetGroups(groups, region, account, problems);
  const members = checkInstances(instances, region, byRef, new Set(broken), problems);
  for (const { tg, k } of groups) {
    const n = members.get(tg.arn) ?? 0;
    if (tg.targetCount !== undefined && tg.targetCount < n) {
      problems.push({
        path: ["targetGroups", k, "targetCount"],
        message: `targetCount ${tg.targetCount} is less than the ${n} targets this inventory lists in the group`,
      });
    }
  }
  if (problems.length > 0) throw located(problems, file, locate);

  const targetGroups: TargetGroup[] = groups.map(({ tg, name }) => ({
    arn: tg.arn,
    name,
    type: tg.type,
    ...(tg.protocol !== undefined ? { protocol: tg.protocol } : {}),
    ...(tg.port !== undefined ? { port: tg.port } : {}),
    loadBalancerArns: tg.loadBalancerArns,
    deregistrationDelaySeconds: tg.deregistrationDelaySeconds,
    connectionTermination: tg.connectionTermination,
    ...(tg.crossZone !== undefined ? { crossZone: tg.crossZone } : {}),
    targetCount: tg.targetCount ?? members.get(tg.arn) ?? 0,
  }));
  const all: Instance[] = instances.map(({ i }) => toInstance(i, byRef));
  const fleet: Fleet = {
    region,
    account: account ?? null,
    instances: all,
    targetGroups,
    autoScalingGroups: [],
    source: "inventory",
  };
  return finish(select ? applySelection(fleet, select, file, byRef) : fleet);
}

function finish(fleet: Fleet): Fleet {
  const asgs = new Set<string>();
  for (const i of fleet.instances) if (i.autoScalingGroup) asgs.add(i.autoScalingGroup);
  return { ...fleet, autoScalingGroups: [...asgs].sort() };
}

/**
 * The plan's select/exclude, then (when `fleet.targetGroups` names some) only those groups'
 * memberships. The fleet keeps the target groups its instances are in, plus any the plan named.
 */
function applySelection(
  fleet: Fleet,
  spec: FleetSpec,
  file: string,
  byRef: Map<string, RawTargetGroup>,
): Fleet {
  let instances = selectInstances(fleet.instances, spec.select, spec.exclude);
  const named = new Set<string>();
  const issues: InputIssue[] = [];
  for (const ref of spec.targetGroups) {
    const tg = byRef.get(ref);
    if (tg) named.add(tg.arn);
    else {
      const names = fleet.targetGroups.map((g) => g.name);
      issues.push({
        severity: "error",
        source: file,
        path: "fleet.targetGroups",
        message: `the plan names target group '${shown(ref)}', which this inventory does not list`,
        hint: suggestionHint(ref, names, "target groups in the inventory"),
      });
    }
  }
  if (issues.length > 0) throw new InputError(issues);
  if (named.size > 0) {
    instances = instances.map((i) => ({
      ...i,
      targets: i.targets.filter((t) => named.has(t.targetGroupArn)),
    }));
  }
  const used = new Set(named);
  for (const i of instances) for (const t of i.targets) used.add(t.targetGroupArn);
  return { ...fleet, instances, targetGroups: fleet.targetGroups.filter((g) => used.has(g.arn)) };
}

function toInstance(i: RawInstance, byRef: Map<string, RawTargetGroup>): Instance {
  return {
    id: i.id,
    az: i.az,
    state: i.state,
    ...(i.privateIp !== undefined ? { privateIp: i.privateIp } : {}),
    tags: i.tags,
    ...(i.autoScalingGroup !== undefined ? { autoScalingGroup: i.autoScalingGroup } : {}),
    ssm: i.ssm,
    targets: i.targets.map((t): InstanceTarget => {
      const out: InstanceTarget = {
        targetGroupArn: (byRef.get(t.targetGroup) as RawTargetGroup).arn,
        state: t.state,
      };
      if (t.port !== undefined) out.port = t.port;
      if (t.reason !== undefined) out.reason = t.reason;
      return out;
    }),
  };
}

/** Groups must be unique by ARN and name, agree with the Region/account, and be NLB-only where AWS says so. */
function checkTargetGroups(
  groups: { tg: RawTargetGroup; name: string; k: number }[],
  region: string | null,
  account: string | undefined,
  problems: Problem[],
): Map<string, RawTargetGroup> {
  const byRef = new Map<string, RawTargetGroup>();
  const firstArn = new Map<string, number>();
  const firstName = new Map<string, number>();
  for (const { tg, name, k } of groups) {
    const [, arnRegion, arnAccount, arnName] = TG_ARN_RE.exec(tg.arn) as RegExpExecArray;
    const at = (field: string) => ["targetGroups", k, field];
    if (tg.name !== undefined && tg.name !== arnName) {
      problems.push({
        path: at("name"),
        message: `name '${shown(tg.name)}' differs from the name in the ARN ('${arnName}')`,
      });
    }
    if (region !== null && arnRegion !== region) {
      problems.push({
        path: at("arn"),
        message: `the ARN is in Region ${arnRegion}, the inventory in ${region}`,
      });
    }
    if (account !== undefined && arnAccount !== account) {
      problems.push({
        path: at("arn"),
        message: `the ARN is in account ${arnAccount}, the inventory in ${account}`,
      });
    }
    if (tg.type === "application" && tg.connectionTermination) {
      problems.push({
        path: at("connectionTermination"),
        message:
          "connectionTermination is a Network Load Balancer attribute; ALB target groups do not have it",
      });
    }
    const seenArn = firstArn.get(tg.arn);
    if (seenArn !== undefined) {
      problems.push({
        path: at("arn"),
        message: `target group listed twice (also targetGroups[${seenArn}])`,
      });
    } else firstArn.set(tg.arn, k);
    const seenName = firstName.get(name);
    if (seenName !== undefined && seenArn === undefined) {
      problems.push({
        path: at("name"),
        message: `two target groups named '${shown(name)}' (also targetGroups[${seenName}])`,
      });
    } else if (seenName === undefined) firstName.set(name, k);
    byRef.set(tg.arn, tg);
    if (!byRef.has(name)) byRef.set(name, tg);
  }
  return byRef;
}

/** Unique ids, AZs of this Region, known target groups. Returns targets per group ARN. */
function checkInstances(
  instances: { i: RawInstance; k: number }[],
  region: string | null,
  byRef: Map<string, RawTargetGroup>,
  broken: Set<string>,
  problems: Problem[],
): Map<string, number> {
  const members = new Map<string, number>();
  const firstId = new Map<string, number>();
  const names = [...new Set([...byRef.values()].map((g) => TG_ARN_RE.exec(g.arn)?.[3] ?? g.arn))];
  names.push(...[...broken].filter((ref) => !ref.startsWith("arn:")));
  for (const { i, k } of instances) {
    const seen = firstId.get(i.id);
    if (seen !== undefined) {
      problems.push({
        path: ["instances", k, "id"],
        message: `instance ${i.id} is listed twice (also instances[${seen}])`,
      });
    } else firstId.set(i.id, k);

    const azProblem = checkAz(i.az, region);
    if (azProblem) problems.push({ path: ["instances", k, "az"], ...azProblem });

    const memberships = new Set<string>();
    i.targets.forEach((t, j) => {
      const tg = byRef.get(t.targetGroup);
      if (!tg && broken.has(t.targetGroup)) return;
      if (!tg) {
        problems.push({
          path: ["instances", k, "targets", j, "targetGroup"],
          message: `unknown target group '${shown(t.targetGroup)}': not in targetGroups`,
          hint: suggestionHint(t.targetGroup, names, "target groups"),
        });
        return;
      }
      const key = `${tg.arn} ${t.port ?? ""}`;
      if (memberships.has(key)) {
        problems.push({
          path: ["instances", k, "targets", j],
          message: `registered twice in ${t.targetGroup}${t.port ? ` on port ${t.port}` : ""}`,
        });
      }
      memberships.add(key);
      members.set(tg.arn, (members.get(tg.arn) ?? 0) + 1);
    });
  }
  return members;
}

/** `ap-northeast-1a` in ap-northeast-1; Local/Wavelength Zones look like `us-west-2-lax-1a`. */
function checkAz(az: string, region: string | null): { message: string; hint?: string } | undefined {
  if (region === null) return undefined;
  if (az === region)
    return { message: `'${shown(az)}' is a Region, not an Availability Zone`, hint: `e.g. ${region}a` };
  if (!az.startsWith(region))
    return { message: `Availability Zone '${shown(az)}' is not in Region ${region}` };
  if (!/^([a-z]|-[a-z0-9-]*[a-z0-9])$/.test(az.slice(region.length))) {
    return { message: `'${shown(az)}' is not an Availability Zone name`, hint: `e.g. ${region}a` };
  }
  return undefined;
}

/** Validate one value; zod's issues become problems under `base`. */
function check<T extends z.ZodType>(
  schema: T,
  value: unknown,
  base: PathSegment[],
  kind: keyof typeof KEYS,
  problems: Problem[],
): z.infer<T> | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const zi of result.error.issues) {
    const rel = zi.path.filter((p): p is PathSegment => typeof p !== "symbol");
    const path = [...base, ...rel];
    // Inside an instance, a nested object is a target (the only nested strict object).
    const keys = rel.length === 0 ? KEYS[kind] : KEYS.target;
    const got = valueAt(value, rel);
    switch (zi.code) {
      case "unrecognized_keys":
        for (const key of zi.keys) {
          problems.push({
            path: [...path, key],
            message: `unknown key '${shown(key)}'`,
            hint: suggestionHint(key, keys),
            key: true,
          });
        }
        break;
      case "invalid_type":
        problems.push({
          path,
          message:
            got === undefined
              ? `missing required field '${String(rel.at(-1) ?? kind)}'`
              : `expected ${zi.expected}, got ${Array.isArray(got) ? "a list" : got === null ? "null" : typeof got}`,
        });
        break;
      case "invalid_value": {
        const options = zi.values.map(String);
        const hint = typeof got === "string" ? suggestionHint(got, options, "allowed values") : undefined;
        problems.push({
          path,
          message: `${typeof got === "string" ? quote(got) : shown(String(JSON.stringify(got)))} is not one of: ${options.join(", ")}`,
          ...(hint ? { hint } : {}),
        });
        break;
      }
      case "too_big":
      case "too_small":
        problems.push({
          path,
          message: `must be ${zi.code === "too_big" ? "at most" : "at least"} ${String(zi.code === "too_big" ? zi.maximum : zi.minimum)}`,
        });
        break;
      default:
        problems.push({ path, message: zi.message });
    }
  }
  return undefined;
}

/** The ARN and name a (schema-broken) target group item can be referred to by. */
function refsOf(item: unknown): string[] {
  if (item === null || typeof item !== "object") return [];
  const { arn, name } = item as { arn?: unknown; name?: unknown };
  const out: string[] = [];
  if (typeof arn === "string") out.push(arn, TG_ARN_RE.exec(arn)?.[3] ?? arn);
  if (typeof name === "string") out.push(name);
  return out;
}

function valueAt(value: unknown, path: PathSegment[]): unknown {
  let v = value;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

function located(problems: Problem[], file: string, locate: () => Locator | undefined): InputError {
  const loc = locate();
  const issues = problems.map((p): InputIssue => {
    if (loc) return loc.issue("error", p.path, p.message, p.hint, { key: p.key ?? false });
    return {
      severity: "error",
      source: file,
      path: formatPath(p.path),
      message: p.message,
      ...(p.hint ? { hint: p.hint } : {}),
    };
  });
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return new InputError(issues.map((i) => ({ ...i, source: file })));
}

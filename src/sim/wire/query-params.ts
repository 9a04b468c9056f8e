import { SimApiError } from "../model/api.js";

/**
 * Reads AWS query-protocol form bodies. Lists come in two spellings that this one reader handles:
 * query services use `Targets.member.1.Id`, EC2 uses `InstanceId.1` / `Filter.1.Value.1`.
 *
 * Worked example: body `Filter.1.Name=tag:Role&Filter.1.Value.1=relay&Filter.1.Value.2=edge`
 *   structs("Filter")[0].str("Name")   → "tag:Role"
 *   structs("Filter")[0].list("Value") → ["relay", "edge"]
 */
export class QueryParams {
  constructor(private readonly map: Map<string, string>) {}

  static parse(body: string): QueryParams {
    return new QueryParams(new Map(new URLSearchParams(body)));
  }

  str(name: string): string | undefined {
    return this.map.get(name);
  }

  required(name: string): string {
    const v = this.map.get(name);
    if (v === undefined || v === "") {
      throw new SimApiError("ValidationError", `1 validation error detected: '${name}' must not be null`);
    }
    return v;
  }

  int(name: string): number | undefined {
    const v = this.map.get(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n))
      throw new SimApiError("ValidationError", `'${name}' must be an integer, got '${v}'`);
    return n;
  }

  bool(name: string): boolean | undefined {
    const v = this.map.get(name);
    return v === undefined ? undefined : v === "true";
  }

  /** Scalar list `prefix.member.N` or `prefix.N`, in N order; undefined when absent. */
  list(prefix: string): string[] | undefined {
    const entries = this.indexed(prefix, (rest) => rest === "");
    if (entries.length === 0) return undefined;
    return entries.map(([, key]) => this.map.get(key) as string);
  }

  /** Structure list `prefix.member.N.Field` or `prefix.N.Field`, each item as its own reader. */
  structs(prefix: string): QueryParams[] {
    const groups = new Map<number, Map<string, string>>();
    for (const [key, value] of this.map) {
      const m = matchIndexed(prefix, key);
      if (!m?.rest.startsWith(".")) continue;
      const g = groups.get(m.index) ?? new Map<string, string>();
      groups.set(m.index, g);
      g.set(m.rest.slice(1), value);
    }
    return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => new QueryParams(g));
  }

  private indexed(prefix: string, accept: (rest: string) => boolean): [number, string][] {
    const out: [number, string][] = [];
    for (const key of this.map.keys()) {
      const m = matchIndexed(prefix, key);
      if (m && accept(m.rest)) out.push([m.index, key]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }
}

function matchIndexed(prefix: string, key: string): { index: number; rest: string } | undefined {
  if (!key.startsWith(`${prefix}.`)) return undefined;
  let tail = key.slice(prefix.length + 1);
  if (tail.startsWith("member.")) tail = tail.slice("member.".length);
  const m = /^(\d+)(.*)$/.exec(tail);
  if (!m) return undefined;
  return { index: Number(m[1]), rest: m[2] as string };
}

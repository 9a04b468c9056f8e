/**
 * SSM Parameter Store in the model, as the API reference documents it, for rollwave's fleet lock:
 *
 * - PutParameter with `Overwrite: false` (the default) on an existing name is `ParameterAlreadyExists`:
 *   an atomic create-if-absent. With `Overwrite: true` it adds a version; versions count up from 1
 *   and are never reused while the parameter exists (a deleted and re-created parameter starts at 1).
 * - The 100 most recent versions are kept; the oldest is dropped when a 101st is created (labels,
 *   which would block that with `ParameterMaxVersionLimitExceeded`, are not simulated).
 * - Changing the type of an existing parameter is `HierarchyTypeMismatchException`.
 * - Names: `a-zA-Z0-9_.-` and `/`, no inner spaces (outer ones are trimmed), not prefixed with
 *   `aws` or `ssm` in any case, at most 15 levels (`HierarchyLevelLimitExceededException`), at
 *   most 1,011 characters including the parameter ARN's prefix. Values: at most 4,096 characters in
 *   the Standard tier, 8,192 in Advanced.
 * - GetParameter takes `name:version` to read a past version (`ParameterVersionNotFound` when it is
 *   gone or never was), and answers it with `Selector: ":<version>"`; `name:label` selectors find
 *   nothing, since labels are not simulated.
 */
import { SimApiError, type SimParameter } from "./api.js";

const MAX_VERSIONS = 100;
const MAX_LEVELS = 15;
const MAX_NAME_WITH_ARN = 1011;
const MAX_VALUE = { Standard: 4096, Advanced: 8192 } as const;
const TYPES = ["String", "StringList", "SecureString"];

interface Stored {
  versions: SimParameter[];
  tier: "Standard" | "Advanced";
}

export class Parameters {
  private readonly params = new Map<string, Stored>();

  constructor(
    /** `arn:aws:ssm:<region>:<account>:parameter`, which counts toward the name's length limit. */
    private readonly arnPrefix = "arn:aws:ssm:us-east-1:000000000000:parameter",
  ) {}

  put(
    p: { name: string; value: string; type?: string; overwrite: boolean; tier?: string },
    now: number,
  ): { version: number; tier: string } {
    const name = this.checkName(p.name);
    const stored = this.params.get(name);
    const latest = stored?.versions.at(-1);
    if (latest && !p.overwrite) {
      throw new SimApiError(
        "ParameterAlreadyExists",
        "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
      );
    }
    const type = (p.type ?? latest?.type ?? "String") as SimParameter["type"];
    if (!TYPES.includes(type)) {
      throw new SimApiError("ValidationException", `Parameter type ${type} is not valid`);
    }
    if (latest && p.type !== undefined && p.type !== latest.type) {
      throw new SimApiError(
        "HierarchyTypeMismatchException",
        `The parameter type can't be changed from ${latest.type} to ${p.type}. Create a new parameter instead.`,
      );
    }
    const tier = p.tier === "Advanced" || stored?.tier === "Advanced" ? "Advanced" : "Standard";
    if (p.value.length > MAX_VALUE[tier]) {
      throw new SimApiError(
        "ValidationException",
        tier === "Standard"
          ? "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier."
          : "Advanced tier parameters support a maximum parameter value of 8192 characters.",
      );
    }
    const version = (latest?.version ?? 0) + 1;
    const versions = stored?.versions ?? [];
    versions.push({ name, value: p.value, type, version, lastModifiedAt: now });
    if (versions.length > MAX_VERSIONS) versions.shift();
    this.params.set(name, { versions, tier });
    return { version, tier };
  }

  /** `name`, or `name:version` for a past version. */
  get(nameWithSelector: string): SimParameter {
    const { name, selector } = splitSelector(nameWithSelector.trim());
    const stored = this.params.get(name);
    if (!stored) throw new SimApiError("ParameterNotFound", `Parameter ${name} not found.`);
    if (selector === undefined) return { ...(stored.versions.at(-1) as SimParameter), tier: stored.tier };
    const wanted = /^\d+$/.test(selector) ? Number(selector) : undefined;
    const found = wanted === undefined ? undefined : stored.versions.find((v) => v.version === wanted);
    if (!found) {
      throw new SimApiError(
        "ParameterVersionNotFound",
        `Systems Manager could not find version ${selector} of ${name}. Verify the version and try again.`,
      );
    }
    return { ...found, tier: stored.tier, selector: `:${selector}` };
  }

  /** Every kept version, oldest first (GetParameterHistory). */
  history(name: string): SimParameter[] {
    const stored = this.params.get(name.trim());
    if (!stored) throw new SimApiError("ParameterNotFound", `Parameter ${name} not found.`);
    return stored.versions.map((v) => ({ ...v, tier: stored.tier }));
  }

  delete(name: string): void {
    if (!this.params.delete(name.trim()))
      throw new SimApiError("ParameterNotFound", `Parameter ${name} not found.`);
  }

  private checkName(raw: string): string {
    const name = raw.trim();
    const invalid = (why: string) => new SimApiError("ValidationException", `Parameter name: ${why}`);
    if (name === "") throw invalid("must not be empty");
    if (/\s/.test(name)) throw invalid("can't contain spaces");
    if (!/^[a-zA-Z0-9_.\-/]+$/.test(name)) {
      throw invalid("can include only the following symbols and letters: a-zA-Z0-9_.-/");
    }
    if (/^\/?(aws|ssm)/i.test(name))
      throw invalid('can\'t be prefixed with "aws" or "ssm" (case-insensitive)');
    const levels = name.split("/").filter((s) => s !== "").length;
    if (levels > MAX_LEVELS) {
      throw new SimApiError(
        "HierarchyLevelLimitExceededException",
        `A hierarchy can have a maximum of ${MAX_LEVELS} levels.`,
      );
    }
    const withArn = `${this.arnPrefix}${name.startsWith("/") ? "" : "/"}${name}`;
    if (withArn.length > MAX_NAME_WITH_ARN) {
      throw invalid(`is too long: at most ${MAX_NAME_WITH_ARN} characters including ${this.arnPrefix}/`);
    }
    return name;
  }
}

/** `"/a/b:3"` → name `/a/b`, selector `3`. Names cannot contain `:`, so the last one starts a selector. */
function splitSelector(s: string): { name: string; selector?: string } {
  const at = s.lastIndexOf(":");
  if (at <= 0) return { name: s };
  return { name: s.slice(0, at), selector: s.slice(at + 1) };
}

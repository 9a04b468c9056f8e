/**
 * Where AWS calls go: real AWS (default credential chain, --profile, --region, --endpoint-url), or
 * a simulator started in-process for `--simulate [fleet.yaml]` on a free loopback port, sharing one
 * ScaledClock with the engine so a 40-minute rollout replays in about a minute.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { AwsOptions } from "../aws/connect.js";
import { closest } from "../plan/suggest.js";
import type { Plan } from "../plan/types.js";
import { InputError, type InputIssue } from "../plan/types.js";
import { parseYamlText, readTextFileSync } from "../plan/yaml-text.js";
import type { RunningSimulator } from "../sim/index.js";
import { type Clock, ScaledClock, systemClock } from "../util/clock.js";
import { shown } from "../util/quote.js";
import { UsageError } from "./errors.js";
import { type CliIo, note } from "./io.js";
import { isKnownRegion, KNOWN_REGIONS, PARTITION_REGIONS } from "./regions.js";

export interface TargetFlags {
  /** `--simulate` alone is `true`; `--simulate fleet.yaml` is the path. */
  simulate?: string | boolean;
  region?: string;
  profile?: string;
  endpointUrl?: string;
  seed?: number;
  timeScale?: number;
  /** `--sim-clock` (or ROLLWAVE_SIM_CLOCK=1): follow the clock of the standalone simulator at the endpoint. */
  simClock?: boolean;
}

export interface Target {
  /** Options for createAws / createReadOnlyAws. */
  aws: AwsOptions;
  clock: Clock;
  region: string;
  /** Set when --simulate started one. */
  sim?: RunningSimulator;
  /** For the preview header: `simulator http://127.0.0.1:41237` or `aws eu-west-1`. */
  label: string;
  close(): Promise<void>;
}

/** The simulator does not check signatures, but the SDK insists on credentials to sign with. */
const SIMULATOR_CREDENTIALS = { accessKeyId: "rollwave-sim", secretAccessKey: "rollwave-sim" };

export const DEFAULT_TIME_SCALE = 60;

export async function openTarget(io: CliIo, plan: Pick<Plan, "region">, flags: TargetFlags): Promise<Target> {
  if (flags.simulate) {
    if (flags.endpointUrl) {
      throw new UsageError("--simulate and --endpoint-url both choose where AWS calls go", "use one of them");
    }
    if (flags.simClock) {
      throw new UsageError(
        "--sim-clock follows a standalone `rollwave sim`; --simulate already shares its simulator's clock",
        "drop --sim-clock, or point --endpoint-url at a running `rollwave sim` instead of --simulate",
      );
    }
    if (typeof flags.simulate === "string") {
      // Read it here first, so a wrong path or a UTF-16 file is one clear message (exit 2).
      const read = readTextFileSync(flags.simulate, "the simulated fleet (--simulate)");
      if ("issue" in read) {
        throw new InputError([
          {
            ...read.issue,
            hint:
              read.issue.hint ??
              "--simulate takes a simulator fleet spec such as plans/sim/small-fleet.yaml; alone it uses plans/sim/camera-fleet.yaml",
          },
        ]);
      }
      // Syntax (nesting, duplicate keys, a second document) in the same words as for a plan; the
      // simulator checks the spec's content.
      const syntax = parseYamlText(read.text, flags.simulate).issues.filter((i) => i.severity === "error");
      if (syntax.length > 0) throw new InputError(syntax);
    }
    note(io, "starting the simulator…");
    const { startSimulator } = await import("../sim/index.js");
    const clock = new ScaledClock(flags.timeScale ?? DEFAULT_TIME_SCALE);
    const sim = await startSimulator({
      ...(typeof flags.simulate === "string" ? { fleet: flags.simulate } : {}),
      clock,
      port: 0,
      ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
    });
    if (plan.region && plan.region !== sim.region) {
      io.stderr.write(
        `warning: the plan's region is ${plan.region}; the simulated fleet is in ${sim.region}, which is used\n`,
      );
    }
    return {
      aws: { region: sim.region, endpointUrl: sim.endpoint, credentials: SIMULATOR_CREDENTIALS, clock },
      clock,
      region: sim.region,
      sim,
      label: `simulator ${sim.endpoint}`,
      close: () => sim.close(),
    };
  }
  const [region, regionFrom] = flags.region
    ? [flags.region, "--region"]
    : plan.region
      ? [plan.region, "region (in the plan)"]
      : io.env.AWS_REGION
        ? [io.env.AWS_REGION, "AWS_REGION"]
        : [io.env.AWS_DEFAULT_REGION, "AWS_DEFAULT_REGION"];
  if (!region) {
    throw new UsageError(
      "no AWS Region: the plan has no `region`, and neither --region nor AWS_REGION is set",
      "add `region:` to the plan or pass --region",
    );
  }
  // Every flag and credential problem at once (exit 2), before any call.
  const problems: InputIssue[] = [];
  const problem = (source: string, message: string, hint?: string) =>
    problems.push({ severity: "error", source, message, ...(hint ? { hint } : {}) });
  const customEndpoint = Boolean(flags.endpointUrl || io.env.AWS_ENDPOINT_URL);
  if (!customEndpoint && !isKnownRegion(region)) {
    problem(
      regionFrom,
      `the Region '${shown(region)}' looks wrong: it is not an AWS Region`,
      regionHint(region),
    );
  }
  const profile = flags.profile ?? io.env.AWS_PROFILE;
  if (profile && !customEndpoint) {
    const from = flags.profile ? "--profile" : "AWS_PROFILE";
    const missing = missingProfile(profile, io);
    if (missing) problem(from, missing.message, missing.hint);
  }
  if (flags.timeScale !== undefined) {
    problem("--time-scale", "--time-scale only applies with --simulate", "real AWS runs in real time");
  }
  if (flags.seed !== undefined) {
    problem(
      "--seed",
      "--seed only applies with --simulate",
      "it seeds the simulated fleet; drop it for real AWS",
    );
  }
  if (problems.length > 0) throw new InputError(problems);
  const clock =
    flags.simClock || io.env.ROLLWAVE_SIM_CLOCK === "1" ? await followSimClock(io, flags) : systemClock;
  return {
    aws: {
      region,
      ...(flags.profile ? { profile: flags.profile } : {}),
      ...(flags.endpointUrl ? { endpointUrl: flags.endpointUrl } : {}),
      clock,
    },
    clock,
    region,
    label: flags.endpointUrl
      ? `endpoint ${flags.endpointUrl}`
      : io.env.AWS_ENDPOINT_URL
        ? `endpoint ${io.env.AWS_ENDPOINT_URL} (AWS_ENDPOINT_URL)`
        : `aws ${region}`,
    close: async () => {},
  };
}

/**
 * `--sim-clock`: run on the scaled clock a standalone `rollwave sim` advertises on /_sim/clock, so a
 * CLI started (or resumed) in another process waits in simulated time, as `--simulate` does in-process.
 */
async function followSimClock(io: CliIo, flags: TargetFlags): Promise<Clock> {
  const source = flags.simClock ? "--sim-clock" : "ROLLWAVE_SIM_CLOCK=1";
  const endpoint = flags.endpointUrl ?? io.env.AWS_ENDPOINT_URL;
  if (!endpoint) {
    throw new UsageError(
      `${source} follows the clock of a standalone simulator, but no endpoint is set`,
      "start `rollwave sim` and pass its address with --endpoint-url (or AWS_ENDPOINT_URL)",
    );
  }
  const { FollowingClock } = await import("../util/following-clock.js");
  try {
    const clock = await FollowingClock.follow(endpoint);
    note(io, `following the simulator's clock at ${endpoint} (x${clock.scale})`);
    return clock;
  } catch (err) {
    throw new UsageError(
      `${source}: ${err instanceof Error ? err.message : String(err)}`,
      "start `rollwave sim` first (it serves /_sim/clock), or drop --sim-clock / ROLLWAVE_SIM_CLOCK for real time",
    );
  }
}

/** `did you mean 'eu-west-1'?` and the Regions of the commercial partition (where most fleets are). */
function regionHint(region: string): string {
  const near = closest(region, KNOWN_REGIONS);
  // The list wraps under the hint, so no line of the report runs past ~90 columns.
  const lines: string[] = [];
  let line = "";
  for (const r of PARTITION_REGIONS.aws ?? []) {
    if (line && line.length + r.length + 2 > 80) {
      lines.push(line);
      line = "";
    }
    line += line ? `, ${r}` : r;
  }
  lines.push(`${line} (and the China, GovCloud and ISO partitions' own)`);
  return `${near ? `did you mean '${near}'? ` : ""}AWS Regions:\n    ${lines.join(",\n    ")}`;
}

/**
 * A named profile must exist in the shared config or credentials file; otherwise the SDK's
 * "Could not resolve credentials" would send the user looking for a flag they already passed.
 * Same files and section names as the SDK: `[profile x]` or `[default]` in config, `[x]` in
 * credentials (AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE move them).
 */
function missingProfile(profile: string, io: CliIo): { message: string; hint: string } | undefined {
  const home = io.env.HOME || homedir();
  const files = [
    { path: io.env.AWS_CONFIG_FILE || join(home, ".aws", "config"), config: true },
    { path: io.env.AWS_SHARED_CREDENTIALS_FILE || join(home, ".aws", "credentials"), config: false },
  ];
  const found = new Set<string>();
  const read: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f.path, "utf8");
    } catch {
      continue;
    }
    read.push(f.path);
    for (const m of text.matchAll(/^\s*\[\s*([^\]]+?)\s*\]/gm)) {
      const section = m[1] as string;
      if (f.config) {
        const p = /^profile\s+(.+)$/.exec(section);
        if (p) found.add(p[1] as string);
        else if (!/\s/.test(section)) found.add(section); // [default], and a bare [name] some tools write
      } else found.add(section);
    }
  }
  if (found.has(profile)) return undefined;
  const where = files.map((f) => f.path).join(" or ");
  if (read.length === 0) {
    return {
      message: `the profile '${shown(profile)}' does not exist: there is no ${where}`,
      hint: `create it with \`aws configure --profile ${shown(profile)}\`, or use other credentials (AWS_ACCESS_KEY_ID, SSO, an instance role)`,
    };
  }
  const names = [...found].sort();
  const near = closest(profile, names);
  return {
    message: `the profile '${shown(profile)}' does not exist in ${read.join(" or ")}`,
    hint: `${near ? `did you mean '${near}'? ` : ""}${names.length ? `profiles there: ${names.join(", ")}` : "no profiles are defined there"}; create one with \`aws configure --profile ${shown(profile)}\``,
  };
}

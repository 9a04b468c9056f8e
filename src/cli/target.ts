/**
 * Where AWS calls go: real AWS (default credential chain, --profile, --region, --endpoint-url), or
 * a simulator started in-process for `--simulate [fleet.yaml]` on a free loopback port, sharing one
 * ScaledClock with the engine so a 40-minute rollout replays in about a minute.
 */
import type { AwsOptions } from "../aws/connect.js";
import type { AwsReader } from "../aws/types.js";
import type { Fleet } from "../fleet/types.js";
import type { Plan } from "../plan/types.js";
import type { RunningSimulator } from "../sim/index.js";
import { type Clock, ScaledClock, systemClock } from "../util/clock.js";
import { UsageError } from "./errors.js";
import { type CliIo, note } from "./io.js";

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
export const SIMULATOR_CREDENTIALS = { accessKeyId: "rollwave-sim", secretAccessKey: "rollwave-sim" };

export const DEFAULT_TIME_SCALE = 60;

export async function openTarget(io: CliIo, plan: Plan, flags: TargetFlags): Promise<Target> {
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
  const region = flags.region ?? plan.region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new UsageError(
      "no AWS Region: the plan has no `region`, and neither --region nor AWS_REGION is set",
      "add `region:` to the plan or pass --region",
    );
  }
  if (flags.timeScale !== undefined) {
    throw new UsageError("--time-scale only applies with --simulate", "real AWS runs in real time");
  }
  if (flags.seed !== undefined) {
    throw new UsageError(
      "--seed only applies with --simulate",
      "it seeds the simulated fleet; drop it for real AWS",
    );
  }
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

/** Discover the plan's fleet through `reader` (read-only calls only), marked as simulated when it is. */
export async function discoverTargetFleet(
  io: CliIo,
  target: Target,
  plan: Plan,
  reader: AwsReader,
): Promise<Fleet> {
  const { discoverFleet } = await import("../fleet/discover.js");
  note(io, `discovering the fleet (${target.label})…`);
  const found = await discoverFleet(reader, plan.fleet, { region: target.region });
  return target.sim ? { ...found, source: "simulator" } : found;
}

/**
 * `rollwave sim`: the AWS-compatible simulator, standalone on 127.0.0.1, until SIGINT/SIGTERM.
 * Any AWS SDK or CLI pointed at it works: it prints the lines to paste into another shell.
 */
import type { Command } from "commander";
import { ExitCode } from "../exit-codes.js";
import type { CliIo } from "../io.js";
import { parseInteger, parseTimeScale } from "../options.js";
import { DEFAULT_TIME_SCALE } from "../target.js";
import type { CommandResult } from "./result.js";

interface SimFlags {
  fleet?: string;
  port: number;
  timeScale: number;
  seed?: number;
  bucket?: string[];
}

export function registerSim(program: Command, io: CliIo, done: CommandResult): void {
  program
    .command("sim")
    .description("run the AWS-compatible fleet simulator on 127.0.0.1 until Ctrl-C")
    .option(
      "--fleet <file>",
      "fleet spec (default: plans/sim/camera-fleet.yaml; 10,000 servers: plans/sim/camera-fleet-10k.yaml)",
    )
    .option("--port <port>", "port to listen on (0 = any free port)", parseInteger("--port", 0, 65535), 4566)
    .option(
      "--time-scale <n>",
      "simulated seconds per real second (at most 3600)",
      parseTimeScale,
      DEFAULT_TIME_SCALE,
    )
    .option("--seed <n>", "seed for the model and injected faults", parseInteger("--seed", 0, 2 ** 32 - 1))
    .option(
      "--bucket <name...>",
      "S3 buckets that exist from the start, e.g. for deploy --journal s3://<name>/<prefix> (CreateBucket makes more)",
    )
    .action(async (flags: SimFlags) => {
      const { startSimulator } = await import("../../sim/index.js");
      const sim = await startSimulator({
        ...(flags.fleet ? { fleet: flags.fleet } : {}),
        port: flags.port,
        timeScale: flags.timeScale,
        ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
        ...(flags.bucket ? { buckets: flags.bucket } : {}),
      });
      const instances = sim.state().instances.length;
      io.stdout.write(
        `rollwave simulator listening on ${sim.endpoint} (account ${sim.accountId}, region ${sim.region}, ` +
          `${instances} instances, time x${flags.timeScale})\n\n` +
          `# paste into another shell:\n${sim.envLines().join("\n")}\n\n` +
          (flags.bucket
            ? `# S3 buckets: ${flags.bucket.map((b) => `s3://${b}`).join(" ")} (path-style)\n`
            : "") +
          `# state: curl ${sim.endpoint}/_sim/state   metrics: curl ${sim.endpoint}/_sim/metrics\n` +
          "# deploy/resume in the simulator's time (not real time): add --sim-clock\n" +
          "# Ctrl-C to stop\n",
      );
      await new Promise<void>((resolve) => {
        const offs = [io.onSignal("SIGINT", stop), io.onSignal("SIGTERM", stop)];
        function stop() {
          for (const off of offs) off();
          resolve();
        }
      });
      await sim.close();
      io.stderr.write("simulator stopped\n");
      done(ExitCode.ok);
    });
}

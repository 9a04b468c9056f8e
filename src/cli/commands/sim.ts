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
    .option("--time-scale <n>", "simulated seconds per real second", parseTimeScale, DEFAULT_TIME_SCALE)
    .option("--seed <n>", "seed for the model and injected faults", parseInteger("--seed", 0, 2 ** 32 - 1))
    .action(async (flags: SimFlags) => {
      const { startSimulator } = await import("../../sim/index.js");
      const sim = await startSimulator({
        ...(flags.fleet ? { fleet: flags.fleet } : {}),
        port: flags.port,
        timeScale: flags.timeScale,
        ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
      });
      const instances = sim.state().instances.length;
      io.stdout.write(
        `rollwave simulator listening on ${sim.endpoint} (account ${sim.accountId}, region ${sim.region}, ` +
          `${instances} instances, time x${flags.timeScale})\n\n` +
          `# paste into another shell:\n${sim.envLines().join("\n")}\n\n` +
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

/**
 * The rollwave command line. `main` parses the flags, runs one command and returns its exit code;
 * only this folder prints, and nothing here calls process.exit (bin/rollwave.js sets exitCode), so
 * the whole CLI runs in-process in tests with injected streams.
 *
 *   main(["node", "rollwave", "validate", "plans/web-api.yaml"], io)  → 0
 */
import { Command, CommanderError } from "commander";
import { registerControl } from "./commands/control.js";
import { registerDeploy } from "./commands/deploy.js";
import { registerIamPolicy } from "./commands/iam-policy.js";
import { registerPlan } from "./commands/plan.js";
import { registerReport } from "./commands/report.js";
import { registerSchema } from "./commands/schema.js";
import { registerSim } from "./commands/sim.js";
import { registerStatus } from "./commands/status.js";
import { registerUnlock } from "./commands/unlock.js";
import { registerValidate } from "./commands/validate.js";
import { reportError } from "./errors.js";
import { EXIT_CODES_HELP, ExitCode, type ExitCodeValue } from "./exit-codes.js";
import { type CliIo, processIo } from "./io.js";
import { rollwaveVersion } from "./version.js";

function version(): string {
  return rollwaveVersion();
}

const EXAMPLES = `Examples:
  rollwave validate plans/camera-relay.yaml
  rollwave plan plans/camera-relay.yaml --var release=v2.0.0
  rollwave plan plans/camera-relay.yaml --inventory fleet.json --var release=v2.0.0 --output json
  rollwave deploy plans/camera-relay.yaml --var release=v2.0.0 --dry-run
  rollwave plan plans/camera-relay.yaml --var release=v2.0.0 --out plan.json
  rollwave deploy --plan plan.json --yes
  rollwave deploy plans/camera-relay.yaml --var release=v2.0.0 --simulate --yes --auto-approve
  rollwave resume plans/camera-relay.yaml --var release=v2.0.0
  rollwave unlock plans/camera-relay.yaml
  rollwave deploy plans/camera-relay.yaml --var release=v2.0.0 --yes --wait-approval 2h --output plain
  rollwave status plans/camera-relay.yaml --watch            # exit 0/1/3, 5 while running
  rollwave approve plans/camera-relay.yaml                   # from any terminal or CI job
  rollwave abort plans/camera-relay.yaml --rollback --yes
  rollwave list
  rollwave sim --port 4566
  rollwave iam-policy plans/camera-relay.yaml --for deploy
  rollwave report plans/camera-relay.yaml --out report.html`;

/** `argv` as `process.argv` gives it: the node binary and script first, then the user's arguments. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  return run(argv.slice(2), io);
}

/** Run with the user's arguments only: `run(["plan", "plans/x.yaml", "--output", "json"], io)`. */
async function run(args: string[], io: CliIo = processIo()): Promise<number> {
  let code: ExitCodeValue = ExitCode.ok;
  const done = (c: ExitCodeValue) => {
    code = c;
  };
  const program = new Command("rollwave")
    .description("Roll a release across a fleet of EC2 servers in connection-aware waves.")
    .version(version())
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError("(add --help for usage)")
    .showSuggestionAfterError(true)
    .addHelpText("after", `\n${EXAMPLES}\n\n${EXIT_CODES_HELP}\n`);

  registerValidate(program, io, done);
  registerSchema(program, io, done);
  registerPlan(program, io, done);
  registerDeploy(program, io, done);
  registerSim(program, io, done);
  registerIamPolicy(program, io, done);
  registerReport(program, io, done);
  registerUnlock(program, io, done);
  registerStatus(program, io, done);
  registerControl(program, io, done);

  try {
    await program.parseAsync(args, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version "exit" with 0; anything else is a usage error commander already printed.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.badInput;
    }
    return reportError(err, io.stderr, Boolean(io.env.ROLLWAVE_DEBUG));
  }
  return code;
}

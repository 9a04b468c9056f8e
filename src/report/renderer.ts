/**
 * Which renderer a run gets, decided in one place (as CDK's IoHost chooses its printer): the CLI
 * passes the flag (or nothing), the output stream and the environment; everything about what each
 * mode looks like stays in report/.
 */
import { appendFile } from "node:fs/promises";
import { createJsonRenderer } from "./json.js";
import type { OutputStream, Renderer } from "./output.js";
import type { OutputMode } from "./output-mode.js";
import { createPlainRenderer } from "./plain.js";
import { type RunReport, withRunReport } from "./report-file.js";
import { createTtyRenderer } from "./tty.js";

export type { OutputMode } from "./output-mode.js";

type Env = Record<string, string | undefined>;

/** Is this a CI run? `CI` set to anything but empty, `false` or `0` (GitHub, GitLab, Buildkite all set it). */
function isCi(env: Env): boolean {
  return env.CI !== undefined && env.CI !== "" && env.CI !== "false" && env.CI !== "0";
}

/**
 * tty for a person at a terminal; plain lines for CI (the `CI` variable) and redirected output.
 * Worked example: `{ isTTY: true }` with `CI=true` → "plain"; `{ isTTY: true }` and no CI → "tty".
 */
export function defaultOutputMode(stdout: OutputStream, env: Env): OutputMode {
  return stdout.isTTY && !isCi(env) ? "tty" : "plain";
}

interface RendererChoice {
  /** The `--output` flag, or `defaultOutputMode` when it is absent. */
  mode: OutputMode;
  stdout: OutputStream;
  env: Env;
  /** Plan name, for the summary line. */
  name: string;
  /** plain: also print every instance's phase transitions. */
  verbose?: boolean;
  /** The command that continues the rollout if it pauses (for the GitHub job summary). */
  resumeCommand?: string;
  /** Write the HTML report when the run ends (its path is printed, except for json). */
  report?: Omit<RunReport, "notify">;
}

/** Under GitHub Actions, the job summary is appended to the file `$GITHUB_STEP_SUMMARY` names. */
function jobSummaryWriter(env: Env): ((markdown: string) => Promise<void>) | undefined {
  const file = env.GITHUB_STEP_SUMMARY;
  if (env.GITHUB_ACTIONS !== "true" || !file) return undefined;
  return (markdown) => appendFile(file, markdown);
}

export function createRenderer(c: RendererChoice): Renderer {
  const renderer = chooseRenderer(c);
  if (!c.report) return renderer;
  return withRunReport(renderer, { ...c.report, ...(c.mode !== "json" ? { notify: c.stdout } : {}) });
}

function chooseRenderer(c: RendererChoice): Renderer {
  switch (c.mode) {
    case "json":
      return createJsonRenderer(c.stdout);
    case "plain": {
      const writeJobSummary = jobSummaryWriter(c.env);
      return createPlainRenderer(c.stdout, {
        env: c.env,
        name: c.name,
        ...(c.verbose ? { verbose: true } : {}),
        ...(writeJobSummary ? { writeJobSummary } : {}),
        ...(c.resumeCommand ? { resumeCommand: c.resumeCommand } : {}),
      });
    }
    case "tty":
      return createTtyRenderer(c.stdout, { env: c.env, name: c.name });
  }
}

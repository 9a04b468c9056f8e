/**
 * Headless Chromium (Debian's `chromium` package) for the report tests: a screenshot and the DOM
 * after its scripts ran. `.ci/run` installs it; in CI (CI=true) a missing browser fails the tests
 * instead of skipping them.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

function found(bin: string): boolean {
  try {
    execFileSync("which", [bin], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The browser binary, if installed. */
export const CHROMIUM: string | undefined = ["chromium", "chromium-browser"].find(found);

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

async function chromium(args: string[]): Promise<string> {
  if (!CHROMIUM) throw new Error("chromium is not installed (apt-get install -y chromium)");
  const profile = await mkdtemp(join(tmpdir(), "rollwave-chromium-"));
  try {
    const { stdout } = await run(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, ...args], {
      timeout: 90_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** The DOM as the browser left it after running the page's scripts. */
export function dumpDom(htmlFile: string): Promise<string> {
  return chromium(["--dump-dom", pathToFileURL(htmlFile).href]);
}

/** A PNG screenshot of the page at the given window size. */
export async function screenshot(htmlFile: string, png: string, size = "1100,1400"): Promise<void> {
  await chromium([`--window-size=${size}`, `--screenshot=${png}`, pathToFileURL(htmlFile).href]);
}

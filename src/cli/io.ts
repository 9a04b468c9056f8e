/**
 * Everything the CLI touches outside the process's own memory, injectable so tests run `main`
 * in-process with captured output, a fake terminal and no real signals.
 */
import type { OutputStream } from "../report/output.js";

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  /** Read for the interactive approval prompt; its `isTTY` decides whether `--yes` is required. */
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  cwd: string;
  /** Subscribe to SIGINT/SIGTERM; returns an unsubscribe function. */
  onSignal(signal: "SIGINT" | "SIGTERM", handler: () => void): () => void;
  /**
   * The second Ctrl-C: end the process now, as the signal would by default (exit status 130 for
   * SIGINT), after putting the terminal's cursor back. Absent in tests.
   */
  forceExit?(signal: "SIGINT" | "SIGTERM"): void;
}

export function processIo(): CliIo {
  // The AWS SDK warns on every run under Node 20 about its releases from 2027 on; this install
  // pins its SDK, so the warning only buries the output someone reads at 3 a.m.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    onSignal(signal, handler) {
      process.on(signal, handler);
      return () => process.off(signal, handler);
    },
    forceExit(signal) {
      if (process.stdout.isTTY) process.stdout.write("\u001b[?25h");
      // With our handlers gone, re-raising the signal takes Node's default action: terminate.
      for (const l of process.listeners(signal)) process.off(signal, l);
      process.kill(process.pid, signal);
    },
  };
}

/**
 * A progress note for a person at a terminal ("discovering the fleet…" while AWS answers), kept
 * out of redirected stderr so scripts see only warnings and errors there.
 */
export function note(io: CliIo, message: string): void {
  if (io.stderr.isTTY) io.stderr.write(`${message}\n`);
}

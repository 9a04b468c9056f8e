/**
 * Everything the CLI touches outside the process's own memory, injectable so tests run `main`
 * in-process with captured output, a fake terminal and no real signals.
 */
import type { OutputStream } from "../report/output.js";

/** The signals a rollout listens to. */
type StopSignal = "SIGINT" | "SIGTERM" | "SIGHUP";
/** What can stop a rollout: a signal, or stdout/stderr closed under it (EPIPE). */
export type StopCause = StopSignal | "EPIPE";

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  /** Read for the interactive approval prompt; its `isTTY` decides whether `--yes` is required. */
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  cwd: string;
  /** Subscribe to SIGINT/SIGTERM/SIGHUP; returns an unsubscribe function. */
  onSignal(signal: StopSignal, handler: () => void): () => void;
  /**
   * Subscribe to stdout or stderr being closed under the process (EPIPE: `| head -1`, a runner gone).
   * The process never crashes on it either way; returns an unsubscribe function.
   */
  onOutputClosed?(handler: () => void): () => void;
  /** End the process now with this exit code (a fast stop whose grace ran out). Absent in tests. */
  exitNow?(code: number): void;
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
  // A closed stdout/stderr (EPIPE, or EIO from a terminal that hung up) must never crash the process:
  // without a listener, the stream's 'error' would be an uncaught exception. Later writes are lost.
  const closed = new Set<() => void>();
  let outputClosed = false;
  const onStreamError = () => {
    if (outputClosed) return;
    outputClosed = true;
    for (const h of [...closed]) h();
  };
  process.stdout.on("error", onStreamError);
  process.stderr.on("error", onStreamError);
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
    onOutputClosed(handler) {
      closed.add(handler);
      if (outputClosed) queueMicrotask(handler);
      return () => closed.delete(handler);
    },
    exitNow(code) {
      if (process.stdout.isTTY && !outputClosed) process.stdout.write("\u001b[?25h");
      process.exit(code);
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

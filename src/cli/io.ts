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
}

export function processIo(): CliIo {
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
  };
}

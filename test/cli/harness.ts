/** Runs the CLI in-process with captured output, as CI or a terminal would see it. */
import { PassThrough } from "node:stream";
import type { CliIo } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { StringOutput } from "../report/string-output.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface FakeIo extends CliIo {
  stdout: StringOutput;
  stderr: StringOutput;
  stdinStream: PassThrough;
  /** Deliver a signal to the handlers the CLI registered. */
  signal(name: "SIGINT" | "SIGTERM" | "SIGHUP"): void;
  /** Close stdout under the CLI, as `| head -1` does (EPIPE). */
  closeOutput(): void;
  /** Signals the CLI asked to force-exit with (a real process would be gone). */
  forced: string[];
  /** Exit codes the CLI asked to end the process with at once (a real process would be gone). */
  exited: number[];
}

export function fakeIo(o: { tty?: boolean; env?: Record<string, string | undefined> } = {}): FakeIo {
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
  stdin.isTTY = o.tty ?? false;
  const handlers = new Map<string, Set<() => void>>();
  const forced: string[] = [];
  const exited: number[] = [];
  return {
    forced,
    exited,
    exitNow(code) {
      exited.push(code);
    },
    onOutputClosed(handler) {
      const set = handlers.get("EPIPE") ?? new Set();
      set.add(handler);
      handlers.set("EPIPE", set);
      return () => set.delete(handler);
    },
    closeOutput() {
      for (const h of [...(handlers.get("EPIPE") ?? [])]) h();
    },
    forceExit(signal) {
      forced.push(signal);
    },
    stdout: new StringOutput(o.tty ?? false),
    stderr: new StringOutput(o.tty ?? false),
    stdin,
    stdinStream: stdin,
    env: { ...(o.env ?? {}) },
    cwd: process.cwd(),
    onSignal(signal, handler) {
      const set = handlers.get(signal) ?? new Set();
      set.add(handler);
      handlers.set(signal, set);
      return () => set.delete(handler);
    },
    signal(name) {
      for (const h of [...(handlers.get(name) ?? [])]) h();
    },
  };
}

export async function cli(args: string[], io: FakeIo = fakeIo()): Promise<CliRun> {
  const code = await main(["node", "rollwave", ...args], io);
  return { code, stdout: io.stdout.text, stderr: io.stderr.text };
}

/**
 * Ctrl-C during a rollout. The first SIGINT or SIGTERM is a graceful stop: it aborts the engine's
 * signal (nothing new starts, instances in flight finish their steps, Auto Scaling processes are
 * resumed, the run ends paused). A second one forces the exit at once; the journal still allows
 * `rollwave resume`.
 */
import type { CliIo } from "./io.js";

interface Interrupts {
  /** Aborted on the first SIGINT/SIGTERM: hand it to the engine and to prompts. */
  signal: AbortSignal;
  /** True once a signal arrived (the CLI then exits 130). */
  readonly interrupted: boolean;
  /** Stop listening for signals. */
  dispose(): void;
}

export function handleInterrupts(io: CliIo): Interrupts {
  const controller = new AbortController();
  let interrupted = false;
  const offs: (() => void)[] = [];
  const dispose = () => {
    for (const off of offs.splice(0)) off();
  };
  const force = (signal: "SIGINT" | "SIGTERM") => () => {
    dispose();
    io.stderr.write(
      "\nforced: stopping now; instances in flight stay as they are (`rollwave resume` picks them up)\n",
    );
    io.forceExit?.(signal);
  };
  const stop = () => {
    interrupted = true;
    dispose();
    offs.push(io.onSignal("SIGINT", force("SIGINT")), io.onSignal("SIGTERM", force("SIGTERM")));
    io.stderr.write(
      "\ninterrupted: stopping safely — no new instances start, Auto Scaling processes are resumed (Ctrl-C again to force)\n",
    );
    controller.abort(new Error("interrupted"));
  };
  offs.push(io.onSignal("SIGINT", stop), io.onSignal("SIGTERM", stop));
  return {
    signal: controller.signal,
    get interrupted() {
      return interrupted;
    },
    dispose,
  };
}

/**
 * Questions on the terminal: the start confirmation and the canary approval gate. Asked on stderr
 * so stdout stays pure data, and cancelled by the rollout's AbortSignal (Ctrl-C during a prompt).
 */
import { createInterface } from "node:readline/promises";
import type { Writable } from "node:stream";
import type { CliIo } from "./io.js";

/**
 * Ask until the answer is one of `choices` (case-insensitive; a choice's first letter works too).
 * An empty answer is `fallback` when given. Returns undefined when stdin ends or `signal` aborts.
 */
export async function ask<T extends string>(
  io: CliIo,
  question: string,
  choices: readonly T[],
  o: { fallback?: T; signal?: AbortSignal } = {},
): Promise<T | undefined> {
  const rl = createInterface({ input: io.stdin, output: io.stderr as unknown as Writable, terminal: false });
  const closed = new Promise<undefined>((resolve) => rl.once("close", () => resolve(undefined)));
  try {
    for (;;) {
      if (o.signal?.aborted) return undefined;
      io.stderr.write(question);
      const line = await Promise.race([
        rl.question("", o.signal ? { signal: o.signal } : {}).catch(() => undefined),
        closed,
      ]);
      if (line === undefined) return undefined;
      const a = line.trim().toLowerCase();
      if (a === "" && o.fallback !== undefined) return o.fallback;
      const hit =
        choices.find((c) => c.toLowerCase() === a) ?? choices.find((c) => c[0]?.toLowerCase() === a);
      if (hit !== undefined) return hit;
      io.stderr.write(`please answer ${choices.join(" or ")}\n`);
    }
  } finally {
    rl.close();
  }
}

/**
 * What renderers write to. Renderers never touch process.stdout: the CLI injects the streams, and
 * tests inject string buffers.
 */
import { Chalk, type ChalkInstance } from "chalk";
import type { RolloutEvent } from "../engine/events.js";

/** The part of a writable stream renderers use (process.stdout fits, and so does a test buffer). */
export interface OutputStream {
  write(chunk: string): unknown;
  /** True for a terminal; renderers use it to decide on colour and live redraws. */
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

/** A consumer of engine events. `close` flushes and stops any live view. */
export interface Renderer {
  onEvent(event: RolloutEvent): void;
  close(): Promise<void>;
  /**
   * Hand the terminal to someone else (an approval prompt): a live view draws its current state
   * once and stops redrawing until `resume`. Line renderers need neither.
   */
  suspend?(): Promise<void>;
  resume?(): void;
  /**
   * A notice the person must keep seeing (the Ctrl-C "stopping safely" line): a live view draws it
   * in every frame until the run ends, then (as `final`, when given) in the final screen. Line
   * renderers have none: the CLI
   * writes the notice to stderr for them.
   */
  notice?(text: string, final?: string): void;
}

/**
 * Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org); FORCE_COLOR
 * turns it on for CI systems that render ANSI.
 * Worked example: `{ isTTY: true }` with `NO_COLOR=1` → false; `{ isTTY: false }` with `FORCE_COLOR=1` → true.
 */
export function colorEnabled(stream: OutputStream, env: Record<string, string | undefined>): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "false") return true;
  return stream.isTTY === true && env.TERM !== "dumb";
}

export function makeChalk(color: boolean): ChalkInstance {
  return new Chalk({ level: color ? 1 : 0 });
}

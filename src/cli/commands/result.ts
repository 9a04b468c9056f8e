import type { ExitCodeValue } from "../exit-codes.js";

/** How an action reports its exit code back to `main` (commander actions return nothing). */
export type CommandResult = (code: ExitCodeValue) => void;

/**
 * Errors the engine throws for a resume it refuses. They carry a `code` (and a hint) so the CLI can
 * map them to exit 2 ("bad input: nothing was changed") without depending on these classes.
 */

/** `resume` was asked to continue a rollout that must not be continued (it ended, or was aborted). */
export class ResumeRefusedError extends Error {
  readonly code = "E_RESUME_REFUSED";
  constructor(
    message: string,
    readonly hint = "start a new rollout with `rollwave deploy`",
  ) {
    super(message);
    this.name = "ResumeRefusedError";
  }
}

/** One difference between the journal's header and the rollout being resumed. */
export interface HeaderChange {
  field: string;
  journal: string;
  now: string;
}

/** `resume` with a different plan file or variables than the journaled rollout (without `--force`). */
export class JournalMismatchError extends Error {
  readonly code = "E_JOURNAL_MISMATCH";
  readonly hint =
    "resume with the same plan file and variables, or pass --force to continue with these (the change is journaled)";
  constructor(
    readonly rolloutId: string,
    readonly changes: HeaderChange[],
  ) {
    super(
      `the journal's rollout ${rolloutId} was started with a different plan: ${changes
        .map((c) => `${c.field} was ${c.journal}, now ${c.now}`)
        .join("; ")}`,
    );
    this.name = "JournalMismatchError";
  }
}

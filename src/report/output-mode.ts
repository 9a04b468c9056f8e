/**
 * The output modes a run can render in, apart from the renderers themselves so that the CLI can
 * list them for `--output` without loading the live view or the HTML report.
 */

/** tty: live view for a person; plain: lines for CI logs; json: NDJSON events for pipelines. */
export type OutputMode = "tty" | "plain" | "json";
export const OUTPUT_MODES: readonly OutputMode[] = ["tty", "plain", "json"];

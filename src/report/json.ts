/**
 * NDJSON: one event per line, as the engine typed it, for pipelines (`jq`, log shippers). The
 * format is documented as a JSON Schema, schema/events.schema.json; the first line
 * (`rollout.started`) carries its version as `schemaVersion`, which changes only when a field is
 * removed or changes meaning (new event types and new optional fields keep the version).
 * The contract CI relies on: the last line is the `rollout.finished` event, so
 * `tail -n1 | jq .status` answers "how did it end". Anything arriving after it is dropped.
 */
import type { RolloutEvent } from "../engine/events.js";
import type { OutputStream, Renderer } from "./output.js";

/** The version of schema/events.schema.json this renderer writes. */
export const EVENTS_SCHEMA_VERSION = 1;

export function createJsonRenderer(out: OutputStream): Renderer {
  let finished = false;
  return {
    onEvent(event: RolloutEvent) {
      if (finished) return;
      let line: object = event;
      if (event.type === "rollout.started") {
        const { type, ...rest } = event;
        line = { type, schemaVersion: EVENTS_SCHEMA_VERSION, ...rest };
      }
      out.write(`${JSON.stringify(line)}\n`);
      if (event.type === "rollout.finished") finished = true;
    },
    async close() {},
  };
}

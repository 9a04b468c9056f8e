/**
 * NDJSON: one event per line, exactly as the engine typed it, for pipelines (`jq`, log shippers).
 * The contract CI relies on: the last line is the `rollout.finished` event, so
 * `tail -n1 | jq .status` answers "how did it end". Anything arriving after it is dropped.
 */
import type { RolloutEvent } from "../engine/events.js";
import type { OutputStream, Renderer } from "./output.js";

export function createJsonRenderer(out: OutputStream): Renderer {
  let finished = false;
  return {
    onEvent(event: RolloutEvent) {
      if (finished) return;
      out.write(`${JSON.stringify(event)}\n`);
      if (event.type === "rollout.finished") finished = true;
    },
    async close() {},
  };
}

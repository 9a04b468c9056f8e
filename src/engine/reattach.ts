/**
 * Exactly-once commands. Before a SendCommand the journal holds the intent: the instance's `decision`
 * record with `need: "command"`, its step and the decision time. The command's Comment carries the
 * rollout's tag (`rollwave r:1a2b3c4d deploy <plan>`). When the answer may have been lost — a crash
 * between SendCommand and the `acted` record, or an ambiguous error such as a timeout after the SDK's
 * own retries (SendCommand has no idempotency token) — the instance is marked `reattach`: `act` does
 * not send for it until `findSentCommands` has looked for a command of this rollout and step sent to
 * it since the decision (one ListCommands per such instance). Found: decide attaches the instance to
 * that command and polls it. Not found: it is sent. A lookup that keeps failing leaves the instance
 * unsent until its step deadline fails it: a step is never sent twice on a guess.
 */
import type { AwsReader } from "../aws/types.js";
import { commandComment } from "./calls.js";
import type { Observation } from "./decide-context.js";
import type { EngineState, InstanceRun, StepName } from "./state.js";
import type { WarningCode } from "./warnings.js";

/** AWS and our clock may disagree a little: look this far before the decision. */
const CLOCK_SKEW_MS = 5 * 60_000;

export function needsLookup(i: InstanceRun): boolean {
  return i.need === "command" && i.reattach === true && i.step !== undefined;
}

export async function findSentCommands(
  reader: AwsReader,
  s: EngineState,
  tag: string,
  warn: (code: WarningCode, message: string) => void,
): Promise<NonNullable<Observation["sent"]>> {
  const out: NonNullable<Observation["sent"]> = {};
  const todo = Object.values(s.instances).filter(needsLookup);
  await Promise.all(
    todo.map(async (i) => {
      const prefix = commandComment(tag, i.step as StepName);
      try {
        const found = (
          await reader.listCommands({ instanceId: i.id, after: new Date(i.phaseSince - CLOCK_SKEW_MS) })
        )
          .filter((c) => c.comment.startsWith(prefix))
          .sort((a, b) => b.requestedAt - a.requestedAt)[0];
        out[i.id] = found ? { commandId: found.commandId, sentAt: found.requestedAt } : null;
      } catch (e) {
        warn("W_OBSERVE_FAILED", `ListCommands ${i.id} failed, retrying next tick: ${(e as Error).message}`);
      }
    }),
  );
  return out;
}

/**
 * Pure, in decide: an ambiguous SendCommand error marks the instance for a lookup; a lookup's answer
 * attaches it to the command found (registered in `commands` to be polled) or clears it for a send.
 */
export function reattachStep(i: InstanceRun, s: EngineState, obs: Observation, now: number): InstanceRun {
  if (i.need !== "command") return i;
  if (!i.reattach) {
    const ambiguous = i.actErrors > 0 && i.lastError?.startsWith("SendCommand:") === true;
    return ambiguous ? { ...i, reattach: true } : i;
  }
  const found = obs.sent?.[i.id];
  if (found === undefined) return i;
  if (found === null) return { ...i, reattach: false };
  const commands = s.global.commands;
  const c = commands[found.commandId];
  commands[found.commandId] = c
    ? { ...c, ids: c.ids.includes(i.id) ? c.ids : [...c.ids, i.id], nextPollAt: now }
    : { id: found.commandId, step: i.step as StepName, ids: [i.id], sentAt: found.sentAt, nextPollAt: now };
  return {
    ...i,
    need: null,
    reattach: false,
    commandId: found.commandId,
    actErrors: 0,
    lastError: undefined,
  };
}

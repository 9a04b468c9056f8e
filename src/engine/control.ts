/**
 * Control requests: `rollwave abort [--rollback]` and `rollwave approve` sent from another terminal
 * or CI job to a rollout running somewhere else. The CLI stores a request next to the lock (a
 * sibling SSM parameter, or a file in the journal directory); the running process reads it on its
 * next tick and hands it to `decide` as an input, like the interrupt or the approval answer. This
 * file holds the request's shape, its (hostile-input) parser, and how `decide` applies it: pure.
 *
 *   {"action":"abort","rolloutId":"9b1f…","requestedBy":"ana@laptop","at":"2026-…Z","id":"c0ffee…"}
 *
 *   approve   passes a waiting approval gate (ignored when no gate waits: never a pre-approval)
 *   abort     starts nothing new, in-flight instances come back, the rollout ends `aborted`
 *   rollback  runs the rollback policy: in-flight forward work finishes, updated instances roll back
 */
import type { RolloutEvent } from "./events.js";
import { type EngineState, isInFlight } from "./state.js";

const CONTROL_ACTIONS = ["approve", "abort", "rollback"] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

export interface ControlRequest {
  /** A unique id for this request (handled once, acknowledged by it). */
  id: string;
  action: ControlAction;
  /** The rollout it is for: a request naming another rollout is never applied. */
  rolloutId: string;
  /** Who asked: `ana@laptop (CI job github:1234/1)`. */
  requestedBy: string;
  /** When it was asked (ISO 8601). */
  at: string;
}

/** Where a running rollout finds requests (the CLI's SSM parameter or control file). */
export interface ControlChannel {
  /**
   * The pending request, if any. Called once per tick: the channel paces its own reads (it answers
   * from its last read between them), so the call budget stays at one read every few seconds.
   */
  read(): Promise<ControlRequest | undefined>;
  /** Remove a handled request: only that one (a newer request stays). */
  ack(request: ControlRequest): Promise<void>;
}

/** What a running rollout did with a request (the `control` event and journal record carry it). */
export type ControlOutcome = "applied" | "ignored";

const MAX_FIELD = 200;

/**
 * Parse a stored request; undefined for anything that is not one (the store is writable by anyone
 * with the permission, so every field is checked and bounded).
 */
export function parseControlRequest(text: string): ControlRequest | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const str = (k: string) =>
    typeof o[k] === "string" && (o[k] as string).length > 0 && (o[k] as string).length <= MAX_FIELD
      ? (o[k] as string)
      : undefined;
  const id = str("id");
  const rolloutId = str("rolloutId");
  const requestedBy = str("requestedBy");
  const at = str("at");
  const action = o.action;
  if (!id || !rolloutId || !requestedBy || !at || Number.isNaN(Date.parse(at))) return undefined;
  if (!CONTROL_ACTIONS.includes(action as ControlAction)) return undefined;
  return { id, action: action as ControlAction, rolloutId, requestedBy, at };
}

/** `abort --rollback` for a rollback request, as a person typed it. */
export function controlCommand(action: ControlAction): string {
  return action === "rollback" ? "rollwave abort --rollback" : `rollwave ${action}`;
}

/**
 * Apply a request to the state `decide` is building (mutates `s`, a fresh copy). Returns the event
 * that says what was done. Idempotent: a request applied twice (a crash before it was acknowledged)
 * is ignored the second time because the state already says so.
 */
export function applyControl(
  s: EngineState,
  req: ControlRequest,
  ctx: { now: number; rolloutId?: string; hasRollbackStep: boolean },
): Extract<RolloutEvent, { type: "control" }> {
  const g = s.global;
  const by = `${req.requestedBy} (${controlCommand(req.action)})`;
  const event = (outcome: ControlOutcome, message: string): Extract<RolloutEvent, { type: "control" }> => ({
    type: "control",
    at: ctx.now,
    requestId: req.id,
    action: req.action,
    requestedBy: req.requestedBy,
    outcome,
    message,
  });
  if (ctx.rolloutId !== undefined && req.rolloutId !== ctx.rolloutId)
    return event("ignored", `the request is for rollout ${req.rolloutId}, not this one (${ctx.rolloutId})`);
  const inFlight = Object.values(s.instances).filter(isInFlight).length;
  switch (req.action) {
    case "approve": {
      if (g.mode !== "running")
        return event(
          "ignored",
          `nothing to approve: the rollout is ${g.mode === "rollingBack" ? "rolling back" : "stopping"}`,
        );
      if (g.canary.approval === "approved") return event("ignored", "already approved");
      if (g.canary.approval !== "waiting")
        return event(
          "ignored",
          "no approval gate is waiting (an approval is never given in advance): approve again when `rollwave status` shows the gate waiting",
        );
      g.canary = { ...g.canary, approval: "approved" };
      return event("applied", `approval gate passed: approved by ${by}`);
    }
    case "abort": {
      if (g.mode === "stopping" && g.policy.action === "abort") return event("ignored", "already aborting");
      g.mode = "stopping";
      g.policy = { ...g.policy, action: "abort", reason: `aborted by ${by}` };
      return event(
        "applied",
        `aborting: starting nothing new; ${inFlight} instance(s) in flight come back, then the rollout ends aborted`,
      );
    }
    case "rollback": {
      if (!ctx.hasRollbackStep) return event("ignored", "the plan has no rollback step (steps.rollback)");
      if (g.mode === "rollingBack") return event("ignored", "already rolling back");
      g.mode = "rollingBack";
      g.policy = { ...g.policy, action: "rollback", reason: `rollback requested by ${by}` };
      return event(
        "applied",
        `rolling back: starting nothing new; ${inFlight} instance(s) in flight finish, then every updated instance rolls back`,
      );
    }
  }
}

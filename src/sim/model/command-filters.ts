/**
 * The `Filters` of SSM ListCommands and ListCommandInvocations, as the API reference documents them
 * (CommandFilter): keys `InvokedAfter`, `InvokedBefore`, `Status`, `DocumentName` and, for
 * ListCommands only, `ExecutionStage`. Several filters all apply (AND).
 *
 * - `InvokedAfter` / `InvokedBefore`: an ISO-8601 timestamp such as `2024-07-07T00:00:00Z`; commands
 *   requested at or after it / strictly before it.
 * - `Status`: a status (`Pending`, `InProgress`, `Success`, `Cancelled`, `Failed`, `TimedOut`,
 *   invocations also `Delayed`), or a detailed status without spaces (`DeliveryTimedOut`,
 *   `ExecutionTimedOut`, `Undeliverable`, `Terminated`, …). `TimedOut` covers both timeouts.
 * - `DocumentName`: the document's name, exactly.
 * - `ExecutionStage`: `Executing` (not yet in a final state) or `Complete`.
 *
 * A key outside these, or a value a key does not accept, is `InvalidFilterKey`, the one filter error
 * the API lists for both operations.
 */
import { SimApiError } from "./api.js";
import { isTerminal } from "./command-parts.js";

export interface CommandFilterInput {
  key: string;
  value: string;
}

/** What a filter looks at: a command or an invocation. */
interface Filterable {
  requestedAt: number;
  status: string;
  statusDetails: string;
  documentName: string;
}

const COMMAND_STATUSES = new Set([
  "Pending",
  "InProgress",
  "Success",
  "Cancelled",
  "Failed",
  "TimedOut",
  "Cancelling",
  "AccessDenied",
  "DeliveryTimedOut",
  "ExecutionTimedOut",
  "Incomplete",
  "NoInstancesInTag",
  "LimitExceeded",
]);
const INVOCATION_STATUSES = new Set([
  "Pending",
  "InProgress",
  "Delayed",
  "Success",
  "Cancelled",
  "Failed",
  "TimedOut",
  "Cancelling",
  "AccessDenied",
  "DeliveryTimedOut",
  "ExecutionTimedOut",
  "Undeliverable",
  "InvalidPlatform",
  "Terminated",
]);

export function commandFilter(
  filters: CommandFilterInput[] | undefined,
  op: "ListCommands" | "ListCommandInvocations",
): (x: Filterable) => boolean {
  const tests = (filters ?? []).map((f) => compile(f, op));
  return (x) => tests.every((t) => t(x));
}

function compile(
  f: CommandFilterInput,
  op: "ListCommands" | "ListCommandInvocations",
): (x: Filterable) => boolean {
  const bad = (why: string) => new SimApiError("InvalidFilterKey", `${f.key}=${f.value}: ${why}`);
  switch (f.key) {
    case "InvokedAfter":
    case "InvokedBefore": {
      const at = Date.parse(f.value);
      if (!/^\d{4}-\d{2}-\d{2}T/.test(f.value) || Number.isNaN(at)) {
        throw bad("the value must be an ISO-8601 timestamp such as 2024-07-07T00:00:00Z");
      }
      return f.key === "InvokedAfter" ? (x) => x.requestedAt >= at : (x) => x.requestedAt < at;
    }
    case "Status": {
      const allowed = op === "ListCommands" ? COMMAND_STATUSES : INVOCATION_STATUSES;
      if (!allowed.has(f.value)) throw bad(`not a status ${op} filters on (${[...allowed].join(", ")})`);
      const v = f.value;
      return (x) => x.status === v || x.statusDetails.replaceAll(" ", "") === v;
    }
    case "DocumentName":
      return (x) => x.documentName === f.value;
    case "ExecutionStage": {
      if (op !== "ListCommands") throw bad("ExecutionStage can only be used with ListCommands");
      if (f.value === "Executing") return (x) => !isTerminal(x.status);
      if (f.value === "Complete") return (x) => isTerminal(x.status);
      throw bad("the value must be Executing or Complete");
    }
    default:
      throw bad("the key must be InvokedAfter, InvokedBefore, Status, DocumentName or ExecutionStage");
  }
}

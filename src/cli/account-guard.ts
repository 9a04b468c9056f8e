/**
 * The plan's `guard.account` against the account the credentials belong to. `deploy` refuses a
 * mismatch (exit 2, before any mutating call; the engine checks again before its first one);
 * `plan` warns on stderr and exits 0, since it changes nothing, but refuses to save (`--out`) a
 * plan that `deploy --plan` could never apply.
 */
import type { Fleet } from "../fleet/types.js";
import type { Plan } from "../plan/types.js";

export const ACCOUNT_HINT =
  "use credentials for that account (--profile, AWS_PROFILE), or correct guard.account in the plan";

/** The mismatch in words, or undefined when the accounts agree (or either is unknown). */
export function accountMismatch(plan: Plan, fleet: Fleet): string | undefined {
  if (!plan.guard.account || !fleet.account || fleet.account === plan.guard.account) return undefined;
  return `account guard: the credentials are for account ${fleet.account}, the plan (guard.account) is for ${plan.guard.account}`;
}

/**
 * In-memory selection: the same semantics for an inventory file and for instances AWS returned.
 * A selector matches when every criterion it names matches (tags: all pairs equal; ids / groups:
 * membership). An empty selector matches nothing, so an empty `exclude` excludes nothing.
 */
import type { TagSelector } from "../plan/types.js";

interface Selectable {
  id: string;
  tags: Record<string, string>;
  autoScalingGroup?: string;
}

function isEmptySelector(s: TagSelector): boolean {
  return (
    Object.keys(s.tags ?? {}).length === 0 &&
    (s.autoScalingGroups ?? []).length === 0 &&
    (s.instanceIds ?? []).length === 0
  );
}

function matchesSelector(i: Selectable, s: TagSelector): boolean {
  if (isEmptySelector(s)) return false;
  for (const [k, v] of Object.entries(s.tags ?? {})) if (i.tags[k] !== v) return false;
  if (
    s.autoScalingGroups?.length &&
    !(i.autoScalingGroup && s.autoScalingGroups.includes(i.autoScalingGroup))
  )
    return false;
  if (s.instanceIds?.length && !s.instanceIds.includes(i.id)) return false;
  return true;
}

/** Apply a plan's select + exclude to a list of instances. */
export function selectInstances<T extends Selectable>(
  all: T[],
  select: TagSelector,
  exclude: TagSelector,
): T[] {
  return all.filter((i) => matchesSelector(i, select) && !matchesSelector(i, exclude));
}

/**
 * Auto Scaling processes around a rollout: suspend the plan's processes on every group the fleet
 * touches before the first drain, and resume exactly those rollwave suspended when it ends. A
 * process somebody else had already suspended stays suspended.
 */
import type { AwsReader, AwsWriter } from "../aws/types.js";
import type { Fleet } from "../fleet/types.js";
import type { EventSink } from "./events.js";
import type { Journal } from "./journal.js";

export function fleetGroups(fleet: Fleet, plannedIds: Set<string>): string[] {
  const set = new Set<string>();
  for (const i of fleet.instances)
    if (plannedIds.has(i.id) && i.autoScalingGroup) set.add(i.autoScalingGroup);
  return [...set].sort();
}

/**
 * Suspend what is not suspended yet. `stillOurs` holds processes a previous (crashed) run of this
 * rollout suspended and never resumed: they are ours to resume too. `ours` is filled group by group,
 * BEFORE each call (a suspension that fails half-way is resumed too: resuming a process that was not
 * suspended before the rollout is harmless), so a failure on the 2nd group still leaves the 1st in
 * `ours` for the caller to resume. Throws on the first failure.
 */
export async function suspendProcesses(p: {
  reader: AwsReader;
  writer: AwsWriter;
  groups: string[];
  processes: string[];
  stillOurs: Record<string, string[]>;
  ours: Record<string, string[]>;
  journal: Journal;
  emit: EventSink;
  now: () => number;
}): Promise<void> {
  if (p.groups.length === 0 || p.processes.length === 0) return;
  const current = await p.reader.describeAutoScalingGroups(p.groups);
  for (const g of current) {
    const already = new Set(g.suspendedProcesses);
    const mine = new Set(p.stillOurs[g.name] ?? []);
    const todo = p.processes.filter((x) => !already.has(x));
    const all = [...new Set([...todo, ...[...mine].filter((x) => already.has(x))])];
    if (all.length === 0) continue;
    if (todo.length === 0) {
      p.ours[g.name] = all;
      continue;
    }
    await p.journal.append({ type: "asg", at: p.now(), op: "suspend", group: g.name, processes: all });
    p.ours[g.name] = all;
    await p.writer.suspendProcesses(g.name, todo);
    p.emit({ type: "asg.suspended", at: p.now(), group: g.name, processes: todo });
  }
}

/** Resume what we suspended. Never throws: a failure becomes a warning naming what to resume by hand. */
export async function resumeProcesses(p: {
  writer: AwsWriter;
  ours: Record<string, string[]>;
  journal: Journal;
  emit: EventSink;
  now: () => number;
}): Promise<string[]> {
  const problems: string[] = [];
  for (const [group, processes] of Object.entries(p.ours)) {
    try {
      await p.writer.resumeProcesses(group, processes);
      delete p.ours[group];
      try {
        await p.journal.append({ type: "asg", at: p.now(), op: "resume", group, processes });
      } catch {
        // Resumed in AWS; a `resume` that still believes them ours resumes them again, harmlessly.
      }
      p.emit({ type: "asg.resumed", at: p.now(), group, processes });
    } catch (e) {
      const msg = `could not resume ${processes.join(", ")} on ${group}: ${(e as Error).message}; resume them by hand`;
      problems.push(msg);
      p.emit({ type: "warning", at: p.now(), code: "W_ASG_RESUME_FAILED", message: msg });
    }
  }
  return problems;
}

/**
 * The processes Auto Scaling's SuspendProcesses / ResumeProcesses accept (aws-facts.md). One list
 * for the plan schema and the simulator, so a process the plan allows is one the simulator knows.
 */
export const SCALING_PROCESSES = [
  "Launch",
  "Terminate",
  "AddToLoadBalancer",
  "AlarmNotification",
  "AZRebalance",
  "HealthCheck",
  "InstanceRefresh",
  "ReplaceUnhealthy",
  "ScheduledActions",
] as const;

type ScalingProcess = (typeof SCALING_PROCESSES)[number];

export function isScalingProcess(name: string): name is ScalingProcess {
  return (SCALING_PROCESSES as readonly string[]).includes(name);
}

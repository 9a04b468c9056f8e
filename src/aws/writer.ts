/**
 * `AwsWriter` over the SDK clients: the only code in rollwave that changes anything in AWS.
 * Only `createAws` builds one; a read-only connection never holds a reference to it.
 */
import { ResumeProcessesCommand, SuspendProcessesCommand } from "@aws-sdk/client-auto-scaling";
import { DeregisterTargetsCommand, RegisterTargetsCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  CancelCommandCommand,
  DeleteParameterCommand,
  PutParameterCommand,
  SendCommandCommand,
} from "@aws-sdk/client-ssm";
import { chunk } from "./chunk.js";
import type { AwsClients } from "./clients.js";
import { call, hasCode } from "./errors.js";
import { clamp, LIMITS } from "./limits.js";
import type { AwsWriter, SendCommandRequest, TargetRef } from "./types.js";

export function createWriter(c: AwsClients): AwsWriter {
  const writer: AwsWriter = {
    deregisterTargets: (arn, targets) =>
      call("ELBv2.DeregisterTargets", async () => {
        for (const batch of chunk(targets, LIMITS.targetsPerCall)) {
          await c.elb.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: toTargets(batch) }));
        }
      }),

    registerTargets: (arn, targets) =>
      call("ELBv2.RegisterTargets", async () => {
        for (const batch of chunk(targets, LIMITS.targetsPerCall)) {
          await c.elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: toTargets(batch) }));
        }
      }),

    sendCommand: (req) => {
      // Grouping instances into commands is the engine's decision (it knows which are ready
      // together); silently splitting here would hand back one command id for several commands.
      if (req.instanceIds.length === 0 || req.instanceIds.length > LIMITS.sendCommandInstanceIds) {
        return Promise.reject(
          new RangeError(
            `sendCommand takes 1 to ${LIMITS.sendCommandInstanceIds} instance ids, got ${req.instanceIds.length}`,
          ),
        );
      }
      return call("SSM.SendCommand", async () => {
        const out = await c.ssm.send(new SendCommandCommand(sendCommandInput(req)));
        const commandId = out.Command?.CommandId;
        if (!commandId) throw new Error("SendCommand returned no CommandId");
        return { commandId };
      });
    },

    cancelCommand: (commandId, instanceIds) =>
      call("SSM.CancelCommand", async () => {
        await c.ssm.send(
          new CancelCommandCommand({
            CommandId: commandId,
            ...(instanceIds?.length ? { InstanceIds: instanceIds } : {}),
          }),
        );
      }),

    suspendProcesses: (group, processes) =>
      call("AutoScaling.SuspendProcesses", async () => {
        // An empty ScalingProcesses list means *all* processes to Auto Scaling: never send one.
        if (processes.length === 0) return;
        await c.asg.send(
          new SuspendProcessesCommand({ AutoScalingGroupName: group, ScalingProcesses: processes }),
        );
      }),

    resumeProcesses: (group, processes) =>
      call("AutoScaling.ResumeProcesses", async () => {
        // Same rule: an empty list would resume processes someone else suspended.
        if (processes.length === 0) return;
        await c.asg.send(
          new ResumeProcessesCommand({ AutoScalingGroupName: group, ScalingProcesses: processes }),
        );
      }),

    putParameter: ({ name, value, overwrite }) =>
      call("SSM.PutParameter", async () => {
        try {
          const out = await c.ssm.send(
            new PutParameterCommand({ Name: name, Value: value, Type: "String", Overwrite: overwrite }),
          );
          return { version: out.Version ?? 0 };
        } catch (error) {
          if (!overwrite && hasCode(error, "ParameterAlreadyExists")) return null;
          throw error;
        }
      }),

    deleteParameter: (name) =>
      call("SSM.DeleteParameter", async () => {
        try {
          await c.ssm.send(new DeleteParameterCommand({ Name: name }));
          return true;
        } catch (error) {
          if (hasCode(error, "ParameterNotFound")) return false;
          throw error;
        }
      }),
  };
  return writer;
}

function toTargets(targets: TargetRef[]) {
  return targets.map((t) => ({ Id: t.id, ...(t.port !== undefined ? { Port: t.port } : {}) }));
}

/**
 * Worked example: `{ timeoutSeconds: 10, executionTimeoutSeconds: 600.4 }` →
 * `TimeoutSeconds: 30` (SSM's minimum) and `executionTimeout: ["601"]`.
 */
function sendCommandInput(req: SendCommandRequest) {
  const timeout = clamp(Math.ceil(req.timeoutSeconds), LIMITS.ssmDeliveryTimeoutSeconds);
  const executionTimeout = clamp(Math.ceil(req.executionTimeoutSeconds), LIMITS.ssmExecutionTimeoutSeconds);
  return {
    DocumentName: "AWS-RunShellScript",
    InstanceIds: req.instanceIds,
    Parameters: { commands: req.commands, executionTimeout: [String(executionTimeout)] },
    TimeoutSeconds: timeout,
    // Every instance runs regardless of the others: SSM's default MaxErrors "0" would stop
    // dispatching after one failure, but judging failures is the rollout's failure policy's job.
    MaxConcurrency: "100%",
    MaxErrors: "100%",
    ...(req.comment ? { Comment: req.comment.slice(0, LIMITS.commentLength) } : {}),
  };
}

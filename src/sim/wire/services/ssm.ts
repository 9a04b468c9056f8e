import {
  SimApiError,
  type SimCommand,
  type SimInstanceInformation,
  type SimInvocation,
  type SimParameter,
} from "../../model/api.js";
import { optBool, optNum, optObj, optObjList, optStr, optStrList, reqStr } from "../json-input.js";
import { epochSeconds, type JsonObject } from "../protocol.js";
import type { JsonInput, JsonService } from "./types.js";

/** Output limits of the real service (aws-facts.md, SSM Run Command). */
const SSM_LIMITS = {
  sendCommandInstanceIds: 50,
  sendCommandTargets: 5,
  listOutputChars: 2_500,
  getStdoutChars: 24_000,
  getStderrChars: 8_000,
} as const;

/** SSM: AWS JSON 1.1, `x-amz-target: AmazonSSM.<Op>`, timestamps as epoch seconds. */
export const ssmService: JsonService = {
  name: "SSM",
  protocol: "json1.1",
  targetPrefix: "AmazonSSM",
  signingName: "ssm",
  actions: {
    SendCommand(o, world) {
      const instanceIds = optStrList(o, "InstanceIds");
      const targets = optObjList(o, "Targets")?.map((t) => ({
        key: reqStr(t, "Key"),
        values: optStrList(t, "Values") ?? [],
      }));
      if (instanceIds && instanceIds.length > SSM_LIMITS.sendCommandInstanceIds) {
        throw validation(
          `Value at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to ${SSM_LIMITS.sendCommandInstanceIds}`,
        );
      }
      if (targets && targets.length > SSM_LIMITS.sendCommandTargets) {
        throw validation(
          "Value at 'targets' failed to satisfy constraint: Member must have length less than or equal to 5",
        );
      }
      if (!instanceIds?.length && !targets?.length) {
        throw validation("Either InstanceIds or Targets must be specified");
      }
      const timeoutSeconds = optNum(o, "TimeoutSeconds");
      if (timeoutSeconds !== undefined && (timeoutSeconds < 30 || timeoutSeconds > 2_592_000)) {
        throw validation(
          "Value at 'timeoutSeconds' failed to satisfy constraint: Member must be between 30 and 2592000",
        );
      }
      const cmd = world.sendCommand({
        documentName: reqStr(o, "DocumentName"),
        instanceIds,
        targets,
        parameters: parameters(o),
        timeoutSeconds,
        maxConcurrency: optStr(o, "MaxConcurrency"),
        maxErrors: optStr(o, "MaxErrors"),
        comment: optStr(o, "Comment"),
      });
      const out = command(cmd, world.region);
      if (targets) out.Targets = targets.map((t) => ({ Key: t.key, Values: t.values }));
      return { Command: out };
    },

    ListCommands(o, world) {
      const page = world.listCommands({
        commandId: optStr(o, "CommandId"),
        instanceId: optStr(o, "InstanceId"),
        filters: commandFilters(o),
        maxResults: maxResults(o, 1, 50),
        nextToken: optStr(o, "NextToken"),
      });
      return { Commands: page.items.map((c) => command(c, world.region)), NextToken: page.nextToken };
    },

    ListCommandInvocations(o, world) {
      const details = optBool(o, "Details") ?? false;
      const page = world.listCommandInvocations({
        commandId: optStr(o, "CommandId"),
        instanceId: optStr(o, "InstanceId"),
        filters: commandFilters(o),
        details,
        maxResults: maxResults(o, 1, 50),
        nextToken: optStr(o, "NextToken"),
      });
      return {
        CommandInvocations: page.items.map((inv) => invocation(inv, details)),
        NextToken: page.nextToken,
      };
    },

    GetCommandInvocation(o, world) {
      const inv = world.getCommandInvocation(reqStr(o, "CommandId"), reqStr(o, "InstanceId"));
      const plugin = PLUGIN_NAME;
      const asked = optStr(o, "PluginName");
      if (asked !== undefined && asked !== plugin) {
        throw new SimApiError("InvalidPluginName", `The plugin name ${asked} is not valid for this command`);
      }
      const started = inv.executionStartedAt;
      const ended = inv.executionEndedAt;
      return {
        CommandId: inv.commandId,
        InstanceId: inv.instanceId,
        Comment: inv.comment,
        DocumentName: inv.documentName,
        DocumentVersion: "$DEFAULT",
        PluginName: plugin,
        ResponseCode: inv.responseCode,
        // GetCommandInvocation is the one SSM API that sends times as strings, not epoch numbers.
        ExecutionStartDateTime: started === undefined ? "" : new Date(started).toISOString(),
        ExecutionElapsedTime:
          started === undefined ? "" : `PT${(((ended ?? started) - started) / 1000).toFixed(3)}S`,
        ExecutionEndDateTime: ended === undefined ? "" : new Date(ended).toISOString(),
        Status: inv.status,
        StatusDetails: inv.statusDetails,
        StandardOutputContent: inv.stdout.slice(0, SSM_LIMITS.getStdoutChars),
        StandardOutputUrl: "",
        StandardErrorContent: inv.stderr.slice(0, SSM_LIMITS.getStderrChars),
        StandardErrorUrl: "",
        CloudWatchOutputConfig: { CloudWatchLogGroupName: "", CloudWatchOutputEnabled: false },
      };
    },

    CancelCommand(o, world) {
      world.cancelCommand(reqStr(o, "CommandId"), optStrList(o, "InstanceIds"));
      return {};
    },

    DescribeInstanceInformation(o, world) {
      let instanceIds: string[] | undefined;
      let pingStatus: string[] | undefined;
      const tagFilters: { key: string; values: string[] }[] = [];
      // Two filter spellings exist: the legacy InstanceInformationFilterList (key/valueSet) and Filters.
      for (const f of optObjList(o, "InstanceInformationFilterList") ?? []) {
        const key = reqStr(f, "key");
        const values = optStrList(f, "valueSet") ?? [];
        if (key === "InstanceIds") instanceIds = values;
        else if (key === "PingStatus") pingStatus = values;
        else throw new SimApiError("InvalidInstanceInformationFilterValue", `Unsupported filter key ${key}`);
      }
      for (const f of optObjList(o, "Filters") ?? []) {
        const key = reqStr(f, "Key");
        const values = optStrList(f, "Values") ?? [];
        if (key === "InstanceIds") instanceIds = values;
        else if (key === "PingStatus") pingStatus = values;
        else if (key.startsWith("tag:")) tagFilters.push({ key: key.slice(4), values });
        else
          throw new SimApiError(
            "InvalidFilterKey",
            `The filter key ${key} is not supported by the simulator`,
          );
      }
      const page = world.describeInstanceInformation({
        instanceIds,
        pingStatus,
        tagFilters: tagFilters.length ? tagFilters : undefined,
        maxResults: maxResults(o, 5, 50),
        nextToken: optStr(o, "NextToken"),
      });
      return { InstanceInformationList: page.items.map(instanceInformation), NextToken: page.nextToken };
    },

    PutParameter(o, world) {
      const type = optStr(o, "Type");
      if (type !== undefined && !["String", "StringList", "SecureString"].includes(type)) {
        throw validation(`Value '${type}' at 'type' failed to satisfy constraint`);
      }
      const tier = optStr(o, "Tier");
      if (tier !== undefined && !["Standard", "Advanced", "Intelligent-Tiering"].includes(tier)) {
        throw validation(`Value '${tier}' at 'tier' failed to satisfy constraint`);
      }
      const out = world.putParameter({
        name: reqStr(o, "Name"),
        value: reqStr(o, "Value"),
        type,
        overwrite: optBool(o, "Overwrite") ?? false,
        // Intelligent-Tiering picks Standard unless the value needs Advanced.
        tier:
          tier === "Intelligent-Tiering"
            ? reqStr(o, "Value").length > 4096
              ? "Advanced"
              : "Standard"
            : tier,
      });
      return { Version: out.version, Tier: out.tier ?? "Standard" };
    },

    GetParameter(o, world) {
      return { Parameter: parameter(world.getParameter(reqStr(o, "Name")), world.region, world.accountId) };
    },

    GetParameterHistory(o, world) {
      const page = world.getParameterHistory({
        name: reqStr(o, "Name"),
        maxResults: maxResults(o, 1, 50),
        nextToken: optStr(o, "NextToken"),
      });
      return {
        Parameters: page.items.map((p) => ({
          Name: p.name,
          Type: p.type,
          Value: p.value,
          Version: p.version,
          LastModifiedDate: epochSeconds(p.lastModifiedAt),
          LastModifiedUser: `arn:aws:iam::${world.accountId}:user/rollwave-sim`,
          Labels: [],
          Tier: p.tier ?? "Standard",
          Policies: [],
          DataType: "text",
        })),
        NextToken: page.nextToken,
      };
    },

    DeleteParameter(o, world) {
      world.deleteParameter(reqStr(o, "Name"));
      return {};
    },
  },
};

function validation(message: string): SimApiError {
  return new SimApiError("ValidationException", `1 validation error detected: ${message}`);
}

function maxResults(o: JsonInput, min: number, max: number): number | undefined {
  const n = optNum(o, "MaxResults");
  if (n !== undefined && (!Number.isInteger(n) || n < min || n > max)) {
    throw validation(
      `Value '${n}' at 'maxResults' failed to satisfy constraint: Member must be between ${min} and ${max}`,
    );
  }
  return n;
}

const COMMAND_FILTER_KEYS = ["InvokedAfter", "InvokedBefore", "Status", "ExecutionStage", "DocumentName"];

/**
 * `Filters` of ListCommands / ListCommandInvocations: 1–5 `{key, value}` (lower-case members, as in
 * the API's CommandFilter). A key outside the enum fails validation, as AWS's does; what a key
 * accepts as a value is the model's business (model/command-filters.ts).
 */
function commandFilters(o: JsonInput): { key: string; value: string }[] | undefined {
  const list = optObjList(o, "Filters");
  if (list === undefined) return undefined;
  if (list.length < 1 || list.length > 5) {
    throw validation(
      `Value at 'filters' failed to satisfy constraint: Member must have length less than or equal to 5 and greater than or equal to 1`,
    );
  }
  return list.map((f, i) => {
    const key = reqStr(f, "key");
    const value = reqStr(f, "value");
    if (!COMMAND_FILTER_KEYS.includes(key)) {
      throw validation(
        `Value '${key}' at 'filters.${i + 1}.member.key' failed to satisfy constraint: Member must satisfy enum value set: [${COMMAND_FILTER_KEYS.join(", ")}]`,
      );
    }
    if (value.length < 1) {
      throw validation(
        `Value at 'filters.${i + 1}.member.value' failed to satisfy constraint: Member must have length greater than or equal to 1`,
      );
    }
    return { key, value };
  });
}

function parameters(o: JsonInput): Record<string, string[]> | undefined {
  const raw = optObj(o, "Parameters");
  if (!raw) return undefined;
  const out: Record<string, string[]> = {};
  for (const key of Object.keys(raw)) {
    const v = optStrList(raw, key);
    if (v) out[key] = v;
  }
  return out;
}

/** The only document the simulator runs is AWS-RunShellScript (others are refused at SendCommand). */
const PLUGIN_NAME = "aws:runShellScript";

function command(c: SimCommand, region: string): JsonObject {
  return {
    CommandId: c.commandId,
    DocumentName: c.documentName,
    DocumentVersion: "$DEFAULT",
    Comment: c.comment,
    ExpiresAfter: epochSeconds(c.expiresAfter),
    Parameters: c.parameters,
    InstanceIds: c.instanceIds,
    Targets: [],
    RequestedDateTime: epochSeconds(c.requestedAt),
    Status: c.status,
    StatusDetails: c.statusDetails,
    OutputS3Region: region,
    OutputS3BucketName: "",
    OutputS3KeyPrefix: "",
    MaxConcurrency: c.maxConcurrency,
    MaxErrors: c.maxErrors,
    TargetCount: c.targetCount,
    CompletedCount: c.completedCount,
    ErrorCount: c.errorCount,
    DeliveryTimedOutCount: c.deliveryTimedOutCount,
    ServiceRole: "",
    NotificationConfig: { NotificationArn: "", NotificationEvents: [], NotificationType: "" },
    CloudWatchOutputConfig: { CloudWatchLogGroupName: "", CloudWatchOutputEnabled: false },
    TimeoutSeconds: c.timeoutSeconds,
  };
}

function invocation(inv: SimInvocation, details: boolean): JsonObject {
  const out: JsonObject = {
    CommandId: inv.commandId,
    InstanceId: inv.instanceId,
    InstanceName: "",
    Comment: inv.comment,
    DocumentName: inv.documentName,
    DocumentVersion: "$DEFAULT",
    RequestedDateTime: epochSeconds(inv.requestedAt),
    Status: inv.status,
    StatusDetails: inv.statusDetails,
    TraceOutput: "",
    StandardOutputUrl: "",
    StandardErrorUrl: "",
    CommandPlugins: [],
    ServiceRole: "",
    NotificationConfig: { NotificationArn: "", NotificationEvents: [], NotificationType: "" },
    CloudWatchOutputConfig: { CloudWatchLogGroupName: "", CloudWatchOutputEnabled: false },
  };
  if (details) {
    out.CommandPlugins = [
      {
        Name: PLUGIN_NAME,
        // A plugin has no Delayed state: it is still Pending while the invocation waits.
        Status: inv.status === "Delayed" ? "Pending" : inv.status,
        StatusDetails: inv.statusDetails,
        ResponseCode: inv.responseCode,
        ResponseStartDateTime:
          inv.executionStartedAt === undefined ? undefined : epochSeconds(inv.executionStartedAt),
        ResponseFinishDateTime:
          inv.executionEndedAt === undefined ? undefined : epochSeconds(inv.executionEndedAt),
        Output: pluginOutput(inv.stdout, inv.stderr),
        StandardOutputUrl: "",
        StandardErrorUrl: "",
        OutputS3Region: "",
        OutputS3BucketName: "",
        OutputS3KeyPrefix: "",
      },
    ];
  }
  return out;
}

/**
 * The agent reports a shell plugin's `Output` as stdout followed, when there is any stderr, by an
 * `----------ERROR-------` title and stderr, the whole cut at 2,500 characters. Clients (rollwave's
 * reader among them) split on the title to quote stderr in failure reasons. Stdout gives way first
 * so the error text survives the cut: 30,000 characters of progress output plus "checksum mismatch"
 * still shows "checksum mismatch".
 */
export function pluginOutput(stdout: string, stderr: string): string {
  const max = SSM_LIMITS.listOutputChars;
  if (!stderr) return stdout.slice(0, max);
  const title = "\n----------ERROR-------\n";
  const err = stderr.slice(0, Math.max(0, max - title.length));
  return stdout.slice(0, Math.max(0, max - title.length - err.length)) + title + err;
}

function instanceInformation(i: SimInstanceInformation): JsonObject {
  return {
    InstanceId: i.instanceId,
    PingStatus: i.pingStatus,
    LastPingDateTime: epochSeconds(i.lastPingAt),
    AgentVersion: i.agentVersion,
    IsLatestVersion: true,
    PlatformType: i.platformType,
    PlatformName: "Amazon Linux",
    PlatformVersion: "2023",
    ResourceType: "EC2Instance",
    IPAddress: i.ipAddress,
    ComputerName: `ip-${i.ipAddress.replaceAll(".", "-")}.ec2.internal`,
  };
}

function parameter(p: SimParameter, region: string, account: string): JsonObject {
  const path = p.name.startsWith("/") ? p.name : `/${p.name}`;
  return {
    Name: p.name,
    Type: p.type,
    Value: p.value,
    Version: p.version,
    ...(p.selector ? { Selector: p.selector } : {}),
    LastModifiedDate: epochSeconds(p.lastModifiedAt),
    ARN: `arn:aws:ssm:${region}:${account}:parameter${path}`,
    DataType: "text",
  };
}

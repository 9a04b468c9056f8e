import type { QueryParams } from "../query-params.js";
import type { XmlObject } from "../xml.js";
import { cloudWatchService } from "./cloudwatch.js";
import type { JsonInput, QueryService } from "./types.js";

/**
 * CloudWatch's older query/XML form (Version=2010-08-01), which older SDKs and the AWS CLI v1 send.
 * The request is translated into the JSON member shape and answered by the same handlers as the
 * JSON 1.0 form, so both forms always agree.
 */
export const cloudWatchQueryService: QueryService = {
  name: "CloudWatch",
  protocol: "query",
  version: "2010-08-01",
  signingName: "monitoring",
  xmlNamespace: "http://monitoring.amazonaws.com/doc/2010-08-01/",
  actions: {
    DescribeAlarms: (p, world) =>
      call("DescribeAlarms", world, {
        AlarmNames: p.list("AlarmNames"),
        StateValue: p.str("StateValue"),
        MaxRecords: p.int("MaxRecords"),
        NextToken: p.str("NextToken"),
      }),
    GetMetricData: (p, world) =>
      call("GetMetricData", world, {
        MetricDataQueries: p.structs("MetricDataQueries").map(metricDataQuery),
        StartTime: seconds(p.str("StartTime")),
        EndTime: seconds(p.str("EndTime")),
        ScanBy: p.str("ScanBy"),
      }),
  },
};

function call(
  action: string,
  world: Parameters<QueryService["actions"][string]>[1],
  input: JsonInput,
): XmlObject {
  const handler = cloudWatchService.actions[action];
  if (!handler) throw new Error(`no CloudWatch handler for ${action}`);
  return (handler(input, world) ?? {}) as XmlObject;
}

function metricDataQuery(q: QueryParams): JsonInput {
  const hasStat =
    q.str("MetricStat.Stat") !== undefined || q.str("MetricStat.Metric.MetricName") !== undefined;
  return {
    Id: q.str("Id"),
    Label: q.str("Label"),
    ReturnData: q.bool("ReturnData"),
    Expression: q.str("Expression"),
    MetricStat: hasStat
      ? {
          Metric: {
            Namespace: q.str("MetricStat.Metric.Namespace"),
            MetricName: q.str("MetricStat.Metric.MetricName"),
            Dimensions: q
              .structs("MetricStat.Metric.Dimensions")
              .map((d) => ({ Name: d.str("Name"), Value: d.str("Value") })),
          },
          Period: q.int("MetricStat.Period"),
          Stat: q.str("MetricStat.Stat"),
        }
      : undefined,
  };
}

/** Query timestamps are ISO 8601; the JSON handlers take epoch seconds. */
function seconds(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const ms = /^\d+(\.\d+)?$/.test(iso) ? Number(iso) * 1000 : Date.parse(iso);
  return ms / 1000; // NaN for a bad date: the handler rejects it as not a number
}

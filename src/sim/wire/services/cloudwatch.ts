import { SimApiError, type SimMetricQuery } from "../../model/api.js";
import { optBool, optNum, optObj, optObjList, optStr, optStrList, reqStr } from "../json-input.js";
import type { JsonService } from "./types.js";

/**
 * CloudWatch as the installed SDK client speaks it: AWS JSON 1.0 with
 * `x-amz-target: GraniteServiceVersion20100801.<Op>` and `x-amzn-query-mode: true`; errors also carry
 * `x-amzn-query-error: <Code>;Sender` so query-era error codes survive.
 */
export const cloudWatchService: JsonService = {
  name: "CloudWatch",
  protocol: "json1.0",
  targetPrefix: "GraniteServiceVersion20100801",
  signingName: "monitoring",
  actions: {
    DescribeAlarms(o, world) {
      const maxRecords = optNum(o, "MaxRecords");
      if (maxRecords !== undefined && (maxRecords < 1 || maxRecords > 100)) {
        throw new SimApiError("InvalidParameterValue", "MaxRecords must be between 1 and 100");
      }
      const alarmNames = optStrList(o, "AlarmNames");
      if (alarmNames && alarmNames.length > 100) {
        throw new SimApiError("InvalidParameterValue", "At most 100 alarm names may be given");
      }
      const page = world.describeAlarms({
        alarmNames,
        stateValue: optStr(o, "StateValue"),
        maxRecords,
        nextToken: optStr(o, "NextToken"),
      });
      return {
        MetricAlarms: page.items.map((a) => ({
          AlarmName: a.name,
          AlarmArn: a.arn,
          ActionsEnabled: false,
          OKActions: [],
          AlarmActions: [],
          InsufficientDataActions: [],
          StateValue: a.state,
          StateReason: a.reason,
          StateUpdatedTimestamp: new Date(a.updatedAt),
          Namespace: a.namespace,
          MetricName: a.metricName,
          Threshold: a.threshold,
          ComparisonOperator: a.comparison,
          Dimensions: [],
          EvaluationPeriods: 1,
        })),
        CompositeAlarms: [],
        NextToken: page.nextToken,
      };
    },

    GetMetricData(o, world) {
      const raw = optObjList(o, "MetricDataQueries") ?? [];
      if (raw.length === 0 || raw.length > 500) {
        throw new SimApiError(
          "InvalidParameterValue",
          "MetricDataQueries must hold between 1 and 500 queries",
        );
      }
      const queries: SimMetricQuery[] = [];
      const hidden = new Set<string>();
      for (const q of raw) {
        const id = reqStr(q, "Id");
        const stat = optObj(q, "MetricStat");
        if (!stat) {
          throw new SimApiError(
            "InvalidParameterValue",
            `Query ${id}: the simulator serves MetricStat queries only`,
          );
        }
        const metric = optObj(stat, "Metric") ?? {};
        queries.push({
          id,
          namespace: reqStr(metric, "Namespace"),
          metricName: reqStr(metric, "MetricName"),
          dimensions: (optObjList(metric, "Dimensions") ?? []).map((d) => ({
            name: reqStr(d, "Name"),
            value: reqStr(d, "Value"),
          })),
          periodSeconds: optNum(stat, "Period") ?? 60,
          stat: reqStr(stat, "Stat"),
        });
        if (optBool(q, "ReturnData") === false) hidden.add(id);
      }
      const start = optNum(o, "StartTime");
      const end = optNum(o, "EndTime");
      if (start === undefined || end === undefined) {
        throw new SimApiError("ValidationError", "StartTime and EndTime are required");
      }
      if (end <= start)
        throw new SimApiError("InvalidParameterValue", "The parameter StartTime must be less than EndTime");
      const ascending = optStr(o, "ScanBy") === "TimestampAscending";
      const results = world.getMetricData({ queries, start: start * 1000, end: end * 1000 });
      const labels = new Map(raw.map((q) => [q.Id as string, optStr(q, "Label")]));
      return {
        MetricDataResults: results
          .filter((r) => !hidden.has(r.id))
          .map((r) => {
            const ts = r.timestamps.map((t) => new Date(t));
            const values = [...r.values];
            if (ascending) {
              ts.reverse();
              values.reverse();
            }
            return {
              Id: r.id,
              Label: labels.get(r.id) ?? r.label,
              Timestamps: ts,
              Values: values,
              StatusCode: r.statusCode,
              Messages: [],
            };
          }),
        Messages: [],
      };
    },
  },
};

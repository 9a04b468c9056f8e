import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { AwsQueryProtocol } from "@aws-sdk/core/protocols";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/util/clock.js";
import { startTestSim, type TestSim } from "./helpers.js";

let sim: TestSim;
let cw: CloudWatchClient;
const T0 = Date.UTC(2026, 0, 1, 3, 0, 0);
beforeAll(async () => {
  sim = await startTestSim({ clock: new ManualClock(T0) });
  cw = new CloudWatchClient(sim.client);
});
afterAll(async () => {
  cw.destroy();
  await sim.close();
});

describe("CloudWatch over JSON 1.0 (query-compatible)", () => {
  it("describes alarms with state, reason and threshold", async () => {
    sim.world.calls.length = 0;
    const out = await cw.send(
      new DescribeAlarmsCommand({ AlarmNames: ["relay-camera-disconnects"], StateValue: "OK" }),
    );
    expect(sim.world.calls[0]?.args[0]).toMatchObject({
      alarmNames: ["relay-camera-disconnects"],
      stateValue: "OK",
    });
    expect(out.MetricAlarms?.[0]).toMatchObject({
      AlarmName: "relay-camera-disconnects",
      StateValue: "OK",
      Threshold: 0.99,
      ComparisonOperator: "LessThanThreshold",
      MetricName: "ConnectedCameras",
    });
    expect(out.MetricAlarms?.[0]?.StateUpdatedTimestamp).toEqual(new Date(T0));
  });

  it("answers GetMetricData queries with Date timestamps, newest first unless asked otherwise", async () => {
    sim.world.calls.length = 0;
    const query = {
      Id: "conn",
      MetricStat: {
        Metric: {
          Namespace: "CameraRelay",
          MetricName: "ActiveConnections",
          Dimensions: [{ Name: "InstanceId", Value: "i-00000000000000001" }],
        },
        Period: 60,
        Stat: "Average",
      },
    };
    const out = await cw.send(
      new GetMetricDataCommand({
        MetricDataQueries: [query, { ...query, Id: "hidden", ReturnData: false }],
        StartTime: new Date(T0 - 600_000),
        EndTime: new Date(T0),
      }),
    );
    expect(sim.world.calls[0]?.args[0]).toMatchObject({
      start: T0 - 600_000,
      end: T0,
      queries: [
        {
          id: "conn",
          namespace: "CameraRelay",
          metricName: "ActiveConnections",
          dimensions: [{ name: "InstanceId", value: "i-00000000000000001" }],
          periodSeconds: 60,
          stat: "Average",
        },
        { id: "hidden" },
      ],
    });
    expect(out.MetricDataResults).toHaveLength(1);
    expect(out.MetricDataResults?.[0]).toMatchObject({
      Id: "conn",
      Values: [42, 41],
      Timestamps: [new Date(T0 - 60_000), new Date(T0 - 120_000)],
      StatusCode: "Complete",
    });
    const asc = await cw.send(
      new GetMetricDataCommand({
        MetricDataQueries: [query],
        StartTime: new Date(T0 - 600_000),
        EndTime: new Date(T0),
        ScanBy: "TimestampAscending",
      }),
    );
    expect(asc.MetricDataResults?.[0]?.Values).toEqual([41, 42]);
  });

  it("reports a bad request with the query-era error code", async () => {
    const err = await cw
      .send(
        new GetMetricDataCommand({
          MetricDataQueries: [],
          StartTime: new Date(T0 - 1),
          EndTime: new Date(T0),
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "InvalidParameterValueException", $metadata: { httpStatusCode: 400 } });
  });
});

describe("CloudWatch over the older query/XML form", () => {
  it("answers the same alarms and metric data to a client speaking the query protocol", async () => {
    const query = new CloudWatchClient({ ...sim.client, protocol: AwsQueryProtocol });
    sim.world.calls.length = 0;
    const alarms = await query.send(new DescribeAlarmsCommand({ AlarmNames: ["relay-camera-disconnects"] }));
    expect(sim.world.calls[0]?.args[0]).toMatchObject({ alarmNames: ["relay-camera-disconnects"] });
    expect(alarms.MetricAlarms?.[0]).toMatchObject({
      AlarmName: "relay-camera-disconnects",
      Threshold: 0.99,
    });
    expect(alarms.MetricAlarms?.[0]?.StateUpdatedTimestamp).toEqual(new Date(T0));

    const data = await query.send(
      new GetMetricDataCommand({
        StartTime: new Date(T0 - 600_000),
        EndTime: new Date(T0),
        MetricDataQueries: [
          {
            Id: "conn",
            MetricStat: {
              Metric: {
                Namespace: "CameraRelay",
                MetricName: "ActiveConnections",
                Dimensions: [{ Name: "InstanceId", Value: "i-1" }],
              },
              Period: 60,
              Stat: "Maximum",
            },
          },
        ],
      }),
    );
    expect(sim.world.calls.at(-1)?.args[0]).toMatchObject({
      start: T0 - 600_000,
      end: T0,
      queries: [
        {
          id: "conn",
          dimensions: [{ name: "InstanceId", value: "i-1" }],
          periodSeconds: 60,
          stat: "Maximum",
        },
      ],
    });
    expect(data.MetricDataResults?.[0]).toMatchObject({
      Id: "conn",
      Values: [42, 41],
      Timestamps: [new Date(T0 - 60_000), new Date(T0 - 120_000)],
    });
    const err = await query
      .send(
        new GetMetricDataCommand({
          MetricDataQueries: [],
          StartTime: new Date(T0 - 1),
          EndTime: new Date(T0),
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ $metadata: { httpStatusCode: 400 } });
    expect((err as { name: string }).name).toMatch(/InvalidParameterValue/);
    query.destroy();
  });
});

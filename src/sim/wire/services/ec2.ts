import { type Ec2Filter, SimApiError, type SimEc2Instance } from "../../model/api.js";
import type { XmlObject } from "../xml.js";
import type { QueryService } from "./types.js";

/** EC2 refuses a Describe call carrying more filter values than this, all filters together. */
const EC2_MAX_FILTER_VALUES = 200;

/**
 * EC2 speaks its own query dialect: lists in requests are `InstanceId.1` / `Filter.1.Value.1`,
 * responses use lowerCamel element names, `<item>` list entries and a top-level `<requestId>`.
 */
export const ec2Service: QueryService = {
  name: "EC2",
  protocol: "ec2",
  version: "2016-11-15",
  signingName: "ec2",
  xmlNamespace: "http://ec2.amazonaws.com/doc/2016-11-15/",
  actions: {
    DescribeInstances(p, world) {
      const instanceIds = p.list("InstanceId");
      const maxResults = p.int("MaxResults");
      if (maxResults !== undefined && instanceIds) {
        throw new SimApiError(
          "InvalidParameterCombination",
          "The parameter instancesSet cannot be used with the parameter maxResults",
        );
      }
      if (maxResults !== undefined && (maxResults < 5 || maxResults > 1000)) {
        throw new SimApiError(
          "InvalidParameterValue",
          `Value ( ${maxResults} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`,
        );
      }
      const filters: Ec2Filter[] = p
        .structs("Filter")
        .map((f) => ({ name: f.required("Name"), values: f.list("Value") ?? [] }));
      const values = filters.reduce((n, f) => n + f.values.length, 0);
      if (values > EC2_MAX_FILTER_VALUES) {
        throw new SimApiError(
          "FilterLimitExceeded",
          `The maximum number of filter values specified on a single call is ${EC2_MAX_FILTER_VALUES}`,
        );
      }
      const page = world.describeInstances({
        instanceIds,
        filters: filters.length ? filters : undefined,
        maxResults,
        nextToken: p.str("NextToken"),
      });
      return {
        reservationSet: page.items.map((i) => reservation(i, world.accountId)),
        nextToken: page.nextToken,
      };
    },

    DescribeAvailabilityZones(p, world) {
      const wanted = p.list("ZoneName");
      const zones = world
        .describeAvailabilityZones()
        .filter((z) => !wanted || wanted.includes(z.name) || wanted.includes(z.id));
      return {
        availabilityZoneInfo: zones.map((z) => ({
          zoneName: z.name,
          zoneId: z.id,
          zoneState: z.state,
          regionName: world.region,
          groupName: world.region,
          networkBorderGroup: world.region,
          optInStatus: "opt-in-not-required",
          zoneType: "availability-zone",
          messageSet: [],
        })),
      };
    },
  },
};

// One reservation per instance: real fleets launched over time look like that too, and callers
// must flatten reservations anyway.
function reservation(i: SimEc2Instance, ownerId: string): XmlObject {
  return {
    reservationId: `r-${i.instanceId.replace(/^i-/, "")}`,
    ownerId,
    groupSet: [],
    instancesSet: [
      {
        instanceId: i.instanceId,
        imageId: i.imageId,
        instanceState: { code: i.stateCode, name: i.stateName },
        privateDnsName: `ip-${i.privateIp.replaceAll(".", "-")}.ec2.internal`,
        instanceType: i.instanceType,
        launchTime: new Date(i.launchTime),
        placement: { availabilityZone: i.az, tenancy: "default" },
        privateIpAddress: i.privateIp,
        architecture: "x86_64",
        tagSet: Object.entries(i.tags).map(([key, value]) => ({ key, value })),
      },
    ],
  };
}

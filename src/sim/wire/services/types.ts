import type { SimBackend } from "../../model/api.js";
import type { JsonObject } from "../protocol.js";
import type { QueryParams } from "../query-params.js";
import type { XmlObject } from "../xml.js";

/** A query/XML service (EC2, ELBv2, Auto Scaling, STS): recognised by form `Action` + `Version`. */
export interface QueryService {
  /** Short name used in API counts and fault bucket keys, e.g. "ELBv2" → "ELBv2.DescribeTargetHealth". */
  name: string;
  protocol: "query" | "ec2";
  version: string;
  /** SigV4 signing name, the `<service>` in the credential scope. */
  signingName: string;
  xmlNamespace: string;
  actions: Record<string, (p: QueryParams, world: SimBackend) => XmlObject | undefined>;
}

/** A JSON RPC service (SSM, CloudWatch): recognised by `x-amz-target: <targetPrefix>.<Action>`. */
export interface JsonService {
  name: string;
  protocol: "json1.1" | "json1.0";
  targetPrefix: string;
  signingName: string;
  actions: Record<string, (input: JsonInput, world: SimBackend) => JsonObject | undefined>;
}

export type WireService = QueryService | JsonService;

/** The parsed JSON request body. */
export type JsonInput = Record<string, unknown>;

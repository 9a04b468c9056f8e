import { randomUUID } from "node:crypto";
import type { Clock } from "../../util/clock.js";
import { SimApiError, type SimWorld } from "../model/api.js";
import type { ObjectBuckets } from "../model/objects.js";
import { type FaultInjector, serverError, throttlingError } from "./faults.js";
import {
  ec2Result,
  errorResponse,
  type JsonObject,
  jsonResult,
  queryResult,
  type WireResponse,
} from "./protocol.js";
import { QueryParams } from "./query-params.js";
import { autoScalingService } from "./services/autoscaling.js";
import { cloudWatchService } from "./services/cloudwatch.js";
import { cloudWatchQueryService } from "./services/cloudwatch-query.js";
import { ec2Service } from "./services/ec2.js";
import { elbv2Service } from "./services/elbv2.js";
import { handleS3, s3Action, s3Error } from "./services/s3.js";
import { ssmService } from "./services/ssm.js";
import { stsService } from "./services/sts.js";
import type { JsonService, QueryService, WireService } from "./services/types.js";

const QUERY_SERVICES: QueryService[] = [
  ec2Service,
  elbv2Service,
  autoScalingService,
  stsService,
  cloudWatchQueryService,
];
const JSON_SERVICES: JsonService[] = [ssmService, cloudWatchService];

/** A request as the HTTP server hands it over: lower-case header names, the whole body read. */
interface AwsRequest {
  method: string;
  /** Path plus query string, e.g. "/" or "/?Action=GetCallerIdentity&Version=2011-06-15". */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Counts of every AWS call the simulator answered, by "Service.Action". */
export class ApiCounter {
  total = 0;
  throttled = 0;
  errors5xx = 0;
  readonly byAction: Record<string, number> = {};
  count(key: string): void {
    this.total++;
    this.byAction[key] = (this.byAction[key] ?? 0) + 1;
  }
  snapshot(): { total: number; byAction: Record<string, number>; throttled: number; errors5xx: number } {
    return {
      total: this.total,
      byAction: { ...this.byAction },
      throttled: this.throttled,
      errors5xx: this.errors5xx,
    };
  }
}

export interface RouterContext {
  world: SimWorld;
  clock: Clock;
  faults: FaultInjector;
  counter: ApiCounter;
  /** S3's buckets and objects (the journal in S3). */
  objects: ObjectBuckets;
}

/**
 * Answers one AWS API request: find the service (x-amz-target for JSON services, form
 * Action + Version for query services), check the region in the SigV4 credential scope, apply the
 * wire faults, call the model, and render the result or error in the service's own format.
 */
export async function handleAwsRequest(ctx: RouterContext, req: AwsRequest): Promise<WireResponse> {
  const requestId = randomUUID();
  const target = header(req, "x-amz-target");
  if (target !== undefined) return handleJson(ctx, req, target, requestId);
  if (credentialScope(req)?.service === "s3") return handleRestS3(ctx, req, requestId);
  return handleQuery(ctx, req, requestId);
}

async function handleJson(ctx: RouterContext, req: AwsRequest, target: string, requestId: string) {
  const dot = target.lastIndexOf(".");
  const prefix = target.slice(0, dot);
  const action = target.slice(dot + 1);
  const svc = JSON_SERVICES.find((s) => s.targetPrefix === prefix);
  if (!svc) {
    const fallback = { protocol: "json1.1" as const };
    return errorResponse(fallback, "UnknownOperationException", `Unknown target ${target}`, 400, requestId);
  }
  let input: Record<string, unknown> = {};
  if (req.body.trim() !== "") {
    try {
      const parsed: unknown = JSON.parse(req.body);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new Error("not an object");
      input = parsed as Record<string, unknown>;
    } catch {
      return errorResponse(
        svc,
        "SerializationException",
        "The request body is not a JSON object",
        400,
        requestId,
      );
    }
  }
  const handler = svc.actions[action];
  return dispatch(ctx, req, svc, action, requestId, handler && (() => handler(input, ctx.world)));
}

async function handleQuery(ctx: RouterContext, req: AwsRequest, requestId: string) {
  const qs = req.url.includes("?") ? req.url.slice(req.url.indexOf("?") + 1) : "";
  const p = QueryParams.parse(req.body.trim() !== "" ? req.body : qs);
  const action = p.str("Action");
  const version = p.str("Version");
  const scope = credentialScope(req, p);
  const svc =
    QUERY_SERVICES.find((s) => s.version === version) ??
    QUERY_SERVICES.find((s) => version === undefined && s.signingName === scope?.service);
  if (!svc) {
    const generic = { protocol: "query" as const };
    const what = version ? `API version ${version}` : "a request without Action/Version or x-amz-target";
    return errorResponse(generic, "InvalidAction", `The simulator does not serve ${what}`, 400, requestId);
  }
  if (!action)
    return errorResponse(
      svc,
      "MissingAction",
      "The request must contain the parameter Action",
      400,
      requestId,
    );
  const handler = svc.actions[action];
  return dispatch(ctx, req, svc, action, requestId, handler && (() => handler(p, ctx.world)));
}

async function dispatch(
  ctx: RouterContext,
  req: AwsRequest,
  svc: WireService,
  action: string,
  requestId: string,
  call: (() => unknown) | undefined,
): Promise<WireResponse> {
  const key = `${svc.name}.${action}`;
  ctx.counter.count(key);

  const regionError = checkRegion(req, svc, ctx.world.region);
  if (regionError) return errorResponse(svc, regionError.code, regionError.message, 403, requestId);

  if (!call) {
    return svc.protocol === "json1.1" || svc.protocol === "json1.0"
      ? errorResponse(svc, "UnknownOperationException", `Unknown operation ${action}`, 400, requestId)
      : errorResponse(
          svc,
          "InvalidAction",
          `The action ${action} is not valid for this web service.`,
          400,
          requestId,
        );
  }

  const { latencyMs } = ctx.faults.current;
  if (latencyMs > 0) await ctx.clock.sleep(latencyMs);

  const fault = ctx.faults.judge(svc.name, action, ctx.clock.now());
  if (fault?.kind === "throttle") {
    ctx.counter.throttled++;
    const t = throttlingError(svc.name);
    return errorResponse(svc, t.code, "Rate exceeded", t.status, requestId);
  }
  if (fault?.kind === "error") {
    ctx.counter.errors5xx++;
    const e = serverError(svc.name, fault.status);
    return errorResponse(svc, e.code, e.message, fault.status, requestId);
  }

  try {
    ctx.world.advanceTo(ctx.clock.now());
    const out = call();
    if (ctx.faults.loseResponse(action)) {
      // Applied, then the answer is lost: what the client sees is a server fault.
      ctx.counter.errors5xx++;
      const e = serverError(svc.name, 500);
      return errorResponse(svc, e.code, e.message, 500, requestId);
    }
    switch (svc.protocol) {
      case "query":
        return queryResult(svc, action, out as never, requestId);
      case "ec2":
        return ec2Result(svc, action, out as never, requestId);
      default:
        return jsonResult(svc.protocol, out as JsonObject | undefined, requestId);
    }
  } catch (err) {
    if (err instanceof SimApiError) {
      if (err.status >= 500) ctx.counter.errors5xx++;
      return errorResponse(svc, err.code, err.message, err.status, requestId);
    }
    ctx.counter.errors5xx++;
    const message = err instanceof Error ? err.message : String(err);
    const e = serverError(svc.name, 500);
    return errorResponse(svc, e.code, `${e.message}: ${message}`, 500, requestId);
  }
}

/**
 * S3 (REST-XML, path-style): the same region check and wire faults as the other services, then the
 * object model. Not served: virtual-hosted addressing (the bucket in the Host name).
 */
async function handleRestS3(ctx: RouterContext, req: AwsRequest, requestId: string): Promise<WireResponse> {
  const action = s3Action(req);
  ctx.counter.count(`S3.${action}`);
  const scope = credentialScope(req);
  if (scope && scope.region !== ctx.world.region) {
    return s3Error(
      "AuthorizationHeaderMalformed",
      `The authorization header is malformed; the region '${scope.region}' is wrong; expecting '${ctx.world.region}'`,
      400,
      requestId,
    );
  }
  const { latencyMs } = ctx.faults.current;
  if (latencyMs > 0) await ctx.clock.sleep(latencyMs);
  const fault = ctx.faults.judge("S3", action, ctx.clock.now());
  if (fault?.kind === "throttle") {
    ctx.counter.throttled++;
    return s3Error("SlowDown", "Please reduce your request rate.", 503, requestId);
  }
  if (fault?.kind === "error") {
    ctx.counter.errors5xx++;
    const e = serverError("S3", fault.status);
    return s3Error(e.code, e.message, fault.status, requestId);
  }
  try {
    const out = handleS3(ctx.objects, req, action, ctx.clock.now(), requestId);
    if (ctx.faults.loseResponse(action)) {
      ctx.counter.errors5xx++;
      return s3Error("InternalError", "We encountered an internal error. Please try again.", 500, requestId);
    }
    return out;
  } catch (err) {
    if (err instanceof SimApiError) {
      if (err.status >= 500) ctx.counter.errors5xx++;
      return s3Error(err.code, err.message, err.status, requestId);
    }
    ctx.counter.errors5xx++;
    return s3Error("InternalError", err instanceof Error ? err.message : String(err), 500, requestId);
  }
}

function header(req: AwsRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The SigV4 credential scope: `Credential=AKID/20260101/us-east-1/ec2/aws4_request` in the
 * Authorization header, or `X-Amz-Credential` in a presigned query string.
 */
function credentialScope(
  req: AwsRequest,
  params?: QueryParams,
): { accessKeyId: string; region: string; service: string } | undefined {
  const auth = header(req, "authorization");
  const fromHeader = auth ? /Credential=([^,\s]+)/.exec(auth)?.[1] : undefined;
  const raw = fromHeader ?? params?.str("X-Amz-Credential");
  if (!raw) return undefined;
  const parts = raw.split("/");
  if (parts.length < 5) return undefined;
  return { accessKeyId: parts[0] as string, region: parts[2] as string, service: parts[3] as string };
}

function checkRegion(
  req: AwsRequest,
  svc: WireService,
  region: string,
): { code: string; message: string } | undefined {
  const json = svc.protocol === "json1.1" || svc.protocol === "json1.0";
  const qs = req.url.includes("?") ? QueryParams.parse(req.url.slice(req.url.indexOf("?") + 1)) : undefined;
  const scope = credentialScope(req, qs);
  if (!scope) {
    return {
      code: json ? "MissingAuthenticationTokenException" : "MissingAuthenticationToken",
      message: "Request is missing a SigV4 Authorization header with a credential scope (region)",
    };
  }
  if (scope.region !== region) {
    return {
      code: json ? "InvalidSignatureException" : "SignatureDoesNotMatch",
      message: `Credential should be scoped to a valid region. This simulator serves '${region}', not '${scope.region}'.`,
    };
  }
  return undefined;
}

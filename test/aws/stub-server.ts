/**
 * A tiny AWS look-alike on node:http for adapter tests: it decodes the request the real SDK client
 * sent (query form, EC2 query or JSON with x-amz-target), hands it to the test's handler, and
 * renders what the handler returns in the service's real wire shape (see aws-facts.md).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { AwsService } from "../../src/aws/services.js";

export interface StubRequest {
  service: AwsService;
  action: string;
  /** Query-protocol parameters (EC2, ELBv2, Auto Scaling, STS). */
  form: Record<string, string>;
  /** JSON-protocol body (SSM, CloudWatch). */
  json: Record<string, unknown>;
  headers: IncomingMessage["headers"];
}

export type StubReply =
  | { kind: "ok"; body: string }
  | { kind: "error"; code: string; message: string; status: number; requestId: string };

export type StubHandler = (req: StubRequest) => StubReply | Promise<StubReply>;

export interface Stub {
  url: string;
  requests: StubRequest[];
  /** Requests seen for one `Service.Action`. */
  seen(operation: string): StubRequest[];
  close(): Promise<void>;
}

const VERSIONS: Record<string, AwsService> = {
  "2016-11-15": "EC2",
  "2015-12-01": "ELBv2",
  "2011-01-01": "AutoScaling",
  "2011-06-15": "STS",
};
const NAMESPACES: Partial<Record<AwsService, string>> = {
  ELBv2: "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
  AutoScaling: "http://autoscaling.amazonaws.com/doc/2011-01-01/",
  STS: "https://sts.amazonaws.com/doc/2011-06-15/",
};

let requestCounter = 0;
export const nextRequestId = () => `req-${++requestCounter}`;

/** A successful response; `body` is the result XML (query) or a JSON value (JSON protocols). */
export function ok(body: string | object = ""): StubReply {
  return { kind: "ok", body: typeof body === "string" ? body : JSON.stringify(body) };
}

/** An AWS error. A `requestId` starting `body-only:` is sent only in the XML body, not as a header. */
export function fail(code: string, message: string, status = 400, requestId = nextRequestId()): StubReply {
  return { kind: "error", code, message, status, requestId };
}

/** `<tag>…</tag>`; arrays of children become `<member>` (query) or `<item>` (EC2) lists via `list`. */
export function x(tag: string, ...children: (string | number | undefined)[]): string {
  return `<${tag}>${children.filter((c) => c !== undefined).join("")}</${tag}>`;
}
export function esc(s: string | number): string {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
export function members<T>(items: T[], render: (item: T) => string, tag = "member"): string {
  return items.map((i) => x(tag, render(i))).join("");
}

/** Values of `Prefix.1`, `Prefix.2`, … from a query form. */
export function formList(form: Record<string, string>, prefix: string): string[] {
  const out: string[] = [];
  for (let n = 1; form[`${prefix}.${n}`] !== undefined; n++) out.push(form[`${prefix}.${n}`] as string);
  return out;
}

/** Structures of `Prefix.N.Field` from a query form, e.g. `Targets.member.1.Id`. */
export function formStructs(form: Record<string, string>, prefix: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (let n = 1; ; n++) {
    const head = `${prefix}.${n}.`;
    const entries = Object.entries(form).filter(([k]) => k.startsWith(head));
    if (entries.length === 0) break;
    out.push(Object.fromEntries(entries.map(([k, v]) => [k.slice(head.length), v])));
  }
  return out;
}

/** EC2 filters as a map: `{ "tag:Service": ["relay"], "instance-state-name": ["running"] }`. */
export function ec2Filters(form: Record<string, string>): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  for (let n = 1; form[`Filter.${n}.Name`] !== undefined; n++) {
    filters[form[`Filter.${n}.Name`] as string] = formList(form, `Filter.${n}.Value`);
  }
  return filters;
}

export async function startStub(handler: StubHandler): Promise<Stub> {
  const requests: StubRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const parsed = decode(req, body);
      requests.push(parsed);
      Promise.resolve()
        .then(() => handler(parsed))
        .then(
          (reply) => respond(res, parsed, reply),
          (error: unknown) => respond(res, parsed, fail("InternalFailure", String(error), 500)),
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    seen: (operation) => requests.filter((r) => `${r.service}.${r.action}` === operation),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function decode(req: IncomingMessage, body: string): StubRequest {
  const target = req.headers["x-amz-target"];
  if (typeof target === "string") {
    const [prefix, action = ""] = target.split(".");
    const service: AwsService = prefix === "AmazonSSM" ? "SSM" : "CloudWatch";
    return { service, action, form: {}, json: body ? JSON.parse(body) : {}, headers: req.headers };
  }
  const form = Object.fromEntries(new URLSearchParams(body));
  const service = VERSIONS[form.Version ?? ""];
  if (!service) throw new Error(`stub cannot tell the service of ${body.slice(0, 200)}`);
  return { service, action: form.Action ?? "", form, json: {}, headers: req.headers };
}

function respond(res: ServerResponse, req: StubRequest, reply: StubReply): void {
  const { service, action } = req;
  if (service === "SSM" || service === "CloudWatch") {
    const contentType = service === "SSM" ? "application/x-amz-json-1.1" : "application/x-amz-json-1.0";
    if (reply.kind === "ok") {
      res.writeHead(200, { "content-type": contentType, "x-amzn-requestid": nextRequestId() });
      res.end(reply.body || "{}");
      return;
    }
    const headers: Record<string, string> = {
      "content-type": contentType,
      "x-amzn-requestid": reply.requestId,
    };
    // CloudWatch's JSON protocol is "query compatible": the query-era code travels in a header.
    if (service === "CloudWatch") headers["x-amzn-query-error"] = `${reply.code};Sender`;
    res.writeHead(reply.status, headers);
    res.end(JSON.stringify({ __type: reply.code, message: reply.message }));
    return;
  }
  res.setHeader("content-type", "text/xml");
  // AWS sends the request id as a header on query protocols too; the SDK reads it from there.
  if (reply.kind === "error" && !reply.requestId.startsWith("body-only:"))
    res.setHeader("x-amzn-requestid", reply.requestId);
  if (service === "EC2") {
    if (reply.kind === "ok") {
      res.writeHead(200);
      res.end(
        `<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">${x("requestId", nextRequestId())}${reply.body}</${action}Response>`,
      );
    } else {
      res.writeHead(reply.status);
      res.end(
        x(
          "Response",
          x("Errors", x("Error", x("Code", reply.code), x("Message", esc(reply.message)))),
          x("RequestID", reply.requestId.replace("body-only:", "")),
        ),
      );
    }
    return;
  }
  if (reply.kind === "ok") {
    res.writeHead(200);
    res.end(
      `<${action}Response xmlns="${NAMESPACES[service]}">${x(`${action}Result`, reply.body)}${x(
        "ResponseMetadata",
        x("RequestId", nextRequestId()),
      )}</${action}Response>`,
    );
  } else {
    res.writeHead(reply.status);
    res.end(
      `<ErrorResponse xmlns="${NAMESPACES[service]}">${x(
        "Error",
        x("Type", reply.status >= 500 ? "Receiver" : "Sender"),
        x("Code", reply.code),
        x("Message", esc(reply.message)),
      )}${x("RequestId", reply.requestId.replace("body-only:", ""))}</ErrorResponse>`,
    );
  }
}

import { escapeXml, toXml, type XmlObject, xmlDocument } from "./xml.js";

/**
 * The four AWS wire protocols the simulator speaks, and how each renders a result or an error.
 * See aws-facts.md; the shapes here are what the SDK v3 deserializers read.
 */
type WireProtocol = "query" | "ec2" | "json1.1" | "json1.0";

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A JSON response value; a `Date` is sent as epoch seconds, the JSON protocols' timestamp format. */
type JsonValue =
  | string
  | number
  | boolean
  | Date
  | null
  | undefined
  | JsonValue[]
  | { [k: string]: JsonValue };
export type JsonObject = { [k: string]: JsonValue };

/** Epoch milliseconds → the epoch seconds (with fractions) JSON protocols use for timestamps. */
export function epochSeconds(ms: number): number {
  return ms / 1000;
}

interface ServiceWireInfo {
  protocol: WireProtocol;
  /** XML namespace of responses (query/EC2). */
  xmlNamespace?: string;
}

/** Successful query-protocol response: `<OpResponse><OpResult>…</OpResult><ResponseMetadata>…`. */
export function queryResult(
  svc: ServiceWireInfo,
  action: string,
  result: XmlObject | undefined,
  requestId: string,
): WireResponse {
  const inner =
    (result ? `<${action}Result>${toXml(result, "member")}</${action}Result>` : "") +
    `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata>`;
  return xmlResponse(200, xmlDocument(`${action}Response`, svc.xmlNamespace, inner), requestId);
}

/** Successful EC2 response: children sit directly under `<OpResponse>` next to `<requestId>`. */
export function ec2Result(
  svc: ServiceWireInfo,
  action: string,
  result: XmlObject | undefined,
  requestId: string,
): WireResponse {
  const inner = `<requestId>${escapeXml(requestId)}</requestId>${toXml(result, "item")}`;
  return xmlResponse(200, xmlDocument(`${action}Response`, svc.xmlNamespace, inner), requestId);
}

export function jsonResult(
  protocol: WireProtocol,
  result: JsonObject | undefined,
  requestId: string,
): WireResponse {
  return {
    status: 200,
    headers: {
      "content-type": `application/x-amz-json-${protocol === "json1.0" ? "1.0" : "1.1"}`,
      "x-amzn-requestid": requestId,
    },
    body: JSON.stringify(result ?? {}, epochSecondsReplacer),
  };
}

// Date#toJSON runs before a replacer sees the value, so look at the holder's raw member instead.
function epochSecondsReplacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  return raw instanceof Date ? raw.getTime() / 1000 : value;
}

/** Renders an error in the service's own shape; `status` ≥ 500 marks it a server (Receiver) fault. */
export function errorResponse(
  svc: ServiceWireInfo,
  code: string,
  message: string,
  status: number,
  requestId: string,
): WireResponse {
  const type = status >= 500 ? "Receiver" : "Sender";
  switch (svc.protocol) {
    case "query": {
      const inner =
        `<Error><Type>${type}</Type><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error>` +
        `<RequestId>${escapeXml(requestId)}</RequestId>`;
      return xmlResponse(status, xmlDocument("ErrorResponse", svc.xmlNamespace, inner), requestId);
    }
    case "ec2": {
      const inner =
        `<Errors><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error></Errors>` +
        `<RequestID>${escapeXml(requestId)}</RequestID>`;
      return xmlResponse(status, xmlDocument("Response", undefined, inner), requestId);
    }
    default: {
      const res = jsonResult(svc.protocol, { __type: code, message }, requestId);
      res.status = status;
      // JSON 1.0 services that were once query services (CloudWatch) also name the query-era code.
      if (svc.protocol === "json1.0") res.headers["x-amzn-query-error"] = `${code};${type}`;
      return res;
    }
  }
}

function xmlResponse(status: number, body: string, requestId: string): WireResponse {
  return { status, headers: { "content-type": "text/xml", "x-amzn-requestid": requestId }, body };
}

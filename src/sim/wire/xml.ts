/**
 * A tiny XML writer for AWS query/EC2 responses. Values are plain trees: objects become elements
 * named by their keys, arrays become repeated `<member>` (query) or `<item>` (EC2) children,
 * `Date`s become ISO-8601, and `undefined`/`null` members are left out.
 *
 * Worked example, query style:
 *   toXml({ Targets: [{ Id: "i-1" }], Next: undefined }, "member")
 *   → "<Targets><member><Id>i-1</Id></member></Targets>"
 */

type XmlValue = string | number | boolean | Date | null | undefined | XmlValue[] | XmlObject;
export interface XmlObject {
  [key: string]: XmlValue;
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

/** Escapes text for use in element content or attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function scalar(v: string | number | boolean | Date): string {
  if (v instanceof Date) return v.toISOString();
  return escapeXml(String(v));
}

/** Serializes the children of one element (not the element itself). */
export function toXml(value: XmlValue, listItem: "member" | "item"): string {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) {
    let out = "";
    for (const v of value) out += `<${listItem}>${toXml(v, listItem)}</${listItem}>`;
    return out;
  }
  if (typeof value === "object" && !(value instanceof Date)) {
    let out = "";
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined || v === null) continue;
      out += `<${k}>${toXml(v, listItem)}</${k}>`;
    }
    return out;
  }
  return scalar(value);
}

/** A full document: `<root xmlns="ns">…children…</root>` with an XML declaration. */
export function xmlDocument(root: string, ns: string | undefined, body: string): string {
  const attr = ns ? ` xmlns="${escapeXml(ns)}"` : "";
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${attr}>${body}</${root}>`;
}

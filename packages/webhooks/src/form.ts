import type { IncomingMessage } from "node:http";

/** Why a body was refused before any signature check. */
export class FormBodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
    this.name = "FormBodyError";
  }
}

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/** Checks the request's content type and charset (UTF-8 or none). */
export function checkFormContentType(contentType: string | undefined): void {
  if (contentType === undefined || !FORM_TYPE.test(contentType)) {
    throw new FormBodyError(
      415,
      "Mandrill posts application/x-www-form-urlencoded; this request has another content type.",
    );
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    throw new FormBodyError(
      415,
      `Only UTF-8 form bodies are accepted; this one declares charset=${charset.slice(0, 40)}.`,
    );
  }
}

/** Reads the raw body up to `limitBytes` (413 beyond it, checked on Content-Length first). */
export function readRawBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limitBytes) {
    req.resume();
    return Promise.reject(
      new FormBodyError(413, `The body is ${declared} bytes; the limit is ${limitBytes}.`),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error: Error | undefined, body?: Buffer) => {
      if (done) return;
      done = true;
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
      if (error !== undefined) {
        req.resume();
        reject(error);
      } else resolve(body as Buffer);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes)
        finish(new FormBodyError(413, `The body is larger than the limit of ${limitBytes} bytes.`));
      else chunks.push(chunk);
    };
    const onEnd = () => finish(undefined, Buffer.concat(chunks, size));
    const onError = (error: Error) => finish(error);
    const onAborted = () => finish(new FormBodyError(400, "The client aborted the request."));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
  });
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function decodeComponent(text: string): string {
  // '+' is a space in form encoding; decodeURIComponent rejects malformed % sequences and bad UTF-8.
  return decodeURIComponent(text.includes("+") ? text.replace(/\+/g, " ") : text);
}

/**
 * Decodes an `application/x-www-form-urlencoded` body into fields, refusing (400) invalid UTF-8,
 * malformed percent-escapes and repeated field names (a repeated `mandrill_events` is ambiguous:
 * which one did Mandrill sign?).
 */
export function decodeFormBody(body: Buffer | string): Record<string, string> {
  let text: string;
  try {
    text = typeof body === "string" ? body : decoder.decode(body);
  } catch {
    throw new FormBodyError(400, "The body is not valid UTF-8.");
  }
  const fields: Record<string, string> = Object.create(null);
  if (text.length === 0) return fields;
  for (const pair of text.split("&")) {
    if (pair.length === 0) continue;
    const eq = pair.indexOf("=");
    let name: string;
    let value: string;
    try {
      name = decodeComponent(eq === -1 ? pair : pair.slice(0, eq));
      value = eq === -1 ? "" : decodeComponent(pair.slice(eq + 1));
    } catch {
      throw new FormBodyError(400, "The form body has a malformed percent-escape or invalid UTF-8.");
    }
    if (Object.hasOwn(fields, name))
      throw new FormBodyError(400, `The form field "${name.slice(0, 40)}" appears more than once.`);
    fields[name] = value;
  }
  return fields;
}

/**
 * Fields from a body a host parser already consumed (`express.urlencoded()` before the router): an
 * object of strings is used as is; arrays (repeated fields) and nested objects are refused.
 */
export function fieldsFromParsedBody(body: unknown): Record<string, string> {
  if (Buffer.isBuffer(body) || typeof body === "string") return decodeFormBody(body);
  if (body === null || typeof body !== "object")
    throw new FormBodyError(400, "The form body could not be read.");
  const fields: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(body)) {
    if (Array.isArray(value))
      throw new FormBodyError(400, `The form field "${name.slice(0, 40)}" appears more than once.`);
    if (typeof value !== "string")
      throw new FormBodyError(400, `The form field "${name.slice(0, 40)}" is not a plain value.`);
    fields[name] = value;
  }
  return fields;
}

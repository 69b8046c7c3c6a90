import { MandrillKitError, MandrillKitValidationError } from "@mandrill-kit/core";
import type { Request } from "express";

/** The JSON body of a settings request, or why it cannot be had (with the HTTP status to answer). */
export type SettingsBody =
  | { ok: true; value: unknown }
  | { ok: false; status: number; error: MandrillKitError };

type BodyRequest = Request & { _body?: boolean };

function refused(status: number, message: string, fieldMessage: string): SettingsBody {
  return {
    ok: false,
    status,
    error: new MandrillKitValidationError("ERR_MK_VALIDATION_FAILED", message, [
      { field: "", message: fieldMessage },
    ]),
  };
}

const notJson = (): SettingsBody =>
  refused(415, "Send the settings as JSON (Content-Type: application/json).", "must be JSON");
const tooLarge = (limitBytes: number): SettingsBody =>
  refused(413, `The body is larger than ${limitBytes} bytes.`, "is too large");
const badJson = (): SettingsBody => refused(400, "The body is not valid JSON.", "is not valid JSON");

/** Another middleware read the stream and kept no JSON: the body is gone, and guessing would lose the change. */
function consumed(by: string): SettingsBody {
  return {
    ok: false,
    status: 415,
    error: new MandrillKitError(
      "ERR_MK_SETTINGS_BODY_CONSUMED",
      `The JSON body of this request was already read by another middleware (${by}), so the settings router cannot see it. Mount mandrillSettings() before the middleware that reads the body, or mount express.json() before that middleware.`,
    ),
  };
}

/**
 * Whether a middleware mounted before the router read the request stream. body-parser 1.x (Express 4)
 * marks what it parsed with `req._body`; 2.x (Express 5) leaves the stream ended; anything else that
 * reads it leaves `readableDidRead` set.
 */
function streamConsumed(req: BodyRequest): boolean {
  return req._body === true || req.readableDidRead || req.readableEnded || (req.complete && !req.readable);
}

/** Keys a urlencoded parser makes of JSON text: the text itself (`{"fromEmail":…`), never a field name. */
function isMisparsedJson(value: object): boolean {
  return !Array.isArray(value) && Object.keys(value).some((key) => /^\s*[[{"]/.test(key));
}

function parseJson(text: string): SettingsBody {
  try {
    return { ok: true, value: JSON.parse(text.replace(/^\uFEFF/, "")) };
  } catch {
    return badJson();
  }
}

/** Discards the rest of the request (so the answer reaches a client still sending), then resolves `outcome`. */
function drain(req: Request, outcome: SettingsBody): Promise<SettingsBody> {
  return new Promise((resolve) => {
    if (req.readableEnded || req.destroyed) return resolve(outcome);
    req.once("end", () => resolve(outcome));
    req.once("error", () => resolve(outcome));
    req.once("close", () => resolve(outcome));
    req.resume();
  });
}

/** Reads the unread request stream as UTF-8 JSON of at most `limitBytes` (identity encoding only). */
function readStream(req: Request, limitBytes: number): Promise<SettingsBody> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limitBytes) return drain(req, tooLarge(limitBytes));
  const encoding = String(req.headers["content-encoding"] ?? "identity").toLowerCase();
  if (encoding !== "identity") {
    return drain(req, refused(415, "Send the settings uncompressed (no Content-Encoding).", "is compressed"));
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i
    .exec(req.headers["content-type"] ?? "")?.[1]
    ?.toLowerCase();
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
    return drain(
      req,
      refused(415, "Send the settings as UTF-8 JSON.", `has charset ${charset.slice(0, 32)}`),
    );
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limitBytes) {
        chunks.push(chunk);
        return;
      }
      req.off("data", onData);
      chunks.length = 0;
      resolve(drain(req, tooLarge(limitBytes)));
    };
    req.on("data", onData);
    req.once("end", () => {
      if (size <= limitBytes) resolve(parseJson(Buffer.concat(chunks).toString("utf8")));
    });
    req.once("error", () => resolve(refused(400, "The request body was cut off.", "is incomplete")));
  });
}

/**
 * The settings JSON of `req`, whatever ran before the router:
 * - the stream is unread (no parser, or one that skipped it, like `express.urlencoded()` on JSON,
 *   which on Express 4 still sets `req.body = {}`): read and parse it here, within `limitBytes`;
 * - `express.raw()` / `express.text()` kept the raw JSON (a Buffer or string): parse that;
 * - a JSON parser (`express.json()`) produced an object or array: use it;
 * - anything else read the stream (a urlencoded parser told to take every type, a middleware that
 *   drained it and left Express 4's `{}` placeholder): the JSON is gone; refuse with
 *   `ERR_MK_SETTINGS_BODY_CONSUMED` rather than save a change nobody asked for.
 */
export function readSettingsBody(req: Request, limitBytes: number): Promise<SettingsBody> {
  if (typeof req.is("application/json") !== "string") return Promise.resolve(notJson());
  const r = req as BodyRequest;
  if (!streamConsumed(r)) return readStream(req, limitBytes);
  const parsed: unknown = r.body;
  if (Buffer.isBuffer(parsed) || typeof parsed === "string") {
    if (Buffer.byteLength(parsed) > limitBytes) return Promise.resolve(tooLarge(limitBytes));
    return Promise.resolve(parseJson(typeof parsed === "string" ? parsed : parsed.toString("utf8")));
  }
  if (parsed === null || typeof parsed !== "object") return Promise.resolve(consumed("which kept no body"));
  if (isMisparsedJson(parsed)) return Promise.resolve(consumed("which parsed it as form fields"));
  // An empty object nobody marked as parsed is Express 4's urlencoded() placeholder with the stream
  // then read by something else (body-parser 1.x marks what it parses with _body; 2.x never leaves a
  // placeholder). The one request refused wrongly is `{}` parsed by Express 5's json(), a no-op anyway.
  if (r._body !== true && !Array.isArray(parsed) && Object.keys(parsed).length === 0) {
    return Promise.resolve(consumed("which left an empty placeholder body"));
  }
  return Promise.resolve({ ok: true, value: parsed });
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { maskSecret } from "@mandrill-kit/core/plugin";
import { serveExport } from "./api/exports.js";
import { API_METHODS } from "./api/methods.js";
import { invalidKeyError, MandrillApiError, missingKeyError } from "./api-error.js";
import { lookupKey, type SimContext } from "./context.js";
import { applyMessageEvent } from "./message-events.js";

const API_PATH = /^\/api\/(1\.\d)\/([a-z0-9-]+)\/([a-z0-9-]+?)(\.json)?\/?$/;

/** Reads the body; over `limit` bytes it rejects with the `ValidationError` (413) Mandrill answers. */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(
          new MandrillApiError("ValidationError", `Request body larger than ${limit} bytes`, {
            fixedStatus: 413,
          }),
        );
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

function clientIp(req: IncomingMessage): string | null {
  const ip = req.socket.remoteAddress;
  return ip === undefined ? null : ip.replace(/^::ffff:/, "");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `GET /unsub/<_id>[?redirect=…]`: the link `*|UNSUB:…|*` renders to (docs/mandrill.md#rejection-denylist). */
function unsubscribe(ctx: SimContext, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const id = url.pathname.slice("/unsub/".length);
  const record = ctx.messages.get(id);
  if (record === undefined) {
    res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("Unknown message\n");
    return;
  }
  if (record.state !== "unsub") applyMessageEvent(ctx, record, "unsub", { ip: clientIp(req) ?? undefined });
  const redirect = url.searchParams.get("redirect");
  if (redirect !== null && /^https?:\/\//i.test(redirect)) {
    const target = new URL(redirect);
    target.searchParams.set("md_id", record._id);
    target.searchParams.set("md_email", record.email);
    res.writeHead(302, { Location: target.href }).end();
    return;
  }
  res
    .writeHead(200, { "Content-Type": "text/plain; charset=utf-8" })
    .end(`${record.email} is unsubscribed.\n`);
}

/** What was read of a request, for the API log (also when the call fails). */
interface Seen {
  key: string | undefined;
  params: unknown;
}

async function callApi(
  ctx: SimContext,
  req: IncomingMessage,
  method: string,
  seen: Seen,
): Promise<{ status: number; body: unknown }> {
  const raw = await readBody(req, ctx.options.bodyLimitBytes);
  let params: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (isObject(parsed)) params = parsed;
  } catch {
    params = undefined;
  }
  const key = typeof params?.key === "string" && params.key.length > 0 ? params.key : undefined;
  const { key: _omit, ...rest } = params ?? {};
  seen.key = key;
  seen.params = params === undefined ? raw.slice(0, 1000) : rest;
  const faults = ctx.faults.takeApi({ key, method });
  if (faults.latencyMs > 0) await sleep(faults.latencyMs);
  switch (faults.terminal?.kind) {
    case "reset":
      req.socket.destroy();
      return { status: 0, body: null };
    case "rate-limit": {
      const seconds = faults.terminal.retryAfterSeconds ?? 1;
      // The observed limiter is a leaky bucket answering HTTP 429 (docs/mandrill.md#rate-limits-and-quotas) in both status modes.
      throw new MandrillApiError("RequestLimitExceeded", "Too Many Requests attempted recently", {
        retryAfterSeconds: seconds,
        fixedStatus: 429,
      });
    }
    case "general-error":
      throw new MandrillApiError("GeneralError", faults.terminal.message ?? "An unexpected error occurred");
    case "service-unavailable":
      throw new MandrillApiError(
        "ServiceUnavailable",
        faults.terminal.message ?? "Service temporarily unavailable for maintenance",
      );
    default:
      break;
  }
  const handler = API_METHODS[method];
  if (handler === undefined) {
    throw new MandrillApiError("GeneralError", `The simulator does not implement the API method "${method}"`);
  }
  if (params === undefined || key === undefined) throw missingKeyError();
  const state = lookupKey(ctx, key);
  const ip = clientIp(req);
  if (
    state === undefined ||
    state.kind === "disabled" ||
    // ASSUMED (docs/mandrill.md#api-keys and docs/mandrill.md#unconfirmed-behaviour): a call from an IP the key does not allow gets the invalid-key answer.
    (state.kind === "ip-restricted" && (ip === null || !state.allowedIps.includes(ip)))
  ) {
    throw invalidKeyError();
  }
  const body = await handler({ ctx, key: state, account: state.account, params: rest, ip });
  return { status: 200, body };
}

/** The HTTP server: the API under `/api/1.x/`, the unsubscribe links, and a small status page at `/`. */
export function createApiServer(ctx: SimContext): Server {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://simulator.invalid");
    const match = API_PATH.exec(url.pathname);
    if (match === null) {
      if ((req.method === "GET" || req.method === "HEAD") && url.pathname.startsWith("/unsub/")) {
        unsubscribe(ctx, req, res, url);
      } else if (req.method === "GET" && url.pathname.startsWith("/exports/")) {
        serveExport(ctx, req, res, url);
      } else if ((req.method === "GET" || req.method === "HEAD") && url.pathname === "/") {
        sendJson(res, 200, { simulator: "@mandrill-kit/simulator", api: `${ctx.baseUrl}/api/1.0/` });
      } else {
        sendJson(res, 404, {
          status: "error",
          code: -1,
          name: "GeneralError",
          message: `Not found: call POST ${ctx.baseUrl}/api/1.0/<group>/<method>.json`,
        });
      }
      return;
    }
    const method = `${match[2]}/${match[3]}`;
    const started = ctx.now();
    const answer = (
      status: number,
      body: unknown,
      key: string | undefined,
      params: unknown,
      headers = {},
    ) => {
      ctx.apiLog.push({
        seq: ++ctx.seq.api,
        at: started,
        transport: "api",
        method,
        key: key === undefined ? null : maskSecret(key),
        ip: clientIp(req),
        request: params,
        status,
        response: body,
      });
      if (status !== 0 && !res.headersSent && !res.destroyed) sendJson(res, status, body, headers);
    };
    if (req.method !== "POST") {
      const error = new MandrillApiError(
        "ValidationError",
        "Mandrill API calls are POST requests with a JSON body",
        {
          fixedStatus: 405,
        },
      );
      answer(405, error.body(), undefined, null, { Allow: "POST" });
      return;
    }
    const seen: Seen = { key: undefined, params: null };
    callApi(ctx, req, method, seen).then(
      (result) => answer(result.status, result.body, seen.key, seen.params),
      (error: unknown) => {
        const e =
          error instanceof MandrillApiError
            ? error
            : new MandrillApiError("GeneralError", "An unexpected error occurred in the simulator");
        if (!(error instanceof MandrillApiError)) {
          ctx.log.error({ method, error: String(error) }, "simulator API handler failed");
        }
        const headers: Record<string, string> =
          e.retryAfterSeconds === undefined ? {} : { "Retry-After": String(e.retryAfterSeconds) };
        answer(e.status(ctx.options.errorStatus), e.body(), seen.key, seen.params, headers);
      },
    );
  });
  return server;
}

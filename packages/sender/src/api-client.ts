import { MandrillKitApiError, MandrillKitNetworkError, MandrillKitTransportError } from "@mandrill-kit/core";
import { defaultTelemetry, resolveNetworkPolicy, type Telemetry } from "@mandrill-kit/core/plugin";
import { Pool } from "undici";
import { hintFor } from "./api-hints.js";
import { createNetworkGuard, type NetworkGuard } from "./network-guard.js";
import { senderInstruments } from "./telemetry.js";

/** Timeouts and retries of the API client (all per instance; nothing process-wide). */
export interface ApiClientOptions {
  /** Base URL of the API, ending in `/api/1.0/`. @default "https://mandrillapp.com/api/1.0/" */
  baseUrl?: string;
  /** @default 10000 */
  connectTimeoutMs?: number;
  /** Time to wait for Mandrill's answer once the request is sent. @default 30000 */
  requestTimeoutMs?: number;
  /** Attempts for requests that provably did not reach Mandrill, or that Mandrill said to retry. @default 3 */
  maxAttempts?: number;
  /** First backoff; doubles each retry, with full jitter, capped at `retryMaxMs`. @default 250 */
  retryBaseMs?: number;
  /** @default 5000 */
  retryMaxMs?: number;
  /** A `Retry-After` longer than this ends the retries (the error says so). @default 30000 */
  maxRetryAfterMs?: number;
  /** Connections kept open to Mandrill. @default 8 */
  connections?: number;
}

/** The outcome of a call whose request may have reached Mandrill without an answer coming back. */
export class AmbiguousRequestError extends MandrillKitTransportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, false, options);
  }
}

/** Posts to Mandrill's API over a keep-alive pool. */
export interface ApiClient {
  /**
   * `POST <base><method>.json` with `{ key, ...body }`. Resolves with the parsed JSON on 200; rejects
   * with `MandrillKitApiError` for Mandrill errors, `MandrillKitTransportError` when unreachable, and
   * {@link AmbiguousRequestError} when the request went out but no answer came (never retried).
   */
  call<T>(method: string, key: string, body?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

// Failures while connecting: the request never left this machine, so it is safe to send again.
const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/**
 * Creates a client with its own connection pool and timeouts. Its connections go through `guard`
 * (the sender's network policy; by default public addresses only).
 */
export function createApiClient(
  options: ApiClientOptions = {},
  guard: NetworkGuard = createNetworkGuard(resolveNetworkPolicy({}, "createApiClient")),
  telemetry: Telemetry = defaultTelemetry(),
): ApiClient {
  const base = new URL(options.baseUrl ?? "https://mandrillapp.com/api/1.0/");
  const prefix = base.pathname.endsWith("/") ? base.pathname : `${base.pathname}/`;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const maxAttempts = options.maxAttempts ?? 3;
  const retryBaseMs = options.retryBaseMs ?? 250;
  const retryMaxMs = options.retryMaxMs ?? 5000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
  const pool = new Pool(base.origin, {
    connections: options.connections ?? 8,
    connect: guard.connector(connectTimeoutMs),
    headersTimeout: requestTimeoutMs,
    bodyTimeout: requestTimeoutMs,
    keepAliveTimeout: 30_000,
  });

  async function once<T>(
    method: string,
    payload: string,
  ): Promise<{ ok: true; value: T } | { ok: false; error: Error; retryable: boolean; waitMs?: number }> {
    let response: Awaited<ReturnType<Pool["request"]>>;
    try {
      response = await pool.request({
        method: "POST",
        path: `${prefix}${method}.json`,
        headers: { "content-type": "application/json", "user-agent": "mandrill-kit" },
        body: payload,
      });
    } catch (thrown) {
      const error = thrown as Error & { code?: string };
      // The network policy refused the address: nothing left this machine, and retrying cannot help.
      if (error instanceof MandrillKitNetworkError) return { ok: false, retryable: false, error };
      // Only failures before the request could reach Mandrill are safe to retry (no idempotency key exists).
      if (error.code !== undefined && CONNECT_CODES.has(error.code)) {
        return {
          ok: false,
          retryable: true,
          error: new MandrillKitTransportError(
            `Could not connect to Mandrill at ${base.origin} (${error.code}). Check DNS, the network and any outbound firewall.`,
            true,
            { cause: error },
          ),
        };
      }
      return {
        ok: false,
        retryable: false,
        error: new AmbiguousRequestError(
          `The request to Mandrill (${method}) was sent but no answer came back (${error.code ?? error.name}). It may have been processed: not re-sent.`,
          { cause: error },
        ),
      };
    }
    let text: string;
    try {
      text = await response.body.text();
    } catch (thrown) {
      return {
        ok: false,
        retryable: false,
        error: new AmbiguousRequestError(
          `Mandrill's answer to ${method} was cut off; it may have been processed: not re-sent.`,
          { cause: thrown },
        ),
      };
    }
    let json: unknown;
    try {
      json = text.length === 0 ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (
      response.statusCode === 200 &&
      !(json !== null && typeof json === "object" && (json as { status?: unknown }).status === "error")
    ) {
      return { ok: true, value: json as T };
    }
    const waitMs = retryAfterMs(response.headers["retry-after"]);
    if (json !== null && typeof json === "object" && (json as { status?: unknown }).status === "error") {
      const { name, message } = json as { name?: unknown; message?: unknown };
      const mandrillName = typeof name === "string" ? name : "GeneralError";
      // Switch on Mandrill's name, never the status: legacy Mandrill answers 500 for Invalid_Key too (docs/mandrill.md#api-errors).
      const retryable =
        mandrillName === "ServiceUnavailable" ||
        mandrillName === "RequestLimitExceeded" ||
        mandrillName === "GeneralError" ||
        response.statusCode === 429;
      return {
        ok: false,
        retryable,
        ...(waitMs === undefined ? {} : { waitMs }),
        error: new MandrillKitApiError({
          mandrillName,
          status: response.statusCode,
          message: typeof message === "string" ? message : "(no message)",
          hint: hintFor(mandrillName),
          retryable,
        }),
      };
    }
    // Not Mandrill's JSON: a proxy or load balancer answered.
    const retryable = response.statusCode === 429 || response.statusCode >= 500;
    return {
      ok: false,
      retryable,
      ...(waitMs === undefined ? {} : { waitMs }),
      error: new MandrillKitApiError({
        mandrillName: response.statusCode === 429 ? "RequestLimitExceeded" : "GeneralError",
        status: response.statusCode,
        message: `HTTP ${response.statusCode} without a Mandrill error body`,
        hint:
          response.statusCode === 429
            ? hintFor("RequestLimitExceeded")
            : "Something between this server and Mandrill answered instead of Mandrill. Check any proxy and Mandrill's status page.",
        retryable,
      }),
    };
  }

  return {
    async call<T>(method: string, key: string, body: Record<string, unknown> = {}): Promise<T> {
      const payload = JSON.stringify({ ...body, key });
      for (let attempt = 1; ; attempt++) {
        const result = await once<T>(method, payload);
        if (result.ok) return result.value;
        if (!result.retryable || attempt >= maxAttempts) throw result.error;
        if (result.waitMs !== undefined && result.waitMs > maxRetryAfterMs) throw result.error;
        senderInstruments(telemetry).retries.add(1, { "mandrill_kit.api.method": method });
        // Full jitter, capped; never sooner than Mandrill's Retry-After.
        const backoff = Math.random() * Math.min(retryMaxMs, retryBaseMs * 2 ** (attempt - 1));
        await sleep(Math.max(backoff, result.waitMs ?? 0));
      }
    },
    async close() {
      await pool.close();
    },
  };
}

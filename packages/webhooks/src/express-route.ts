import { isAccountId, type Logger, silentLogger } from "@mandrill-kit/core";
import { componentLogger, endSpan, incomingContext } from "@mandrill-kit/core/plugin";
import { type Context, SpanKind, trace } from "@opentelemetry/api";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { diagnoseMismatch } from "./diagnose.js";
import { FormBodyError, WebhookNotStoredError } from "./errors.js";
import { checkFormContentType } from "./form-body.js";
import type { DiagnosisLog } from "./mismatch-diagnoses.js";
import type { ParseJobResult } from "./parse-job.js";
import { type ParsePool, ParseThreadStartError } from "./parse-pool.js";
import { readRawBody } from "./read-body.js";
import { type Received, receive, receiveParsed, type WebhookReply } from "./receive.js";
import type { BatchOutcome } from "./telemetry.js";
import { bodyRefusal, type Refusal, type VerifyRequestInput, verifyRequest } from "./verify-request.js";
import type { RouterDeps, WebhooksConfig } from "./webhooks-options.js";

/** What the Express route needs from its `mandrillWebhooks()`. */
export interface RouteState {
  config: WebhooksConfig;
  deps: RouterDeps;
  diagnosisLog: DiagnosisLog;
  /** Called after a batch with new events was stored and answered. */
  afterIngest(): void;
  /**
   * The event types to store as already done: `skipHandlersFor`, plus, while this process dispatches,
   * the types none of its handlers wants (its dispatcher would complete them unrun a moment later).
   */
  doneTypes(): ReadonlySet<string>;
  /** The parse threads (started on first call), or `undefined` when there are none (0, or closed). */
  parsePool(): ParsePool | undefined;
}

const log = (logger: Logger | undefined) =>
  componentLogger(logger ?? silentLogger, { component: "webhooks" });

type BodyPart = Pick<VerifyRequestInput, "body" | "form">;

/** Reads the POST body (or takes the one a host parser read), refusing wrong types, size and slowness. */
async function readPost(
  req: Request,
  limits: { limitBytes: number; timeoutMs: number },
  into: (size: number) => Buffer | undefined,
): Promise<{ part: BodyPart; bytes: number } | { refusal: Refusal }> {
  try {
    // Before reading: a body of the wrong type is never read.
    checkFormContentType(req.get("content-type"));
    if (req.body !== undefined && req.readableEnded) {
      const form: unknown = req.body;
      const bytes =
        typeof form === "object" && form !== null && !Buffer.isBuffer(form)
          ? Object.entries(form).reduce((n, [k, v]) => n + k.length + String(v).length, 0)
          : String(form).length;
      return { part: { form }, bytes };
    }
    const body = await readRawBody(req, limits, into);
    return { part: { body }, bytes: body.length };
  } catch (error) {
    if (error instanceof FormBodyError) return { refusal: bodyRefusal(error) };
    throw error;
  }
}

function send(res: Response, reply: WebhookReply): void {
  if (reply.closeConnection) res.set("Connection", "close");
  res.status(reply.status).type(reply.contentType).send(reply.body);
}

/**
 * Makes sure an error the router hands to the host's error handler never reaches Mandrill as a 2xx
 * or 3xx: that would acknowledge a batch that was not stored, and Mandrill would not send it again.
 */
export function neverSuccess(res: Response, status: number): void {
  const writeHead = res.writeHead as (...args: unknown[]) => Response;
  res.statusCode = status;
  res.writeHead = function guardedWriteHead(this: Response, code: unknown, ...rest: unknown[]) {
    return writeHead.call(this, typeof code === "number" && code < 400 ? status : code, ...rest);
  } as typeof res.writeHead;
}

/** Diagnoses a signature mismatch after the answer was sent, when small enough and not rate-limited. */
function afterMismatch(
  state: RouteState,
  req: Request,
  mismatch: { refusal: Refusal; account: string; keys: string[]; bytes: number },
): void {
  const { refusal, account, keys } = mismatch;
  if (keys.length === 0 || (refusal.reason !== "signature-mismatch" && refusal.reason !== "no-signature"))
    return;
  const admitted = state.diagnosisLog.admit(account, mismatch.bytes);
  if (admitted !== "diagnose") {
    log(state.deps.logger).debug({ account, reason: admitted }, "webhook signature mismatch (not diagnosed)");
    return;
  }
  const diagnosis = diagnoseMismatch({
    account,
    callbackUrl: state.deps.urlOf(account),
    keys,
    form: refusal.form ?? {},
    signature: refusal.signature,
    seenUrl: `${req.protocol}://${req.get("host") ?? ""}${req.originalUrl}`,
    at: state.config.clock.now(),
  });
  state.diagnosisLog.record(diagnosis);
  log(state.deps.logger).warn(
    { account, finding: diagnosis.finding },
    `webhook signature mismatch: ${diagnosis.finding}`,
  );
}

/** A request header as `verifyRequest` reads it: a string, or undefined (absent or repeated). */
function stringHeader(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === "string" ? value : undefined;
}

const accountOf = (state: RouteState, req: Request) =>
  state.config.single ? state.config.singleAccount : String(req.params.account ?? "");

/** One request under its span (`mandrill_kit.webhooks.request`), child of the caller's W3C trace context. */
async function handle(state: RouteState, req: Request, res: Response): Promise<void> {
  const tracer = state.deps.telemetry.tracer();
  const { parent, remote } = incomingContext(req.headers);
  const span = tracer.startSpan(
    "mandrill_kit.webhooks.request",
    { kind: remote ? SpanKind.SERVER : SpanKind.INTERNAL, attributes: { "http.request.method": req.method } },
    parent,
  );
  try {
    const counted = await handleRequest(state, req, res, trace.setSpan(parent, span));
    span.setAttribute("http.response.status_code", res.statusCode);
    if (counted !== undefined) span.setAttribute("mandrill_kit.outcome", counted);
    endSpan(span);
  } catch (error) {
    endSpan(span, error);
    throw error;
  }
}

async function handleRequest(
  state: RouteState,
  req: Request,
  res: Response,
  traceContext: Context,
): Promise<BatchOutcome | undefined> {
  const { config, deps: d } = state;
  const tracer = d.telemetry.tracer();
  const account = accountOf(state, req);
  const receiving = {
    store: d.store,
    policy: d.policy,
    skipHandlersFor: state.doneTypes(),
    logger: d.logger,
    telemetry: d.telemetry,
    traceContext,
  };
  const answer = (r: WebhookReply) => {
    const span = tracer.startSpan(
      "mandrill_kit.webhooks.reply",
      { attributes: { "http.response.status_code": r.status } },
      traceContext,
    );
    send(res, r);
    span.end();
  };
  if (req.method !== "POST") {
    const probe = verifyRequest({ method: req.method, headers: {}, account, callbackUrl: "", keys: [] });
    answer((await receive(probe, receiving)).reply);
    return undefined;
  }
  // The parse threads take bodies from parseThreadMinBytes up; such a body is gathered in memory a
  // thread gave back (no fresh pages per batch).
  const threadsFor = (size: number) => (size >= config.parseThreadMinBytes ? state.parsePool() : undefined);
  const read = await readPost(
    req,
    { limitBytes: config.bodyLimitBytes, timeoutMs: config.bodyTimeoutMs },
    (size) => threadsFor(size)?.bodyBuffer(size),
  );
  if ("refusal" in read) {
    const received = await receive(read.refusal, receiving);
    answer(received.reply);
    return received.counted;
  }
  const verifySpan = tracer.startSpan("mandrill_kit.webhooks.verify", {}, traceContext);
  const accountOk = isAccountId(account);
  let keys: string[];
  try {
    keys = accountOk ? await d.keysOf(account) : [];
  } catch (error) {
    endSpan(verifySpan, error);
    throw error;
  }
  const callbackUrl = accountOk ? d.urlOf(account) : "";
  const { body } = read.part;
  const pool = Buffer.isBuffer(body) ? threadsFor(body.length) : undefined;
  let received: Received;
  let refusal: Refusal | undefined;
  // Decoding, the signature, parsing and the inbox inputs run in a parse thread when there is one.
  const receivedAt = config.clock.now();
  let job: ParseJobResult | undefined;
  if (pool !== undefined && Buffer.isBuffer(body)) {
    try {
      job = await pool.run({
        body,
        contentType: stringHeader(req, "content-type"),
        signature: stringHeader(req, "x-mandrill-signature"),
        account,
        callbackUrl,
        keys,
        policy: d.policy,
        receivedAt,
        skipHandlersFor: [...receiving.skipHandlersFor],
      });
    } catch (error) {
      // Threads could not start: the body was never handed over, so it is parsed here.
      if (!(error instanceof ParseThreadStartError)) {
        endSpan(verifySpan, error);
        throw error;
      }
    }
  }
  if (job !== undefined) {
    if (job.kind === "refusal") refusal = job.refusal;
    verifySpan.setAttribute("mandrill_kit.verified", job.kind !== "refusal");
    verifySpan.end();
    received = await receiveParsed(job, account, { ...receiving, receivedAt });
  } else {
    const verified = verifyRequest({
      method: "POST",
      headers: req.headers,
      ...read.part,
      account,
      callbackUrl,
      keys,
    });
    if (!verified.ok) refusal = verified;
    verifySpan.setAttribute("mandrill_kit.verified", verified.ok);
    verifySpan.end();
    received = await receive(verified, { ...receiving, receivedAt });
  }
  const { reply, outcome, counted } = received;
  answer(reply);
  try {
    if (refusal !== undefined && refusal.status === 401)
      afterMismatch(state, req, { refusal, account, keys, bytes: read.bytes });
    if (outcome?.status === "ingested" && outcome.result.inserted.length > 0) state.afterIngest();
  } catch (error) {
    log(d.logger).error({ account, err: error }, "webhook bookkeeping after the answer failed");
  }
  return counted;
}

function failed(state: RouteState, req: Request, res: Response, next: NextFunction, error: unknown): void {
  const account = accountOf(state, req);
  log(state.deps.logger).error(
    { account, err: error },
    "webhook batch not stored; answered 503 so Mandrill retries it",
  );
  if (res.headersSent) return;
  neverSuccess(res, 503);
  next(error instanceof WebhookNotStoredError ? error : new WebhookNotStoredError(account, { cause: error }));
}

/** The Express router: HEAD, GET and POST on the webhook path; other methods fall through. */
export function buildRouter(state: RouteState): Router {
  const r = express.Router();
  r.all(state.deps.path, function mandrillWebhooksRoute(req, res, next) {
    if (req.method !== "POST" && req.method !== "HEAD" && req.method !== "GET") {
      next();
      return;
    }
    handle(state, req, res).catch((error: unknown) => failed(state, req, res, next, error));
  });
  return r;
}

import {
  errorResponse,
  MandrillKitError,
  MandrillKitNotFoundError,
  MandrillKitSendError,
  MandrillKitValidationError,
  requireAccountId,
} from "@mandrill-kit/core";
import express, { type NextFunction, type Request, type Response, Router } from "express";
import { type AppDeps, parseRecipients, recipientsView, settingsView } from "./deps.js";
import { registerCallbackUrl } from "./register-webhook.js";
import { safeEqual } from "./session.js";
import { exportCsv, importCsv, manualSuppression, parseReason, suppressionItem } from "./suppressions.js";

function unauthorized(res: Response): void {
  res
    .status(401)
    .set("WWW-Authenticate", 'Bearer realm="mandrill-kit"')
    .json({
      error: {
        code: "ERR_UNAUTHORIZED",
        message: "Send the admin token as Authorization: Bearer <ADMIN_TOKEN>.",
      },
    });
}

function account(req: Request): string {
  return requireAccountId(req.params.account);
}

function bodyOf(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new MandrillKitValidationError(
      "ERR_MK_VALIDATION_FAILED",
      "Send a JSON object (Content-Type: application/json).",
      [{ field: "", message: "must be a JSON object" }],
    );
  }
  return body as Record<string, unknown>;
}

function rateLimited(res: Response, retryAfterSeconds: number): void {
  res
    .status(429)
    .set("Retry-After", String(retryAfterSeconds))
    .json({
      error: {
        code: "ERR_RATE_LIMITED",
        message: `Too many requests; try again in ${retryAfterSeconds} s.`,
      },
    });
}

/** The JSON API under `/api` (Bearer ADMIN_TOKEN), mirroring the pages. */
export function apiRouter(deps: AppDeps): Router {
  const { store, credentials, sender } = deps;
  const router = Router();
  router.use(function bearerAuth(req: Request, res: Response, next: NextFunction) {
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match?.[1] === undefined || !safeEqual(match[1], deps.adminToken)) {
      unauthorized(res);
      return;
    }
    res.set("Cache-Control", "no-store");
    next();
  });
  router.use(express.json({ limit: "64kb" }));
  router.use(express.text({ type: ["text/csv", "text/plain"], limit: "2mb" }));

  router.get("/accounts", async (req, res) => {
    const page = await credentials.list({
      limit: Number(req.query.limit) || 100,
      after: typeof req.query.after === "string" ? req.query.after : null,
    });
    res.json({
      items: page.items.map((s) => ({ ...s, updatedAt: new Date(s.updatedAt).toISOString() })),
      next: page.next,
    });
  });

  router.get("/accounts/:account/mandrill", async (req, res) => {
    const d = await credentials.describe(account(req));
    if (d === undefined)
      throw new MandrillKitNotFoundError(`Account "${req.params.account}" has no Mandrill settings yet.`);
    res.json(settingsView(d));
  });

  router.put("/accounts/:account/mandrill", async (req, res) => {
    const id = account(req);
    const existed = (await credentials.describe(id)) !== undefined;
    const body = bodyOf(req);
    const { expectedVersion, ...input } = body;
    const saved = await credentials.save(
      id,
      input,
      typeof expectedVersion === "number" ? { expectedVersion } : {},
    );
    res.status(existed ? 200 : 201).json(settingsView(saved));
  });

  router.post("/accounts/:account/test-email", async (req, res) => {
    const id = account(req);
    const limit = deps.limits.testEmail.take(`${req.ip}|${id}`);
    if (!limit.ok) {
      rateLimited(res, limit.retryAfterSeconds);
      return;
    }
    const to = bodyOf(req).to;
    if (typeof to !== "string" || to.trim() === "") {
      throw new MandrillKitValidationError("ERR_MK_VALIDATION_FAILED", "Say where to send the test email.", [
        { field: "to", message: "must be an email address" },
      ]);
    }
    const result = await sender.sendTestEmail(id, to.trim());
    res.json(result);
  });

  router.post("/accounts/:account/send", async (req, res) => {
    const id = account(req);
    const body = bodyOf(req);
    const to = parseRecipients(body.to);
    const fields = [];
    if (to.length === 0) fields.push({ field: "to", message: "must name at least one recipient" });
    if (typeof body.subject !== "string" || body.subject.trim() === "")
      fields.push({ field: "subject", message: "must not be empty" });
    if (body.text !== undefined && typeof body.text !== "string")
      fields.push({ field: "text", message: "must be text" });
    if (body.html !== undefined && typeof body.html !== "string")
      fields.push({ field: "html", message: "must be text" });
    if (fields.length > 0)
      throw new MandrillKitValidationError("ERR_MK_VALIDATION_FAILED", "The message is not valid.", fields);
    try {
      const result = await sender.send(id, {
        to,
        subject: body.subject as string,
        ...(typeof body.text === "string" ? { text: body.text } : {}),
        ...(typeof body.html === "string" ? { html: body.html } : {}),
        ...(body.text === undefined && body.html === undefined ? { text: body.subject as string } : {}),
      });
      res.json({
        transport: result.transport,
        correlationId: result.correlationId,
        recipients: recipientsView(result),
      });
    } catch (error) {
      if (error instanceof MandrillKitSendError) {
        const { status, body: errorBody } = errorResponse(error);
        res.status(status).json({ ...errorBody, recipients: recipientsView(error.result) });
        return;
      }
      throw error;
    }
  });

  router.get("/accounts/:account/suppressions", async (req, res) => {
    const id = account(req);
    const reason = parseReason(req.query.reason);
    const status = req.query.status;
    const page = await store.suppressions.list(id, {
      ...(reason === undefined ? {} : { reason }),
      ...(typeof req.query.search === "string" && req.query.search !== ""
        ? { search: req.query.search }
        : {}),
      ...(status === "active" || status === "expired" || status === "lifted" || status === "all"
        ? { status }
        : {}),
      limit: Math.min(Number(req.query.limit) || 100, 1000),
      after: typeof req.query.after === "string" ? req.query.after : null,
    });
    res.json({ items: page.items.map(suppressionItem), next: page.next });
  });

  router.post("/accounts/:account/suppressions", async (req, res) => {
    const id = account(req);
    const added = await store.suppressions.add(manualSuppression(id, bodyOf(req)));
    res
      .status(added.status === "added" ? 201 : 200)
      .json({ status: added.status, item: suppressionItem(added.suppression) });
  });

  router.get("/accounts/:account/suppressions.csv", async (req, res) => {
    const id = account(req);
    res
      .type("text/csv")
      .set("Content-Disposition", `attachment; filename="suppressions-${id}.csv"`)
      .send(await exportCsv(store, id));
  });

  router.post("/accounts/:account/suppressions.csv", async (req, res) => {
    const id = account(req);
    if (typeof req.body !== "string") {
      throw new MandrillKitValidationError(
        "ERR_MK_VALIDATION_FAILED",
        "Send the CSV with Content-Type: text/csv.",
        [{ field: "csv", message: "missing" }],
      );
    }
    res.json(await importCsv(store, id, req.body));
  });

  router.delete("/accounts/:account/suppressions/:email", async (req, res) => {
    const id = account(req);
    const reasonText =
      typeof req.query.reason === "string" && req.query.reason.trim() !== ""
        ? req.query.reason.trim()
        : "lifted through the API";
    const lifted = await store.suppressions.remove(id, req.params.email as string, {
      by: "admin-api",
      reason: reasonText,
    });
    if (!lifted) throw new MandrillKitNotFoundError(`${req.params.email} is not suppressed for "${id}".`);
    res.status(204).end();
  });

  router.get("/accounts/:account/diagnostics", async (req, res) => {
    res.json(await sender.diagnose(account(req)));
  });

  router.get("/accounts/:account/events", async (req, res) => {
    const id = account(req);
    const state = req.query.state;
    const page = await store.inbox.list(id, {
      ...(state === "pending" || state === "done" || state === "dead" ? { state } : {}),
      ...(typeof req.query.type === "string" && req.query.type !== "" ? { type: req.query.type } : {}),
      limit: Math.min(Number(req.query.limit) || 100, 1000),
      after: typeof req.query.after === "string" ? req.query.after : null,
    });
    res.json({
      items: page.items.map((e) => ({
        key: e.key,
        type: e.type,
        email: e.email,
        messageId: e.messageId,
        state: e.state,
        attempts: e.attempts,
        lastError: e.lastError,
        eventAt: e.eventAt === null ? null : new Date(e.eventAt).toISOString(),
        receivedAt: new Date(e.receivedAt).toISOString(),
      })),
      next: page.next,
      stats: await store.inbox.stats(id),
    });
  });

  router.post("/accounts/:account/events/:key/replay", async (req, res) => {
    const id = account(req);
    if (!(await deps.webhooks.replay(id, req.params.key as string)))
      throw new MandrillKitNotFoundError("No such event.");
    res.json({ replayed: true });
  });

  router.post("/accounts/:account/register-webhook", async (req, res) => {
    const id = account(req);
    const events =
      req.body !== undefined && Array.isArray((req.body as { events?: unknown }).events)
        ? ((req.body as { events: unknown[] }).events.filter((e) => typeof e === "string") as string[])
        : undefined;
    res.json(await registerCallbackUrl({ credentials, api: sender.api }, id, events));
  });

  router.use((_req: Request, res: Response) => {
    res.status(404).json({ error: { code: "ERR_NOT_FOUND", message: "No such API route." } });
  });

  router.use(function apiErrors(error: unknown, _req: Request, res: Response, _next: NextFunction) {
    // Body-parser errors carry an HTTP status (400 bad JSON, 413 too large, 415).
    const status = (error as { status?: unknown }).status;
    if (!(error instanceof MandrillKitError) && typeof status === "number" && status >= 400 && status < 500) {
      res.status(status).json({ error: { code: "ERR_BAD_REQUEST", message: (error as Error).message } });
      return;
    }
    const mapped = errorResponse(error);
    if (mapped.status >= 500 && !(error instanceof MandrillKitError))
      deps.log.error({ error }, "API request failed");
    res.status(mapped.status).json(mapped.body);
  });
  return router;
}

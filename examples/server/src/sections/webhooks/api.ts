import { MandrillKitNotFoundError } from "@mandrill-kit/core";
import { Router } from "express";
import type { AppDeps } from "../../deps.js";
import { accountParam, afterParam, limitParam } from "../json.js";
import { syncAfterRegister } from "../suppressions/sync.js";
import { registerCallbackUrl } from "./register.js";

/** Received events (`GET …/events`), replay, and registering the Callback URL with Mandrill. */
export function webhooksApi(deps: AppDeps): Router {
  const { store } = deps;
  const router = Router();

  router.get("/accounts/:account/events", async (req, res) => {
    const id = accountParam(req);
    const state = req.query.state;
    const page = await store.inbox.list(id, {
      ...(state === "pending" || state === "done" || state === "dead" ? { state } : {}),
      ...(typeof req.query.type === "string" && req.query.type !== "" ? { type: req.query.type } : {}),
      limit: limitParam(req, 100),
      after: afterParam(req),
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
    const id = accountParam(req);
    if (!(await deps.webhooks.replay(id, req.params.key as string)))
      throw new MandrillKitNotFoundError("No such event.");
    res.json({ replayed: true });
  });

  router.post("/accounts/:account/register-webhook", async (req, res) => {
    const id = accountParam(req);
    const events =
      req.body !== undefined && Array.isArray((req.body as { events?: unknown }).events)
        ? ((req.body as { events: unknown[] }).events.filter((e) => typeof e === "string") as string[])
        : undefined;
    const registered = await registerCallbackUrl(
      { credentials: deps.credentials, api: deps.sender.api },
      id,
      events,
    );
    res.json({ ...registered, denylistSync: await syncAfterRegister(deps, id) });
  });
  return router;
}

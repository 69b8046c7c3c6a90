import { createMemoryStore, isMandrillKitError, MandrillKitError, type Store } from "@mandrill-kit/core";
import { type MandrillWebhooks, mandrillWebhooks, WebhookNotStoredError } from "@mandrill-kit/webhooks";
import { eventFixtures, signWebhook } from "@mandrill-kit/webhooks/testing";
import express, { type NextFunction, type Request, type Response } from "express";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { FormBodyError } from "../src/errors.js";
import { decodeFormBody } from "../src/form-body.js";
import { withInbox } from "./helpers.js";

const PUBLIC_URL = "https://hooks.example.com";
const KEY = "whk-acme-0123456789abcdef";

const closables: (MandrillWebhooks | Store)[] = [];
afterEach(async () => {
  for (const c of closables.splice(0)) await c.close();
});

/** A memory store whose ingest fails like a full disk. */
function failingStore(): Store {
  const store = createMemoryStore();
  closables.push(store);
  return withInbox(store, { ingest: () => Promise.reject(new Error("disk I/O error")) });
}

function appWith(errorHandler?: (error: unknown, req: Request, res: Response, next: NextFunction) => void) {
  const webhooks = mandrillWebhooks({
    store: failingStore(),
    publicUrl: PUBLIC_URL,
    webhookKeys: () => [KEY],
  });
  closables.push(webhooks);
  const app = express();
  app.use(webhooks);
  if (errorHandler !== undefined) app.use(errorHandler);
  const signed = signWebhook({
    key: KEY,
    url: `${PUBLIC_URL}/webhooks/mandrill/acme`,
    events: [eventFixtures.hard_bounce()],
  });
  return () => request(app).post("/webhooks/mandrill/acme").set(signed.headers).send(signed.body);
}

describe("a batch the router could not store", () => {
  it("reaches the host's error handler as ERR_MK_WEBHOOK_NOT_STORED with status 503 and the cause", async () => {
    const seen: unknown[] = [];
    const post = appWith((error, _req, res, _next) => {
      seen.push(error);
      res.status((error as { status?: number }).status ?? 500).json({ error: "webhook failed" });
    });
    const response = await post();
    expect(response.status).toBe(503);
    expect(seen).toHaveLength(1);
    const error = seen[0] as WebhookNotStoredError;
    expect(error).toBeInstanceOf(WebhookNotStoredError);
    expect(isMandrillKitError(error, "ERR_MK_WEBHOOK_NOT_STORED")).toBe(true);
    expect(error).toMatchObject({ status: 503, expose: false, account: "acme" });
    expect((error.cause as Error).message).toBe("disk I/O error");
    expect(error.message).not.toMatch(/disk I\/O/);
  });

  it.each<[string, (res: Response) => void]>([
    ["200", (res) => void res.status(200).send("handled")],
    ["a redirect", (res) => res.redirect("/oops")],
    ["a bare end()", (res) => res.end()],
  ])(
    "is never acknowledged to Mandrill, even when the host's error handler answers %s",
    async (_what, answer) => {
      const post = appWith((_error, _req, res, _next) => answer(res));
      expect((await post()).status).toBe(503);
    },
  );

  it("gets 503 from Express's own error handler when the host has none, without the cause", async () => {
    const response = await appWith()();
    expect(response.status).toBe(503);
    expect(response.text).not.toMatch(/disk I\/O/);
  });
});

describe("a webhook route used before the kit is mounted", () => {
  it("passes ERR_MK_KIT_NOT_MOUNTED to the host's error handler with status 500, never a 2xx", async () => {
    const webhooks = mandrillWebhooks();
    closables.push(webhooks);
    const app = express();
    app.use(webhooks);
    const seen: unknown[] = [];
    app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      seen.push(error);
      res.status(200).send("swallowed");
    });
    const response = await request(app)
      .post("/webhooks/mandrill/acme")
      .type("form")
      .send("mandrill_events=%5B%5D");
    expect(response.status).toBe(500);
    expect(seen[0]).toMatchObject({ code: "ERR_MK_KIT_NOT_MOUNTED", status: 500 });
  });
});

describe("a refused form body", () => {
  it("is a MandrillKitError with code ERR_MK_WEBHOOK_BODY_REFUSED and the HTTP status", () => {
    let thrown: unknown;
    try {
      decodeFormBody("mandrill_events=%ZZ");
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FormBodyError);
    expect(thrown).toBeInstanceOf(MandrillKitError);
    expect(thrown).toMatchObject({ code: "ERR_MK_WEBHOOK_BODY_REFUSED", status: 400 });
  });
});

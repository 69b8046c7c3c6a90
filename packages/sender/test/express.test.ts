import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMandrillKitError, MandrillKitApiError, type Store } from "@mandrill-kit/core";
import type { MandrillKitMiddleware } from "@mandrill-kit/credentials";
import { type MandrillSenderMiddleware, mandrillSender, type Sender } from "@mandrill-kit/sender";
import { DEMO_KEYS, type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from "express";
import request from "supertest";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FAST_API, LOCAL_NETWORK, newKit, sendsOf, uniqueEmail } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "mk-sender-express-"));

let sim: Simulator;
let store: Store;
let kit: MandrillKitMiddleware;
const middlewares: MandrillSenderMiddleware[] = [];

/** Answers errors as JSON with the kit's code, like a host app's error handler. */
const onError: ErrorRequestHandler = (error, _req, res, _next) => {
  const status = error instanceof MandrillKitApiError ? 502 : 500;
  res
    .status(status)
    .json({ code: isMandrillKitError(error) ? error.code : "unexpected", message: String(error.message) });
};

function tracked(middleware: MandrillSenderMiddleware): MandrillSenderMiddleware {
  middlewares.push(middleware);
  return middleware;
}

/** A host app: the kit, the sender with zero or given options, and `routes`. */
function hostApp(
  routes: (app: Express) => void,
  sender = tracked(mandrillSender({ api: { baseUrl: sim.apiUrl, ...FAST_API }, network: LOCAL_NETWORK })),
): Express {
  const app = express();
  app.use(express.json());
  app.use(kit);
  app.use(sender);
  routes(app);
  app.use(onError);
  return app;
}

beforeAll(async () => {
  sim = await startSimulator({ flushIntervalMs: 0, smtpPort: false });
  store = openSqliteStore({ filename: join(tmp, "kit.db") });
  kit = newKit(store);
  await kit.credentials.save("acme", {
    transport: "api",
    username: "demo@example.com",
    apiKey: DEMO_KEYS.valid,
    fromEmail: "hello@example.com",
  });
  await kit.credentials.save("broken", {
    transport: "api",
    username: "demo@example.com",
    apiKey: "md-unknown-key-0000000001",
    fromEmail: "hello@example.com",
  });
});

afterEach(() => {
  sim.control.clearFaults();
  sim.control.clearRecords();
});

afterAll(async () => {
  for (const m of middlewares) await m.close();
  await sim?.close();
  await store?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("mandrillSender()", () => {
  it("with zero arguments after mandrillKit() gives every route req.mandrill.send, sendTestEmail and diagnose", async () => {
    const middleware = tracked(mandrillSender());
    const app = hostApp((a) => {
      a.get("/probe", (req, res) => {
        res.json({
          send: typeof req.mandrill?.send,
          sendTestEmail: typeof req.mandrill?.sendTestEmail,
          diagnose: typeof req.mandrill?.diagnose,
        });
      });
    }, middleware);
    expect(middleware.sender).toBeUndefined();

    const res = await request(app).get("/probe");

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ send: "function", sendTestEmail: "function", diagnose: "function" });
    expect(middleware.sender).toBeDefined();
  });

  it("lets a route send for an account and return the result", async () => {
    const send: RequestHandler = async (req, res) => {
      const result = await req.mandrill?.send("acme", {
        to: req.body.email,
        subject: "You're invited",
        html: "<p>Hi</p>",
      });
      res.json(result);
    };
    const middleware = tracked(
      mandrillSender({ api: { baseUrl: sim.apiUrl, ...FAST_API }, network: LOCAL_NETWORK }),
    );
    const app = hostApp((a) => a.post("/invite", send), middleware);
    const alice = uniqueEmail("alice");

    const res = await request(app).post("/invite").send({ email: alice });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      account: "acme",
      transport: "api",
      recipients: [{ email: alice, status: "sent" }],
    });
    expect(sim.inspect.lastMessage()?.recipients.map((r) => r.email)).toEqual([alice]);
    expect(
      (await sendsOf(middleware.sender as Sender, store, "acme", alice)).map((s) => [s.status, s.messageId]),
    ).toEqual([["sent", res.body.recipients[0].messageId]]);
  });

  it("honours the kit's (SQLite) suppression list from a route", async () => {
    const gone = uniqueEmail("gone");
    await store.suppressions.add({ account: "acme", email: gone, reason: "unsub", source: "manual" });
    const send: RequestHandler = async (req, res) => {
      res.json(await req.mandrill?.send("acme", { to: req.body.email, text: "x" }));
    };
    const res = await request(hostApp((a) => a.post("/invite", send)))
      .post("/invite")
      .send({ email: gone });
    expect(res.body.recipients[0]).toMatchObject({ status: "suppressed", rejectReason: "unsub" });
    expect(sim.inspect.outbox()).toHaveLength(0);
  });

  it("lets a settings page route send a test email and run the diagnosis", async () => {
    const app = hostApp((a) => {
      a.post("/admin/email/test", async (req, res) => {
        res.json(await req.mandrill?.sendTestEmail("acme", req.body.to));
      });
      a.get("/admin/email/diagnosis", async (req, res) => {
        res.json(await req.mandrill?.diagnose("acme"));
      });
    });
    const to = uniqueEmail("admin");

    const test = await request(app).post("/admin/email/test").send({ to });
    expect(test.status).toBe(200);
    expect(test.body).toMatchObject({ ok: true, account: "acme", to, transport: "api" });

    const diagnosis = await request(app).get("/admin/email/diagnosis");
    expect(diagnosis.status).toBe(200);
    expect(diagnosis.body.checks).toContainEqual(expect.objectContaining({ id: "api-key", status: "pass" }));
  });

  it("lets a route's send errors reach Express's error handler", async () => {
    const send: RequestHandler = async (req, res) => {
      res.json(await req.mandrill?.send("broken", { to: uniqueEmail("x"), text: "x" }));
    };
    const res = await request(hostApp((a) => a.post("/invite", send))).post("/invite");
    expect(res.status).toBe(502);
    expect(res.body.code).toBe("ERR_MK_MANDRILL_API");
    expect(res.body.message).toContain("Invalid_Key");
  });

  it("creates one sender per app, shared by every request", async () => {
    const middleware = tracked(
      mandrillSender({ api: { baseUrl: sim.apiUrl, ...FAST_API }, network: LOCAL_NETWORK }),
    );
    const seen: unknown[] = [];
    const app = hostApp((a) => {
      a.get("/who", (req, res) => {
        seen.push(req.mandrill?.sender);
        res.end();
      });
    }, middleware);
    await request(app).get("/who");
    await request(app).get("/who");
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBeDefined();
    expect(seen[1]).toBe(seen[0]);
    expect(middleware.sender).toBe(seen[0]);
  });

  it("passes an error to next when the kit is not mounted, and the route never runs", async () => {
    const app = express();
    app.use(tracked(mandrillSender()));
    let reached = false;
    app.get("/invite", (_req, res) => {
      reached = true;
      res.end();
    });
    app.use(onError);

    const res = await request(app).get("/invite");

    expect(res.status).toBe(500);
    expect(res.body.code).toBe("ERR_MK_KIT_NOT_MOUNTED");
    expect(res.body.message).toContain("mandrillKit");
    expect(reached).toBe(false);
  });

  it("says so when the factory was mounted without being called", async () => {
    const app = express();
    app.use(kit);
    app.use(mandrillSender as unknown as RequestHandler);
    app.get("/invite", (_req, res) => {
      res.end();
    });
    app.use(onError);

    const res = await request(app).get("/invite");

    expect(res.status).toBe(500);
    expect(res.body.code).toBe("ERR_MK_CONFIG_INVALID");
    expect(res.body.message).toContain("mandrillSender()");
  });
});

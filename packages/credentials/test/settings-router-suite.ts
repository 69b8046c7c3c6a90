import { createMemoryStore, MandrillKitConfigError } from "@mandrill-kit/core";
import {
  addKey,
  createCredentials,
  type MandrillSettingsInput,
  type MandrillSettingsOptions,
  mandrillKit,
  mandrillSettings,
} from "@mandrill-kit/credentials";
import express, {
  type Express,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";

const KEYS = addKey(undefined, "k1");
const PUBLIC_URL = "https://app.example.com";
const BASE = "/admin/email";
const API_KEY = "md-RouterTestApiKey-0123456789";
const HOOK_1 = "whk-router-first-1111";
const HOOK_2 = "whk-router-second-2222";
const VALID: MandrillSettingsInput = {
  transport: "smtp",
  username: "owner@example.com",
  apiKey: API_KEY,
  fromEmail: "hello@example.com",
  fromName: "Acme",
};

/** The composition docs/design.md#plugin-composition shows: mandrillKit first, then the settings API behind an authorize hook. */
function kitApp(options: { globalJson?: boolean; before?: RequestHandler[] } = {}) {
  const kit = mandrillKit({ store: createMemoryStore(), keys: KEYS, publicUrl: PUBLIC_URL });
  const app = express();
  if (options.globalJson === true) app.use(express.json());
  for (const middleware of options.before ?? []) app.use(middleware);
  app.use(kit);
  app.use(BASE, mandrillSettings({ authorize: (req) => req.get("x-admin") === "yes" }));
  return { app, kit };
}

const asAdmin = (app: Express) => ({
  get: (path: string) =>
    request(app)
      .get(BASE + path)
      .set("x-admin", "yes"),
  put: (path: string, body?: string | object) =>
    request(app)
      .put(BASE + path)
      .set("x-admin", "yes")
      .send(body as object),
  delete: (path: string) =>
    request(app)
      .delete(BASE + path)
      .set("x-admin", "yes"),
});

/**
 * The settings router's behaviour in a host app. Run once per Express major: the Express 4 file mocks
 * "express" with Express 4, so both the host app and the router come from the same major, as in a
 * real install.
 */
export function settingsRouterSuite(expressMajor: "4" | "5"): void {
  it(`runs on Express ${expressMajor}`, () => {
    // Express 5 removed the query middleware: the one way to tell the majors apart from the module.
    expect("query" in express ? "4" : "5").toBe(expressMajor);
  });

  describe("mandrillSettings() creation", () => {
    it("refuses to be created without authorize (ERR_MK_CONFIG_AUTH_REQUIRED)", () => {
      let thrown: unknown;
      try {
        mandrillSettings({} as MandrillSettingsOptions);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(MandrillKitConfigError);
      expect((thrown as MandrillKitConfigError).code).toBe("ERR_MK_CONFIG_AUTH_REQUIRED");
      expect((thrown as Error).message).toContain("handled-upstream");
      expect(() => mandrillSettings(undefined as unknown as MandrillSettingsOptions)).toThrow(
        expect.objectContaining({ code: "ERR_MK_CONFIG_AUTH_REQUIRED" }),
      );
    });

    describe("app.use(mandrillSettings) with the factory not called", () => {
      // Express cannot tell at startup: the mistake shows on the first request, which Express hands the
      // factory as its "options". A user notices a failed request and reads the error.
      function misusedApp(): { app: Express; errors: unknown[] } {
        const errors: unknown[] = [];
        const app = express();
        app.use(mandrillKit({ store: createMemoryStore(), keys: KEYS, publicUrl: PUBLIC_URL }));
        // A JavaScript host makes this slip without a type error.
        app.use(BASE, mandrillSettings as unknown as express.RequestHandler);
        app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
          errors.push(error);
          res.status(500).json({ failed: true });
        });
        return { app, errors };
      }

      it("fails the first request with a configuration error instead of serving settings", async () => {
        const { app, errors } = misusedApp();
        const res = await asAdmin(app).get("/acme");
        expect(res.status).toBe(500);
        expect(errors).toHaveLength(1);
        expect(errors[0]).toBeInstanceOf(MandrillKitConfigError);
      });

      it("says in that error that mandrillSettings must be called", async () => {
        // Known bug: core's checkOptions only recognises a *function* passed as options. Express passes
        // the request object, so the error reads `does not know the option "_events"` — nothing tells
        // the user to write app.use(mandrillSettings({ authorize })).
        const { app, errors } = misusedApp();
        await asAdmin(app).get("/acme");
        const message = (errors[0] as Error).message;
        expect(message).toContain("app.use(mandrillSettings");
        expect(message).not.toContain("_events");
      });
    });
  });

  describe("mandrillSettings() behind mandrillKit()", () => {
    it("responds 403 without the admin header and changes nothing", async () => {
      const { app, kit } = kitApp();
      const put = await request(app).put(`${BASE}/acme`).send(VALID);
      expect(put.status).toBe(403);
      expect(put.body.error.code).toBe("ERR_MK_FORBIDDEN");
      expect((await request(app).get(`${BASE}/acme`)).status).toBe(403);
      expect(await kit.credentials.describe("acme")).toBeUndefined();
    });

    it("responds 404 ERR_MK_NOT_FOUND for an account without settings", async () => {
      const { app } = kitApp();
      const res = await asAdmin(app).get("/acme");
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: { code: "ERR_MK_NOT_FOUND", message: expect.any(String) } });
    });

    it("creates settings with PUT: 201 and the masked view with the Callback URL", async () => {
      const { app } = kitApp();
      const res = await asAdmin(app).put("/acme", { ...VALID, webhookKey: HOOK_1 });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        account: "acme",
        apiKey: `••••${API_KEY.slice(-4)}`,
        hasApiKey: true,
        fromEmail: "hello@example.com",
        callbackUrl: "https://app.example.com/webhooks/mandrill/acme",
        webhookKeys: [{ masked: `••••${HOOK_1.slice(-4)}`, current: true }],
      });
      expect(res.text).not.toContain(API_KEY);
      expect(res.text).not.toContain(HOOK_1);
      const get = await asAdmin(app).get("/acme");
      expect(get.status).toBe(200);
      expect(get.body).toEqual(res.body);
    });

    it("updates with PUT without apiKey: 200, the API key kept", async () => {
      const { app, kit } = kitApp();
      await asAdmin(app).put("/acme", VALID);
      const res = await asAdmin(app).put("/acme", { fromName: "Acme Billing", apiKey: "" });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ fromName: "Acme Billing", hasApiKey: true, version: 2 });
      expect((await kit.credentials.get("acme"))?.apiKey?.reveal()).toBe(API_KEY);
    });

    it("responds 422 with every field error for an invalid body", async () => {
      const { app, kit } = kitApp();
      const res = await asAdmin(app).put("/acme", {
        ...VALID,
        port: 70_000,
        fromEmail: "nobody",
        colour: "x",
      });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe("ERR_MK_VALIDATION_FAILED");
      expect(res.body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual([
        "colour",
        "fromEmail",
        "port",
      ]);
      expect(await kit.credentials.describe("acme")).toBeUndefined();
    });

    it("responds 409 to a stale expectedVersion", async () => {
      const { app } = kitApp();
      await asAdmin(app).put("/acme", VALID);
      expect((await asAdmin(app).put("/acme", { fromName: "Two", expectedVersion: 1 })).status).toBe(200);
      const res = await asAdmin(app).put("/acme", { fromName: "Three", expectedVersion: 1 });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe("ERR_MK_STORE_CONFLICT");
      expect((await asAdmin(app).get("/acme")).body.fromName).toBe("Two");
    });

    it("responds 422 to an expectedVersion that is not a whole number", async () => {
      const { app } = kitApp();
      const res = await asAdmin(app).put("/acme", { ...VALID, expectedVersion: "1" });
      expect(res.status).toBe(422);
      expect(res.body.error.fields).toEqual([{ field: "expectedVersion", message: expect.any(String) }]);
    });

    it("responds 415 to a body that is not JSON", async () => {
      const { app } = kitApp();
      const res = await asAdmin(app).put("/acme").set("Content-Type", "text/plain").send("fromEmail=a@b.c");
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe("ERR_MK_VALIDATION_FAILED");
    });

    it("responds 400 to broken JSON", async () => {
      const { app } = kitApp();
      const res = await asAdmin(app)
        .put("/acme")
        .set("Content-Type", "application/json")
        .send('{"fromEmail":');
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: "ERR_MK_VALIDATION_FAILED", message: expect.any(String) });
    });

    it("responds 413 to a body over the limit", async () => {
      const { app, kit } = kitApp();
      const res = await asAdmin(app).put("/acme", { ...VALID, fromName: "x".repeat(20_000) });
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe("ERR_MK_VALIDATION_FAILED");
      expect(await kit.credentials.describe("acme")).toBeUndefined();
    });

    it("removes one webhook key by id with DELETE …/webhook-keys/:id", async () => {
      const { app, kit } = kitApp();
      const first = await asAdmin(app).put("/acme", { ...VALID, webhookKey: HOOK_1 });
      await asAdmin(app).put("/acme", { webhookKey: HOOK_2 });
      const id = first.body.webhookKeys[0].id as string;
      const res = await asAdmin(app).delete(`/acme/webhook-keys/${id}`);
      expect(res.status).toBe(200);
      expect(res.body.webhookKeys.map((k: { id: string }) => k.id)).not.toContain(id);
      expect(res.body.webhookKeys).toEqual([expect.objectContaining({ masked: `••••${HOOK_2.slice(-4)}` })]);
      expect((await kit.credentials.webhookKeys("acme")).map((k) => k.reveal())).toEqual([HOOK_2]);
      expect((await asAdmin(app).delete(`/acme/webhook-keys/${id}`)).status).toBe(404);
    });

    it("deletes settings with DELETE: 204, then GET answers 404", async () => {
      const { app } = kitApp();
      await asAdmin(app).put("/acme", VALID);
      const res = await asAdmin(app).delete("/acme");
      expect(res.status).toBe(204);
      expect(res.text).toBe("");
      expect((await asAdmin(app).get("/acme")).status).toBe(404);
      expect((await asAdmin(app).delete("/acme")).status).toBe(404);
    });

    it.each([
      ["starting with a dash", "/-acme"],
      ["with ..", "/acme..corp"],
      ["with a space", "/acme%20corp"],
    ])("responds 400 to an account id %s", async (_what, path) => {
      const { app } = kitApp();
      for (const res of [await asAdmin(app).get(path), await asAdmin(app).put(path, VALID)]) {
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe("ERR_MK_ACCOUNT_INVALID");
      }
    });

    it("sends Cache-Control: no-store on settings and error responses", async () => {
      const { app } = kitApp();
      const responses = [
        await asAdmin(app).get("/acme"),
        await asAdmin(app).put("/acme", { ...VALID, webhookKey: HOOK_1 }),
        await asAdmin(app).put("/acme", { fromName: "Two" }),
        await asAdmin(app).get("/acme"),
        await asAdmin(app).put("/acme", { port: 0 }),
        await asAdmin(app).put("/acme").set("Content-Type", "text/plain").send("x"),
        await asAdmin(app).put("/acme").set("Content-Type", "application/json").send("{"),
        await request(app).get(`${BASE}/acme`),
        await asAdmin(app).get("/-bad"),
      ];
      const id = responses[3]?.body.webhookKeys[0].id as string;
      responses.push(await asAdmin(app).delete(`/acme/webhook-keys/${id}`));
      expect(responses.map((r) => r.status)).toEqual([404, 201, 200, 200, 422, 415, 400, 403, 400, 200]);
      for (const res of responses) expect(res.get("Cache-Control")).toBe("no-store");
    });
  });

  describe("mandrillSettings() in other host setups", () => {
    it("works when the host mounted express.json() globally before it", async () => {
      const { app, kit } = kitApp({ globalJson: true });
      const created = await asAdmin(app).put("/acme", { ...VALID, webhookKey: HOOK_1 });
      expect(created.status).toBe(201);
      const updated = await asAdmin(app).put("/acme", { fromName: "Global JSON" });
      expect(updated.status).toBe(200);
      expect(updated.body).toMatchObject({ fromName: "Global JSON", hasApiKey: true });
      expect((await asAdmin(app).put("/acme", { port: "abc" })).status).toBe(422);
      expect((await asAdmin(app).put("/acme").set("Content-Type", "text/plain").send("x")).status).toBe(415);
      expect((await kit.credentials.get("acme"))?.apiKey?.reveal()).toBe(API_KEY);
    });

    it('works with explicit { credentials } and authorize: "handled-upstream" behind the host\'s auth', async () => {
      const credentials = createCredentials({
        store: createMemoryStore(),
        keys: KEYS,
        publicUrl: PUBLIC_URL,
      });
      const app = express();
      const requireAdmin = (req: Request, res: Response, next: NextFunction) => {
        if (req.get("authorization") === "Bearer admin-token") next();
        else res.status(401).json({ error: { code: "HOST_UNAUTHORIZED", message: "log in" } });
      };
      app.use(BASE, requireAdmin, mandrillSettings({ credentials, authorize: "handled-upstream" }));
      expect((await request(app).put(`${BASE}/acme`).send(VALID)).status).toBe(401);
      const res = await request(app)
        .put(`${BASE}/acme`)
        .set("Authorization", "Bearer admin-token")
        .send({ ...VALID, webhookKey: HOOK_1 });
      expect(res.status).toBe(201);
      expect(res.body.callbackUrl).toBe("https://app.example.com/webhooks/mandrill/acme");
      expect((await credentials.webhookKeys("acme")).map((k) => k.reveal())).toEqual([HOOK_1]);
      const get = await request(app).get(`${BASE}/acme`).set("Authorization", "Bearer admin-token");
      expect(get.status).toBe(200);
    });

    it("responds 500 ERR_MK_KIT_NOT_MOUNTED without mandrillKit() and without { credentials }", async () => {
      const app = express();
      app.use(BASE, mandrillSettings({ authorize: () => true }));
      for (const res of [
        await request(app).get(`${BASE}/acme`),
        await request(app).put(`${BASE}/acme`).send(VALID),
      ]) {
        expect(res.status).toBe(500);
        expect(res.body.error.code).toBe("ERR_MK_KIT_NOT_MOUNTED");
        expect(res.body.error.message).toContain("mandrillKit");
      }
    });

    it("passes the account to the authorize hook", async () => {
      const kit = mandrillKit({ store: createMemoryStore(), keys: KEYS, publicUrl: PUBLIC_URL });
      const app = express();
      app.use(kit);
      app.use(BASE, mandrillSettings({ authorize: (req, account) => req.get("x-tenant") === account }));
      const own = await request(app).put(`${BASE}/acme`).set("x-tenant", "acme").send(VALID);
      expect(own.status).toBe(201);
      const other = await request(app).get(`${BASE}/acme`).set("x-tenant", "globex");
      expect(other.status).toBe(403);
    });
  });

  describe("mandrillSettings() after the host's own body parsers", () => {
    const CHANGED = { fromName: "Changed behind urlencoded" };

    it("saves JSON when the host mounted only express.urlencoded() globally (create 201, update 200 and changed)", async () => {
      const { app, kit } = kitApp({ before: [express.urlencoded({ extended: false })] });
      const created = await asAdmin(app).put("/acme", { ...VALID, webhookKey: HOOK_1 });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ fromEmail: "hello@example.com", hasApiKey: true });
      const updated = await asAdmin(app).put("/acme", CHANGED);
      expect(updated.status).toBe(200);
      expect(updated.body).toMatchObject({ ...CHANGED, version: 2 });
      expect((await kit.credentials.get("acme"))?.fromName).toBe(CHANGED.fromName);
    });

    it("still answers 422 with the fields of an invalid JSON body behind express.urlencoded()", async () => {
      const { app } = kitApp({ before: [express.urlencoded({ extended: true })] });
      const res = await asAdmin(app).put("/acme", { ...VALID, port: 70_000 });
      expect(res.status).toBe(422);
      expect(res.body.error.fields).toEqual([{ field: "port", message: expect.any(String) }]);
    });

    it("keeps its body limit behind express.urlencoded(): 413 and nothing saved", async () => {
      const { app, kit } = kitApp({ before: [express.urlencoded({ extended: false })] });
      const res = await asAdmin(app).put("/acme", { ...VALID, fromName: "x".repeat(20_000) });
      expect(res.status).toBe(413);
      expect(await kit.credentials.describe("acme")).toBeUndefined();
    });

    it("reads the JSON kept by express.text() or express.raw() configured for JSON", async () => {
      for (const parser of [express.text({ type: "*/*" }), express.raw({ type: "application/json" })]) {
        const { app, kit } = kitApp({ before: [parser] });
        expect((await asAdmin(app).put("/acme", VALID)).status).toBe(201);
        const updated = await asAdmin(app).put("/acme", CHANGED);
        expect(updated.status).toBe(200);
        expect((await kit.credentials.get("acme"))?.fromName).toBe(CHANGED.fromName);
        expect(
          (await asAdmin(app).put("/acme").set("Content-Type", "application/json").send("{")).status,
        ).toBe(400);
      }
    });

    it("refuses with 415 ERR_MK_SETTINGS_BODY_CONSUMED when a parser for every type ate the JSON, saving nothing", async () => {
      const { app, kit } = kitApp({ before: [express.urlencoded({ extended: true, type: "*/*" })] });
      for (const body of [VALID, {}]) {
        const res = await asAdmin(app).put("/acme", body);
        expect(res.status).toBe(415);
        expect(res.body.error.code).toBe("ERR_MK_SETTINGS_BODY_CONSUMED");
        expect(res.body.error.message).toContain("Mount mandrillSettings() before");
        expect(res.text).not.toContain(API_KEY);
      }
      expect(await kit.credentials.describe("acme")).toBeUndefined();
    });

    it("logs the refused mount order as a warning through the kit's logger, without the body", async () => {
      const warnings: Array<{ context: unknown; message: string }> = [];
      const noop = () => {};
      const logger = {
        debug: noop,
        info: noop,
        error: noop,
        warn: (context: unknown, message: string) => warnings.push({ context, message }),
      };
      const app = express();
      app.use(express.urlencoded({ extended: false, type: "*/*" }));
      app.use(mandrillKit({ store: createMemoryStore(), keys: KEYS, publicUrl: PUBLIC_URL, logger }));
      app.use(BASE, mandrillSettings({ authorize: "handled-upstream" }));
      expect((await request(app).put(`${BASE}/acme`).send(VALID)).status).toBe(415);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.message).toContain("Mount mandrillSettings() before");
      expect(JSON.stringify(warnings)).toContain("ERR_MK_SETTINGS_BODY_CONSUMED");
      expect(JSON.stringify(warnings)).not.toContain(API_KEY);
    });

    it("refuses with 415 ERR_MK_SETTINGS_BODY_CONSUMED when a middleware read the stream and kept nothing", async () => {
      const swallow: RequestHandler = (req, _res, next) => {
        req.on("end", () => next());
        req.resume();
      };
      const { app, kit } = kitApp({ before: [express.urlencoded({ extended: false }), swallow] });
      await kit.credentials.save("acme", VALID);
      const res = await asAdmin(app).put("/acme", CHANGED);
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe("ERR_MK_SETTINGS_BODY_CONSUMED");
      expect((await kit.credentials.get("acme"))?.fromName).toBe(VALID.fromName);
    });

    it("refuses JSON that is not an object with 422, and a compressed or non-UTF-8 body with 415", async () => {
      const { app } = kitApp();
      for (const text of ["null", "[1,2]", '"text"', "42"]) {
        const res = await asAdmin(app).put("/acme").set("Content-Type", "application/json").send(text);
        expect(res.status).toBe(422);
        expect(res.body.error.code).toBe("ERR_MK_VALIDATION_FAILED");
      }
      const gzipped = await asAdmin(app)
        .put("/acme")
        .set("Content-Type", "application/json")
        .set("Content-Encoding", "gzip")
        .send(JSON.stringify(VALID));
      expect(gzipped.status).toBe(415);
      const latin1 = await asAdmin(app)
        .put("/acme")
        .set("Content-Type", "application/json; charset=iso-8859-1")
        .send(JSON.stringify(VALID));
      expect(latin1.status).toBe(415);
    });
  });

  describe("mandrillSettings() server errors", () => {
    /** A store whose credentials repository fails like a lost database. */
    function brokenCredentials() {
      const store = createMemoryStore();
      const failure = new Error("connection to the database lost");
      const broken = {
        ...store,
        credentials: {
          ...store.credentials,
          get: () => Promise.reject(failure),
        },
      };
      return {
        credentials: createCredentials({ store: broken, keys: KEYS, publicUrl: PUBLIC_URL }),
        failure,
      };
    }

    function hostWithErrorHandler(router: express.Router) {
      const seen: unknown[] = [];
      const app = express();
      app.use(BASE, router);
      app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
        seen.push(error);
        res.status(503).json({ host: "handled" });
      });
      return { app, seen };
    }

    it('passes its 5xx errors to the host\'s error handler with serverErrors: "next"', async () => {
      const { credentials, failure } = brokenCredentials();
      const { app, seen } = hostWithErrorHandler(
        mandrillSettings({ credentials, authorize: "handled-upstream", serverErrors: "next" }),
      );
      const get = await request(app).get(`${BASE}/acme`);
      expect(get.status).toBe(503);
      expect(get.body).toEqual({ host: "handled" });
      const put = await request(app).put(`${BASE}/acme`).send(VALID);
      expect(put.status).toBe(503);
      expect(seen).toEqual([failure, failure]);
    });

    it('passes ERR_MK_KIT_NOT_MOUNTED to the host with serverErrors: "next"', async () => {
      const { app, seen } = hostWithErrorHandler(
        mandrillSettings({ authorize: () => true, serverErrors: "next" }),
      );
      expect((await request(app).get(`${BASE}/acme`)).status).toBe(503);
      expect(seen).toEqual([expect.objectContaining({ code: "ERR_MK_KIT_NOT_MOUNTED" })]);
    });

    it('still answers client errors itself with serverErrors: "next"', async () => {
      const credentials = createCredentials({
        store: createMemoryStore(),
        keys: KEYS,
        publicUrl: PUBLIC_URL,
      });
      const { app, seen } = hostWithErrorHandler(
        mandrillSettings({
          credentials,
          authorize: (req) => req.get("x-admin") === "yes",
          serverErrors: "next",
        }),
      );
      expect((await request(app).get(`${BASE}/acme`)).status).toBe(403);
      expect((await request(app).get(`${BASE}/acme`).set("x-admin", "yes")).status).toBe(404);
      const invalid = await request(app).put(`${BASE}/acme`).set("x-admin", "yes").send({ port: 0 });
      expect(invalid.status).toBe(422);
      expect(seen).toEqual([]);
    });

    it("answers the kit's JSON 500 by default, hiding the cause, and never calls the host's handler", async () => {
      const { credentials } = brokenCredentials();
      const { app, seen } = hostWithErrorHandler(
        mandrillSettings({ credentials, authorize: "handled-upstream" }),
      );
      const res = await request(app).get(`${BASE}/acme`);
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe("ERR_MK_INTERNAL");
      expect(res.text).not.toContain("database lost");
      expect(seen).toEqual([]);
    });
  });

  describe("mandrillSettings() options, checked at boot", () => {
    function bootError(options: unknown): MandrillKitConfigError {
      try {
        mandrillSettings(options as MandrillSettingsOptions);
      } catch (error) {
        expect(error).toBeInstanceOf(MandrillKitConfigError);
        return error as MandrillKitConfigError;
      }
      throw new Error("expected mandrillSettings() to throw");
    }

    it("refuses a misspelt option and suggests the right one", () => {
      const error = bootError({ authorise: () => true });
      expect(error.code).toBe("ERR_MK_CONFIG_UNKNOWN_OPTION");
      expect(error.message).toContain('Did you mean "authorize"?');
      expect(bootError({ authorize: () => true, bodyLimit: 1024 }).message).toContain(
        'Did you mean "bodyLimitBytes"?',
      );
    });

    it("quotes a bad authorize, serverErrors, bodyLimitBytes or credentials and says what is accepted", () => {
      const auth = bootError({ authorize: "handled_upstream" });
      expect(auth.code).toBe("ERR_MK_CONFIG_AUTH_REQUIRED");
      expect(auth.message).toContain('"handled_upstream"');
      const mode = bootError({ authorize: () => true, serverErrors: "throw" });
      expect(mode.option).toBe("serverErrors");
      expect(mode.message).toContain('"throw"');
      expect(mode.message).toContain('"respond" or "next"');
      const limit = bootError({ authorize: () => true, bodyLimitBytes: "16kb" });
      expect(limit.message).toContain('"16kb"');
      const credentials = bootError({ authorize: () => true, credentials: createMemoryStore() });
      expect(credentials.option).toBe("credentials");
      expect(credentials.message).toContain("createCredentials()");
    });
  });
}

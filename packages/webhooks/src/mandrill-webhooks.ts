import {
  checkOptions,
  componentLogger,
  findKitContext,
  isAccountId,
  type KitContext,
  type Logger,
  type MandrillEventType,
  MandrillKitConfigError,
  parseMandrillEvents,
  resolveSuppressionPolicy,
  type Secret,
  type Store,
  type SuppressionPolicy,
  type SuppressionPolicyOptions,
  silentLogger,
} from "@mandrill-kit/core";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { diagnoseMismatch, type SignatureDiagnosis } from "./diagnose.js";
import {
  type AnyEventHandler,
  createDispatcher,
  type Dispatcher,
  type DispatcherOptions,
  type ErrorHandler,
  type EventHandler,
} from "./dispatcher.js";
import {
  checkFormContentType,
  decodeFormBody,
  FormBodyError,
  fieldsFromParsedBody,
  readRawBody,
} from "./form.js";
import { ingestEvents } from "./ingest.js";
import { matchSignature, TEST_WEBHOOK_KEY } from "./signature.js";

/** Options of {@link mandrillWebhooks}. Every one is optional once `mandrillKit()` is mounted. */
export interface MandrillWebhooksOptions extends Omit<Partial<DispatcherOptions>, "store" | "logger"> {
  /** Where events and suppressions go. @default the kit context's store */
  store?: Store;
  /** Route, with `:account` (multi-account) or without (single account). @default the kit's webhookPath */
  path?: string;
  /** Public base URL; with `path` it gives each account's Callback URL. @default the kit's publicUrl */
  publicUrl?: string;
  /** The account's webhook keys (current first). @default the kit's credentials.webhookKeys */
  webhookKeys?: (account: string) => Promise<readonly (string | Secret)[]> | readonly (string | Secret)[];
  /** Single-account form: the webhook key(s) for a `path` without `:account`. */
  key?: string | readonly string[];
  /** Single-account form: the account id events are stored under. @default "default" */
  account?: string;
  /** Suppression thresholds. @default the kit's policy */
  suppression?: SuppressionPolicyOptions;
  /** Largest body accepted (413 beyond). @default 10485760 (10 MiB) */
  bodyLimitBytes?: number;
  /** @default the kit's logger */
  logger?: Logger;
}

const OPTION_NAMES = [
  "store",
  "path",
  "publicUrl",
  "webhookKeys",
  "key",
  "account",
  "suppression",
  "bodyLimitBytes",
  "logger",
  "maxAttempts",
  "retryBaseMs",
  "retryMaxMs",
  "pollIntervalMs",
  "concurrency",
  "handlerTimeoutMs",
] as const;

/** The middleware returned by {@link mandrillWebhooks}, with the dispatcher's API. */
export interface MandrillWebhooks {
  (req: Request, res: Response, next: NextFunction): void;
  /** Registers a handler for one event type (or several), typed by variant. */
  on<T extends MandrillEventType>(type: T | readonly T[], handler: EventHandler<T>): this;
  onAny(handler: AnyEventHandler): this;
  onError(handler: ErrorHandler): this;
  /** Makes a done or dead-lettered event run again. */
  replay(account: string, eventKey: string): Promise<boolean>;
  /** Runs every due event now (tests, scripts); resolves with how many ran. */
  runDue(): Promise<number>;
  /** Recent signature mismatches of an account, newest first (kept in memory, 20 per account). */
  diagnoses(account: string): SignatureDiagnosis[];
  /**
   * Starts dispatching now. Without it, dispatching starts at the first request through the app
   * (the kit context is found on it), or at once when the options name every dependency.
   */
  start(context?: KitContext): void;
  /** Stops dispatching and waits for handler runs in flight. */
  close(): Promise<void>;
}

interface Resolved {
  store: Store;
  logger: Logger;
  policy: SuppressionPolicy;
  keysOf: (account: string) => Promise<string[]>;
  urlOf: (account: string) => string;
}

const DEFAULT_PATH = "/webhooks/mandrill/:account";
const MAX_DIAGNOSED_ACCOUNTS = 1000;

function reveal(keys: readonly (string | Secret)[]): string[] {
  return keys.map((k) => (typeof k === "string" ? k : k.reveal()));
}

function configError(option: string, message: string): MandrillKitConfigError {
  return new MandrillKitConfigError("ERR_MK_CONFIG_INVALID", option, `mandrillWebhooks() ${message}`);
}

/**
 * The webhook router: `app.use(mandrillWebhooks())`.
 *
 * - `HEAD`/`GET <path>` → 200 without any key (Mandrill checks the URL before it issues one);
 * - `POST <path>` → reads its own form body (415 other types, 413 over `bodyLimitBytes`, 400 repeated
 *   fields), verifies `X-Mandrill-Signature` over the account's registered Callback URL with each of
 *   its keys (constant time; no key → refused), then stores the batch in ONE transaction (dedupe +
 *   suppressions) and answers 200 only after the commit. The validation POST (`[]` signed with
 *   `test-webhook`) gets 200 and stores nothing. Unknown account, missing or bad signature: the same 401.
 * - handlers (`on`, `onAny`) run afterwards from the inbox: at-least-once, retried, dead-lettered.
 */
export function mandrillWebhooks(options: MandrillWebhooksOptions = {}): MandrillWebhooks {
  const o = checkOptions("mandrillWebhooks", options, OPTION_NAMES) as MandrillWebhooksOptions;
  const bodyLimit = o.bodyLimitBytes ?? 10 * 1024 * 1024;
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1024)
    throw configError(
      "bodyLimitBytes",
      `bodyLimitBytes must be an integer ≥ 1024; received ${JSON.stringify(bodyLimit)}.`,
    );
  if (
    o.path !== undefined &&
    (typeof o.path !== "string" || !o.path.startsWith("/") || o.path.split(":account").length > 2)
  ) {
    throw configError(
      "path",
      `path must start with "/" and contain ":account" at most once; received ${JSON.stringify(o.path)}.`,
    );
  }
  const single = o.key !== undefined;
  if (single && (o.path === undefined || o.path.includes(":account") || o.publicUrl === undefined)) {
    throw configError(
      "key",
      'the single-account form needs path (without ":account") and publicUrl, e.g. { path: "/hooks/mandrill", publicUrl: "https://app.example.com", key }.',
    );
  }
  if (o.account !== undefined && !isAccountId(o.account))
    throw configError("account", `account ${JSON.stringify(o.account)} is not a valid account id.`);
  if (o.publicUrl !== undefined) {
    try {
      const u = new URL(o.publicUrl);
      if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error("scheme");
    } catch {
      throw configError(
        "publicUrl",
        `publicUrl must be an absolute http(s) URL such as "https://app.example.com"; received ${JSON.stringify(o.publicUrl)}.`,
      );
    }
  }
  const explicitPolicy = o.suppression === undefined ? undefined : resolveSuppressionPolicy(o.suppression);
  const fixedKeys = o.key === undefined ? undefined : typeof o.key === "string" ? [o.key] : [...o.key];
  const singleAccount = o.account ?? "default";

  let resolved: Resolved | undefined;
  let router: Router | undefined;
  let dispatcher: Dispatcher | undefined;
  const pendingHandlers: ((d: Dispatcher) => void)[] = [];
  const diagnoses = new Map<string, SignatureDiagnosis[]>();

  function resolve(context: KitContext | undefined): Resolved {
    if (resolved !== undefined) return resolved;
    const store = o.store ?? context?.store;
    const publicUrl = (o.publicUrl ?? context?.publicUrl)?.replace(/\/+$/, "");
    const path = o.path ?? context?.webhookPath ?? DEFAULT_PATH;
    const keysOf =
      fixedKeys !== undefined
        ? async () => fixedKeys
        : o.webhookKeys !== undefined
          ? async (a: string) => reveal(await (o.webhookKeys as NonNullable<typeof o.webhookKeys>)(a))
          : context !== undefined
            ? async (a: string) => reveal(await context.credentials.webhookKeys(a))
            : undefined;
    if (store === undefined || publicUrl === undefined || keysOf === undefined) {
      throw new MandrillKitConfigError(
        "ERR_MK_KIT_NOT_MOUNTED",
        "store",
        "mandrillWebhooks() has no store, publicUrl or webhook keys: mount app.use(mandrillKit({...})) before it, or pass { store, publicUrl, webhookKeys } (or { store, path, publicUrl, key } for one account).",
      );
    }
    const urlOf =
      context !== undefined && o.publicUrl === undefined && o.path === undefined
        ? (account: string) => context.credentials.callbackUrl(account)
        : (account: string) => publicUrl + path.replace(":account", encodeURIComponent(account));
    router = buildRouter(path);
    resolved = {
      store,
      logger: o.logger ?? context?.logger ?? silentLogger,
      policy: explicitPolicy ?? context?.suppressionPolicy ?? resolveSuppressionPolicy(),
      keysOf,
      urlOf,
    };
    dispatcher = createDispatcher({
      store,
      logger: componentLogger(resolved.logger, { component: "webhooks" }),
      ...(o.maxAttempts === undefined ? {} : { maxAttempts: o.maxAttempts }),
      ...(o.retryBaseMs === undefined ? {} : { retryBaseMs: o.retryBaseMs }),
      ...(o.retryMaxMs === undefined ? {} : { retryMaxMs: o.retryMaxMs }),
      ...(o.pollIntervalMs === undefined ? {} : { pollIntervalMs: o.pollIntervalMs }),
      ...(o.concurrency === undefined ? {} : { concurrency: o.concurrency }),
      ...(o.handlerTimeoutMs === undefined ? {} : { handlerTimeoutMs: o.handlerTimeoutMs }),
    });
    for (const register of pendingHandlers.splice(0)) register(dispatcher);
    dispatcher.start();
    return resolved;
  }

  // Explicit dependencies: start dispatching now; otherwise at the first request (kit context on it).
  if (
    o.store !== undefined &&
    (fixedKeys !== undefined || o.webhookKeys !== undefined) &&
    o.publicUrl !== undefined
  )
    resolve(undefined);

  function remember(d: SignatureDiagnosis): void {
    let list = diagnoses.get(d.account);
    if (list === undefined) {
      if (diagnoses.size >= MAX_DIAGNOSED_ACCOUNTS) diagnoses.delete(diagnoses.keys().next().value as string);
      list = [];
      diagnoses.set(d.account, list);
    }
    list.unshift(d);
    list.length = Math.min(list.length, 20);
  }

  const unauthorized = (res: Response) =>
    res
      .status(401)
      .type("text/plain")
      .send("Signature required: this endpoint only accepts Mandrill's signed webhooks.\n");

  async function receive(req: Request, res: Response): Promise<void> {
    const r = resolve(findKitContext(req));
    const log = componentLogger(r.logger, { component: "webhooks" });
    const account = single ? singleAccount : String(req.params.account ?? "");
    let fields: Record<string, string>;
    try {
      checkFormContentType(req.get("content-type"));
      // A host parser mounted before us may have read the stream already; otherwise we read it.
      fields =
        req.body !== undefined && req.readableEnded
          ? fieldsFromParsedBody(req.body)
          : decodeFormBody(await readRawBody(req, bodyLimit));
    } catch (error) {
      if (error instanceof FormBodyError) {
        res.status(error.status).type("text/plain").send(`${error.message}\n`);
        return;
      }
      throw error;
    }
    const events = fields.mandrill_events;
    if (events === undefined) {
      res.status(400).type("text/plain").send("The form has no mandrill_events field.\n");
      return;
    }
    const signature = req.get("x-mandrill-signature");
    if (!isAccountId(account)) {
      unauthorized(res);
      return;
    }
    const url = r.urlOf(account);
    // Mandrill validates a new URL by POSTing [] signed with the generic key, before any key exists.
    if (
      events === "[]" &&
      Object.keys(fields).length === 1 &&
      matchSignature([TEST_WEBHOOK_KEY], url, fields, signature) === 0
    ) {
      res.status(200).type("text/plain").send("OK\n");
      return;
    }
    const keys = await r.keysOf(account);
    const matched = keys.length === 0 ? -1 : matchSignature(keys, url, fields, signature);
    if (matched === -1) {
      if (keys.length > 0) {
        const seenUrl = `${req.protocol}://${req.get("host") ?? ""}${req.originalUrl}`;
        const diagnosis = diagnoseMismatch({
          account,
          callbackUrl: url,
          keys,
          form: fields,
          signature,
          seenUrl,
        });
        remember(diagnosis);
        log.warn({ account, finding: diagnosis.finding }, `webhook signature mismatch: ${diagnosis.finding}`);
      }
      unauthorized(res);
      return;
    }
    if (matched > 0)
      log.info(
        { account, keyIndex: matched },
        "webhook signed with a previous key; Mandrill has not switched to the current key yet",
      );
    if (events === "[]") {
      res.status(200).type("text/plain").send("OK\n");
      return;
    }
    const receivedAt = Date.now();
    const parsed = parseMandrillEvents(events);
    const outcome = await ingestEvents(
      r.store,
      account,
      events,
      r.policy,
      receivedAt,
      parsed,
      (type) => dispatcher?.wants(type) ?? true,
    );
    if (outcome.status === "quarantined") {
      log.error(
        { account, quarantineId: outcome.quarantineId },
        `signed webhook body quarantined: ${outcome.reason}`,
      );
      res.status(200).json({ quarantined: true });
      return;
    }
    if (outcome.problems > 0 && parsed.ok) {
      log.warn(
        { account, problems: parsed.problems.slice(0, 5) },
        `webhook batch had ${outcome.problems} event(s) with unexpected shapes (kept as received)`,
      );
    }
    log.debug(
      {
        account,
        events: outcome.events,
        inserted: outcome.result.inserted.length,
        suppressions: outcome.result.effects.length,
      },
      "webhook batch stored",
    );
    res.status(200).json({
      received: outcome.events,
      new: outcome.result.inserted.length,
      duplicates: outcome.result.duplicates.length,
    });
    dispatcher?.wake();
  }

  function buildRouter(path: string): Router {
    const r = express.Router();
    r.head(path, (_req, res) => {
      res.status(200).end();
    });
    r.get(path, (_req, res) => {
      res.status(200).type("text/plain").send("Mandrill webhook endpoint: POST signed events here.\n");
    });
    r.post(path, (req, res, next) => {
      receive(req, res).catch((error: unknown) => {
        const log = componentLogger(resolved?.logger ?? silentLogger, { component: "webhooks" });
        log.error(
          { account: typeof req.params.account === "string" ? req.params.account : undefined, err: error },
          "webhook batch not stored; Mandrill will retry",
        );
        if (res.headersSent) return next(error);
        res.status(503).type("text/plain").send("The batch could not be stored; Mandrill will retry it.\n");
      });
    });
    return r;
  }

  const middleware = function mandrillWebhooksMiddleware(
    req: Request,
    res: Response,
    next: NextFunction,
  ): void {
    if (router === undefined) {
      try {
        resolve(findKitContext(req));
      } catch (error) {
        // Only the webhook route fails loudly; the rest of the host app is not this plugin's business.
        const path = o.path ?? DEFAULT_PATH;
        const pattern = new RegExp(
          `^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(":account", "[^/]+")}/?$`,
        );
        if (!pattern.test(req.path)) {
          next();
          return;
        }
        res
          .status(500)
          .type("text/plain")
          .send(`${(error as Error).message}\n`);
        return;
      }
    }
    (router as Router)(req, res, next);
  } as MandrillWebhooks;

  const later = (fn: (d: Dispatcher) => void) => {
    if (dispatcher !== undefined) fn(dispatcher);
    else pendingHandlers.push(fn);
  };
  Object.assign(middleware, {
    on(type: MandrillEventType | readonly MandrillEventType[], handler: EventHandler) {
      later((d) => d.on(type, handler as never));
      return middleware;
    },
    onAny(handler: AnyEventHandler) {
      later((d) => d.onAny(handler));
      return middleware;
    },
    onError(handler: ErrorHandler) {
      later((d) => d.onError(handler));
      return middleware;
    },
    start(context?: KitContext) {
      resolve(context);
    },
    replay: async (account: string, eventKey: string) =>
      dispatcher === undefined ? false : dispatcher.replay(account, eventKey),
    runDue: async () => (dispatcher === undefined ? 0 : dispatcher.runDue()),
    diagnoses: (account: string) => [...(diagnoses.get(account) ?? [])],
    close: async () => {
      await dispatcher?.close();
    },
  });
  return middleware;
}

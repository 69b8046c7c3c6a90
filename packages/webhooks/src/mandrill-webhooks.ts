import {
  type KitContext,
  type MandrillEventType,
  MandrillKitConfigError,
  type Store,
  silentLogger,
} from "@mandrill-kit/core";
import { type ComponentLogger, componentLogger, findKitContext } from "@mandrill-kit/core/plugin";
import type { NextFunction, Request, Response, Router } from "express";
import type { SignatureDiagnosis } from "./diagnose.js";
import { createDispatchLoop, type DispatchLoop } from "./dispatcher.js";
import { buildRouter, neverSuccess } from "./express-route.js";
import {
  type AnyEventHandler,
  createHandlerRegistry,
  type ErrorHandler,
  type EventHandler,
} from "./handler-registry.js";
import { createDiagnosisLog } from "./mismatch-diagnoses.js";
import { createParsePool, type ParsePool } from "./parse-pool.js";
import {
  DEFAULT_PATH,
  EVENT_TYPES,
  type MandrillWebhooksOptions,
  type RouterDeps,
  resolveRouterDeps,
  resolveWebhooksOptions,
} from "./webhooks-options.js";

/** The middleware returned by {@link mandrillWebhooks}, with the dispatcher's API. */
export interface MandrillWebhooks {
  (req: Request, res: Response, next: NextFunction): void;
  /** Registers a handler for one event type (or several), typed by variant. */
  on<T extends MandrillEventType>(type: T | readonly T[], handler: EventHandler<T>): this;
  onAny(handler: AnyEventHandler): this;
  onError(handler: ErrorHandler): this;
  /**
   * Starts dispatching: pending events and due retries run from now on, without waiting for a
   * request. Call it once at boot, after registering handlers: `webhooks.start(kit.context)`, or
   * `webhooks.start()` when `store` was passed to `mandrillWebhooks()`. Idempotent; does nothing
   * after `close()`. Throws `ERR_MK_KIT_NOT_MOUNTED` when it has no store.
   */
  start(context?: KitContext): void;
  /** Makes a done or dead-lettered event run again. */
  replay(account: string, eventKey: string): Promise<boolean>;
  /** Runs every due event now (tests, scripts); resolves with how many ran. */
  runDue(): Promise<number>;
  /** Recent signature mismatches of an account, newest first (kept in memory, 20 per account). */
  diagnoses(account: string): SignatureDiagnosis[];
  /** Stops dispatching and the parse threads, and waits for handler runs in flight, timed-out ones included. */
  close(): Promise<void>;
}

/** The router's parse pool of `size` threads, telling `logger()` when a thread dies or none can start. */
function routerParsePool(size: number, logger: () => ComponentLogger): ParsePool {
  return createParsePool({
    size,
    onThreadError: (error) =>
      logger().error(
        { err: error },
        "a webhook parse thread died; it is replaced, and the requests it held were answered 503",
      ),
    onStartFailure: (error) =>
      logger().warn(
        { err: error },
        "webhook parse threads could not start, so every batch is parsed on the main thread (as with parseThreads: 0). A bundled server must ship @mandrill-kit/webhooks' dist/parse-worker.js next to the bundle, or set parseThreads: 0",
      ),
  });
}

/**
 * The webhook router, a thin Express adapter over `verifyRequest` → `receive` → the dispatcher:
 * `app.use(mandrillWebhooks())`, then `webhooks.start(kit.context)` once at boot.
 *
 * - `HEAD`/`GET <path>` → 200 without any key (Mandrill checks the URL before it issues one);
 * - `POST <path>` → reads its own form body (415 other types, 413 over `bodyLimitBytes`, 408 after
 *   `bodyTimeoutMs`, 400 malformed or repeated fields), verifies `X-Mandrill-Signature`, stores the
 *   batch in ONE transaction (dedupe + suppressions) and answers 200 only after the commit. Unknown
 *   account, missing or bad signature: the same 401.
 * - A batch it could not store goes to `next(err)` (a `WebhookNotStoredError`, `status` 503) so the
 *   host's error handler and APM see it; whatever that handler answers, never a 2xx.
 * - Handlers (`on`, `onAny`) run from the inbox once `start()` was called: at-least-once, retried,
 *   dead-lettered.
 */
export function mandrillWebhooks(options: MandrillWebhooksOptions = {}): MandrillWebhooks {
  const config = resolveWebhooksOptions(options);
  const registry = createHandlerRegistry();
  const diagnosisLog = createDiagnosisLog(config.clock);
  let deps: RouterDeps | undefined;
  let router: Router | undefined;
  let loop: DispatchLoop | undefined;
  let closed = false;
  let warnedNotStarted = false;
  let pool: ParsePool | undefined;

  /** The parse threads, created on the first large body (none when `parseThreads` is 0 or after close). */
  function parsePool(): ParsePool | undefined {
    if (closed || config.parseThreads === 0 || pool?.startFailure !== undefined) return undefined;
    pool ??= routerParsePool(config.parseThreads, () =>
      componentLogger(deps?.logger ?? silentLogger, { component: "webhooks" }),
    );
    return pool;
  }

  function loopFor(store: Store, context: KitContext | undefined): DispatchLoop {
    loop ??= createDispatchLoop({
      store,
      logger: componentLogger(deps?.logger ?? options.logger ?? context?.logger ?? silentLogger, {
        component: "webhooks",
      }),
      clock: config.clock,
      config: config.dispatch,
      registry,
      telemetry: deps?.telemetry ?? config.telemetry ?? context?.telemetry,
    });
    return loop;
  }

  function resolve(context: KitContext | undefined): RouterDeps {
    if (deps === undefined) {
      deps = resolveRouterDeps(config, context);
      router = buildRouter({ config, deps, diagnosisLog, afterIngest, doneTypes, parsePool });
    }
    loopFor(deps.store, context);
    return deps;
  }

  function afterIngest(): void {
    if (loop?.started) loop.wake();
    else if (!registry.isEmpty() && !warnedNotStarted) {
      warnedNotStarted = true;
      componentLogger((deps as RouterDeps).logger, { component: "webhooks" }).warn(
        {},
        `webhook handlers are registered but dispatching has not started, so they do not run: call ${config.explicit ? "webhooks.start()" : "webhooks.start(kit.context)"} once at boot, after registering them (events stay pending until then)`,
      );
    }
  }

  /**
   * Once this process dispatches with handlers, an event of a type none of them wants (no `on` for
   * it, no `onAny`) would be completed unrun by its dispatcher right after the ingest
   * (`completeUnwanted`): it is stored done at once instead, which spares the inbox a second write of
   * the event's row (the completing update) and its pending-queue index entry. Before `start()`, after
   * `close()` and in a process without handlers, every event but `skipHandlersFor` is stored pending.
   */
  function doneTypes(): ReadonlySet<string> {
    if (closed || loop?.started !== true || registry.isEmpty()) return config.skipHandlersFor;
    const wanted = registry.wantedTypes();
    if (wanted === undefined) return config.skipHandlersFor;
    const done = new Set(config.skipHandlersFor);
    for (const type of EVENT_TYPES) if (!wanted.includes(type)) done.add(type);
    return done;
  }

  // Explicit dependencies: the router is ready now; dispatching still waits for start().
  if (config.explicit) resolve(undefined);

  const routePattern = () => {
    const path = options.path ?? DEFAULT_PATH;
    const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(":account", "[^/]+");
    return new RegExp(`^${escaped}/?$`);
  };

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
        if (!routePattern().test(req.path)) next();
        else {
          neverSuccess(res, 500);
          next(Object.assign(error as MandrillKitConfigError, { status: 500, expose: false }));
        }
        return;
      }
    }
    (router as Router)(req, res, next);
  } as MandrillWebhooks;

  Object.assign(middleware, {
    on(type: MandrillEventType | readonly MandrillEventType[], handler: EventHandler) {
      const skipped = (typeof type === "string" ? [type] : type).find((t) => config.skipHandlersFor.has(t));
      if (skipped !== undefined)
        throw new MandrillKitConfigError(
          "ERR_MK_CONFIG_INVALID",
          "skipHandlersFor",
          `webhooks.on("${skipped}") registers a handler for a type listed in skipHandlersFor: those events are stored as done and never dispatched. Remove "${skipped}" from skipHandlersFor, or drop the handler.`,
        );
      registry.on(type, handler as AnyEventHandler);
      return middleware;
    },
    onAny(handler: AnyEventHandler) {
      registry.onAny(handler);
      return middleware;
    },
    onError(handler: ErrorHandler) {
      registry.onError(handler);
      return middleware;
    },
    start(context?: KitContext) {
      if (closed) return;
      const store = options.store ?? context?.store;
      if (store === undefined)
        throw new MandrillKitConfigError(
          "ERR_MK_KIT_NOT_MOUNTED",
          "store",
          "webhooks.start() has no store to dispatch from: call webhooks.start(kit.context) with the context of mandrillKit(), or pass { store } to mandrillWebhooks().",
        );
      if (context !== undefined) resolve(context);
      const started = loopFor(store, context);
      started.start();
      context?.healthChecks?.set("dispatcher", () => started.health());
    },
    replay: async (account: string, eventKey: string) =>
      loop === undefined ? false : loop.replay(account, eventKey),
    runDue: async () => (loop === undefined ? 0 : loop.runDue()),
    diagnoses: (account: string) => diagnosisLog.list(account),
    close: async () => {
      closed = true;
      await Promise.all([loop?.close(), pool?.close()]);
    },
  });
  return middleware;
}

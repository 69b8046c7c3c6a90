import type { MetricsOptions } from "@mandrill-kit/core";
import type { MandrillKitMiddleware } from "@mandrill-kit/credentials";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { type Request, type Response, Router } from "express";
import { bearerMatches } from "./api.js";

/** The app's OpenTelemetry metrics SDK, read by Prometheus through `GET /metrics`. */
export interface Observability {
  /** What the kit's plugins get as their `metrics` option. */
  metrics: MetricsOptions;
  /** Writes every series in the Prometheus text format. */
  writeMetrics(req: Request, res: Response): void;
  /** Flushes and stops the SDK. */
  shutdown(): Promise<void>;
}

/**
 * A meter provider with the Prometheus exporter as its reader. The exporter's own HTTP server is not
 * started: its output is served by the app's `/metrics` route, behind a token.
 */
export function createObservability(options: { perAccount?: boolean } = {}): Observability {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  return {
    metrics: { perAccount: options.perAccount === true, meterProvider },
    writeMetrics: (req, res) => exporter.getMetricsRequestHandler(req, res),
    shutdown: () => meterProvider.shutdown(),
  };
}

/** What the observability routes need. */
export interface ObservabilityRoutes {
  kit: MandrillKitMiddleware;
  observability: Observability;
  adminToken: string;
  /** A token that may read `/metrics` only (`METRICS_TOKEN`), so the scraper never holds the admin token. */
  metricsToken: string | undefined;
}

/**
 * `GET /metrics` (Prometheus text; `Authorization: Bearer <METRICS_TOKEN or ADMIN_TOKEN>`) and
 * `GET /readyz` (`kit.health()`: 200 when every check is ok, else 503, with each check's `ok` and `ms`;
 * the error messages too for a request with either token).
 * `GET /healthz` (liveness) stays in app.ts: it answers without touching the store.
 */
export function observabilityRouter(deps: ObservabilityRoutes): Router {
  const router = Router();
  const trustedRequest = (req: Request) =>
    bearerMatches(req, deps.adminToken) ||
    (deps.metricsToken !== undefined && bearerMatches(req, deps.metricsToken));
  router.get("/metrics", (req, res) => {
    if (!trustedRequest(req)) {
      res
        .status(401)
        .set("WWW-Authenticate", 'Bearer realm="mandrill-kit metrics"')
        .type("text/plain")
        .send("Send Authorization: Bearer <METRICS_TOKEN> (or the admin token).\n");
      return;
    }
    res.set("Cache-Control", "no-store");
    deps.observability.writeMetrics(req, res);
  });
  router.get("/readyz", async (req, res) => {
    const health = await deps.kit.health();
    // What failed (store errors can name hosts) only for a token holder; everyone sees ok and timings.
    const shown = trustedRequest(req)
      ? health
      : {
          ok: health.ok,
          checks: Object.fromEntries(
            Object.entries(health.checks).map(([name, c]) => [name, { ok: c.ok, ms: c.ms }]),
          ),
        };
    res
      .status(health.ok ? 200 : 503)
      .set("Cache-Control", "no-store")
      .json(shown);
  });
  return router;
}

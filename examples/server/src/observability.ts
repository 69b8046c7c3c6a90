import type { MetricsOptions } from "@mandrill-kit/core";
import type { MandrillKitMiddleware } from "@mandrill-kit/credentials";
import { propagation } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
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

/** Where spans go: an OTLP/HTTP (JSON) traces endpoint, e.g. a collector's `http://collector:4318/v1/traces`. */
export interface TracesOptions {
  /** The full traces URL (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`). */
  url: string;
  /** `service.name` of every span (`OTEL_SERVICE_NAME`). */
  serviceName: string;
}

/** A trace SDK exporting in batches over OTLP/HTTP, and W3C `traceparent` read from incoming requests. */
function createTracing(traces: TracesOptions): BasicTracerProvider {
  // The kit reads the incoming trace context through the global propagator (none is set by default).
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": traces.serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: traces.url }))],
  });
}

/**
 * A meter provider with the Prometheus exporter as its reader. The exporter's own HTTP server is not
 * started: its output is served by the app's `/metrics` route, behind a token. With `traces`, a
 * tracer provider too: the webhook request, handler run and send spans go to that OTLP endpoint, a
 * caller's `traceparent` becomes their parent, and the kit's log lines carry the trace id.
 */
export function createObservability(
  options: { perAccount?: boolean; traces?: TracesOptions } = {},
): Observability {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const tracerProvider = options.traces === undefined ? undefined : createTracing(options.traces);
  return {
    metrics: {
      perAccount: options.perAccount === true,
      meterProvider,
      ...(tracerProvider === undefined ? {} : { tracerProvider }),
    },
    writeMetrics: (req, res) => exporter.getMetricsRequestHandler(req, res),
    async shutdown() {
      // Spans still batched are sent before the process ends.
      await Promise.all([meterProvider.shutdown(), tracerProvider?.shutdown()]);
      if (tracerProvider !== undefined) propagation.disable();
    },
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

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { signWebhook } from "@mandrill-kit/webhooks/testing";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTraces } from "../src/config.js";
import { ADMIN_TOKEN, startTestApp, type TestApp } from "./helpers.js";

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN = "00f067aa0ba902b7";
const WEBHOOK_KEY = "whk-tracing-key-0123456789";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}

/** A stand-in OpenTelemetry collector: keeps every OTLP/HTTP JSON traces request it receives. */
async function startCollector(): Promise<{
  url: string;
  spans: OtlpSpan[];
  services: string[];
  server: Server;
}> {
  const spans: OtlpSpan[] = [];
  const services: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      for (const rs of body.resourceSpans ?? []) {
        for (const a of rs.resource?.attributes ?? [])
          if (a.key === "service.name") services.push(a.value.stringValue);
        for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/traces`, spans, services, server };
}

describe("traces from the example (OTEL_EXPORTER_OTLP_*)", () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let t: TestApp | undefined;
  beforeAll(async () => {
    collector = await startCollector();
    t = await startTestApp({ traces: { url: collector.url, serviceName: "shop-mail" } });
  });
  afterAll(async () => {
    await t?.close();
    await new Promise((resolve) => collector?.server.close(resolve));
  });

  it("exports the webhook request's spans under the caller's traceparent, and flushes them at close", async () => {
    const app = t as TestApp;
    const saved = await request(app.url).put("/api/accounts/acme/mandrill").set(auth).send({
      transport: "api",
      username: "ops@shop.example.com",
      apiKey: "md-example-api-key-ABCDEFGHIJKL-QRST",
      fromEmail: "hello@shop.example.com",
      webhookKey: WEBHOOK_KEY,
    });
    expect(saved.status).toBe(201);
    const url = `${app.url}/webhooks/mandrill/acme`;
    const event = { event: "hard_bounce", _id: "m-1", ts: 1_700_000_000, msg: { email: "gone@example.net" } };
    const signed = signWebhook({ key: WEBHOOK_KEY, url, events: [event] });
    const posted = await request(app.url)
      .post("/webhooks/mandrill/acme")
      .set(signed.headers)
      .set("traceparent", `00-${TRACE_ID}-${PARENT_SPAN}-01`)
      .send(signed.body);
    expect(posted.status).toBe(200);

    // Closing the app shuts the SDK down, which sends the spans still waiting in the batch.
    await app.close();
    t = undefined;
    const traced = collector.spans.filter((s) => s.traceId === TRACE_ID);
    expect(traced.map((s) => s.name)).toContain("mandrill_kit.webhooks.verify");
    const ids = new Set(traced.map((s) => s.spanId));
    // Every span of the request hangs off the caller's span or off another span of the request.
    const roots = traced.filter((s) => !ids.has(s.parentSpanId ?? ""));
    expect(roots.length).toBeGreaterThan(0);
    expect(roots.every((s) => s.parentSpanId === PARENT_SPAN)).toBe(true);
    expect(new Set(collector.services)).toEqual(new Set(["shop-mail"]));
  });
});

describe("parseTraces", () => {
  it("is off when neither endpoint variable is set", () => {
    expect(parseTraces({})).toBeUndefined();
    expect(parseTraces({ OTEL_EXPORTER_OTLP_ENDPOINT: " " })).toBeUndefined();
  });

  it("uses the traces endpoint as given and appends /v1/traces to the base endpoint", () => {
    expect(parseTraces({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/custom" })).toEqual({
      url: "http://collector:4318/custom",
      serviceName: "mandrill-kit-example",
    });
    expect(
      parseTraces({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/", OTEL_SERVICE_NAME: "mail" }),
    ).toEqual({ url: "http://collector:4318/v1/traces", serviceName: "mail" });
    expect(
      parseTraces({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://base:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example.com/v1/traces",
      })?.url,
    ).toBe("https://traces.example.com/v1/traces");
  });

  it("refuses an endpoint that is not an http(s) URL, naming the variable", () => {
    expect(() => parseTraces({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT must use http or https/,
    );
    expect(() => parseTraces({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "not a url" })).toThrow(
      /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an absolute http\(s\) URL/,
    );
  });
});

import type { MandrillTransport, SendResult } from "@mandrill-kit/core";
import { endSpan, secondsSince, summedCounter, type Telemetry } from "@mandrill-kit/core/plugin";
import { type Attributes, type Counter, type Histogram, type Meter, SpanKind } from "@opentelemetry/api";

/** The sender's instruments, built once per telemetry handle. */
interface SenderInstruments {
  /** Adds to `mandrill_kit.sender.sends` (account when per account, kind, transport, outcome); returns the set. */
  sends: (n: number, account: string, kind: SendKind, transport: string, outcome: string) => Attributes;
  /** Adds to `mandrill_kit.sender.recipients` (account when per account, kind, transport, recipient status). */
  recipients: (n: number, account: string, kind: SendKind, transport: string, status: string) => Attributes;
  /** Adds to `mandrill_kit.sender.errors` (account when per account, kind, transport, error type). */
  errors: (n: number, account: string, kind: SendKind, transport: string, type: string) => Attributes;
  retries: Counter;
  /** Recorded with the attributes `sends` returned. */
  duration: Histogram;
  observePools(pools: () => number): () => void;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function build(meter: Meter, telemetry: Telemetry): SenderInstruments {
  const pools = meter.createObservableGauge("mandrill_kit.sender.smtp.pools", {
    description: "Open SMTP connection pools (one per account sending over SMTP).",
    unit: "{pool}",
  });
  return {
    sends: summedCounter(
      telemetry,
      meter,
      "mandrill_kit.sender.sends",
      {
        description:
          "send() calls, by transport and outcome (sent, refused: every recipient refused, error).",
        unit: "{send}",
      },
      (account, kind, transport, outcome) => ({
        ...account,
        "mandrill_kit.send.kind": kind,
        "mandrill_kit.transport": transport,
        outcome,
      }),
    ),
    recipients: summedCounter(
      telemetry,
      meter,
      "mandrill_kit.sender.recipients",
      { description: "Recipients of sends, by transport and per-recipient status.", unit: "{recipient}" },
      (account, kind, transport, status) => ({
        ...account,
        "mandrill_kit.send.kind": kind,
        "mandrill_kit.transport": transport,
        "mandrill_kit.recipient.status": status,
      }),
    ),
    errors: summedCounter(
      telemetry,
      meter,
      "mandrill_kit.sender.errors",
      {
        description:
          "Sends that failed, by transport and error.type (Mandrill's error name, or the kit's code).",
        unit: "{error}",
      },
      (account, kind, transport, type) => ({
        ...account,
        "mandrill_kit.send.kind": kind,
        "mandrill_kit.transport": transport,
        "error.type": type,
      }),
    ),
    retries: meter.createCounter("mandrill_kit.sender.api.retries", {
      description: "API requests sent again (did not reach Mandrill, or Mandrill said to retry), by method.",
      unit: "{retry}",
    }),
    duration: meter.createHistogram("mandrill_kit.sender.send.duration", {
      description: "Time of one send(): suppression check, transport, result.",
      unit: "s",
      advice: { explicitBucketBoundaries: SECONDS },
    }),
    observePools(count) {
      const callback = (result: { observe(value: number): void }) => result.observe(count());
      pools.addCallback(callback);
      return () => pools.removeCallback(callback);
    },
  };
}

/** The sender's instruments of `telemetry` (built on first call). */
export function senderInstruments(telemetry: Telemetry): SenderInstruments {
  return telemetry.instruments("sender", build);
}

/** The error name a failed send is counted under: Mandrill's `name`, else the kit's code. */
function errorType(error: unknown): string {
  const e = error as { mandrillName?: unknown; code?: unknown } | null;
  if (typeof e?.mandrillName === "string") return e.mandrillName;
  return typeof e?.code === "string" ? e.code : "other";
}

/** What a send was for: `send()` of a host's message, or "Send a test email" (`sendTestEmail()`). */
export type SendKind = "message" | "test";

/**
 * One send being observed: span `mandrill_kit.sender.send`, metrics when it ends. Every series and the
 * span carry `mandrill_kit.send.kind`, so test emails can be told apart from (or summed with) real mail.
 */
export function observeSend(telemetry: Telemetry, account: string, kind: SendKind) {
  const started = performance.now();
  const span = telemetry.tracer().startSpan("mandrill_kit.sender.send", {
    kind: SpanKind.CLIENT,
    attributes: { "mandrill_kit.account": account, "mandrill_kit.send.kind": kind },
  });
  const m = senderInstruments(telemetry);
  return {
    /** Records the result (`refused` when every recipient given to Mandrill was refused). */
    sent(result: SendResult, refused: Error | undefined): void {
      const transport = result.transport;
      for (const r of result.recipients) m.recipients(1, account, kind, transport, r.status);
      const outcome = refused === undefined ? "sent" : "refused";
      const attributes = m.sends(1, account, kind, transport, outcome);
      m.duration.record(secondsSince(started), attributes);
      span.setAttributes({
        "mandrill_kit.transport": transport,
        "mandrill_kit.outcome": outcome,
        "mandrill_kit.recipients": result.recipients.length,
        "mandrill_kit.correlation_id": result.correlationId,
      });
      endSpan(span, refused);
    },
    /** Records a send that could not happen (`transport` when the settings were read). */
    failed(transport: MandrillTransport | undefined, error: unknown): void {
      const t = transport ?? "none";
      const attributes = m.sends(1, account, kind, t, "error");
      m.errors(1, account, kind, t, errorType(error));
      m.duration.record(secondsSince(started), attributes);
      endSpan(span, error);
    },
  };
}

import type { Clock, InboxEventInput, IngestResult, Store } from "@mandrill-kit/core";
import {
  attributeSets,
  type ComponentLogger,
  endSpan,
  secondsSince,
  summedCounter,
  suppressionChanges,
  type Telemetry,
  traceFields,
} from "@mandrill-kit/core/plugin";
import type { Attributes, BatchObservableCallback, Counter, Histogram, Meter } from "@opentelemetry/api";
import type { RefusalReason } from "./verify-request.js";

/** What happened to one POSTed batch (`outcome` of `mandrill_kit.webhooks.batches`). */
export type BatchOutcome =
  | "accepted"
  | "duplicate"
  | "quarantined"
  | "bad_signature"
  | "unknown_account"
  | "too_large"
  | "too_slow"
  | "bad_request"
  | "not_stored";

/** How a handler run ended (`outcome` of `mandrill_kit.dispatcher.runs`). */
export type RunOutcomeName = "ok" | "retry" | "dead_letter" | "timeout";

/** The webhooks' and dispatcher's instruments, built once per telemetry handle. */
export interface WebhookInstruments {
  batches: Counter;
  events: Counter;
  ingestDuration: Histogram;
  /** Adds to `mandrill_kit.dispatcher.runs` (account when per account, outcome, event type); returns the set. */
  runs: (n: number, account: string, outcome: RunOutcomeName, type: string) => Attributes;
  /** Recorded with the attributes `runs` returned. */
  runDuration: Histogram;
  observeBacklog(store: Store, clock: Clock, logger: ComponentLogger): () => void;
  /** Attributes of `batches` and `ingestDuration`: account (when per account), outcome. */
  batchSet(account: string, outcome: BatchOutcome): Attributes;
  /** Attributes of `events`: account (when per account), outcome, event type. */
  eventSet(account: string, outcome: string, type: string): Attributes;
  /** Attributes of the suppression changes an ingest makes: account (when per account), change, reason, source. */
  changeSet(account: string, change: string, reason: string, source: string): Attributes;
}

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function build(meter: Meter, telemetry: Telemetry): WebhookInstruments {
  const pending = meter.createObservableGauge("mandrill_kit.dispatcher.pending", {
    description: "Webhook events whose handlers have not finished (every account of the store).",
    unit: "{event}",
  });
  const dead = meter.createObservableGauge("mandrill_kit.dispatcher.dead", {
    description: "Dead-lettered webhook events (handlers gave up; replay runs them again).",
    unit: "{event}",
  });
  const oldestAge = meter.createObservableGauge("mandrill_kit.dispatcher.pending.oldest_age", {
    description: "How long the pending event due the longest has been waiting to run.",
    unit: "s",
  });
  return {
    batches: meter.createCounter("mandrill_kit.webhooks.batches", {
      description: "Webhook batches POSTed, by outcome.",
      unit: "{batch}",
    }),
    events: meter.createCounter("mandrill_kit.webhooks.events", {
      description: "Events of stored webhook batches, by outcome (accepted, duplicate) and event type.",
      unit: "{event}",
    }),
    ingestDuration: meter.createHistogram("mandrill_kit.webhooks.ingest.duration", {
      description: "Time to store one verified batch (parse, dedupe, suppressions, commit).",
      unit: "s",
      advice: { explicitBucketBoundaries: SECONDS },
    }),
    runs: summedCounter(
      telemetry,
      meter,
      "mandrill_kit.dispatcher.runs",
      {
        description: "Handler runs, by outcome (ok, retry, dead_letter, timeout) and event type.",
        unit: "{run}",
      },
      (account, outcome: RunOutcomeName, type: string) => ({ ...account, outcome, [TYPE]: type }),
    ),
    runDuration: meter.createHistogram("mandrill_kit.dispatcher.run.duration", {
      description: "Time a handler run took (to its timeout for runs cut off).",
      unit: "s",
      advice: { explicitBucketBoundaries: SECONDS },
    }),
    observeBacklog(store, clock, logger) {
      const read = store.inbox.backlog?.bind(store.inbox);
      if (read === undefined) return () => {};
      const callback: BatchObservableCallback = async (result) => {
        try {
          const backlog = await read();
          result.observe(pending, backlog.pending);
          result.observe(dead, backlog.dead);
          const age = backlog.oldestDueAt === null ? 0 : (clock.now() - backlog.oldestDueAt) / 1000;
          result.observe(oldestAge, Math.max(0, age));
        } catch (error) {
          logger.warn({ err: error }, "could not read the inbox backlog for the metrics");
        }
      };
      meter.addBatchObservableCallback(callback, [pending, dead, oldestAge]);
      return () => meter.removeBatchObservableCallback(callback, [pending, dead, oldestAge]);
    },
    batchSet: attributeSets(telemetry, (account, outcome: BatchOutcome) => ({ ...account, outcome })),
    eventSet: attributeSets(telemetry, (account, outcome, type) => ({ ...account, outcome, [TYPE]: type })),
    changeSet: attributeSets(telemetry, (account, change, reason, source) => ({
      ...account,
      "mandrill_kit.suppression.change": change,
      "mandrill_kit.suppression.reason": reason,
      "mandrill_kit.suppression.source": source,
    })),
  };
}

/** The instruments of `telemetry` (built on first call), or of a default handle. */
export function webhookInstruments(telemetry: Telemetry): WebhookInstruments {
  return telemetry.instruments("webhooks", build);
}

const REFUSALS: Record<RefusalReason, BatchOutcome | undefined> = {
  method: undefined,
  "content-type": "bad_request",
  "too-large": "too_large",
  "too-slow": "too_slow",
  "malformed-body": "bad_request",
  "no-events": "bad_request",
  account: "unknown_account",
  "no-key": "unknown_account",
  "no-signature": "bad_signature",
  "signature-mismatch": "bad_signature",
};

/**
 * Counts a refused POST. No account attribute: the account of a refused request is not verified,
 * and anyone could fill the series with made-up ones.
 */
export function countRefusal(telemetry: Telemetry, reason: RefusalReason): BatchOutcome | undefined {
  const outcome = REFUSALS[reason];
  if (outcome !== undefined) webhookInstruments(telemetry).batches.add(1, { outcome });
  return outcome;
}

const TYPE = "mandrill_kit.event.type";

/** Events per type among `inputs`. */
function countTypes(inputs: Iterable<InboxEventInput | undefined>): Map<string, number> {
  const byType = new Map<string, number>();
  for (const input of inputs) {
    const type = input?.type ?? "unknown";
    byType.set(type, (byType.get(type) ?? 0) + 1);
  }
  return byType;
}

/** Counts a stored batch: its outcome, its events by outcome and type, its suppression changes. */
export function countIngested(
  telemetry: Telemetry,
  account: string,
  inputs: readonly InboxEventInput[],
  result: IngestResult,
): BatchOutcome {
  const m = webhookInstruments(telemetry);
  const outcome: BatchOutcome =
    result.inserted.length === 0 && result.duplicates.length > 0 ? "duplicate" : "accepted";
  m.batches.add(1, m.batchSet(account, outcome));
  if (result.duplicates.length === 0) {
    // The usual batch: every event new, so counting types needs no lookup by key.
    for (const [type, n] of countTypes(inputs)) m.events.add(n, m.eventSet(account, "accepted", type));
  } else {
    const byKey = new Map(inputs.map((i) => [i.key, i]));
    for (const [keys, eventOutcome] of [
      [result.inserted, "accepted"],
      [result.duplicates, "duplicate"],
    ] as const)
      for (const [type, n] of countTypes(keys.map((key) => byKey.get(key))))
        m.events.add(n, m.eventSet(account, eventOutcome, type));
  }
  if (result.effects.length === 0) return outcome;
  // Only the few events that change the suppression list are looked up (for the change's source).
  const withEffects = new Map<string, InboxEventInput>();
  for (const input of inputs)
    if (input.effects !== undefined && input.effects.length > 0) withEffects.set(input.key, input);
  for (const effect of result.effects) {
    const input = withEffects.get(effect.key)?.effects?.find((e) => e.email === effect.email);
    const source = input?.op === "suppress" ? input.source : "webhook";
    suppressionChanges(telemetry).add(
      1,
      m.changeSet(
        account,
        effect.op === "suppressed" ? "added" : effect.op,
        effect.reason ?? "lifted",
        source,
      ),
    );
  }
  return outcome;
}

/** A handler run being observed: its span, and the metrics recorded when it ends. */
export interface ObservedRun {
  /** `{ traceId }` for the run's log lines. */
  readonly trace: { traceId?: string };
  finish(outcome: RunOutcomeName, error?: Error): void;
}

/** Starts observing a handler run of `record` (span `mandrill_kit.dispatcher.run`). */
export function observeRun(
  telemetry: Telemetry,
  record: { account: string; key: string; type: string; attempts: number },
): ObservedRun {
  const started = performance.now();
  const span = telemetry.tracer().startSpan("mandrill_kit.dispatcher.run", {
    attributes: {
      "mandrill_kit.account": record.account,
      "mandrill_kit.event.key": record.key,
      [TYPE]: record.type,
      "mandrill_kit.attempt": record.attempts,
    },
  });
  let finished = false;
  return {
    trace: traceFields(span),
    finish(outcome, error) {
      if (finished) return;
      finished = true;
      const m = webhookInstruments(telemetry);
      const attributes = m.runs(1, record.account, outcome, record.type);
      m.runDuration.record(secondsSince(started), attributes);
      span.setAttribute("mandrill_kit.outcome", outcome);
      endSpan(span, error);
    },
  };
}

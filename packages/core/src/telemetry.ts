import {
  type Attributes,
  type Context,
  type Counter,
  context,
  type Meter,
  type MeterProvider,
  metrics,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import { MandrillKitConfigError } from "./errors.js";
import { checkOptions } from "./options.js";

/** Instrumentation scope of every meter and tracer of the kit. */
const TELEMETRY_SCOPE = "mandrill-kit";

/** The `metrics` option of `mandrillKit()` (and of plugins used without it). */
export interface MetricsOptions {
  /**
   * Adds the account id (`mandrill_kit.account`) to metric attributes. Off by default: with thousands
   * of accounts every series is multiplied by that many. Spans always carry the account.
   * @default false
   */
  perAccount?: boolean;
  /** Where instruments come from. @default the global one (`metrics.setGlobalMeterProvider`) */
  meterProvider?: MeterProvider;
  /** Where spans come from. @default the global one (`trace.setGlobalTracerProvider`) */
  tracerProvider?: TracerProvider;
}

/**
 * The kit's handle on OpenTelemetry (`@opentelemetry/api` only: every call is a no-op until the host
 * installs an SDK). Plugins build their instruments once, on first use, through {@link Telemetry.instruments}.
 */
export interface Telemetry {
  readonly perAccount: boolean;
  meter(): Meter;
  tracer(): Tracer;
  /** The account attribute when `perAccount` is on; otherwise an empty object. */
  account(account: string): Attributes;
  /** One plugin's instruments, built by `build` on first call and kept (never per call). */
  instruments<T>(key: string, build: (meter: Meter, telemetry: Telemetry) => T): T;
}

const NO_ATTRIBUTES: Attributes = Object.freeze({});

/** Validates the `metrics` option; `factory` names the caller in the error. */
export function resolveMetricsOptions(factory: string, value: unknown): MetricsOptions {
  const o = checkOptions(`${factory}({ metrics })`, value, [
    "perAccount",
    "meterProvider",
    "tracerProvider",
  ]) as MetricsOptions;
  if (o.perAccount !== undefined && typeof o.perAccount !== "boolean")
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "metrics.perAccount",
      `${factory}() metrics.perAccount must be true or false; received ${JSON.stringify(o.perAccount)}.`,
    );
  for (const [name, method] of [
    ["meterProvider", "getMeter"],
    ["tracerProvider", "getTracer"],
  ] as const) {
    const provider = o[name] as unknown as Record<string, unknown> | undefined;
    if (provider !== undefined && typeof provider?.[method] !== "function")
      throw new MandrillKitConfigError(
        "ERR_MK_CONFIG_INVALID",
        `metrics.${name}`,
        `${factory}() metrics.${name} must be an OpenTelemetry ${name === "meterProvider" ? "MeterProvider" : "TracerProvider"} (with ${method}()).`,
      );
  }
  return o;
}

/**
 * The telemetry handle for checked `options`. Meter and tracer are taken on first use, so a host that
 * registers its SDK after creating the plugins (but before traffic) is still seen.
 */
export function createTelemetry(options: MetricsOptions = {}): Telemetry {
  const perAccount = options.perAccount === true;
  let meter: Meter | undefined;
  let tracer: Tracer | undefined;
  const built = new Map<string, unknown>();
  const telemetry: Telemetry = {
    perAccount,
    meter: () => {
      meter ??= (options.meterProvider ?? metrics.getMeterProvider()).getMeter(TELEMETRY_SCOPE);
      return meter;
    },
    tracer: () => {
      tracer ??= (options.tracerProvider ?? trace.getTracerProvider()).getTracer(TELEMETRY_SCOPE);
      return tracer;
    },
    account: perAccount ? (account) => ({ "mandrill_kit.account": account }) : () => NO_ATTRIBUTES,
    instruments<T>(key: string, build: (meter: Meter, telemetry: Telemetry) => T): T {
      let found = built.get(key) as T | undefined;
      if (found === undefined) {
        found = build(telemetry.meter(), telemetry);
        built.set(key, found);
      }
      return found;
    },
  };
  return telemetry;
}

let fallback: Telemetry | undefined;
/** The handle of plugins used without the kit nor a `metrics` option: the global providers, no account attribute. */
export function defaultTelemetry(): Telemetry {
  fallback ??= createTelemetry();
  return fallback;
}

/** Attribute sets kept per {@link attributeSets} family: the SDK's default cardinality limit. */
const MAX_ATTRIBUTE_SETS = 2000;

/** The key of an attribute set of `values` (and of `account`, only when `perAccount` is on). */
function setKey(telemetry: Telemetry, account: string, values: readonly string[]): string {
  return telemetry.perAccount ? `${account}\u0000${values.join("\u0000")}` : values.join("\u0000");
}

/**
 * Attribute sets for one instrument's recordings, built the first time a combination of values is seen
 * and reused after, so recording on a hot path (every send, every handler run) allocates nothing.
 * `build` gets the account attribute (`{}` unless `perAccount`) and the values; the account is part of
 * the key only when `perAccount` is on. At most {@link MAX_ATTRIBUTE_SETS} sets are kept: past it, sets are built per call, so odd values (an error name a server
 * made up) cannot grow memory.
 *
 * Why not `{ ...base, more }` per call: V8 (Node 20) runs a spread followed by more properties on a
 * slow path, about 1 µs each, which was most of the kit's instrumentation cost per send.
 */
export function attributeSets<V extends readonly string[]>(
  telemetry: Telemetry,
  build: (account: Attributes, ...values: V) => Attributes,
): (account: string, ...values: V) => Attributes {
  const sets = new Map<string, Attributes>();
  return (account, ...values) => {
    const key = setKey(telemetry, account, values);
    let found = sets.get(key);
    if (found === undefined) {
      found = Object.freeze(build(telemetry.account(account), ...values));
      if (sets.size < MAX_ATTRIBUTE_SETS) sets.set(key, found);
    }
    return found;
  };
}

/** Where a {@link summedCounter} counts combinations past its limit: the SDK's own overflow set. */
const OVERFLOW: Attributes = Object.freeze({ "otel.metric.overflow": true });

/** One attribute set of a {@link summedCounter} and its running total. */
interface Sum {
  readonly attributes: Attributes;
  value: number;
}

/**
 * A monotonic counter summed by the kit and read by the SDK when it collects (an observable counter):
 * a hot path (every send, every settings lookup) adds to a number instead of calling into the SDK,
 * which hashes the attributes of every synchronous `add` (about 1.5 µs each on Node 20, measured in
 * the sender). Exporters see the same cumulative sum a synchronous counter gives. The returned
 * function adds `n` for the attribute set of `(account, ...values)` — built by `build` the first time
 * that combination is seen, as in {@link attributeSets} — and returns that set, so a histogram
 * recorded beside it reuses it. At most {@link MAX_ATTRIBUTE_SETS} series, the overflow set included:
 * past 1,999 sets, counts go to `otel.metric.overflow=true`, as the SDK does at its default
 * cardinality limit (so the SDK keeps every series this reports).
 */
export function summedCounter<V extends readonly string[]>(
  telemetry: Telemetry,
  meter: Meter,
  name: string,
  options: { description: string; unit: string },
  build: (account: Attributes, ...values: V) => Attributes,
): (n: number, account: string, ...values: V) => Attributes {
  const sums = new Map<string, Sum>();
  const overflow: Sum = { attributes: OVERFLOW, value: 0 };
  meter.createObservableCounter(name, options).addCallback((result) => {
    for (const sum of sums.values()) result.observe(sum.value, sum.attributes);
    if (overflow.value > 0) result.observe(overflow.value, overflow.attributes);
  });
  return (n, account, ...values) => {
    const key = setKey(telemetry, account, values);
    let sum = sums.get(key);
    if (sum === undefined) {
      if (sums.size >= MAX_ATTRIBUTE_SETS - 1) sum = overflow;
      else {
        sum = { attributes: Object.freeze(build(telemetry.account(account), ...values)), value: 0 };
        sums.set(key, sum);
      }
    }
    sum.value += n;
    return sum.attributes;
  };
}

/**
 * `mandrill_kit.suppressions.changes`: suppression list changes by `mandrill_kit.suppression.change`
 * (added, extended, lifted), `.reason` and `.source`. Shared by every plugin that changes the list.
 */
export function suppressionChanges(telemetry: Telemetry): Counter {
  return telemetry.instruments("suppressions", (meter) =>
    meter.createCounter("mandrill_kit.suppressions.changes", {
      description: "Suppression list changes, by change (added, extended, lifted), reason and source.",
      unit: "{change}",
    }),
  );
}

/** Seconds elapsed since `startMs` (a `performance.now()` reading): what `.duration` histograms record. */
export function secondsSince(startMs: number): number {
  return (performance.now() - startMs) / 1000;
}

/** `{ traceId }` of a recording span, for log lines; `{}` otherwise (no SDK, not sampled). */
export function traceFields(span: Span | undefined): { traceId?: string } {
  if (span === undefined || !span.isRecording()) return {};
  return { traceId: span.spanContext().traceId };
}

/** Ends `span`, with an error status when `error` is given. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    if (error instanceof Error) span.recordException(error);
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
  }
  span.end();
}

/**
 * The parent context of an incoming request: the active one when the host's HTTP instrumentation
 * already made a span, else the W3C trace context (`traceparent`) of its headers.
 */
export function incomingContext(headers: Readonly<Record<string, unknown>>): {
  parent: Context;
  remote: boolean;
} {
  const active = context.active();
  if (trace.getSpan(active) !== undefined) return { parent: active, remote: false };
  return { parent: propagation.extract(ROOT_CONTEXT, headers), remote: true };
}

import { MandrillKitConfigError } from "@mandrill-kit/core";
import { checkOptions } from "@mandrill-kit/core/plugin";

/** SMTP command a `smtp-reply` fault answers: `AUTH`, `MAIL FROM`, `RCPT TO` or the end of `DATA`. */
export type SmtpStage = "auth" | "mail" | "rcpt" | "data";

/** Which requests a fault applies to. Without `key` it is global; without `times` it lasts until cleared. */
export interface FaultTarget {
  /** Only requests (or SMTP sessions) using this API key. */
  key?: string;
  /** Only this API method, e.g. `"messages/send"` (API faults only). */
  method?: string;
  /** Apply to the next N matching requests, then expire. @default until cleared */
  times?: number;
}

/**
 * A fault to inject. API faults: `latency` (delay, then answer normally; combines with the others),
 * `rate-limit` (HTTP 429 `RequestLimitExceeded` with `Retry-After`, in both status modes),
 * `general-error` (`GeneralError`), `service-unavailable` (`ServiceUnavailable`), `reset` (the
 * connection is destroyed without an answer). SMTP faults: `smtp-reply` (answer `code` and
 * `message` at `stage`), `smtp-latency` (hold the reply at `stage` for `ms`; at `data` the message is
 * processed first, so a client that gives up meanwhile has still sent it). Export faults (the next
 * export job started with a matching key, see `exports.ts`): `export-error` (the job ends in state
 * `error`), `export-stall` (it stays `working`), `export-truncate` (its zip is cut off half way),
 * `export-csv` (its CSV file is `csv`, as given).
 */
export type FaultSpec = FaultTarget &
  (
    | { kind: "latency"; ms: number }
    | { kind: "rate-limit"; retryAfterSeconds?: number }
    | { kind: "general-error"; message?: string }
    | { kind: "service-unavailable"; message?: string }
    | { kind: "reset" }
    | { kind: "smtp-reply"; code: number; message?: string; stage?: SmtpStage }
    | { kind: "smtp-latency"; ms: number; stage?: SmtpStage }
    | { kind: "export-error" | "export-stall" | "export-truncate" }
    | { kind: "export-csv"; csv: string }
  );

/** A fault that was added: see how many uses remain, or clear it. */
export interface FaultHandle {
  readonly id: number;
  readonly spec: Readonly<FaultSpec>;
  /** Uses left; `null` when it lasts until cleared; 0 once used up or cleared. */
  readonly remaining: number | null;
  clear(): void;
}

const COMMON = ["kind", "key", "method", "times"];
const FIELDS: Record<FaultSpec["kind"], readonly string[]> = {
  latency: [...COMMON, "ms"],
  "rate-limit": [...COMMON, "retryAfterSeconds"],
  "general-error": [...COMMON, "message"],
  "service-unavailable": [...COMMON, "message"],
  reset: COMMON,
  "smtp-reply": [...COMMON, "code", "message", "stage"],
  "smtp-latency": [...COMMON, "ms", "stage"],
  "export-error": COMMON,
  "export-stall": COMMON,
  "export-truncate": COMMON,
  "export-csv": [...COMMON, "csv"],
};
const STAGES: readonly SmtpStage[] = ["auth", "mail", "rcpt", "data"];

function bad(option: string, message: string, value: unknown): never {
  throw new MandrillKitConfigError(
    "ERR_MK_CONFIG_INVALID",
    option,
    `Simulator fault ${option} ${message}; received ${JSON.stringify(value) ?? String(value)}.`,
  );
}

/** Validates a fault spec; throws `MandrillKitConfigError` naming the bad field. */
export function checkFaultSpec(spec: unknown, option = "fault"): FaultSpec {
  const kind = (spec as { kind?: unknown } | null)?.kind;
  if (typeof kind !== "string" || !(kind in FIELDS)) {
    bad(`${option}.kind`, `must be one of ${Object.keys(FIELDS).join(", ")}`, kind);
  }
  const s = checkOptions(`simulator fault (${kind})`, spec, FIELDS[kind as FaultSpec["kind"]]);
  if (s.key !== undefined && typeof s.key !== "string") bad(`${option}.key`, "must be a string", s.key);
  if (s.method !== undefined && typeof s.method !== "string")
    bad(`${option}.method`, "must be a string", s.method);
  if (s.times !== undefined && (!Number.isInteger(s.times) || (s.times as number) < 1)) {
    bad(`${option}.times`, "must be a positive integer", s.times);
  }
  if (
    (kind === "latency" || kind === "smtp-latency") &&
    (typeof s.ms !== "number" || !Number.isFinite(s.ms) || s.ms < 0)
  ) {
    bad(`${option}.ms`, "must be a number of milliseconds ≥ 0", s.ms);
  }
  if (
    kind === "rate-limit" &&
    s.retryAfterSeconds !== undefined &&
    (!Number.isInteger(s.retryAfterSeconds) || (s.retryAfterSeconds as number) < 0)
  ) {
    bad(`${option}.retryAfterSeconds`, "must be an integer ≥ 0", s.retryAfterSeconds);
  }
  if (
    kind === "smtp-reply" &&
    (!Number.isInteger(s.code) || (s.code as number) < 400 || (s.code as number) > 599)
  ) {
    bad(`${option}.code`, "must be an SMTP reply code from 400 to 599", s.code);
  }
  if (kind === "smtp-reply" || kind === "smtp-latency") {
    if (s.stage !== undefined && !STAGES.includes(s.stage as SmtpStage)) {
      bad(`${option}.stage`, `must be one of ${STAGES.join(", ")}`, s.stage);
    }
  }
  if (kind === "export-csv" && typeof s.csv !== "string") bad(`${option}.csv`, "must be a string", s.csv);
  if (s.message !== undefined && typeof s.message !== "string")
    bad(`${option}.message`, "must be a string", s.message);
  return { ...(s as unknown as FaultSpec) };
}

function isSmtpOrExport(spec: FaultSpec): boolean {
  return spec.kind === "smtp-reply" || spec.kind === "smtp-latency" || spec.kind.startsWith("export-");
}

interface ActiveFault {
  id: number;
  spec: FaultSpec;
  remaining: number | null;
}

/** What a request is, for matching faults. */
export interface FaultContext {
  key: string | undefined;
  method?: string;
  stage?: SmtpStage;
}

/** The set of active faults, consumed as requests match them. */
export class FaultRegistry {
  readonly #faults: ActiveFault[] = [];
  #nextId = 1;

  add(spec: FaultSpec): FaultHandle {
    const fault: ActiveFault = {
      id: this.#nextId++,
      spec: Object.freeze({ ...spec }),
      remaining: spec.times ?? null,
    };
    this.#faults.push(fault);
    const remove = () => this.#remove(fault);
    return {
      id: fault.id,
      spec: fault.spec,
      get remaining() {
        return fault.remaining;
      },
      clear: () => {
        fault.remaining = 0;
        remove();
      },
    };
  }

  clear(): void {
    for (const f of this.#faults) f.remaining = 0;
    this.#faults.length = 0;
  }

  list(): FaultSpec[] {
    return this.#faults.map((f) => ({ ...f.spec }));
  }

  /**
   * The API faults for a request, consuming one use of each: every matching `latency`, then the first
   * matching terminal fault (if any).
   */
  takeApi(ctx: FaultContext): { latencyMs: number; terminal: FaultSpec | undefined } {
    let latencyMs = 0;
    let terminal: FaultSpec | undefined;
    for (const f of [...this.#faults]) {
      if (isSmtpOrExport(f.spec) || !this.#matches(f, ctx)) continue;
      if (f.spec.kind === "latency") {
        latencyMs += f.spec.ms;
        this.#use(f);
      } else if (terminal === undefined) {
        terminal = f.spec;
        this.#use(f);
      }
    }
    return { latencyMs, terminal };
  }

  /** The first `smtp-reply` fault for this SMTP stage, consuming one use. */
  takeSmtp(ctx: FaultContext): Extract<FaultSpec, { kind: "smtp-reply" }> | undefined {
    for (const f of this.#faults) {
      if (f.spec.kind !== "smtp-reply" || (f.spec.stage ?? "data") !== ctx.stage) continue;
      if (!this.#matches(f, ctx)) continue;
      this.#use(f);
      return f.spec;
    }
    return undefined;
  }

  /** Total `smtp-latency` for this SMTP stage, consuming one use of each matching fault. */
  takeSmtpLatency(ctx: FaultContext): number {
    let ms = 0;
    for (const f of [...this.#faults]) {
      if (f.spec.kind !== "smtp-latency" || (f.spec.stage ?? "data") !== ctx.stage || !this.#matches(f, ctx))
        continue;
      ms += f.spec.ms;
      this.#use(f);
    }
    return ms;
  }

  /** The export faults for a new export job, consuming one use of each. */
  takeExport(ctx: FaultContext): Extract<FaultSpec, { kind: `export-${string}` }>[] {
    const out: Extract<FaultSpec, { kind: `export-${string}` }>[] = [];
    for (const f of [...this.#faults]) {
      if (!f.spec.kind.startsWith("export-") || (f.spec.key !== undefined && f.spec.key !== ctx.key))
        continue;
      out.push(f.spec as Extract<FaultSpec, { kind: `export-${string}` }>);
      this.#use(f);
    }
    return out;
  }

  #matches(f: ActiveFault, ctx: FaultContext): boolean {
    if (f.spec.key !== undefined && f.spec.key !== ctx.key) return false;
    if (f.spec.method !== undefined && f.spec.method !== ctx.method) return false;
    return true;
  }

  #use(f: ActiveFault): void {
    if (f.remaining === null) return;
    f.remaining -= 1;
    if (f.remaining <= 0) this.#remove(f);
  }

  #remove(f: ActiveFault): void {
    const i = this.#faults.indexOf(f);
    if (i !== -1) this.#faults.splice(i, 1);
  }
}

import { redact } from "./redact.js";

/**
 * Structured context of a log entry. Every entry from the kit carries `component` (e.g.
 * `"webhooks"`) and, when there is one, `account`.
 */
export interface LogContext {
  /** The kit component writing the entry: `"store"`, `"credentials"`, `"webhooks"`, `"sender"`… */
  component: string;
  /** The account the entry is about, when there is one. */
  account?: string;
  [key: string]: unknown;
}

/** One logging method: `(context, message)`, the argument order of pino. */
export type LogMethod = (context: LogContext, message: string) => void;

/**
 * The logger shape the kit writes to. pino loggers fit as they are; so does anything with these four
 * methods. The kit never logs secrets: contexts pass through {@link redact} in {@link componentLogger}.
 */
export interface Logger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  /**
   * Whether entries of `level` are written (pino has it). When it answers false, the kit builds and
   * redacts no context for that level: a disabled debug or info line costs a call, not a walk of
   * its fields. Without it, every entry is handed over.
   */
  isLevelEnabled?(level: LogLevel): boolean;
}

const noop: LogMethod = () => {};

/** A logger that writes nothing: the default everywhere. */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

/** Log levels in increasing order of severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** Options of {@link createConsoleLogger}. */
export interface ConsoleLoggerOptions {
  /** Lowest level written. @default "info" */
  level?: LogLevel;
  /** Where lines go. @default process.stderr */
  stream?: { write(chunk: string): unknown };
}

/**
 * A minimal JSON-lines logger for hosts without pino (one JSON object per line:
 * `{"level","time","msg",...context}`). Debug entries are dropped unless `level: "debug"`.
 */
export function createConsoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const min = LEVELS.indexOf(options.level ?? "info");
  const stream = options.stream ?? process.stderr;
  const isLevelEnabled = (level: LogLevel) => LEVELS.indexOf(level) >= min;
  const method =
    (level: LogLevel): LogMethod =>
    (context, message) => {
      if (!isLevelEnabled(level)) return;
      const entry = { level, time: new Date().toISOString(), msg: message, ...(redact(context) as object) };
      stream.write(`${JSON.stringify(entry)}\n`);
    };
  return {
    debug: method("debug"),
    info: method("info"),
    warn: method("warn"),
    error: method("error"),
    isLevelEnabled,
  };
}

/** Fields of an entry written through a {@link ComponentLogger} (its `component` is already bound). */
export interface LogFields {
  account?: string;
  [key: string]: unknown;
}

/** A logger bound to one component: what kit code writes to. */
export interface ComponentLogger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

const silentComponentLogger: ComponentLogger = silentLogger;

/**
 * Wraps `logger` so every entry carries `bindings` (at least `component`) and has its context
 * redacted before it leaves the kit. Used by every component on the logger the host injected.
 */
export function componentLogger(logger: Logger, bindings: LogContext): ComponentLogger {
  if (logger === silentLogger) return silentComponentLogger;
  const enabled = (level: LogLevel) => logger.isLevelEnabled?.(level) ?? true;
  const method =
    (level: LogLevel) =>
    (context: LogFields, message: string): void => {
      if (!enabled(level)) return;
      logger[level](redact({ ...bindings, ...context }) as LogContext, message);
    };
  return { debug: method("debug"), info: method("info"), warn: method("warn"), error: method("error") };
}

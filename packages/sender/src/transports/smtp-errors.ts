import { isMandrillKitError, type MandrillKitError, MandrillKitTransportError } from "@mandrill-kit/core";

/** A nodemailer error (or a connect error of the network guard) with the fields it sets. */
export interface SmtpFailure extends Error {
  code?: string;
  command?: string;
  responseCode?: number;
  timeoutType?: string;
  originalCode?: string;
}

/** What went wrong over SMTP, in the words a settings page shows (never the server's own text). */
export type SmtpProblem =
  | "certificate"
  | "tls"
  | "auth"
  | "auth-temporary"
  | "dns"
  | "refused"
  | "timeout"
  | "unreachable"
  | "closed"
  | "not-smtp"
  | "sender-refused"
  | "message-refused"
  | "failed";

/** What to do about the problems that are not the network's (the code's advice is about the network). */
const PROBLEM_ADVICE: Partial<Record<SmtpProblem, string>> = {
  auth: "Copy an active API key from Mandrill (Settings → SMTP & API Info) into the API key field and save: Mandrill's SMTP password is an API key, and any username works.",
  "auth-temporary": "Try again in a few minutes; if it keeps failing, check Mandrill's status page.",
  "sender-refused": "Use a From address on a sending domain verified in Mandrill (Settings → Domains).",
  "message-refused": "Look in Mandrill → Outbound → Activity for why the message was refused.",
};

/** An SMTP failure before the message was handed over; `problem` says which. */
export class SmtpTransportError extends MandrillKitTransportError {
  readonly problem: SmtpProblem;

  constructor(problem: SmtpProblem, message: string, retryable: boolean, cause: SmtpFailure) {
    super(message, retryable, { cause: safeCause(cause) });
    this.problem = problem;
  }

  /** A refused login (535) or sender is no network problem: its own advice, not the code's. */
  override get advice(): string {
    return PROBLEM_ADVICE[this.problem] ?? super.advice;
  }
}

/** How an SMTP failure is reported: a typed error, or every recipient rejected, or `unknown`. */
export type SmtpOutcome =
  | { kind: "error"; error: MandrillKitError }
  | { kind: "all-rejected" }
  | { kind: "unknown" };

const CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|UNABLE_TO_GET_ISSUER/;
const SYSTEM_CODE = /^E[A-Z_]{2,30}$/;
const DNS_CODES = new Set(["EDNS", "ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "ENODATA"]);
const UNREACHABLE_CODES = new Set(["EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "ESOCKET"]);

/** The error's code when it is a system-style code (`ECONNREFUSED`), never free text. */
function codeOf(error: SmtpFailure): string | undefined {
  const code = error.originalCode ?? error.code;
  return code !== undefined && SYSTEM_CODE.test(code) ? code : undefined;
}

/**
 * The cause kept on the kit's error: code, command and reply code only. nodemailer's message and
 * `response` carry what the server sent (`Invalid greeting. response=SSH-2.0-…`); that must not reach
 * a tenant, a log line or an APM through the error's cause.
 */
function safeCause(error: SmtpFailure): Error {
  const code = codeOf(error);
  const command = /^[A-Z][A-Z ]{1,15}$/i.test(error.command ?? "") ? error.command : undefined;
  const cause = new Error(`SMTP ${code ?? "error"} at ${command ?? "?"}`) as SmtpFailure;
  if (code !== undefined) cause.code = code;
  if (command !== undefined) cause.command = command;
  if (typeof error.responseCode === "number") cause.responseCode = error.responseCode;
  if (/^[A-Z_]{1,30}$/.test(error.timeoutType ?? "")) cause.timeoutType = error.timeoutType;
  return cause;
}

/** True when the failure is a TLS certificate that could not be verified. */
export function isCertificateFailure(error: SmtpFailure): boolean {
  return (
    CERTIFICATE.test(error.originalCode ?? "") ||
    CERTIFICATE.test(error.code ?? "") ||
    /certificate/i.test(error.message)
  );
}

/** The problem of a failure that happened before the message was handed over, if it is one. */
function connectProblem(error: SmtpFailure): SmtpProblem | undefined {
  const code = error.code ?? "";
  const original = error.originalCode ?? code;
  if (isCertificateFailure(error)) return "certificate";
  if (code === "EAUTH") {
    const temporary =
      error.responseCode !== undefined && error.responseCode >= 400 && error.responseCode < 500;
    return temporary ? "auth-temporary" : "auth";
  }
  if (DNS_CODES.has(code) || DNS_CODES.has(original)) return "dns";
  if (original === "ECONNREFUSED") return "refused";
  if (code === "ETIMEDOUT" && error.timeoutType !== "SOCKET_TIMEOUT") return "timeout";
  if (code === "ETLS") return "tls";
  if (code === "EPROTOCOL" && !/^DATA/.test(error.command ?? "")) return "not-smtp";
  if (UNREACHABLE_CODES.has(original) && (error.command === "CONN" || code !== "ESOCKET"))
    return "unreachable";
  if (code === "ECONNECTION" && (error.command === "CONN" || error.command === "EHLO")) return "closed";
  return undefined;
}

/** Plain words for a problem, naming where (`host:port`) and never the server's text. */
export function describeSmtpProblem(
  problem: SmtpProblem,
  at: string,
  account: string,
  reply?: number,
  code?: string,
): string {
  const blocked =
    "Outbound SMTP ports are often blocked by ISPs and cloud hosts: try port 2525 or 465, or the API transport.";
  switch (problem) {
    case "certificate":
      return `The TLS certificate of ${at} could not be verified. Check the host name, or the CA the server's certificate is signed by; the kit never sends the API key over an unverified connection.`;
    case "tls":
      return `TLS failed with ${at}: the server did not offer a working STARTTLS/TLS. The kit never sends the API key over a plain connection.`;
    case "auth":
      return `Mandrill's SMTP server refused the login for account "${account}" (${reply ?? "auth failed"}): the API key used as the SMTP password is wrong, inactive, or restricted by IP.`;
    case "auth-temporary":
      return `Mandrill's SMTP server could not log in account "${account}" right now (${reply ?? "?"}, temporary). Try again shortly.`;
    case "dns":
      return `Could not find the host of ${at} (DNS). Check the spelling: Mandrill's is smtp.mandrillapp.com.`;
    case "refused":
      return `Could not reach ${at} over SMTP: connection refused. ${blocked}`;
    case "timeout":
      return `Could not reach ${at} over SMTP: timed out. ${blocked}`;
    case "unreachable":
      return `Could not reach ${at} over SMTP: network unreachable. ${blocked}`;
    case "closed":
      return `${at} closed the connection before the SMTP session started. Check host and port: smtp.mandrillapp.com, 587 (or 2525; 465 for TLS).`;
    case "not-smtp":
      return `${at} is not an SMTP server (its answer was not SMTP). Check host and port: smtp.mandrillapp.com, 587 (or 2525; 465 for TLS).`;
    case "sender-refused":
      return `Mandrill's SMTP server refused the sender at MAIL FROM (${reply ?? "?"}). Check the From address is on a verified sending domain.`;
    case "message-refused":
      return `Mandrill's SMTP server refused the message (${reply ?? "?"}). Nothing was queued.`;
    case "failed":
      return `The SMTP send failed for account "${account}" at ${at}${code === undefined ? "" : ` (${code})`}.`;
  }
}

/**
 * Classifies a nodemailer failure (docs/mandrill.md#how-mandrill-handles-smtp-mail: Mandrill accepts DATA, then reports per recipient
 * later). The rule that matters: only a failure *before* the message was handed over may be called
 * retryable; a missing answer after DATA is `unknown` and must not be sent again.
 */
export function classifySmtpFailure(
  error: SmtpFailure,
  account: string,
  where: { host: string; port: number },
): SmtpOutcome {
  // The network policy refused the address or port: the kit's own error, already in plain words.
  if (isMandrillKitError(error)) return { kind: "error", error };
  const at = `${where.host}:${where.port}`;
  const fail = (problem: SmtpProblem, retryable: boolean) => ({
    kind: "error" as const,
    error: new SmtpTransportError(
      problem,
      describeSmtpProblem(problem, at, account, error.responseCode, codeOf(error)),
      retryable,
      error,
    ),
  });
  const temporary = error.responseCode !== undefined && error.responseCode >= 400 && error.responseCode < 500;
  const problem = connectProblem(error);
  if (problem !== undefined) {
    const retryable = ["auth-temporary", "dns", "refused", "timeout", "unreachable", "closed"].includes(
      problem,
    );
    return fail(problem, retryable);
  }
  // The connection went quiet mid-conversation: the message may already be with Mandrill.
  if (error.code === "ETIMEDOUT") return { kind: "unknown" };
  if (error.code === "EENVELOPE") {
    if (error.command === "RCPT TO" || /recipients were rejected/i.test(error.message))
      return { kind: "all-rejected" };
    return fail("sender-refused", temporary);
  }
  // An explicit refusal of the message after DATA: nothing was queued.
  if (error.code === "EMESSAGE") return fail("message-refused", temporary);
  if (
    error.command === "DATA" ||
    error.command === "DATA end" ||
    error.code === "ESOCKET" ||
    error.code === "ECONNRESET"
  ) {
    return { kind: "unknown" };
  }
  return fail("failed", false);
}

import { MandrillKitTransportError, type MandrillSettings } from "@mandrill-kit/core";

/** A nodemailer error with the fields it sets (code, command, responseCode, timeoutType, originalCode). */
export interface SmtpFailure extends Error {
  code?: string;
  command?: string;
  responseCode?: number;
  timeoutType?: string;
  originalCode?: string;
  rejected?: unknown[];
}

const CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|UNABLE_TO_GET_ISSUER/;

/** How an SMTP failure is reported: a typed error, or every recipient rejected, or `unknown`. */
export type SmtpOutcome =
  | { kind: "error"; error: MandrillKitTransportError }
  | { kind: "all-rejected"; reply: string }
  | { kind: "unknown" };

/** True when the failure is a TLS certificate that could not be verified. */
export function isCertificateFailure(error: SmtpFailure): boolean {
  return (
    CERTIFICATE.test(error.originalCode ?? "") ||
    CERTIFICATE.test(error.code ?? "") ||
    /certificate/i.test(error.message)
  );
}

/**
 * Classifies a nodemailer failure (spec §1.2: Mandrill accepts DATA, then reports per recipient
 * later). The rule that matters: only a failure *before* the message was handed over may be called
 * retryable; a missing answer after DATA is `unknown` and must not be sent again.
 */
export function classifySmtpFailure(
  error: SmtpFailure,
  settings: MandrillSettings,
  where: { host: string; port: number },
): SmtpOutcome {
  const at = `${where.host}:${where.port}`;
  const transport = (message: string, retryable: boolean) => ({
    kind: "error" as const,
    error: new MandrillKitTransportError(message, retryable, { cause: error }),
  });
  const temporary = error.responseCode !== undefined && error.responseCode >= 400 && error.responseCode < 500;
  if (isCertificateFailure(error)) {
    return transport(
      `The TLS certificate of ${at} could not be verified (${error.originalCode ?? error.code}). Check the host name, or the CA the server's certificate is signed by; the kit never sends the API key over an unverified connection.`,
      false,
    );
  }
  if (error.code === "EAUTH") {
    return temporary
      ? transport(
          `Mandrill's SMTP server could not log in account "${settings.account}" right now (${error.responseCode}, temporary). Try again shortly.`,
          true,
        )
      : transport(
          `Mandrill's SMTP server refused the login for account "${settings.account}" (${error.responseCode ?? "auth failed"}): the API key used as the SMTP password is wrong, inactive, or restricted by IP.`,
          false,
        );
  }
  if (error.code === "ETIMEDOUT" && error.timeoutType === "SOCKET_TIMEOUT") {
    // The connection went quiet mid-conversation: the message may already be with Mandrill.
    return { kind: "unknown" };
  }
  if (
    error.code === "ECONNECTION" ||
    error.code === "EDNS" ||
    error.code === "ETIMEDOUT" ||
    (error.code === "ESOCKET" && error.command === "CONN")
  ) {
    return transport(
      `Could not reach ${at} over SMTP (${error.code}). Outbound SMTP ports are often blocked by ISPs and cloud hosts: try port 2525 or 465, or the API transport.`,
      true,
    );
  }
  if (error.code === "EENVELOPE") {
    if (error.command === "RCPT TO" || /recipients were rejected/i.test(error.message))
      return { kind: "all-rejected", reply: error.message };
    return transport(
      `Mandrill's SMTP server refused the sender at ${error.command ?? "MAIL FROM"} (${error.responseCode ?? "?"}): ${error.message}`,
      temporary,
    );
  }
  if (error.code === "EMESSAGE") {
    // An explicit refusal of the message after DATA: nothing was queued.
    return transport(
      `Mandrill's SMTP server refused the message (${error.responseCode ?? "?"}${temporary ? ", temporary" : ""}): ${error.message}`,
      temporary,
    );
  }
  if (
    error.command === "DATA" ||
    error.command === "DATA end" ||
    error.code === "ESOCKET" ||
    error.code === "ECONNRESET"
  ) {
    return { kind: "unknown" };
  }
  return transport(`SMTP send failed for account "${settings.account}": ${error.message}`, false);
}

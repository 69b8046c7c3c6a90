import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import { MandrillKitError } from "@mandrill-kit/core";
import { maskSecret } from "@mandrill-kit/core/plugin";
import { simpleParser } from "mailparser";
import { SMTPServer, type SMTPServerSession } from "smtp-server";
import { MandrillApiError } from "./api-error.js";
import { lookupKey, type SimContext } from "./context.js";
import type { SmtpStage } from "./faults.js";
import { sendMessage } from "./send-message.js";
import { smtpToApiCall } from "./smtp-message.js";

/** Mandrill's largest message (25 MB). */
const MAX_MESSAGE_BYTES = 25 * 1024 * 1024;

/**
 * The reply to a refused AUTH. ASSUMED (docs/mandrill.md#smtp-connection-and-authentication and docs/mandrill.md#unconfirmed-behaviour): the only observed reply is
 * `435 4.7.8 Error: authentication failed:`; the simulator answers the standard permanent form.
 */
export const SMTP_AUTH_FAILED = { code: 535, message: "5.7.8 Authentication failed" } as const;

interface SessionUser {
  key: string;
  username: string;
}

/** A refusal smtp-server answers with `responseCode` (the simulated Mandrill refusing, `ERR_MK_MANDRILL_API`). */
function smtpError(code: number, message: string): Error {
  return Object.assign(new MandrillKitError("ERR_MK_MANDRILL_API", message), { responseCode: code });
}

function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

function userOf(session: SMTPServerSession): SessionUser | undefined {
  return session.user as SessionUser | undefined;
}

/** The SMTP server: AUTH with an API key as password, STARTTLS (or implicit TLS), X-MC-* headers. */
export async function startSmtpServer(
  ctx: SimContext,
  options: { port: number; secure: boolean; key: string; cert: string },
): Promise<{ server: SMTPServer; port: number }> {
  const fault = (stage: SmtpStage, key: string | undefined): Error | undefined => {
    const f = ctx.faults.takeSmtp({ key, stage });
    if (f === undefined) return undefined;
    const fallback = f.code < 500 ? "4.3.0 Temporary failure, try again later" : "5.3.0 Message refused";
    return smtpError(f.code, f.message ?? fallback);
  };
  // smtp-latency faults: answer after a delay (timers are unref'd so close() is not held up).
  const later = (stage: SmtpStage, key: string | undefined, answer: () => void): void => {
    const ms = ctx.faults.takeSmtpLatency({ key, stage });
    if (ms <= 0) {
      answer();
      return;
    }
    setTimeout(answer, ms).unref();
  };
  const server = new SMTPServer({
    secure: options.secure,
    key: options.key,
    cert: options.cert,
    name: "smtp.mandrill-simulator.localhost",
    banner: "Mandrill simulator ESMTP",
    authMethods: ["PLAIN", "LOGIN"],
    authOptional: false,
    allowInsecureAuth: ctx.options.smtpAllowInsecureAuth,
    size: MAX_MESSAGE_BYTES,
    logger: false,
    closeTimeout: 1000,
    onAuth(auth, session, callback) {
      const key = auth.password ?? "";
      const injected = fault("auth", key);
      if (injected !== undefined) return callback(injected);
      const state = lookupKey(ctx, key);
      const ip = session.remoteAddress.replace(/^::ffff:/, "");
      const allowed =
        state !== undefined &&
        (state.kind === "valid" ||
          state.kind === "test" ||
          (state.kind === "ip-restricted" && state.allowedIps.includes(ip)));
      if (!allowed) {
        ctx.log.info({ username: auth.username ?? "" }, "SMTP AUTH refused");
        return callback(smtpError(SMTP_AUTH_FAILED.code, SMTP_AUTH_FAILED.message));
      }
      // Mandrill ignores the username: any is accepted (docs/mandrill.md#smtp-connection-and-authentication).
      callback(null, { user: { key, username: auth.username ?? "" } satisfies SessionUser });
    },
    onMailFrom(_address, session, callback) {
      const key = userOf(session)?.key;
      later("mail", key, () => callback(fault("mail", key)));
    },
    onRcptTo(_address, session, callback) {
      const key = userOf(session)?.key;
      later("rcpt", key, () => callback(fault("rcpt", key)));
    },
    onData(stream, session, callback) {
      const user = userOf(session);
      readAll(stream)
        .then(async (raw) => {
          const injected = fault("data", user?.key);
          if (injected !== undefined) return callback(injected);
          if (user === undefined) return callback(smtpError(530, "5.7.0 Authentication required"));
          const state = lookupKey(ctx, user.key);
          if (state === undefined)
            return callback(smtpError(SMTP_AUTH_FAILED.code, SMTP_AUTH_FAILED.message));
          const parsed = await simpleParser(raw);
          const envelopeTo = session.envelope.rcptTo.map((a) => a.address);
          const call = smtpToApiCall(parsed, envelopeTo);
          const method = call.withTemplate ? "messages/send-template" : "messages/send";
          const log = (status: number, response: unknown) =>
            ctx.apiLog.push({
              seq: ++ctx.seq.api,
              at: ctx.now(),
              transport: "smtp",
              method,
              key: maskSecret(user.key),
              ip: session.remoteAddress.replace(/^::ffff:/, ""),
              request: call.params,
              status,
              response,
            });
          try {
            const before = ctx.outbox.length;
            const result = sendMessage(ctx, {
              key: state,
              transport: "smtp",
              params: call.params,
              withTemplate: call.withTemplate,
              smtp: {
                username: user.username,
                envelope: {
                  from: session.envelope.mailFrom === false ? null : session.envelope.mailFrom.address,
                  to: envelopeTo,
                },
                mcHeaders: call.mcHeaders,
                raw: raw.toString("utf8"),
              },
            });
            log(200, result);
            const id = ctx.outbox.length > before ? ctx.outbox.at(-1)?.id : undefined;
            // Processed already: a client that stops waiting has still sent the message.
            later("data", user.key, () => callback(null, `2.0.0 OK: queued as ${id ?? "none"}`));
          } catch (error) {
            if (!(error instanceof MandrillApiError)) throw error;
            // The API call Mandrill makes of an SMTP message fails after DATA was accepted: the error
            // shows in the API log only (docs/mandrill.md#how-mandrill-handles-smtp-mail).
            log(error.status(ctx.options.errorStatus), error.body());
            later("data", user.key, () => callback(null, "2.0.0 OK: accepted"));
          }
        })
        .catch((error: unknown) => {
          ctx.log.error({ error: String(error) }, "SMTP message could not be processed");
          callback(smtpError(451, "4.3.0 Temporary failure, try again later"));
        });
    },
  });
  server.on("error", (error) => ctx.log.warn({ error: String(error) }, "SMTP connection error"));
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.server.once("error", onError);
    server.listen(options.port, ctx.options.host, () => {
      server.server.off("error", onError);
      resolve();
    });
  });
  return { server, port: (server.server.address() as AddressInfo).port };
}

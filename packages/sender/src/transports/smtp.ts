import { type MandrillSettings, normalizeEmail, type RecipientResult } from "@mandrill-kit/core";
import { type ComponentLogger, checkPort } from "@mandrill-kit/core/plugin";
import nodemailer, { type Transporter } from "nodemailer";
import type { Attachment, ResolvedRecipient } from "../message.js";
import type { NetworkGuard } from "../network-guard.js";
import {
  classifySmtpFailure,
  describeSmtpProblem,
  type SmtpFailure,
  SmtpTransportError,
} from "./smtp-errors.js";
import { mandrillSmtpHeaders } from "./smtp-headers.js";
import { everyRecipient, recipientResult, type Transport, type TransportRequest } from "./transport.js";

/** Where and how to connect for an account (override to route SMTP elsewhere, e.g. a simulator). */
export interface SmtpRoute {
  host: string;
  port: number;
  /** Implicit TLS (port 465). STARTTLS is required otherwise. */
  secure: boolean;
  /** Extra TLS options, e.g. `{ ca }` for a private CA. */
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean; servername?: string };
}

/** SMTP options of the sender. */
export interface SmtpOptions {
  /** Connections per account's pool. @default 2 */
  maxConnections?: number;
  /** Messages per connection before it is recycled. @default 100 */
  maxMessages?: number;
  /**
   * Account pools kept open at once. Past it, the pool used least recently is closed (after the sends
   * already on it finish) and reopened on that account's next send. @default 500
   */
  maxPools?: number;
  /** Connecting (DNS, TCP, greeting, TLS). @default 10000 */
  connectionTimeoutMs?: number;
  /** Silence allowed mid-conversation. @default 30000 */
  socketTimeoutMs?: number;
  /**
   * Decides where an account's SMTP goes. The network policy applies to where it goes; the account's
   * saved port must be an allowed port. @default the account's host and port (465 → implicit TLS)
   */
  route?: (settings: MandrillSettings) => SmtpRoute;
}

/** The default route: the account's host and port; 465 means implicit TLS. */
export function defaultSmtpRoute(settings: MandrillSettings): SmtpRoute {
  return { host: settings.host, port: settings.port, secure: settings.port === 465 };
}

function attachment(a: Attachment, inline: boolean) {
  return {
    filename: a.name,
    contentType: a.type,
    ...(inline ? { cid: a.name } : {}),
    content: typeof a.content === "string" ? a.content : Buffer.from(a.content),
    ...(typeof a.content === "string" ? { encoding: "base64" } : {}),
  };
}

/** nodemailer's mail for a request (envelope from the recipients, Mandrill's `X-MC-*` headers). */
function mailOf({ settings, message, recipients, correlationId, headers }: TransportRequest) {
  const list = (type: ResolvedRecipient["type"]) =>
    recipients
      .filter((r) => r.type === type)
      .map((r) => (r.name === undefined ? r.email : { address: r.email, name: r.name }));
  const from = message.from?.email ?? settings.fromEmail;
  const fromName = message.from?.name ?? settings.fromName;
  const replyTo = message.replyTo ?? settings.replyTo ?? undefined;
  return {
    from: fromName ? { name: fromName, address: from } : from,
    to: list("to"),
    cc: list("cc"),
    bcc: list("bcc"),
    ...(replyTo === undefined ? {} : { replyTo }),
    ...(message.subject === undefined ? {} : { subject: message.subject }),
    ...(message.html === undefined ? {} : { html: message.html }),
    ...(message.text === undefined ? {} : { text: message.text }),
    headers: {
      ...mandrillSmtpHeaders(message, settings, recipients, correlationId),
      ...headers,
      ...(message.headers ?? {}),
    },
    attachments: [
      ...(message.attachments ?? []).map((a) => attachment(a, false)),
      ...(message.images ?? []).map((a) => attachment(a, true)),
    ],
  };
}

type Address = string | { address: string };

/** One account's pooled transport for one settings version. */
interface Pool {
  version: number;
  transporter: Transporter;
  route: SmtpRoute;
  /** Sends on it now: a retired pool closes when this reaches 0. */
  inFlight: number;
  retired: boolean;
}

/**
 * The SMTP transport: one pooled nodemailer transport per account and settings version; STARTTLS
 * required on 25, 587 and 2525, implicit TLS on 465; the API key is the password. Every connection
 * goes through the network guard (resolved once, checked, connected to the checked address).
 */
export function createSmtpTransport(
  options: SmtpOptions,
  guard: NetworkGuard,
  log: ComponentLogger,
): Transport & { readonly pools: number } {
  // In least-recently-used order: a send moves its account's pool to the end.
  const pools = new Map<string, Pool>();
  const maxPools = options.maxPools ?? 500;
  const connectionTimeoutMs = options.connectionTimeoutMs ?? 10_000;

  function transporterFor(settings: MandrillSettings, pool: boolean) {
    const refusal = checkPort(guard.policy, settings.host, settings.port);
    if (refusal !== undefined) throw refusal;
    const route = (options.route ?? defaultSmtpRoute)(settings);
    const transporter = nodemailer.createTransport({
      pool,
      host: route.host,
      port: route.port,
      secure: route.secure,
      // Mandrill offers STARTTLS on 25, 587 and 2525: never send the API key over a plain connection.
      requireTLS: !route.secure,
      auth: { user: settings.username, pass: settings.apiKey?.reveal() ?? "" },
      ...(pool
        ? { maxConnections: options.maxConnections ?? 2, maxMessages: options.maxMessages ?? 100 }
        : {}),
      connectionTimeout: connectionTimeoutMs,
      greetingTimeout: connectionTimeoutMs,
      socketTimeout: options.socketTimeoutMs ?? 30_000,
      ...(route.tls === undefined ? {} : { tls: route.tls }),
      // The guard opens the socket; nodemailer never resolves the name itself.
      getSocket: (_options: unknown, callback: (error: Error | null, socket?: unknown) => void) => {
        guard.connect(route.host, route.port, connectionTimeoutMs).then(
          (connection) => callback(null, { connection }),
          (error: Error) => callback(error),
        );
      },
    } as Parameters<typeof nodemailer.createTransport>[0]);
    return { transporter, route };
  }

  /** Takes `pool` out of use: it closes now, or when the last send on it finishes. */
  function retire(account: string, pool: Pool) {
    if (pools.get(account) === pool) pools.delete(account);
    pool.retired = true;
    if (pool.inFlight === 0) pool.transporter.close();
  }

  /** The account's pooled transport, rebuilt when its settings changed (new version). */
  function pooled(settings: MandrillSettings): Pool {
    const existing = pools.get(settings.account);
    if (existing !== undefined && existing.version === settings.version) {
      pools.delete(settings.account);
      pools.set(settings.account, existing);
      return existing;
    }
    if (existing !== undefined) retire(settings.account, existing);
    const created: Pool = {
      version: settings.version,
      ...transporterFor(settings, true),
      inFlight: 0,
      retired: false,
    };
    for (const [account, pool] of pools) {
      if (pools.size < maxPools) break;
      retire(account, pool);
    }
    pools.set(settings.account, created);
    return created;
  }

  return {
    /** Open account pools (the `mandrill_kit.sender.smtp.pools` gauge). */
    get pools() {
      return pools.size;
    },
    name: "smtp",
    async send(request): Promise<RecipientResult[]> {
      const { settings, recipients, correlationId } = request;
      const pool = pooled(settings);
      const { transporter, route } = pool;
      let info: { rejected?: Address[] };
      pool.inFlight += 1;
      try {
        info = await transporter.sendMail(mailOf(request));
      } catch (thrown) {
        const outcome = classifySmtpFailure(thrown as SmtpFailure, settings.account, route);
        if (outcome.kind === "error") throw outcome.error;
        if (outcome.kind === "all-rejected")
          return everyRecipient(recipients, "rejected", {
            rejectReason: "smtp-refused",
            rejectSide: "unknown",
          });
        log.warn(
          { account: settings.account, correlationId },
          "SMTP send outcome unknown: no answer after the message was handed over",
        );
        return everyRecipient(recipients, "unknown");
      } finally {
        pool.inFlight -= 1;
        if (pool.retired && pool.inFlight === 0) transporter.close();
      }
      const address = (a: Address) => normalizeEmail(typeof a === "string" ? a : a.address);
      const rejected = new Set((info.rejected ?? []).map(address));
      // Over SMTP, "sent" means Mandrill accepted the message for delivery (250 after DATA); Mandrill's
      // own per-recipient verdicts (denylist, unsigned…) arrive later as webhooks (docs/mandrill.md#how-mandrill-handles-smtp-mail).
      return recipients.map((r) =>
        rejected.has(r.normalized)
          ? recipientResult(r.email, "rejected", { rejectReason: "smtp-refused", rejectSide: "unknown" })
          : recipientResult(r.email, "sent"),
      );
    },
    async verify(settings) {
      const { transporter, route } = transporterFor(settings, false);
      try {
        await transporter.verify();
      } catch (thrown) {
        const error = thrown as SmtpFailure;
        const outcome = classifySmtpFailure(error, settings.account, route);
        if (outcome.kind === "error") throw outcome.error;
        // No message was on its way: a silence here is a timeout, anything else a failure.
        const problem = error.code === "ETIMEDOUT" ? "timeout" : "failed";
        const at = `${route.host}:${route.port}`;
        throw new SmtpTransportError(
          problem,
          describeSmtpProblem(problem, at, settings.account),
          true,
          error,
        );
      } finally {
        transporter.close();
      }
    },
    async close() {
      for (const [account, pool] of pools) retire(account, pool);
    },
  };
}

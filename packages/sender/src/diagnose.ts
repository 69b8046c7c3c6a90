import {
  type CredentialsReader,
  isMandrillKitError,
  MandrillKitApiError,
  type MandrillSettings,
  type Store,
} from "@mandrill-kit/core";
import nodemailer from "nodemailer";
import type { ApiClient } from "./api-client.js";
import { isCertificateFailure, type SmtpFailure } from "./smtp-errors.js";
import { defaultSmtpRoute, type SmtpOptions } from "./smtp-transport.js";

/** One named check of {@link diagnose}. */
export interface DiagnosticCheck {
  /** Stable id, e.g. `"api-key"`, `"sending-domain"`, `"smtp"`. */
  id: string;
  /** Short title for the admin page. */
  title: string;
  status: "pass" | "warn" | "fail" | "skip";
  /** What was found, in plain words (never a secret). */
  detail: string;
  /** What to do about it; empty when nothing. */
  advice: string;
}

/** The outcome of a diagnosis: every check, and whether all essential ones passed. */
export interface Diagnosis {
  account: string;
  at: number;
  ok: boolean;
  checks: DiagnosticCheck[];
}

interface UsersInfo {
  username?: string;
  reputation?: number;
  hourly_quota?: number;
  backlog?: number;
}

interface SenderDomain {
  domain?: string;
  spf?: { valid?: boolean; error?: string | null };
  dkim?: { valid?: boolean; error?: string | null };
  verified_at?: string | null;
  valid_signing?: boolean;
}

function apiKeyAdvice(error: unknown): { detail: string; advice: string } {
  if (
    isMandrillKitError(error, "ERR_MK_MANDRILL_API") &&
    error instanceof MandrillKitApiError &&
    error.mandrillName === "Invalid_Key"
  ) {
    return {
      detail: "Mandrill refused the API key (Invalid_Key).",
      advice:
        "The key is wrong, deleted or inactive, or the Mandrill account only accepts API calls from allowed IP addresses (Settings → Account security). Copy an active key from Mandrill → Settings → SMTP & API Info and save it again; if IPs are restricted, allow this server's address.",
    };
  }
  return {
    detail: error instanceof Error ? error.message : String(error),
    advice: "Check that this server can reach mandrillapp.com over HTTPS (port 443).",
  };
}

/**
 * Runs the named checks for an account, each pass / warn / fail with advice in plain words:
 * API key (`users/ping2`), reputation / quota / backlog (`users/info`), From domain verified with SPF
 * and DKIM (`senders/domains`), SMTP reachable with STARTTLS and AUTH, webhook key saved and last
 * webhook received.
 */
export async function diagnose(
  deps: { store: Store; credentials: CredentialsReader; api: ApiClient; smtp?: SmtpOptions },
  account: string,
): Promise<Diagnosis> {
  const checks: DiagnosticCheck[] = [];
  const add = (check: DiagnosticCheck) => checks.push(check);
  const settings: MandrillSettings | undefined = await deps.credentials.get(account);
  if (settings === undefined) {
    add({
      id: "settings",
      title: "Settings saved",
      status: "fail",
      detail: "No Mandrill settings are saved for this account.",
      advice: "Fill in and save the Mandrill form first.",
    });
    return { account, at: Date.now(), ok: false, checks };
  }
  add({
    id: "settings",
    title: "Settings saved",
    status: "pass",
    detail: `Transport ${settings.transport.toUpperCase()}, From ${settings.fromEmail}.`,
    advice: "",
  });
  const key = settings.apiKey?.reveal();
  let keyOk = false;
  if (key === undefined) {
    add({
      id: "api-key",
      title: "API key valid and active",
      status: "fail",
      detail: "No API key is saved.",
      advice: "Paste the API key from Mandrill → Settings → SMTP & API Info.",
    });
  } else {
    try {
      await deps.api.call("users/ping2", key);
      keyOk = true;
      add({
        id: "api-key",
        title: "API key valid and active",
        status: "pass",
        detail: "Mandrill accepted the key (users/ping2).",
        advice: "",
      });
    } catch (error) {
      add({ id: "api-key", title: "API key valid and active", status: "fail", ...apiKeyAdvice(error) });
    }
  }
  if (keyOk && key !== undefined) {
    try {
      const info = await deps.api.call<UsersInfo>("users/info", key);
      const reputation = info.reputation ?? 0;
      const backlog = info.backlog ?? 0;
      const status = reputation < 30 ? "fail" : reputation < 50 || backlog > 0 ? "warn" : "pass";
      add({
        id: "account",
        title: "Reputation, quota and backlog",
        status,
        detail: `Reputation ${reputation}/100, hourly quota ${info.hourly_quota ?? "?"}, backlog ${backlog}.`,
        advice:
          status === "pass"
            ? ""
            : reputation < 50
              ? "A low reputation lowers the hourly quota and delays mail. Reduce bounces and complaints (the kit's suppression list helps) and check Mandrill → Reputation."
              : "Mail is waiting in Mandrill's backlog (over quota or sending paused); it is delivered as the quota allows.",
      });
    } catch (error) {
      add({
        id: "account",
        title: "Reputation, quota and backlog",
        status: "warn",
        detail: `users/info failed: ${error instanceof Error ? error.message : String(error)}`,
        advice: "",
      });
    }
    const domain = settings.fromEmail.slice(settings.fromEmail.lastIndexOf("@") + 1).toLowerCase();
    try {
      const domains = await deps.api.call<SenderDomain[]>("senders/domains", key);
      const found = (Array.isArray(domains) ? domains : []).find((d) => d.domain?.toLowerCase() === domain);
      if (found === undefined) {
        add({
          id: "sending-domain",
          title: "Sending domain verified (SPF, DKIM)",
          status: "fail",
          detail: `The From domain ${domain} is not among the account's sending domains.`,
          advice: `Add ${domain} in Mandrill → Settings → Domains, verify it, and publish its DKIM and SPF records. Until then Mandrill rejects mail as "unsigned".`,
        });
      } else {
        const problems = [
          found.verified_at ? undefined : "not verified",
          found.dkim?.valid ? undefined : "DKIM missing or invalid",
          found.spf?.valid ? undefined : "SPF missing or invalid",
        ].filter((p) => p !== undefined);
        add({
          id: "sending-domain",
          title: "Sending domain verified (SPF, DKIM)",
          status: problems.length === 0 ? "pass" : found.dkim?.valid && found.verified_at ? "warn" : "fail",
          detail:
            problems.length === 0
              ? `${domain} is verified with valid DKIM and SPF.`
              : `${domain}: ${problems.join(", ")}.`,
          advice:
            problems.length === 0
              ? ""
              : `Fix the DNS records Mandrill shows for ${domain} (Settings → Domains), then click "Test DNS Settings" there.`,
        });
      }
    } catch (error) {
      add({
        id: "sending-domain",
        title: "Sending domain verified (SPF, DKIM)",
        status: "warn",
        detail: `senders/domains failed: ${error instanceof Error ? error.message : String(error)}`,
        advice: "",
      });
    }
  } else {
    add({
      id: "account",
      title: "Reputation, quota and backlog",
      status: "skip",
      detail: "Skipped: the API key does not work.",
      advice: "",
    });
    add({
      id: "sending-domain",
      title: "Sending domain verified (SPF, DKIM)",
      status: "skip",
      detail: "Skipped: the API key does not work.",
      advice: "",
    });
  }
  if (settings.transport === "smtp") add(await smtpCheck(settings, deps.smtp));
  else
    add({
      id: "smtp",
      title: "SMTP reachable (STARTTLS + AUTH)",
      status: "skip",
      detail: "The account sends through the API.",
      advice: "",
    });

  const stats = await deps.store.inbox.stats(account);
  if (settings.webhookKeys.length === 0) {
    add({
      id: "webhooks",
      title: "Webhooks set up",
      status: "warn",
      detail:
        "No webhook key is saved, so bounces and unsubscribes from Mandrill cannot be verified (webhooks are refused).",
      advice: `Add the Callback URL ${deps.credentials.callbackUrl(account)} in Mandrill → Settings → Webhooks (events: bounced, soft-bounced, rejected, unsubscribed, spam) and save its key here.`,
    });
  } else if (stats.lastReceivedAt === null) {
    add({
      id: "webhooks",
      title: "Webhooks set up",
      status: "warn",
      detail: "A webhook key is saved but no webhook has arrived yet.",
      advice: `Check the webhook in Mandrill points to ${deps.credentials.callbackUrl(account)}; Mandrill posts batches about once a minute.`,
    });
  } else {
    add({
      id: "webhooks",
      title: "Webhooks set up",
      status: "pass",
      detail: `Last webhook received ${new Date(stats.lastReceivedAt).toISOString()}; ${stats.total} events stored.`,
      advice: "",
    });
  }
  add({
    id: "spam-folder",
    title: "Test email not arriving?",
    status: "skip",
    detail:
      "If Mandrill accepted the test email but it is not in the inbox, look in the spam folder and in Mandrill → Outbound → Activity.",
    advice: "",
  });
  const ok = checks.every((c) => c.status !== "fail");
  return { account, at: Date.now(), ok, checks };
}

async function smtpCheck(
  settings: MandrillSettings,
  options: SmtpOptions | undefined,
): Promise<DiagnosticCheck> {
  const route = (options?.route ?? defaultSmtpRoute)(settings);
  const title = "SMTP reachable (STARTTLS + AUTH)";
  const transporter = nodemailer.createTransport({
    host: route.host,
    port: route.port,
    secure: route.secure,
    requireTLS: !route.secure,
    auth: { user: settings.username, pass: settings.apiKey?.reveal() ?? "" },
    connectionTimeout: options?.connectionTimeoutMs ?? 8000,
    greetingTimeout: options?.connectionTimeoutMs ?? 8000,
    socketTimeout: 10_000,
    ...(route.tls === undefined ? {} : { tls: route.tls }),
  });
  const at = `${route.host}:${route.port}`;
  try {
    await transporter.verify();
    return {
      id: "smtp",
      title,
      status: "pass",
      detail: `Connected to ${at}, ${route.secure ? "TLS" : "STARTTLS"} and login accepted.`,
      advice: "",
    };
  } catch (thrown) {
    const error = thrown as SmtpFailure;
    if (isCertificateFailure(error)) {
      return {
        id: "smtp",
        title,
        status: "fail",
        detail: `The TLS certificate of ${at} could not be verified (${error.originalCode ?? error.code}).`,
        advice:
          "Check the host is smtp.mandrillapp.com; a proxy, antivirus or ISP intercepting TLS also causes this. The API key is never sent over an unverified connection.",
      };
    }
    if (error.code === "EAUTH") {
      return {
        id: "smtp",
        title,
        status: "fail",
        detail: `The SMTP login was refused (${error.responseCode ?? "auth failed"}).`,
        advice: "Mandrill's SMTP password is an API key: save an active key. Any username works.",
      };
    }
    if (
      error.code === "ETIMEDOUT" ||
      error.code === "ECONNECTION" ||
      error.code === "ESOCKET" ||
      error.code === "EDNS"
    ) {
      return {
        id: "smtp",
        title,
        status: "fail",
        detail: `Could not reach ${at} (${error.code}).`,
        advice:
          "The port is probably blocked by the ISP or host (common for 25 and 587). Try port 2525, or 465 with TLS, or switch this account to the API transport.",
      };
    }
    return {
      id: "smtp",
      title,
      status: "fail",
      detail: `SMTP check failed: ${error.message}`,
      advice: "Check host and port: smtp.mandrillapp.com, 587 (or 2525; 465 for TLS).",
    };
  } finally {
    transporter.close();
  }
}

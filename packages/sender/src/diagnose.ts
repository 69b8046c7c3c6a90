import {
  type CredentialsReader,
  isMandrillKitError,
  MandrillKitApiError,
  type MandrillSettings,
  requireAccountId,
  type Store,
} from "@mandrill-kit/core";
import type { ApiClient } from "./api-client.js";
import { type SmtpProblem, SmtpTransportError } from "./transports/smtp-errors.js";
import type { Transport } from "./transports/transport.js";

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

/** What {@link diagnose} uses. */
export interface DiagnoseDeps {
  store: Store;
  credentials: CredentialsReader;
  api: ApiClient;
  /** The SMTP transport: its `verify` is the SMTP check. */
  smtp: Transport;
}

type Check = Omit<DiagnosticCheck, "id" | "title">;

const TITLES = {
  settings: "Settings saved",
  "api-key": "API key valid and active",
  account: "Reputation, quota and backlog",
  "sending-domain": "Sending domain verified (SPF, DKIM)",
  smtp: "SMTP reachable (STARTTLS + AUTH)",
  webhooks: "Webhooks set up",
  "spam-folder": "Test email not arriving?",
} as const;

function check(id: keyof typeof TITLES, result: Check): DiagnosticCheck {
  return { id, title: TITLES[id], ...result };
}

const pass = (detail: string): Check => ({ status: "pass", detail, advice: "" });
const skip = (detail: string): Check => ({ status: "skip", detail, advice: "" });
const warnOnly = (detail: string): Check => ({ status: "warn", detail, advice: "" });

async function apiKeyCheck(api: ApiClient, key: string): Promise<Check> {
  try {
    await api.call("users/ping2", key);
    return pass("Mandrill accepted the key (users/ping2).");
  } catch (error) {
    return { status: "fail", ...apiKeyAdvice(error) };
  }
}

async function accountCheck(api: ApiClient, key: string): Promise<Check> {
  try {
    const info = await api.call<UsersInfo>("users/info", key);
    const reputation = info.reputation ?? 0;
    const backlog = info.backlog ?? 0;
    const status = reputation < 30 ? "fail" : reputation < 50 || backlog > 0 ? "warn" : "pass";
    return {
      status,
      detail: `Reputation ${reputation}/100, hourly quota ${info.hourly_quota ?? "?"}, backlog ${backlog}.`,
      advice:
        status === "pass"
          ? ""
          : reputation < 50
            ? "A low reputation lowers the hourly quota and delays mail. Reduce bounces and complaints (the kit's suppression list helps) and check Mandrill → Reputation."
            : "Mail is waiting in Mandrill's backlog (over quota or sending paused); it is delivered as the quota allows.",
    };
  } catch (error) {
    return warnOnly(`users/info failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function domainCheck(api: ApiClient, key: string, fromEmail: string): Promise<Check> {
  const domain = fromEmail.slice(fromEmail.lastIndexOf("@") + 1).toLowerCase();
  let domains: SenderDomain[];
  try {
    domains = await api.call<SenderDomain[]>("senders/domains", key);
  } catch (error) {
    return warnOnly(`senders/domains failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  const found = (Array.isArray(domains) ? domains : []).find((d) => d.domain?.toLowerCase() === domain);
  if (found === undefined) {
    return {
      status: "fail",
      detail: `The From domain ${domain} is not among the account's sending domains.`,
      advice: `Add ${domain} in Mandrill → Settings → Domains, verify it, and publish its DKIM and SPF records. Until then Mandrill rejects mail as "unsigned".`,
    };
  }
  const problems = [
    found.verified_at ? undefined : "not verified",
    found.dkim?.valid ? undefined : "DKIM missing or invalid",
    found.spf?.valid ? undefined : "SPF missing or invalid",
  ].filter((p) => p !== undefined);
  if (problems.length === 0) return pass(`${domain} is verified with valid DKIM and SPF.`);
  return {
    status: found.dkim?.valid && found.verified_at ? "warn" : "fail",
    detail: `${domain}: ${problems.join(", ")}.`,
    advice: `Fix the DNS records Mandrill shows for ${domain} (Settings → Domains), then click "Test DNS Settings" there.`,
  };
}

const PORT_BLOCKED =
  "The port is probably blocked by the ISP or host (common for 25 and 587). Try port 2525, or 465 with TLS, or switch this account to the API transport.";
const SMTP_ADVICE: Partial<Record<SmtpProblem, string>> = {
  certificate:
    "Check the host is smtp.mandrillapp.com; a proxy, antivirus or ISP intercepting TLS also causes this. The API key is never sent over an unverified connection.",
  auth: "Mandrill's SMTP password is an API key: save an active key. Any username works.",
  refused: PORT_BLOCKED,
  timeout: PORT_BLOCKED,
  unreachable: PORT_BLOCKED,
  dns: "Check the host name: Mandrill's SMTP server is smtp.mandrillapp.com.",
};

async function smtpCheck(smtp: Transport, settings: MandrillSettings): Promise<Check> {
  try {
    await smtp.verify(settings);
    const tls = settings.port === 465 ? "TLS" : "STARTTLS";
    return pass(`Connected to ${settings.host}:${settings.port}, ${tls} and login accepted.`);
  } catch (error) {
    // The transport's messages never carry what the server sent: safe to show.
    const problem = error instanceof SmtpTransportError ? error.problem : undefined;
    return {
      status: "fail",
      detail: error instanceof Error ? error.message : "The SMTP check failed.",
      advice:
        (problem === undefined ? undefined : SMTP_ADVICE[problem]) ??
        "Check host and port: smtp.mandrillapp.com, 587 (or 2525; 465 for TLS).",
    };
  }
}

async function webhookCheck(deps: DiagnoseDeps, settings: MandrillSettings): Promise<Check> {
  const callbackUrl = deps.credentials.callbackUrl(settings.account);
  if (settings.webhookKeys.length === 0) {
    return {
      status: "warn",
      detail:
        "No webhook key is saved, so bounces and unsubscribes from Mandrill cannot be verified (webhooks are refused).",
      advice: `Add the Callback URL ${callbackUrl} in Mandrill → Settings → Webhooks (events: bounced, soft-bounced, rejected, unsubscribed, spam) and save its key here.`,
    };
  }
  const stats = await deps.store.inbox.stats(settings.account);
  if (stats.lastReceivedAt === null) {
    return {
      status: "warn",
      detail: "A webhook key is saved but no webhook has arrived yet.",
      advice: `Check the webhook in Mandrill points to ${callbackUrl}; Mandrill posts batches about once a minute.`,
    };
  }
  const at = `${new Date(stats.lastReceivedAt).toISOString().slice(0, 16).replace("T", " ")} UTC`;
  return pass(
    `Last webhook received ${at}; ${stats.total} ${stats.total === 1 ? "event" : "events"} stored.`,
  );
}

/**
 * Runs the named checks for an account, each pass / warn / fail with advice in plain words:
 * API key (`users/ping2`), reputation / quota / backlog (`users/info`), From domain verified with SPF
 * and DKIM (`senders/domains`), SMTP reachable with STARTTLS and AUTH, webhook key saved and last
 * webhook received.
 */
export async function diagnose(
  deps: DiagnoseDeps,
  account: string,
  supplied?: MandrillSettings,
): Promise<Diagnosis> {
  const settings = supplied ?? (await deps.credentials.get(requireAccountId(account)));
  if (settings === undefined) {
    const checks = [
      check("settings", {
        status: "fail",
        detail: "No Mandrill settings are saved for this account.",
        advice: "Fill in and save the Mandrill form first.",
      }),
    ];
    return { account, at: Date.now(), ok: false, checks };
  }
  const checks = [
    check("settings", pass(`Transport ${settings.transport.toUpperCase()}, From ${settings.fromEmail}.`)),
  ];
  const key = settings.apiKey?.reveal();
  const keyCheck: Check =
    key === undefined
      ? {
          status: "fail",
          detail: "No API key is saved.",
          advice: "Paste the API key from Mandrill → Settings → SMTP & API Info.",
        }
      : await apiKeyCheck(deps.api, key);
  checks.push(check("api-key", keyCheck));
  if (keyCheck.status === "pass" && key !== undefined) {
    checks.push(check("account", await accountCheck(deps.api, key)));
    checks.push(check("sending-domain", await domainCheck(deps.api, key, settings.fromEmail)));
  } else {
    checks.push(check("account", skip("Skipped: the API key does not work.")));
    checks.push(check("sending-domain", skip("Skipped: the API key does not work.")));
  }
  checks.push(
    check(
      "smtp",
      settings.transport === "smtp"
        ? await smtpCheck(deps.smtp, settings)
        : skip("The account sends through the API."),
    ),
  );
  checks.push(check("webhooks", await webhookCheck(deps, settings)));
  checks.push(
    check(
      "spam-folder",
      skip(
        "If Mandrill accepted the test email but it is not in the inbox, look in the spam folder and in Mandrill → Outbound → Activity.",
      ),
    ),
  );
  return { account, at: Date.now(), ok: checks.every((c) => c.status !== "fail"), checks };
}

/**
 * "Test connection": checks the given settings (saved or not) without sending mail — the API key
 * (`users/ping2`, which also proves the Mandrill API is reachable over HTTPS), the From domain, and
 * for the SMTP transport the SMTP server (STARTTLS or TLS, then AUTH with the key). The network policy
 * applies as for a send; SMTP errors never carry what the server sent.
 */
export async function checkConnection(
  deps: Pick<DiagnoseDeps, "api" | "smtp">,
  settings: MandrillSettings,
): Promise<Diagnosis> {
  const key = settings.apiKey?.reveal();
  const keyCheck: Check =
    key === undefined
      ? {
          status: "fail",
          detail: "No API key is saved or typed.",
          advice: "Type the API key from Mandrill → Settings → SMTP & API Info.",
        }
      : await apiKeyCheck(deps.api, key);
  const checks = [check("api-key", keyCheck)];
  checks.push(
    check(
      "sending-domain",
      keyCheck.status === "pass" && key !== undefined
        ? await domainCheck(deps.api, key, settings.fromEmail)
        : skip("Skipped: the API key does not work."),
    ),
  );
  if (settings.transport === "smtp") checks.push(check("smtp", await smtpCheck(deps.smtp, settings)));
  return {
    account: settings.account,
    at: Date.now(),
    ok: checks.every((c) => c.status !== "fail"),
    checks,
  };
}

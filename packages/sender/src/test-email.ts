import {
  type CredentialsReader,
  isMandrillKitError,
  MandrillKitApiError,
  MandrillKitNotConfiguredError,
  MandrillKitSendError,
  MandrillKitValidationError,
  type MandrillSettings,
  requireAccountId,
  requireEmail,
  type SendResult,
} from "@mandrill-kit/core";
import type { ComponentLogger } from "@mandrill-kit/core/plugin";
import type { Diagnosis } from "./diagnose.js";
import type { SendMessage } from "./message.js";
import { requireSettings } from "./require-settings.js";

/** What "Send a test email" reports. */
export interface TestEmailResult {
  ok: boolean;
  account: string;
  to: string;
  transport: MandrillSettings["transport"] | null;
  /** One line for the settings page. */
  summary: string;
  result: SendResult | null;
  error: { code: string; message: string; hint: string | null } | null;
  /** Run when the test failed, so the page can say why. */
  diagnosis: Diagnosis | null;
}

/** The canned test message: names the account, the transport and where it went through. */
export function testMessage(settings: MandrillSettings, to: string, at = new Date()): SendMessage {
  const via =
    settings.transport === "smtp" ? `SMTP (${settings.host}:${settings.port})` : "the Mandrill HTTP API";
  const lines = [
    `This is a test email from mandrill-kit for the account "${settings.account}".`,
    "",
    `It was sent through ${via} at ${at.toISOString()}, from ${settings.fromEmail}.`,
    "If you are reading it, sending works. If it went to spam, check the sending domain's SPF and DKIM in Mandrill.",
  ];
  return {
    to,
    subject: `Mandrill test email — ${settings.account}`,
    text: lines.join("\n"),
    html: `<p>${lines
      .filter((l) => l !== "")
      .map((l) => l.replace(/&/g, "&amp;").replace(/</g, "&lt;"))
      .join("</p><p>")}</p>`,
    tags: ["mandrill-kit-test"],
  };
}

/** Summarises a finished test send in one line. */
export function summarizeTest(result: SendResult, to: string): { ok: boolean; summary: string } {
  const r = result.recipients[0];
  switch (r?.status) {
    case "sent":
      return {
        ok: true,
        summary: `Mandrill accepted the test email to ${to}. Check the inbox (and the spam folder).`,
      };
    case "queued":
      return {
        ok: true,
        summary: `Mandrill queued the test email to ${to}${r.queuedReason ? ` (${r.queuedReason})` : ""}; it is delivered as the quota allows.`,
      };
    case "scheduled":
      return { ok: true, summary: `Mandrill scheduled the test email to ${to}.` };
    case "suppressed":
      return {
        ok: false,
        summary: `${to} is on this account's suppression list (${r.rejectReason}); lift it on the Suppressions page to test with it.`,
      };
    case "unknown":
      return {
        ok: false,
        summary:
          "The request reached Mandrill but no answer came back; look for the test email in Mandrill → Outbound → Activity before trying again.",
      };
    default:
      return {
        ok: false,
        summary: `Mandrill did not accept the test email (${r?.status ?? "no result"}${r?.rejectReason ? `: ${r.rejectReason}` : ""}).`,
      };
  }
}

/** Turns an error into the test-email report's error part (no secrets: kit messages are safe to show). */
export function describeFailure(error: unknown): TestEmailResult["error"] {
  if (isMandrillKitError(error)) {
    return {
      code: error.code,
      message: error.message,
      hint: error instanceof MandrillKitApiError ? error.hint : error.advice,
    };
  }
  return { code: "ERR_MK_INTERNAL", message: "Unexpected error; see the server log.", hint: null };
}

/** Validates the test recipient. */
export function testRecipient(to: unknown): string {
  return requireEmail(to, "to");
}

/** What {@link runTestEmail} uses of the sender. */
export interface TestEmailDeps {
  credentials: CredentialsReader;
  log: ComponentLogger;
  /** Sends with the given settings (saved, or supplied by the caller). */
  send(settings: MandrillSettings, message: SendMessage): Promise<SendResult>;
  diagnose(account: string, settings?: MandrillSettings): Promise<Diagnosis>;
  /** Writes pending send records. */
  flush(): Promise<void>;
  now(): number;
}

/** The report of a test send that threw (a Mandrill, network or settings problem). */
function failedReport(
  error: unknown,
  account: string,
  to: string,
  transport: TestEmailResult["transport"],
): TestEmailResult {
  const failure = describeFailure(error);
  const sent = error instanceof MandrillKitSendError ? error.result : null;
  return {
    ok: false,
    account,
    to,
    transport,
    summary: sent !== null ? summarizeTest(sent, to).summary : (failure?.message ?? "The test email failed."),
    result: sent,
    error: failure,
    diagnosis: null,
  };
}

/**
 * "Send a test email": never throws for Mandrill or network failures; a failed test carries the
 * diagnosis; its send record is written before it resolves. With `supplied` settings (a form not
 * saved yet, see `credentials.preview()`) those are used and nothing is recorded with the saved
 * settings; otherwise the saved settings are used and the outcome is kept with them.
 */
export async function runTestEmail(
  deps: TestEmailDeps,
  account: string,
  to: string,
  supplied?: MandrillSettings,
): Promise<TestEmailResult> {
  const recipient = testRecipient(to);
  requireAccountId(account);
  if (supplied !== undefined && supplied.account !== account)
    throw new MandrillKitValidationError(
      "ERR_MK_VALIDATION_FAILED",
      "sendTestEmail(): the settings given belong to another account.",
      [{ field: "settings", message: "must be the settings of the account tested" }],
    );
  const settings = supplied ?? (await deps.credentials.get(account));
  let report: TestEmailResult;
  try {
    const s = supplied ?? (await requireSettings(deps.credentials, account));
    if (s.apiKey === null) throw new MandrillKitNotConfiguredError(`Account "${account}" has no API key.`);
    const sent = await deps.send(s, testMessage(s, recipient, new Date(deps.now())));
    const { ok, summary } = summarizeTest(sent, recipient);
    const transport = s.transport;
    report = { ok, account, to: recipient, transport, summary, result: sent, error: null, diagnosis: null };
  } catch (error) {
    report = failedReport(error, account, recipient, settings?.transport ?? null);
  }
  if (!report.ok) report.diagnosis = await deps.diagnose(account, supplied).catch(() => null);
  if (settings !== undefined && supplied === undefined) {
    await deps.credentials
      .recordVerification(account, { at: deps.now(), ok: report.ok, summary: report.summary })
      .catch((error: unknown) => {
        deps.log.warn({ account, err: error }, "could not record the test email outcome");
      });
  }
  deps.log.info({ account, ok: report.ok, transport: report.transport }, `test email: ${report.summary}`);
  // The settings page shows the test send at once: its record is in the store when this resolves.
  await deps.flush();
  return report;
}

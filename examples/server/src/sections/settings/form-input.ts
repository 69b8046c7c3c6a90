import { randomBytes } from "node:crypto";
import type { MandrillSettingsInput } from "@mandrill-kit/credentials";
import type { Request } from "express";
import type { Session } from "../../security/session.js";
import { formText } from "../page.js";
import type { PendingSecrets } from "./views.js";

/** The form fields shown again after a test or a refused save (the secrets never are). */
export const SHOWN_FIELDS = [
  "transport",
  "host",
  "port",
  "username",
  "fromEmail",
  "fromName",
  "unsubscribeMode",
];

const SECRETS = ["apiKey", "webhookKey"] as const;
type SecretField = (typeof SECRETS)[number];

/** Typed secrets are kept for the form being edited this long. */
const PENDING_MS = 30 * 60 * 1000;

/** The submitted form without its secrets. */
export function shownInput(req: Request): Record<string, string> {
  const input: Record<string, string> = {};
  for (const name of SHOWN_FIELDS) {
    const v = formText(req, name);
    if (v !== undefined) input[name] = v;
  }
  return input;
}

/** `true` when the request carries the settings form (not just a test recipient). */
export function hasSettingsForm(req: Request): boolean {
  return SHOWN_FIELDS.some((name) => formText(req, name) !== undefined);
}

/** The secrets kept for this form (matching nonce, same account, not too old), if any. */
function pendingFor(req: Request, session: Session, account: string): Session["pendingSecrets"] {
  const p = session.pendingSecrets;
  const nonce = formText(req, "secretsNonce");
  if (p === undefined || nonce === undefined || p.nonce !== nonce || p.account !== account) return undefined;
  return Date.now() - p.at > PENDING_MS ? undefined : p;
}

/** What the form's secret fields hold: typed now, or typed before and kept for this form. */
export interface FormSecrets {
  apiKey?: string;
  webhookKey?: string;
  /** Typed in an earlier step, but no longer kept (the page was reloaded meanwhile, or it expired). */
  lost: SecretField[];
}

/** The secrets of a settings form: typed ones first, then the ones kept for it. */
export function formSecrets(req: Request, session: Session, account: string): FormSecrets {
  const pending = pendingFor(req, session, account);
  const out: FormSecrets = { lost: [] };
  for (const name of SECRETS) {
    const typed = formText(req, name)?.trim();
    const value = typed ? typed : pending?.[name];
    if (value !== undefined) out[name] = value;
  }
  const nonce = formText(req, "secretsNonce");
  if (pending === undefined && nonce !== undefined && session.pendingSecrets?.nonce !== nonce) {
    // A form that said it had kept secrets, which are gone: say so rather than save without them.
    out.lost = SECRETS.filter((name) => !formText(req, name)?.trim());
  }
  return out;
}

/** The settings form as credentials input: empty secret fields keep the stored secrets (write-only). */
export function settingsInput(req: Request, secrets: FormSecrets): MandrillSettingsInput {
  const input: Record<string, unknown> = shownInput(req);
  if (secrets.apiKey !== undefined) input.apiKey = secrets.apiKey;
  if (secrets.webhookKey !== undefined) input.webhookKey = secrets.webhookKey;
  const raw: unknown = (req.body as Record<string, unknown> | undefined)?.removeWebhookKeys;
  const remove = raw === undefined ? [] : Array.isArray(raw) ? raw.map(String) : [String(raw)];
  if (remove.length > 0) input.removeWebhookKeys = remove;
  return input as MandrillSettingsInput;
}

/**
 * Keeps the typed secrets (except those refused by a field error) for the form shown again, under a
 * new nonce; returns what the page says about them.
 */
export function keepSecrets(
  session: Session,
  account: string,
  secrets: FormSecrets,
  refused: readonly string[],
): { pending: PendingSecrets | undefined; retype: SecretField[] } {
  const kept: { apiKey?: string; webhookKey?: string } = {};
  const retype: SecretField[] = [...secrets.lost];
  for (const name of SECRETS) {
    const v = secrets[name];
    if (v === undefined) continue;
    if (refused.includes(name)) retype.push(name);
    else kept[name] = v;
  }
  if (kept.apiKey === undefined && kept.webhookKey === undefined) {
    if (session.pendingSecrets?.account === account) session.pendingSecrets = undefined;
    return { pending: undefined, retype };
  }
  const nonce = randomBytes(12).toString("base64url");
  session.pendingSecrets = { account, nonce, at: Date.now(), ...kept };
  return {
    pending: { nonce, apiKey: kept.apiKey !== undefined, webhookKey: kept.webhookKey !== undefined },
    retype,
  };
}

/** Forgets the secrets kept for an account's form (after a save). */
export function dropSecrets(session: Session, account: string): void {
  if (session.pendingSecrets?.account === account) session.pendingSecrets = undefined;
}

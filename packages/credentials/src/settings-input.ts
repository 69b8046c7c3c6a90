import {
  type FieldError,
  MANDRILL_SMTP_HOST,
  MandrillKitValidationError,
  type MandrillTransport,
  normalizeEmail,
  type UnsubscribeMode,
  type VerificationResult,
} from "@mandrill-kit/core";
import {
  checkHostName,
  checkPort,
  type NetworkPolicy,
  resolveNetworkPolicy,
} from "@mandrill-kit/core/plugin";

/**
 * What `save()` and `PUT` accept. Omitted fields keep their stored value (or the default for a new
 * account). Secrets are write-only: leave `apiKey` out (or empty, as a form does) to keep the stored
 * one; `null` removes it.
 */
export interface MandrillSettingsInput {
  /** @default "smtp" */
  transport?: MandrillTransport;
  /** @default "smtp.mandrillapp.com" */
  host?: string;
  /** @default 587 */
  port?: number | string;
  username?: string;
  apiKey?: string | null;
  fromEmail?: string;
  fromName?: string;
  replyTo?: string | null;
  subaccount?: string | null;
  /** A new webhook key: it becomes the current one; the previous ones stay accepted until removed. */
  webhookKey?: string;
  /** Ids of webhook keys to remove (see `describe().webhookKeys`). */
  removeWebhookKeys?: string[];
  /** @default "mandrill" */
  unsubscribeMode?: UnsubscribeMode;
}

/** Non-secret settings as stored (JSON) next to the ciphertexts. */
export interface StoredSettings {
  transport: MandrillTransport;
  host: string;
  port: number;
  username: string;
  fromEmail: string;
  fromName: string;
  replyTo: string | null;
  subaccount: string | null;
  unsubscribeMode: UnsubscribeMode;
  webhookKeys: { id: string; addedAt: number }[];
  lastVerification: VerificationResult | null;
}

/** The fields `save()` and `PUT` accept; anything else is refused as "not a known setting". */
export const SETTINGS_INPUT_FIELDS = [
  "transport",
  "host",
  "port",
  "username",
  "apiKey",
  "fromEmail",
  "fromName",
  "replyTo",
  "subaccount",
  "webhookKey",
  "removeWebhookKeys",
  "unsubscribeMode",
] as const;

/** Shape of the random ids given to webhook keys (6 random bytes, base64url). */
export const WEBHOOK_KEY_ID = /^[A-Za-z0-9_-]{8}$/;

/** At most this many webhook keys per account (the current one and those still being rotated out). */
export const MAX_WEBHOOK_KEYS = 5;

const HOST =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;
const SECRET_TEXT = /^[\x21-\x7e]{1,256}$/;

/** The validated change: new non-secret settings plus the secrets to (re)write or drop. */
export interface SettingsChange {
  settings: StoredSettings;
  /** New plaintext API key, `null` to remove, `undefined` to keep the stored one. */
  apiKey: string | null | undefined;
  /** New plaintext webhook key (becomes current), if any. */
  webhookKey: string | undefined;
  /** Webhook key ids removed. */
  removedWebhookKeys: string[];
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value.trim() : undefined;
}

const DEFAULT_NETWORK = resolveNetworkPolicy({}, "createCredentials");

/** The input being read, and the problems found so far. */
interface Reading {
  given: Record<string, unknown>;
  has(name: string): boolean;
  fail(field: string, message: string): void;
  failed(field: string): boolean;
}

/** Transport, host and port; the host and port must not point into the host's own network (SSRF). */
function readConnection(r: Reading, prev: StoredSettings | undefined, network: NetworkPolicy) {
  const { given, has, fail, failed } = r;
  let transport: MandrillTransport = prev?.transport ?? "smtp";
  if (has("transport")) {
    if (given.transport === "smtp" || given.transport === "api") transport = given.transport;
    else fail("transport", 'must be "smtp" or "api"');
  }
  let host = prev?.host ?? MANDRILL_SMTP_HOST;
  if (has("host")) {
    const h = str(given.host);
    if (h === undefined || !HOST.test(h)) fail("host", "must be a host name such as smtp.mandrillapp.com");
    else host = h.toLowerCase();
  }
  let port = prev?.port ?? 587;
  if (has("port")) {
    const raw = given.port;
    const n =
      typeof raw === "number"
        ? raw
        : typeof raw === "string" && /^\s*\d+\s*$/.test(raw)
          ? Number(raw)
          : Number.NaN;
    if (!Number.isInteger(n) || n < 1 || n > 65_535)
      fail("port", "must be a whole number from 1 to 65535 (Mandrill uses 587, 2525, 25, or 465 for TLS)");
    else port = n;
  }
  // Tenant input must not reach the host's own network: checked whenever any of the three changes.
  if (has("host") || has("port") || has("transport")) {
    if (!failed("host") && checkHostName(network, host, port) !== undefined)
      fail(
        "host",
        "must be a public mail server such as smtp.mandrillapp.com, not a private, loopback or link-local address",
      );
    if (!failed("port") && checkPort(network, host, port) !== undefined)
      fail(
        "port",
        `must be one of the SMTP ports ${network.ports.join(", ")} (Mandrill uses 587, 2525, 25, or 465 for TLS)`,
      );
  }
  return { transport, host, port };
}

/** Webhook keys removed and the new current one (the previous ones stay accepted until removed). */
function readWebhookKeys(r: Reading, prev: StoredSettings | undefined, newKeyId: () => string, now: number) {
  const { given, has, fail } = r;
  let webhookKeys = [...(prev?.webhookKeys ?? [])];
  const removed: string[] = [];
  if (has("removeWebhookKeys")) {
    const ids = given.removeWebhookKeys;
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === "string"))
      fail("removeWebhookKeys", "must be a list of webhook key ids");
    else {
      for (const id of ids as string[]) {
        if (!webhookKeys.some((k) => k.id === id))
          // Quote only what looks like an id: someone may have pasted the key itself here.
          fail(
            "removeWebhookKeys",
            WEBHOOK_KEY_ID.test(id)
              ? `has no webhook key with id "${id}"`
              : "names a webhook key id that does not exist",
          );
        else removed.push(id);
      }
      webhookKeys = webhookKeys.filter((k) => !removed.includes(k.id));
    }
  }
  let webhookKey: string | undefined;
  if (has("webhookKey")) {
    const w = str(given.webhookKey);
    if (w === undefined) fail("webhookKey", "must be text");
    else if (w !== "" && !SECRET_TEXT.test(w))
      fail(
        "webhookKey",
        "must be 1–256 visible characters without spaces (copy it from Mandrill: Settings → Webhooks → key)",
      );
    else if (w !== "") {
      webhookKey = w;
      webhookKeys = [{ id: newKeyId(), addedAt: now }, ...webhookKeys];
      if (webhookKeys.length > MAX_WEBHOOK_KEYS)
        fail("webhookKey", `would make more than ${MAX_WEBHOOK_KEYS} webhook keys; remove an old one first`);
    }
  }
  return { webhookKeys, webhookKey, removed };
}

/**
 * Validates `input` against the stored settings (`previous`, absent for a new account) and returns
 * the change, or throws `MandrillKitValidationError` (`ERR_MK_VALIDATION_FAILED`) listing every
 * problem by field, in plain words. Never echoes a secret. `network` is the operator's policy: an SMTP
 * host that is a private/loopback/link-local address (in any spelling) or `localhost`, and a port
 * outside its ports, are refused here; the sender checks resolved addresses again at connect time.
 */
export function validateSettingsInput(
  input: unknown,
  previous: { settings: StoredSettings; hasApiKey: boolean } | undefined,
  newKeyId: () => string,
  now: number,
  network: NetworkPolicy = DEFAULT_NETWORK,
): SettingsChange {
  const errors: FieldError[] = [];
  const fail = (field: string, message: string) => errors.push({ field, message });
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new MandrillKitValidationError("ERR_MK_VALIDATION_FAILED", "Settings must be a JSON object.", [
      { field: "", message: "must be an object" },
    ]);
  }
  const given = input as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!(SETTINGS_INPUT_FIELDS as readonly string[]).includes(name)) fail(name, "is not a known setting");
  }
  const prev = previous?.settings;
  const has = (name: string) => given[name] !== undefined;
  const reading: Reading = { given, has, fail, failed: (field) => errors.some((e) => e.field === field) };
  const { transport, host, port } = readConnection(reading, prev, network);

  let username = prev?.username ?? "";
  if (has("username")) {
    const u = str(given.username);
    if (u === undefined || u.length > 256 || CONTROL.test(u))
      fail("username", "must be text of at most 256 characters");
    else username = u;
  }

  let apiKey: string | null | undefined;
  if (given.apiKey === null) apiKey = null;
  else if (has("apiKey")) {
    const k = str(given.apiKey);
    if (k === undefined) fail("apiKey", "must be text");
    else if (k !== "" && !SECRET_TEXT.test(k))
      fail(
        "apiKey",
        "must be 1–256 visible characters without spaces (copy it again from Mandrill: Settings → SMTP & API Info)",
      );
    else if (k !== "") apiKey = k;
  }

  let fromEmail = prev?.fromEmail ?? "";
  if (has("fromEmail")) {
    const f = str(given.fromEmail);
    if (f === undefined || normalizeEmail(f) === undefined)
      fail(
        "fromEmail",
        "must be an email address on a sending domain verified in Mandrill, such as hello@example.com",
      );
    else fromEmail = f;
  } else if (prev === undefined) fail("fromEmail", "is required: the address your emails come from");

  let fromName = prev?.fromName ?? "";
  if (has("fromName")) {
    const n = str(given.fromName);
    if (n === undefined || n.length > 256 || CONTROL.test(n))
      fail("fromName", "must be text of at most 256 characters, on one line");
    else fromName = n;
  }

  let replyTo = prev?.replyTo ?? null;
  if (given.replyTo === null) replyTo = null;
  else if (has("replyTo")) {
    const r = str(given.replyTo);
    if (r === "") replyTo = null;
    else if (r === undefined || normalizeEmail(r) === undefined)
      fail("replyTo", "must be an email address, or empty");
    else replyTo = r;
  }

  let subaccount = prev?.subaccount ?? null;
  if (given.subaccount === null) subaccount = null;
  else if (has("subaccount")) {
    const s = str(given.subaccount);
    if (s === "") subaccount = null;
    else if (s === undefined || s.length > 255 || CONTROL.test(s))
      fail("subaccount", "must be a Mandrill subaccount id (at most 255 characters), or empty");
    else subaccount = s;
  }

  let unsubscribeMode: UnsubscribeMode = prev?.unsubscribeMode ?? "mandrill";
  if (has("unsubscribeMode")) {
    const m = given.unsubscribeMode;
    if (m === "none" || m === "mandrill" || m === "one-click") unsubscribeMode = m;
    else fail("unsubscribeMode", 'must be "mandrill", "one-click" or "none"');
  }

  const { webhookKeys, webhookKey, removed } = readWebhookKeys(reading, prev, newKeyId, now);

  // A key pasted into a plain-text field would be stored unencrypted: refuse it.
  if (typeof apiKey === "string" && apiKey.length >= 8) {
    for (const [field, value] of [
      ["username", username],
      ["host", host],
      ["fromName", fromName],
      ["subaccount", subaccount ?? ""],
    ] as const) {
      if (value.includes(apiKey) || value.toLowerCase().includes(apiKey.toLowerCase()))
        fail(field, "must not contain the API key (it belongs in the API key field only)");
    }
  }
  const hasApiKey = apiKey === undefined ? (previous?.hasApiKey ?? false) : apiKey !== null;
  if (!hasApiKey && !errors.some((e) => e.field === "apiKey")) {
    fail(
      "apiKey",
      transport === "smtp"
        ? "is required: Mandrill's SMTP server takes an API key as the password"
        : "is required: the Mandrill API needs an API key",
    );
  }
  if (transport === "smtp" && username === "" && !errors.some((e) => e.field === "username")) {
    fail(
      "username",
      "is required for SMTP (Mandrill accepts any value; use the account's primary contact email)",
    );
  }

  if (errors.length > 0) {
    throw new MandrillKitValidationError(
      "ERR_MK_VALIDATION_FAILED",
      `The Mandrill settings are not valid: ${errors.map((e) => `${e.field} ${e.message}`).join("; ")}.`,
      errors,
    );
  }
  return {
    settings: {
      transport,
      host,
      port,
      username,
      fromEmail,
      fromName,
      replyTo,
      subaccount,
      unsubscribeMode,
      webhookKeys,
      lastVerification: prev?.lastVerification ?? null,
    },
    apiKey,
    webhookKey,
    removedWebhookKeys: removed,
  };
}

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { isAccountId } from "@mandrill-kit/core";
import { mandrillSignature, TEST_WEBHOOK_KEY, type WebhookForm } from "@mandrill-kit/core/plugin";
import { type BodyRefusalStatus, FormBodyError } from "./errors.js";
import {
  checkFormContentType,
  decodeFormBytes,
  type FormBytes,
  fieldsFromParsedBody,
  formStrings,
} from "./form-body.js";

/** Request headers as Node gives them (any case is accepted). */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** What {@link verifyRequest} looks at: plain data, no HTTP framework. */
export interface VerifyRequestInput {
  /** `POST` for batches; `HEAD` and `GET` are Mandrill's URL checks. */
  method: string;
  headers: RequestHeaders;
  /** The raw `application/x-www-form-urlencoded` body… */
  body?: Buffer | string;
  /** …or the fields a host body parser already decoded (an object of strings). */
  form?: unknown;
  /** The account the request was posted for (from the route). */
  account: string;
  /** The account's Callback URL exactly as registered with Mandrill: what Mandrill signed. */
  callbackUrl: string;
  /** The account's webhook keys, current first. Empty or blank keys are ignored (never accepted). */
  keys: readonly string[];
}

/** Why a request was refused. Every 401 reason gets the same answer (no account enumeration). */
export type RefusalReason =
  | "method"
  | "content-type"
  | "too-large"
  | "too-slow"
  | "malformed-body"
  | "no-events"
  | "account"
  | "no-signature"
  | "no-key"
  | "signature-mismatch";

/** A refused request, with the status to answer. */
export interface Refusal {
  ok: false;
  status: BodyRefusalStatus | 401 | 405;
  reason: RefusalReason;
  /** Safe to show the client: never names a key or tells whether the account exists. */
  message: string;
  /** The decoded form and the signature given, on a 401 (to diagnose a mismatch). */
  form?: WebhookForm;
  signature?: string;
}

/** What {@link verifyRequest} decided. */
export type VerifyResult =
  | { ok: true; kind: "probe" }
  | { ok: true; kind: "validation"; account: string }
  | {
      ok: true;
      kind: "batch";
      account: string;
      /** The verified `mandrill_events` text, exactly as signed. */
      mandrillEvents: string;
      /**
       * The same value as UTF-8 bytes, when a raw body was verified: `receive` parses these
       * (`parseMandrillEventsBytes`), so `mandrillEvents` and `form`, built on first read, cost nothing
       * unless read.
       */
      mandrillEventsBytes?: Uint8Array;
      form: WebhookForm;
      /** Which key matched: 0 is the current one, more means Mandrill still signs with an older key. */
      keyIndex: number;
    }
  | Refusal;

const UNAUTHORIZED = "Signature required: this endpoint only accepts Mandrill's signed webhooks.";

/** Signs for accounts without a usable key, so they cost the same HMAC work as real ones. */
const DUMMY_KEY = randomBytes(24).toString("base64url");

function sameSignature(expected: string, given: Buffer): boolean {
  const e = Buffer.from(expected, "utf8");
  return e.length === given.length && timingSafeEqual(e, given);
}

/**
 * Index of the key in `keys` whose signature matches `signature` (constant-time compares; every key
 * is tried so the time does not tell which one matched), or -1. A missing or empty header never matches.
 */
export function matchSignature(
  keys: readonly string[],
  url: string,
  form: WebhookForm,
  signature: string | undefined,
): number {
  return matchSigned(keys, (key) => mandrillSignature(key, url, form), signature);
}

function matchSigned(
  keys: readonly string[],
  sign: (key: string) => string,
  signature: string | undefined,
): number {
  if (signature === undefined || signature.length === 0 || signature.length > 200) return -1;
  const given = Buffer.from(signature.trim(), "utf8");
  let found = -1;
  keys.forEach((key, i) => {
    if (sameSignature(sign(key), given) && found === -1) found = i;
  });
  return found;
}

/**
 * `mandrillSignature` over a form decoded to bytes: the URL, then each field's name and value in
 * name order — the values' bytes as they are, which are what `mandrillSignature` hashes (the UTF-8
 * of the same strings), without building the strings.
 */
function formBytesSignature(key: string, url: string, form: FormBytes): string {
  const hmac = createHmac("sha1", key);
  hmac.update(url, "utf8");
  const order = form.names
    .map((_, i) => i)
    .sort((a, b) => {
      const x = form.names[a] as string;
      const y = form.names[b] as string;
      return x < y ? -1 : x > y ? 1 : 0;
    });
  for (const i of order) {
    hmac.update(form.names[i] as string, "utf8");
    hmac.update(form.values[i] as Buffer);
  }
  return hmac.digest("base64");
}

/** True for a key that can verify anything: an empty or blank key would let anyone sign. */
export function usableKey(key: string): boolean {
  return key.trim() !== "";
}

function header(headers: RequestHeaders, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    return typeof value === "string" ? value : undefined;
  }
  return undefined;
}

/** The refusal for a body that could not be read (content type, size, deadline, malformed form). */
export function bodyRefusal(error: FormBodyError): Refusal {
  const reason: Record<BodyRefusalStatus, RefusalReason> = {
    400: "malformed-body",
    408: "too-slow",
    413: "too-large",
    415: "content-type",
  };
  return { ok: false, status: error.status, reason: reason[error.status], message: error.message };
}

/**
 * The posted form: its fields as strings (built on first read when decoded from bytes), the
 * `mandrill_events` value as bytes when decoded from a raw body, and the HMAC of the form for a key.
 */
interface ReadForm {
  readonly form: WebhookForm;
  /** Field names. */
  names: readonly string[];
  /** Whether `mandrill_events` is exactly `[]` (Mandrill's validation POST); `undefined` when absent. */
  emptyEvents: boolean | undefined;
  eventsBytes: Buffer | undefined;
  sign(key: string, url: string): string;
}

function fromBytes(decoded: FormBytes): ReadForm {
  const at = decoded.names.indexOf("mandrill_events");
  const eventsBytes = at === -1 ? undefined : (decoded.values[at] as Buffer);
  let form: WebhookForm | undefined;
  return {
    get form() {
      form ??= formStrings(decoded);
      return form;
    },
    names: decoded.names,
    emptyEvents:
      eventsBytes === undefined
        ? undefined
        : eventsBytes.length === 2 && eventsBytes.toString("latin1") === "[]",
    eventsBytes,
    sign: (key, url) => formBytesSignature(key, url, decoded),
  };
}

function fromFields(form: WebhookForm): ReadForm {
  const events = form.mandrill_events;
  return {
    form,
    names: Object.keys(form),
    emptyEvents: events === undefined ? undefined : events === "[]",
    eventsBytes: undefined,
    sign: (key, url) => mandrillSignature(key, url, form),
  };
}

function readForm(input: VerifyRequestInput): { read: ReadForm } | { refusal: Refusal } {
  try {
    checkFormContentType(header(input.headers, "content-type"));
    const read =
      input.body !== undefined
        ? fromBytes(decodeFormBytes(input.body))
        : fromFields(fieldsFromParsedBody(input.form));
    return { read };
  } catch (error) {
    if (error instanceof FormBodyError) return { refusal: bodyRefusal(error) };
    throw error;
  }
}

/**
 * Verifies one webhook request the way Mandrill signs it (docs/mandrill.md#webhook-signature):
 * HEAD/GET are URL checks (200, no key); a POST must be a UTF-8 form with one `mandrill_events` field, signed with HMAC-SHA1 over the
 * registered `callbackUrl` and the sorted fields by one of the account's `keys` — or be the empty
 * validation batch `[]` signed with `test-webhook`. Pure and synchronous: no HTTP framework, no store.
 *
 * Unknown accounts, accounts without a key and wrong signatures get the same 401 and cost the same
 * HMAC work (a throw-away key stands in), so neither the answer nor its time tells them apart.
 */
export function verifyRequest(input: VerifyRequestInput): VerifyResult {
  const method = input.method.toUpperCase();
  if (method === "HEAD" || method === "GET") return { ok: true, kind: "probe" };
  if (method !== "POST")
    return { ok: false, status: 405, reason: "method", message: "Mandrill posts webhooks with POST." };
  const readOrRefusal = readForm(input);
  if ("refusal" in readOrRefusal) return readOrRefusal.refusal;
  const { read } = readOrRefusal;
  if (read.emptyEvents === undefined)
    return { ok: false, status: 400, reason: "no-events", message: "The form has no mandrill_events field." };
  const signature = header(input.headers, "x-mandrill-signature");
  const refuse = (reason: RefusalReason): Refusal => ({
    ok: false,
    status: 401,
    reason,
    message: UNAUTHORIZED,
    form: read.form,
    ...(signature === undefined ? {} : { signature }),
  });
  const url = input.callbackUrl;
  const sign = (key: string) => read.sign(key, url);
  const accountOk = isAccountId(input.account);
  // Mandrill validates a new URL by POSTing [] signed with the generic key, before any key exists.
  if (
    accountOk &&
    read.emptyEvents &&
    read.names.length === 1 &&
    matchSigned([TEST_WEBHOOK_KEY], sign, signature) === 0
  )
    return { ok: true, kind: "validation", account: input.account };
  const keys = accountOk ? input.keys.filter(usableKey) : [];
  const matched = matchSigned(keys.length > 0 ? keys : [DUMMY_KEY], sign, signature);
  if (signature === undefined || signature.trim() === "") return refuse("no-signature");
  if (!accountOk) return refuse("account");
  if (keys.length === 0) return refuse("no-key");
  if (matched === -1) return refuse("signature-mismatch");
  const { eventsBytes } = read;
  return {
    ok: true,
    kind: "batch",
    account: input.account,
    get mandrillEvents() {
      return read.form.mandrill_events as string;
    },
    ...(eventsBytes === undefined ? {} : { mandrillEventsBytes: eventsBytes }),
    get form() {
      return read.form;
    },
    keyIndex: matched,
  };
}

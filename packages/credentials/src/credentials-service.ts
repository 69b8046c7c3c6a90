import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import {
  type CredentialRecord,
  type CredentialsReader,
  checkOptions,
  componentLogger,
  isMandrillKitError,
  type Logger,
  MandrillKitConfigError,
  MandrillKitNotFoundError,
  type MandrillSettings,
  maskSecret,
  type Page,
  type PageOptions,
  requireAccountId,
  Secret,
  type Store,
  silentLogger,
  type VerificationResult,
} from "@mandrill-kit/core";
import { decryptSecret, encryptSecret, keyIdOf } from "./jwe.js";
import { checkKeySet, createKeyRing, type KeyRing } from "./key-ring.js";
import { type MandrillSettingsInput, type StoredSettings, validateSettingsInput } from "./settings-input.js";

/** Options of {@link createCredentials}. */
export interface CredentialsOptions {
  /** Where the encrypted records live. */
  store: Store;
  /**
   * The JWK Set of 256-bit `oct` keys, as JSON text or object (`mandrill-kit keys generate` makes
   * one). Map it from an environment variable or a file in the host; never commit it.
   */
  keys: string | object;
  /** Which key encrypts; the others only decrypt. @default the first key of the set */
  activeKid?: string;
  /** Public base URL of the host app as Mandrill reaches it, e.g. `"https://app.example.com"`. */
  publicUrl: string;
  /** Path of the webhook route; `:account` is replaced by the account id. @default "/webhooks/mandrill/:account" */
  webhookPath?: string;
  /**
   * How long decrypted settings stay cached in this process. Saves, deletes and rotations through
   * this instance invalidate at once; the TTL bounds how long another instance's change goes unseen.
   * `0` disables the cache. @default 30000
   */
  cacheTtlMs?: number;
  /** @default silentLogger */
  logger?: Logger;
}

const OPTION_NAMES = [
  "store",
  "keys",
  "activeKid",
  "publicUrl",
  "webhookPath",
  "cacheTtlMs",
  "logger",
] as const;

/** One masked webhook key in the admin view. */
export interface WebhookKeyDescription {
  id: string;
  /** `"••••abcd"` */
  masked: string;
  addedAt: number;
  /** The current key (the one Mandrill should be using); the others are still accepted. */
  current: boolean;
}

/** The admin view of an account's settings: secrets masked to their last 4 characters. */
export interface SettingsDescription {
  account: string;
  version: number;
  transport: MandrillSettings["transport"];
  host: string;
  port: number;
  username: string;
  /** Masked (`"••••abcd"`), or `null` when none is saved. */
  apiKey: string | null;
  hasApiKey: boolean;
  fromEmail: string;
  fromName: string;
  replyTo: string | null;
  subaccount: string | null;
  webhookKeys: WebhookKeyDescription[];
  hasWebhookKey: boolean;
  unsubscribeMode: MandrillSettings["unsubscribeMode"];
  /** Paste this into Mandrill → Settings → Webhooks. */
  callbackUrl: string;
  lastVerification: VerificationResult | null;
  createdAt: number;
  updatedAt: number;
}

/** A line of {@link CredentialsService.list} (no decryption needed). */
export interface SettingsSummary {
  account: string;
  transport: MandrillSettings["transport"];
  fromEmail: string;
  hasApiKey: boolean;
  hasWebhookKey: boolean;
  updatedAt: number;
}

/** What {@link CredentialsService.rotate} did. */
export interface RotationReport {
  accounts: number;
  /** Secrets re-encrypted under the active key now. */
  reencrypted: number;
  /** Secrets already under the active key (a resumed rotation skips them). */
  alreadyCurrent: number;
  /** Accounts that could not be rotated (e.g. a secret under a key no longer configured), with the error code. */
  failed: { account: string; code: string; message: string }[];
  activeKid: string;
}

/** Options of {@link CredentialsService.rotate}. */
export interface RotateOptions {
  /** Called after each account, e.g. to print progress. */
  onProgress?: (progress: { account: string; done: number }) => void;
}

/** The credential store: per-account Mandrill settings with encrypted secrets. */
export interface CredentialsService extends CredentialsReader {
  /** Resolves when the key ring is ready (key set parsed and imported). Every method awaits it. */
  ready(): Promise<void>;
  /** Validates, encrypts and stores; returns the admin view. Throws `ERR_MK_VALIDATION_FAILED` with `fields`. */
  save(
    account: string,
    input: MandrillSettingsInput,
    options?: { expectedVersion?: number },
  ): Promise<SettingsDescription>;
  /** Admin view, or `undefined` when the account has no settings. */
  describe(account: string): Promise<SettingsDescription | undefined>;
  delete(account: string): Promise<boolean>;
  list(options?: PageOptions): Promise<Page<SettingsSummary>>;
  /** Re-encrypts every secret not yet under the active key. Resumable: run it again after a crash. */
  rotate(options?: RotateOptions): Promise<RotationReport>;
  /** Drops cached decrypted settings (all accounts, or one). */
  invalidate(account?: string): void;
}

const API_KEY_FIELD = "apiKey";
const webhookField = (id: string) => `webhookKey:${id}`;

function resolveUrl(publicUrl: unknown): string {
  if (typeof publicUrl !== "string") {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "publicUrl",
      `publicUrl must be the public base URL Mandrill reaches this app at, such as "https://app.example.com"; received ${typeof publicUrl}.`,
    );
  }
  let url: URL;
  try {
    url = new URL(publicUrl);
  } catch {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "publicUrl",
      `publicUrl ${JSON.stringify(publicUrl)} is not an absolute URL; use e.g. "https://app.example.com".`,
    );
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.search !== "" || url.hash !== "") {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "publicUrl",
      `publicUrl ${JSON.stringify(publicUrl)} must be an http(s) base URL without query or fragment, e.g. "https://app.example.com".`,
    );
  }
  // The exact string (minus a trailing slash) is what the Callback URL is built from: never re-serialised.
  return publicUrl.replace(/\/+$/, "");
}

function resolvePath(webhookPath: unknown): string {
  const path = webhookPath ?? "/webhooks/mandrill/:account";
  if (
    typeof path !== "string" ||
    !path.startsWith("/") ||
    path.split(":account").length !== 2 ||
    /[?#\s]/.test(path)
  ) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "webhookPath",
      `webhookPath must start with "/" and contain ":account" once, e.g. "/webhooks/mandrill/:account"; received ${JSON.stringify(path)}.`,
    );
  }
  return path;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !(value instanceof Secret) && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Creates the credential store service. Options are checked synchronously (a bad key set fails here,
 * with a message that contains no key material); the keys are imported in the background and every
 * method waits for them (`ready()` to wait explicitly).
 */
export function createCredentials(options: CredentialsOptions): CredentialsService {
  const o = checkOptions("createCredentials", options, OPTION_NAMES);
  const store = o.store as Store | undefined;
  if (
    store === undefined ||
    typeof store !== "object" ||
    typeof (store as Store).credentials?.get !== "function"
  ) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "store",
      "createCredentials() needs store: a mandrill-kit Store, e.g. openSqliteStore({ filename }).",
    );
  }
  const publicUrl = resolveUrl(o.publicUrl);
  const webhookPath = resolvePath(o.webhookPath);
  const ttl = (o.cacheTtlMs ?? 30_000) as number;
  if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "cacheTtlMs",
      `cacheTtlMs must be a non-negative number of milliseconds; received ${JSON.stringify(ttl)}.`,
    );
  }
  if (o.activeKid !== undefined && typeof o.activeKid !== "string") {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "activeKid",
      "activeKid must be the kid of one key of the set.",
    );
  }
  const log = componentLogger((o.logger as Logger | undefined) ?? silentLogger, { component: "credentials" });
  const checked = checkKeySet(o.keys, o.activeKid as string | undefined); // throws now, not later
  const ringPromise: Promise<KeyRing> = createKeyRing(checked);
  ringPromise.catch(() => {}); // surfaced by every call (and by ready())
  const cache = new Map<
    string,
    { value: MandrillSettings | undefined; expires: number; pending?: Promise<MandrillSettings | undefined> }
  >();

  async function ring(): Promise<KeyRing> {
    return ringPromise;
  }

  async function load(account: string): Promise<MandrillSettings | undefined> {
    const record = await store?.credentials.get(account);
    if (record === undefined) return undefined;
    return decryptRecord(await ring(), record);
  }

  async function decryptRecord(keys: KeyRing, record: CredentialRecord): Promise<MandrillSettings> {
    const s = record.settings as unknown as StoredSettings;
    const apiKeyJwe = record.secrets[API_KEY_FIELD];
    const apiKey =
      apiKeyJwe === undefined
        ? null
        : new Secret(await decryptSecret(keys, record.account, API_KEY_FIELD, apiKeyJwe));
    const webhookKeys = [];
    for (const k of s.webhookKeys) {
      const jwe = record.secrets[webhookField(k.id)];
      if (jwe === undefined) continue;
      webhookKeys.push({
        id: k.id,
        addedAt: k.addedAt,
        key: new Secret(await decryptSecret(keys, record.account, webhookField(k.id), jwe)),
      });
    }
    return deepFreeze({
      account: record.account,
      version: record.version,
      transport: s.transport,
      host: s.host,
      port: s.port,
      username: s.username,
      apiKey,
      fromEmail: s.fromEmail,
      fromName: s.fromName,
      replyTo: s.replyTo,
      subaccount: s.subaccount,
      webhookKeys,
      unsubscribeMode: s.unsubscribeMode,
      lastVerification: s.lastVerification,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    });
  }

  async function get(account: string): Promise<MandrillSettings | undefined> {
    const entry = cache.get(account);
    if (entry !== undefined) {
      if (entry.pending !== undefined) return entry.pending;
      if (entry.expires > Date.now()) return entry.value;
    }
    requireAccountId(account);
    // Concurrent misses for one account share one store read and decryption.
    const pending = load(account);
    if (ttl > 0) cache.set(account, { value: undefined, expires: 0, pending });
    try {
      const value = await pending;
      if (ttl > 0 && cache.get(account)?.pending === pending)
        cache.set(account, { value, expires: Date.now() + ttl });
      return value;
    } catch (error) {
      if (cache.get(account)?.pending === pending) cache.delete(account);
      throw error;
    }
  }

  function callbackUrl(account: string): string {
    return publicUrl + webhookPath.replace(":account", encodeURIComponent(requireAccountId(account)));
  }

  function describeSettings(s: MandrillSettings): SettingsDescription {
    return {
      account: s.account,
      version: s.version,
      transport: s.transport,
      host: s.host,
      port: s.port,
      username: s.username,
      apiKey: s.apiKey === null ? null : maskSecret(s.apiKey.reveal()),
      hasApiKey: s.apiKey !== null,
      fromEmail: s.fromEmail,
      fromName: s.fromName,
      replyTo: s.replyTo,
      subaccount: s.subaccount,
      webhookKeys: s.webhookKeys.map((k, i) => ({
        id: k.id,
        masked: maskSecret(k.key.reveal()),
        addedAt: k.addedAt,
        current: i === 0,
      })),
      hasWebhookKey: s.webhookKeys.length > 0,
      unsubscribeMode: s.unsubscribeMode,
      callbackUrl: callbackUrl(s.account),
      lastVerification: s.lastVerification,
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
    };
  }

  async function updateSettings(
    account: string,
    change: (settings: StoredSettings) => StoredSettings,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const record = await store?.credentials.get(account);
      if (record === undefined)
        throw new MandrillKitNotFoundError(`Account "${account}" has no Mandrill settings.`);
      try {
        await store?.credentials.put(
          account,
          {
            settings: change(record.settings as unknown as StoredSettings) as unknown as Record<
              string,
              unknown
            >,
            secrets: record.secrets,
          },
          { expectedVersion: record.version },
        );
        cache.delete(account);
        return;
      } catch (error) {
        if (!isMandrillKitError(error, "ERR_MK_STORE_CONFLICT") || attempt >= 4) throw error;
      }
    }
  }

  const service: CredentialsService = {
    ready: async () => {
      await ring();
    },
    get,
    callbackUrl,
    webhookKeys: async (account) => (await get(account))?.webhookKeys.map((k) => k.key) ?? [],
    describe: async (account) => {
      const s = await get(account);
      return s === undefined ? undefined : describeSettings(s);
    },
    save: async (account, input, saveOptions = {}) => {
      requireAccountId(account);
      const keys = await ring();
      const record = await store?.credentials.get(account);
      const previous =
        record === undefined
          ? undefined
          : {
              settings: record.settings as unknown as StoredSettings,
              hasApiKey: record.secrets[API_KEY_FIELD] !== undefined,
            };
      const now = Date.now();
      const change = validateSettingsInput(input, previous, () => randomBytes(6).toString("base64url"), now);
      const secrets: Record<string, string> = { ...(record?.secrets ?? {}) };
      if (change.apiKey === null) delete secrets[API_KEY_FIELD];
      else if (change.apiKey !== undefined)
        secrets[API_KEY_FIELD] = await encryptSecret(keys, account, API_KEY_FIELD, change.apiKey);
      for (const id of change.removedWebhookKeys) delete secrets[webhookField(id)];
      const current = change.settings.webhookKeys[0];
      if (change.webhookKey !== undefined && current !== undefined) {
        secrets[webhookField(current.id)] = await encryptSecret(
          keys,
          account,
          webhookField(current.id),
          change.webhookKey,
        );
      }
      const saved = await (store as Store).credentials.put(
        account,
        { settings: change.settings as unknown as Record<string, unknown>, secrets },
        { expectedVersion: saveOptions.expectedVersion ?? record?.version ?? 0, at: now },
      );
      cache.delete(account);
      log.info(
        {
          account,
          version: saved.version,
          apiKeyChanged: change.apiKey !== undefined,
          webhookKeyAdded: change.webhookKey !== undefined,
        },
        "saved Mandrill settings",
      );
      const settings = await decryptRecord(keys, saved);
      if (ttl > 0) cache.set(account, { value: settings, expires: Date.now() + ttl });
      return describeSettings(settings);
    },
    delete: async (account) => {
      requireAccountId(account);
      const deleted = await (store as Store).credentials.delete(account);
      cache.delete(account);
      if (deleted) log.info({ account }, "deleted Mandrill settings");
      return deleted;
    },
    list: async (pageOptions = {}) => {
      const page = await (store as Store).credentials.list(pageOptions);
      return {
        next: page.next,
        items: page.items.map((r) => {
          const s = r.settings as unknown as StoredSettings;
          return {
            account: r.account,
            transport: s.transport,
            fromEmail: s.fromEmail,
            hasApiKey: r.secrets[API_KEY_FIELD] !== undefined,
            hasWebhookKey: s.webhookKeys.length > 0,
            updatedAt: r.updatedAt,
          };
        }),
      };
    },
    recordVerification: async (account, result) => {
      requireAccountId(account);
      const clean: VerificationResult = {
        at: result.at,
        ok: result.ok,
        summary: String(result.summary).slice(0, 500),
      };
      await updateSettings(account, (s) => ({ ...s, lastVerification: clean }));
    },
    rotate: async (rotateOptions = {}) => {
      const keys = await ring();
      const report: RotationReport = {
        accounts: 0,
        reencrypted: 0,
        alreadyCurrent: 0,
        failed: [],
        activeKid: keys.active.kid,
      };
      let after: string | null = null;
      do {
        const page: Page<CredentialRecord> = await (store as Store).credentials.list({ limit: 100, after });
        for (const first of page.items) {
          report.accounts++;
          let record: CredentialRecord | undefined = first;
          for (let attempt = 0; record !== undefined; attempt++) {
            try {
              const secrets: Record<string, string> = {};
              let changed = 0;
              let current = 0;
              for (const [field, jwe] of Object.entries(record.secrets)) {
                if (keyIdOf(jwe, record.account, field) === keys.active.kid) {
                  secrets[field] = jwe;
                  current++;
                } else {
                  // Plaintext lives only in this scope, between decrypt and encrypt.
                  secrets[field] = await encryptSecret(
                    keys,
                    record.account,
                    field,
                    await decryptSecret(keys, record.account, field, jwe),
                  );
                  changed++;
                }
              }
              if (changed > 0) {
                await (store as Store).credentials.put(
                  record.account,
                  { settings: record.settings, secrets },
                  { expectedVersion: record.version },
                );
                cache.delete(record.account);
              }
              report.reencrypted += changed;
              report.alreadyCurrent += current;
              break;
            } catch (error) {
              if (isMandrillKitError(error, "ERR_MK_STORE_CONFLICT") && attempt < 4) {
                record = await (store as Store).credentials.get(first.account);
                continue;
              }
              const code = isMandrillKitError(error) ? error.code : "ERR_MK_STORE_FAILED";
              const message = error instanceof Error ? error.message : String(error);
              report.failed.push({ account: first.account, code, message });
              log.error({ account: first.account, code }, `could not rotate: ${message}`);
              break;
            }
          }
          rotateOptions.onProgress?.({ account: first.account, done: report.accounts });
        }
        after = page.next;
      } while (after !== null);
      log.info(
        {
          accounts: report.accounts,
          reencrypted: report.reencrypted,
          failed: report.failed.length,
          activeKid: report.activeKid,
        },
        "key rotation finished",
      );
      return report;
    },
    invalidate: (account) => {
      if (account === undefined) cache.clear();
      else cache.delete(account);
    },
  };
  Object.defineProperty(service, inspect.custom, {
    value: () => `CredentialsService(${publicUrl}${webhookPath})`,
    enumerable: false,
  });
  Object.defineProperty(service, "toJSON", { value: () => ({ publicUrl, webhookPath }), enumerable: false });
  return service;
}

import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import {
  type CredentialsReader,
  isMandrillKitError,
  MandrillKitNotFoundError,
  type MandrillSettings,
  type Page,
  type PageOptions,
  requireAccountId,
  type VerificationResult,
} from "@mandrill-kit/core";
import { componentLogger, defaultTelemetry, type Telemetry } from "@mandrill-kit/core/plugin";
import {
  type CredentialsOptions,
  type ResolvedCredentialsOptions,
  resolveCredentialsOptions,
} from "./credentials-options.js";
import { createKeyRing, type KeyRing } from "./key-ring.js";
import { type RotateOptions, type RotationReport, rotateKeys } from "./key-rotation.js";
import { createSettingsCache } from "./settings-cache.js";
import { type MandrillSettingsInput, type StoredSettings, validateSettingsInput } from "./settings-input.js";
import { previewSettings } from "./settings-preview.js";
import {
  describeSettings,
  type SettingsDescription,
  type SettingsSummary,
  summarizeRecord,
} from "./settings-view.js";
import { API_KEY_FIELD, applySecretChange, decryptRecord, storedSettings } from "./stored-record.js";
import { countDecryptFailure, credentialInstruments } from "./telemetry.js";

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
  /**
   * The settings `save(account, input)` would store, validated the same way (same errors), without
   * storing anything: to test what is in a form before saving it. Omitted or empty secrets are the
   * stored ones.
   */
  preview(account: string, input: MandrillSettingsInput): Promise<MandrillSettings>;
  /** Admin view, or `undefined` when the account has no settings. */
  describe(account: string): Promise<SettingsDescription | undefined>;
  delete(account: string): Promise<boolean>;
  list(options?: PageOptions): Promise<Page<SettingsSummary>>;
  /** Re-encrypts every secret not yet under the active key. Resumable: run it again after a crash. */
  rotate(options?: RotateOptions): Promise<RotationReport>;
  /** Drops cached decrypted settings (all accounts, or one). */
  invalidate(account?: string): void;
}

/** How often a change to the non-secret settings is retried when someone else saved meanwhile. */
const CONFLICT_ATTEMPTS = 5;

const newKeyId = (): string => randomBytes(6).toString("base64url");

/**
 * Creates the credential store service. Options are checked synchronously (a bad key set fails here,
 * with a message that contains no key material); the keys are imported in the background and every
 * method waits for them (`ready()` to wait explicitly).
 */
export function createCredentials(options: CredentialsOptions): CredentialsService {
  return credentialsFromResolved(resolveCredentialsOptions("createCredentials", options).resolved);
}

/** The service for options already checked (by `createCredentials()` or `mandrillKit()`). */
export function credentialsFromResolved(
  options: ResolvedCredentialsOptions,
  telemetry: Telemetry = defaultTelemetry(),
): CredentialsService {
  const { store, keys, publicUrl, webhookPath, cacheTtlMs, cacheMaxEntries, clock, logger, network } =
    options;
  const log = componentLogger(logger, { component: "credentials" });
  const ringPromise: Promise<KeyRing> = createKeyRing(keys);
  ringPromise.catch(() => {}); // surfaced by every call (and by ready())
  const cache = createSettingsCache({ ttlMs: cacheTtlMs, maxEntries: cacheMaxEntries }, clock);

  async function load(account: string): Promise<MandrillSettings | undefined> {
    const record = await store.credentials.get(account);
    const ring = await ringPromise;
    if (record === undefined) return undefined;
    return decryptRecord(ring, record).catch((error: unknown) =>
      countDecryptFailure(telemetry, account, error),
    );
  }

  const get = (account: string): Promise<MandrillSettings | undefined> => {
    let missed = false;
    const settings = cache.get(account, () => {
      missed = true;
      return load(requireAccountId(account));
    });
    credentialInstruments(telemetry).cacheLookup(missed ? "miss" : "hit");
    return settings;
  };

  function callbackUrl(account: string): string {
    return publicUrl + webhookPath.replace(":account", encodeURIComponent(requireAccountId(account)));
  }

  async function updateSettings(
    account: string,
    change: (s: StoredSettings) => StoredSettings,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const record = await store.credentials.get(account);
      if (record === undefined)
        throw new MandrillKitNotFoundError(`Account "${account}" has no Mandrill settings.`);
      const settings = change(storedSettings(record)) as unknown as Record<string, unknown>;
      try {
        await store.credentials.put(
          account,
          { settings, secrets: record.secrets },
          { expectedVersion: record.version },
        );
        cache.invalidate(account);
        return;
      } catch (error) {
        if (!isMandrillKitError(error, "ERR_MK_STORE_CONFLICT") || attempt >= CONFLICT_ATTEMPTS) throw error;
      }
    }
  }

  async function save(
    account: string,
    input: MandrillSettingsInput,
    saveOptions: { expectedVersion?: number } = {},
  ): Promise<SettingsDescription> {
    requireAccountId(account);
    const ring = await ringPromise;
    const record = await store.credentials.get(account);
    const previous =
      record === undefined
        ? undefined
        : { settings: storedSettings(record), hasApiKey: record.secrets[API_KEY_FIELD] !== undefined };
    const now = clock.now();
    const change = validateSettingsInput(input, previous, newKeyId, now, network);
    const secrets = await applySecretChange(ring, account, record?.secrets, change);
    const saved = await store.credentials.put(
      account,
      { settings: change.settings as unknown as Record<string, unknown>, secrets },
      { expectedVersion: saveOptions.expectedVersion ?? record?.version ?? 0, at: now },
    );
    cache.invalidate(account);
    log.info(
      {
        account,
        version: saved.version,
        apiKeyChanged: change.apiKey !== undefined,
        webhookKeyAdded: change.webhookKey !== undefined,
      },
      "saved Mandrill settings",
    );
    const settings = await decryptRecord(ring, saved);
    cache.set(account, settings);
    return describeSettings(settings, callbackUrl(account));
  }

  const preview = (account: string, input: MandrillSettingsInput) =>
    previewSettings({ store, get, network, now: () => clock.now(), newKeyId }, account, input);

  const service: CredentialsService = {
    ready: async () => {
      await ringPromise;
    },
    get,
    callbackUrl,
    webhookKeys: async (account) => (await get(account))?.webhookKeys.map((k) => k.key) ?? [],
    describe: async (account) => {
      const s = await get(account);
      return s === undefined ? undefined : describeSettings(s, callbackUrl(s.account));
    },
    save,
    preview,
    delete: async (account) => {
      requireAccountId(account);
      const deleted = await store.credentials.delete(account);
      cache.invalidate(account);
      if (deleted) log.info({ account }, "deleted Mandrill settings");
      return deleted;
    },
    list: async (pageOptions = {}) => {
      const page = await store.credentials.list(pageOptions);
      return { next: page.next, items: page.items.map(summarizeRecord) };
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
    rotate: async (rotateOptions = {}) =>
      rotateKeys(store, await ringPromise, log, (account) => cache.invalidate(account), rotateOptions),
    invalidate: (account) => cache.invalidate(account),
  };
  Object.defineProperty(service, inspect.custom, {
    value: () => `CredentialsService(${publicUrl}${webhookPath})`,
    enumerable: false,
  });
  Object.defineProperty(service, "toJSON", { value: () => ({ publicUrl, webhookPath }), enumerable: false });
  return service;
}

import type { Clock, MandrillSettings } from "@mandrill-kit/core";

/**
 * Decrypted settings per account, kept for a TTL; concurrent misses share one load. Bounded: the
 * webhook route looks up whatever account id an unauthenticated request names, so at most
 * `maxEntries` accounts are kept (least recently used dropped first) and an account that has no
 * settings is remembered only briefly ({@link NEGATIVE_TTL_MS}).
 */
export interface SettingsCache {
  /** The cached settings, or `load(account)` (kept for the TTL when it succeeds). */
  get(
    account: string,
    load: () => Promise<MandrillSettings | undefined>,
  ): Promise<MandrillSettings | undefined>;
  /** Caches settings just written (a save through this instance). */
  set(account: string, settings: MandrillSettings): void;
  /** Drops one account, or every account. */
  invalidate(account?: string): void;
  /** How many accounts are cached now (loads in flight included). */
  readonly size: number;
}

/** How the cache is bounded. */
export interface SettingsCacheLimits {
  /** How long loaded settings are kept; `0` caches nothing. */
  ttlMs: number;
  /** At most this many accounts are kept; the least recently used goes first. */
  maxEntries: number;
}

/**
 * How long "this account has no settings" is remembered (at most the TTL): long enough to absorb a
 * burst of webhooks to one unknown id without a store read each, short enough that an account
 * created through another instance is seen soon.
 */
export const NEGATIVE_TTL_MS = 5_000;

/** Default of `cacheMaxEntries`: every active tenant of a large host, a few MiB of decrypted settings. */
export const DEFAULT_CACHE_MAX_ENTRIES = 10_000;

interface Entry {
  value: MandrillSettings | undefined;
  expires: number;
  pending?: Promise<MandrillSettings | undefined>;
}

/**
 * A least-recently-used cache (a `Map` in use order: a hit moves the account to the end, the first
 * key is evicted) whose entries expire by `clock`. Hand-written rather than `lru-cache`: the
 * single-flight load and "a write while loading wins" rules below are the whole of it.
 */
export function createSettingsCache(limits: SettingsCacheLimits, clock: Clock): SettingsCache {
  const { ttlMs, maxEntries } = limits;
  const entries = new Map<string, Entry>();

  function put(account: string, entry: Entry): void {
    entries.delete(account); // re-inserted last: most recently used
    entries.set(account, entry);
    while (entries.size > maxEntries) {
      const oldest = entries.keys().next().value as string;
      entries.delete(oldest);
    }
  }

  return {
    async get(account, load) {
      const entry = entries.get(account);
      if (entry !== undefined) {
        if (entry.pending !== undefined) return entry.pending;
        if (entry.expires > clock.now()) {
          put(account, entry);
          return entry.value;
        }
        entries.delete(account);
      }
      // Concurrent misses for one account share one store read and decryption.
      const pending = load();
      if (ttlMs > 0) put(account, { value: undefined, expires: 0, pending });
      try {
        const value = await pending;
        // A save or invalidate() while loading replaced the entry (or it was evicted): keep theirs.
        if (ttlMs > 0 && entries.get(account)?.pending === pending) {
          const lifetime = value === undefined ? Math.min(ttlMs, NEGATIVE_TTL_MS) : ttlMs;
          put(account, { value, expires: clock.now() + lifetime });
        }
        return value;
      } catch (error) {
        if (entries.get(account)?.pending === pending) entries.delete(account);
        throw error;
      }
    },
    set(account, settings) {
      if (ttlMs > 0) put(account, { value: settings, expires: clock.now() + ttlMs });
    },
    invalidate(account) {
      if (account === undefined) entries.clear();
      else entries.delete(account);
    },
    get size() {
      return entries.size;
    },
  };
}

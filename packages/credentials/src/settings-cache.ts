import type { Clock, MandrillSettings } from "@mandrill-kit/core";

/** Decrypted settings per account, kept for a TTL; concurrent misses share one load. */
export interface SettingsCache {
  /** The cached settings, or `load(account)` (stored for `ttlMs` when it succeeds). */
  get(
    account: string,
    load: () => Promise<MandrillSettings | undefined>,
  ): Promise<MandrillSettings | undefined>;
  /** Caches settings just written (a save through this instance). */
  set(account: string, settings: MandrillSettings): void;
  /** Drops one account, or every account. */
  invalidate(account?: string): void;
}

interface Entry {
  value: MandrillSettings | undefined;
  expires: number;
  pending?: Promise<MandrillSettings | undefined>;
}

/** A cache whose entries expire `ttlMs` after they were loaded, by `clock`; `ttlMs` 0 caches nothing. */
export function createSettingsCache(ttlMs: number, clock: Clock): SettingsCache {
  const entries = new Map<string, Entry>();
  return {
    async get(account, load) {
      const entry = entries.get(account);
      if (entry !== undefined) {
        if (entry.pending !== undefined) return entry.pending;
        if (entry.expires > clock.now()) return entry.value;
      }
      // Concurrent misses for one account share one store read and decryption.
      const pending = load();
      if (ttlMs > 0) entries.set(account, { value: undefined, expires: 0, pending });
      try {
        const value = await pending;
        // A save or invalidate() while loading replaced the entry: keep theirs.
        if (ttlMs > 0 && entries.get(account)?.pending === pending)
          entries.set(account, { value, expires: clock.now() + ttlMs });
        return value;
      } catch (error) {
        if (entries.get(account)?.pending === pending) entries.delete(account);
        throw error;
      }
    },
    set(account, settings) {
      if (ttlMs > 0) entries.set(account, { value: settings, expires: clock.now() + ttlMs });
    },
    invalidate(account) {
      if (account === undefined) entries.clear();
      else entries.delete(account);
    },
  };
}

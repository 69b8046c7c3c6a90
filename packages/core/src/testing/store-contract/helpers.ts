/** What the capability files of the store contract share: the test API, one store per test, fixtures. */
import type * as Vitest from "vitest";
import { isMandrillKitError, MandrillKitStoreError } from "../../errors.js";
import type { InboxEventInput, Store, SuppressionInput, SuppressionReason } from "../../store.js";

/**
 * The parts of vitest the contract uses, passed by the caller (`import * as vitest from "vitest"`) so
 * `@mandrill-kit/core/testing` never imports a test runner itself.
 */
export type StoreContractApi = Pick<
  typeof Vitest,
  "describe" | "test" | "expect" | "beforeEach" | "afterEach"
>;

/** Options of `runStoreContract` and of each capability's contract. */
export interface StoreContractOptions {
  /** Shown in the test names, e.g. `"sqlite (file)"`. */
  name: string;
  /** Opens a fresh, empty, migrated store. Called before every test. */
  open: () => Store | Promise<Store>;
  /** Called after every test (after `store.close()`), e.g. to delete files. */
  cleanup?: () => void | Promise<void>;
}

/**
 * Opens a fresh store before each test of the enclosing `describe` and closes it after (then runs
 * `cleanup`). The returned `Store` stands for the store of the running test.
 */
export function storePerTest(api: StoreContractApi, options: StoreContractOptions): Store {
  let store: Store | undefined;
  const current = (): Store => {
    if (store === undefined) {
      throw new MandrillKitStoreError(
        "ERR_MK_STORE_CLOSED",
        "the contract's store is only open inside a test",
      );
    }
    return store;
  };
  api.beforeEach(async () => {
    store = await options.open();
  });
  api.afterEach(async () => {
    await store?.close();
    store = undefined;
    await options.cleanup?.();
  });
  return {
    get kind() {
      return current().kind;
    },
    get credentials() {
      return current().credentials;
    },
    get suppressions() {
      return current().suppressions;
    },
    get inbox() {
      return current().inbox;
    },
    get sends() {
      return current().sends;
    },
    migrate: () => current().migrate(),
    close: () => current().close(),
  };
}

/** The reference time of every test: 2026-01-01T00:00:00Z. */
export const T0 = Date.UTC(2026, 0, 1);
export const DAY = 86_400_000;

/** An inbox event of type `send` to alice@example.org at {@link T0}, with `overrides`. */
export function event(key: string, overrides: Partial<InboxEventInput> = {}): InboxEventInput {
  return {
    key,
    type: "send",
    email: "alice@example.org",
    messageId: `id-${key}`,
    eventAt: T0,
    raw: JSON.stringify({ event: "send", _id: `id-${key}`, ts: T0 / 1000 }),
    ...overrides,
  };
}

/** A suppression of `email` in account `acme`, from a webhook at {@link T0}, with `overrides`. */
export function webhookSuppression(
  email: string,
  reason: SuppressionReason,
  overrides: Partial<SuppressionInput> = {},
): SuppressionInput {
  return { account: "acme", email, reason, source: "webhook", at: T0, ...overrides };
}

/** Asserts that `promise` rejects with a `MandrillKitError` of `code`. */
export function rejectionChecker(expect: StoreContractApi["expect"]) {
  return async (promise: Promise<unknown>, code: string): Promise<void> => {
    let caught: unknown;
    try {
      await promise;
    } catch (error) {
      caught = error;
    }
    expect(caught, `expected a rejection with ${code}`).toBeDefined();
    expect(isMandrillKitError(caught), `expected a MandrillKitError, got ${String(caught)}`).toBe(true);
    expect((caught as { code: string }).code).toBe(code);
  };
}

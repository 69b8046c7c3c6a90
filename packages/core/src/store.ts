/**
 * Storage interfaces of mandrill-kit, one file per repository under `store/`. Every method is async
 * so a network database fits without changing callers. Times are Unix epoch milliseconds. Every
 * method that depends on the clock takes an optional `now`/`at` (default `Date.now()`) so behaviour
 * can be tested without waiting.
 *
 * Adapters: `createMemoryStore()` (this package), `openSqliteStore()` (`@mandrill-kit/sqlite`),
 * `openPostgresStore()` (`@mandrill-kit/postgres`). `runStoreContract()` in
 * `@mandrill-kit/core/testing` is the behaviour every adapter must pass; `@mandrill-kit/core/adapter`
 * holds the rules they share.
 */
import type { CredentialRepository } from "./store/credentials.js";
import type { InboxRepository } from "./store/inbox.js";
import type { SendRepository } from "./store/sends.js";
import type { SuppressionRepository } from "./store/suppressions.js";

export type {
  CredentialPutOptions,
  CredentialRecord,
  CredentialRepository,
  CredentialWrite,
} from "./store/credentials.js";
export type {
  AppliedEffect,
  ClaimOptions,
  CompleteUnwantedOptions,
  FailOptions,
  InboxBacklog,
  InboxEventInput,
  InboxRecord,
  InboxRepository,
  InboxState,
  InboxStats,
  IngestBatch,
  IngestResult,
  QuarantinedBatch,
  SuppressionEffect,
} from "./store/inbox.js";
export type {
  DriftEntry,
  MandrillListRow,
  MandrillSyncCounts,
  MandrillSyncMethods,
  MandrillSyncState,
} from "./store/mandrill-sync.js";
export type { Page, PageOptions } from "./store/page.js";
export type { SendRecord, SendRecordInput, SendRepository } from "./store/sends.js";
export {
  SUPPRESSION_REASONS,
  SUPPRESSION_SOURCES,
  type Suppression,
  type SuppressionAddResult,
  type SuppressionAddStatus,
  type SuppressionInput,
  type SuppressionLiftOptions,
  type SuppressionQuery,
  type SuppressionReason,
  type SuppressionRepository,
  type SuppressionSource,
  type SuppressionStatus,
} from "./store/suppressions.js";

/** Every repository, in one object owning the connection. */
export interface Store {
  /** `"memory"`, `"sqlite"`, `"postgres"`… */
  readonly kind: string;
  readonly credentials: CredentialRepository;
  readonly suppressions: SuppressionRepository;
  readonly inbox: InboxRepository;
  readonly sends: SendRepository;
  /** Applies pending schema migrations (idempotent; safe to call on every start). */
  migrate(): Promise<void>;
  /** Releases the connection. Further calls reject with `ERR_MK_STORE_CLOSED`. Idempotent. */
  close(): Promise<void>;
}

/**
 * `@mandrill-kit/core/adapter`: what a store adapter needs beyond the `Store` interfaces, so every
 * adapter (memory, SQLite, PostgreSQL, yours) applies the same rules: input checks and normalisation,
 * the suppression merge and filter, how ingest applies effects, paging and cursors, row shapes and
 * mappers of the SQL schema, and the errors stores raise. Not needed by hosts.
 */
export {
  type CredentialRow,
  checkCredentialWrite,
  checkExpectedVersion,
  toCredential,
} from "./credentials.js";
export { storeClosed, storeFailed } from "./errors.js";
export {
  applySuppressionEffects,
  claimOrder,
  distinctEvents,
  type InboxRow,
  inboxNotFound,
  inboxStatsFrom,
  inboxWhere,
  normalizeClaimOptions,
  normalizeCompleteUnwantedOptions,
  type QuarantineRow,
  type SuppressionEffectTarget,
  type TypeFilter,
  toInbox,
  toQuarantined,
  typeFilterMatches,
} from "./inbox.js";
export { eventsWithQueue, QUEUED_RECORD_COLUMNS, queuedListSql, queuedStatsSql } from "./inbox-queue.js";
export {
  type NormalizedInboxEvent,
  normalizeEffect,
  normalizeInboxEvent,
  normalizeIngestBatch,
} from "./ingest-checks.js";
export {
  countDecision,
  decideMandrillRow,
  emptyMandrillCounts,
  keepStaged,
  lastsLonger,
  MANDRILL_APPLY_PAGE,
  MANDRILL_SOURCES,
  type NormalizedMandrillRow,
  normalizeMandrillRow,
  normalizeStage,
  requireRunId,
  type StagedMandrillRow,
} from "./mandrill-sync.js";
export {
  type MandrillRowRow,
  type MandrillSyncSql,
  mandrillDrift,
  mandrillSyncSql,
  stagedValues,
  toStagedRow,
  toSyncState,
} from "./mandrill-sync-sql.js";
export {
  latestVersion,
  type Migration,
  migrationFailed,
  requireCurrentSchema,
  type SchemaPlace,
  schemaTooNew,
} from "./migrations.js";
export { booleanOption, integerOption } from "./options.js";
export {
  afterKey,
  beforeSeq,
  DEFAULT_PAGE_LIMIT,
  decodeCursor,
  encodeCursor,
  MAX_PAGE_LIMIT,
  page,
  pageLimit,
} from "./paging.js";
export { normalizeSendRecord, type SendRow, sendListEmail, toSend } from "./sends.js";
export { escapeLike, SqlParams } from "./sql.js";
export {
  checkList,
  liftSuppression,
  matchesSuppressionQuery,
  mergeSuppression,
  type NormalizedSuppressionInput,
  normalizeSuppressionInput,
  SUPPRESSION_COLUMNS,
  type SuppressionRow,
  suppressionStatus,
  suppressionValues,
  suppressionWhere,
  toSuppression,
} from "./suppressions.js";

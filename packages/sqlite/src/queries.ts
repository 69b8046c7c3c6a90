/**
 * `suppressions.check` as one statement for any number of addresses: the JSON array of normalised
 * addresses drives the loop (CROSS JOIN fixes the order in SQLite's planner) and each element is one
 * probe of the partial index of active entries on (email, account, expires_at) (migration 2) — never a
 * scan of the account's list. A miss (the common case) is answered by the index alone; a hit that has
 * not expired reads its table row by primary key for the other columns.
 */
export const SUPPRESSION_CHECK_SQL = `SELECT s.email, s.reason, s.source, s.detail, s.created_at, s.updated_at, s.expires_at
  FROM json_each(@emails) AS j
  CROSS JOIN suppressions AS s INDEXED BY suppressions_active_by_email ON s.email = j.value AND s.account = @account
  WHERE s.lifted_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > @now)`;

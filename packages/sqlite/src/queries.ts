/**
 * `suppressions.check` as one statement for any number of addresses: the JSON array of normalised
 * addresses drives the loop (CROSS JOIN fixes the order in SQLite's planner) and each element is one
 * primary-key probe on (account, email) — never a scan of the account's list. Only active entries
 * match, so the lift columns are not read.
 */
export const SUPPRESSION_CHECK_SQL = `SELECT s.email, s.reason, s.source, s.detail, s.created_at, s.updated_at, s.expires_at
  FROM json_each(@emails) AS j
  CROSS JOIN suppressions AS s ON s.account = @account AND s.email = j.value
  WHERE s.lifted_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > @now)`;

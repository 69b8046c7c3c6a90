/**
 * `suppressions.check` as one statement for any number of addresses: the JSON array of normalised
 * addresses drives the loop (CROSS JOIN fixes the order in SQLite's planner) and each element is one
 * primary-key probe on (account, email) — never a scan of the account's list.
 */
export const SUPPRESSION_CHECK_SQL = `SELECT s.* FROM json_each(@emails) AS j
  CROSS JOIN suppressions AS s ON s.account = @account AND s.email = j.value
  WHERE s.lifted_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > @now)`;

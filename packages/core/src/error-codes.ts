/**
 * Every stable error code of mandrill-kit, with the advice a person needs to fix it.
 *
 * `docs/errors.md` lists the same codes; a test keeps the two in step. Codes never change meaning
 * once published: add new ones instead.
 */
export const ERROR_CODES = {
  ERR_MK_CONFIG_INVALID: {
    summary: "An option passed to a mandrill-kit factory has a wrong type or value.",
    advice: "Read the message: it quotes the option and the value received, and says what is accepted.",
  },
  ERR_MK_CONFIG_UNKNOWN_OPTION: {
    summary: "An option name is not known to the factory it was passed to.",
    advice: "Check the spelling; the message suggests the closest known option when there is one.",
  },
  ERR_MK_CONFIG_KEYS: {
    summary: "The encryption key set (a JWK Set of 256-bit `oct` keys) is missing or malformed.",
    advice:
      'Generate one with `mandrill-kit keys generate` and pass its JSON as `keys`. Each key needs a unique `kid`, `kty: "oct"` and a 32-byte `k` (base64url); `activeKid` must name one of them.',
  },
  ERR_MK_CONFIG_AUTH_REQUIRED: {
    summary: "`mandrillSettings()` was created without an authorisation hook.",
    advice:
      'Pass `authorize: (req, account) => boolean` (or a Promise of one), or `authorize: "handled-upstream"` when a middleware mounted before the router already restricts access.',
  },
  ERR_MK_KIT_NOT_MOUNTED: {
    summary:
      "A plugin was used with no explicit dependencies, and `mandrillKit()` was not mounted before it.",
    advice:
      "Mount `app.use(mandrillKit({ store, keys, publicUrl }))` before the other plugins, or pass their dependencies explicitly.",
  },
  ERR_MK_ACCOUNT_INVALID: {
    summary: "An account id is empty, too long, or contains characters that are not allowed.",
    advice:
      "Use 1–128 characters from A–Z, a–z, 0–9, '_', '-' and '.', starting with a letter or digit, without '..'.",
  },
  ERR_MK_EMAIL_INVALID: {
    summary: "A value given as an email address is not one.",
    advice: "Give a single address such as alice@example.org, without a display name or a list.",
  },
  ERR_MK_VALIDATION_FAILED: {
    summary: "Input failed validation; `fields` names each field and what is wrong with it.",
    advice: "Correct the listed fields and send again.",
  },
  ERR_MK_PAYLOAD_INVALID: {
    summary: "A webhook payload could not be read as Mandrill events (not JSON, or not a JSON array).",
    advice:
      "If the request was correctly signed, the body is quarantined and nothing is lost; inspect it in the quarantine list.",
  },
  ERR_MK_WEBHOOK_BODY_REFUSED: {
    summary:
      "A webhook POST was refused before its signature was checked: not a UTF-8 form (415), over `bodyLimitBytes` (413), not received within `bodyTimeoutMs` (408), or a malformed or repeated form field (400).",
    advice:
      "Mandrill never sends such requests: look for a proxy that rewrites bodies, or a client posting by hand. Sign test requests with `signWebhook` from `@mandrill-kit/webhooks/testing`; raise `bodyLimitBytes` only if Mandrill's own batches hit it.",
  },
  ERR_MK_WEBHOOK_NOT_STORED: {
    summary:
      "A webhook batch could not be stored (the store or the credentials failed); the router answered 503 and acknowledged nothing, so Mandrill retries it.",
    advice:
      "Read `cause` (disk, database connection, keys). Nothing is lost while Mandrill retries; fix the store before its retries run out.",
  },
  ERR_MK_WEBHOOK_HANDLER_TIMEOUT: {
    summary:
      "A webhook handler ran longer than `handlerTimeoutMs`: its `signal` was aborted and the run counts as failed; the retry waits until the run has settled.",
    advice:
      "Pass `context.signal` to fetch() and database calls so a stuck call stops, make the handler faster, or raise `handlerTimeoutMs`.",
  },
  ERR_MK_WEBHOOK_HANDLER_FAILED: {
    summary:
      "A webhook handler threw (or rejected with) a value that is not an Error; the kit wraps it in this error, the run counts as failed and is retried.",
    advice: "Throw Error objects from handlers, so the failure keeps its stack and cause.",
  },
  ERR_MK_STORE_CONFLICT: {
    summary: "A record was changed by someone else between reading and writing it (optimistic concurrency).",
    advice: "Read the record again and retry the change.",
  },
  ERR_MK_STORE_CLOSED: {
    summary: "The store was used after `close()`.",
    advice: "Close the store only when the application shuts down, after the plugins using it have stopped.",
  },
  ERR_MK_STORE_MIGRATION_FAILED: {
    summary: "A schema migration could not be applied; the database was left at the previous version.",
    advice: "Read the cause. Check the database is writable and not in use by an older version of the kit.",
  },
  ERR_MK_STORE_SCHEMA_TOO_NEW: {
    summary: "The database was migrated by a newer version of mandrill-kit than the one running.",
    advice:
      "Upgrade the mandrill-kit packages on this instance; never run an older version against a newer schema.",
  },
  ERR_MK_STORE_FAILED: {
    summary:
      "The storage backend reported an error (disk full, database locked for too long, connection lost…).",
    advice:
      "Read the cause in the server log; for SQLite check the disk space and file permissions, and give the store a longer busy timeout if the database stays locked.",
  },
  ERR_MK_HEALTH_CHECK_FAILED: {
    summary:
      "A readiness check of `kit.health()` failed: the store did not answer within its deadline, the dispatcher was closed or its loop stalled, or the key set did not load.",
    advice:
      "Read the failing check's error in the health answer, then fix what it names: the database connection, a stalled worker (restart it) or the key set in MANDRILL_KIT_KEYS.",
  },
  ERR_MK_CRYPTO_MALFORMED: {
    summary:
      "A stored secret is not a JWE the kit wrote: not compact, non-canonical base64url, or a disallowed header (alg, enc, zip).",
    advice:
      "The row was damaged or written by something else: save the account's API key and webhook key again on its settings page.",
  },
  ERR_MK_CRYPTO_UNKNOWN_KEY: {
    summary: "A stored secret was encrypted with a key id (`kid`) that is not in the configured key set.",
    advice:
      "Add the missing key back to the key set (decrypt-only), run mandrill-kit keys rotate, and remove old keys only after a rotation has finished.",
  },
  ERR_MK_CRYPTO_WRONG_BINDING: {
    summary: "A stored secret belongs to another account or field (a ciphertext was copied between rows).",
    advice:
      "Treat it as tampering: check who can write to the database, then save the account's secrets again.",
  },
  ERR_MK_CRYPTO_DECRYPT_FAILED: {
    summary:
      "A stored secret failed authenticated decryption: it was altered, or the key with its `kid` is not the one that encrypted it.",
    advice:
      "Check the key set is the one the data was written with; if it is, the row was tampered with — save the secrets again.",
  },
  ERR_MK_NOT_CONFIGURED: {
    summary:
      "The account has no Mandrill settings, or lacks what this operation needs (an API key, a webhook key).",
    advice: "Open Settings → Integrate Email → Mandrill for the account and save the missing fields.",
  },
  ERR_MK_MANDRILL_API: {
    summary:
      "Mandrill answered with an error (`name` carries Mandrill's error name, e.g. Invalid_Key, ValidationError).",
    advice:
      "Follow the hint that comes with the error: it says in plain words what Mandrill's answer means and what to change.",
  },
  ERR_MK_TRANSPORT_FAILED: {
    summary:
      "Mandrill could not be reached or did not answer (DNS, refused or reset connection, timeout, TLS, SMTP failure).",
    advice:
      "Check that this server can reach Mandrill: a firewall or the ISP often blocks SMTP ports, so try port 2525 or 465, or the HTTP API (the kit has already retried what was safe to retry).",
  },
  ERR_MK_NETWORK_REFUSED: {
    summary:
      "The kit refused to connect: the host is (or resolves to) a loopback, private, link-local or other non-public address, or the SMTP port is not allowed.",
    advice:
      "Set the Host to smtp.mandrillapp.com and the Port to 587, 2525, 25 or 465; a relay on a private network can only be allowed by the server's operator (the sender's network option), never from account settings.",
  },
  ERR_MK_SEND_REJECTED: {
    summary:
      "Mandrill rejected every recipient of a send (`result` holds each recipient's status and reason).",
    advice:
      "Read the reason given for each recipient: unsigned or invalid-sender means the From address or its domain must be fixed in Mandrill; any other reason means that address must not be mailed.",
  },
  ERR_MK_UNSUBSCRIBE_INVALID: {
    summary: "An unsubscribe link's token is malformed, forged, or for another account.",
    advice:
      "Nothing to fix on the server: the link was altered or truncated. The person can reply to the email to unsubscribe.",
  },
  ERR_MK_SETTINGS_BODY_CONSUMED: {
    summary:
      "A JSON request reached `mandrillSettings()` after another middleware had read its body without parsing it as JSON, so the settings in it are gone.",
    advice:
      'Mount `mandrillSettings()` before the middleware that reads the body (a parser configured for every content type, such as `express.urlencoded({ type: "*/*" })`, or one that reads the stream itself), or mount `express.json()` before it. The router reads its own JSON otherwise.',
  },
  ERR_MK_UNSUBSCRIBE_EXPIRED: {
    summary: "An unsubscribe link is older than the accepted window (`maxAgeMs`, one year by default).",
    advice:
      "Nothing to fix on the server: the person can use the link in a recent email, or reply to unsubscribe (a host that must honour older links raises the unsubscribe router's maximum age).",
  },
  ERR_MK_FORBIDDEN: {
    summary: "The host's authorisation hook refused this request.",
    advice: "Sign in as a user allowed to manage this account's email settings.",
  },
  ERR_MK_INTERNAL: {
    summary: "An unexpected error inside a kit router; the response hides its details.",
    advice: "Read the server log (the kit logs the error with its account) and report it if it persists.",
  },
  ERR_MK_TESTING_TIMEOUT: {
    summary:
      "`eventually()` from `@mandrill-kit/core/testing` gave up: its condition did not hold within the timeout.",
    advice:
      "The message names the condition (`what`). Look for why the outcome never happened; raise `timeoutMs` only for a slow machine.",
  },
  ERR_MK_NOT_FOUND: {
    summary: "The account, record or event named does not exist.",
    advice: "Check the id; list the existing ones to find the right one.",
  },
  ERR_MK_DENYLIST_EXPORT_FAILED: {
    summary:
      "Mandrill's export of the denylist or allowlist ended in error, expired, or did not complete before the sync's deadline.",
    advice:
      "Nothing was changed: the suppression list is as it was. Run the sync again later, and check Mandrill's status page if exports keep failing (a very long list needs a longer sync deadline).",
  },
  ERR_MK_DENYLIST_EXPORT_INVALID: {
    summary:
      "The denylist or allowlist read from Mandrill could not be used: a cut-off or damaged zip, a missing column, a bad address or date (the message names the line).",
    advice:
      "Nothing was changed: the suppression list is as it was. Run the sync again (a download cut off in transit succeeds next time); if the same line keeps failing, report the export format to the kit.",
  },
} as const satisfies Record<string, { summary: string; advice: string }>;

/** A stable mandrill-kit error code, `ERR_MK_<AREA>_<REASON>`. */
export type ErrorCode = keyof typeof ERROR_CODES;

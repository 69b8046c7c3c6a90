/**
 * Numbered schema migrations. Each runs once, in its own IMMEDIATE transaction, and is recorded in
 * `mk_migrations`. Never edit a published migration: add the next number.
 */
import type { Migration } from "@mandrill-kit/core/adapter";

export type { Migration };

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial schema: credentials, suppressions, inbox, quarantine, sends",
    sql: `
      CREATE TABLE credentials (
        account    TEXT    NOT NULL PRIMARY KEY,
        version    INTEGER NOT NULL,
        settings   TEXT    NOT NULL,
        secrets    TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;

      -- One row per account and normalised address: check() is one primary-key probe per address.
      CREATE TABLE suppressions (
        account     TEXT    NOT NULL,
        email       TEXT    NOT NULL,
        reason      TEXT    NOT NULL,
        source      TEXT    NOT NULL,
        detail      TEXT,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        expires_at  INTEGER,
        lifted_at   INTEGER,
        lifted_by   TEXT,
        lift_reason TEXT,
        PRIMARY KEY (account, email)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE inbox (
        seq             INTEGER PRIMARY KEY,
        account         TEXT    NOT NULL,
        key             TEXT    NOT NULL,
        type            TEXT    NOT NULL,
        email           TEXT,
        message_id      TEXT,
        event_at        INTEGER,
        raw             TEXT    NOT NULL,
        received_at     INTEGER NOT NULL,
        state           TEXT    NOT NULL,
        attempts        INTEGER NOT NULL,
        next_attempt_at INTEGER,
        lease_until     INTEGER,
        last_error      TEXT,
        completed_at    INTEGER,
        UNIQUE (account, key)
      ) STRICT;
      CREATE INDEX inbox_account ON inbox (account, seq);
      CREATE INDEX inbox_due ON inbox (next_attempt_at, seq) WHERE state = 'pending';
      CREATE INDEX inbox_soft_bounces ON inbox (account, email, event_at) WHERE type = 'soft_bounce';

      CREATE TABLE quarantine (
        id          INTEGER PRIMARY KEY,
        account     TEXT    NOT NULL,
        received_at INTEGER NOT NULL,
        body        TEXT    NOT NULL,
        error       TEXT    NOT NULL
      ) STRICT;
      CREATE INDEX quarantine_account ON quarantine (account, id);

      CREATE TABLE sends (
        seq            INTEGER PRIMARY KEY,
        account        TEXT    NOT NULL,
        email          TEXT    NOT NULL,
        status         TEXT    NOT NULL,
        message_id     TEXT,
        reject_reason  TEXT,
        transport      TEXT    NOT NULL,
        correlation_id TEXT,
        subject        TEXT,
        at             INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX sends_message_id ON sends (message_id) WHERE message_id IS NOT NULL;
      CREATE INDEX sends_account ON sends (account, seq);
      CREATE INDEX sends_account_email ON sends (account, email, seq);
    `,
  },
  {
    version: 2,
    name: "suppressions.check probes a narrow index of active entries, address first",
    // Most addresses a check is asked about are not suppressed. This index answers "no" from entries
    // a third the size of a table row (so more of them per page and a shallower tree), and with the
    // address as the first column almost every comparison in the descent is decided by it (with the
    // account first, every comparison starts with an equal account). Only hits read the table row.
    sql: `
      CREATE INDEX suppressions_active_by_email ON suppressions (email, account, expires_at)
        WHERE lifted_at IS NULL;
    `,
  },
  {
    version: 3,
    name: "Mandrill denylist sync: staged runs (the applied one mirrors Mandrill's lists) and each account's last run",
    sql: `
      CREATE TABLE mandrill_rows (
        account    TEXT    NOT NULL,
        run        TEXT    NOT NULL,
        list       TEXT    NOT NULL,
        email      TEXT    NOT NULL,
        reason     TEXT    NOT NULL,
        detail     TEXT,
        expires_at INTEGER,
        changed_at INTEGER NOT NULL,
        PRIMARY KEY (account, run, email, list)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE mandrill_sync_runs (
        account   TEXT    NOT NULL PRIMARY KEY,
        run       TEXT    NOT NULL,
        synced_at INTEGER NOT NULL,
        counts    TEXT    NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 4,
    name: "dead-lettered events counted from a partial index (backlog gauges)",
    // Dead events are rare, so this index stays small and an insert of any other state never touches it.
    sql: `
      CREATE INDEX inbox_dead ON inbox (account) WHERE state = 'dead';
    `,
  },
  {
    version: 5,
    name: "dispatch queue apart from the events: inbox_pending (claims, leases) and inbox_done (completions)",
    // The layout of core's adapter/inbox-queue.ts (as PostgreSQL's migrations 4 and 5): an event row
    // (~1 kB with its raw JSON) is written once; queuing, claiming and completing it touch only these
    // narrow rows, a few pages per batch instead of one page per event. Pending events move to the
    // queue here, leases and attempts included; their due time is kept in inbox.due_at. The columns
    // next_attempt_at and lease_until of inbox are renamed retired_* (dropping a column rewrites the
    // whole table; renaming one only edits the schema): every inbox write of an older version of this
    // package names them, so a process still running one (another process on the file) fails on its
    // next write, rather than store events no newer process would dispatch or mark events done behind
    // the queue's back. It was refused on open already (ERR_MK_STORE_SCHEMA_TOO_NEW).
    sql: `
      CREATE TABLE inbox_pending (
        next_attempt_at INTEGER NOT NULL,
        seq             INTEGER NOT NULL,
        account         TEXT    NOT NULL,
        type            TEXT    NOT NULL,
        lease_until     INTEGER,
        attempts        INTEGER NOT NULL,
        PRIMARY KEY (next_attempt_at, seq)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE inbox_done (
        seq          INTEGER PRIMARY KEY,
        attempts     INTEGER NOT NULL,
        completed_at INTEGER NOT NULL
      ) STRICT;

      ALTER TABLE inbox ADD COLUMN due_at INTEGER;
      INSERT INTO inbox_pending (next_attempt_at, seq, account, type, lease_until, attempts)
        SELECT coalesce(next_attempt_at, received_at), seq, account, type, lease_until, attempts
        FROM inbox WHERE state = 'pending';
      UPDATE inbox SET state = 'queued', due_at = coalesce(next_attempt_at, received_at),
                       next_attempt_at = NULL, lease_until = NULL
        WHERE state = 'pending';
      DROP INDEX inbox_due;
      ALTER TABLE inbox RENAME COLUMN next_attempt_at TO retired_next_attempt_at;
      ALTER TABLE inbox RENAME COLUMN lease_until TO retired_lease_until;

      -- An event deleted (a host's retention job) takes its queue rows with it: inbox.seq values are
      -- reused after the newest rows are deleted, and a new event must not inherit an old lease or
      -- completion.
      CREATE TRIGGER inbox_deleted AFTER DELETE ON inbox BEGIN
        DELETE FROM inbox_pending WHERE next_attempt_at = OLD.due_at AND seq = OLD.seq;
        DELETE FROM inbox_done WHERE seq = OLD.seq;
      END;
    `,
  },
  {
    version: 6,
    name: "pending events listed from the queue: inbox_pending by (account, seq)",
    // inbox.list({ state: "pending" }) reads an account's queue rows newest first from this index,
    // instead of walking all the account's events (core's queuedListSql). It costs one index entry per
    // queued event (the events handlers want, a few percent of a typical mix). A process of the
    // previous version already running on the file keeps working (its queue writes maintain the
    // index); one started later refuses the newer schema. Claims never use this index (queue.ts).
    sql: `
      CREATE INDEX inbox_pending_account ON inbox_pending (account, seq);
    `,
  },
];

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
];

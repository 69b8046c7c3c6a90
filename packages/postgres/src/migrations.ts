/**
 * Numbered schema migrations. `SCHEMA` stands for the quoted schema name. All pending ones run in one
 * transaction holding a transaction-level advisory lock, and each is recorded in `mk_migrations`.
 * Never edit a published migration: add the next number.
 */
import type { Migration } from "@mandrill-kit/core/adapter";

export type { Migration };

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial schema: credentials, suppressions, inbox, quarantine, sends",
    // Text keys use the "C" collation so paging order and cursor comparisons are bytewise, as in SQLite,
    // whatever the database's default collation. Times are epoch milliseconds (BIGINT).
    sql: `
      CREATE TABLE SCHEMA.credentials (
        account    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        version    INTEGER NOT NULL,
        settings   TEXT    NOT NULL,
        secrets    TEXT    NOT NULL,
        created_at BIGINT  NOT NULL,
        updated_at BIGINT  NOT NULL
      );

      CREATE TABLE SCHEMA.suppressions (
        account     TEXT COLLATE "C" NOT NULL,
        email       TEXT COLLATE "C" NOT NULL,
        reason      TEXT   NOT NULL,
        source      TEXT   NOT NULL,
        detail      TEXT,
        created_at  BIGINT NOT NULL,
        updated_at  BIGINT NOT NULL,
        expires_at  BIGINT,
        lifted_at   BIGINT,
        lifted_by   TEXT,
        lift_reason TEXT,
        PRIMARY KEY (account, email)
      );

      CREATE TABLE SCHEMA.inbox (
        seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account         TEXT COLLATE "C" NOT NULL,
        key             TEXT COLLATE "C" NOT NULL,
        type            TEXT   NOT NULL,
        email           TEXT COLLATE "C",
        message_id      TEXT,
        event_at        BIGINT,
        raw             TEXT   NOT NULL,
        received_at     BIGINT NOT NULL,
        state           TEXT   NOT NULL,
        attempts        INTEGER NOT NULL,
        next_attempt_at BIGINT,
        lease_until     BIGINT,
        last_error      TEXT,
        completed_at    BIGINT,
        UNIQUE (account, key)
      );
      CREATE INDEX inbox_account ON SCHEMA.inbox (account, seq);
      CREATE INDEX inbox_due ON SCHEMA.inbox (next_attempt_at, seq) WHERE state = 'pending';
      CREATE INDEX inbox_soft_bounces ON SCHEMA.inbox (account, email, event_at) WHERE type = 'soft_bounce';

      CREATE TABLE SCHEMA.quarantine (
        id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account     TEXT COLLATE "C" NOT NULL,
        received_at BIGINT NOT NULL,
        body        TEXT   NOT NULL,
        error       TEXT   NOT NULL
      );
      CREATE INDEX quarantine_account ON SCHEMA.quarantine (account, id);

      CREATE TABLE SCHEMA.sends (
        seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account        TEXT COLLATE "C" NOT NULL,
        email          TEXT COLLATE "C" NOT NULL,
        status         TEXT   NOT NULL,
        message_id     TEXT,
        reject_reason  TEXT,
        transport      TEXT   NOT NULL,
        correlation_id TEXT,
        subject        TEXT,
        at             BIGINT NOT NULL
      );
      CREATE INDEX sends_message_id ON SCHEMA.sends (message_id) WHERE message_id IS NOT NULL;
      CREATE INDEX sends_account ON SCHEMA.sends (account, seq);
      CREATE INDEX sends_account_email ON SCHEMA.sends (account, email, seq);
    `,
  },
  {
    version: 2,
    name: "Mandrill denylist sync: staged runs (the applied one mirrors Mandrill's lists) and each account's last run",
    sql: `
      CREATE TABLE SCHEMA.mandrill_rows (
        account    TEXT COLLATE "C" NOT NULL,
        run        TEXT COLLATE "C" NOT NULL,
        list       TEXT COLLATE "C" NOT NULL,
        email      TEXT COLLATE "C" NOT NULL,
        reason     TEXT   NOT NULL,
        detail     TEXT,
        expires_at BIGINT,
        changed_at BIGINT NOT NULL,
        PRIMARY KEY (account, run, email, list)
      );

      CREATE TABLE SCHEMA.mandrill_sync_runs (
        account   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        run       TEXT   NOT NULL,
        synced_at BIGINT NOT NULL,
        counts    TEXT   NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: "dead-lettered events counted from a partial index (backlog gauges)",
    // Dead events are rare, so this index stays small and an insert of any other state never touches it.
    sql: `
      CREATE INDEX inbox_dead ON SCHEMA.inbox (account) WHERE state = 'dead';
    `,
  },
];

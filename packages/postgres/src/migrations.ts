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
  {
    version: 4,
    name: "dispatch queue apart from the events: inbox_pending (claims, leases) and inbox_done (completions)",
    // An event row (~1 kB with its raw JSON, 3 index entries) is written once: queuing, claiming and
    // completing it touch only these narrow rows. `inbox.state = 'queued'` means "see the queue": the
    // event is pending while it has an inbox_pending row, else done as its inbox_done row says.
    // 'done' (stored done, or completed after being dead) and 'dead' rows keep their state in inbox,
    // as before (due time and lease only ever mattered to pending events: those columns move to the
    // queue, and an instance of an older version fails on this schema rather than queue events that no
    // newer one would see). Pending events move to the queue here, leases and attempts included. The
    // TRUNCATE trigger empties the queue with the events (inbox seq values restart with RESTART IDENTITY).
    sql: `
      CREATE TABLE SCHEMA.inbox_pending (
        seq             BIGINT  NOT NULL PRIMARY KEY,
        account         TEXT COLLATE "C" NOT NULL,
        type            TEXT    NOT NULL,
        next_attempt_at BIGINT  NOT NULL,
        lease_until     BIGINT,
        attempts        INTEGER NOT NULL
      );
      CREATE INDEX inbox_pending_due ON SCHEMA.inbox_pending (next_attempt_at, seq);

      CREATE TABLE SCHEMA.inbox_done (
        seq          BIGINT  NOT NULL PRIMARY KEY,
        attempts     INTEGER NOT NULL,
        completed_at BIGINT  NOT NULL
      );

      INSERT INTO SCHEMA.inbox_pending (seq, account, type, next_attempt_at, lease_until, attempts)
        SELECT seq, account, type, coalesce(next_attempt_at, received_at), lease_until, attempts
        FROM SCHEMA.inbox WHERE state = 'pending';
      UPDATE SCHEMA.inbox SET state = 'queued' WHERE state = 'pending';
      DROP INDEX SCHEMA.inbox_due;
      ALTER TABLE SCHEMA.inbox DROP COLUMN next_attempt_at, DROP COLUMN lease_until;

      CREATE FUNCTION SCHEMA.inbox_truncated() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        EXECUTE format('TRUNCATE %I.inbox_pending, %I.inbox_done', TG_TABLE_SCHEMA, TG_TABLE_SCHEMA);
        RETURN NULL;
      END
      $fn$;
      CREATE TRIGGER inbox_truncated AFTER TRUNCATE ON SCHEMA.inbox
        FOR EACH STATEMENT EXECUTE FUNCTION SCHEMA.inbox_truncated();
    `,
  },
  {
    version: 5,
    name: "the dispatch queue keyed by due time alone: one index per queued event instead of two",
    // inbox_pending's primary key becomes its claim order (next_attempt_at, seq), and the event row
    // keeps the due time its queue row is filed under (inbox.due_at, written when the event is queued:
    // at ingest, and by fail/replay, which rewrite the row anyway) to find it.
    sql: `
      ALTER TABLE SCHEMA.inbox ADD COLUMN due_at BIGINT;
      UPDATE SCHEMA.inbox i SET due_at = p.next_attempt_at FROM SCHEMA.inbox_pending p WHERE p.seq = i.seq;
      ALTER TABLE SCHEMA.inbox_pending DROP CONSTRAINT inbox_pending_pkey;
      DROP INDEX SCHEMA.inbox_pending_due;
      ALTER TABLE SCHEMA.inbox_pending ADD PRIMARY KEY (next_attempt_at, seq);
    `,
  },
  {
    version: 6,
    name: "events keyed by (account, seq): one index fewer for every stored event",
    // The primary key (seq) and the index inbox_account (account, seq), both written for every event,
    // become one primary key (account, seq): every statement that finds an event by its seq also names
    // its account (claims take it from the queue row, which has it). Building the key reads the table
    // once, holding its lock meanwhile.
    sql: `
      ALTER TABLE SCHEMA.inbox DROP CONSTRAINT inbox_pkey, ADD CONSTRAINT inbox_pkey PRIMARY KEY (account, seq);
      DROP INDEX SCHEMA.inbox_account;
    `,
  },
  {
    version: 7,
    name: "pending events listed from the queue: inbox_pending by (account, seq)",
    // inbox.list({ state: "pending" }) reads an account's queue rows newest first from this index,
    // instead of walking all the account's events (core's queuedListSql). It costs one index entry per
    // queued event (the events handlers want, a few percent of a typical mix). Instances of the
    // previous version already running keep working (their queue writes maintain the index); one
    // started later refuses the newer schema. Building it locks writes to inbox_pending until commit.
    sql: `
      CREATE INDEX inbox_pending_account ON SCHEMA.inbox_pending (account, seq);
    `,
  },
];

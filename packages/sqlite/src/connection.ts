/**
 * The one better-sqlite3 connection a store owns: how it is opened (pragmas), and what every
 * repository of the store shares through {@link SqliteContext}.
 */
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { storeFailed } from "@mandrill-kit/core/adapter";
import type { ComponentLogger } from "@mandrill-kit/core/plugin";
import Database from "better-sqlite3";
import { type Checkpointer, INLINE_PAGES, inlineCheckpoints } from "./checkpointer.js";
import type { ResolvedSqliteOptions } from "./options.js";
import type { WalSync } from "./wal-sync.js";

/** What the repositories of one store share. */
export interface SqliteContext {
  readonly db: Database.Database;
  readonly filename: string;
  /** Runs `fn` (synchronously) unless the store is closed, mapping driver errors to store errors. */
  run<T>(what: string, fn: () => T): Promise<T>;
  /** Runs `fn` as bookkeeping: its commits skip the fsync (see {@link bookkeeping}). */
  bookkeeping<T>(fn: () => T): T;
  /** Purges earlier versions of rewritten secrets from the files: see {@link purgeRetiredPages}. */
  readonly retiredPages: RetiredPagesPurge;
  /** WAL checkpoints off the committing thread (see checkpointer.ts). */
  readonly checkpointer: Checkpointer;
  /** Durable commits whose fsync waits off the event loop (see wal-sync.ts). */
  readonly walSync: WalSync;
}

/** Whether `filename` names a file on disk (not `:memory:` or a `file:` URI). */
export function isOnDisk(filename: string): boolean {
  return filename !== ":memory:" && !filename.startsWith("file:");
}

/**
 * Opens the connection: WAL journal, `synchronous=FULL` so an acknowledged write survives power loss,
 * a busy timeout so several processes can share the file, and `secure_delete` so content a write
 * replaces or deletes (a rotated-away ciphertext) is overwritten with zeros instead of lingering in
 * free space. Throws `ERR_MK_STORE_FAILED` when the file cannot be opened.
 */
export function openDatabase(config: ResolvedSqliteOptions): Database.Database {
  let db: Database.Database | undefined;
  try {
    let created = false;
    if (isOnDisk(config.filename)) {
      // The file holds ciphertexts, addresses and webhook payloads: private to the service's user.
      mkdirSync(dirname(config.filename), { recursive: true, mode: 0o700 });
      created = !existsSync(config.filename);
    }
    db = new Database(config.filename, { timeout: config.busyTimeoutMs });
    if (created) chmodSync(config.filename, 0o600);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    db.pragma("secure_delete = ON");
    db.pragma(`busy_timeout = ${config.busyTimeoutMs}`);
    db.pragma(`cache_size = ${-Math.floor(config.cacheSizeBytes / 1024)}`);
    // Webhook ingest writes ~1 MB of WAL per 1,000-event batch; checkpointing every 16 MB instead of
    // SQLite's default 4 MB means fewer fsyncs of the main file and pages rewritten once, not often.
    db.pragma(`wal_autocheckpoint = ${INLINE_PAGES}`);
    return db;
  } catch (error) {
    db?.close();
    throw storeFailed(
      `Could not open the SQLite database ${JSON.stringify(config.filename)}: ${(error as Error).message}`,
      error,
    );
  }
}

/**
 * Bookkeeping commits without an fsync (synchronous=NORMAL for that transaction): handler claims,
 * done/retry/dead marks (losing the last of these to a power cut only means a handler runs again,
 * which at-least-once allows) and send records (the mail is already out). Acknowledged webhook
 * events, suppressions and credentials always commit with synchronous=FULL.
 */
export function bookkeeping(db: Database.Database, filename: string): <T>(fn: () => T) => T {
  if (filename === ":memory:") return (fn) => fn();
  const syncNormal = db.prepare("PRAGMA synchronous = NORMAL");
  const syncFull = db.prepare("PRAGMA synchronous = FULL");
  return (fn) => {
    syncNormal.run();
    try {
      return fn();
    } finally {
      syncFull.run();
    }
  };
}

/** The purge of {@link purgeRetiredPages}. */
export interface RetiredPagesPurge {
  /** Checkpoints with `TRUNCATE`; when another connection's read prevents it, the purge stays due. */
  purge(): void;
  /** Tries again if a purge is still due (after any later call of the store, and on close). */
  retryIfDue(): void;
}

/**
 * After secrets are rewritten (key rotation, a new API key, a deleted account), no earlier version
 * of them may stay readable in the files. `secure_delete` zeroes what the write replaced in the
 * database pages, but in WAL mode the earlier versions of those pages are still frames of the `-wal`
 * file, and the main file keeps its old copy of each page until a checkpoint overwrites it. A
 * `TRUNCATE` checkpoint does both: it copies every frame into the main file and empties the WAL.
 *
 * It cannot finish while another connection (another process) is reading an older snapshot and
 * outlasts the busy timeout; the purge then stays due and is tried again after each later call.
 */
export function purgeRetiredPages(
  db: Database.Database,
  log: ComponentLogger,
  background: Pick<Checkpointer, "waitIdle"> = inlineCheckpoints,
): RetiredPagesPurge {
  let due = false;
  // A no-op answering busy = 0 on a database without WAL (":memory:").
  const checkpoint = db.prepare("PRAGMA wal_checkpoint(TRUNCATE)");
  const truncate = (): boolean => {
    const [result] = checkpoint.all() as { busy: number }[];
    return result?.busy !== 0;
  };
  const purge = (): void => {
    let busy = truncate();
    // The store's own checkpoint thread holds the checkpoint lock for a moment: wait for it, not
    // for the next store call (another process's reader is what may keep the purge due).
    for (let attempt = 0; busy && attempt < 3 && background.waitIdle(2000); attempt++) busy = truncate();
    const wasDue = due;
    due = busy;
    if (due && !wasDue) {
      log.warn(
        {},
        "another connection is reading: rewritten secrets stay in the WAL until the checkpoint that empties it succeeds (retried after each store call)",
      );
    }
  };
  return {
    purge,
    retryIfDue() {
      if (!due) return;
      try {
        purge();
      } catch (error) {
        log.warn(
          { error: (error as Error).message },
          "checkpoint to purge rewritten secrets failed; retried later",
        );
      }
    },
  };
}

/**
 * Group commit for acknowledged writes: the fsync of the WAL off the event loop.
 *
 * better-sqlite3 is synchronous, so with `synchronous=FULL` every commit of a webhook batch blocks
 * the event loop in `fdatasync` of the `-wal` file (~3 ms after appending ~1 MB), and nothing else
 * (reading the next request, answering the previous one) runs meanwhile. Here a durable commit runs
 * with `synchronous=NORMAL` instead — SQLite writes the transaction's frames into the WAL (`write()`,
 * so a killed process loses nothing) but does not fsync them — and the caller then awaits
 * the `durable()` of {@link WalSync.commit}: an `fdatasync` of the same `-wal` file on libuv's thread pool. Only once that
 * has returned is the write acknowledged, so the guarantee is the one of `synchronous=FULL` (a power
 * cut after the answer keeps the batch); the wait just no longer holds the event loop. A process
 * killed before the fdatasync returned loses nothing either: the frames were written.
 *
 * Commits that land while an fdatasync is in flight share the next one (group commit): one fsync
 * covers every batch committed before it started. Where the `-wal` file cannot be opened (not on
 * disk, not created yet) or after an fdatasync failed, commits fall back to SQLite's own fsync
 * (`synchronous=FULL`), as before.
 */
import { closeSync, fdatasync, fstatSync, openSync, statSync } from "node:fs";
import { storeFailed } from "@mandrill-kit/core/adapter";
import type Database from "better-sqlite3";

/** How the WAL file is synced (tests swap it to delay or fail an fdatasync). */
export const walSyncCalls = {
  fdatasync: (fd: number, done: (error: NodeJS.ErrnoException | null) => void): void => fdatasync(fd, done),
};

export interface WalSync {
  /**
   * Runs `commit` (one write transaction) so that its data is durable once the returned `durable()`
   * resolves: with `synchronous=NORMAL` and a group fdatasync of the WAL when the `-wal` file is
   * open, else with SQLite's own fsync (`durable()` then resolves at once).
   */
  commit<T>(commit: () => T): { result: T; durable(): Promise<void> };
  /** Waits for the fdatasync in flight, then closes the file (before the connection closes). */
  close(): Promise<void>;
}

/** A WalSync that always lets SQLite fsync (`:memory:`, files not on disk). */
export const inlineWalSync: WalSync = {
  commit: (commit) => ({ result: commit(), durable: () => Promise.resolve() }),
  close: async () => {},
};

export function walSync(db: Database.Database, filename: string): WalSync {
  const walPath = `${filename}-wal`;
  const syncNormal = db.prepare("PRAGMA synchronous = NORMAL");
  const syncFull = db.prepare("PRAGMA synchronous = FULL");
  let fd: number | undefined;
  let ino = 0;
  let failed = false;
  let closed = false;
  /** The fdatasync in flight, and the one that waits for it (shared by the commits made meanwhile). */
  let inFlight: Promise<void> | undefined;
  let next: Promise<void> | undefined;

  const closeFile = () => {
    if (fd === undefined) return;
    const open = fd;
    fd = undefined;
    try {
      closeSync(open);
    } catch {
      // Nothing to do: the descriptor is gone either way.
    }
  };

  /** The `-wal` file's descriptor, (re)opened when the file was replaced; undefined when absent. */
  const walFile = (): number | undefined => {
    if (failed || closed) return undefined;
    try {
      const current = statSync(walPath).ino;
      if (fd !== undefined && current === ino) return fd;
      closeFile();
      const opened = openSync(walPath, "r");
      ino = fstatSync(opened).ino;
      fd = opened;
      return ino === current ? fd : undefined;
    } catch {
      closeFile();
      return undefined;
    }
  };

  const flush = (file: number): Promise<void> =>
    new Promise((resolve, reject) => {
      walSyncCalls.fdatasync(file, (error) => {
        if (error === null) resolve();
        else {
          // Fall back to SQLite's own fsync from now on (it will report a broken disk itself).
          failed = true;
          reject(error);
        }
      });
    });

  /** Resolves once an fdatasync that started after this call has returned. */
  const sync = (file: number): Promise<void> => {
    if (inFlight === undefined) {
      const started = flush(file).finally(() => {
        if (inFlight === started) inFlight = undefined;
      });
      inFlight = started;
      return started;
    }
    // The fdatasync in flight may have started before this commit wrote its frames: wait for the next.
    next ??= inFlight
      .catch(() => undefined)
      .then(() => {
        next = undefined;
        // After a failed fdatasync the kernel may have dropped the dirty pages it could not write, and
        // a later one can succeed without them: no commit waiting here is acknowledged.
        if (failed)
          return Promise.reject(storeFailed(`an earlier fdatasync of ${walPath} failed`, undefined));
        // The descriptor now open (the same unless the `-wal` file was replaced meanwhile).
        if (fd === undefined)
          return Promise.reject(storeFailed(`${walPath} is not open any more`, undefined));
        return sync(fd);
      });
    return next;
  };

  return {
    commit(commit) {
      const file = walFile();
      if (file === undefined) return { result: commit(), durable: () => Promise.resolve() };
      syncNormal.run();
      let result: ReturnType<typeof commit>;
      try {
        result = commit();
      } finally {
        syncFull.run();
      }
      const durable = sync(file);
      // Awaited by the caller; a rejection not yet awaited must not count as unhandled.
      durable.catch(() => undefined);
      return { result, durable: () => durable };
    },
    async close() {
      closed = true;
      while (inFlight !== undefined || next !== undefined) await (next ?? inFlight)?.catch(() => undefined);
      closeFile();
    },
  };
}

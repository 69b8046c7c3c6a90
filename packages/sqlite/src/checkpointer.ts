/**
 * WAL checkpoints in a background thread, off the thread that commits.
 *
 * In WAL mode every commit appends pages to the `-wal` file; a checkpoint copies them into the
 * database file (and fsyncs it). SQLite runs one inline, inside the commit that crosses
 * `wal_autocheckpoint` pages: under webhook ingest (~1 MB of WAL per 1,000-event batch) that is one
 * batch in ~16 blocked for the copy of 16 MB and an fsync of the database file, on the event loop.
 *
 * Here, once the store has ingested about {@link NUDGE_BYTES} of events, it asks a worker thread
 * holding its own connection to run a PASSIVE checkpoint (which never blocks the writer). The inline
 * autocheckpoint stays as the backstop (other writes, a thread that could not start or falls
 * behind). Durability does not change: each commit is still fsynced to the WAL before it returns, and
 * a checkpoint only moves committed pages.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { ComponentLogger } from "@mandrill-kit/core/plugin";

/** Ingested event bytes between two checkpoint requests (~1,000 WAL pages of 4 KiB). */
export const NUDGE_BYTES = 4 * 1024 * 1024;
/** `wal_autocheckpoint` without the thread: 16 MB of WAL (see connection.ts). */
export const INLINE_PAGES = 4000;
/** `wal_autocheckpoint` while the thread runs: 64 MB of WAL before a commit checkpoints inline. */
export const BACKSTOP_PAGES = 16000;

/**
 * The thread's code (CommonJS, evaluated: no file to ship or bundle beside the store's). Shared
 * counters: [0] 1 while it checkpoints, [1] checkpoints asked for, [2] checkpoints done. A message
 * wakes it; requests that piled up while it was busy are served by one checkpoint.
 */
const THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.filename, { fileMustExist: true, timeout: workerData.busyTimeoutMs });
db.pragma("synchronous = FULL");
db.pragma("wal_autocheckpoint = 0");
const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
const shared = new Int32Array(workerData.shared);
let served = 0;
parentPort.on("message", (message) => {
  if (message === "close") {
    db.close();
    parentPort.close();
    return;
  }
  const asked = Atomics.load(shared, 1);
  if (asked === served) return;
  served = asked;
  Atomics.store(shared, 0, 1);
  try {
    checkpoint.all();
    Atomics.add(shared, 2, 1);
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.message) || error) });
  } finally {
    Atomics.store(shared, 0, 0);
    Atomics.notify(shared, 0);
  }
});
`;

/** A store's background checkpointer (see the module comment). */
export interface Checkpointer {
  /** Counts ingested bytes; past {@link NUDGE_BYTES} asks the thread (started on first need) to checkpoint. */
  ingested(bytes: number): void;
  /**
   * Waits (blocking, at most `timeoutMs`) while the thread is inside a checkpoint; true if it was.
   * A checkpoint of this connection that needs the checkpoint lock (`TRUNCATE`) calls it on BUSY.
   */
  waitIdle(timeoutMs: number): boolean;
  /** Checkpoints done by the thread so far. */
  readonly checkpoints: number;
  /** Stops the thread (after the checkpoint it is in); resolves once it exited. */
  close(): Promise<void>;
}

/** A checkpointer that never starts a thread (`:memory:`, or `backgroundCheckpoints: false`). */
export const inlineCheckpoints: Checkpointer = {
  ingested() {},
  waitIdle: () => false,
  checkpoints: 0,
  close: async () => {},
};

/** What the store uses of a checkpoint thread (a `node:worker_threads` Worker). */
export interface CheckpointThread {
  postMessage(message: string): void;
  on(event: "message" | "error", listener: (value: unknown) => void): unknown;
  once(event: "exit", listener: (code: number) => void): unknown;
  unref(): void;
  terminate(): Promise<number>;
}

/** How checkpoint threads are started (tests swap it to make one fail). */
export const checkpointThreads = {
  spawn: (workerData: Record<string, unknown>): CheckpointThread =>
    new Worker(THREAD, { eval: true, workerData }),
};

export function backgroundCheckpointer(options: {
  filename: string;
  busyTimeoutMs: number;
  log: ComponentLogger;
  /** Sets the committing connection's `wal_autocheckpoint` (pages). */
  autocheckpoint: (pages: number) => void;
}): Checkpointer {
  const shared = new Int32Array(new SharedArrayBuffer(12));
  let worker: CheckpointThread | undefined;
  let failed = false;
  let closed = false;
  let pending = 0;
  let exited: Promise<void> = Promise.resolve();

  const fail = (error: unknown): void => {
    if (failed || closed) return;
    failed = true;
    // The inline autocheckpoint goes on as before: slower commits now and then, nothing lost.
    options.autocheckpoint(INLINE_PAGES);
    options.log.warn(
      { error: error instanceof Error ? error.message : String(error) },
      "the background checkpoint thread stopped; WAL checkpoints run inline again",
    );
    void worker?.terminate();
    worker = undefined;
  };

  const start = (): CheckpointThread | undefined => {
    try {
      const driver = createRequire(import.meta.url).resolve("better-sqlite3");
      const thread = checkpointThreads.spawn({
        driver,
        filename: options.filename,
        busyTimeoutMs: options.busyTimeoutMs,
        shared: shared.buffer,
      });
      thread.on("message", (m) => {
        const { error } = m as { error?: string };
        options.log.debug({ error }, "a background checkpoint failed; the next one retries");
      });
      thread.on("error", fail);
      exited = new Promise((resolve) => thread.once("exit", () => resolve()));
      thread.once("exit", (code) => {
        if (!closed) fail(`it exited (code ${code})`);
      });
      // After the listeners: adding a "message" listener to an unref'd worker refs it again.
      thread.unref();
      return thread;
    } catch (error) {
      fail(error);
      return undefined;
    }
  };

  return {
    ingested(bytes) {
      if (failed || closed) return;
      // Started on the first ingest, so it has loaded by the time a checkpoint is due.
      if (worker === undefined) {
        worker = start();
        // The inline checkpoint only as a backstop (the thread stopped or fell far behind): a writer
        // can restart the WAL from its beginning only once the thread has copied every frame.
        if (worker !== undefined) options.autocheckpoint(BACKSTOP_PAGES);
      }
      pending += bytes;
      if (pending < NUDGE_BYTES || worker === undefined) return;
      pending = 0;
      Atomics.add(shared, 1, 1);
      worker.postMessage("checkpoint");
    },
    waitIdle(timeoutMs) {
      return Atomics.wait(shared, 0, 1, timeoutMs) !== "not-equal";
    },
    get checkpoints() {
      return Atomics.load(shared, 2);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (worker === undefined) return;
      worker.postMessage("close");
      const kill = setTimeout(() => void worker?.terminate(), 10_000);
      await exited;
      clearTimeout(kill);
      worker = undefined;
    },
  };
}

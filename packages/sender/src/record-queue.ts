import type { SendRecordInput, Store } from "@mandrill-kit/core";
import type { ComponentLogger } from "@mandrill-kit/core/plugin";

/**
 * Writes send records behind the sends (group commit). A send's records are queued when its result is
 * known and written at most `windowMs` later, together with every other send that finished in the
 * meantime, in one `store.sends.record` call (one transaction). A commit costs more than the rows it
 * writes (about 30 µs against about 6 µs per row on SQLite), and on the sequential path a write per send
 * sat between one answer from Mandrill and the next request; grouped, the writes cost a few µs a send.
 *
 * What it changes for callers: `send()` resolves before its records are committed (`flush()` waits
 * for them; `close()` flushes). A crash within that window loses the records of those sends, never
 * the mail — the same trade as the records' `synchronous=NORMAL`. When `maxPending` records wait (a
 * store slower than the sends), `add` waits for the write: memory stays bounded.
 */
export interface RecordQueue {
  add(records: readonly SendRecordInput[]): Promise<void>;
  /** Resolves when every record added so far is written (or its failure logged). */
  flush(): Promise<void>;
  /** Records added and not yet handed to the store. */
  readonly pending: number;
}

export interface RecordQueueOptions {
  /** Longest a record waits before its write starts. @default 5 */
  windowMs?: number;
  /** Records queued before `add` waits for the store. @default 10000 */
  maxPending?: number;
  /** Runs `fn` after `ms` (tests pass a manual one instead of waiting real windows). @default setTimeout */
  schedule?: (fn: () => void, ms: number) => void;
}

// Not unref'd: a process that ends without close() still writes the last records first.
const realTimer = (fn: () => void, ms: number) => {
  setTimeout(fn, ms);
};

/** Creates the queue of a sender (see {@link RecordQueue}). */
export function createRecordQueue(
  store: Store,
  log: ComponentLogger,
  { windowMs = 5, maxPending = 10_000, schedule: timer = realTimer }: RecordQueueOptions = {},
): RecordQueue {
  let queue: SendRecordInput[] = [];
  let writing: Promise<void> | undefined;
  let scheduled = false;

  async function writeAll(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        await store.sends.record(batch);
      } catch (error) {
        // The mail already left: report, never turn delivered sends into errors.
        const accounts = [...new Set(batch.map((r) => r.account))];
        log.error(
          {
            accounts,
            records: batch.length,
            correlationIds: [...new Set(batch.map((r) => r.correlationId))].slice(0, 20),
            err: error,
          },
          "could not record sends",
        );
      }
    }
  }

  function start(): Promise<void> {
    if (writing === undefined) {
      writing = writeAll().finally(() => {
        writing = undefined;
      });
    }
    return writing;
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    timer(() => {
      scheduled = false;
      // A write in progress takes whatever was queued meanwhile before it ends.
      void start();
    }, windowMs);
  }

  return {
    async add(records) {
      for (const r of records) queue.push(r);
      if (queue.length >= maxPending) await start();
      else schedule();
    },
    async flush() {
      while (writing !== undefined || queue.length > 0) await start();
    },
    get pending() {
      return queue.length;
    },
  };
}

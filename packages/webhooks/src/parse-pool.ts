/**
 * The router's parse pool: worker threads that run parse jobs (form decoding, signature, parsing,
 * inbox inputs; see parse-job.ts) for large bodies, so the main thread of a busy server only reads
 * bodies, writes to the store and answers. Threads start on first use, are replaced when one dies
 * (the jobs it held fail, so their requests get a 5xx and Mandrill retries them) and are stopped by
 * `close()`. An idle thread is unref'd: a pool keeps a process alive only while it has jobs.
 *
 * A thread gets jobs only once it said it is ready (its module loaded). One that fails before that
 * (its file missing from a bundle, a loader refused) makes the pool unavailable: its waiting jobs
 * fail with {@link ParseThreadStartError} with their bodies untouched, and the router parses them,
 * and every later body, on the main thread, as with `parseThreads: 0`.
 */
import { Worker } from "node:worker_threads";
import { MandrillKitError, type MandrillKitErrorOptions } from "@mandrill-kit/core";
import type { ParseJobInput, ParseJobResult } from "./parse-job.js";

/**
 * A parse job failed in its thread: the thread died (or the pool was closed) before answering, or
 * the job threw. The router answers 503 (see `WebhookNotStoredError`), so Mandrill retries the batch.
 */
export class ParseWorkerError extends MandrillKitError {
  constructor(message: string, options?: MandrillKitErrorOptions) {
    super("ERR_MK_INTERNAL", message, options);
  }
}

/**
 * A parse thread could not start (before it loaded its module): the job was never handed over, so
 * the router parses it on the main thread instead.
 */
export class ParseThreadStartError extends ParseWorkerError {}

export interface ParsePool {
  /**
   * Runs the job in a worker thread; `input.body`'s memory is moved there when it owns it (or it came
   * from {@link bodyBuffer}), and the thread gives it back with its answer, to gather later bodies in.
   */
  run(input: ParseJobInput): Promise<ParseJobResult>;
  /**
   * A buffer of exactly `size` bytes over memory a thread gave back (reused: its pages are already
   * mapped, where new memory for every ~1 MB body costs page faults and garbage collection), or over
   * new memory with room to spare; `undefined` above {@link RECYCLED_BODY_MAX}. Pass it to `run`.
   */
  bodyBuffer(size: number): Buffer | undefined;
  /** Stops every thread; jobs in flight fail. The pool can't be used afterwards. */
  close(): Promise<void>;
  readonly closed: boolean;
  /** Why threads could not start, once one failed before it was ready; the pool is then unusable. */
  readonly startFailure: Error | undefined;
}

/** Largest body whose memory the pool keeps for reuse (larger ones are new memory each time). */
export const RECYCLED_BODY_MAX = 8 * 1024 * 1024;
/** How many given-back body buffers the pool keeps (the largest; at most 4 × RECYCLED_BODY_MAX). */
const SPARE_BODIES = 4;
/** New body memory is rounded up to this, plus a quarter, so a slightly larger next body fits too. */
const BODY_ROUNDING = 64 * 1024;

interface Pending {
  resolve(result: ParseJobResult): void;
  reject(error: Error): void;
}

/** A thread's message: ready, or the answer to job `id`, with the job's body memory given back. */
interface ParseReply {
  id: number;
  ready?: true;
  result?: ParseJobResult;
  error?: string;
  body?: ArrayBuffer;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Settles when the thread said it is ready, or failed before that. */
  ready: Promise<void>;
  isReady: boolean;
}

/**
 * Starts a worker thread running parse-worker. From the TypeScript sources (this repository, tests),
 * a worker thread of Node 20 cannot inherit a loader, so a bootstrap registers tsx there first.
 */
export function spawnParseWorker(): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./parse-worker.js", import.meta.url));
  const source = new URL("./parse-worker.ts", import.meta.url).href;
  const bootstrap = `import("tsx/esm/api").then((tsx) => tsx.tsImport(${JSON.stringify(source)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(bootstrap, { eval: true });
}

/** How pools without a `spawn` option start a thread (tests swap it to make threads fail). */
export const parseThreadSpawner: { spawn: () => Worker } = { spawn: spawnParseWorker };

/** Every thread a pool starts is passed to these (tests watch threads start and stop with it). */
export const parseThreadObservers = new Set<(worker: Worker) => void>();

/**
 * The memory of bodies given back by the threads (the largest few, smallest first), lent out to gather
 * later bodies in (see {@link ParsePool.bodyBuffer}).
 */
function bodyMemory() {
  const spare: ArrayBuffer[] = [];
  const lentOut = new WeakSet<ArrayBuffer>();
  return {
    giveBack(memory: unknown): void {
      // Not a small body's (a copy of a slice of Node's shared pool, under BODY_ROUNDING), not a huge one.
      if (!(memory instanceof ArrayBuffer) || memory.byteLength < BODY_ROUNDING) return;
      if (memory.byteLength > RECYCLED_BODY_MAX) return;
      let at = spare.findIndex((m) => m.byteLength > memory.byteLength);
      if (at === -1) at = spare.length;
      spare.splice(at, 0, memory);
      if (spare.length > SPARE_BODIES) spare.shift();
    },
    lend(size: number): Buffer | undefined {
      if (size > RECYCLED_BODY_MAX || size <= 0) return undefined;
      const at = spare.findIndex((m) => m.byteLength >= size);
      const memory =
        at === -1
          ? new ArrayBuffer(
              Math.min(RECYCLED_BODY_MAX, Math.ceil((size * 1.25) / BODY_ROUNDING) * BODY_ROUNDING),
            )
          : (spare.splice(at, 1)[0] as ArrayBuffer);
      lentOut.add(memory);
      return Buffer.from(memory, 0, size);
    },
    /** Whether `body` is a view of memory lent out here (so it may move to a thread). */
    lent: (body: Uint8Array) => body.buffer instanceof ArrayBuffer && lentOut.has(body.buffer),
    clear(): void {
      spare.length = 0;
    },
  };
}

export function createParsePool(options: {
  size: number;
  /** Starts one thread (tests pass their own). @default spawnParseWorker */
  spawn?: () => Worker;
  /** Told when a thread died or failed. */
  onThreadError?: (error: Error) => void;
  /** Told once when a thread failed before it was ready (the pool is unusable from then on). */
  onStartFailure?: (error: Error) => void;
}): ParsePool {
  const spawn = options.spawn ?? (() => parseThreadSpawner.spawn());
  const threads: Thread[] = [];
  let nextId = 1;
  let closed = false;
  let startFailure: ParseThreadStartError | undefined;
  const memory = bodyMemory();

  function fail(thread: Thread, error: Error): void {
    const at = threads.indexOf(thread);
    if (at !== -1) threads.splice(at, 1);
    for (const p of thread.pending.values()) p.reject(error);
    thread.pending.clear();
    idleUnref(thread);
  }

  /** The thread failed before it was ready: no job was handed to it, and the pool stops here. */
  function failedToStart(thread: Thread, error: Error, settle: (error: Error) => void): void {
    if (!closed && startFailure === undefined) {
      startFailure = new ParseThreadStartError(`a webhook parse thread could not start: ${error.message}`, {
        cause: error,
      });
      options.onStartFailure?.(startFailure);
    }
    settle(startFailure ?? new ParseWorkerError("the webhook parse pool was closed"));
    fail(thread, startFailure ?? new ParseWorkerError("the webhook parse pool was closed"));
  }

  function start(): Thread {
    const worker = spawn();
    for (const observe of parseThreadObservers) observe(worker);
    let settle: { ok(): void; no(error: Error): void } = { ok: () => {}, no: () => {} };
    const ready = new Promise<void>((ok, no) => {
      settle = { ok, no };
    });
    ready.catch(() => {}); // Read by the jobs waiting on it; a failure is handled there.
    const thread: Thread = { worker, pending: new Map(), ready, isReady: false };
    worker.on("message", (m: ParseReply) => {
      if (m.body !== undefined && !closed) memory.giveBack(m.body);
      if (m.ready === true) {
        thread.isReady = true;
        settle.ok();
        return;
      }
      const p = thread.pending.get(m.id);
      if (p === undefined) return;
      thread.pending.delete(m.id);
      idleUnref(thread);
      if (m.error !== undefined) p.reject(new ParseWorkerError(`a webhook parse job failed: ${m.error}`));
      else p.resolve(m.result as ParseJobResult);
    });
    worker.on("error", (error) => {
      if (!thread.isReady) return failedToStart(thread, error, settle.no);
      options.onThreadError?.(error);
      fail(thread, new ParseWorkerError(`a webhook parse thread failed: ${error.message}`, { cause: error }));
    });
    worker.on("exit", (code) => {
      if (!thread.isReady) {
        if (threads.includes(thread))
          failedToStart(
            thread,
            new ParseWorkerError(`it exited (code ${code}) before it was ready`),
            settle.no,
          );
        return;
      }
      if (thread.pending.size > 0 || threads.includes(thread)) {
        if (!closed)
          options.onThreadError?.(new ParseWorkerError(`a webhook parse thread exited (code ${code})`));
        fail(thread, new ParseWorkerError(`a webhook parse thread exited (code ${code}) before answering`));
      }
    });
    // After the listeners: adding a "message" listener to an unref'd worker refs it again. An idle
    // thread never keeps the process alive; one with jobs does, until it answered them.
    worker.unref();
    threads.push(thread);
    return thread;
  }

  /** Lets the process exit despite the thread once it has no job left. */
  function idleUnref(thread: Thread): void {
    if (thread.pending.size === 0) thread.worker.unref();
  }

  /** The thread with the fewest jobs, starting one while the pool is below its size. */
  function pick(): Thread {
    let best: Thread | undefined;
    for (const t of threads) if (best === undefined || t.pending.size < best.pending.size) best = t;
    if (best === undefined || (best.pending.size > 0 && threads.length < options.size)) return start();
    return best;
  }

  return {
    get closed() {
      return closed;
    },
    get startFailure() {
      return startFailure;
    },
    run(input) {
      if (closed) return Promise.reject(new ParseWorkerError("the webhook parse pool is closed"));
      if (startFailure !== undefined) return Promise.reject(startFailure);
      const thread = pick();
      const id = nextId++;
      const { body } = input;
      // Move the body's memory when it is the body's alone (not a slice of Node's shared pool).
      const own = (body.byteOffset === 0 && body.byteLength === body.buffer.byteLength) || memory.lent(body);
      return new Promise<ParseJobResult>((resolve, reject) => {
        if (thread.pending.size === 0) thread.worker.ref();
        thread.pending.set(id, { resolve, reject });
        const post = () => {
          if (!thread.pending.has(id)) return; // failed meanwhile (the thread died, the pool closed)
          try {
            thread.worker.postMessage(
              { id, input },
              own && body.buffer instanceof ArrayBuffer ? [body.buffer] : [],
            );
          } catch (error) {
            thread.pending.delete(id);
            idleUnref(thread);
            reject(error);
          }
        };
        // Handed over only to a thread that loaded: until then the body stays here, for the main thread.
        if (thread.isReady) post();
        else thread.ready.then(post, () => {});
      });
    },
    bodyBuffer: (size) => (closed ? undefined : memory.lend(size)),
    async close() {
      closed = true;
      memory.clear();
      const all = threads.splice(0);
      for (const t of all) fail(t, new ParseWorkerError("the webhook parse pool was closed"));
      await Promise.all(all.map((t) => t.worker.terminate()));
    },
  };
}

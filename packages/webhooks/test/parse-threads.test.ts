import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { createMemoryStore, type Store } from "@mandrill-kit/core";
import { parseMandrillEventsBytes } from "@mandrill-kit/core/plugin";
import { manualClock } from "@mandrill-kit/core/testing";
import {
  type MandrillWebhooks,
  type MandrillWebhooksOptions,
  mandrillWebhooks,
} from "@mandrill-kit/webhooks";
import { eventFixtures, signWebhook, TEST_WEBHOOK_KEY } from "@mandrill-kit/webhooks/testing";
import express from "express";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { decodeFormBytes } from "../src/form-body.js";
import { inboxInputs } from "../src/ingest-events.js";
import { inputsFromColumns, type ParseJobInput, runParseJob } from "../src/parse-job.js";
import {
  createParsePool,
  type ParsePool,
  ParseThreadStartError,
  ParseWorkerError,
  parseThreadObservers,
  parseThreadSpawner,
  spawnParseWorker,
} from "../src/parse-pool.js";
import { CAPTURED_CLICK } from "./fixtures/captured.js";
import { plainInputs } from "./helpers.js";
import { capturedJob, capturedRouterWith, comparable, policy, signedJob } from "./parse-jobs.js";

const captured = new URL(CAPTURED_CLICK.url);

const pools: ParsePool[] = [];
const hooks: MandrillWebhooks[] = [];
const stores: Store[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
  for (const w of hooks.splice(0)) await w.close();
  for (const s of stores.splice(0)) await s.close();
  parseThreadObservers.clear();
  parseThreadSpawner.spawn = spawnParseWorker;
});

/** A thread that loads (says it is ready), then exits with `code` on its first job. */
const dyingThread = (code: number) =>
  new Worker(
    `const { parentPort } = require("node:worker_threads");
     parentPort.postMessage({ ready: true });
     parentPort.on("message", () => process.exit(${code}));`,
    { eval: true },
  );

/** A thread that cannot load, as when a bundle lacks dist/parse-worker.js. */
const unloadableThread = () =>
  new Worker(new URL("./no-such-parse-worker.js", import.meta.url.replace(/\.ts$/, ".js")));

function pool(options: Parameters<typeof createParsePool>[0] = { size: 1 }): ParsePool {
  const p = createParsePool(options);
  pools.push(p);
  return p;
}

/** Requests the router must answer alike with and without parse threads. */
const CASES: [string, () => ParseJobInput][] = [
  ["the captured POST", () => capturedJob()],
  [
    "the captured POST, signed with a previous key",
    () => capturedJob({ keys: ["whk-new-key-000000", CAPTURED_CLICK.key] }),
  ],
  ["a wrong signature", () => capturedJob({ signature: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" })],
  ["no signature", () => capturedJob({ signature: undefined })],
  ["no usable key", () => capturedJob({ keys: [] })],
  ["a malformed percent-escape", () => capturedJob({ body: Buffer.from(`${CAPTURED_CLICK.body}%4`) })],
  ["invalid UTF-8", () => capturedJob({ body: Buffer.from("mandrill_events=%FF%FE") })],
  [
    "a repeated field",
    () => capturedJob({ body: Buffer.from("mandrill_events=%5B%5D&mandrill_events=%5B%5D") }),
  ],
  ["no mandrill_events", () => capturedJob({ body: Buffer.from("other=1") })],
  ["another content type", () => capturedJob({ contentType: "application/json" })],
  [
    "the validation POST",
    () => {
      const signed = signWebhook({ key: TEST_WEBHOOK_KEY, url: CAPTURED_CLICK.url, events: [] });
      return capturedJob({ body: Buffer.from(signed.body), signature: signed.signature });
    },
  ],
  ["an empty batch", () => signedJob([])],
  ["a body that is not JSON", () => signedJob("[{not json")],
  [
    "a message id with a lone surrogate (a JSON escape)",
    () => signedJob('[{"event":"send","_id":"id-\\ud800","ts":1700000000,"msg":{"email":"a@b.com"}}]'),
  ],
  ["JSON that is not an array", () => signedJob('{"event":"send"}')],
  [
    "events with shape problems and non-ASCII text",
    () =>
      signedJob([
        eventFixtures.hard_bounce({ email: "Zoë@Exämple.com" }),
        { event: "open", ts: "yesterday" },
        { type: "blacklist", action: "add", reject: { email: "x@y.com" }, ts: 1 },
        42,
      ]),
  ],
  [
    "skipHandlersFor and suppression effects",
    () =>
      signedJob(
        [eventFixtures.hard_bounce({ email: "a@b.com" }), eventFixtures.open(), eventFixtures.unsub()],
        { skipHandlersFor: ["open"] },
      ),
  ],
];

describe("parse jobs in a parse thread", () => {
  it.each(CASES)("give the same result as in this thread: %s", async (_name, job) => {
    const input = job();
    // A copy: a body the pool runs may be moved to the thread.
    const threaded = await pool().run({ ...input, body: Buffer.from(input.body) });
    expect(comparable(threaded)).toEqual(comparable(runParseJob(input)));
  });

  it("prepare the captured POST's inbox inputs exactly as the in-thread path builds them", async () => {
    const result = await pool().run(capturedJob());
    expect(result.kind).toBe("batch");
    if (result.kind !== "batch") return;
    const events = decodeFormBytes(Buffer.from(CAPTURED_CLICK.body)).values[0] as Buffer;
    const parsed = parseMandrillEventsBytes(events);
    if (!parsed.ok) throw new Error("the captured POST must parse");
    expect(plainInputs(inputsFromColumns(result.columns))).toEqual(
      inboxInputs(parsed.events, policy, 1_700_000_000_000),
    );
    expect(
      inputsFromColumns(result.columns)
        .map((e) => e.raw)
        .join(","),
    ).toBe(events.toString("utf8").slice(1, -1));
  });

  it("fail with a ParseWorkerError when their thread dies, and a new thread takes the next job", async () => {
    let spawned = 0;
    const errors: Error[] = [];
    const p = pool({
      size: 1,
      // The first thread dies on its first job; the next ones are real parse threads.
      spawn: () => (++spawned === 1 ? dyingThread(3) : spawnParseWorker()),
      onThreadError: (e) => errors.push(e),
    });
    await expect(p.run(capturedJob())).rejects.toBeInstanceOf(ParseWorkerError);
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining("exited (code 3)")]);
    expect(comparable(await p.run(capturedJob()))).toEqual(comparable(runParseJob(capturedJob())));
    expect(spawned).toBe(2);
  });

  it("fail with a ParseThreadStartError when their thread cannot load, keep the body, and refuse later jobs", async () => {
    const failures: Error[] = [];
    const threadErrors: Error[] = [];
    let spawned = 0;
    const p = pool({
      size: 2,
      spawn: () => {
        spawned += 1;
        return unloadableThread();
      },
      onStartFailure: (e) => failures.push(e),
      onThreadError: (e) => threadErrors.push(e),
    });
    const job = capturedJob({ body: Buffer.from(Buffer.from(CAPTURED_CLICK.body)) });
    const size = job.body.byteLength;
    await expect(p.run(job)).rejects.toBeInstanceOf(ParseThreadStartError);
    // Never handed over: the body is still here, whole, for the main thread to parse.
    expect(job.body.byteLength).toBe(size);
    expect(p.startFailure).toBeInstanceOf(ParseThreadStartError);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.message).toMatch(/could not start/);
    expect(threadErrors).toEqual([]);
    await expect(p.run(capturedJob())).rejects.toBeInstanceOf(ParseThreadStartError);
    expect(spawned).toBe(1);
    expect(failures).toHaveLength(1);
  });

  it("hand a thread no job before it said it is ready", async () => {
    const p = pool({
      size: 1,
      // Answers any job at once, but says it is ready only after 200 ms.
      spawn: () =>
        new Worker(
          `const { parentPort } = require("node:worker_threads");
           let ready = false;
           parentPort.on("message", (m) => parentPort.postMessage({ id: m.id, error: ready ? "late" : "too early" }));
           setTimeout(() => { ready = true; parentPort.postMessage({ ready: true }); }, 200);`,
          { eval: true },
        ),
    });
    await expect(p.run(capturedJob())).rejects.toThrow(/late/);
  });

  it("are stopped by close(): the threads exit, and jobs after it are refused", async () => {
    const started: Worker[] = [];
    parseThreadObservers.add((w) => started.push(w));
    const p = pool({ size: 2 });
    await Promise.all([p.run(capturedJob()), p.run(capturedJob())]);
    expect(started).toHaveLength(2);
    const exits = started.map((w) => once(w, "exit"));
    await p.close();
    await Promise.all(exits);
    await expect(p.run(capturedJob())).rejects.toBeInstanceOf(ParseWorkerError);
  });
});

/** A single-account router for the captured POST's Callback URL, on a memory store. */
function capturedRouter(options: {
  parseThreads: number;
  store?: Store;
  /** `null` for the router's own default (64 KiB). @default 0: every body goes to the threads */
  parseThreadMinBytes?: number | null;
  logger?: MandrillWebhooksOptions["logger"];
}) {
  const store = options.store ?? createMemoryStore();
  stores.push(store);
  const webhooks = mandrillWebhooks({
    store,
    publicUrl: captured.origin,
    path: captured.pathname,
    key: CAPTURED_CLICK.key,
    clock: manualClock(),
    parseThreads: options.parseThreads,
    ...(options.parseThreadMinBytes === null
      ? {}
      : { parseThreadMinBytes: options.parseThreadMinBytes ?? 0 }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  hooks.push(webhooks);
  const app = express();
  app.use(webhooks);
  return { app, store, webhooks };
}

const post = (app: express.Express, job: ParseJobInput) =>
  request(app)
    .post(captured.pathname)
    .set({
      ...(job.contentType === undefined ? {} : { "content-type": job.contentType }),
      ...(job.signature === undefined ? {} : { "x-mandrill-signature": job.signature }),
    })
    // Form bodies are ASCII: sent as they are.
    .send(Buffer.from(job.body).toString("latin1"));

/** The captured POST's router on a memory store, parsing bodies of any size with `threads`. */
function routerWith(threads: ParsePool) {
  const routed = capturedRouterWith(threads);
  stores.push(routed.store);
  return routed;
}

describe("the router with parse threads", () => {
  it("answers and stores every case as it does without them", async () => {
    const threaded = capturedRouter({ parseThreads: 1 });
    const inThread = capturedRouter({ parseThreads: 0 });
    for (const [name, job] of CASES) {
      const input = job();
      const [a, b] = [await post(threaded.app, input), await post(inThread.app, input)];
      expect({ name, status: a.status, type: a.type, body: a.text }).toEqual({
        name,
        status: b.status,
        type: b.type,
        body: b.text,
      });
    }
    const rows = async (s: Store) =>
      (await s.inbox.list("default", { limit: 100 })).items.map(({ seq: _, ...row }) => row);
    expect(await rows(threaded.store)).toEqual(await rows(inThread.store));
    expect((await rows(threaded.store)).length).toBeGreaterThan(2);
    expect(await threaded.store.suppressions.list("default")).toEqual(
      await inThread.store.suppressions.list("default"),
    );
  });

  it("answers 503 when the parse thread dies under a request, stores nothing, and serves the next one", async () => {
    let spawned = 0;
    const threads = pool({
      size: 1,
      spawn: () => (++spawned === 1 ? dyingThread(1) : spawnParseWorker()),
    });
    const { app, store } = routerWith(threads);
    const crashed = await post(app, capturedJob());
    expect(crashed.status).toBe(503);
    expect((await store.inbox.stats("default")).total).toBe(0);
    const retried = await post(app, capturedJob());
    expect(retried.status).toBe(200);
    // The captured batch holds the same click twice.
    expect(JSON.parse(retried.text)).toEqual({ received: 2, new: 1, duplicates: 1 });
    expect(spawned).toBe(2);
  });

  it("parses on the main thread when threads cannot start: every batch stored, one warning", async () => {
    const failures: Error[] = [];
    const threads = pool({ size: 1, spawn: unloadableThread, onStartFailure: (e) => failures.push(e) });
    const { app, store } = routerWith(threads);
    const first = await post(app, capturedJob());
    expect(first.status).toBe(200);
    expect(JSON.parse(first.text)).toEqual({ received: 2, new: 1, duplicates: 1 });
    const second = await post(app, signedJob([eventFixtures.hard_bounce({ email: "gone@example.com" })]));
    expect(second.status).toBe(200);
    expect((await store.inbox.stats("default")).total).toBe(2);
    expect(await store.suppressions.check("default", ["gone@example.com"])).toHaveLength(1);
    expect(failures).toHaveLength(1);
  });

  it("stops asking for threads once they could not start, and says so once in the log", async () => {
    const started: Worker[] = [];
    parseThreadObservers.add((w) => started.push(w));
    parseThreadSpawner.spawn = unloadableThread;
    const warnings: string[] = [];
    const logger = {
      debug: () => {},
      info: () => {},
      warn: (_: unknown, message: string) => warnings.push(message),
      error: () => {},
    };
    const { app, store } = capturedRouter({ parseThreads: 1, logger });
    expect((await post(app, capturedJob())).status).toBe(200);
    expect((await post(app, signedJob([eventFixtures.send()]))).status).toBe(200);
    expect((await post(app, signedJob([eventFixtures.open()]))).status).toBe(200);
    expect((await store.inbox.stats("default")).total).toBe(3);
    // One thread tried, once; then every batch parsed here.
    expect(started).toHaveLength(1);
    expect(warnings).toEqual([expect.stringContaining("could not start")]);
    expect(warnings[0]).toContain("parseThreads: 0");
  });

  it("starts its thread on the first large body only, and close() stops it", async () => {
    const started: Worker[] = [];
    parseThreadObservers.add((w) => started.push(w));
    const { app, webhooks, store } = capturedRouter({ parseThreads: 1 });
    expect(started).toHaveLength(0);
    expect((await post(app, capturedJob())).status).toBe(200);
    expect(started).toHaveLength(1);
    const exited = once(started[0] as Worker, "exit");
    await webhooks.close();
    await exited;
    // After close(), batches are still verified and stored (in this thread).
    const again = signedJob([eventFixtures.send()]);
    expect((await post(app, again)).status).toBe(200);
    expect(started).toHaveLength(1);
    expect((await store.inbox.stats("default")).total).toBe(2);
  });

  it("parse small bodies in this thread (under parseThreadMinBytes)", async () => {
    const started: Worker[] = [];
    parseThreadObservers.add((w) => started.push(w));
    // The default threshold (64 KiB): the captured POST is smaller.
    const { app } = capturedRouter({ parseThreads: 1, parseThreadMinBytes: null });
    expect((await post(app, capturedJob())).status).toBe(200);
    expect(started).toHaveLength(0);
  });
});

/**
 * Where one webhook batch's time goes (issue 19): a harness that calls, in the router's order, the same
 * functions `mandrillWebhooks()` calls for a signed 1,000-event batch, timing each stage over many
 * batches (every one new). Coupling to the router is kept to the stage functions below (exports of
 * @mandrill-kit/webhooks and @mandrill-kit/core, and the parse job's packing); when the router's
 * layering changes, adapt `STAGES`.
 *
 * - read: a loopback POST from the load client (its own process, 1 in flight) to an Express route in
 *   this process that reads the body as the router's readRawBody does (data chunks, Buffer.concat):
 *   from the server's `request` event to the body's end; "route" is `request` → the handler; "response"
 *   is the handler's `res.status(200).json(…)` call.
 * - decode, verify, parse, keys + policy: the functions themselves, in order, on each body (the router
 *   runs them in its parse thread); hand-over: the thread's packing of the inputs and the main thread's
 *   unpacking (parse-job.ts).
 * - SQL / commit wait: `store.inbox.ingest` on the SQLite store as the kit opens it (WAL, group commit):
 *   SQL is the synchronous part of the call (statements and the commit's WAL writes, on the calling
 *   thread), the commit wait is from then until it resolves (the fdatasync of the WAL on libuv's pool).
 *   PostgreSQL: a store on the same schema alternately through sessions with `synchronous_commit` on
 *   (shipped) and off; commit = the difference of the means.
 *
 * Wall time per stage (median and mean over the batches) and CPU time (process.cpuUsage: this process,
 * all threads, so GC helper threads count) are both shown; where they differ, the machine was busy.
 */
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import {
  type InboxEventInput,
  type MandrillEvent,
  resolveSuppressionPolicy,
  type Store,
} from "@mandrill-kit/core";
import { eventKey, parseMandrillEventsBytesWithRanges, suppressionEffects } from "@mandrill-kit/core/plugin";
import { openPostgresStore } from "@mandrill-kit/postgres";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import { verifyRequest } from "@mandrill-kit/webhooks";
import { signWebhook } from "@mandrill-kit/webhooks/testing";
import { inboxInputs } from "../packages/webhooks/src/ingest-events.js";
import { inputsFromColumns, packInputs } from "../packages/webhooks/src/parse-job.js";
import { EVENT_TYPES } from "../packages/webhooks/src/webhooks-options.js";
import { mean, measureFsync, measureHttp, type Timer, timed, timer } from "./lib/breakdown-measure.js";
import { postgresTable, profileTable } from "./lib/breakdown-tables.js";
import { realisticBatch } from "./lib/events.js";
import { profileKit } from "./lib/kit-profile.js";
import { databaseUrl, dropSchemas, postgresUnavailable, withParam } from "./lib/postgres.js";
import type { Table } from "./lib/report.js";
import { KIT_ACCOUNT, KIT_CALLBACK_URL, KIT_WEBHOOK_KEY } from "./lib/server-process.js";
import { fmt, summarize } from "./lib/stats.js";

const CONTENT_TYPE = "application/x-www-form-urlencoded";

/** The router's stages, as functions of the previous stage's output (adapt here when the router moves). */
const STAGES = {
  /** Content type, form decoding and the signature, as the Express route calls it. */
  verify: (body: Buffer, signature: string) =>
    verifyRequest({
      method: "POST",
      headers: { "content-type": CONTENT_TYPE, "x-mandrill-signature": signature },
      body,
      account: KIT_ACCOUNT,
      callbackUrl: KIT_CALLBACK_URL,
      keys: [KIT_WEBHOOK_KEY],
    }),
  /** The HMAC alone (verifyRequest computes it once for one key), to split verify from decode. */
  /** Over the decoded bytes, as verifyRequest does for a raw body (one field: mandrill_events). */
  hmac: (events: Uint8Array) =>
    createHmac("sha1", KIT_WEBHOOK_KEY)
      .update(KIT_CALLBACK_URL, "utf8")
      .update("mandrill_events", "utf8")
      .update(events)
      .digest("base64"),
  /** From the decoded bytes, as the parse thread does (with each event's byte range). */
  parse: (events: Uint8Array) => parseMandrillEventsBytesWithRanges(events),
  inputs: (events: readonly MandrillEvent[], receivedAt: number) =>
    inboxInputs(events, policy, receivedAt, DONE_TYPES),
  /** The parse thread packs the inputs (the texts are the decoded bytes themselves)… */
  pack: (inputs: InboxEventInput[], bytes: Uint8Array, ranges: readonly number[] | undefined) =>
    packInputs(inputs, ranges === undefined ? undefined : { bytes, ranges }),
  /** …and the main thread unpacks them (every text stays UTF-8 bytes: rawUtf8). */
  unpack: (columns: ReturnType<typeof packInputs>) => inputsFromColumns(columns),
  ingest: (store: Store, events: InboxEventInput[], receivedAt: number) =>
    store.inbox.ingest({ account: KIT_ACCOUNT, receivedAt, events }),
};
const policy = resolveSuppressionPolicy();
/**
 * The types the example server stores done: its handlers want hard_bounce, spam, unsub and reject, and
 * once it dispatches, every other type is stored done at ingest (`doneTypes` in mandrill-webhooks.ts).
 */
const WANTED = new Set(["hard_bounce", "spam", "unsub", "reject"]);
const DONE_TYPES: ReadonlySet<string> = new Set(EVENT_TYPES.filter((t) => !WANTED.has(t)));

export interface BreakdownReference {
  /** The kit server's CPU per batch in the sustained runs (ms), for the comparison note. */
  kitServerCpuMsPerBatch?: number;
  /** The same, its main thread alone. */
  kitMainThreadCpuMsPerBatch?: number;
}

type Timers = Record<
  | "verify"
  | "hmac"
  | "parse"
  | "inputs"
  | "keys"
  | "policy"
  | "pack"
  | "unpack"
  | "sql"
  | "commitWait"
  | "pgFull"
  | "pgAsync",
  Timer
>;
type Stage = { label: string; what: string; cpu: number; median: number; mean: number };

export async function runIngestBreakdown(reference: BreakdownReference = {}): Promise<Table[]> {
  const reps = 60;
  const warmup = 6;
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const dir = mkdtempSync(join(tmpdir(), "mk-bench-breakdown-"));
  const url = databaseUrl();
  const pgDown = await postgresUnavailable(url);
  const schema = `mk_bench_breakdown_${process.pid}_${Date.now().toString(36)}`;
  const sqlite = openSqliteStore({ filename: join(dir, "kit.db") });
  let pgFull: Store | undefined;
  let pgAsync: Store | undefined;
  try {
    if (pgDown === undefined) {
      pgFull = await openPostgresStore({ connectionString: url, schema });
      pgAsync = await openPostgresStore({
        connectionString: withParam(url, "options", "-c synchronous_commit=off"),
        schema,
      });
    }
    const { t, gcMs } = await timeStages(signedBodies(warmup + reps), warmup, sqlite, pgFull, pgAsync);
    const http = await measureHttp(reps);
    const profiles = [
      { label: "SQLite", ...(await profileKit(dir, 100)) },
      ...(pgDown === undefined
        ? [{ label: "PostgreSQL", ...(await profileKit(dir, 60, { url, schema: `${schema}_prof` })) }]
        : []),
    ];
    const fsync = { big: measureFsync(dir, 1_100_000, 30), small: measureFsync(dir, 4096, 30) };
    const tables: Table[] = [
      stageTable(t, http, { reps, warmup, gcMs, loadBefore, fsync, reference }),
      profileTable(profiles),
    ];
    if (pgFull !== undefined) tables.push(postgresTable(t.pgFull, t.pgAsync));
    return tables;
  } finally {
    await sqlite.close();
    await pgFull?.close();
    await pgAsync?.close();
    rmSync(dir, { recursive: true, force: true });
    if (pgDown === undefined) await dropSchemas(url, [schema, `${schema}_prof`]);
  }
}

/** `n` signed realistic 1,000-event batches, every one new. */
function signedBodies(n: number): { body: Buffer; signature: string }[] {
  return Array.from({ length: n }, (_, i) => {
    const signed = signWebhook({
      key: KIT_WEBHOOK_KEY,
      url: KIT_CALLBACK_URL,
      events: realisticBatch(2_000_000_000 + i * 1000),
    });
    return { body: Buffer.from(signed.body), signature: signed.signature };
  });
}

/** Runs every stage on every body in the router's order; the first `warmup` bodies are not timed. */
async function timeStages(
  bodies: { body: Buffer; signature: string }[],
  warmup: number,
  sqlite: ReturnType<typeof openSqliteStore>,
  pgFull: Store | undefined,
  pgAsync: Store | undefined,
): Promise<{ t: Timers; gcMs: number }> {
  const t: Timers = {
    verify: timer(),
    hmac: timer(),
    parse: timer(),
    inputs: timer(),
    keys: timer(),
    policy: timer(),
    pack: timer(),
    unpack: timer(),
    sql: timer(),
    commitWait: timer(),
    pgFull: timer(),
    pgAsync: timer(),
  };
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  for (let i = 0; i < bodies.length; i++) {
    const measured = i >= warmup;
    const on = (x: Timer) => (measured ? x : undefined);
    if (i === warmup) gc.observe({ entryTypes: ["gc"] });
    const { body, signature } = bodies[i] as { body: Buffer; signature: string };
    const verified = await timed(on(t.verify), () => STAGES.verify(body, signature));
    if (!verified.ok || verified.kind !== "batch") throw new Error("the breakdown's batch did not verify");
    const bytes = verified.mandrillEventsBytes;
    if (bytes === undefined) throw new Error("verifyRequest kept no bytes of the raw body");
    await timed(on(t.hmac), () => STAGES.hmac(bytes));
    const { outcome: parsed, ranges } = await timed(on(t.parse), () => STAGES.parse(bytes));
    if (!parsed.ok) throw new Error(parsed.message);
    const receivedAt = Date.now();
    const inputs = await timed(on(t.inputs), () => STAGES.inputs(parsed.events, receivedAt));
    // The two halves of inboxInputs on their own, to split keys from policy.
    await timed(on(t.keys), () => parsed.events.map(eventKey));
    await timed(on(t.policy), () => parsed.events.map((e) => suppressionEffects(e, policy, receivedAt)));
    const columns = await timed(on(t.pack), () => STAGES.pack(inputs, bytes, ranges));
    const unpacked = await timed(on(t.unpack), () => STAGES.unpack(columns));
    // The call runs the statements and the commit before it returns; the promise waits for the fsync.
    const ingesting = await timed(on(t.sql), () => ({
      promise: STAGES.ingest(sqlite, unpacked, receivedAt),
    }));
    await timed(on(t.commitWait), () => ingesting.promise);
    const full = i % 2 === 0;
    const pg = full ? pgFull : pgAsync;
    if (pg !== undefined)
      await timed(on(full ? t.pgFull : t.pgAsync), () => STAGES.ingest(pg, inputs, receivedAt));
  }
  gc.disconnect();
  return { t, gcMs };
}

function stage(label: string, what: string, x: Timer): Stage {
  return { label, what, cpu: mean(x.cpu), median: summarize(x.wall).median, mean: mean(x.wall) };
}

interface StageContext {
  reps: number;
  warmup: number;
  gcMs: number;
  loadBefore: number;
  fsync: { big: number[]; small: number[] };
  reference: BreakdownReference;
}

/** The stage-by-stage table (SQLite). */
function stageTable(t: Timers, http: Awaited<ReturnType<typeof measureHttp>>, c: StageContext): Table {
  const thread = "(parse thread)";
  const cpuStages = [
    stage("read", "body over loopback, request → end (HTTP parser, chunks, concat)", http.read),
    stage("route", "Express: request event → the route handler", http.route),
    stage(
      "decode + verify",
      `verifyRequest: content type, form decoding, HMAC-SHA1 (1 key) ${thread}`,
      t.verify,
    ),
    stage(
      "parse",
      `parseMandrillEventsBytesWithRanges (split, JSON.parse per event, shapes) ${thread}`,
      t.parse,
    ),
    stage("keys + policy", `inboxInputs (eventKey, suppressionEffects, input objects) ${thread}`, t.inputs),
    stage("hand-over", "packInputs in the parse thread + inputsFromColumns on the main thread", t.pack),
    stage("SQL", "store.inbox.ingest until it returns: statements, commit (WAL writes)", t.sql),
    stage("response", "res.status(200).json(…)", http.response),
  ];
  // The hand-over row is both halves; "of which" rows split it.
  const handOver = cpuStages[5] as Stage;
  handOver.cpu += mean(t.unpack.cpu);
  handOver.median += summarize(t.unpack.wall).median;
  handOver.mean += mean(t.unpack.wall);
  const totalCpu = cpuStages.reduce((s, x) => s + x.cpu, 0);
  const row = (x: Stage) => [
    x.label,
    x.what,
    fmt(x.cpu, 2),
    `${fmt((x.cpu / totalCpu) * 100, 0)}%`,
    fmt(x.median, 2),
    fmt(x.mean, 2),
  ];
  const sub = (label: string, what: string, x: Timer) => [
    label,
    what,
    fmt(mean(x.cpu), 2),
    "",
    fmt(summarize(x.wall).median, 2),
    fmt(mean(x.wall), 2),
  ];
  const wait = summarize(t.commitWait.wall);
  const rows = [
    ...cpuStages.slice(0, 3).map(row),
    sub("  of which verify", "the HMAC alone: HMAC-SHA1 over URL + field name + decoded bytes", t.hmac),
    [
      "  of which decode",
      "the rest of verifyRequest (content type, form decoding)",
      fmt(mean(t.verify.cpu) - mean(t.hmac.cpu), 2),
      "",
      fmt(summarize(t.verify.wall).median - summarize(t.hmac.wall).median, 2),
      fmt(mean(t.verify.wall) - mean(t.hmac.wall), 2),
    ],
    ...cpuStages.slice(3, 5).map(row),
    sub("  of which keys", "eventKey for every event", t.keys),
    sub("  of which policy", "suppressionEffects for every event", t.policy),
    row(handOver),
    sub("  of which pack", "packInputs (the texts are the decoded bytes, moved, not copied)", t.pack),
    sub("  of which unpack", "inputsFromColumns (main thread)", t.unpack),
    row(cpuStages[6] as Stage),
    [
      "commit wait",
      "from then until ingest resolves: the fdatasync of the WAL on libuv's pool (a wait, not CPU)",
      "—",
      "—",
      fmt(wait.median, 2),
      fmt(mean(t.commitWait.wall), 2),
    ],
    row(cpuStages[7] as Stage),
    [
      "sum",
      "",
      fmt(totalCpu, 2),
      "100%",
      "",
      fmt(cpuStages.reduce((s, x) => s + x.mean, 0) + mean(t.commitWait.wall), 2),
    ],
  ];
  return {
    title: "Where the time goes — one 1,000-event batch, stage by stage (SQLite)",
    description: `Method: a harness (\`bench/ingest-breakdown.bench.ts\`) calls the functions the webhook router calls, in its order, on ${c.reps} signed 1,000-event batches (after ${c.warmup} warm-ups), every batch new: verifyRequest (decode + verify), parse, keys + policy and the packing that the router's parse thread runs, the main thread's unpacking, then \`store.inbox.ingest\` on a SQLite store opened as the kit opens it (WAL, group commit): SQL is the synchronous part of that call, the commit wait the rest. All in one thread here, one batch at a time; in the server the first stages run in the parse thread. Read, route and response come from a loopback Express route in the harness fed by the load client in its own process, 1 in flight. CPU ms per stage (mean; process.cpuUsage, all threads of the harness, so GC helper threads count) and its share of the CPU sum; wall ms (median, mean).`,
    headers: ["stage", "what runs", "CPU ms", "share of CPU", "wall median ms", "wall mean ms"],
    rows,
    notes: stageNotes(t, c, totalCpu),
  };
}

function stageNotes(t: Timers, c: StageContext, totalCpu: number): string[] {
  const wait = summarize(t.commitWait.wall);
  const { reference } = c;
  return [
    `1-minute load average ${fmt(c.loadBefore, 2)} when the harness started, ${fmt(loadavg()[0] ?? Number.NaN, 2)} when it ended: wall times include waiting for a core, CPU times do not; on a busy machine read the CPU column, and the fsync wait from the raw fdatasync below.`,
    `Commit wait: median ${fmt(wait.median, 2)} ms, mean ${fmt(mean(t.commitWait.wall), 2)} ms, max ${fmt(wait.max, 1)} ms per batch; the SQL row's mean and max include the WAL checkpoints a commit runs itself when the background thread falls behind. Raw fdatasync on the same filesystem: ${fmt(summarize(c.fsync.big).median, 2)} ms after appending 1.1 MB, ${fmt(summarize(c.fsync.small).median, 2)} ms after 4 KB (medians of 30).`,
    `GC pauses during the measured stages: ${fmt(c.gcMs / c.reps, 2)} ms per batch (PerformanceObserver "gc"; inside the stages above, not added).`,
    ...(reference.kitServerCpuMsPerBatch === undefined
      ? []
      : [
          `The example server process used ${fmt(reference.kitServerCpuMsPerBatch, 1)} ms of CPU per batch in the sustained runs above${reference.kitMainThreadCpuMsPerBatch === undefined ? "" : ` (${fmt(reference.kitMainThreadCpuMsPerBatch, 1)} ms on its main thread)`}; these stages sum to ${fmt(totalCpu, 1)} ms. ${totalCpu < reference.kitServerCpuMsPerBatch ? `The other ${fmt(reference.kitServerCpuMsPerBatch - totalCpu, 1)} ms are what this harness does not run: the example's middleware (helmet, kit context, sessions), the message to and from the parse thread, the dispatcher's claims, handler runs and completes of the events its handlers want (hard_bounce, spam, unsub, reject: 2.5% of this mix; the rest are stored done), the background WAL checkpoints (their own thread), two requests in flight instead of one, and a larger heap to collect.` : "The stages alone sum to as much or more: the two were measured at different times, and CPU time per operation grows too on a busy machine (shared caches, a core's sibling busy), so compare shares, not sums."}`,
        ]),
  ];
}

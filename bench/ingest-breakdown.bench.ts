/**
 * Where one webhook batch's time goes (issue 19): a harness that calls, in the router's order, the same
 * functions `mandrillWebhooks()` calls for a signed 1,000-event batch, timing each stage over many
 * batches (every one new), with the commit's fsync separated by running the same store with and without
 * it. Coupling to the router is kept to the stage functions below (public exports of
 * @mandrill-kit/webhooks and @mandrill-kit/core); when the router's layering changes, adapt `STAGES`.
 *
 * - read: a loopback POST from the load client (its own process, 1 in flight) to an Express route in
 *   this process that reads the body as the router's readRawBody does (data chunks, Buffer.concat):
 *   from the server's `request` event to the body's end; "route" is `request` → the handler; "response"
 *   is the handler's `res.status(200).json(…)` call.
 * - decode, verify, parse, keys + policy: the functions themselves, in order, on each body.
 * - SQL / commit: `store.inbox.ingest` on the SQLite store as the kit opens it (WAL), alternately with
 *   `synchronous=FULL` (as shipped: the commit waits for fsync) and `synchronous=OFF` (same statements,
 *   no fsync); commit/fsync = the difference of the means. PostgreSQL likewise with a second store on
 *   the same schema whose sessions run `synchronous_commit=off`.
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
import { eventKey, parseMandrillEventsBytes, suppressionEffects } from "@mandrill-kit/core/plugin";
import { openPostgresStore } from "@mandrill-kit/postgres";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import { verifyRequest } from "@mandrill-kit/webhooks";
import { signWebhook } from "@mandrill-kit/webhooks/testing";
import { inboxInputs } from "../packages/webhooks/src/ingest-events.js";
import { mean, measureFsync, measureHttp, type Timer, timed, timer } from "./lib/breakdown-measure.js";
import { realisticBatch } from "./lib/events.js";
import { DISPATCH_STAGE, profileKit } from "./lib/kit-profile.js";
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
  /** From the decoded bytes, as receive() does for a raw body. */
  parse: (events: Uint8Array) => parseMandrillEventsBytes(events),
  inputs: (events: readonly MandrillEvent[], receivedAt: number) =>
    inboxInputs(events, policy, receivedAt, SKIP_HANDLERS_FOR),
  ingest: (store: Store, events: InboxEventInput[], receivedAt: number) =>
    store.inbox.ingest({ account: KIT_ACCOUNT, receivedAt, events }),
};
const policy = resolveSuppressionPolicy();
/** The example server lists no skipHandlersFor: every event is queued for the dispatcher. */
const SKIP_HANDLERS_FOR: ReadonlySet<string> = new Set();

export interface BreakdownReference {
  /** The kit server's CPU per batch in the sustained runs (ms), for the comparison note. */
  kitServerCpuMsPerBatch?: number;
  /** The same, its main thread alone. */
  kitMainThreadCpuMsPerBatch?: number;
}

type Timers = Record<
  "verify" | "hmac" | "parse" | "inputs" | "keys" | "policy" | "sqlFull" | "sqlOff" | "pgFull" | "pgAsync",
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
    if (pgFull !== undefined) tables.push(postgresTable(t));
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
    sqlFull: timer(),
    sqlOff: timer(),
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
    const parsed = await timed(on(t.parse), () => STAGES.parse(bytes));
    if (!parsed.ok) throw new Error(parsed.message);
    const receivedAt = Date.now();
    const inputs = await timed(on(t.inputs), () => STAGES.inputs(parsed.events, receivedAt));
    // The two halves of inboxInputs on their own, to split keys from policy.
    await timed(on(t.keys), () => parsed.events.map(eventKey));
    await timed(on(t.policy), () => parsed.events.map((e) => suppressionEffects(e, policy, receivedAt)));
    // Alternate with and without the fsync, so both see the same database sizes and checkpoints.
    const full = i % 2 === 0;
    sqlite.database.pragma(full ? "synchronous = FULL" : "synchronous = OFF");
    await timed(on(full ? t.sqlFull : t.sqlOff), () => STAGES.ingest(sqlite, inputs, receivedAt));
    const pg = full ? pgFull : pgAsync;
    if (pg !== undefined)
      await timed(on(full ? t.pgFull : t.pgAsync), () => STAGES.ingest(pg, inputs, receivedAt));
  }
  gc.disconnect();
  sqlite.database.pragma("synchronous = FULL");
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
  const commitMean = mean(t.sqlFull.wall) - mean(t.sqlOff.wall);
  const commitMedian = summarize(t.sqlFull.wall).median - summarize(t.sqlOff.wall).median;
  const cpuStages = [
    stage("read", "body over loopback, request → end (HTTP parser, chunks, concat)", http.read),
    stage("route", "Express: request event → the route handler", http.route),
    stage("decode + verify", "verifyRequest: content type, form decoding, HMAC-SHA1 (1 key)", t.verify),
    stage("parse", "parseMandrillEventsBytes (split, JSON.parse per event, shapes)", t.parse),
    stage("keys + policy", "inboxInputs (eventKey, suppressionEffects, input objects)", t.inputs),
    stage("SQL", "store.inbox.ingest, SQLite, synchronous=OFF", t.sqlOff),
    stage("response", "res.status(200).json(…)", http.response),
  ];
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
    row(cpuStages[5] as Stage),
    [
      "commit/fsync",
      "ingest with synchronous=FULL minus OFF: a wait, not CPU",
      fmt(mean(t.sqlFull.cpu) - mean(t.sqlOff.cpu), 2),
      "—",
      fmt(commitMedian, 2),
      fmt(commitMean, 2),
    ],
    row(cpuStages[6] as Stage),
    ["sum", "", fmt(totalCpu, 2), "100%", "", fmt(cpuStages.reduce((s, x) => s + x.mean, 0) + commitMean, 2)],
  ];
  return {
    title: "Where the time goes — one 1,000-event batch, stage by stage (SQLite)",
    description: `Method: a harness (\`bench/ingest-breakdown.bench.ts\`) calls the functions the webhook router calls, in its order, on ${c.reps} signed 1,000-event batches (after ${c.warmup} warm-ups), every batch new: verifyRequest (decode + verify), parse and keys + policy on each body, then \`store.inbox.ingest\` on a SQLite store opened as the kit opens it, alternately with synchronous=FULL (shipped) and OFF; commit/fsync is the difference. Read, route and response come from a loopback Express route in the harness fed by the load client in its own process, 1 in flight. CPU ms per stage (mean; process.cpuUsage, all threads of the harness, so GC helper threads count) and its share of the CPU sum; wall ms (median, mean).`,
    headers: ["stage", "what runs", "CPU ms", "share of CPU", "wall median ms", "wall mean ms"],
    rows,
    notes: stageNotes(t, c, totalCpu),
  };
}

function stageNotes(t: Timers, c: StageContext, totalCpu: number): string[] {
  const full = summarize(t.sqlFull.wall);
  const { reference } = c;
  return [
    `1-minute load average ${fmt(c.loadBefore, 2)} when the harness started, ${fmt(loadavg()[0] ?? Number.NaN, 2)} when it ended: wall times include waiting for a core, CPU times do not; on a busy machine read the CPU column, and the fsync wait from the raw fdatasync below.`,
    `SQLite ingest as shipped (synchronous=FULL): median ${fmt(full.median, 2)} ms, mean ${fmt(mean(t.sqlFull.wall), 2)} ms, max ${fmt(full.max, 1)} ms per batch (the mean and max include the WAL checkpoints, every ~16 MB of WAL: about one batch in 14). Raw fdatasync on the same filesystem: ${fmt(summarize(c.fsync.big).median, 2)} ms after appending 1.1 MB, ${fmt(summarize(c.fsync.small).median, 2)} ms after 4 KB (medians of 30).`,
    `GC pauses during the measured stages: ${fmt(c.gcMs / c.reps, 2)} ms per batch (PerformanceObserver "gc"; inside the stages above, not added).`,
    ...(reference.kitServerCpuMsPerBatch === undefined
      ? []
      : [
          `The example server process used ${fmt(reference.kitServerCpuMsPerBatch, 1)} ms of CPU per batch in the sustained runs above${reference.kitMainThreadCpuMsPerBatch === undefined ? "" : ` (${fmt(reference.kitMainThreadCpuMsPerBatch, 1)} ms on its main thread)`}; these stages sum to ${fmt(totalCpu, 1)} ms. ${totalCpu < reference.kitServerCpuMsPerBatch ? `The other ${fmt(reference.kitServerCpuMsPerBatch - totalCpu, 1)} ms are what this harness does not run: the example's middleware (helmet, kit context, sessions), the dispatcher's claims and completes (the example lists no skipHandlersFor, so every event is queued and then completed by it) and its handler runs, two requests in flight instead of one, and a larger heap to collect.` : "The stages alone sum to as much or more: the two were measured at different times, and CPU time per operation grows too on a busy machine (shared caches, a core's sibling busy), so compare shares, not sums."}`,
        ]),
  ];
}

type Profile = { label: string } & Awaited<ReturnType<typeof profileKit>>;

/** The example server's main thread under sustained load, by CPU-profile stage. */
function profileTable(profiles: Profile[]): Table {
  const order = [
    "read (HTTP, socket, body chunks)",
    "Express + middleware",
    "decode",
    "verify",
    "parse",
    "keys + policy",
    "SQL (statements, driver)",
    "commit (BEGIN/COMMIT: fsync, checkpoints)",
    "response",
    "router (other)",
    DISPATCH_STAGE,
    "GC",
    "V8/native (program)",
    "other",
    "idle",
  ];
  const names = [
    ...order.filter((n) => profiles.some((p) => p.stages.has(n))),
    ...[...new Set(profiles.flatMap((p) => [...p.stages.keys()]))].filter((n) => !order.includes(n)),
  ];
  return {
    title: "Where the time goes — the example server's main thread under sustained load (CPU profile)",
    description: `Method: the example server (its own process, as in the sustained runs) started with \`node --cpu-prof --cpu-prof-interval=500\`; after a 20-batch warm-up the load client posts ${profiles.map((p) => `${p.batches} batches (${p.label})`).join(", ")} with 2 in flight; only the samples taken during those posts count. Each sample's time (the gap since the previous sample, so a wait in fsync lands on the commit) goes to the innermost frame a rule recognises by source file (\`KIT_FRAMES\` in this bench): the router's form reading vs decoding, signature, parser, keys and policy, the store, Express and the example's middleware, and the dispatcher with every store call it makes (its claims and completes). GC and "(program)" are V8's own buckets; idle is the event loop waiting (for the socket or, on PostgreSQL, for the server). Milliseconds per batch of the main thread's wall time; the profiler slows the server a little, so read the shares, not the speed.`,
    headers: ["stage", ...profiles.flatMap((p) => [`${p.label} ms/batch`, `${p.label} share`])],
    rows: names.map((n) => [
      n,
      ...profiles.flatMap((p) => {
        const ms = p.stages.get(n) ?? 0;
        return [fmt(ms / p.batches, 2), `${fmt((ms / p.totalMs) * 100, 0)}%`];
      }),
    ]),
    notes: profiles.map(
      (p) =>
        `${p.label}: ${fmt(p.eventsPerSec, 0)} events/s while profiled; ${fmt(p.totalMs / p.batches, 1)} ms of main-thread time per batch, ${fmt(((p.totalMs - (p.stages.get("idle") ?? 0)) / p.totalMs) * 100, 0)}% of it busy.`,
    ),
  };
}

/** The store step on PostgreSQL, with and without waiting for the WAL flush. */
function postgresTable(t: Timers): Table {
  const pgCommit = mean(t.pgFull.wall) - mean(t.pgAsync.wall);
  return {
    title: "Where the time goes — the store step on PostgreSQL",
    description:
      "The same batches' inputs, ingested into a PostgreSQL store (local server, fresh schema) alternately through sessions with synchronous_commit on (shipped) and off (the commit does not wait for the WAL flush); commit = the difference of the means. Wall time in this process; most of the work is in the server's backend.",
    headers: ["step", "median ms", "mean ms", "CPU ms here"],
    rows: [
      [
        "SQL (synchronous_commit=off)",
        fmt(summarize(t.pgAsync.wall).median, 2),
        fmt(mean(t.pgAsync.wall), 2),
        fmt(mean(t.pgAsync.cpu), 2),
      ],
      ["commit: WAL flush", "", fmt(pgCommit, 2), ""],
      [
        "as shipped (synchronous_commit=on)",
        fmt(summarize(t.pgFull.wall).median, 2),
        fmt(mean(t.pgFull.wall), 2),
        fmt(mean(t.pgFull.cpu), 2),
      ],
    ],
    notes: [],
  };
}

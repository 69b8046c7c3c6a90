/**
 * The CPU-profile and PostgreSQL tables of the ingest cost breakdown (issue 19). Split from
 * bench/ingest-breakdown.bench.ts.
 */
import { mean, type Timer } from "./breakdown-measure.js";
import { DISPATCH_STAGE, type profileKit } from "./kit-profile.js";
import type { Table } from "./report.js";
import { fmt, summarize } from "./stats.js";

export type Profile = { label: string } & Awaited<ReturnType<typeof profileKit>>;

/** The example server's main thread under sustained load, by CPU-profile stage. */
export function profileTable(profiles: Profile[]): Table {
  const order = [
    "read (HTTP, socket, body chunks)",
    "Express + middleware",
    "decode",
    "verify",
    "parse",
    "keys + policy",
    "SQL (statements, driver)",
    "commit (BEGIN/COMMIT: WAL writes, checkpoints)",
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
export function postgresTable(pgFull: Timer, pgAsync: Timer): Table {
  const t = { pgFull, pgAsync };
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

/**
 * `pnpm bench`: runs every benchmark, prints each table, and writes BENCHMARKS.md.
 * Figures are measured on the machine running it; each is shown beside a baseline from the same run.
 */
import { writeFileSync } from "node:fs";
import { runCredentialsBenches } from "./credentials.bench.js";
import { runDenylistSyncBench } from "./denylist-sync.bench.js";
import { renderDispatchSection, runDispatchQueueBench } from "./dispatch-queue.bench.js";
import { runIngestBreakdown } from "./ingest-breakdown.bench.js";
import { renderSustainedSection, runIngestSustainedBenches } from "./ingest-sustained.bench.js";
import { machine, printTable, renderMarkdown } from "./lib/report.js";
import { renderPostgresSection, runPostgresBenches } from "./postgres.bench.js";
import { runScalingBenches } from "./scaling.bench.js";
import { runSenderBenches } from "./sender.bench.js";
import { runStoreBenches } from "./store.bench.js";
import { renderTelemetrySection, runTelemetryBenches } from "./telemetry.bench.js";
import { runWebhookBenches } from "./webhooks.bench.js";

const started = Date.now();
const { tables, sqliteVersion } = await runStoreBenches();
for (const table of tables) printTable(table);
const dispatchTables = await runDispatchQueueBench();
for (const table of dispatchTables) printTable(table);
const credentialTables = await runCredentialsBenches();
for (const table of credentialTables) printTable(table);
const webhookTables = await runWebhookBenches();
for (const table of webhookTables) printTable(table);
const { tables: sustainedTables, ...sustainedReference } = await runIngestSustainedBenches();
for (const table of sustainedTables) printTable(table);
// The sustained runs' CPU per batch (whole process and main thread), which the breakdown accounts for.
const breakdownTables = await runIngestBreakdown(sustainedReference);
for (const table of breakdownTables) printTable(table);
const senderTables = await runSenderBenches();
for (const table of senderTables) printTable(table);
const scalingTables = await runScalingBenches();
for (const table of scalingTables) printTable(table);
const postgresTables = await runPostgresBenches();
for (const table of postgresTables) printTable(table);
const denylistTables = await runDenylistSyncBench();
for (const table of denylistTables) printTable(table);
const telemetryTables = await runTelemetryBenches();
for (const table of telemetryTables) printTable(table);

const md = [
  "# Benchmarks",
  "",
  "Produced by `pnpm bench` (`bench/run.ts`); every figure is beside a baseline measured in the same run,",
  "on the same machine, so the ratios carry over between machines better than the absolute numbers.",
  "Tests never assert timings; this file is where speed is shown.",
  "",
  `Run on ${new Date(started).toISOString().slice(0, 10)}:`,
  "",
  ...machine(sqliteVersion),
  `- Took ${((Date.now() - started) / 1000).toFixed(0)} s`,
  "",
  "## Store and parser (`@mandrill-kit/core`, `@mandrill-kit/sqlite`)",
  "",
  ...tables.map(renderMarkdown),
  renderDispatchSection(dispatchTables),
  "## Credentials (`@mandrill-kit/credentials`)",
  "",
  ...credentialTables.map(renderMarkdown),
  "## Webhooks (`@mandrill-kit/webhooks`)",
  "",
  ...webhookTables.map(renderMarkdown),
  renderSustainedSection(sustainedTables, breakdownTables),
  "## Sender (`@mandrill-kit/sender`)",
  "",
  ...senderTables.map(renderMarkdown),
  "## Scaling",
  "",
  ...scalingTables.map(renderMarkdown),
  renderPostgresSection(postgresTables),
  "## Denylist sync (`@mandrill-kit/sender`, issue 17)",
  "",
  ...denylistTables.map(renderMarkdown),
  renderTelemetrySection(telemetryTables),
].join("\n");
writeFileSync(new URL("../BENCHMARKS.md", import.meta.url), md);
process.stdout.write(`\nWrote BENCHMARKS.md (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);

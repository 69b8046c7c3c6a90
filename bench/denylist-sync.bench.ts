/**
 * Mandrill denylist sync (issue 17): 25,000 denylist entries at the simulator (in this process) are
 * synced through the export path into a SQLite file by a sender in a child process, so the child's
 * peak RSS is the sync's own. Reports the time of a first sync (everything imported) and of a second
 * (everything unchanged), and the child's peak RSS above its RSS before the sync.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { addKey, mandrillKit } from "@mandrill-kit/credentials";
import { createSender } from "@mandrill-kit/sender";
import { DEMO_KEYS, startSimulator } from "@mandrill-kit/simulator";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import type { Table } from "./lib/report.js";

const ENTRIES = 25_000;

interface ChildResult {
  firstMs: number;
  secondMs: number;
  imported: number;
  unchanged: number;
  baselineRssMb: number;
  peakRssDeltaMb: number;
}

async function child(apiUrl: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "mk-bench-denylist-"));
  const store = openSqliteStore({ filename: join(dir, "kit.db") });
  const kit = mandrillKit({ store, keys: addKey(undefined, "k1"), publicUrl: "https://app.example.com" });
  await kit.credentials.save("acme", {
    transport: "api",
    username: "demo@example.com",
    apiKey: DEMO_KEYS.valid,
    fromEmail: "hello@example.com",
    fromName: "Acme",
  });
  const sender = createSender({
    context: kit.context,
    api: { baseUrl: apiUrl },
    network: { allow: ["127.0.0.1"] },
  });
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  const t0 = performance.now();
  const first = await sender.syncDenylist("acme", { pollMs: 20 });
  const t1 = performance.now();
  const second = await sender.syncDenylist("acme", { pollMs: 20 });
  const t2 = performance.now();
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  await sender.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  const result: ChildResult = {
    firstMs: t1 - t0,
    secondMs: t2 - t1,
    imported: first.imported,
    unchanged: second.unchanged,
    baselineRssMb: baseline / 2 ** 20,
    peakRssDeltaMb: (peak - baseline) / 2 ** 20,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Runs the bench: the simulator here, the sync in a child process. */
export async function runDenylistSyncBench(): Promise<Table[]> {
  const sim = await startSimulator({ smtpPort: false, flushIntervalMs: 60_000, exportDelayMs: 50 });
  const reasons = ["hard-bounce", "soft-bounce", "spam", "unsub", "custom"] as const;
  for (let i = 0; i < ENTRIES; i++) {
    sim.control.addReject({ email: `user${i}@example.net`, reason: reasons[i % reasons.length] ?? "custom" });
  }
  sim.control.clearRecords();
  try {
    // Asynchronously: the simulator answering the child runs on this process's event loop.
    const { stdout: out } = await promisify(execFile)(
      process.execPath,
      ["--expose-gc", "--import", "tsx", fileURLToPath(import.meta.url), "--child", sim.apiUrl],
      { encoding: "utf8", maxBuffer: 1 << 20 },
    );
    const r = JSON.parse(out.trim().split("\n").pop() as string) as ChildResult;
    return [
      {
        title: `Denylist sync: ${ENTRIES.toLocaleString("en")} entries through exports/rejects into SQLite (sender in its own process)`,
        description:
          "exports/rejects → exports/info → download through the network guard → the zip's CSV streamed → staged → applied in one transaction; a second sync of the same list changes nothing.",
        headers: ["run", "time", "rows/s", "peak RSS above the child's RSS before the sync"],
        rows: [
          [
            `first (${r.imported} imported)`,
            `${(r.firstMs / 1000).toFixed(2)} s`,
            Math.round(ENTRIES / (r.firstMs / 1000)).toLocaleString("en"),
            `${r.peakRssDeltaMb.toFixed(1)} MB (both runs; RSS before: ${r.baselineRssMb.toFixed(0)} MB)`,
          ],
          [
            `second (${r.unchanged} unchanged)`,
            `${(r.secondMs / 1000).toFixed(2)} s`,
            Math.round(ENTRIES / (r.secondMs / 1000)).toLocaleString("en"),
            "",
          ],
        ],
        notes: [
          "The simulator (Mandrill's side, zip writing) runs in the parent process: the RSS is the sync's alone.",
        ],
      },
    ];
  } finally {
    await sim.close();
  }
}

if (process.argv[2] === "--child") {
  await child(process.argv[3] as string);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { printTable } = await import("./lib/report.js");
  for (const table of await runDenylistSyncBench()) printTable(table);
}

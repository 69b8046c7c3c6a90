import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import { afterAll, describe, expect, it } from "vitest";

const worker = fileURLToPath(new URL("./fixtures/worker.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "mk-sqlite-mp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface WorkerReport {
  name: string;
  inserted: number;
  claimed: string[];
}

function runWorker(filename: string, name: string, batches: number, perBatch: number): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", worker, filename, name, String(batches), String(perBatch)],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) reject(new Error(`worker ${name} exited with ${code}: ${err}`));
      else resolve(JSON.parse(out.trim()) as WorkerReport);
    });
  });
}

describe("two processes on one SQLite file", () => {
  it("both write concurrently without corrupting or failing each other", async () => {
    const filename = join(dir, "shared.db");
    openSqliteStore({ filename }).close(); // create + migrate first, like an app's start-up
    const batches = 30;
    const perBatch = 40;
    const reports = await Promise.all([
      runWorker(filename, "w1", batches, perBatch),
      runWorker(filename, "w2", batches, perBatch),
    ]);

    const store = openSqliteStore({ filename });
    try {
      expect(store.integrityCheck()).toBe("ok");
      const sharedPerBatch = perBatch / 2;
      const ownPerBatch = perBatch / 2;
      const expectedEvents = batches * sharedPerBatch + 2 * batches * ownPerBatch;
      const stats = await store.inbox.stats("shared");
      expect(stats.total).toBe(expectedEvents);
      // Every event inserted exactly once, whichever process won the race for a shared key.
      expect(reports[0].inserted + reports[1].inserted).toBe(expectedEvents);
      // No event was claimed by both processes while its lease held.
      const claimed = [...reports[0].claimed, ...reports[1].claimed];
      expect(claimed.length).toBeGreaterThan(0);
      expect(new Set(claimed).size).toBe(claimed.length);
      // Suppressions from both processes' ingests and manual adds are all there.
      expect(await store.suppressions.count("shared")).toBe(batches * perBatch + 2 * batches);
    } finally {
      await store.close();
    }
  }, 120_000);
});

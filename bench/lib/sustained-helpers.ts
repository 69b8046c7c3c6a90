/**
 * Helpers of the sustained-ingest bench (issue 19): waiting for processes to be idle, the PostgreSQL
 * backends of one application_name, and the bench's environment settings.
 */
import { withClient } from "./postgres.js";
import { cpuBetween, snapshotCpu } from "./proc-cpu.js";

/**
 * Waits until the processes are idle (under 10% of a core over two 200 ms windows in a row, 60 s at
 * most) and resolves with how long that took.
 */
export async function settle(pids: readonly number[]): Promise<number> {
  const start = performance.now();
  let quiet = 0;
  while (quiet < 2 && performance.now() - start < 60_000) {
    const before = snapshotCpu(pids);
    await new Promise((r) => setTimeout(r, 200));
    quiet = cpuBetween(before, snapshotCpu(pids)) < 20 ? quiet + 1 : 0;
  }
  // The two quiet windows are not work: do not count them.
  return Math.max(0, performance.now() - start - 400);
}

export function envNumber(name: string, fallback: number, min: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v >= min ? Math.floor(v) : fallback;
}

export async function backendPids(url: string, app: string): Promise<number[]> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
      [app],
    );
    return rows.map((r) => r.pid);
  });
}

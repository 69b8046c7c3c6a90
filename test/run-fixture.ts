/** Runs a TypeScript fixture in a child process of its own (through tsx), for tests of process lifetime. */
import { execFile } from "node:child_process";

/**
 * Runs `script` with `node --import tsx`; resolves with its exit code and its stdout parsed as JSON.
 * The timeout only ends a process that never exits (the failure a lifetime test looks for); it
 * asserts no speed.
 */
export function runFixture(script: string): Promise<{ code: number | null; out: unknown }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ["--import", "tsx", script], { timeout: 25_000 }, (_e, stdout) =>
      resolve({ code: child.exitCode, out: stdout.trim() === "" ? undefined : JSON.parse(stdout.trim()) }),
    );
  });
}

import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const script = fileURLToPath(new URL("./fixtures/unclosed-pool.ts", import.meta.url));

describe("parse threads left open", () => {
  it("never keep a process alive: a parse pool that answered its job and was never closed", async () => {
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
      // The timeout only ends a process that never exits (the failure), it asserts no speed.
      const child = execFile(
        process.execPath,
        ["--import", "tsx", script],
        { timeout: 25_000 },
        (_e, stdout) => resolve({ code: child.exitCode, out: stdout }),
      );
    });
    expect({ code, out: JSON.parse(out.trim()) }).toEqual({
      code: 0,
      out: { answered: "refusal" },
    });
  });
});

import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const serverDir = fileURLToPath(new URL("..", import.meta.url));
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "mk-example-main-"));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe("node src/main.ts", () => {
  it("starts with generated development secrets, serves, and stops cleanly on SIGTERM", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: serverDir,
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        PORT: "0",
        ADMIN_TOKEN: "",
        MANDRILL_KIT_KEYS: "",
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no start line; stdout: ${stdout} stderr: ${stderr}`)),
          20_000,
        );
        const check = () => {
          const match = /listening on port (\d+)/.exec(stdout);
          if (match?.[1] !== undefined && stdout.includes(`${"=".repeat(78)}\n\n`)) {
            clearTimeout(timer);
            resolve(Number(match[1]));
          }
        };
        child.stdout.on("data", check);
        void exited.then(() => reject(new Error(`exited early; stderr: ${stderr}`)));
      });
      expect(port).toBeGreaterThan(0);
      expect(stdout).toMatch(/Admin token: [A-Za-z0-9_-]{32}/);
      expect(stdout).toContain("DEVELOPMENT ONLY");
      expect(stdout).toContain("local simulator");
      expect((await stat(join(dataDir, "keys.json"))).mode & 0o777).toBe(0o600);

      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(await health.json()).toEqual({ ok: true });
      const login = await fetch(`http://127.0.0.1:${port}/login`);
      expect(await login.text()).toContain("Admin token");

      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(stdout).toContain("stopped cleanly");
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});

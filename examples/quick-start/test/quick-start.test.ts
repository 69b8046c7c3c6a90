import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { generateKey } from "@mandrill-kit/credentials";
import { DEMO_KEYS, type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningApp, startQuickStart, walkThroughQuickStart } from "./flow.js";

const source = fileURLToPath(new URL("../src/app.ts", import.meta.url));
const readme = fileURLToPath(new URL("../../../README.md", import.meta.url));

describe("the README's quick start", () => {
  it("is shown in the root README exactly as examples/quick-start/src/app.ts has it", () => {
    const code = readFileSync(source, "utf8");
    expect(readFileSync(readme, "utf8")).toContain(`\`\`\`ts\n${code}\`\`\``);
  });

  describe("run from source against the simulator", () => {
    let sim: Simulator;
    let app: RunningApp;
    const dir = mkdtempSync(join(tmpdir(), "mk-quick-start-"));

    beforeAll(async () => {
      sim = await startSimulator({ smtpPort: false });
      const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
      app = await startQuickStart({
        command: [process.execPath, "--import", tsx, source],
        cwd: dir,
        keys: JSON.stringify({ keys: [generateKey("quick-start")] }),
        apiUrl: sim.apiUrl,
      });
    });

    afterAll(async () => {
      await app?.stop();
      await sim?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("saves settings, sends, and suppresses an address after its signed hard-bounce webhook", async () => {
      await walkThroughQuickStart(app, DEMO_KEYS.valid);
    });
  });
});
